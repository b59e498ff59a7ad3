"""JsonSession: Bot API calls as JSON bodies, with aiogram's errors for Telegram's refusals
and for a server that cannot be reached."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator

import pytest
from aiogram import Bot
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import TelegramBadRequest, TelegramNetworkError
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from shopbot.bot.session import JsonSession
from shopbot.emulators.telegram import TelegramEmulator
from tests.bot.conftest import TOKEN


@pytest.fixture
async def bot(emulator: TelegramEmulator) -> AsyncIterator[Bot]:
    bot = Bot(TOKEN, session=JsonSession(api=TelegramAPIServer.from_base(emulator.base_url)))
    yield bot
    await bot.session.close()


async def test_calls_go_as_json_and_come_back_typed(emulator: TelegramEmulator, bot: Bot) -> None:
    user = emulator.user(42, "Анна")
    await user.send_text("/start", wait=False)  # the chat exists once the user wrote
    markup = InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text="Купить", callback_data="c:a:0:0:7")]]
    )
    sent = await bot.send_message(
        42, "<b>Кружка</b> — 490 ₽", parse_mode="HTML", reply_markup=markup
    )

    assert sent.text == "Кружка — 490 ₽"
    assert sent.reply_markup is not None
    assert sent.reply_markup.model_dump(exclude_none=True) == markup.model_dump(exclude_none=True)
    call = emulator.calls[-1]
    assert call.method == "sendMessage" and call.content_type == "application/json"
    assert call.params["chat_id"] == 42  # a JSON number, not a form string
    assert call.params["reply_markup"]["inline_keyboard"][0][0]["text"] == "Купить"
    assert user.last["text"] == "Кружка — 490 ₽"


async def test_telegram_refusals_raise_aiogram_errors(bot: Bot) -> None:
    with pytest.raises(TelegramBadRequest, match="chat not found"):
        await bot.send_message(999, "hello")


async def test_an_unreachable_server_is_a_network_error() -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    api = TelegramAPIServer.from_base(f"http://127.0.0.1:{port}")
    bot = Bot(TOKEN, session=JsonSession(api=api))
    try:
        with pytest.raises(TelegramNetworkError):
            await bot.get_me()
    finally:
        await bot.session.close()
