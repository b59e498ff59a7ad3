"""Asking the provider about payments still open and refunds still pending: catches lost
notifications, refunds the provider cancelled, and lets a shop without a public webhook
(polling only) learn about its payments."""

from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shopbot.models import Payment
from shopbot.payments.base import PaymentError, PaymentProvider, ProviderUnavailable
from shopbot.payments.service import OPEN_PAYMENTS
from shopbot.services import orders

logger = logging.getLogger(__name__)


async def reconcile_pending(
    session_factory: async_sessionmaker[AsyncSession],
    provider: PaymentProvider,
) -> int:
    """Refresh every order with an open payment at ``provider``, then the refunds still
    pending there; returns how many of both were checked. Stops early (until the next pass)
    when the provider cannot be reached."""
    async with session_factory() as session:
        order_ids = list(
            await session.scalars(
                select(Payment.order_id)
                .where(
                    Payment.provider == provider.name,
                    Payment.status.in_(OPEN_PAYMENTS),
                    Payment.provider_payment_id.is_not(None),
                )
                .distinct()
                .order_by(Payment.order_id)
            )
        )
        checked = 0
        for order_id in order_ids:
            order = await orders.get_order(session, order_id)
            try:
                await provider.refresh(session, order)
            except ProviderUnavailable as exc:
                logger.warning("reconciling stopped, %s is unavailable: %s", provider.name, exc)
                break
            except PaymentError as exc:
                logger.warning("could not reconcile order %s: %s", order_id, exc)
            checked += 1
        else:  # the provider answered throughout: on to the refunds
            try:
                checked += await provider.follow_refunds(session)
            except ProviderUnavailable as exc:
                logger.warning(
                    "following refunds stopped, %s is unavailable: %s", provider.name, exc
                )
            except PaymentError as exc:
                logger.warning("could not follow refunds at %s: %s", provider.name, exc)
    return checked
