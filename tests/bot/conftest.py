"""The real shopbot dispatcher polling the Bot API emulator over real HTTP."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from aiogram import Bot, Dispatcher
from PIL import Image
from shopbot.emulators.telegram import TelegramEmulator
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shopbot.bot.factory import create_bot, create_dispatcher, register_commands
from shopbot.config import Settings, load_settings
from shopbot.models import Category, ProductImage
from tests.factories import make_category, make_product

TOKEN = "123456:TEST-token"


@dataclass
class Shop:
    """Everything a journey test touches: the emulator, the running bot, the database."""

    emulator: TelegramEmulator
    bot: Bot
    dispatcher: Dispatcher
    settings: Settings
    session_factory: async_sessionmaker[AsyncSession]
    polling: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self.bot = create_bot(self.settings)
        self.dispatcher = create_dispatcher(self.settings, self.session_factory)
        await register_commands(self.bot)
        self.polling = asyncio.create_task(
            self.dispatcher.start_polling(
                self.bot, handle_as_tasks=False, handle_signals=False, polling_timeout=1
            )
        )
        await asyncio.sleep(0)

    async def stop(self) -> None:
        """Stop polling as a shutdown would: in-flight updates finish, the session closes."""
        if self.polling is None:
            return
        await self.dispatcher.stop_polling()
        await self.polling
        self.polling = None
        await self.bot.session.close()
        await self.dispatcher.storage.close()

    async def restart(self) -> None:
        await self.stop()
        await self.start()


@pytest.fixture
async def emulator() -> AsyncIterator[TelegramEmulator]:
    emulator = TelegramEmulator(TOKEN)
    await emulator.start()
    yield emulator
    await emulator.stop()


@pytest.fixture
async def shop(
    emulator: TelegramEmulator,
    session_factory: async_sessionmaker[AsyncSession],
    database_url: str,
    media_dir: Path,
) -> AsyncIterator[Shop]:
    settings = load_settings(
        bot_token=TOKEN,
        telegram_api_url=emulator.base_url,
        database_url=database_url,
        media_dir=media_dir,
        admin_ids=[],
        payment_provider="cash",
        shop_name="Лавка",
        _env_file=None,
    )
    shop = Shop(emulator, None, None, settings, session_factory)  # type: ignore[arg-type]
    await shop.start()
    yield shop
    await shop.stop()


@dataclass
class Catalogue:
    clothes: Category
    shirts: Category
    mugs: Category


def make_jpeg(path: Path, colour: tuple[int, int, int] = (200, 40, 40)) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (320, 240), colour).save(path, "JPEG")


@pytest.fixture
async def catalogue(session: AsyncSession, media_dir: Path) -> Catalogue:
    """A small shop: 12 shirts (paginated), a mug with a photo, a sold-out and a hidden item."""
    clothes = await make_category(session, "Одежда")
    shirts = await make_category(session, "Футболки", clothes)
    mugs = await make_category(session, "Кружки")
    for number in range(1, 13):
        await make_product(
            session,
            f"Футболка {number:02d}",
            sku=f"TS-{number:02d}",
            price=129900,
            stock=5,
            category=shirts,
        )
    mug = await make_product(
        session,
        "Кружка «Утро»",
        sku="MUG-1",
        price=49000,
        stock=3,
        category=mugs,
        description="Керамика, 350 мл. Можно в посудомойку & микроволновку.",
    )
    make_jpeg(media_dir / "products" / "mug.jpg")
    await session.execute(
        insert(ProductImage).values(product_id=mug.id, position=0, path="products/mug.jpg")
    )
    await session.commit()
    await make_product(session, "Кружка распродана", sku="MUG-0", stock=0, category=mugs)
    await make_product(session, "Кружка скрытая", sku="MUG-H", active=False, category=mugs)
    return Catalogue(clothes, shirts, mugs)
