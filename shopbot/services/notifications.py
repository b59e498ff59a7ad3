"""What the core tells people about orders; the Telegram bot layer implements it.

Payments and background jobs call a notifier only after they changed an order themselves,
so each change is announced once however many times a provider repeats its report.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable
from typing import Protocol

from shopbot.models import Order, OrderStatus

logger = logging.getLogger(__name__)


class OrderNotifier(Protocol):
    async def order_status_changed(
        self, order: Order, previous: OrderStatus, *, reason: str | None = None
    ) -> None:
        """Tell the shopper their order is now paid, cancelled, expired or refunded."""

    async def needs_attention(self, order: Order, reason: str) -> None:
        """Tell the shop owner an order needs a person (amount mismatch, paid without stock...)."""

    async def new_paid_order(self, order: Order) -> None:
        """Tell the admins a new order has been paid."""


async def notify_safely(call: Awaitable[None], what: str) -> None:
    """Await a notification without letting its failure undo or repeat the work behind it.

    The order has already changed when this runs; a blocked chat or a Telegram outage must
    not turn into an error that makes a provider redeliver (and nothing would be re-sent).
    """
    try:
        await call
    except Exception:
        logger.exception("notification failed: %s", what)
