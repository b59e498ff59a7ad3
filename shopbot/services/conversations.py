"""Conversations between a shopper and the shop's staff (the hand-off to a person).

A conversation is opened by the shopper (after choosing a subject) or by staff from an
order; at most one is open per shopper. Every message either side sends while it is open
is recorded as a :class:`SupportMessage` row in the unit of work that takes it, and the
outbox's :data:`SUPPORT_RELAY` message for the conversation relays the pending rows in the
order they came (the bot layer copies them); the row keeps the counterpart's id, so replies
and edits find it after a restart. An album comes as one message per item (one
``media_group_id``): each item is a row as it comes, and the album is relayed as one, once
no item has come for :data:`ALBUM_WAIT` (its rows' relay is recorded with that delay, so
whichever process is alive then relays it). Status changes are compare-and-set with an event in
``support_event``. :func:`close` is the "conversation closed" point: it returns who the
shopper was and which staff answered.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from shopbot.db import unit_of_work
from shopbot.models import (
    ConversationStatus,
    Order,
    RelayDirection,
    SupportConversation,
    SupportEvent,
    SupportMessage,
    SupportStaff,
    SupportSubject,
    SupportTopic,
    utcnow,
)
from shopbot.services import outbox, ratings
from shopbot.services.support_hours import WorkingHours

# Outbox kinds, each {conversation_id}.
SUPPORT_RELAY = "support_relay"  # the card (first) and the pending messages, in order
SUPPORT_CLOSED = "support_closed"  # tell both sides the conversation ended
SUPPORT_REMINDER = "support_reminder"  # no staff reply for too long: raise it again

RELAY_LEASE = timedelta(minutes=2)  # a relaying process holds a row this long at most
# An album is complete when no item of it has come for this long (Telegram sends its items
# within a fraction of a second of each other).
ALBUM_WAIT = timedelta(seconds=1)
# Internal notes: staff messages starting with one of these stay in the topic.
NOTE_PREFIXES = ("//", "#note")
CARD = 0  # source_message_id of the rows of a conversation's card (to each staff chat)
# The failure of a row kept for an item of a staff album that is an internal note (its
# caption): never relayed, and neither are the album's other items.
NOTE_ITEM = "internal note"

OPEN = ConversationStatus.OPEN
CLOSED = ConversationStatus.CLOSED


@dataclass(frozen=True)
class ClosedConversation:
    """A conversation just closed: where a rating of the service can be asked."""

    id: int
    user_id: int
    closed_by: int
    answered_by: tuple[int, ...]  # the staff who wrote to the shopper in it, first first


class NotYourConversation(Exception):
    """A shopper's button for a conversation that is not theirs (a forged callback)."""


def is_note(text: str | None) -> bool:
    """Is this staff message an internal note (not relayed to the shopper)?"""
    return (text or "").lstrip().startswith(NOTE_PREFIXES)


# ------------------------------------------------------------------ staff


async def staff_list(session: AsyncSession) -> list[SupportStaff]:
    return list(await session.scalars(select(SupportStaff).order_by(SupportStaff.added_at)))


async def is_staff(session: AsyncSession, user_id: int, admin_ids: Iterable[int]) -> bool:
    return user_id in set(admin_ids) or await session.get(SupportStaff, user_id) is not None


async def add_staff(
    session: AsyncSession,
    user_id: int,
    first_name: str,
    username: str | None,
    subjects: Sequence[SupportSubject],
    *,
    by: int,
) -> SupportStaff:
    """Add an employee, or replace the subjects of one already listed."""
    async with unit_of_work(session):
        staff = await session.get(SupportStaff, user_id)
        if staff is None:
            staff = SupportStaff(user_id=user_id, added_by=by)
            session.add(staff)
        staff.first_name = first_name
        staff.username = username
        staff.subjects = sorted({subject.value for subject in subjects})
        await session.flush()
    return staff


async def remove_staff(session: AsyncSession, user_id: int) -> bool:
    async with unit_of_work(session):
        result = await session.execute(delete(SupportStaff).where(SupportStaff.user_id == user_id))
    return result.rowcount == 1


