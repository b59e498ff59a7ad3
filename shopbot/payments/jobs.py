"""The payment background jobs of the bot's process: order expiry and the reconciler."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shopbot.config import Settings
from shopbot.payments.base import PaymentProvider
from shopbot.payments.expiry import expire_orders
from shopbot.payments.reconciler import reconcile_pending
from shopbot.services.notifications import OrderNotifier

logger = logging.getLogger(__name__)


class BackgroundJobs:
    """Runs :func:`expire_orders` and :func:`reconcile_pending` every
    ``settings.reconcile_interval`` seconds, first right at start. A failing pass is logged
    and the next one runs as usual."""

    def __init__(
        self,
        settings: Settings,
        session_factory: async_sessionmaker[AsyncSession],
        provider: PaymentProvider,
        notifier: OrderNotifier,
    ) -> None:
        self._interval = settings.reconcile_interval
        self._session_factory = session_factory
        self._provider = provider
        self._notifier = notifier
        self._tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        if self._tasks:
            raise RuntimeError("background jobs are already running")
        self._tasks = [
            asyncio.create_task(self._every_interval("expire orders", self._expire)),
            asyncio.create_task(self._every_interval("reconcile payments", self._reconcile)),
        ]

    async def stop(self) -> None:
        """Cancel the jobs and wait until they have stopped. A pass in flight is cut short;
        each of its changes is a transaction of its own, so none is left half-written."""
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _expire(self) -> None:
        await expire_orders(self._session_factory, self._provider, self._notifier)

    async def _reconcile(self) -> None:
        await reconcile_pending(self._session_factory, self._provider, self._notifier)

    async def _every_interval(self, name: str, job: Callable[[], Awaitable[None]]) -> None:
        while True:
            try:
                await job()
            except Exception:
                logger.exception(
                    "background job %r failed; it runs again in %ss", name, self._interval
                )
            await asyncio.sleep(self._interval)
