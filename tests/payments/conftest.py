"""Payments over real HTTP: the YooKassa emulator driven by the real SDK, and the shop's web
app on a real port, the emulator's notifications going to it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, TypeVar

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from yookassa import Configuration

from shopbot.config import Settings
from shopbot.db import commit_hooks
from shopbot.emulators.yookassa import YooKassaEmulator
from shopbot.models import DeliveryMethod, Order, OrderEvent, OrderStatus, Product
from shopbot.payments.yookassa import YooKassaProvider
from shopbot.services import cart, orders
from shopbot.services.notifications import order_sender
from shopbot.services.orders import Checkout
from shopbot.services.outbox import OutboxDelivery
from shopbot.web import create_web_app, start_web
from tests.factories import make_product, make_user

SHOP_ID = "500100"
SECRET = "test_secret_key"
BOT_USERNAME = "shopbot_test_bot"
USER_ID = 501
CHECKOUT = Checkout("Анна", "+79001234567", DeliveryMethod.COURIER, "Москва, ул. Ленина, 1")


@dataclass
class RecordingNotifier:
    """Records what the shopper, the owner and the admins would have been told."""

    status_changes: list[tuple[int, OrderStatus, OrderStatus, str | None]] = field(
        default_factory=list
    )
    attention: list[tuple[int, str]] = field(default_factory=list)
    paid: list[int] = field(default_factory=list)  # new orders the staff were told of
    low: list[list[str]] = field(default_factory=list)
    cancelled: list[tuple[int, str]] = field(default_factory=list)  # by the shopper
    written: list[tuple[int, str]] = field(default_factory=list)  # shoppers' messages
    due: list[int] = field(default_factory=list)  # orders whose payment link was sent
    failed: list[tuple[int, str | None]] = field(default_factory=list)  # payments to retry
    _told: asyncio.Condition = field(default_factory=asyncio.Condition)

    async def order_status_changed(
        self,
        order: Order,
        previous: OrderStatus,
        *,
        reason: str | None = None,
        note: str | None = None,
    ) -> None:
        await self._record(self.status_changes, (order.id, previous, order.status, reason))

    async def needs_attention(self, order: Order, reason: str) -> None:
        await self._record(self.attention, (order.id, reason))

    async def new_order(self, order: Order) -> None:
        await self._record(self.paid, order.id)

    async def low_stock(self, threshold: int, products: list[dict]) -> None:
        await self._record(self.low, [product["sku"] for product in products])

    async def cancelled_by_shopper(self, order: Order, outcome: str) -> None:
        await self._record(self.cancelled, (order.id, outcome))

    async def shopper_message(self, order: Order, text: str) -> None:
        await self._record(self.written, (order.id, text))

    async def shopper_question(self, user_id: int, text: str) -> None:
        await self._record(self.written, (user_id, text))

    async def payment_due(self, session: AsyncSession, order: Order) -> None:
        await self._record(self.due, order.id)

    async def payment_failed(self, order: Order, reason: str | None) -> None:
        await self._record(self.failed, (order.id, reason))

    async def wait_until(self, condition: Callable[[], object]) -> None:
        """Wait (five seconds at most) until what was told satisfies ``condition``."""
        async with asyncio.timeout(5), self._told:
            await self._told.wait_for(condition)

    async def _record(self, told: list[Any], item: Any) -> None:
        async with self._told:
            told.append(item)
            self._told.notify_all()


def direct_payment(order: Order, value: str, *, capture: bool = True) -> dict[str, Any]:
    """Parameters of a payment made for ``order`` outside the shop's checkout."""
    return {
        "amount": {"value": value, "currency": "RUB"},
        "confirmation": {"type": "redirect", "return_url": "https://t.me/elsewhere"},
        "capture": capture,
        "metadata": {"order_id": str(order.id)},
    }


