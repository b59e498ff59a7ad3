"""Ratings and forgotten-cart reminders below the bot: once means once under concurrency
(taps, asks and passes racing), the quiet hours, what is still due at delivery, and the
72-hour window of /stats — on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shopbot.config import SettingsError, load_settings
from shopbot.db import unit_of_work
from shopbot.models import (
    CartLine,
    CartReminder,
    ConsentSource,
    DeliveryMethod,
    Order,
    OrderStatus,
    OutboxMessage,
    Rating,
    RatingKind,
)
from shopbot.services import marketing, ratings, reminders
from shopbot.services.ratings import Outcome
from shopbot.services.reminders import CART_REMINDER, QuietHours
from tests.factories import make_product, make_user

MOSCOW = ZoneInfo("Europe/Moscow")
NOON = datetime(2026, 12, 10, 9, 0, tzinfo=UTC)  # 12:00 in Moscow


def test_quiet_hours_over_midnight_and_within_a_day() -> None:
    night = QuietHours.parse("22:00-09:00")
    assert str(night) == "22:00-09:00"
    at = lambda hour, minute=0: datetime(2026, 12, 10, hour, minute, tzinfo=MOSCOW)  # noqa: E731
    assert night.holds(at(22), MOSCOW) and night.holds(at(3), MOSCOW)
    assert night.holds(at(8, 59), MOSCOW) and not night.holds(at(9), MOSCOW)
    assert not night.holds(at(21, 59), MOSCOW)
    lunch = QuietHours.parse(" 13:00 - 14:30 ")
    assert lunch == QuietHours(time(13), time(14, 30))
    assert lunch.holds(at(14, 29), MOSCOW) and not lunch.holds(at(14, 30), MOSCOW)
    assert not QuietHours.parse("00:00-00:00").holds(at(0), MOSCOW)  # never quiet
    # On the shop's clock, whatever zone the moment is in.
    assert night.holds(datetime(2026, 12, 10, 19, 30, tzinfo=UTC), MOSCOW)  # 22:30 MSK
    # A reminder delivered late (a retry) waits for the end of the quiet hours.
    assert night.seconds_left(at(23, 30), MOSCOW) == 9.5 * 3600
    assert night.seconds_left(at(8, 59), MOSCOW) == 60
    assert night.seconds_left(at(12), MOSCOW) == 0
    assert lunch.seconds_left(at(13, 15), MOSCOW) == 75 * 60


def test_only_a_late_reminder_waits_for_the_quiet_hours_to_end() -> None:
    night = QuietHours.parse("22:00-09:00")
    at = lambda hour, minute=0: datetime(2026, 12, 10, hour, minute, tzinfo=MOSCOW)  # noqa: E731
    # Recorded at 21:58 (outside the quiet hours), delivered at once: on time.
    assert reminders.seconds_to_wait(at(21, 58), at(22, 1), night, MOSCOW) == 0
    # Delivered by a retry at 23:30: waits for 09:00.
    assert reminders.seconds_to_wait(at(21, 58), at(23, 30), night, MOSCOW) == 9.5 * 3600
    # A retry outside the quiet hours goes out.
    assert reminders.seconds_to_wait(at(12), at(13), night, MOSCOW) == 0


@pytest.mark.parametrize("value", ["22-09", "25:00-09:00", "22:00", "night", "22:60-09:00"])
def test_a_bad_quiet_hours_setting_is_one_line(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("QUIET_HOURS", value)
    with pytest.raises(SettingsError) as caught:
        load_settings(_env_file=None)
    assert str(caught.value).startswith("invalid setting QUIET_HOURS: ")
    assert "\n" not in str(caught.value)


def test_the_settings_default_to_a_day_and_the_night() -> None:
    settings = load_settings(_env_file=None)
    assert settings.abandoned_cart_hours == 24
    assert settings.quiet_hours == QuietHours(time(22), time(9))
    with pytest.raises(SettingsError):
        load_settings(_env_file=None, abandoned_cart_hours=-1)


async def test_racing_taps_store_one_score(
    session_factory: async_sessionmaker[AsyncSession], session: AsyncSession
) -> None:
    await make_user(session, 501)
    async with unit_of_work(session):
        assert await ratings.ask_order_rating(session, 42, 501)
    rating_id = await session.scalar(select(Rating.id))
    assert rating_id is not None

    async def tap(score: int) -> Outcome:
        async with session_factory() as own:
            return (await ratings.rate(own, rating_id, 501, score)).outcome

    outcomes = await asyncio.gather(*(tap(1 + n % 5) for n in range(10)))
    assert sorted(outcome.value for outcome in outcomes) == ["already"] * 9 + ["done"]
    assert (await ratings.rate(session, rating_id, 502, 5)).outcome is Outcome.NOT_FOUND

    async def write(text: str) -> Outcome:
        async with session_factory() as own:
            return (await ratings.comment(own, rating_id, 501, text)).outcome

    outcomes = await asyncio.gather(*(write(f"отзыв {n}") for n in range(5)))
    assert sorted(outcome.value for outcome in outcomes) == ["already"] * 4 + ["done"]


async def test_racing_closes_ask_once(
    session_factory: async_sessionmaker[AsyncSession], session: AsyncSession
) -> None:
    await make_user(session, 511)

    async def close() -> bool:
        async with session_factory() as own:
            return await ratings.ask_service_rating(own, 7, 511, 900)

    assert sorted(await asyncio.gather(*(close() for _ in range(6)))) == [False] * 5 + [True]
    assert await session.scalar(select(func.count()).select_from(Rating)) == 1
    questions = await session.scalar(
        select(func.count()).where(OutboxMessage.kind == ratings.RATING_QUESTION)
    )
    assert questions == 1
    # An order and a conversation may share a number: they are different questions.
    async with unit_of_work(session):
        assert await ratings.ask_order_rating(session, 7, 511)
    kinds = await session.scalars(select(Rating.kind).order_by(Rating.id))
    assert list(kinds) == [RatingKind.SERVICE, RatingKind.ORDER]


async def subscriber_with_cart(session: AsyncSession, user_id: int, product_id: int) -> None:
    await make_user(session, user_id)
    await marketing.subscribe(session, user_id, ConsentSource.COMMAND)
    async with unit_of_work(session):
        await session.execute(
            insert(CartLine).values(user_id=user_id, product_id=product_id, quantity=1)
        )


async def a_pass(session_factory: async_sessionmaker[AsyncSession], now: datetime) -> int:
    async with session_factory() as own:
        return await reminders.remind_forgotten_carts(
            own,
            now=now,
            idle=timedelta(hours=24),
            quiet=QuietHours.parse("22:00-09:00"),
            zone=MOSCOW,
        )


async def test_racing_passes_remind_once(
    session_factory: async_sessionmaker[AsyncSession], session: AsyncSession
) -> None:
    """Two replicas' passes at once (the job's lock aside): one reminder per cart state."""
    product = await make_product(session, "Футболка", stock=5)
    for user_id in (521, 522, 523):
        await subscriber_with_cart(session, user_id, product.id)
    await a_pass(session_factory, datetime.now(UTC) + timedelta(hours=1))  # watched, not due
    counts = await asyncio.gather(*(a_pass(session_factory, NOON) for _ in range(4)))
    assert sum(counts) == 3
    assert await session.scalar(select(func.count()).select_from(CartReminder)) == 3
    recorded = await session.scalar(select(func.count()).where(OutboxMessage.kind == CART_REMINDER))
    assert recorded == 3


async def test_a_reminder_no_longer_due_is_not_sent(
    session_factory: async_sessionmaker[AsyncSession], session: AsyncSession
) -> None:
    product = await make_product(session, "Кружка", stock=5)
    other = await make_product(session, "Чашка", stock=5)
    for user_id in (531, 532, 533):
        await subscriber_with_cart(session, user_id, product.id)
    assert await a_pass(session_factory, NOON) == 3
    ids = dict((await session.execute(select(CartReminder.user_id, CartReminder.id))).all())
    due = await reminders.still_due(session, ids[531])
    assert due is not None and due.user_id == 531
    await reminders.mark_sent(session, ids[531])  # a retry after Telegram took it: not again
    assert await reminders.still_due(session, ids[531]) is None
    async with unit_of_work(session):  # the cart changed between the pass and the delivery
        await session.execute(insert(CartLine).values(user_id=532, product_id=other.id, quantity=1))
    assert await reminders.still_due(session, ids[532]) is None
    await marketing.unsubscribe(session, 533, ConsentSource.COMMAND)
    assert await reminders.still_due(session, ids[533]) is None


async def test_an_order_counts_for_a_reminder_within_72_hours(session: AsyncSession) -> None:
    for user_id in (541, 542, 543):
        await make_user(session, user_id)
    sent = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    async with unit_of_work(session):
        for user_id, number, placed in (
            (541, 1, sent + timedelta(hours=71)),  # led to an order
            (542, 2, sent + timedelta(hours=73)),  # too late to count
            (542, 3, sent - timedelta(hours=1)),  # before the reminder
        ):
            await session.execute(
                insert(Order).values(
                    user_id=user_id,
                    checkout_token=f"t{number}",
                    status=OrderStatus.DELIVERED,
                    subtotal=100,
                    total=100,
                    contact_name="А",
                    contact_phone="+79000000000",
                    delivery_method=DeliveryMethod.PICKUP,
                    created_at=placed,
                )
            )
        for user_id in (541, 542, 543):
            await session.execute(
                insert(CartReminder).values(
                    user_id=user_id, cart_state="s", cart_since=sent, recorded_at=sent
                )
            )
        await session.execute(
            update(CartReminder).where(CartReminder.user_id != 543).values(sent_at=sent)
        )
    figures = await reminders.reminder_figures(session, sent - timedelta(days=1))
    assert (figures.sent, figures.led_to_order) == (2, 1)  # 543's was never delivered
