"""Telegram Payments logic and the cash provider (no provider API to talk to)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from shopbot.models import Order, OrderStatus, Payment, PaymentStatus, utcnow
from shopbot.payments.base import RefundStatus
from shopbot.payments.cash import CashProvider
from shopbot.payments.telegram import (
    PreCheckoutRefusal,
    TelegramProvider,
    invoice_payload,
    record_successful_payment,
    validate_pre_checkout,
)
from shopbot.services import orders
from tests.payments.conftest import RecordingNotifier, place_order, status_of, stock_of

S = OrderStatus


async def test_pre_checkout_accepts_the_order_as_invoiced(session: AsyncSession) -> None:
    order, _ = await place_order(session, provider="telegram")
    payload = invoice_payload(order)

    assert len(payload.encode()) <= 128
    assert await validate_pre_checkout(session, payload, order.total, "RUB") is None


async def test_pre_checkout_refusals(session: AsyncSession) -> None:
    order, _ = await place_order(session, provider="telegram")
    payload = invoice_payload(order)

    assert await validate_pre_checkout(session, payload, order.total - 1, "RUB") is (
        PreCheckoutRefusal.AMOUNT_CHANGED
    )
    assert await validate_pre_checkout(session, payload, order.total, "USD") is (
        PreCheckoutRefusal.WRONG_CURRENCY
    )
    for unknown in ("order:999999", "order:", "cart:1", "garbage"):
        assert await validate_pre_checkout(session, unknown, order.total, "RUB") is (
            PreCheckoutRefusal.UNKNOWN_ORDER
        )
    await session.execute(
        update(Order).where(Order.id == order.id).values(expires_at=utcnow() - timedelta(1))
    )
    await session.commit()
    assert await validate_pre_checkout(session, payload, order.total, "RUB") is (
        PreCheckoutRefusal.NOT_PAYABLE
    )
    await orders.transition(session, order.id, S.CANCELLED, actor="test")
    refusal = await validate_pre_checkout(session, payload, order.total, "RUB")
    assert refusal is PreCheckoutRefusal.NOT_PAYABLE
    assert "нельзя оплатить" in refusal  # the text Telegram shows


async def test_successful_payment_is_recorded_once(
    session: AsyncSession, notifier: RecordingNotifier
) -> None:
    order, product = await place_order(session, provider="telegram", stock=5, quantity=2)

    for _ in range(3):
        paid = await record_successful_payment(
            session,
            invoice_payload(order),
            "tg-charge-1",
            "provider-charge-1",
            order.total,
            currency="RUB",
        )

    assert paid.status is S.PAID
    assert await stock_of(session, product.id) == 3
    assert notifier.status_changes == [(order.id, S.AWAITING_PAYMENT, S.PAID, None)]
    assert notifier.paid == [order.id]
    payments = list(await session.scalars(select(Payment).where(Payment.order_id == order.id)))
    assert [(p.provider, p.provider_payment_id, p.status) for p in payments] == [
        ("telegram", "tg-charge-1", PaymentStatus.SUCCEEDED)
    ]
    events = await orders.events_of(session, order.id)
    received = [e for e in events if e.kind == "payment_received"]
    assert len(received) == 1
    assert received[0].details["provider_payment_charge_id"] == "provider-charge-1"


async def test_successful_payment_after_expiry_takes_stock_again(session: AsyncSession) -> None:
    order, product = await place_order(session, provider="telegram", stock=5, quantity=2)
    await orders.expire_due(session, now=utcnow() + timedelta(days=1))
    assert await stock_of(session, product.id) == 5

    paid = await record_successful_payment(
        session,
        invoice_payload(order),
        "tg-2",
        "p-2",
        order.total,
        currency="RUB",
    )

    assert paid.status is S.PAID
    assert await stock_of(session, product.id) == 3


async def test_successful_payment_of_another_amount_is_flagged(
    session: AsyncSession, notifier: RecordingNotifier
) -> None:
    order, _ = await place_order(session, provider="telegram")

    flagged = await record_successful_payment(
        session, invoice_payload(order), "tg-3", "p-3", 100, currency="RUB"
    )

    assert flagged.status is S.AWAITING_PAYMENT
    assert flagged.attention is not None and "tg-3" in flagged.attention
    assert notifier.attention == [(order.id, flagged.attention)]
    assert notifier.paid == []


async def test_telegram_and_cash_refunds_are_made_by_hand(session: AsyncSession) -> None:
    order, _ = await place_order(session, provider="telegram")
    await record_successful_payment(
        session,
        invoice_payload(order),
        "tg-4",
        "p-4",
        order.total,
        currency="RUB",
    )

    result = await TelegramProvider().refund(session, order, "admin:1")

    assert result.status is RefundStatus.MANUAL
    assert result.order.status is S.PAID  # the owner marks it refunded once the money is back
    assert (await orders.events_of(session, order.id))[-1].kind == "refund_manual"


async def test_cash_orders_wait_for_the_shop(
    session: AsyncSession, notifier: RecordingNotifier
) -> None:
    provider = CashProvider()
    order, _ = await place_order(session, provider="cash")

    assert order.status is S.AWAITING_CONFIRMATION
    assert await provider.start(session, order) is None
    assert (await provider.refresh(session, order)).status is (S.AWAITING_CONFIRMATION)
    await provider.cancel(session, order)
    result = await provider.refund(session, order, "admin:1")

    assert result.status is RefundStatus.MANUAL
    assert await status_of(session, order.id) is S.AWAITING_CONFIRMATION
    assert await session.scalar(select(func.count()).select_from(Payment)) == 0
    assert notifier.status_changes == notifier.attention == []
