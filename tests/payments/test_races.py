"""Money never lands on an order nobody is told about: a payment racing an admin's cancel
or the expiry job ends paid (stock taken again) or flagged for a refund, and two reporters
of the same payment at once flag and tell the owner once."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shopbot.db import unit_of_work
from shopbot.errors import IllegalTransition
from shopbot.models import (
    Order,
    OrderStatus,
    OutboxMessage,
    Payment,
    PaymentStatus,
    Product,
    utcnow,
)
from shopbot.payments.service import apply_payment_state
from shopbot.payments.telegram import TelegramProvider
from shopbot.services import orders
from tests.payments.conftest import place_order

S = OrderStatus
RACES = 25


async def pending_payment(session: AsyncSession, order: Order, charge: str) -> None:
    async with unit_of_work(session):
        await session.execute(
            insert(Payment).values(
                order_id=order.id,
                provider="telegram",
                provider_payment_id=charge,
                status=PaymentStatus.PENDING,
                amount=order.total,
                idempotence_key=f"key-{charge}",
            )
        )


async def pay(sessions: async_sessionmaker[AsyncSession], order: Order, charge: str) -> None:
    async with sessions() as session:
        await apply_payment_state(
            session,
            provider=TelegramProvider(),
            provider_payment_id=charge,
            status=PaymentStatus.SUCCEEDED,
            amount_kopecks=order.total,
            currency="RUB",
            metadata_order_id=str(order.id),
            actor="webhook",
        )


async def admin_cancels(sessions: async_sessionmaker[AsyncSession], order: Order) -> None:
    # Paid first, the admin's button is out of date: IllegalTransition.
    async with sessions() as session:
        with contextlib.suppress(IllegalTransition):
            await orders.transition(
                session, order.id, S.CANCELLED, actor="admin:1", expect=S.AWAITING_PAYMENT
            )


async def expiry_runs(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions() as session:
        await orders.expire_due(session)


async def assert_money_accounted_for(
    sessions: async_sessionmaker[AsyncSession], order: Order, product_id: int, stock: int
) -> str:
    """The order is paid (its stock held) or flagged for a refund; says which."""
    async with sessions() as session:
        current = await orders.get_order(session, order.id)
        left = await session.scalar(select(Product.stock).where(Product.id == product_id))
    if current.status is S.PAID:
        assert left == stock - 2, "a paid order's units must stay out of stock"
        return "paid"
    assert current.attention is not None, f"money taken on a {current.status} order, no flag"
    assert left == stock, "an order not holding stock must not keep it"
    return "flagged"


async def test_a_payment_racing_an_admins_cancel_is_never_lost(
    session: AsyncSession, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    outcomes = []
    for race in range(RACES):
        order, product = await place_order(
            session, stock=5, provider="telegram", user_id=700 + race
        )
        await pending_payment(session, order, f"charge-{race}")
        await asyncio.gather(
            admin_cancels(session_factory, order), pay(session_factory, order, f"charge-{race}")
        )
        outcomes.append(await assert_money_accounted_for(session_factory, order, product.id, 5))
    assert outcomes.count("paid") == RACES  # stock was there: a late payment takes it again


async def test_a_payment_racing_expiry_without_stock_is_flagged(
    session: AsyncSession, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    for race in range(RACES):
        order, product = await place_order(
            session, stock=2, provider="telegram", user_id=800 + race
        )
        await pending_payment(session, order, f"charge-{race}")
        async with unit_of_work(session):
            await session.execute(
                update(Order)
                .where(Order.id == order.id)
                .values(expires_at=utcnow() - timedelta(minutes=1))
            )

        async def sold_elsewhere_then_expire(product_id: int = product.id) -> None:
            await expiry_runs(session_factory)
            async with session_factory() as other, unit_of_work(other):
                await other.execute(
                    update(Product)
                    .where(Product.id == product_id, Product.stock >= 2)
                    .values(stock=Product.stock - 2)
                )

        await asyncio.gather(
            sold_elsewhere_then_expire(), pay(session_factory, order, f"charge-{race}")
        )
        async with session_factory() as check:
            current = await orders.get_order(check, order.id)
        assert current.status is S.PAID or current.attention is not None


async def test_two_reporters_of_a_mismatched_payment_flag_and_tell_once(
    session: AsyncSession, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    order, _ = await place_order(session, provider="telegram")
    await pending_payment(session, order, "charge-x")

    async def report(actor: str) -> None:
        async with session_factory() as s:
            await apply_payment_state(
                s,
                provider=TelegramProvider(),
                provider_payment_id="charge-x",
                status=PaymentStatus.SUCCEEDED,
                amount_kopecks=order.total - 100,
                currency="RUB",
                metadata_order_id=str(order.id),
                actor=actor,
            )

    await asyncio.gather(*(report(f"reporter-{n}") for n in range(6)))
    async with session_factory() as check:
        flags = [e for e in await orders.events_of(check, order.id) if e.kind == "attention"]
        told = list(
            await check.scalars(
                select(OutboxMessage.kind).where(OutboxMessage.kind == "order_attention")
            )
        )
        current = await orders.get_order(check, order.id)
    assert len(flags) == 1 and len(told) == 1
    assert current.status is S.AWAITING_PAYMENT


async def test_a_second_successful_payment_of_a_paid_order_is_flagged_for_refund(
    session: AsyncSession, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    order, _ = await place_order(session, provider="telegram")
    await pending_payment(session, order, "first")
    await pending_payment(session, order, "second")
    await pay(session_factory, order, "first")
    await pay(session_factory, order, "second")
    async with session_factory() as check:
        current = await orders.get_order(check, order.id)
    assert current.status is S.PAID
    assert current.attention is not None and "second" in current.attention
    await pay(session_factory, order, "first")  # a repeat of the first changes nothing
    async with session_factory() as check:
        flags = [e for e in await orders.events_of(check, order.id) if e.kind == "attention"]
    assert len(flags) == 1
