"""The transactional outbox: messages to people are recorded in the unit of work that makes
the change they tell of, and delivered after it commits.

So a rolled-back change tells nobody, and a crash after the commit loses nothing: the
unit's own commit hook delivers its messages at once (``db.CommitHooks.deliver``), and
:meth:`OutboxDelivery.deliver_due` (the job loop) delivers whatever is left after a crash or
a failed attempt. A row is claimed with a conditional update before it is sent, so two
deliverers (the commit hook and the job, or two processes) never send it both; the only
window for a repeat is a crash between Telegram's answer and the row being marked sent.

Senders (the bot layer) raise :class:`RetryLater` for failures worth another attempt
(Telegram's 429 with its ``retry_after``, 5xx, the network) and :class:`Undeliverable` when
the message can never arrive (the person blocked the bot, the chat is gone).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from shopbot.db import changes_of, unit_of_work, upsert
from shopbot.models import OutboxMessage, utcnow

log = logging.getLogger(__name__)

CLAIM_LEASE = timedelta(minutes=2)  # longer than any one send, with Telegram's retries
MAX_ATTEMPTS = 8
BACKOFF_BASE = 5.0  # seconds; doubles per attempt
BACKOFF_MAX = 3600.0
BATCH = 100
# A delay up to this long is also woken for by the process that recorded it, when it is due
# (the job loop, which passes every few seconds, delivers it if that process died).
WAKE_WITHIN = timedelta(seconds=30)


class RetryLater(Exception):
    """The message could not be delivered now; ``after`` seconds if the other side said."""

    def __init__(self, reason: str, after: float | None = None) -> None:
        super().__init__(reason)
        self.after = after


class Undeliverable(Exception):
    """The message can never be delivered (blocked bot, deleted chat): do not try again."""


Sender = Callable[[AsyncSession, OutboxMessage], Awaitable[None]]


def routed(senders: Mapping[str, Sender], otherwise: Sender) -> Sender:
    """One sender for the outbox: the kinds in ``senders`` go to theirs, the rest to
    ``otherwise`` (each area of the shop delivers its own messages)."""

    async def send(session: AsyncSession, message: OutboxMessage) -> None:
        await senders.get(message.kind, otherwise)(session, message)

    return send


async def record(
    session: AsyncSession,
    kind: str,
    payload: dict[str, Any],
    *,
    key: str | None = None,
    grace: timedelta | None = None,
    delay: timedelta | None = None,
) -> None:
    """Record a message in the open unit of work. With ``key``, an event already recorded
    under it is not recorded again (a provider repeating its report, a redelivered update).

    With ``grace``, the job loop leaves the message alone for that long: the live process
    delivers it right after the commit, and the job only steps in if that process died
    (a payment link must not be created by two deliverers racing for it). With ``delay``,
    nobody delivers it before that time: not the commit; the job loop once it is due, and
    for a delay of up to :data:`WAKE_WITHIN` this process too, right when it is due."""
    changes = changes_of(session)
    values: dict[str, Any] = {"kind": kind, "payload": payload, "dedupe_key": key, "attempts": 0}
    wait = delay if delay is not None else grace
    if wait is not None:
        values["available_at"] = utcnow() + wait
    statement = upsert(session, OutboxMessage).values(**values)
    if key is not None:
        statement = statement.on_conflict_do_nothing(index_elements=[OutboxMessage.dedupe_key])
    message_id = await session.scalar(statement.returning(OutboxMessage.id))
    if message_id is not None and delay is None:
        changes.outbox_ids.append(message_id)
    elif message_id is not None and delay is not None and delay <= WAKE_WITHIN:
        changes.outbox_soon.append((message_id, delay.total_seconds()))


async def settle(session: AsyncSession, key: str) -> bool:
    """The message recorded under ``key`` was made unnecessary by other means (the person
    got what it carries another way): it is not delivered, unless a deliverer holds it
    already. Returns whether it was settled here."""
    now = utcnow()
    async with unit_of_work(session):
        result = await session.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.dedupe_key == key,
                OutboxMessage.sent_at.is_(None),
                OutboxMessage.given_up_at.is_(None),
                or_(OutboxMessage.claimed_until.is_(None), OutboxMessage.claimed_until < now),
            )
            .values(sent_at=now, last_error="settled: delivered another way")
        )
    return result.rowcount == 1


async def reclaim(session: AsyncSession, ids: Sequence[int]) -> None:
    """These rows' deliverer is known to be gone (the update that recorded them died and
    came again): free them from its claim and its grace, for delivery now rather than when
    those run out."""
    async with unit_of_work(session):
        await session.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.id.in_(ids),
                OutboxMessage.sent_at.is_(None),
                OutboxMessage.given_up_at.is_(None),
            )
            .values(claimed_until=None, available_at=utcnow())
        )


class OutboxDelivery:
    """Delivers outbox rows through ``send``, each at most once, retrying with backoff."""

    def __init__(self, send: Sender, *, max_attempts: int = MAX_ATTEMPTS) -> None:
        self._send = send
        self._max_attempts = max_attempts

    async def deliver(self, session: AsyncSession, ids: Sequence[int]) -> int:
        """Deliver these rows, just recorded by a unit that committed (those no one else has
        claimed; a grace does not hold them back); returns how many were sent."""
        return await self._deliver(session, OutboxMessage.id.in_(ids), own=True)

    async def deliver_if_due(self, session: AsyncSession, ids: Sequence[int]) -> int:
        """Deliver these rows if they are due and no one else has claimed them."""
        return await self._deliver(session, OutboxMessage.id.in_(ids))

    async def deliver_due(self, session: AsyncSession) -> int:
        """Deliver every row that is due (left over after a crash, or waiting to be retried)."""
        sent = 0
        while True:
            batch = await self._deliver(session, None, limit=BATCH)
            sent += batch
            if batch < BATCH:
                return sent

    async def _deliver(
        self, session: AsyncSession, which: Any, *, limit: int = BATCH, own: bool = False
    ) -> int:
        messages = await self._claim(session, which, limit, own=own)
        sent = 0
        for message in messages:
            if await self._send_one(session, message):
                sent += 1
        return sent

    async def _claim(
        self, session: AsyncSession, which: Any, limit: int, *, own: bool = False
    ) -> list[OutboxMessage]:
        now = utcnow()
        available = OutboxMessage.available_at <= now
        if own:  # never tried yet: its grace is for the job loop, not for its own unit
            available = or_(available, OutboxMessage.attempts == 0)
        due = and_(
            OutboxMessage.sent_at.is_(None),
            OutboxMessage.given_up_at.is_(None),
            available,
            or_(OutboxMessage.claimed_until.is_(None), OutboxMessage.claimed_until < now),
        )
        if which is not None:
            due = and_(due, which)
        # Looked for outside the unit: with nothing due (most passes) no write lock is taken.
        ids = list(
            await session.scalars(
                select(OutboxMessage.id).where(due).order_by(OutboxMessage.id).limit(limit)
            )
        )
        if not ids:
            return []
        async with unit_of_work(session):
            claimed = await session.scalars(
                update(OutboxMessage)
                .where(OutboxMessage.id.in_(ids), due)
                .values(claimed_until=now + CLAIM_LEASE, attempts=OutboxMessage.attempts + 1)
                .returning(OutboxMessage)
                .execution_options(populate_existing=True)
            )
            return sorted(claimed, key=lambda message: message.id)

    async def _send_one(self, session: AsyncSession, message: OutboxMessage) -> bool:
        try:
            await self._send(session, message)
        except RetryLater as exc:
            await self._retry_or_give_up(session, message, exc)
            return False
        except Undeliverable as exc:
            log.info("outbox message %s (%s) undeliverable: %s", message.id, message.kind, exc)
            await self._end(session, message, given_up=True, error=str(exc))
            return False
        except Exception as exc:  # a bug or an unexpected answer: retried, then given up
            log.exception("outbox message %s (%s) failed", message.id, message.kind)
            await self._retry_or_give_up(session, message, RetryLater(repr(exc)))
            return False
        await self._end(session, message, given_up=False, error=None)
        return True

    async def _retry_or_give_up(
        self, session: AsyncSession, message: OutboxMessage, exc: RetryLater
    ) -> None:
        if message.attempts >= self._max_attempts:
            log.warning("outbox message %s given up after %s attempts", message.id, exc)
            await self._end(session, message, given_up=True, error=str(exc))
            return
        delay = exc.after if exc.after is not None else backoff(message.attempts)
        async with unit_of_work(session):
            await session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id == message.id)
                .values(
                    available_at=utcnow() + timedelta(seconds=delay),
                    claimed_until=None,
                    last_error=str(exc)[:1000],
                )
            )

    async def _end(
        self, session: AsyncSession, message: OutboxMessage, *, given_up: bool, error: str | None
    ) -> None:
        column = "given_up_at" if given_up else "sent_at"
        values: dict[str, datetime | str | None] = {column: utcnow(), "claimed_until": None}
        if error is not None:
            values["last_error"] = error[:1000]
        async with unit_of_work(session):
            await session.execute(
                update(OutboxMessage).where(OutboxMessage.id == message.id).values(**values)
            )


def backoff(attempt: int) -> float:
    """Seconds before attempt ``attempt + 1``: 5, 10, 20 … up to an hour."""
    return float(min(BACKOFF_BASE * 2 ** max(attempt - 1, 0), BACKOFF_MAX))
