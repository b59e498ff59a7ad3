"""The core of the support conversations: working hours, one open conversation per shopper,
guarded closing, relaying in order, reminders counted in working time."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shopbot.config import SettingsError, load_settings
from shopbot.models import (
    OutboxMessage,
    SupportConversation,
    SupportEvent,
    SupportMessage,
    SupportSubject,
    utcnow,
)
from shopbot.services import conversations
from shopbot.services.support_hours import parse
from tests.factories import make_user

MOSCOW = ZoneInfo("Europe/Moscow")
HOURS = parse("Mon-Fri 09:00-20:00; Sat 10:00-16:00")


def moscow(day: int, hour: int, minute: int = 0) -> datetime:
    """A moment of the week of Monday 2026-11-30, on Moscow's clock, in UTC."""
    monday = datetime(2026, 11, 30, hour, minute, tzinfo=MOSCOW)
    return (monday + timedelta(days=day)).astimezone(UTC)


def test_working_hours_open_close_and_count() -> None:
    assert HOURS.is_open(moscow(0, 9), MOSCOW)
    assert not HOURS.is_open(moscow(0, 20), MOSCOW)
    assert HOURS.is_open(moscow(5, 15, 59), MOSCOW)
    assert not HOURS.is_open(moscow(6, 12), MOSCOW)  # Sunday
    assert HOURS.next_opening(moscow(4, 21), MOSCOW) == moscow(5, 10)
    assert HOURS.next_opening(moscow(5, 17), MOSCOW) == moscow(7, 9)  # Saturday → Monday
    assert HOURS.next_opening(moscow(1, 12), MOSCOW) == moscow(1, 12)
    # Friday 19:30 to Monday 09:30: 30 min + Saturday's 6 h + 30 min.
    assert HOURS.working_time(moscow(4, 19, 30), moscow(7, 9, 30), MOSCOW) == timedelta(hours=7)
    assert parse("").always and parse("").working_time(moscow(0, 1), moscow(0, 2), MOSCOW) == (
        timedelta(hours=1)
    )
    assert parse("Пн-Пт 10:00-18:00").spans == parse("mon-fri 10:00-18:00").spans


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("Mon-Fri 9-20", "is not like 'Mon-Fri 09:00-20:00'"),
        ("Fri-Mon 09:00-20:00", "the days run backwards"),
        ("Mon 20:00-09:00", "the end is not after the start"),
        ("Xyz 09:00-10:00", "unknown day 'Xyz'"),
    ],
)
def test_bad_support_hours_stop_start_up(value: str, problem: str) -> None:
    with pytest.raises(SettingsError, match="SUPPORT_HOURS") as raised:
        load_settings(support_hours=value, _env_file=None)
    assert problem in str(raised.value)


async def _open(
    session: AsyncSession, user_id: int, order_id: int | None = None
) -> tuple[SupportConversation, bool]:
    return await conversations.open_conversation(
        session,
        user_id,
        SupportSubject.ORDER,
        order_id=order_id,
        opened_by=user_id,
        in_topic=True,
        assigned=[900],
        card_targets=[-100],
    )


async def test_one_open_conversation_per_shopper_and_guarded_close(session: AsyncSession) -> None:
    await make_user(session, 101)
    await make_user(session, 102, "Борис")
    first, opened = await _open(session, 101, order_id=12345)  # not her order: dropped
    assert opened and first.order_id is None
    again, opened_again = await _open(session, 101)
    assert again.id == first.id and not opened_again
    with pytest.raises(conversations.NotYourConversation):
        await conversations.close(session, first.id, by=102, shopper=102)
    await conversations.record_to_shopper(session, first, 900, -100, 7, reply_to=None)
    await conversations.record_to_shopper(session, first, 901, -100, 8, reply_to=None)
    closed = await conversations.close(session, first.id, by=101, shopper=101)
    assert closed == conversations.ClosedConversation(first.id, 101, 101, (900, 901))
    assert await conversations.close(session, first.id, by=900) is None
    kinds = list(await session.scalars(select(SupportEvent.kind).order_by(SupportEvent.id)))
    assert kinds == ["opened", "first_response", "closed"]
    second, opened = await _open(session, 101)
    assert opened and second.id != first.id


