"""Forgotten carts: one reminder to a subscriber whose cart sat unchanged.

A pass (:func:`remind_forgotten_carts`, a background job run under ``db.exclusive`` so
one replica runs it) looks at the carts of those who may get advertising
(``marketing.advertisable``: said yes, did not block the bot). Each cart's state is a digest
of its lines (product and quantity); ``cart_watch`` keeps the state the pass last saw and
since when. A cart first seen dates from its newest line; a change the pass sees (a line
added, removed, a quantity changed) dates from that pass — so a reminder may come up to
one pass interval late, never early. A cart unchanged for ``ABANDONED_CART_HOURS``, whose
shopper has placed no order since, gets one reminder per state: the watch row is claimed
with a conditional update and ``cart_reminder`` holds one row per (shopper, state since).
A cart changed after its reminder is a new state and may be reminded again, once it has sat
for the hours in turn. No reminder is recorded in ``QUIET_HOURS`` on the shop's clock: the
first pass after they end sends what came due meanwhile.

The message itself (the cart with today's prices and stock, a button to the cart,
"Unsubscribe") is rendered when it is delivered from the outbox: not at all if the shopper
unsubscribed, blocked the bot or changed the cart meanwhile.

The owner turns reminders off with ``ABANDONED_CART_HOURS=0`` or, in the chat,
``/reminders off`` (a shop preference). ``/stats`` counts the reminders delivered and those
followed by an order placed by the same shopper within :data:`ORDER_WINDOW` (72 hours) of
the reminder, whatever became of that order.
"""

from __future__ import annotations

import hashlib
import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, time, timedelta, tzinfo
from typing import Protocol

from sqlalchemy import bindparam, delete, exists, func, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from shopbot.db import unit_of_work, upsert
from shopbot.models import (
    CartLine,
    CartReminder,
    CartWatch,
    Order,
    OutboxMessage,
    ShopPreference,
    User,
    utcnow,
)
from shopbot.services import outbox
from shopbot.services.marketing import advertisable
from shopbot.services.outbox import Sender, Undeliverable

# Outbox kind and its payload.
CART_REMINDER = "cart_reminder"  # {reminder_id}: the forgotten cart, to the shopper

ORDER_WINDOW = timedelta(hours=72)  # an order this soon after a reminder counts as led by it
PASS_INTERVAL = 600.0  # seconds between passes of the job
RECORD_BATCH = 100  # reminders recorded per unit of work
LATE = timedelta(minutes=10)  # delivered this long after its pass: a retry, not on time
PAUSED = "cart_reminders_paused"  # shop preference: "yes" while the owner turned them off

_CLOCK = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


