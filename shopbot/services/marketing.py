"""Marketing: who agreed to advertising, and (in later parts) what is sent to them.

Consent first: nobody gets advertising without having said yes. The answer in force is kept
on the user (when and how it was given), every change appended to ``consent_event``. The
shopper is asked once, after their first order (:func:`ask_after_order`); ``/subscribe``
and ``/unsubscribe`` work at any time. Service messages (an order's status, its payment,
the shop's replies) never depend on consent; advertising always does, and never goes to a
shopper who blocked the bot (:func:`advertisable`).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import ColumnElement, and_, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from shopbot.db import unit_of_work
from shopbot.models import ConsentEvent, ConsentSource, OutboxMessage, User, utcnow
from shopbot.services import outbox
from shopbot.services.outbox import Sender, Undeliverable

# Outbox kinds and their payloads.
CONSENT_QUESTION = "consent_question"  # {user_id}: "shall we send news and discounts?"

# The question comes this long after the first order: after the order's own messages (its
# card, the payment link), never between them, while the shopper still has the chat open.
QUESTION_DELAY = timedelta(minutes=1)


def consent_question_key(user_id: int) -> str:
    """The outbox key of a shopper's one :data:`CONSENT_QUESTION`."""
    return f"consent_question:{user_id}"


@dataclass(frozen=True)
class Consent:
    """A shopper's answer in force: ``granted`` is None until they answer."""

    granted: bool | None
    at: datetime | None
    source: ConsentSource | None


async def consent_of(session: AsyncSession, user_id: int) -> Consent:
    row = (
        await session.execute(
            select(
                User.marketing_consent, User.marketing_consent_at, User.marketing_consent_source
            ).where(User.id == user_id)
        )
    ).one_or_none()
    return Consent(*row) if row is not None else Consent(None, None, None)


async def subscribe(session: AsyncSession, user_id: int, source: ConsentSource) -> bool:
    """The shopper agrees to advertising. False: they had already agreed (nothing changes)."""
    return await _answer(session, user_id, granted=True, source=source)


async def unsubscribe(session: AsyncSession, user_id: int, source: ConsentSource) -> bool:
    """The shopper refuses advertising, or takes their consent back. False: they had
    already refused. A "no" before any "yes" counts too: it is an answer, never asked again."""
    return await _answer(session, user_id, granted=False, source=source)


async def _answer(
    session: AsyncSession, user_id: int, *, granted: bool, source: ConsentSource
) -> bool:
    now = utcnow()
    async with unit_of_work(session):
        result = await session.execute(
            update(User)
            .where(
                User.id == user_id,
                or_(User.marketing_consent.is_(None), User.marketing_consent == (not granted)),
            )
            .values(
                marketing_consent=granted,
                marketing_consent_at=now,
                marketing_consent_source=source,
            )
        )
        if result.rowcount != 1:
            return False
        await session.execute(
            insert(ConsentEvent).values(user_id=user_id, at=now, granted=granted, source=source)
        )
    return True


async def ask_after_order(session: AsyncSession, user_id: int) -> bool:
    """In the unit of work placing an order: a shopper never asked, who has not answered
    either (``/subscribe``, ``/unsubscribe``), gets the question :data:`QUESTION_DELAY`
    later, from the outbox. Asked once in a lifetime: an order after that, answered or not,
    asks nothing. Returns whether the question was recorded."""
    result = await session.execute(
        update(User)
        .where(
            User.id == user_id,
            User.consent_asked_at.is_(None),
            User.marketing_consent.is_(None),
        )
        .values(consent_asked_at=utcnow())
    )
    if result.rowcount != 1:
        return False
    await outbox.record(
        session,
        CONSENT_QUESTION,
        {"user_id": user_id},
        key=consent_question_key(user_id),
        delay=QUESTION_DELAY,
    )
    return True


def advertisable() -> ColumnElement[bool]:
    """Who may get advertising: said yes, and can be reached (did not block the bot). Every
    audience of a mailing is this and its own condition."""
    return and_(User.marketing_consent.is_(True), User.is_blocked.is_(False))


