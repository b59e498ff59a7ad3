"""The background jobs of the bot's process: order expiry, the payment reconciler, the
outbox's delivery of messages left over (after a crash, or waiting for a retry), the
pruning of old handled-update records, the reminders of forgotten carts, the reminder of
support conversations nobody answered in time and the look at favourites back in stock
(:func:`shopbot.services.restock.watch_favourites`).

With several replicas on one PostgreSQL database each pass takes an advisory lock named
after its job (:func:`shopbot.db.exclusive`): a replica that finds the lock taken skips the
pass, so no two replicas run the same pass, and one that dies mid-pass loses the lock with
its connection, the next replica's pass (within one interval) taking over. A job library
(taskiq and the like) would add a broker and a worker process for five periodic loops the
database can already serialise."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shopbot import metrics
from shopbot.config import Settings
from shopbot.db import exclusive
from shopbot.models import utcnow
from shopbot.payments.base import PaymentProvider
from shopbot.payments.expiry import expire_orders
from shopbot.payments.reconciler import reconcile_pending
from shopbot.services import conversations, reminders, restock, updates
from shopbot.services.outbox import OutboxDelivery

logger = logging.getLogger(__name__)

OUTBOX_INTERVAL = 5.0  # seconds between passes over messages left in the outbox
PRUNE_INTERVAL = 3600.0  # seconds between prunings of handled-update records
LATE_GRACE = 30  # seconds a pass may take beyond its intervals before it counts as late
REMIND_INTERVAL = 60.0  # seconds between looks for unanswered support conversations
RESTOCK_INTERVAL = 30.0  # seconds between looks at favourites back in stock
HANDLED_UPDATES_KEPT = timedelta(days=2)  # Telegram gives up on an update after a day

Job = tuple[str, Callable[[], Awaitable[None]], float]  # name, one pass, seconds between


class BackgroundJobs:
    """Runs :func:`expire_orders` and :func:`reconcile_pending` every
    ``settings.reconcile_interval`` seconds and the outbox's leftovers every
    ``OUTBOX_INTERVAL``, and the other areas' jobs given as ``more`` (the mailings), each
    first right at start. A failing pass is logged and the next
    one runs as usual; a pass another replica is running is skipped."""

    def __init__(
        self,
        settings: Settings,
        session_factory: async_sessionmaker[AsyncSession],
        provider: PaymentProvider,
        delivery: OutboxDelivery,
        more: Sequence[Job] = (),
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._clock = clock  # seconds, for telling a late job
        self._settings = settings
        self._interval = settings.reconcile_interval
        self._session_factory = session_factory
        self._engine = session_factory.kw["bind"]
        self._provider = provider
        self._delivery = delivery
        self._more = list(more)
        self._tasks: list[asyncio.Task[None]] = []
        self._wakes: set[asyncio.Task[None]] = set()
        self._passes: dict[str, _PassRecord] = {}

    def start(self) -> None:
        if self._tasks:
            raise RuntimeError("background jobs are already running")
        schedule = {
            "expire orders": (self._expire, self._interval),
            "reconcile payments": (self._reconcile, self._interval),
            "deliver outbox": (self._deliver, OUTBOX_INTERVAL),
            "prune updates": (self._prune, PRUNE_INTERVAL),
            "remind support": (self.remind_support, REMIND_INTERVAL),
            "watch favourites": (self._watch_favourites, RESTOCK_INTERVAL),
        }
        if self._settings.abandoned_cart_hours:
            schedule["remind forgotten carts"] = (self.remind, reminders.PASS_INTERVAL)
        for name, job, interval in self._more:
            schedule[name] = (job, interval)
        self._passes = {
            name: _PassRecord(interval, started=self._clock())
            for name, (_job, interval) in schedule.items()
        }
        self._tasks = [
            asyncio.create_task(self._every(name, job, self._passes[name]))
            for name, (job, _interval) in schedule.items()
        ]

    def deliver_later(self, ids: list[int], seconds: float) -> None:
        """Deliver these outbox rows in ``seconds``, when their delay ends (unless another
        deliverer took them by then); stopping cancels the wait, the job loop delivers
        them instead."""

        async def wake() -> None:
            await asyncio.sleep(seconds)
            async with self._session_factory() as session:
                await self._delivery.deliver_if_due(session, ids)

        task = asyncio.create_task(wake())
        self._wakes.add(task)
        task.add_done_callback(self._woken)

    def _woken(self, task: asyncio.Task[None]) -> None:
        self._wakes.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.error("a delayed outbox delivery failed", exc_info=task.exception())

    async def stop(self) -> None:
        """Cancel the jobs and wait until they have stopped. A pass in flight is cut short;
        each of its changes is a unit of work of its own, so none is left half-written."""
        tasks, self._tasks = [*self._tasks, *self._wakes], []
        self._wakes = set()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _expire(self) -> None:
        await expire_orders(self._session_factory, self._provider)

    async def _reconcile(self) -> None:
        await reconcile_pending(self._session_factory, self._provider)

    async def _deliver(self) -> None:
        async with self._session_factory() as session:
            await self._delivery.deliver_due(session)

    async def remind(self, now: datetime | None = None) -> None:
        """A pass over forgotten carts at ``now`` (the clock; tests give their own)."""
        settings = self._settings
        if not settings.abandoned_cart_hours:  # turned off in the settings
            return
        async with self._session_factory() as session:
            await reminders.remind_forgotten_carts(
                session,
                now=now or utcnow(),
                idle=timedelta(hours=settings.abandoned_cart_hours),
                quiet=settings.quiet_hours,
                zone=settings.shop_timezone,
            )

    async def _prune(self) -> None:
        async with self._session_factory() as session:
            await updates.forget_before(session, utcnow() - HANDLED_UPDATES_KEPT)

    async def remind_support(self) -> None:
        """Raise again the support conversations nobody answered in time (once each)."""
        settings = self._settings
        async with self._session_factory() as session:
            await conversations.raise_unanswered(
                session,
                utcnow(),
                settings.working_hours,
                settings.shop_timezone,
                settings.support_remind_minutes,
            )

    async def _watch_favourites(self) -> None:
        async with self._session_factory() as session:
            await restock.watch_favourites(session)

    async def run_pass(self, name: str, job: Callable[[], Awaitable[None]]) -> bool:
        """One pass of ``job`` unless another replica is running its pass: True if it ran."""
        async with exclusive(self._engine, f"job:{name}") as held:
            if not held:
                logger.debug("background job %r is running in another replica", name)
                return False
            started = time.perf_counter()
            await job()
            metrics.JOB_SECONDS.labels(name).observe(time.perf_counter() - started)
            metrics.JOB_LAST_SUCCESS.labels(name).set_to_current_time()
            return True

    def problems(self) -> dict[str, str]:
        """Each job that is not keeping up, and why: its last pass failed, or none has ended
        (run here or found running in another replica) for three of its intervals."""
        now = self._clock()
        found = {}
        for name, record in self._passes.items():
            if record.failure is not None:
                found[name] = f"failing: {record.failure}"
            elif now - (record.ended or record.started) > 3 * record.interval + LATE_GRACE:
                found[name] = "late" if record.ended else "first pass not finished"
        return found

    async def _every(
        self, name: str, job: Callable[[], Awaitable[None]], record: _PassRecord
    ) -> None:
        interval = record.interval
        while True:
            try:
                await self.run_pass(name, job)
            except Exception as exc:
                record.failure = " ".join(repr(exc).split())[:200]
                logger.exception("background job %r failed; it runs again in %ss", name, interval)
            else:
                record.ended, record.failure = self._clock(), None
            await asyncio.sleep(interval)


@dataclass
class _PassRecord:
    """How a job's passes go in this process (for ``/readyz``)."""

    interval: float
    started: float  # by the jobs' clock
    ended: float | None = None  # the last pass that ended well
    failure: str | None = None  # why the last pass failed, if it did
