"""Telegram Payments: the bot sends the invoice and answers Telegram; this is the logic.

Telegram asks the bot to confirm a checkout (pre-checkout query) and then reports the
successful payment once. Amounts are in kopecks on both sides. The payment is recorded under
its Telegram charge id, so a repeated report changes nothing.
"""

from __future__ import annotations

import enum
import hashlib
import logging

from sqlalchemy.ext.asyncio import AsyncSession

from shopbot.db import unit_of_work, upsert
from shopbot.errors import OrderNotFound
from shopbot.models import Order, OrderStatus, Payment, PaymentStatus, utcnow
from shopbot.payments.base import OfflineProvider
from shopbot.payments.service import apply_payment_state
from shopbot.services import orders

logger = logging.getLogger(__name__)

PAYLOAD_PREFIX = "order:"


class TelegramProvider(OfflineProvider):
    name = "telegram"

    async def start(self, session: AsyncSession, order: Order) -> None:
        """No link: the bot sends an invoice with :func:`invoice_payload` instead."""
        return None


class PreCheckoutRefusal(enum.StrEnum):
    """Why a checkout is refused; the value is the text Telegram shows the shopper."""

    UNKNOWN_ORDER = "Заказ не найден."
    NOT_PAYABLE = "Этот заказ уже нельзя оплатить: он оплачен, отменён или истёк срок оплаты."
    AMOUNT_CHANGED = "Сумма счёта не совпадает с суммой заказа. Откройте заказ и оплатите заново."
    WRONG_CURRENCY = "Оплата принимается только в рублях."


def invoice_payload(order: Order) -> str:
    """The invoice payload (1-128 bytes) Telegram hands back with the checkout and payment."""
    return f"{PAYLOAD_PREFIX}{order.id}"


async def validate_pre_checkout(
    session: AsyncSession, payload: str, total_amount: int, currency: str
) -> PreCheckoutRefusal | None:
    """None if the shopper may pay; otherwise why not. The order must still await payment,
    not be past its expiry, and cost exactly what the invoice says."""
    order = await _order(session, payload)
    if order is None:
        return PreCheckoutRefusal.UNKNOWN_ORDER
    if order.status is not OrderStatus.AWAITING_PAYMENT or (
        order.expires_at is not None and order.expires_at <= utcnow()
    ):
        return PreCheckoutRefusal.NOT_PAYABLE
    if currency != order.currency:
        return PreCheckoutRefusal.WRONG_CURRENCY
    if total_amount != order.total:
        return PreCheckoutRefusal.AMOUNT_CHANGED
    return None


async def record_successful_payment(
    session: AsyncSession,
    payload: str,
    telegram_charge_id: str,
    provider_charge_id: str,
    total_amount: int,
    *,
    currency: str,
) -> Order:
    """Record Telegram's successful payment and mark the order paid (a late payment re-takes
    its stock, or flags the order when it cannot). Repeats change nothing. Raises
    OrderNotFound when the payload names no order (the money must then be refunded by hand).
    """
    order = await _order(session, payload)
    if order is None:
        logger.error("Telegram payment %s for unknown payload %r", telegram_charge_id, payload)
        raise OrderNotFound(payload)
    key = hashlib.sha256(f"telegram:{telegram_charge_id}".encode()).hexdigest()
    async with unit_of_work(session):
        recorded = await session.scalar(
            upsert(session, Payment)
            .values(
                order_id=order.id,
                provider=TelegramProvider.name,
                provider_payment_id=telegram_charge_id,
                status=PaymentStatus.PENDING,
                amount=total_amount,
                currency=currency,
                idempotence_key=key,
            )
            .on_conflict_do_nothing()  # recorded already: the state is applied idempotently
            .returning(Payment.id)
        )
        if recorded is not None:
            await orders.log_event(
                session,
                order.id,
                "payment_received",
                actor=TelegramProvider.name,
                details={
                    "telegram_payment_charge_id": telegram_charge_id,
                    "provider_payment_charge_id": provider_charge_id,
                    "amount": total_amount,
                    "currency": currency,
                },
            )
        await apply_payment_state(
            session,
            provider=TelegramProvider(),
            provider_payment_id=telegram_charge_id,
            status=PaymentStatus.SUCCEEDED,
            amount_kopecks=total_amount,
            currency=currency,
            metadata_order_id=str(order.id),
            actor=TelegramProvider.name,
        )
    return await orders.get_order(session, order.id)


async def _order(session: AsyncSession, payload: str) -> Order | None:
    prefix, _, number = payload.partition(":")
    if f"{prefix}:" != PAYLOAD_PREFIX or not number.isdecimal():
        return None
    try:
        return await orders.get_order(session, int(number))
    except OrderNotFound:
        return None
