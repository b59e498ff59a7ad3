"""apply_payment_state's checks, called directly with what a provider would report."""

from __future__ import annotations

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from shopbot.models import OrderStatus, Payment, PaymentStatus
from shopbot.payments.service import Result, apply_payment_state
from shopbot.payments.telegram import TelegramProvider
from tests.payments.conftest import RecordingNotifier, place_order, status_of

S = OrderStatus


async def report(session: AsyncSession, **overrides: object):
    values: dict = {
        "provider": TelegramProvider(),
        "provider_payment_id": "charge-1",
        "status": PaymentStatus.SUCCEEDED,
        "currency": "RUB",
        "actor": "test",
    }
    values.update(overrides)
    return await apply_payment_state(session, **values)


async def with_payment(session: AsyncSession):
    order, _ = await place_order(session, provider="telegram")
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
    await session.commit()
    return order


async def test_a_matching_report_pays_once(
    session: AsyncSession, notifier: RecordingNotifier
) -> None:
    order = await with_payment(session)
    matching = {"amount_kopecks": order.total, "metadata_order_id": str(order.id)}

    first = await report(session, **matching)
    again = await report(session, **matching)

    assert (first.result, first.previous, first.order.status) == (
        Result.APPLIED,
        S.AWAITING_PAYMENT,
        S.PAID,
    )
    assert again.result is Result.UNCHANGED
    assert notifier.paid == [order.id]


async def test_metadata_of_another_order_is_flagged(
    session: AsyncSession, notifier: RecordingNotifier
) -> None:
    order = await with_payment(session)

    outcome = await report(session, amount_kopecks=order.total, metadata_order_id=str(order.id + 1))

    assert outcome.result is Result.FLAGGED
    assert await status_of(session, order.id) is S.AWAITING_PAYMENT
    assert notifier.attention == [(order.id, outcome.reason)]


async def test_another_currency_is_flagged(session: AsyncSession) -> None:
    order = await with_payment(session)

    outcome = await report(
        session,
        amount_kopecks=order.total,
        currency="USD",
        metadata_order_id=str(order.id),
    )

    assert outcome.result is Result.FLAGGED
    assert "currency" in (outcome.reason or "")
    assert await status_of(session, order.id) is S.AWAITING_PAYMENT


async def test_unknown_payments_are_ignored(
    session: AsyncSession, notifier: RecordingNotifier
) -> None:
    order = await with_payment(session)

    pending = await report(
        session,
        provider_payment_id="someone-else",
        status=PaymentStatus.PENDING,
        amount_kopecks=order.total,
        metadata_order_id=str(order.id),
    )
    no_order = await report(
        session,
        provider_payment_id="someone-else",
        amount_kopecks=order.total,
        metadata_order_id=None,
    )

    assert pending.result is no_order.result is Result.IGNORED
    assert await status_of(session, order.id) is S.AWAITING_PAYMENT
    assert notifier.attention == notifier.paid == []


async def test_cancellation_of_an_older_attempt_leaves_the_order_alone(
    session: AsyncSession,
) -> None:
    order = await with_payment(session)
    await session.execute(
        insert(Payment).values(
            order_id=order.id,
            provider="telegram",
            provider_payment_id="charge-2",
            status=PaymentStatus.PENDING,
            amount=order.total,
            idempotence_key="key-2",
        )
    )
    await session.commit()

    outcome = await report(
        session,
        status=PaymentStatus.CANCELED,
        amount_kopecks=order.total,
        metadata_order_id=str(order.id),
    )

    assert outcome.result is Result.UNCHANGED
    assert await status_of(session, order.id) is S.AWAITING_PAYMENT
