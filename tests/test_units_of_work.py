"""A use case is one unit of work: a crash injected before any of its writes leaves the
database exactly as it was, and the messages to people are recorded with the change (a
rolled-back change tells nobody)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, insert, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from shopbot.config import load_settings
from shopbot.db import commit_hooks, unit_of_work
from shopbot.importer import ImportOptions, import_catalog
from shopbot.models import DeliveryMethod, OrderStatus, OutboxMessage, Payment, PaymentStatus
from shopbot.payments.jobs import BackgroundJobs
from shopbot.payments.service import apply_payment_state
from shopbot.payments.telegram import TelegramProvider
from shopbot.services import cart, orders, outbox
from shopbot.services.notifications import order_sender
from shopbot.services.orders import Checkout
from shopbot.services.outbox import OutboxDelivery
from tests.factories import make_product, make_user
from tests.payments.conftest import RecordingNotifier

S = OrderStatus
CHECKOUT = Checkout("Анна", "+79001234567", DeliveryMethod.PICKUP)
TABLES = (
    "shop_order",
    "order_line",
    "order_event",
    "payment",
    "product",
    "cart_line",
    "outbox",
    "category",
    "product_image",
    "stock_event",
)
WRITES = ("INSERT", "UPDATE", "DELETE")


class InjectedCrash(Exception):
    pass


@asynccontextmanager
async def crash_at_write(engine: AsyncEngine, number: int) -> AsyncIterator[list[int]]:
    """Raise InjectedCrash instead of running the ``number``-th write statement; yields a
    one-item list with the count of writes seen (to know when no crash point is left)."""
    seen = [0]

    def before(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().upper().startswith(WRITES):
            seen[0] += 1
            if seen[0] == number:
                raise InjectedCrash(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", before)
    try:
        yield seen
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", before)


async def snapshot(sessions: async_sessionmaker[AsyncSession]) -> dict[str, list[tuple]]:
    async with sessions() as session:
        tables = {}
        for table in TABLES:
            rows = await session.execute(text(f"SELECT * FROM {table} ORDER BY 1"))
            tables[table] = [tuple(row) for row in rows]
        return tables


async def every_crash_point(
    engine: AsyncEngine,
    sessions: async_sessionmaker[AsyncSession],
    use_case: Callable[[AsyncSession], Awaitable[object]],
) -> int:
    """Run ``use_case`` with a crash before its 1st, 2nd, ... write until it runs through;
    after every crash the database must be as before. Returns the number of writes."""
    before = await snapshot(sessions)
    number = 1
    while True:
        async with crash_at_write(engine, number) as seen:
            try:
                async with sessions() as session:
                    await use_case(session)
            except InjectedCrash:
                assert await snapshot(sessions) == before, f"half written at write {number}"
                number += 1
                continue
        assert seen[0] == number - 1, "the use case wrote differently once it ran through"
        assert await snapshot(sessions) != before
        return seen[0]


async def cart_of(session: AsyncSession, user_id: int, stock: int = 5) -> int:
    await make_user(session, user_id)
    product = await make_product(session, "Кружка", price=49000, stock=stock)
    await cart.set_quantity(session, user_id, product.id, 2)
    return product.id


async def test_placing_an_order_is_all_or_nothing(
    engine: AsyncEngine, session_factory: async_sessionmaker[AsyncSession], session: AsyncSession
) -> None:
    await cart_of(session, 1)

    async def place(s: AsyncSession) -> None:
        await orders.place_order(
            s, 1, CHECKOUT, token="t-1", payment_provider="cash", payment_timeout=None
        )

    writes = await every_crash_point(engine, session_factory, place)
    assert writes >= 5  # stock, order, number, lines, cart, event, the staff's message


async def test_applying_a_payment_is_all_or_nothing(
    engine: AsyncEngine, session_factory: async_sessionmaker[AsyncSession], session: AsyncSession
) -> None:
    await cart_of(session, 1)
    order = await orders.place_order(
        session,
        1,
        CHECKOUT,
        token="t-2",
        payment_provider="telegram",
        payment_timeout=timedelta(hours=1),
    )
    async with unit_of_work(session):
        await session.execute(
            insert(Payment).values(
                order_id=order.id,
                provider="telegram",
                provider_payment_id="charge-1",
                status=PaymentStatus.PENDING,
                amount=order.total,
                idempotence_key="key-1",
            )
        )

    async def pay(s: AsyncSession) -> None:
        await apply_payment_state(
            s,
            provider=TelegramProvider(),
            provider_payment_id="charge-1",
            status=PaymentStatus.SUCCEEDED,
            amount_kopecks=order.total,
            currency="RUB",
            metadata_order_id=str(order.id),
            actor="test",
        )

    writes = await every_crash_point(engine, session_factory, pay)
    assert writes >= 5  # the order, its event, the payment, its event, two messages
    async with session_factory() as check:
        assert (await orders.get_order(check, order.id)).status is S.PAID
        assert (await check.scalar(select(Payment.status))) is PaymentStatus.SUCCEEDED
        kinds = list(await check.scalars(select(OutboxMessage.kind).order_by(OutboxMessage.id)))
    # The first two: placing it (its payment link, and the question of news for later).
    assert kinds == ["payment_due", "consent_question", "order_status", "new_order"]


async def test_cancelling_returns_stock_and_tells_the_shopper_all_or_nothing(
    engine: AsyncEngine, session_factory: async_sessionmaker[AsyncSession], session: AsyncSession
) -> None:
    product_id = await cart_of(session, 1)
    order = await orders.place_order(
        session,
        1,
        CHECKOUT,
        token="t-3",
        payment_provider="yookassa",
        payment_timeout=timedelta(hours=1),
    )

    async def cancel(s: AsyncSession) -> None:
        await orders.transition(s, order.id, S.CANCELLED, actor="admin:1")

    await every_crash_point(engine, session_factory, cancel)
    async with session_factory() as check:
        assert (await orders.get_order(check, order.id)).status is S.CANCELLED
        stock = await check.scalar(
            text("SELECT stock FROM product WHERE id = :id"), {"id": product_id}
        )
    assert stock == 5


def media_files(media_dir: Path) -> list[Path]:
    return sorted(media_dir.rglob("*"))


async def test_an_import_is_all_or_nothing(
    engine: AsyncEngine,
    session_factory: async_sessionmaker[AsyncSession],
    session: AsyncSession,
    media_dir: Path,
) -> None:
    """New categories and products with a picture, and changes to one that exists: a crash
    before any of its writes leaves the catalogue and the media folder as they were."""
    await make_product(session, "Кружка", sku="MUG-1", price=49000, stock=5)
    await session.commit()
    catalogue = Path(__file__).parent.parent / "catalog"
    data = (
        "sku,name,price,stock,category,description,image,active\n"
        "MUG-1,Кружка «Утро»,590,7,Посуда / Кружки,Фарфор,,1\n"
        "TSH-1,Футболка,1490,25,Одежда / Футболки,Хлопок,images/tshirt-aurora-black.jpg,1\n"
    ).encode()
    options = ImportOptions(media_dir=media_dir, base_dir=catalogue)
    files_before = media_files(media_dir)

    async def run_import(_session: AsyncSession) -> None:
        try:
            report = await import_catalog(session_factory, data, options)
        except InjectedCrash:
            assert media_files(media_dir) == files_before, "a picture left behind"
            raise
        assert report.errors == [] and (report.created, report.updated) == (1, 1)

    writes = await every_crash_point(engine, session_factory, run_import)
    assert writes >= 4  # categories, products, the picture, the stock change
    assert media_files(media_dir) != files_before  # the picture, once it ran through


async def test_a_rolled_back_change_tells_nobody_and_a_committed_one_is_told_after_commit(
    session_factory: async_sessionmaker[AsyncSession], session: AsyncSession
) -> None:
    notifier = RecordingNotifier()
    commit_hooks(session_factory).deliver = OutboxDelivery(order_sender(notifier)).deliver
    await cart_of(session, 1)
    order = await orders.place_order(
        session, 1, CHECKOUT, token="t-4", payment_provider="cash", payment_timeout=None
    )
    assert notifier.paid == [order.id]  # delivered right after the commit

    with pytest.raises(RuntimeError):
        async with session_factory() as s, unit_of_work(s):
            await orders.transition(s, order.id, S.CONFIRMED, actor="admin:1")
            assert notifier.status_changes == []  # not before the commit
            raise RuntimeError("the rest of the use case failed")
    async with session_factory() as s:
        assert (await orders.get_order(s, order.id)).status is S.AWAITING_CONFIRMATION
        assert (
            await s.scalar(select(OutboxMessage.id).where(OutboxMessage.kind == "order_status"))
            is None
        )
    assert notifier.status_changes == []


async def test_a_crash_after_the_commit_loses_no_message(
    session_factory: async_sessionmaker[AsyncSession], session: AsyncSession
) -> None:
    """The process dies between the commit and the delivery: the job delivers it, once."""
    await cart_of(session, 1)
    order = await orders.place_order(
        session, 1, CHECKOUT, token="t-5", payment_provider="cash", payment_timeout=None
    )  # no delivery registered: as if the process died right after the commit
    notifier = RecordingNotifier()
    delivery = OutboxDelivery(order_sender(notifier))
    async with session_factory() as s:
        assert await delivery.deliver_due(s) == 1
    async with session_factory() as s:
        assert await delivery.deliver_due(s) == 0
    assert notifier.paid == [order.id]


async def test_two_deliverers_at_once_send_each_message_once(
    session_factory: async_sessionmaker[AsyncSession], session: AsyncSession
) -> None:
    for user_id in range(1, 6):
        await cart_of(session, user_id)
        await orders.place_order(
            session,
            user_id,
            CHECKOUT,
            token=f"t-{user_id}",
            payment_provider="cash",
            payment_timeout=None,
        )
    notifier = RecordingNotifier()
    delivery = OutboxDelivery(order_sender(notifier))

    async def deliver() -> int:
        async with session_factory() as s:
            return await delivery.deliver_due(s)

    sent = await asyncio.gather(*(deliver() for _ in range(4)))
    assert sum(sent) == 5
    assert sorted(notifier.paid) == [1, 2, 3, 4, 5]


async def test_a_short_delay_is_woken_for_by_the_process_that_recorded_it(
    session_factory: async_sessionmaker[AsyncSession], session: AsyncSession
) -> None:
    """Due in 0.3 s: this process delivers it then, not before and without the job loop; a
    long delay is the job loop's, and stopping leaves a waiting one to it."""
    sent: list[str] = []

    async def send(_session: AsyncSession, message: OutboxMessage) -> None:
        sent.append(message.payload["name"])

    delivery = OutboxDelivery(send)
    hooks = commit_hooks(session_factory)
    hooks.deliver = delivery.deliver
    jobs = BackgroundJobs(
        load_settings(_env_file=None), session_factory, TelegramProvider(), delivery
    )
    hooks.deliver_later = jobs.deliver_later  # the job loop itself is not started
    async with session_factory() as s, unit_of_work(s):
        await outbox.record(s, "test", {"name": "soon"}, delay=timedelta(seconds=0.3))
        await outbox.record(s, "test", {"name": "later"}, delay=outbox.WAKE_WITHIN * 2)
    await asyncio.sleep(0.1)
    assert sent == []  # not at the commit
    await asyncio.sleep(0.5)
    assert sent == ["soon"]

    async with session_factory() as s, unit_of_work(s):
        await outbox.record(s, "test", {"name": "cut"}, delay=timedelta(seconds=0.3))
    await jobs.stop()
    await asyncio.sleep(0.5)
    assert sent == ["soon"]
    async with session_factory() as s:
        assert await delivery.deliver_due(s) == 1  # the job loop's pass, once it is due
    assert sent == ["soon", "cut"]
