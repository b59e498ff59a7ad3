"""Fixtures for the Telegram emulator tests: the emulator on a free port, a real aiogram
``Bot`` talking to it over HTTP, and a real ``Dispatcher`` long-polling it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from aiogram import Bot, Dispatcher, Router
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode

from shopbot.emulators.telegram import EmulatedUser, TelegramEmulator

TOKEN = "7000000001:AAHemulatorTestTokenForShopbotTests00"

StartPolling = Callable[[Router], Awaitable[None]]


@pytest.fixture
async def telegram() -> AsyncIterator[TelegramEmulator]:
    emulator = TelegramEmulator(TOKEN)
    await emulator.start()
    yield emulator
    await emulator.stop()


class PlainHttpSession(AiohttpSession):
    """aiogram's session, minus the 250 ms it waits on close for TLS connections to wind
    down: the emulator speaks plain HTTP, and the wait would dominate these tests' time."""

    async def close(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()


@pytest.fixture
async def bot(telegram: TelegramEmulator) -> AsyncIterator[Bot]:
    session = PlainHttpSession(api=TelegramAPIServer.from_base(telegram.base_url))
    bot = Bot(TOKEN, session=session, default=DefaultBotProperties(parse_mode=ParseMode.HTML))
    yield bot
    await bot.session.close()


@pytest.fixture
async def start_polling(bot: Bot) -> AsyncIterator[StartPolling]:
    """Run a dispatcher with the given router, polling the way the synchronisation needs."""
    running: list[tuple[Dispatcher, asyncio.Task[None]]] = []

    async def start(router: Router) -> None:
        dispatcher = Dispatcher()
        dispatcher.include_router(router)
        started = asyncio.Event()

        async def on_startup() -> None:
            started.set()

        dispatcher.startup.register(on_startup)
        task = asyncio.create_task(
            dispatcher.start_polling(
                bot, handle_as_tasks=False, handle_signals=False, close_bot_session=False
            )
        )
        running.append((dispatcher, task))
        await asyncio.wait_for(started.wait(), timeout=5)

    yield start
    for dispatcher, task in running:
        if not task.done():  # a crashed dispatcher re-raises below instead
            await dispatcher.stop_polling()
        await task


@pytest.fixture
async def shopper(telegram: TelegramEmulator) -> EmulatedUser:
    """A user who has written to the bot (so the bot may message them); nobody polls."""
    user = telegram.user(101, "Анна", last_name="Смирнова", username="anna")
    await user.send_text("/start", wait=False)
    return user