@dataclass(frozen=True)
class QuietHours:
    """Hours of the shop's clock when no advertising is sent, e.g. 22:00-09:00 (over
    midnight). Equal ends: never quiet."""

    start: time
    end: time

    @classmethod
    def parse(cls, text: str) -> QuietHours:
        found = _CLOCK.match(text)
        if found is None:
            raise ValueError(f"{text!r} is not HH:MM-HH:MM")
        start_hour, start_minute, end_hour, end_minute = (int(part) for part in found.groups())
        try:
            return cls(time(start_hour, start_minute), time(end_hour, end_minute))
        except ValueError:
            raise ValueError(f"{text!r} is not HH:MM-HH:MM") from None

    def __str__(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"

    def holds(self, moment: datetime, zone: tzinfo) -> bool:
        """Is ``moment`` within the quiet hours on the clock of ``zone``?"""
        local = moment.astimezone(zone).time()
        if self.start == self.end:
            return False
        if self.start < self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end

    def seconds_left(self, moment: datetime, zone: tzinfo) -> float:
        """Seconds from ``moment`` to the end of the quiet hours it falls in (0 outside)."""
        if not self.holds(moment, zone):
            return 0.0
        local = moment.astimezone(zone)
        end = datetime.combine(local.date(), self.end, local.tzinfo)
        if end <= local:
            end += timedelta(days=1)
        return (end - local).total_seconds()


def cart_state(lines: list[tuple[int, int]]) -> str:
    """The digest of a cart's (product id, quantity) lines, in any order."""
    text = ",".join(f"{product}:{quantity}" for product, quantity in sorted(lines))
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


async def paused(session: AsyncSession) -> bool:
    """Has the owner turned reminders off in the chat?"""
    value = await session.scalar(select(ShopPreference.value).where(ShopPreference.key == PAUSED))
    return value == "yes"


async def set_paused(session: AsyncSession, off: bool) -> None:
    """The owner turns reminders off (``off``) or on again."""
    value = "yes" if off else "no"
    async with unit_of_work(session):
        await session.execute(
            upsert(session, ShopPreference)
            .values(key=PAUSED, value=value, updated_at=utcnow())
            .on_conflict_do_update(
                index_elements=[ShopPreference.key], set_={"value": value, "updated_at": utcnow()}
            )
        )


@dataclass(frozen=True)
class _Seen:
    state: str
    newest_line: datetime


async def remind_forgotten_carts(
    session: AsyncSession,
    *,
    now: datetime,
    idle: timedelta,
    quiet: QuietHours,
    zone: tzinfo,
) -> int:
    """One pass at ``now`` (the injectable clock): watch the subscribers' carts, and record
    a reminder for each cart unchanged for ``idle`` whose shopper ordered nothing since —
    unless ``now`` is within ``quiet`` on ``zone``'s clock, or the owner turned reminders
    off. Returns how many reminders were recorded (each is delivered from the outbox)."""
    if await paused(session):
        return 0
    seen = await _subscribers_carts(session)
    watched = {
        user_id: (state, since, reminded_at)
        for user_id, state, since, reminded_at in await session.execute(
            select(CartWatch.user_id, CartWatch.state, CartWatch.since, CartWatch.reminded_at)
        )
    }
    # An emptied cart (an order placed): the next one is watched afresh.
    emptied = list(
        await session.scalars(
            select(CartWatch.user_id).where(~exists().where(CartLine.user_id == CartWatch.user_id))
        )
    )
    new: dict[int, _Seen] = {}
    changed: dict[int, tuple[str, str]] = {}  # user: (the state watched, the state now)
    due: dict[int, tuple[str, datetime]] = {}
    for user_id, cart in seen.items():
        if user_id not in watched:
            new[user_id] = cart
            since, reminded = cart.newest_line, False
        elif watched[user_id][0] != cart.state:
            changed[user_id] = (watched[user_id][0], cart.state)
            since, reminded = now, False
        else:
            since, reminded = watched[user_id][1], watched[user_id][2] is not None
        if not reminded and since <= now - idle:
            due[user_id] = (cart.state, since)
    if emptied or new or changed:  # a pass that sees no change writes nothing
        watch = CartWatch.__table__
        async with unit_of_work(session):
            await session.execute(delete(CartWatch).where(CartWatch.user_id.in_(emptied)))
            if new:
                await session.execute(
                    upsert(session, watch).on_conflict_do_nothing(index_elements=["user_id"]),
                    [
                        {"user_id": user_id, "state": cart.state, "since": cart.newest_line}
                        for user_id, cart in new.items()
                    ],
                )
            if changed:
                await session.execute(
                    watch.update()
                    .where(
                        watch.c.user_id == bindparam("watched_user"),
                        watch.c.state == bindparam("watched_state"),
                    )
                    .values(state=bindparam("new_state"), since=now, reminded_at=None),
                    [
                        {"watched_user": user_id, "watched_state": old, "new_state": state}
                        for user_id, (old, state) in changed.items()
                    ],
                )
    if not due or quiet.holds(now, zone):
        return 0
    last_orders = dict(
        (
            await session.execute(
                select(Order.user_id, func.max(Order.created_at))
                .where(Order.user_id.in_(list(due)))
                .group_by(Order.user_id)
            )
        ).all()
    )
    wanted = [
        (user_id, state, since)
        for user_id, (state, since) in due.items()
        if (last := last_orders.get(user_id)) is None or last < since
    ]
    recorded = 0
    for start in range(0, len(wanted), RECORD_BATCH):
        recorded += await _record(session, wanted[start : start + RECORD_BATCH], now)
    return recorded


async def _subscribers_carts(session: AsyncSession) -> dict[int, _Seen]:
    rows = await session.execute(
        select(CartLine.user_id, CartLine.product_id, CartLine.quantity, CartLine.added_at)
        .join(User, User.id == CartLine.user_id)
        .where(advertisable())
    )
    lines: dict[int, list[tuple[int, int]]] = defaultdict(list)
    newest: dict[int, datetime] = {}
    for user_id, product_id, quantity, added_at in rows:
        lines[user_id].append((product_id, quantity))
        newest[user_id] = max(added_at, newest.get(user_id, added_at))
    return {user_id: _Seen(cart_state(cart), newest[user_id]) for user_id, cart in lines.items()}


async def _record(
    session: AsyncSession, carts: list[tuple[int, str, datetime]], now: datetime
) -> int:
    """Claim each cart's state for its one reminder and put the reminder in the outbox, in
    one unit of work; returns how many were claimed here (not by another pass, the cart not
    changed meanwhile)."""
    async with unit_of_work(session):
        claimed = set(
            await session.scalars(
                update(CartWatch)
                .where(
                    tuple_(CartWatch.user_id, CartWatch.state).in_(
                        [(user_id, state) for user_id, state, _since in carts]
                    ),
                    CartWatch.reminded_at.is_(None),
                )
                .values(reminded_at=now)
                .returning(CartWatch.user_id)
            )
        )
        rows = [
            {"user_id": user_id, "cart_state": state, "cart_since": since, "recorded_at": now}
            for user_id, state, since in carts
            if user_id in claimed
        ]
        if not rows:
            return 0
        table = CartReminder.__table__
        reminder_ids = list(
            await session.scalars(
                upsert(session, table)
                .on_conflict_do_nothing(index_elements=["user_id", "cart_since"])
                .returning(table.c.id),
                rows,
            )
        )
        for reminder_id in reminder_ids:
            await outbox.record(
                session,
                CART_REMINDER,
                {"reminder_id": reminder_id},
                key=f"cart_reminder:{reminder_id}",
            )
    return len(reminder_ids)


def seconds_to_wait(recorded_at: datetime, now: datetime, quiet: QuietHours, zone: tzinfo) -> float:
    """How long a reminder delivered at ``now`` must still wait. The pass records one only
    outside the quiet hours (on its own clock), so a delivery soon after is on time; a late
    one (a retry after Telegram or the process was down) waits for the quiet hours' end."""
    if now - recorded_at < LATE:
        return 0.0
    return quiet.seconds_left(now, zone)


async def still_due(session: AsyncSession, reminder_id: int) -> CartReminder | None:
    """The reminder to send, at delivery time: None if it is no longer wanted (they
    unsubscribed, blocked the bot, changed or emptied the cart meanwhile)."""
    reminder = await session.get(CartReminder, reminder_id, populate_existing=True)
    if reminder is None or reminder.sent_at is not None:  # sent: a retry must not send again
        return None
    allowed = await session.scalar(
        select(User.id).where(User.id == reminder.user_id, advertisable())
    )
    if allowed is None:
        return None
    lines = (
        await session.execute(
            select(CartLine.product_id, CartLine.quantity).where(
                CartLine.user_id == reminder.user_id
            )
        )
    ).all()
    if not lines or cart_state([tuple(line) for line in lines]) != reminder.cart_state:
        return None
    return reminder


async def mark_sent(session: AsyncSession, reminder_id: int) -> None:
    """Telegram took the reminder: it counts in ``/stats``."""
    async with unit_of_work(session):
        await session.execute(
            update(CartReminder)
            .where(CartReminder.id == reminder_id, CartReminder.sent_at.is_(None))
            .values(sent_at=utcnow())
        )


@dataclass(frozen=True)
class ReminderFigures:
    """Reminders delivered since ``since``, and how many were followed by an order."""

    since: datetime
    sent: int
    led_to_order: int


async def reminder_figures(session: AsyncSession, since: datetime) -> ReminderFigures:
    sent = (
        await session.execute(
            select(CartReminder.user_id, CartReminder.sent_at).where(CartReminder.sent_at >= since)
        )
    ).all()
    if not sent:
        return ReminderFigures(since, 0, 0)
    placed: dict[int, list[datetime]] = defaultdict(list)
    for user_id, created_at in await session.execute(
        select(Order.user_id, Order.created_at).where(
            Order.user_id.in_(sorted({user_id for user_id, _ in sent})),
            Order.created_at >= min(at for _, at in sent),
        )
    ):
        placed[user_id].append(created_at)
    led = sum(
        1
        for user_id, at in sent
        if any(at <= created <= at + ORDER_WINDOW for created in placed[user_id])
    )
    return ReminderFigures(since, len(sent), led)


class ReminderNotifier(Protocol):
    """Delivery of the forgotten-cart reminders of the outbox (the bot layer implements
    it). Raises ``outbox.RetryLater`` or ``outbox.Undeliverable``."""

    async def cart_reminder(self, session: AsyncSession, reminder_id: int) -> None:
        """Show the shopper their cart as it is now, with a button to it and
        "Unsubscribe" (nothing if :func:`still_due` says it is no longer wanted)."""


def reminder_senders(notifier: ReminderNotifier) -> dict[str, Sender]:
    """The outbox sender of the reminders, by kind (see ``outbox.routed``)."""

    async def reminder(session: AsyncSession, message: OutboxMessage) -> None:
        reminder_id = message.payload.get("reminder_id")
        if not isinstance(reminder_id, int):
            raise Undeliverable(f"no reminder in {message.payload!r}")
        await notifier.cart_reminder(session, reminder_id)

    return {CART_REMINDER: reminder}
