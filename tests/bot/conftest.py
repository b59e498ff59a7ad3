"""The real shopbot dispatcher polling the Bot API emulator over real HTTP."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from aiogram import Bot, Dispatcher
from PIL import Image
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shopbot.app import ShopRuntime, start_shop
from shopbot.config import Settings, load_settings
from shopbot.emulators.telegram import EmulatedUser, TelegramEmulator
from shopbot.emulators.yookassa import YooKassaEmulator
from shopbot.models import Category, Product, ProductImage
from tests.factories import make_category, make_product

TOKEN = "123456:TEST-token"
YK_ADMIN = 9000  # the admin of the YooKassa shop (``yk_shop``)


@dataclass
class Shop:
    """Everything a journey test touches: the emulator and the running shop (the same
    composition root as ``shopbot run``, polling with ``handle_as_tasks=False`` so the
    emulator knows when an update is fully handled)."""

    emulator: TelegramEmulator
    settings: Settings
    session_factory: async_sessionmaker[AsyncSession]
    runtime: ShopRuntime | None = None
    polling: asyncio.Task[None] | None = None

    @property
    def bot(self) -> Bot:
        assert self.runtime is not None
        return self.runtime.bot

    @property
    def dispatcher(self) -> Dispatcher:
        assert self.runtime is not None
        return self.runtime.dispatcher

    async def start(self) -> None:
        self.runtime = await start_shop(self.settings)
        self.polling = asyncio.create_task(
            self.dispatcher.start_polling(
                self.bot,
                handle_as_tasks=False,
                handle_signals=False,
                polling_timeout=1,
                close_bot_session=False,
            )
        )
        await asyncio.sleep(0)

    async def stop(self) -> None:
        """Stop as a shutdown would: in-flight updates finish, then everything closes."""
        if self.runtime is None or self.polling is None:
            return
        await self.dispatcher.stop_polling()
        await self.polling
        await self.runtime.close()
        self.runtime = self.polling = None

    async def restart(self) -> None:
        await self.stop()
        await self.start()


async def shopbot(
    *arguments: str, cwd: Path, env: dict[str, str], merge_stderr: bool = False
) -> asyncio.subprocess.Process:
    """``python -m shopbot ARGUMENTS…`` as a child process with piped output."""
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "shopbot",
        *arguments,
        cwd=cwd,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT if merge_stderr else asyncio.subprocess.PIPE,
    )


@pytest.fixture
async def emulator() -> AsyncIterator[TelegramEmulator]:
    emulator = TelegramEmulator(TOKEN)
    await emulator.start()
    yield emulator
    await emulator.stop()


ShopFactory = Callable[..., Awaitable[Shop]]


@pytest.fixture
async def shop_factory(
    emulator: TelegramEmulator,
    session_factory: async_sessionmaker[AsyncSession],
    database_url: str,
    media_dir: Path,
) -> AsyncIterator[ShopFactory]:
    """Start a shop with settings overridden as a test needs (payment provider, admins...)."""
    started: list[Shop] = []

    async def make(**overrides: object) -> Shop:
        defaults: dict[str, object] = {
            "bot_token": TOKEN,
            "telegram_api_url": emulator.base_url,
            "database_url": database_url,
            "media_dir": media_dir,
            "admin_ids": [],
            "payment_provider": "cash",
            "shop_name": "Лавка",
            "web_port": 0,
            "reconcile_interval": 3600,
        }
        settings = load_settings(**{**defaults, **overrides}, _env_file=None)
        shop = Shop(emulator, settings, session_factory)
        await shop.start()
        started.append(shop)
        return shop

    yield make
    for shop in started:
        await shop.stop()


@pytest.fixture
async def shop(shop_factory: ShopFactory) -> Shop:
    return await shop_factory()


@pytest.fixture
async def yookassa() -> AsyncIterator[YooKassaEmulator]:
    emulator = YooKassaEmulator("500100", "live_secret", require_receipt=True)
    await emulator.start()
    yield emulator
    await emulator.stop()


@pytest.fixture
async def yk_shop(shop_factory: ShopFactory, yookassa: YooKassaEmulator) -> Shop:
    shop = await shop_factory(
        payment_provider="yookassa",
        yookassa_shop_id="500100",
        yookassa_secret_key="live_secret",
        yookassa_api_url=yookassa.api_url,
        yookassa_receipts=True,
        yookassa_trusted_networks=["127.0.0.1/32"],
        admin_ids=[YK_ADMIN],
    )
    assert shop.runtime is not None
    yookassa.webhook_url = f"{shop.runtime.web_url}/yookassa/webhook"
    await shop.emulator.user(YK_ADMIN, "Хозяйка").send_text("/start")
    return shop


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


async def check_out(shop: Shop, user_id: int, sku: str, *, confirm: bool = True) -> EmulatedUser:
    """A shopper puts one unit of ``sku`` in the cart and goes through checkout (pickup, a
    typed phone and comment), pressing Confirm unless ``confirm`` is False."""
    shopper = shop.emulator.user(user_id, "Пётр")
    await shopper.send_text(f"/start p_{sku}")
    await shopper.press("🛒 В корзину")
    await shopper.send_text("/cart")
    await shopper.press("✅ Оформить заказ")
    await shopper.send_text("Пётр")
    await shopper.send_text("8 (900) 765-43-21")
    await shopper.press("🏬 Самовывоз")
    await shopper.send_text("Позвоните заранее")
    if confirm:
        await shopper.press("✅ Подтвердить")
    return shopper


async def poll_as_tasks(shop: Shop) -> None:
    """Restart the shop's polling the way ``run_bot`` polls: each update in a task of its
    own (the fixture's polling handles them one by one, for deterministic tests)."""
    assert shop.polling is not None
    await shop.dispatcher.stop_polling()
    await shop.polling
    shop.polling = asyncio.create_task(
        shop.dispatcher.start_polling(
            shop.bot,
            handle_as_tasks=True,
            handle_signals=False,
            polling_timeout=1,
            close_bot_session=False,
        )
    )
    await asyncio.sleep(0)


async def until(condition: Callable[[], bool], seconds: float) -> None:
    """Wait for a state that neither emulator signals (its requests, the chat history)."""
    async with asyncio.timeout(seconds):
        while not condition():  # noqa: ASYNC110 (nothing to await but the state itself)
            await asyncio.sleep(0.01)


ADMIN = 900  # the owner in the admin tests


def buttons(message: dict) -> list[str]:
    """The texts of a message's inline buttons, row by row."""
    markup = message.get("reply_markup") or {}
    return [button["text"] for row in markup.get("inline_keyboard", []) for button in row]


@pytest.fixture
async def admin_shop(shop_factory: ShopFactory) -> Shop:
    shop = await shop_factory(admin_ids=[ADMIN])
    await shop.emulator.user(ADMIN, "Хозяйка").send_text("/start")
    return shop


async def product(shop: Shop, sku: str) -> Product:
    async with shop.session_factory() as session:
        found = await session.scalar(select(Product).where(Product.sku == sku))
        assert found is not None
        return found
