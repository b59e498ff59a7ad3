"""Cash (or any payment outside shopbot): the shop confirms the order and takes the money."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from shopbot.models import Order
from shopbot.payments.base import OfflineProvider


class CashProvider(OfflineProvider):
    name = "cash"

    async def start(self, session: AsyncSession, order: Order) -> None:
        """Nothing to pay online: the order waits in awaiting_confirmation for the shop."""
        return None
