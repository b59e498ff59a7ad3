"""What the shop tells people about orders: the outbox messages the core records, and the
interface the bot layer implements to deliver them.

The order service records a message in the unit of work that changes the order (so a
change is announced once, however many times a provider repeats its report, and a change
rolled back is announced never); the outbox delivers it after the commit through an
:class:`OrderNotifier`.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from shopbot.models import Order, OrderStatus, OutboxMessage
from shopbot.services import outbox
from shopbot.services.outbox import Sender, Undeliverable

# Outbox kinds and their payloads.
ORDER_STATUS = "order_status"  # {order_id, previous, status, reason[, note]}: to the shopper
ORDER_ATTENTION = "order_attention"  # {order_id, reason}: to the staff
NEW_ORDER = "new_order"  # {order_id}: a paid or cash order, to the staff
LOW_STOCK = "low_stock"  # {threshold, products: [{id, sku, name, stock}]}: to the staff
ORDER_CANCELLED = "order_cancelled"  # {order_id, outcome}: the shopper cancelled, to the staff
SHOPPER_MESSAGE = "shopper_message"  # {order_id, text} or {user_id, text}: a shopper writes: staff
PAYMENT_DUE = "payment_due"  # {order_id}: an order placed online, its payment link to send
PAYMENT_FAILED = "payment_failed"  # {order_id, reason}: to the shopper, who may pay again

# How long the job loop leaves a payment link to the process that placed the order (which
# sends it at once): longer than a payment start with the provider's retries takes.
PAYMENT_LINK_GRACE = timedelta(minutes=2)


def payment_due_key(order_id: int) -> str:
    """The outbox key of an order's :data:`PAYMENT_DUE` message."""
    return f"payment_due:{order_id}"


async def payment_link_requested(session: AsyncSession, order_id: int) -> None:
    """The shopper asked for the order's payment link (a pay button): the link the outbox
    still holds for a crashed process is not sent on top of the one they get now."""
    await outbox.settle(session, payment_due_key(order_id))


class OrderNotifier(Protocol):
    """Delivery of the order messages (the bot layer implements it). Methods raise
    ``outbox.RetryLater`` or ``outbox.Undeliverable`` when a message did not get through."""

    async def order_status_changed(
        self,
        order: Order,
        previous: OrderStatus,
        *,
        reason: str | None = None,
        note: str | None = None,
    ) -> None:
        """Tell the shopper their order is now paid, cancelled, expired or refunded;
        ``note``: what the staff wrote to the shopper about it (a cancellation's reason)."""

    async def needs_attention(self, order: Order, reason: str) -> None:
        """Tell the shop owner an order needs a person (amount mismatch, paid without stock...)."""

    async def new_order(self, order: Order) -> None:
        """Tell the staff of a new order to act on (paid, or cash awaiting confirmation)."""

    async def low_stock(self, threshold: int, products: list[dict]) -> None:
        """Tell the staff these products are at or below the low-stock threshold."""

    async def cancelled_by_shopper(self, order: Order, outcome: str) -> None:
        """Tell the staff the shopper cancelled this order; ``outcome`` says what became of
        the money (``payments.cancellation.Cancelled``)."""

    async def shopper_message(self, order: Order, text: str) -> None:
        """Relay what the shopper wrote about this order to the staff, naming the order and
        the shopper."""

    async def shopper_question(self, user_id: int, text: str) -> None:
        """Relay what a shopper wrote to the staff about no order (from the FAQ's "write to
        a manager"), naming the shopper."""

    async def payment_due(self, session: AsyncSession, order: Order) -> None:
        """Start the payment of an order just placed and send the shopper its link (nothing
        if the order can no longer be paid)."""

    async def payment_failed(self, order: Order, reason: str | None) -> None:
        """Tell the shopper the payment was cancelled or failed while the order still holds
        its stock: they may pay again."""


def order_sender(notifier: OrderNotifier) -> Sender:
    """The outbox sender for the order messages, through ``notifier``."""

    async def send(session: AsyncSession, message: OutboxMessage) -> None:
        payload = message.payload
        if message.kind == LOW_STOCK:
            await notifier.low_stock(payload["threshold"], payload["products"])
            return
        if message.kind == SHOPPER_MESSAGE and "order_id" not in payload:
            await notifier.shopper_question(payload["user_id"], payload["text"])
            return
        order = await session.get(Order, payload["order_id"], populate_existing=True)
        if order is None:
            raise Undeliverable(f"order {payload['order_id']} no longer exists")
        if message.kind == ORDER_STATUS:
            await notifier.order_status_changed(
                order,
                OrderStatus(payload["previous"]),
                reason=payload.get("reason"),
                note=payload.get("note"),
            )
        elif message.kind == ORDER_ATTENTION:
            await notifier.needs_attention(order, payload["reason"])
        elif message.kind == NEW_ORDER:
            await notifier.new_order(order)
        elif message.kind == ORDER_CANCELLED:
            await notifier.cancelled_by_shopper(order, payload["outcome"])
        elif message.kind == SHOPPER_MESSAGE:
            await notifier.shopper_message(order, payload["text"])
        elif message.kind == PAYMENT_DUE:
            await notifier.payment_due(session, order)
        elif message.kind == PAYMENT_FAILED:
            await notifier.payment_failed(order, payload.get("reason"))
        else:
            raise Undeliverable(f"unknown message kind {message.kind!r}")

    return send
