"""Cancelling an order, by the owner or by the shopper it belongs to: one use case.

An unpaid order is cancelled through the order state machine (its stock goes back on sale)
and its payment still open at the provider is cancelled after the commit (the reconciler
cancels it on a later pass if the provider cannot be reached now). A paid order is
cancelled by refunding it through the provider that took the money; a provider that
cannot refund leaves the refund to the owner, by hand.
"""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from shopbot.db import unit_of_work
from shopbot.errors import IllegalTransition
from shopbot.models import Order, OrderStatus
from shopbot.payments.base import PaymentError, PaymentProvider, RefundStatus
from shopbot.services import orders, outbox
from shopbot.services.notifications import ORDER_CANCELLED

log = logging.getLogger(__name__)

S = OrderStatus
# What a shopper may cancel themselves: everything the state machine lets be cancelled,
# that is every order not yet shipped (nor already over).
SHOPPER_CANCELLABLE = orders.TRANSITIONS[S.CANCELLED]


class Cancelled(enum.StrEnum):
    CANCELLED = "cancelled"  # no money had been taken: the order is cancelled
    REFUNDED = "refunded"  # paid: the money went back through the provider
    REFUND_PENDING = "refund_pending"  # paid: the provider is returning it, the order follows
    REFUND_MANUAL = "refund_manual"  # paid another way: cancelled, the owner refunds by hand


@dataclass(frozen=True)
class Cancellation:
    outcome: Cancelled
    order: Order


async def cancel_order(
    session: AsyncSession,
    order: Order,
    *,
    expect: OrderStatus,
    actor: str,
    provider: PaymentProvider,
    details: dict[str, Any] | None = None,
    tell_staff: bool = False,
) -> Cancellation:
    """Cancel ``order`` if it is still ``expect`` (what the person saw when they decided).

    Raises IllegalTransition when the order has moved on (nothing is done), PaymentError
    when the provider refused or could not be asked for the refund (nothing is done).
    ``details`` go to the event log (a ``note`` there is sent to the shopper with the
    status message). ``tell_staff``: the staff hear of it through the outbox, recorded by
    the unit that cancels the order (after the provider's answer for a refund).
    """
    if expect is not S.PAID:
        async with unit_of_work(session):
            change = await orders.transition(
                session, order.id, S.CANCELLED, actor=actor, expect=expect, details=details
            )
            if tell_staff:
                await _tell_staff(session, order, Cancelled.CANCELLED)
        if change.previous is S.AWAITING_PAYMENT:
            await _cancel_open_payment(session, change.order, provider)
        return Cancellation(Cancelled.CANCELLED, change.order)
    order = await orders.get_order(session, order.id)
    if order.status is not S.PAID:
        raise IllegalTransition(order.id, order.status, S.CANCELLED)
    if order.payment_provider == provider.name:
        result = await provider.refund(session, order, actor)
        outcome = None
        if result.status is RefundStatus.REFUNDED:
            outcome = Cancelled.REFUNDED
        elif result.status is RefundStatus.PENDING:
            outcome = Cancelled.REFUND_PENDING
        if outcome is not None:
            if tell_staff:
                async with unit_of_work(session):
                    await _tell_staff(session, order, outcome)
            return Cancellation(outcome, result.order)
    async with unit_of_work(session):
        change = await orders.transition(
            session, order.id, S.CANCELLED, actor=actor, expect=S.PAID, details=details
        )
        if tell_staff:
            await _tell_staff(session, order, Cancelled.REFUND_MANUAL)
    return Cancellation(Cancelled.REFUND_MANUAL, change.order)


async def cancel_own_order(
    session: AsyncSession,
    user_id: int,
    order_id: int,
    *,
    expect: OrderStatus,
    provider: PaymentProvider,
) -> Cancellation:
    """The shopper cancels their order (OrderNotFound if it is not theirs); the staff are
    told of an order they had heard of (cash or paid), with what became of the money."""
    order = await orders.order_of_user(session, user_id, order_id)
    if expect not in SHOPPER_CANCELLABLE:
        raise IllegalTransition(order.id, order.status, S.CANCELLED)
    return await cancel_order(
        session,
        order,
        expect=expect,
        actor=f"user:{user_id}",
        provider=provider,
        tell_staff=expect is not S.AWAITING_PAYMENT,
    )


async def _tell_staff(session: AsyncSession, order: Order, outcome: Cancelled) -> None:
    await outbox.record(session, ORDER_CANCELLED, {"order_id": order.id, "outcome": str(outcome)})


async def _cancel_open_payment(
    session: AsyncSession, order: Order, provider: PaymentProvider
) -> None:
    try:
        await provider.cancel(session, order)
    except PaymentError as exc:
        # The reconciler cancels open payments of orders that no longer await payment.
        log.warning("could not cancel the payment of order %s now: %s", order.id, exc)
