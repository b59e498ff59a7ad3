"""The emulator's flood control: Telegram's per-bot and per-chat limits, its 429 with
``retry_after``, a flood switched on for a while, blocked users and ``copyMessages``."""

from __future__ import annotations

import pytest
from aiogram import Bot
from aiogram.exceptions import TelegramForbiddenError, TelegramRetryAfter

from shopbot.emulators.telegram import EmulatedUser, TelegramEmulator
from shopbot.emulators.telegram_limits import CHAT_BURST, FloodControl, send_album


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def started_users(telegram: TelegramEmulator, count: int) -> list[EmulatedUser]:
    users = [telegram.user(1000 + number) for number in range(count)]
    for user in users:
        user.started = True
    return users


async def test_limits_are_off_until_enforced(telegram: TelegramEmulator, bot: Bot) -> None:
    (user,) = started_users(telegram, 1)
    for number in range(10):
        await bot.send_message(user.id, f"{number}")
    assert len(user.messages) == 10
    assert telegram.limits.refused == 0


async def test_one_chat_gets_a_burst_then_about_one_message_a_second(
    telegram: TelegramEmulator, bot: Bot
) -> None:
    clock = FakeClock()
    telegram.limits = FloodControl(enforce=True, clock=clock)
    (user,) = started_users(telegram, 1)
    for number in range(CHAT_BURST):
        await bot.send_message(user.id, f"{number}")
    with pytest.raises(TelegramRetryAfter) as refused:
        await bot.send_message(user.id, "too soon")
    assert refused.value.retry_after == 1
    assert "Too Many Requests: retry after 1" in refused.value.message
    assert telegram.errors[-1].error_code == 429
    clock.now += 1.0
    await bot.send_message(user.id, "a second later")
    assert user.texts() == [*(f"{n}" for n in range(CHAT_BURST)), "a second later"]


async def test_the_bot_gets_thirty_messages_a_second_across_chats(
    telegram: TelegramEmulator, bot: Bot
) -> None:
    clock = FakeClock()
    telegram.limits = FloodControl(enforce=True, clock=clock)
    users = started_users(telegram, 31)
    for user in users[:30]:
        await bot.send_message(user.id, "news")
    with pytest.raises(TelegramRetryAfter):
        await bot.send_message(users[30].id, "news")
    clock.now += 0.1  # three more messages' worth
    await bot.send_message(users[30].id, "news")
    assert telegram.limits.refused == 1
    # The refused call did not use up the chat's own allowance.
    assert users[30].texts() == ["news"]


async def test_edits_and_callback_answers_are_not_counted(
    telegram: TelegramEmulator, bot: Bot
) -> None:
    telegram.limits = FloodControl(enforce=True, clock=FakeClock())
    (user,) = started_users(telegram, 1)
    sent = await bot.send_message(user.id, "0")
    for number in range(1, 10):
        await bot.edit_message_text(f"{number}", chat_id=user.id, message_id=sent.message_id)
    assert user.texts() == ["9"]


async def test_a_flood_answers_429_for_a_while_whatever_the_rate(
    telegram: TelegramEmulator, bot: Bot
) -> None:
    clock = FakeClock()
    telegram.limits = FloodControl(clock=clock)
    (user,) = started_users(telegram, 1)
    telegram.limits.flood(5.0, retry_after=3)
    with pytest.raises(TelegramRetryAfter) as refused:
        await bot.send_message(user.id, "now")
    assert refused.value.retry_after == 3
    clock.now += 5.0
    await bot.send_message(user.id, "later")
    assert user.texts() == ["later"]


async def test_a_user_who_blocked_the_bot_answers_403(telegram: TelegramEmulator, bot: Bot) -> None:
    (user,) = started_users(telegram, 1)
    user.block_bot()
    with pytest.raises(TelegramForbiddenError, match="bot was blocked by the user"):
        await bot.send_message(user.id, "hello")


async def test_copy_messages_copies_an_album_as_an_album(
    telegram: TelegramEmulator, bot: Bot
) -> None:
    owner, shopper = started_users(telegram, 2)
    album = await send_album(owner, ["first", "second"], wait=False)
    copied = await bot.copy_messages(
        shopper.id, owner.id, [message["message_id"] for message in album]
    )
    assert len(copied) == 2
    messages = shopper.messages
    assert [message["caption"] for message in messages] == ["first", "second"]
    assert messages[0]["media_group_id"] == messages[1]["media_group_id"]
    assert "photo" in messages[0]