async def responsible(
    session: AsyncSession, subject: SupportSubject, admin_ids: Sequence[int]
) -> list[int]:
    """The employees assigned to ``subject``; with nobody assigned, every admin."""
    assigned = [
        staff.user_id
        for staff in await staff_list(session)
        if subject.value in (staff.subjects or [])
    ]
    return assigned or list(admin_ids)


# ---------------------------------------------------------- conversations


async def open_of(session: AsyncSession, user_id: int) -> SupportConversation | None:
    return await session.scalar(
        select(SupportConversation).where(
            SupportConversation.user_id == user_id, SupportConversation.status == OPEN
        )
    )


async def _event(
    session: AsyncSession,
    conversation_id: int,
    kind: str,
    actor: int | None,
    at: datetime | None = None,
) -> None:
    session.add(
        SupportEvent(conversation_id=conversation_id, kind=kind, actor=actor, at=at or utcnow())
    )
    await session.flush()


async def open_conversation(
    session: AsyncSession,
    user_id: int,
    subject: SupportSubject,
    *,
    order_id: int | None,
    opened_by: int,
    in_topic: bool,
    assigned: Sequence[int],
    card_targets: Sequence[int],
) -> tuple[SupportConversation, bool]:
    """The shopper's open conversation, opened now if there is none (then True). An
    ``order_id`` must be one of the shopper's orders (else the conversation is about no
    order). Its card goes to each of ``card_targets`` (staff chats) before anything else
    of the conversation."""
    async with unit_of_work(session):
        existing = await open_of(session, user_id)
        if existing is not None:
            return existing, False
        if order_id is not None:
            owner = await session.scalar(select(Order.user_id).where(Order.id == order_id))
            if owner != user_id:
                order_id = None
        conversation = SupportConversation(
            user_id=user_id,
            subject=subject,
            order_id=order_id,
            opened_by=opened_by,
            in_topic=in_topic,
            assigned=list(assigned),
        )
        try:
            async with unit_of_work(session):  # a SAVEPOINT: a twin open may have won
                session.add(conversation)
                await session.flush()
        except IntegrityError:
            winner = await open_of(session, user_id)
            assert winner is not None
            return winner, False
        await _event(session, conversation.id, "opened", opened_by)
        for target in card_targets:
            session.add(
                SupportMessage(
                    conversation_id=conversation.id,
                    direction=RelayDirection.TO_STAFF,
                    sender_id=user_id,
                    source_chat_id=user_id,
                    source_message_id=CARD,
                    target_chat_id=target,
                )
            )
        await session.flush()
        await outbox.record(session, SUPPORT_RELAY, {"conversation_id": conversation.id})
    return conversation, True


async def record_to_staff(
    session: AsyncSession,
    conversation: SupportConversation,
    message_id: int,
    *,
    reply_to: int | None,
    targets: Sequence[int],
    media_group_id: str | None = None,
) -> None:
    """A shopper's message in their open conversation, to be copied to each staff chat
    (an item of the album ``media_group_id``: with the rest of it)."""
    async with unit_of_work(session):
        for target in targets:
            session.add(
                SupportMessage(
                    conversation_id=conversation.id,
                    direction=RelayDirection.TO_STAFF,
                    sender_id=conversation.user_id,
                    source_chat_id=conversation.user_id,
                    source_message_id=message_id,
                    reply_to_message_id=reply_to,
                    media_group_id=media_group_id,
                    target_chat_id=target,
                )
            )
        await session.flush()
        await _relay_later(session, conversation.id, media_group_id)


async def _relay_later(
    session: AsyncSession, conversation_id: int, media_group_id: str | None
) -> None:
    """The conversation's relay, after the commit; for an album's item once the album may
    be complete (a later item puts it off again, see :func:`claim_next`)."""
    await outbox.record(
        session,
        SUPPORT_RELAY,
        {"conversation_id": conversation_id},
        delay=ALBUM_WAIT if media_group_id is not None else None,
    )