async def test_pending_messages_are_claimed_in_order(session: AsyncSession) -> None:
    await make_user(session, 101)
    conversation, _opened = await _open(session, 101)
    for message_id in (5, 6):
        await conversations.record_to_staff(
            session, conversation, message_id, reply_to=None, targets=[-100]
        )
    since = utcnow() - conversations.ALBUM_WAIT
    [card] = await conversations.claim_next(session, conversation.id, awake_since=since)
    assert card.source_message_id == conversations.CARD
    with pytest.raises(conversations.RowTaken):  # held: the next must not overtake it
        await conversations.claim_next(session, conversation.id, awake_since=since)
    await conversations.relayed(session, [(card.id, 1, None)])
    [row] = await conversations.claim_next(session, conversation.id, awake_since=since)
    assert row.source_message_id == 5
    await conversations.relayed(session, [(row.id, 2, None)])
    assert await conversations.counterpart(session, 101, 5, -100) == 2
    assert await conversations.counterpart(session, -100, 2, 101) == 5
    kinds = set(await session.scalars(select(OutboxMessage.kind)))
    assert kinds == {conversations.SUPPORT_RELAY}


async def test_an_album_is_claimed_whole_per_chat_once_its_items_stop_coming(
    session: AsyncSession,
) -> None:
    await make_user(session, 101)
    conversation, _opened = await _open(session, 101)  # its card to -100 first
    for message_id in (5, 6, 7):
        await conversations.record_to_staff(
            session,
            conversation,
            message_id,
            reply_to=None,
            targets=[-100, -200],
            media_group_id="g1",
        )
    await conversations.record_to_staff(
        session, conversation, 8, reply_to=None, targets=[-100, -200]
    )
    # Each item's relay waits for the album; the text's does not.
    delays = [
        message.available_at is not None and message.available_at > utcnow()
        for message in await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))
    ]
    assert delays == [False, True, True, True, False]
    long_awake = utcnow() - timedelta(hours=1)
    [card] = await conversations.claim_next(session, conversation.id, awake_since=long_awake)
    await conversations.relayed(session, [(card.id, 1, None)])
    # The newest item is fresh: the album (and the text after it) waits.
    with pytest.raises(conversations.AlbumComing) as coming:
        await conversations.claim_next(session, conversation.id, awake_since=long_awake)
    assert 0 < coming.value.after <= conversations.ALBUM_WAIT.total_seconds()
    await session.execute(
        update(SupportMessage).values(created_at=utcnow() - conversations.ALBUM_WAIT)
    )
    await session.commit()
    # A process that has just started listens for the rest first; one stopping leaves it.
    with pytest.raises(conversations.AlbumComing):
        await conversations.claim_next(session, conversation.id, awake_since=utcnow())
    with pytest.raises(conversations.AlbumComing):
        await conversations.claim_next(session, conversation.id, awake_since=None)
    album = await conversations.claim_next(session, conversation.id, awake_since=long_awake)
    assert [(row.source_message_id, row.target_chat_id) for row in album] == [
        (5, -100),
        (6, -100),
        (7, -100),
    ]
    await conversations.relayed(session, [(row.id, 11 + i, None) for i, row in enumerate(album)])
    album = await conversations.claim_next(session, conversation.id, awake_since=long_awake)
    assert [(row.source_message_id, row.target_chat_id) for row in album] == [
        (5, -200),
        (6, -200),
        (7, -200),
    ]
    await conversations.release(session, [row.id for row in album])
    assert (
        len(await conversations.claim_next(session, conversation.id, awake_since=long_awake)) == 3
    )
    # Each item keeps its own copy: a reply to the second copy finds the second photo.
    assert await conversations.counterpart(session, -100, 12, 101) == 6


