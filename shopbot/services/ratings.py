"""Ratings: the shopper is asked, once, how an order went and how support helped.

* An order that reaches its final status (delivered) brings the question "rate order №…"
  (:func:`ask_order_rating`, in the unit of work of that status change).
* A support conversation that is closed brings "rate the help" (:func:`ask_service_rating`,
  called by the conversation-closing use case with the conversation's id, the shopper and
  the staff member who answered: plain integers, the conversations table is not this
  module's).

One question per order or conversation, ever: a unique constraint on (kind, subject). The
answer is one tap (1–5), stored by a conditional update, so a second, late or forged tap
changes nothing; an optional comment follows the same way. A service rating of 1–3 is
relayed to the staff (the staff alert path), and so is its "what went wrong".

Figures for ``/stats`` (:func:`rating_figures`): per period, order ratings (count, average,
share of 4–5) and service ratings (CSAT = share of 4–5, average, per staff member), and the
lowest ratings with their comments (:func:`lowest_ratings`).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy import case, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from shopbot.db import unit_of_work, upsert
from shopbot.models import Order, OutboxMessage, Rating, RatingKind, User, utcnow
from shopbot.services import outbox
from shopbot.services.outbox import Sender, Undeliverable

# Outbox kinds and their payloads.
RATING_QUESTION = "rating_question"  # {rating_id}: "rate …", 1–5 buttons, to the shopper
LOW_RATING = "low_rating"  # {rating_id, comment: bool}: a service rating of 1–3, to the staff

SCORES = range(1, 6)
GOOD = 4  # 4 and 5 are satisfied (CSAT counts them)
LOW = 3  # a service rating at most this asks "what went wrong?" and alerts the staff
COMMENT_LIMIT = 1000  # characters of a comment kept


class Outcome(enum.Enum):
    """What became of a tap or a comment."""

    DONE = "done"
    ALREADY = "already"  # answered before: nothing changes
    NOT_FOUND = "not_found"  # no such question for this shopper (forged, or someone else's)


@dataclass(frozen=True)
class Answer:
    outcome: Outcome
    rating: Rating | None = None

    @property
    def asks_comment(self) -> bool:
        """Does the shop ask for a comment after this score? Order ratings: always
        (optional); service ratings: for 1–3 ("what went wrong?")."""
        rating = self.rating
        if self.outcome is not Outcome.DONE or rating is None or rating.score is None:
            return False
        return rating.kind is RatingKind.ORDER or rating.score <= LOW


async def ask_order_rating(session: AsyncSession, order_id: int, user_id: int) -> bool:
    """In the unit of work delivering an order: its shopper gets the question from the
    outbox. Once per order, ever. Returns whether it was asked here."""
    return await _ask(session, RatingKind.ORDER, order_id, user_id, None)


async def ask_service_rating(
    session: AsyncSession, conversation_id: int, user_id: int, staff_id: int | None
) -> bool:
    """A support conversation was closed: ask its shopper to rate the help of ``staff_id``
    (who answered; None if nobody did). Joins the caller's unit of work, or is one. Once per
    conversation, ever. Returns whether it was asked here."""
    async with unit_of_work(session):
        return await _ask(session, RatingKind.SERVICE, conversation_id, user_id, staff_id)


async def _ask(
    session: AsyncSession, kind: RatingKind, subject_id: int, user_id: int, staff_id: int | None
) -> bool:
    rating_id = await session.scalar(
        upsert(session, Rating)
        .values(
            kind=kind, subject_id=subject_id, user_id=user_id, staff_id=staff_id, asked_at=utcnow()
        )
        .on_conflict_do_nothing(index_elements=[Rating.kind, Rating.subject_id])
        .returning(Rating.id)
    )
    if rating_id is None:
        return False
    await outbox.record(
        session, RATING_QUESTION, {"rating_id": rating_id}, key=f"rating_question:{rating_id}"
    )
    return True


async def rate(session: AsyncSession, rating_id: int, user_id: int, score: int) -> Answer:
    """The shopper tapped ``score``: kept if this question is theirs and still unanswered."""
    if score not in SCORES:
        raise ValueError(f"a score is 1 to 5, not {score}")
    async with unit_of_work(session):
        rated = await session.scalar(
            update(Rating)
            .where(Rating.id == rating_id, Rating.user_id == user_id, Rating.score.is_(None))
            .values(score=score, rated_at=utcnow())
            .returning(Rating)
            .execution_options(populate_existing=True)
        )
        if rated is None:
            return await _not_done(session, rating_id, user_id)
        if rated.kind is RatingKind.SERVICE and score <= LOW:
            await outbox.record(
                session,
                LOW_RATING,
                {"rating_id": rating_id, "comment": False},
                key=f"low_rating:{rating_id}",
            )
    return Answer(Outcome.DONE, rated)


async def comment(session: AsyncSession, rating_id: int, user_id: int, text: str) -> Answer:
    """The shopper's words after their score (once; cut at :data:`COMMENT_LIMIT`). Those of
    a low service rating go to the staff."""
    words = text.strip()[:COMMENT_LIMIT]
    if not words:
        raise ValueError("an empty comment")
    async with unit_of_work(session):
        commented = await session.scalar(
            update(Rating)
            .where(
                Rating.id == rating_id,
                Rating.user_id == user_id,
                Rating.score.is_not(None),
                Rating.comment.is_(None),
            )
            .values(comment=words, commented_at=utcnow())
            .returning(Rating)
            .execution_options(populate_existing=True)
        )
        if commented is None:
            return await _not_done(session, rating_id, user_id)
        assert commented.score is not None
        if commented.kind is RatingKind.SERVICE and commented.score <= LOW:
            await outbox.record(
                session,
                LOW_RATING,
                {"rating_id": rating_id, "comment": True},
                key=f"low_rating_comment:{rating_id}",
            )
    return Answer(Outcome.DONE, commented)


async def _not_done(session: AsyncSession, rating_id: int, user_id: int) -> Answer:
    rating = await rating_of(session, rating_id, user_id)
    return Answer(Outcome.NOT_FOUND if rating is None else Outcome.ALREADY, rating)


async def rating_of(session: AsyncSession, rating_id: int, user_id: int) -> Rating | None:
    """The question ``rating_id`` if it was asked of ``user_id``."""
    return await session.scalar(
        select(Rating)
        .where(Rating.id == rating_id, Rating.user_id == user_id)
        .execution_options(populate_existing=True)
    )


async def order_number(session: AsyncSession, rating: Rating) -> str | None:
    """The number of the order an order rating is about."""
    if rating.kind is not RatingKind.ORDER:
        return None
    return await session.scalar(select(Order.number).where(Order.id == rating.subject_id))


@dataclass(frozen=True)
class Summary:
    """Ratings given in a period: how many, their average, the share of 4–5."""

    count: int
    average: float
    good_share: float  # 0..1; for service ratings this is the CSAT


@dataclass(frozen=True)
class StaffSummary:
    staff_id: int
    name: str | None  # their first name, if they ever wrote to the bot
    summary: Summary


@dataclass(frozen=True)
class RatingFigures:
    since: datetime
    orders: Summary
    service: Summary
    by_staff: list[StaffSummary]


def _summary(count: object, average: object, good: object) -> Summary:
    number = int(count or 0)
    return Summary(number, float(average or 0.0), (int(good or 0) / number) if number else 0.0)


def _figures_columns() -> tuple:
    return (
        func.count(Rating.score),
        func.avg(Rating.score),
        func.sum(case((Rating.score >= GOOD, 1), else_=0)),
    )


async def rating_figures(session: AsyncSession, since: datetime) -> RatingFigures:
    """The ratings given since ``since`` (by when the shopper tapped)."""
    given = Rating.rated_at >= since
    by_kind = {
        RatingKind(kind): _summary(*rest)
        for kind, *rest in await session.execute(
            select(Rating.kind, *_figures_columns()).where(given).group_by(Rating.kind)
        )
    }
    staff = aliased(User)
    rows = await session.execute(
        select(Rating.staff_id, func.max(staff.first_name), *_figures_columns())
        .outerjoin(staff, staff.id == Rating.staff_id)
        .where(given, Rating.kind == RatingKind.SERVICE, Rating.staff_id.is_not(None))
        .group_by(Rating.staff_id)
        .order_by(Rating.staff_id)
    )
    empty = Summary(0, 0.0, 0.0)
    return RatingFigures(
        since=since,
        orders=by_kind.get(RatingKind.ORDER, empty),
        service=by_kind.get(RatingKind.SERVICE, empty),
        by_staff=[StaffSummary(staff_id, name, _summary(*rest)) for staff_id, name, *rest in rows],
    )


@dataclass(frozen=True)
class RatedItem:
    """One rating as the owner reads it among the lowest."""

    kind: RatingKind
    subject_id: int
    order_number: str | None
    score: int
    comment: str | None
    rated_at: datetime
    user_id: int
    shopper: str
    staff_id: int | None


async def lowest_ratings(session: AsyncSession, since: datetime, limit: int) -> list[RatedItem]:
    """The ``limit`` lowest ratings given since ``since``, lowest first, newest first
    within a score; 4 and 5 are not "low" and are left out."""
    rows = await session.execute(
        select(
            Rating.kind,
            Rating.subject_id,
            Order.number,
            Rating.score,
            Rating.comment,
            Rating.rated_at,
            Rating.user_id,
            User.first_name,
            Rating.staff_id,
        )
        .join(User, User.id == Rating.user_id)
        .outerjoin(Order, (Order.id == Rating.subject_id) & (Rating.kind == RatingKind.ORDER))
        .where(Rating.rated_at >= since, Rating.score < GOOD)
        .order_by(Rating.score, Rating.rated_at.desc(), Rating.id.desc())
        .limit(limit)
    )
    return [RatedItem(*row) for row in rows]


class RatingNotifier(Protocol):
    """Delivery of the rating messages of the outbox (the bot layer implements it).
    Methods raise ``outbox.RetryLater`` or ``outbox.Undeliverable``."""

    async def rating_question(self, session: AsyncSession, rating_id: int) -> None:
        """Ask the shopper for their 1–5 (nothing if they answered meanwhile)."""

    async def low_rating(self, session: AsyncSession, rating_id: int, with_comment: bool) -> None:
        """Tell the staff of a service rating of 1–3, or of what the shopper wrote about it."""


def rating_senders(notifier: RatingNotifier) -> dict[str, Sender]:
    """The outbox senders of the rating kinds, by kind (see ``outbox.routed``)."""

    def rating_id_of(message: OutboxMessage) -> int:
        rating_id = message.payload.get("rating_id")
        if not isinstance(rating_id, int):
            raise Undeliverable(f"no rating in {message.payload!r}")
        return rating_id

    async def question(session: AsyncSession, message: OutboxMessage) -> None:
        await notifier.rating_question(session, rating_id_of(message))

    async def low(session: AsyncSession, message: OutboxMessage) -> None:
        await notifier.low_rating(
            session, rating_id_of(message), bool(message.payload.get("comment"))
        )

    return {RATING_QUESTION: question, LOW_RATING: low}