async def record_to_shopper(
    session: AsyncSession,
    conversation: SupportConversation,
    staff_id: int,
    chat_id: int,
    message_id: int,
    *,
    reply_to: int | None,
    media_group_id: str | None = None,
) -> None:
    """A staff message for the shopper (an item of the album ``media_group_id``: with the
    rest of it); the first one marks the first response."""
    async with unit_of_work(session):
        session.add(
            SupportMessage(
                conversation_id=conversation.id,
                direction=RelayDirection.TO_SHOPPER,
                sender_id=staff_id,
                source_chat_id=chat_id,
                source_message_id=message_id,
                reply_to_message_id=reply_to,
                media_group_id=media_group_id,
                target_chat_id=conversation.user_id,
            )
        )
        first = await session.execute(
            update(SupportConversation)
            .where(
                SupportConversation.id == conversation.id,
                SupportConversation.first_response_at.is_(None),
            )
            .values(first_response_at=utcnow(), first_responder=staff_id)
        )
        if first.rowcount == 1:
            await _event(session, conversation.id, "first_response", staff_id)
        await _relay_later(session, conversation.id, media_group_id)


async def record_note_item(
    session: AsyncSession,
    conversation: SupportConversation,
    staff_id: int,
    chat_id: int,
    message_id: int,
    media_group_id: str,
) -> None:
    """An item of a staff album captioned as an internal note: kept (as never to be
    relayed) so that no item of that album reaches the shopper."""
    async with unit_of_work(session):
        session.add(
            SupportMessage(
                conversation_id=conversation.id,
                direction=RelayDirection.TO_SHOPPER,
                sender_id=staff_id,
                source_chat_id=chat_id,
                source_message_id=message_id,
                media_group_id=media_group_id,
                target_chat_id=conversation.user_id,
                relayed_at=utcnow(),
                failure=NOTE_ITEM,
            )
        )
        await session.flush()


async def album_is_note(session: AsyncSession, chat_id: int, media_group_id: str) -> bool:
    """Is the album ``media_group_id`` of ``chat_id`` an internal note (an item so captioned)?"""
    return (
        await session.scalar(
            select(SupportMessage.id)
            .where(
                SupportMessage.source_chat_id == chat_id,
                SupportMessage.media_group_id == media_group_id,
                SupportMessage.failure == NOTE_ITEM,
            )
            .limit(1)
        )
        is not None
    )


def _not_a_note() -> ColumnElement[bool]:
    """Rows staff really wrote to the shopper (not a note's album item)."""
    return or_(SupportMessage.failure.is_(None), SupportMessage.failure != NOTE_ITEM)


async def record_edit(session: AsyncSession, chat_id: int, message_id: int, text: str) -> bool:
    """A relayed message was edited in ``chat_id``: the edit is relayed to each of its
    copies (False: it was never relayed, or its conversation is closed)."""
    async with unit_of_work(session):
        rows = list(
            await session.scalars(
                select(SupportMessage)
                .join(SupportConversation)
                .where(
                    SupportMessage.source_chat_id == chat_id,
                    SupportMessage.source_message_id == message_id,
                    SupportMessage.edited_text.is_(None),
                    SupportConversation.status == OPEN,
                )
            )
        )
        for row in rows:
            session.add(
                SupportMessage(
                    conversation_id=row.conversation_id,
                    direction=row.direction,
                    sender_id=row.sender_id,
                    source_chat_id=chat_id,
                    source_message_id=message_id,
                    edited_text=text,
                    target_chat_id=row.target_chat_id,
                )
            )
        if rows:
            await session.flush()
            await outbox.record(
                session, SUPPORT_RELAY, {"conversation_id": rows[0].conversation_id}
            )
    return bool(rows)


async def counterpart(
    session: AsyncSession, chat_id: int, message_id: int, in_chat: int
) -> int | None:
    """The id, in ``in_chat``, of the message that ``chat_id``'s ``message_id`` was copied
    from or to (for replies), if there is one."""
    copied_to = await session.scalar(
        select(SupportMessage.target_message_id).where(
            SupportMessage.source_chat_id == chat_id,
            SupportMessage.source_message_id == message_id,
            SupportMessage.target_chat_id == in_chat,
            SupportMessage.target_message_id.is_not(None),
            SupportMessage.edited_text.is_(None),
        )
    )
    if copied_to is not None:
        return copied_to
    copied_from = await session.scalar(
        select(SupportMessage.source_message_id).where(
            SupportMessage.target_chat_id == chat_id,
            SupportMessage.target_message_id == message_id,
            SupportMessage.source_chat_id == in_chat,
            SupportMessage.source_message_id != CARD,
        )
    )
    return copied_from