def make_settings(**overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "payment_provider": "yookassa",
        "yookassa_shop_id": SHOP_ID,
        "yookassa_secret_key": SECRET,
        "yookassa_trusted_networks": ["127.0.0.1/32"],
        "reconcile_interval": 1,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@dataclass
class Shop:
    settings: Settings
    emulator: YooKassaEmulator
    provider: YooKassaProvider
    notifier: RecordingNotifier
    session_factory: async_sessionmaker[AsyncSession]
    webhook_url: str
    base_url: str


def outbox_of(shop: Shop) -> OutboxDelivery:
    """The outbox delivery the background jobs run, telling ``shop.notifier``."""
    return OutboxDelivery(order_sender(shop.notifier))


StartShop = Callable[..., Awaitable[Shop]]
T = TypeVar("T")


async def sdk(shop: Shop, method: Callable[..., T], *args: Any) -> T:
    """Call the SDK directly, as someone with the shop's credentials (the dashboard, a
    script) would: not through the shop's provider."""

    def call() -> T:
        Configuration.configure(SHOP_ID, SECRET, api_url=shop.emulator.api_url)
        return method(*args)

    return await asyncio.to_thread(call)


@pytest.fixture
def notifier(session_factory: async_sessionmaker[AsyncSession]) -> RecordingNotifier:
    """What the outbox delivers after each unit of work commits, recorded."""
    notifier = RecordingNotifier()
    commit_hooks(session_factory).deliver = OutboxDelivery(order_sender(notifier)).deliver
    return notifier


@pytest.fixture
async def start_shop(
    session_factory: async_sessionmaker[AsyncSession], notifier: RecordingNotifier
) -> AsyncIterator[StartShop]:
    """Start the emulator and the shop's web app with settings overridden as given."""
    cleanups: list[Callable[[], Awaitable[None]]] = []

    async def start(*, require_receipt: bool = False, **overrides: Any) -> Shop:
        emulator = YooKassaEmulator(SHOP_ID, SECRET, require_receipt=require_receipt)
        await emulator.start()
        cleanups.append(emulator.stop)
        settings = make_settings(yookassa_api_url=emulator.api_url, **overrides)
        provider = YooKassaProvider(settings, bot_username=BOT_USERNAME)
        cleanups.append(provider.close)
        app = create_web_app(settings, session_factory, provider)
        runner = await start_web(app, "127.0.0.1", 0)
        cleanups.append(runner.cleanup)
        base_url = f"http://127.0.0.1:{runner.addresses[0][1]}"
        emulator.webhook_url = f"{base_url}/yookassa/webhook"
        return Shop(
            settings,
            emulator,
            provider,
            notifier,
            session_factory,
            emulator.webhook_url,
            base_url,
        )

    yield start
    for cleanup in reversed(cleanups):
        await cleanup()


@pytest.fixture
async def shop(start_shop: StartShop) -> Shop:
    return await start_shop()


async def place_order(
    session: AsyncSession,
    *,
    stock: int = 5,
    quantity: int = 2,
    price: int = 129900,
    provider: str = "yookassa",
    name: str = "Футболка",
    user_id: int = USER_ID,
) -> tuple[Order, Product]:
    """A new shopper's order of one new product (stock is reserved by placing it)."""
    await make_user(session, user_id)
    product = await make_product(session, name, price=price, stock=stock)
    await cart.set_quantity(session, user_id, product.id, quantity)
    order = await orders.place_order(
        session,
        user_id,
        CHECKOUT,
        token=f"checkout-{product.id}",
        payment_provider=provider,
        payment_timeout=timedelta(minutes=60),
    )
    return order, product


async def stock_of(session: AsyncSession, product_id: int) -> int:
    await session.commit()  # end any read transaction: see what others committed since
    stock = await session.scalar(
        select(Product.stock)
        .where(Product.id == product_id)
        .execution_options(populate_existing=True)
    )
    assert stock is not None
    return stock


async def status_of(session: AsyncSession, order_id: int) -> OrderStatus:
    await session.commit()
    return (await orders.get_order(session, order_id)).status


async def status_events(session: AsyncSession, order_id: int) -> list[tuple[str | None, str]]:
    """The order's status changes as (from, to)."""
    await session.commit()
    events = await session.scalars(
        select(OrderEvent)
        .where(OrderEvent.order_id == order_id, OrderEvent.kind == "status")
        .order_by(OrderEvent.id)
    )
    return [(event.from_status, event.to_status or "") for event in events]