async def advertising_audience(session: AsyncSession) -> list[int]:
    """The ids of every shopper who may get advertising, in order."""
    return list(await session.scalars(select(User.id).where(advertisable()).order_by(User.id)))


@dataclass(frozen=True)
class SubscriberFigures:
    """The shop's audience as the owner reads it in ``/stats`` and ``/subscribers``.

    ``subscribers``: said yes and reachable (the advertising audience); ``unreachable``:
    said yes but blocked the bot; ``unsubscribed``: said no or took their yes back;
    ``unanswered``: asked after an order, no answer yet; ``never_asked``: the rest.
    ``by_source``: how the subscribers gave their consent. ``joined`` and ``left``: the
    yeses and noes given since ``since``.
    """

    subscribers: int
    unreachable: int
    unsubscribed: int
    unanswered: int
    never_asked: int
    by_source: dict[ConsentSource, int]
    since: datetime
    joined: int
    left: int


async def subscriber_figures(session: AsyncSession, since: datetime) -> SubscriberFigures:
    rows = await session.execute(
        select(
            User.marketing_consent,
            User.is_blocked,
            User.marketing_consent_source,
            User.consent_asked_at.is_not(None),
            func.count(),
        ).group_by(
            User.marketing_consent,
            User.is_blocked,
            User.marketing_consent_source,
            User.consent_asked_at.is_not(None),
        )
    )
    counts: Counter[str] = Counter()
    by_source: Counter[ConsentSource] = Counter()
    for granted, blocked, source, asked, number in rows:
        if granted and not blocked:
            counts["subscribers"] += number
            by_source[ConsentSource(source)] += number
        elif granted:
            counts["unreachable"] += number
        elif granted is not None:
            counts["unsubscribed"] += number
        else:
            counts["unanswered" if asked else "never_asked"] += number
    changes = dict(
        (
            await session.execute(
                select(ConsentEvent.granted, func.count())
                .where(ConsentEvent.at >= since)
                .group_by(ConsentEvent.granted)
            )
        ).all()
    )
    return SubscriberFigures(
        subscribers=counts["subscribers"],
        unreachable=counts["unreachable"],
        unsubscribed=counts["unsubscribed"],
        unanswered=counts["unanswered"],
        never_asked=counts["never_asked"],
        by_source=dict(by_source),
        since=since,
        joined=int(changes.get(True, 0)),
        left=int(changes.get(False, 0)),
    )


@dataclass(frozen=True)
class ConsentChange:
    """One yes or no, with who gave it (``consent_event``)."""

    at: datetime
    granted: bool
    source: ConsentSource
    user_id: int
    first_name: str
    username: str | None


async def latest_changes(session: AsyncSession, limit: int) -> list[ConsentChange]:
    """The ``limit`` latest yeses and noes, newest first."""
    rows = await session.execute(
        select(
            ConsentEvent.at,
            ConsentEvent.granted,
            ConsentEvent.source,
            User.id,
            User.first_name,
            User.username,
        )
        .join(User, User.id == ConsentEvent.user_id)
        .order_by(ConsentEvent.id.desc())
        .limit(limit)
    )
    return [ConsentChange(*row) for row in rows]


class MarketingNotifier(Protocol):
    """Delivery of the marketing messages of the outbox (the bot layer implements it).
    Methods raise ``outbox.RetryLater`` or ``outbox.Undeliverable``."""

    async def consent_question(self, session: AsyncSession, user_id: int) -> None:
        """Ask the shopper whether to send them news and discounts (nothing if they
        answered meanwhile)."""


def marketing_senders(notifier: MarketingNotifier) -> dict[str, Sender]:
    """The outbox senders of the marketing kinds, by kind (see ``outbox.routed``)."""

    async def question(session: AsyncSession, message: OutboxMessage) -> None:
        user_id = message.payload.get("user_id")
        if not isinstance(user_id, int):
            raise Undeliverable(f"no user in {message.payload!r}")
        await notifier.consent_question(session, user_id)

    return {CONSENT_QUESTION: question}