async def conversation_of_staff_message(
    session: AsyncSession, chat_id: int, message_id: int
) -> SupportConversation | None:
    """The conversation whose message (or card) in a staff chat this is a copy of."""
    return await session.scalar(
        select(SupportConversation)
        .join(SupportMessage)
        .where(
            SupportMessage.target_chat_id == chat_id,
            SupportMessage.target_message_id == message_id,
        )
        .order_by(SupportConversation.id.desc())
        .limit(1)
    )


async def latest_of(session: AsyncSession, user_id: int) -> SupportConversation | None:
    return await session.scalar(
        select(SupportConversation)
        .where(SupportConversation.user_id == user_id)
        .order_by(SupportConversation.id.desc())
        .limit(1)
    )


async def warn_once(session: AsyncSession, conversation_id: int, user_id: int) -> bool:
    """Record that a non-staff member was told their messages are not relayed; False if
    they were told already in this conversation."""
    async with unit_of_work(session):
        told = await session.scalar(
            select(SupportEvent.id).where(
                SupportEvent.conversation_id == conversation_id,
                SupportEvent.kind == "not_staff",
                SupportEvent.actor == user_id,
            )
        )
        if told is not None:
            return False
        await _event(session, conversation_id, "not_staff", user_id)
    return True


async def first_out_of_hours(
    session: AsyncSession, conversation_id: int, now: datetime, hours: WorkingHours, zone: ZoneInfo
) -> bool:
    """Is the shopper writing outside working hours, for the first time since the staff
    last left work (or since the conversation opened)? Then they are told when to expect
    an answer; recorded so the next messages of the same evening are not."""
    if hours.is_open(now, zone):
        return False
    async with unit_of_work(session):
        last_told = await session.scalar(
            select(func.max(SupportEvent.at)).where(
                SupportEvent.conversation_id == conversation_id,
                SupportEvent.kind.in_(("out_of_hours", "opened")),
            )
        )
        if last_told is not None and hours.next_opening(last_told, zone) > now:
            return False  # told (or the intro said so) during this same time off
        await _event(session, conversation_id, "out_of_hours", None, now)
    return True


async def close(
    session: AsyncSession, conversation_id: int, *, by: int, shopper: int | None = None
) -> ClosedConversation | None:
    """Close the conversation (None: it was closed already). ``shopper``: the shopper who
    asks, whose conversation it must be (else :class:`NotYourConversation`)."""
    async with unit_of_work(session):
        conversation = await session.get(SupportConversation, conversation_id)
        if conversation is None or (shopper is not None and conversation.user_id != shopper):
            raise NotYourConversation(conversation_id)
        closed = await session.execute(
            update(SupportConversation)
            .where(SupportConversation.id == conversation_id, SupportConversation.status == OPEN)
            .values(status=CLOSED, closed_at=utcnow(), closed_by=by)
        )
        if closed.rowcount != 1:
            return None
        await _event(session, conversation_id, "closed", by)
        await outbox.record(session, SUPPORT_CLOSED, {"conversation_id": conversation_id})
        answered = await session.scalars(
            select(SupportMessage.sender_id)
            .where(
                SupportMessage.conversation_id == conversation_id,
                SupportMessage.direction == RelayDirection.TO_SHOPPER,
                _not_a_note(),
            )
            .order_by(SupportMessage.id)
        )
        staff = tuple(dict.fromkeys(answered))
        if staff:  # the help of the first who answered is rated; nobody answered: no question
            await ratings.ask_service_rating(
                session, conversation_id, conversation.user_id, staff[0]
            )
    return ClosedConversation(conversation_id, conversation.user_id, by, staff)


# ------------------------------------------------------------ relaying


async def topic_of(session: AsyncSession, user_id: int, chat_id: int) -> SupportTopic | None:
    topic = await session.get(SupportTopic, user_id)
    return topic if topic is not None and topic.chat_id == chat_id else None