async def test_two_relays_racing_for_an_album_claim_it_whole_once(
    session_factory: async_sessionmaker[AsyncSession], session: AsyncSession
) -> None:
    """Replicas (sessions of their own) relaying the same conversation at once: one claims
    every item of the album, the other none of them."""
    await make_user(session, 101)
    conversation = SupportConversation(
        user_id=101,
        subject=SupportSubject.OTHER,
        opened_by=101,
        in_topic=True,
        assigned=[],
    )
    session.add(conversation)
    await session.commit()
    for message_id in range(5, 15):
        await conversations.record_to_staff(
            session, conversation, message_id, reply_to=None, targets=[-100], media_group_id="g"
        )
    await session.execute(
        update(SupportMessage).values(created_at=utcnow() - conversations.ALBUM_WAIT)
    )
    await session.commit()
    long_awake = utcnow() - timedelta(hours=1)

    async def claim() -> list[int] | None:
        async with session_factory() as own:
            try:
                rows = await conversations.claim_next(own, conversation.id, awake_since=long_awake)
            except conversations.RowTaken:
                return None
            return [row.source_message_id for row in rows]

    for _ in range(3):
        results = await asyncio.gather(*(claim() for _ in range(4)))
        claimed = [result for result in results if result]
        assert claimed in ([], [list(range(5, 15))])
        if claimed:
            break
    else:
        raise AssertionError("nobody claimed the album")
    claimed_rows = await session.scalars(
        select(SupportMessage.id).where(SupportMessage.claimed_until.is_not(None))
    )
    assert len(list(claimed_rows)) == 10


async def test_reminders_count_working_time_only(session: AsyncSession) -> None:
    await make_user(session, 101)
    conversation, _opened = await _open(session, 101)
    conversation.opened_at = moscow(4, 19, 50)  # Friday, ten minutes before the end
    await session.commit()
    # Saturday 09:00 Moscow: only 10 working minutes passed.
    assert await conversations.raise_unanswered(session, moscow(5, 9), HOURS, MOSCOW, 30) == 0
    # Saturday 10:25: 35 working minutes.
    assert await conversations.raise_unanswered(session, moscow(5, 10, 25), HOURS, MOSCOW, 30) == 1
    assert await conversations.raise_unanswered(session, moscow(5, 12), HOURS, MOSCOW, 30) == 0
    assert await conversations.raise_unanswered(session, moscow(5, 12), HOURS, MOSCOW, 0) == 0


async def test_the_shopper_is_told_once_per_time_off(session: AsyncSession) -> None:
    await make_user(session, 101)
    conversation, _opened = await _open(session, 101)
    conversation_id = conversation.id
    await session.execute(update(SupportEvent).values(at=moscow(5, 12)))
    await session.commit()
    first = conversations.first_out_of_hours
    # Opened during hours (Saturday noon): on Saturday night they are told, once that evening.
    assert await first(session, conversation_id, moscow(5, 21), HOURS, MOSCOW)
    assert not await first(session, conversation_id, moscow(5, 23), HOURS, MOSCOW)
    assert not await first(session, conversation_id, moscow(7, 12), HOURS, MOSCOW)  # open
    assert await first(session, conversation_id, moscow(7, 21), HOURS, MOSCOW)


async def test_the_median_first_reply_counts_working_hours_only(session: AsyncSession) -> None:
    """Asked on Friday at 19:50, answered on Saturday at 10:05: 15 working minutes, not 14 h."""
    for user_id in (101, 102, 103):
        await make_user(session, user_id)
    night, _ = await _open(session, 101)
    quick, _ = await _open(session, 102)
    waiting, _ = await _open(session, 103)
    night.opened_at, night.first_response_at = moscow(4, 19, 50), moscow(5, 10, 5)
    quick.opened_at, quick.first_response_at = moscow(0, 12), moscow(0, 12, 5)
    waiting.opened_at = moscow(0, 13)
    await session.commit()

    figures = await conversations.conversation_figures(session, moscow(0, 0), HOURS, MOSCOW)
    assert figures == conversations.ConversationFigures(
        opened=3, answered=2, median_first_response=timedelta(minutes=10), waiting=1
    )
    later = await conversations.conversation_figures(session, moscow(1, 0), HOURS, MOSCOW)
    assert (later.opened, later.median_first_response) == (1, timedelta(minutes=15))
