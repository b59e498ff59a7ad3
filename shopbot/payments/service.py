"""The single place where a provider's verified word about a payment changes an order.

Callers pass what the provider's API said (never what a notification claimed). The report
must name a payment we created, for the order it was created for, with the order's exact
amount and currency; anything else never pays an order, and when money moved the owner is
told. Order changes go through the order state machine, so a report repeated any number of
times changes the order once, and only the unit of work that changed it records the
messages to people (the outbox delivers them after the commit).
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from shopbot.db import unit_of_work
from shopbot.errors import IllegalTransition, OutOfStock
from shopbot.i18n import N_, Text
from shopbot.models import MAX_ID, Order, OrderStatus, Payment, PaymentStatus, utcnow
from shopbot.money import format_price
from shopbot.payments.base import STATUS_WORDS, PaymentError, PaymentProvider, PaymentReport
from shopbot.services import orders, outbox
from shopbot.services.notifications import PAYMENT_FAILED

logger = logging.getLogger(__name__)

S = OrderStatus
P = PaymentStatus

# Order statuses in which the order's money is with the shop.
PAID_STATUSES = frozenset({S.PAID, S.CONFIRMED, S.SHIPPED, S.DELIVERED})
OPEN_PAYMENTS = frozenset({P.PENDING, P.WAITING_FOR_CAPTURE})
# Statuses in which the shopper's money has moved (or moved back).
MONEY_MOVED = frozenset({P.WAITING_FOR_CAPTURE, P.SUCCEEDED, P.REFUNDED})
# payment status -> the statuses it may be reached from
PAYMENT_TRANSITIONS: Mapping[PaymentStatus, frozenset[PaymentStatus]] = {
    P.WAITING_FOR_CAPTURE: frozenset({P.PENDING}),
    P.SUCCEEDED: frozenset({P.PENDING, P.WAITING_FOR_CAPTURE}),
    P.CANCELED: frozenset({P.PENDING, P.WAITING_FOR_CAPTURE}),
    P.REFUNDED: frozenset({P.PENDING, P.WAITING_FOR_CAPTURE, P.SUCCEEDED}),
}


class Result(enum.StrEnum):
    APPLIED = "applied"  # this call changed the order
    UNCHANGED = "unchanged"  # nothing (more) to do: already applied, or not applicable
    FLAGGED = "flagged"  # the report did not check out or could not be applied: owner told
    IGNORED = "ignored"  # a payment we know nothing about


@dataclass(frozen=True)
class Outcome:
    result: Result
    order: Order | None
    previous: OrderStatus | None = None
    reason: str | None = None


async def apply_payment_state(
    session: AsyncSession,
    *,
    provider: PaymentProvider,
    provider_payment_id: str,
    status: PaymentStatus,
    amount_kopecks: int,
    currency: str,
    metadata_order_id: str | None,
    actor: str,
    cancellation_reason: str | None = None,
    refunded_kopecks: int = 0,
) -> Outcome:
    """Apply one verified report about a provider payment to our payment row and its order,
    in one unit of work: the order's change, the payment row, the event log and the messages
    to people commit together or not at all.

    A payment waiting for capture is captured first (outside the unit: it is a call to the
    provider) and the captured state applied. A payment partly refunded at the provider (the
    owner's dashboard: the shop itself only refunds in full) leaves the order as it is and
    is flagged for the owner, who settles the rest; refunded in full, it arrives as REFUNDED.
    """
    if status is P.WAITING_FOR_CAPTURE:
        payment = await _payment(session, provider, provider_payment_id)
        if payment is not None:
            order = await orders.get_order(session, payment.order_id)
            if _mismatch(payment, order, amount_kopecks, currency, metadata_order_id) is None:
                captured = await provider.capture(provider_payment_id)
                if captured.status is P.WAITING_FOR_CAPTURE:
                    raise PaymentError(
                        Text(
                            N_("payment {payment} is still waiting for capture"),
                            {"payment": provider_payment_id},
                        )
                    )
                return await apply_report(session, captured, provider=provider, actor=actor)
    details: dict[str, Any] = {
        "provider": provider.name,
        "provider_payment_id": provider_payment_id,
        "payment_status": str(status),
        "amount": amount_kopecks,
        "currency": currency,
    }
    if refunded_kopecks:
        details["refunded"] = refunded_kopecks
    async with unit_of_work(session):
        payment = await _payment(session, provider, provider_payment_id)
        if payment is None:
            return await _unknown_payment(session, status, metadata_order_id, actor, details)
        order = await orders.get_order(session, payment.order_id)
        problem = _mismatch(payment, order, amount_kopecks, currency, metadata_order_id)
        if problem is not None:
            reason = Text(
                N_("payment {payment} does not match the order ({problem}): never paid"),
                {"payment": provider_payment_id, "problem": problem},
            )
            outcome = await flag_order(session, order, reason, actor, details)
            # The row still follows the provider, so the reconciler stops asking once final.
            await _set_payment_status(session, payment, status, actor, details)
            return outcome
        outcome = await _apply_to_order(
            session, payment, order, status, actor, details, cancellation_reason
        )
        await _set_payment_status(session, payment, status, actor, details)
        if status is P.SUCCEEDED and 0 < refunded_kopecks < amount_kopecks:
            reason = Text(
                N_(
                    "{refunded} of {amount} refunded at {provider} (payment {payment}): "
                    "the order was not changed"
                ),
                {
                    "refunded": format_price(refunded_kopecks),
                    "amount": format_price(amount_kopecks),
                    "provider": _provider_words(provider.name),
                    "payment": provider_payment_id,
                },
            )
            flagged = await flag_order(session, outcome.order or order, reason, actor, details)
            if outcome.result is not Result.APPLIED:
                outcome = flagged
    if outcome.order is not None:
        outcome = replace(outcome, order=await orders.get_order(session, outcome.order.id))
    return outcome


async def apply_report(
    session: AsyncSession,
    report: PaymentReport,
    *,
    provider: PaymentProvider,
    actor: str,
) -> Outcome:
    """:func:`apply_payment_state` for a report read from a provider's API."""
    return await apply_payment_state(
        session,
        provider=provider,
        provider_payment_id=report.provider_payment_id,
        status=report.status,
        amount_kopecks=report.amount,
        currency=report.currency,
        metadata_order_id=report.metadata_order_id,
        actor=actor,
        cancellation_reason=report.cancellation_reason,
        refunded_kopecks=report.refunded,
    )


async def _payment(
    session: AsyncSession, provider: PaymentProvider, provider_payment_id: str
) -> Payment | None:
    return await session.scalar(
        select(Payment)
        .where(
            Payment.provider == provider.name, Payment.provider_payment_id == provider_payment_id
        )
        .execution_options(populate_existing=True)
    )


def _mismatch(
    payment: Payment,
    order: Order,
    amount: int,
    currency: str,
    metadata_order_id: str | None,
) -> Text | None:
    if metadata_order_id != str(payment.order_id):
        return Text(N_("metadata names order {order}"), {"order": repr(metadata_order_id)})
    if currency != order.currency:
        return Text(
            N_("currency {currency}, order in {expected}"),
            {"currency": currency, "expected": order.currency},
        )
    if amount != order.total or amount != payment.amount:
        return Text(
            N_("amount {amount}, order total {total}"),
            {"amount": format_price(amount), "total": format_price(order.total)},
        )
    return None


async def _apply_to_order(
    session: AsyncSession,
    payment: Payment,
    order: Order,
    status: PaymentStatus,
    actor: str,
    details: dict[str, Any],
    cancellation_reason: str | None,
) -> Outcome:
    if status is P.SUCCEEDED:
        try:
            change = await orders.transition(
                session, order.id, S.PAID, actor=actor, details=details
            )
        except IllegalTransition as exc:
            return await _paid_where_it_cannot_be(session, payment, order, exc, actor, details)
        except OutOfStock as exc:
            reason = Text(
                N_("paid after expiry, no stock: refund (payment {payment}, {product})"),
                {"payment": payment.provider_payment_id, "product": exc.name},
            )
            details = {**details, "product_id": exc.product_id, "available": exc.available}
            return await flag_order(session, order, reason, actor, details)
        return Outcome(Result.APPLIED, change.order, change.previous)

    if status is P.CANCELED:
        # The order keeps its stock until it expires: the shopper may pay again (a new
        # attempt), and is told so once. One cancelled by the shop (expired, cancelled by
        # the staff) has nothing more to say; a newer attempt carries on.
        current = await orders.locked_status(session, order.id)
        overdue = order.expires_at is not None and order.expires_at <= utcnow()
        if (
            current is S.AWAITING_PAYMENT
            and not overdue
            and payment.status is not P.CANCELED
            and await _is_latest(session, payment)
        ):
            await outbox.record(
                session,
                PAYMENT_FAILED,
                {"order_id": order.id, "reason": cancellation_reason},
                key=f"payment_failed:{payment.id}",
            )
        return await _unchanged(session, order)

    if status is P.REFUNDED:
        try:
            change = await orders.transition(
                session, order.id, S.REFUNDED, actor=actor, details=details
            )
        except IllegalTransition:
            return await _unchanged(session, order)
        return Outcome(Result.APPLIED, change.order, change.previous)

    return await _unchanged(session, order)  # pending: nothing has happened yet


async def _paid_where_it_cannot_be(
    session: AsyncSession,
    payment: Payment,
    order: Order,
    refused: IllegalTransition,
    actor: str,
    details: dict[str, Any],
) -> Outcome:
    """A payment succeeded for an order that cannot become paid. A repeat of the payment
    that paid it changes nothing; any other money (a second payment of a paid order, a
    payment of a refunded one) must go back: the owner is told."""
    if payment.status is P.SUCCEEDED or refused.current is None:
        return await _unchanged(session, order)
    other_paid = await session.scalar(
        select(func.count())
        .select_from(Payment)
        .where(
            Payment.order_id == order.id,
            Payment.id != payment.id,
            Payment.status.in_((P.SUCCEEDED, P.REFUNDED)),
        )
    )
    if refused.current in PAID_STATUSES and not other_paid:
        return await _unchanged(session, order)  # the order was marked paid another way
    reason = Text(
        N_("payment {payment} succeeded on an order that is {status}: refund it"),
        {"payment": payment.provider_payment_id, "status": _status_words(refused.current)},
    )
    return await flag_order(session, order, reason, actor, details)


async def _set_payment_status(
    session: AsyncSession,
    payment: Payment,
    status: PaymentStatus,
    actor: str,
    details: dict[str, Any],
) -> None:
    sources = PAYMENT_TRANSITIONS.get(status)
    if not sources:
        return
    previous = await session.scalar(select(Payment.status).where(Payment.id == payment.id))
    result = await session.execute(
        update(Payment)
        .where(Payment.id == payment.id, Payment.status.in_(sources))
        .values(status=status, updated_at=utcnow())
    )
    if result.rowcount == 1:
        await orders.log_event(
            session,
            payment.order_id,
            "payment",
            actor=actor,
            details={**details, "previous_payment_status": str(previous)},
        )


async def _unknown_payment(
    session: AsyncSession,
    status: PaymentStatus,
    metadata_order_id: str | None,
    actor: str,
    details: dict[str, Any],
) -> Outcome:
    """A payment the shop did not create. It never changes an order, but if it names one
    of ours and money moved, someone paid the shop outside checkout: the owner must look."""
    order = None
    if metadata_order_id is not None and metadata_order_id.isdecimal():
        order_id = int(metadata_order_id)
        if order_id <= MAX_ID:
            order = await session.get(Order, order_id, populate_existing=True)
    if order is None or status not in MONEY_MOVED:
        logger.warning("ignored a report about an unknown payment: %s", details)
        return Outcome(Result.IGNORED, None)
    reason = Text(
        N_("payment {payment} ({status}, {amount}) was not created by the shop: never paid"),
        {
            "payment": details["provider_payment_id"],
            "status": Text(PAYMENT_WORDS[status]),
            "amount": format_price(details["amount"]),
        },
    )
    return await flag_order(session, order, reason, actor, details)


PAYMENT_WORDS = {
    PaymentStatus.PENDING: N_("waiting for the shopper"),
    PaymentStatus.WAITING_FOR_CAPTURE: N_("authorised, waiting to be captured"),
    PaymentStatus.SUCCEEDED: N_("succeeded"),
    PaymentStatus.CANCELED: N_("cancelled"),
    PaymentStatus.REFUNDED: N_("refunded"),
}
PROVIDER_WORDS = {"yookassa": N_("YooKassa"), "telegram": N_("Telegram Payments")}


def _provider_words(name: str) -> Text | str:
    return Text(PROVIDER_WORDS[name]) if name in PROVIDER_WORDS else name


def _status_words(status: str) -> Text | str:
    try:
        return Text(STATUS_WORDS[OrderStatus(status)])
    except ValueError:
        return status


async def flag_order(
    session: AsyncSession,
    order: Order,
    reason: Text,
    actor: str,
    details: dict[str, Any],
) -> Outcome:
    """Flag the order for the owner (who is told through the outbox), once per distinct
    reason: reports repeat, also after the owner has dealt with the flag and cleared it.
    The reason is stored encoded (:meth:`Text.encode`): the owner reads it in their language."""
    stored = reason.encode()
    if await orders.flag_for_attention(session, order.id, stored, actor=actor, details=details):
        logger.warning("order %s needs attention: %s", order.id, reason.render("en"))
    return Outcome(Result.FLAGGED, await orders.get_order(session, order.id), reason=stored)


async def _unchanged(session: AsyncSession, order: Order) -> Outcome:
    return Outcome(Result.UNCHANGED, await orders.get_order(session, order.id))


async def _is_latest(session: AsyncSession, payment: Payment) -> bool:
    latest = await session.scalar(
        select(func.max(Payment.id)).where(Payment.order_id == payment.order_id)
    )
    return latest == payment.id