async def user_of_topic(session: AsyncSession, chat_id: int, thread_id: int) -> int | None:
    return await session.scalar(
        select(SupportTopic.user_id).where(
            SupportTopic.chat_id == chat_id, SupportTopic.thread_id == thread_id
        )
    )


async def save_topic(session: AsyncSession, user_id: int, chat_id: int, thread_id: int) -> None:
    """The shopper's topic (replacing one staff deleted, or one of another group)."""
    async with unit_of_work(session):
        topic = await session.get(SupportTopic, user_id)
        if topic is None:
            session.add(SupportTopic(user_id=user_id, chat_id=chat_id, thread_id=thread_id))
        else:
            topic.chat_id, topic.thread_id, topic.created_at = chat_id, thread_id, utcnow()
        await session.flush()


class RowTaken(Exception):
    """Another process is relaying the conversation's next message: try again later."""


class AlbumComing(Exception):
    """The conversation's next message is an item of an album whose items may still be
    coming: try again in ``after`` seconds."""

    def __init__(self, after: float) -> None:
        super().__init__(f"an album may still be coming ({after:.1f} s)")
        self.after = after


async def claim_next(
    session: AsyncSession, conversation_id: int, *, awake_since: datetime | None
) -> list[SupportMessage]:
    """The conversation's oldest message still to relay, claimed — with, when it is an item
    of an album, the album's other items for the same chat (oldest first). ``[]``: nothing
    pending. :class:`RowTaken` when another process holds one: nothing may overtake it.

    :class:`AlbumComing` while an item of the album came less than :data:`ALBUM_WAIT` ago,
    or the relaying process (taking updates since ``awake_since``; None: no longer) has not
    yet listened that long for more: one started after a crash first takes the rest of the
    album Telegram kept for it, one stopping leaves albums to the next."""
    row = await session.scalar(
        select(SupportMessage)
        .where(
            SupportMessage.conversation_id == conversation_id,
            SupportMessage.relayed_at.is_(None),
        )
        .order_by(SupportMessage.id)
        .limit(1)
    )
    if row is None:
        return []
    now = utcnow()
    rows = [row]
    if row.media_group_id is not None and row.edited_text is None:
        rows = list(
            await session.scalars(
                select(SupportMessage)
                .where(
                    SupportMessage.conversation_id == conversation_id,
                    SupportMessage.relayed_at.is_(None),
                    SupportMessage.media_group_id == row.media_group_id,
                    SupportMessage.source_chat_id == row.source_chat_id,
                    SupportMessage.target_chat_id == row.target_chat_id,
                    SupportMessage.edited_text.is_(None),
                )
                .order_by(SupportMessage.id)
                .execution_options(populate_existing=True)
            )
        )
        if awake_since is None:
            raise AlbumComing(ALBUM_WAIT.total_seconds())
        newest = max([item.created_at for item in rows] + [awake_since])
        left = (newest + ALBUM_WAIT - now).total_seconds()
        if left > 0:
            raise AlbumComing(left)
        if await album_is_note(session, row.source_chat_id, row.media_group_id):
            # Items that came before the one captioned as a note: they stay in the group.
            await relayed(session, [(item.id, None, NOTE_ITEM) for item in rows])
            return await claim_next(session, conversation_id, awake_since=awake_since)
    ids = [item.id for item in rows]
    async with unit_of_work(session):
        claimed = await session.execute(
            update(SupportMessage)
            .where(
                SupportMessage.id.in_(ids),
                SupportMessage.relayed_at.is_(None),
                or_(SupportMessage.claimed_until.is_(None), SupportMessage.claimed_until < now),
            )
            .values(claimed_until=now + RELAY_LEASE)
        )
        if claimed.rowcount != len(ids):
            raise RowTaken(row.id)  # the unit rolls back: none of them is claimed here
    for item in rows:
        await session.refresh(item)
    return rows


