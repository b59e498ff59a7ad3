"""Mailings: campaigns the owner composes in their chat, delivered as a durable job.

A campaign is the owner's own message(s) (copied to each recipient), its buttons, and an
audience (:class:`Audience`, always within :func:`marketing.advertisable`). When it is due
(:func:`start_due`), its audience is written down as one ``mailing_recipient`` row per
shopper, and from then on the rows are the job: each is pending until sent, failed or
unreachable, so a restart or a crash continues where it stopped.

The window between Telegram accepting a message and its row being marked sent cannot be
closed: Telegram has no idempotency key and no way to ask whether a message arrived. A row
is therefore *claimed* (``claimed_at``, one commit) right before its request and marked
sent right after; a claim found by the next pass (passes run once across replicas, under
``db.exclusive``, so a claim no pass holds belongs to a pass that died) is counted as failed
"interrupted" and not sent again (:func:`settle_interrupted`). That makes a mailing
at-most-once per shopper: a crash costs at most the messages in flight (one per sender,
never anyone twice, the owner sees them as failed), where resending would give those
shoppers the advertisement twice. Claims are taken only once the send's slot has come
(``send_rate``), so a process waiting for its slot holds none.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    String,
    and_,
    exists,
    func,
    insert,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from shopbot.db import unit_of_work
from shopbot.models import (
    CartLine,
    Category,
    Mailing,
    MailingClick,
    MailingEvent,
    MailingRecipient,
    MailingStatus,
    Order,
    OrderLine,
    Product,
    RecipientStatus,
    User,
    utcnow,
)
from shopbot.services.marketing import advertisable
from shopbot.services.stats import SOLD

MAX_ATTEMPTS = 5  # a recipient is failed after this many 5xx / network errors
BACKOFF_BASE = 2.0  # seconds before the second attempt; doubles each time
BACKOFF_MAX = 60.0
ATTRIBUTION = timedelta(days=7)  # an order this soon after the message counts for it
INTERRUPTED = "interrupted: the process stopped during the send; not sent again"

M = MailingStatus
# Which status each change may come from (compare-and-set).
ALLOWED_FROM = {
    M.SENDING: (M.SCHEDULED, M.PAUSED),
    M.PAUSED: (M.SENDING,),
    M.CANCELLED: (M.SCHEDULED, M.SENDING, M.PAUSED),
    M.DONE: (M.SENDING,),
}


class AudienceKind(enum.StrEnum):
    ALL = "all"
    LANGUAGE = "language"  # value: "ru" or "en"
    CATEGORY = "category"  # value: category id; bought from it (or its subcategories)
    PRODUCT = "product"  # value: product id; bought it
    CART = "cart"  # has something in the cart
    INACTIVE = "inactive"  # value: days; no order placed in that many days
    NEVER_ORDERED = "never"


@dataclass(frozen=True)
class Audience:
    kind: AudienceKind
    value: int | str | None = None

    def as_json(self) -> dict[str, Any]:
        return {"kind": self.kind.value, "value": self.value}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Audience:
        return cls(AudienceKind(data["kind"]), data.get("value"))


class ButtonKind(enum.StrEnum):
    PRODUCT = "product"  # target: product id
    CATEGORY = "category"  # target: category id
    PROMO = "promo"  # target: the code
    LINK = "link"  # target: an https URL (not counted: it leaves Telegram)


@dataclass(frozen=True)
class Button:
    kind: ButtonKind
    label: str
    target: str

    def as_json(self) -> dict[str, str]:
        return {"kind": self.kind.value, "label": self.label, "target": self.target}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Button:
        return cls(ButtonKind(data["kind"]), str(data["label"]), str(data["target"]))


def _bought(condition: ColumnElement[bool]) -> ColumnElement[bool]:
    return exists(
        select(Order.id)
        .join(OrderLine, OrderLine.order_id == Order.id)
        .join(Product, Product.id == OrderLine.product_id)
        .where(Order.user_id == User.id, Order.status.in_(SOLD), condition)
    )


def _placed_since(since: datetime | None) -> ColumnElement[bool]:
    query = select(Order.id).where(Order.user_id == User.id)
    if since is not None:
        query = query.where(Order.created_at >= since)
    return exists(query)


def audience_condition(audience: Audience, now: datetime) -> ColumnElement[bool]:
    """Who the audience is, always within those who may get advertising."""
    kind, value = audience.kind, audience.value
    if kind is AudienceKind.ALL:
        own: ColumnElement[bool] = advertisable()
    elif kind is AudienceKind.LANGUAGE:
        own = User.language == str(value)
    elif kind is AudienceKind.CATEGORY:
        category_ids = select(Category.id).where(
            or_(Category.id == int(str(value)), Category.parent_id == int(str(value)))
        )
        own = _bought(Product.category_id.in_(category_ids))
    elif kind is AudienceKind.PRODUCT:
        own = _bought(Product.id == int(str(value)))
    elif kind is AudienceKind.CART:
        own = exists(select(CartLine.id).where(CartLine.user_id == User.id))
    elif kind is AudienceKind.INACTIVE:
        own = ~_placed_since(now - timedelta(days=int(str(value))))
    else:
        own = ~_placed_since(None)
    return and_(advertisable(), own)


async def audience_size(session: AsyncSession, audience: Audience) -> int:
    condition = audience_condition(audience, utcnow())
    return int(await session.scalar(select(func.count()).select_from(User).where(condition)) or 0)


async def create(
    session: AsyncSession,
    *,
    owner_id: int,
    source_chat_id: int,
    message_ids: list[int],
    buttons: list[Button],
    audience: Audience,
    at: datetime | None = None,
) -> int:
    """The owner confirmed: a scheduled campaign (``at`` None: due now). Returns its id."""
    now = utcnow()
    async with unit_of_work(session):
        mailing_id = await session.scalar(
            insert(Mailing)
            .values(
                status=M.SCHEDULED,
                created_by=owner_id,
                source_chat_id=source_chat_id,
                source_message_ids=message_ids,
                buttons=[button.as_json() for button in buttons],
                audience=audience.as_json(),
                scheduled_at=at or now,
                created_at=now,
                total=0,
            )
            .returning(Mailing.id)
        )
        assert mailing_id is not None
        await session.execute(
            insert(MailingEvent).values(
                mailing_id=mailing_id, at=now, actor=f"admin:{owner_id}", to_status=M.SCHEDULED
            )
        )
    return mailing_id


async def change_status(
    session: AsyncSession, mailing_id: int, to: MailingStatus, actor: str
) -> bool:
    """Pause, resume, cancel or finish: a compare-and-set from the statuses allowed, logged.
    False when the campaign was not in one of them (a stale button, a finished campaign)."""
    async with unit_of_work(session):
        return await _change(session, mailing_id, to, actor)


async def _change(session: AsyncSession, mailing_id: int, to: MailingStatus, actor: str) -> bool:
    allowed = ALLOWED_FROM[to]
    now = utcnow()
    values: dict[str, Any] = {"status": to}
    if to in (M.DONE, M.CANCELLED):
        values["finished_at"] = now
    previous = await session.scalar(
        select(Mailing.status).where(Mailing.id == mailing_id, Mailing.status.in_(allowed))
    )
    if previous is None:
        return False
    result = await session.execute(
        update(Mailing).where(Mailing.id == mailing_id, Mailing.status == previous).values(**values)
    )
    if result.rowcount != 1:
        return False
    await session.execute(
        insert(MailingEvent).values(
            mailing_id=mailing_id, at=now, actor=actor, from_status=previous, to_status=to
        )
    )
    return True


async def start_due(session: AsyncSession) -> list[int]:
    """Campaigns whose time has come start sending: their audience, as it is now, becomes
    the recipient rows (in the same unit as the status change, so a campaign is never
    sending without them). Returns their ids."""
    now = utcnow()
    due = list(
        await session.scalars(
            select(Mailing.id)
            .where(Mailing.status == M.SCHEDULED, Mailing.scheduled_at <= now)
            .order_by(Mailing.id)
        )
    )
    started = []
    for mailing_id in due:
        async with unit_of_work(session):
            if not await _change(session, mailing_id, M.SENDING, "schedule"):
                continue
            audience = Audience.from_json(
                await session.scalar(select(Mailing.audience).where(Mailing.id == mailing_id))
            )
            await session.execute(
                insert(MailingRecipient).from_select(
                    ["mailing_id", "user_id", "status", "attempts"],
                    select(
                        literal(mailing_id, Integer),
                        User.id,
                        literal(RecipientStatus.PENDING.value, String),
                        literal(0, Integer),
                    )
                    .where(audience_condition(audience, now))
                    .order_by(User.id),
                )
            )
            total = await session.scalar(
                select(func.count()).where(MailingRecipient.mailing_id == mailing_id)
            )
            await session.execute(
                update(Mailing)
                .where(Mailing.id == mailing_id)
                .values(total=total or 0, started_at=now)
            )
        started.append(mailing_id)
    return started


async def sending(session: AsyncSession) -> list[Mailing]:
    """The campaigns being sent now, oldest first."""
    return list(
        await session.scalars(
            select(Mailing)
            .where(Mailing.status == M.SENDING)
            .order_by(Mailing.id)
            .execution_options(populate_existing=True)
        )
    )


async def status_of(session: AsyncSession, mailing_id: int) -> MailingStatus | None:
    return await session.scalar(select(Mailing.status).where(Mailing.id == mailing_id))


async def settle_interrupted(session: AsyncSession) -> int:
    """At the start of a pass: the claims a dead pass left behind become failed, not sent
    again (see the module's docstring). Returns how many. Looked for first: with none
    (every pass but one after a crash) no write lock is taken."""
    left = await session.scalar(
        select(
            exists().where(
                MailingRecipient.status == RecipientStatus.PENDING,
                MailingRecipient.claimed_at.is_not(None),
            )
        )
    )
    if not left:
        return 0
    async with unit_of_work(session):
        result = await session.execute(
            update(MailingRecipient)
            .where(
                MailingRecipient.status == RecipientStatus.PENDING,
                MailingRecipient.claimed_at.is_not(None),
            )
            .values(status=RecipientStatus.FAILED, error=INTERRUPTED, claimed_at=None)
        )
    return result.rowcount


async def next_pending(session: AsyncSession, mailing_id: int, limit: int) -> list[tuple[int, int]]:
    """Up to ``limit`` (recipient id, user id) due for a send, in order."""
    now = utcnow()
    rows = await session.execute(
        select(MailingRecipient.id, MailingRecipient.user_id)
        .where(
            MailingRecipient.mailing_id == mailing_id,
            MailingRecipient.status == RecipientStatus.PENDING,
            MailingRecipient.claimed_at.is_(None),
            or_(MailingRecipient.available_at.is_(None), MailingRecipient.available_at <= now),
        )
        .order_by(MailingRecipient.id)
        .limit(limit)
    )
    return [(recipient_id, user_id) for recipient_id, user_id in rows]


async def has_pending(session: AsyncSession, mailing_id: int) -> bool:
    """Any recipient left to send to (some may be waiting for a retry)?"""
    return bool(
        await session.scalar(
            select(
                exists().where(
                    MailingRecipient.mailing_id == mailing_id,
                    MailingRecipient.status == RecipientStatus.PENDING,
                )
            )
        )
    )


async def claim(session: AsyncSession, recipient_id: int) -> bool:
    """Take a recipient for a send that starts now, if the campaign is still sending and
    nobody took it: the claim that makes a crash's window visible (module docstring)."""
    async with unit_of_work(session):
        result = await session.execute(
            update(MailingRecipient)
            .where(
                MailingRecipient.id == recipient_id,
                MailingRecipient.status == RecipientStatus.PENDING,
                MailingRecipient.claimed_at.is_(None),
                exists().where(
                    Mailing.id == MailingRecipient.mailing_id, Mailing.status == M.SENDING
                ),
            )
            .values(claimed_at=utcnow(), attempts=MailingRecipient.attempts + 1)
        )
    return result.rowcount == 1


async def sent(session: AsyncSession, recipient_id: int, message_id: int) -> None:
    await _settle(
        session,
        recipient_id,
        status=RecipientStatus.SENT,
        message_id=message_id,
        sent_at=utcnow(),
        error=None,
    )


async def unreachable(session: AsyncSession, recipient_id: int, error: str) -> None:
    """The shopper blocked the bot or their chat is gone: never tried again (the user is
    marked blocked by the caller, so no later campaign picks them either)."""
    await _settle(session, recipient_id, status=RecipientStatus.UNREACHABLE, error=error[:1000])


async def failed(session: AsyncSession, recipient_id: int, error: str) -> None:
    await _settle(session, recipient_id, status=RecipientStatus.FAILED, error=error[:1000])


async def retry_later(
    session: AsyncSession, recipient_id: int, error: str, *, after: float | None, counts: bool
) -> bool:
    """Back to pending for another attempt (``after`` seconds; else a backoff), or failed
    after :data:`MAX_ATTEMPTS`. A 429 does not count as an attempt (``counts``): it is the
    bot's pace, not this recipient. Returns whether it will be tried again."""
    attempts = await session.scalar(
        select(MailingRecipient.attempts).where(MailingRecipient.id == recipient_id)
    )
    attempts = int(attempts or 0) - (0 if counts else 1)
    if attempts >= MAX_ATTEMPTS:
        await failed(session, recipient_id, f"gave up after {attempts} attempts: {error}")
        return False
    delay = after if after is not None else backoff(attempts)
    await _settle(
        session,
        recipient_id,
        status=RecipientStatus.PENDING,
        attempts=attempts,
        available_at=utcnow() + timedelta(seconds=delay),
        error=error[:1000],
    )
    return True


async def _settle(session: AsyncSession, recipient_id: int, **values: Any) -> None:
    async with unit_of_work(session):
        await session.execute(
            update(MailingRecipient)
            .where(MailingRecipient.id == recipient_id)
            .values(claimed_at=None, **values)
        )


def backoff(attempt: int) -> float:
    """Seconds before attempt ``attempt + 1``: 2, 4, 8 … up to a minute."""
    return float(min(BACKOFF_BASE * 2 ** max(attempt - 1, 0), BACKOFF_MAX))


async def record_click(session: AsyncSession, mailing_id: int, user_id: int, target: str) -> None:
    """A button of a campaign was pressed (an unknown campaign id is ignored: links are
    typed by anyone)."""
    async with unit_of_work(session):
        known = await session.scalar(select(exists().where(Mailing.id == mailing_id)))
        if known:
            await session.execute(
                insert(MailingClick).values(
                    mailing_id=mailing_id, user_id=user_id, at=utcnow(), target=target[:64]
                )
            )


async def set_progress_message(
    session: AsyncSession, mailing_id: int, chat_id: int, message_id: int
) -> None:
    async with unit_of_work(session):
        await session.execute(
            update(Mailing)
            .where(Mailing.id == mailing_id)
            .values(progress_chat_id=chat_id, progress_message_id=message_id)
        )


@dataclass(frozen=True)
class Figures:
    """A campaign as the owner reads it: its delivery, clicks, and what it brought."""

    mailing_id: int
    status: MailingStatus
    created_at: datetime
    scheduled_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    total: int
    sent: int
    unreachable: int
    failed: int
    pending: int
    clicks: int
    clickers: int
    orders: int
    revenue: int

    @property
    def done(self) -> int:
        return self.sent + self.unreachable + self.failed


async def figures(session: AsyncSession, mailing_id: int) -> Figures | None:
    """Delivery counts by status, clicks (presses, and shoppers who pressed), and the orders
    placed by recipients after their message and within :data:`ATTRIBUTION` of the
    campaign's start (paid, confirmed or further: cancelled and unpaid ones bring nothing),
    with their revenue. A shopper in two campaigns that week counts for both."""
    mailing = await session.get(Mailing, mailing_id, populate_existing=True)
    if mailing is None:
        return None
    counts = dict(
        (
            await session.execute(
                select(MailingRecipient.status, func.count())
                .where(MailingRecipient.mailing_id == mailing_id)
                .group_by(MailingRecipient.status)
            )
        ).all()
    )
    clicks, clickers = (
        await session.execute(
            select(func.count(), func.count(func.distinct(MailingClick.user_id))).where(
                MailingClick.mailing_id == mailing_id
            )
        )
    ).one()
    attributed = (
        select(Order.id, Order.total)
        .join(MailingRecipient, MailingRecipient.user_id == Order.user_id)
        .where(
            MailingRecipient.mailing_id == mailing_id,
            MailingRecipient.status == RecipientStatus.SENT,
            Order.created_at >= MailingRecipient.sent_at,
            Order.created_at < (mailing.started_at or mailing.created_at) + ATTRIBUTION,
            Order.status.in_(SOLD),
        )
        .subquery()
    )
    orders, revenue = (
        await session.execute(select(func.count(), func.coalesce(func.sum(attributed.c.total), 0)))
    ).one()
    return Figures(
        mailing_id=mailing.id,
        status=mailing.status,
        created_at=mailing.created_at,
        scheduled_at=mailing.scheduled_at,
        started_at=mailing.started_at,
        finished_at=mailing.finished_at,
        total=mailing.total,
        sent=int(counts.get(RecipientStatus.SENT, 0)),
        unreachable=int(counts.get(RecipientStatus.UNREACHABLE, 0)),
        failed=int(counts.get(RecipientStatus.FAILED, 0)),
        pending=int(counts.get(RecipientStatus.PENDING, 0)),
        clicks=int(clicks),
        clickers=int(clickers),
        orders=int(orders),
        revenue=int(revenue),
    )


async def latest(session: AsyncSession, limit: int) -> list[Figures]:
    """The ``limit`` latest campaigns' figures, newest first (``/mailings``)."""
    ids = list(await session.scalars(select(Mailing.id).order_by(Mailing.id.desc()).limit(limit)))
    found = [await figures(session, mailing_id) for mailing_id in ids]
    return [figure for figure in found if figure is not None]
