"""Expiring unpaid orders: their stock goes back, their open payments are cancelled."""

from __future__ import annotations

import logging

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shopbot.models import Order
from shopbot.payments.base import PaymentError, PaymentProvider
from shopbot.services import orders

logger = logging.getLogger(__name__)


async def expire_orders(
    session_factory: async_sessionmaker[AsyncSession], provider: PaymentProvider
) -> list[Order]:
    """Expire orders past their payment deadline (each in a unit of work that also records
    the shopper's message), then cancel their open provider payments. A payment that turns
    out to have been paid at the last moment is applied as a late payment (the shopper then
    hears that too)."""
    async with session_factory() as session:
        expired = await orders.expire_due(session)
        for change in expired:
            try:
                await provider.cancel(session, change.order)
            except PaymentError as exc:
                # The reconciler cancels it on a later pass (it cancels open payments of
                # orders that no longer await payment).
                logger.warning("could not cancel the payment of order %s: %s", change.order.id, exc)
    return [change.order for change in expired]