async def relayed(
    session: AsyncSession, outcomes: Sequence[tuple[int, int | None, str | None]]
) -> None:
    """Each row ``(id, target_message_id, failure)`` was relayed as ``target_message_id``
    (or given up with ``failure``)."""
    async with unit_of_work(session):
        for row_id, target_message_id, failure in outcomes:
            await session.execute(
                update(SupportMessage)
                .where(SupportMessage.id == row_id)
                .values(
                    target_message_id=target_message_id,
                    relayed_at=utcnow(),
                    claimed_until=None,
                    failure=failure[:256] if failure else None,
                )
            )


async def release(session: AsyncSession, row_ids: Sequence[int]) -> None:
    """The rows could not be relayed now: free them for the next attempt."""
    async with unit_of_work(session):
        await session.execute(
            update(SupportMessage).where(SupportMessage.id.in_(row_ids)).values(claimed_until=None)
        )


async def staff_replied_before(
    session: AsyncSession, conversation_id: int, staff_id: int, row_id: int
) -> bool:
    """Did ``staff_id`` write to the shopper in this conversation before row ``row_id``?"""
    return (
        await session.scalar(
            select(SupportMessage.id)
            .where(
                SupportMessage.conversation_id == conversation_id,
                SupportMessage.direction == RelayDirection.TO_SHOPPER,
                SupportMessage.sender_id == staff_id,
                SupportMessage.id < row_id,
                _not_a_note(),
            )
            .limit(1)
        )
        is not None
    )


# ------------------------------------------------------------ reminders


async def raise_unanswered(
    session: AsyncSession,
    now: datetime,
    hours: WorkingHours,
    zone: ZoneInfo,
    minutes: int,
) -> int:
    """Record a reminder for every open conversation with no staff reply for ``minutes``
    of working time (once each); returns how many."""
    if minutes <= 0:
        return 0
    waiting = list(
        await session.scalars(
            select(SupportConversation).where(
                SupportConversation.status == OPEN,
                SupportConversation.first_response_at.is_(None),
                SupportConversation.reminded_at.is_(None),
                SupportConversation.opened_at <= now - timedelta(minutes=minutes),
            )
        )
    )
    late = [
        conversation.id
        for conversation in waiting
        if hours.working_time(conversation.opened_at, now, zone) >= timedelta(minutes=minutes)
    ]
    raised = 0
    for conversation_id in late:
        async with unit_of_work(session):
            claimed = await session.execute(
                update(SupportConversation)
                .where(
                    SupportConversation.id == conversation_id,
                    SupportConversation.status == OPEN,
                    SupportConversation.first_response_at.is_(None),
                    SupportConversation.reminded_at.is_(None),
                )
                .values(reminded_at=now)
            )
            if claimed.rowcount == 1:
                await _event(session, conversation_id, "reminded", None, now)
                await outbox.record(session, SUPPORT_REMINDER, {"conversation_id": conversation_id})
                raised += 1
    return raised


# ------------------------------------------------------------ figures


@dataclass(frozen=True)
class ConversationFigures:
    """Support conversations opened in a period, for ``/stats``."""

    opened: int
    answered: int
    # The median wait for the first staff reply, counted in working hours only (None:
    # nothing answered); a question asked at night and answered at 09:05 waited 5 minutes.
    median_first_response: timedelta | None
    waiting: int  # open now, with no staff reply yet


async def conversation_figures(
    session: AsyncSession, since: datetime, hours: WorkingHours, zone: ZoneInfo
) -> ConversationFigures:
    rows = (
        await session.execute(
            select(SupportConversation.opened_at, SupportConversation.first_response_at).where(
                SupportConversation.opened_at >= since
            )
        )
    ).all()
    waits = sorted(
        hours.working_time(opened, answered, zone) for opened, answered in rows if answered
    )
    waiting = await session.scalar(
        select(func.count()).where(
            SupportConversation.status == OPEN, SupportConversation.first_response_at.is_(None)
        )
    )
    return ConversationFigures(
        opened=len(rows),
        answered=len(waits),
        median_first_response=_median(waits),
        waiting=int(waiting or 0),
    )


def _median(values: Sequence[timedelta]) -> timedelta | None:
    if not values:
        return None
    middle = len(values) // 2
    if len(values) % 2:
        return values[middle]
    return (values[middle - 1] + values[middle]) / 2
