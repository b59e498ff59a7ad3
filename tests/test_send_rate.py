"""The bulk sending pace: slots 1/MAILING_RATE apart, one a second per chat, a pause for
Telegram's retry_after; in one process, and shared by several through Redis."""

from __future__ import annotations

import asyncio
import itertools
import os
import uuid
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from shopbot.services.send_rate import LocalSendRate, RedisSendRate, SendRate


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


async def test_slots_are_spaced_by_the_rate_and_a_second_per_chat() -> None:
    clock = FakeClock()
    rate = LocalSendRate(25.0, clock=clock)
    waits = [await rate.reserve(chat) for chat in range(1, 6)]
    assert waits == pytest.approx([0.0, 0.04, 0.08, 0.12, 0.16])
    # The same chat again: not before a second after its previous slot.
    assert await rate.reserve(1) == pytest.approx(1.0)
    # An album of 3 takes three slots of the bot's.
    assert await rate.reserve(10, 3) == pytest.approx(1.04)
    assert await rate.reserve(11) == pytest.approx(1.16)


async def test_a_pause_holds_every_slot_back() -> None:
    clock = FakeClock()
    rate = LocalSendRate(25.0, clock=clock)
    await rate.pause(5.0)
    assert await rate.paused_for() == pytest.approx(5.0)
    assert await rate.reserve(1) == pytest.approx(5.0)
    clock.now += 6.0
    assert await rate.paused_for() == 0.0
    assert await rate.reserve(2) == 0.0


@pytest.fixture
async def redis() -> AsyncIterator[Redis]:
    url = os.environ.get("SHOPBOT_TEST_REDIS_URL")
    if not url:
        pytest.skip("SHOPBOT_TEST_REDIS_URL is not set (CI sets it)")
    client = Redis.from_url(url)
    yield client
    await client.aclose()


async def test_replicas_sharing_redis_get_distinct_slots(redis: Redis) -> None:
    prefix = f"test:send_rate:{uuid.uuid4().hex}"
    replicas: list[SendRate] = [RedisSendRate(redis, 20.0, prefix=prefix) for _ in range(3)]
    waits = await asyncio.gather(
        *(replica.reserve(chat) for chat, replica in enumerate(replicas * 10))
    )
    # 30 slots 50 ms apart, whichever replica took which: the last one 1.45 s away.
    assert sorted(waits)[-1] == pytest.approx(1.45, abs=0.1)
    ordered = sorted(waits)
    gaps = [later - earlier for earlier, later in itertools.pairwise(ordered)]
    assert min(gaps) == pytest.approx(0.05, abs=0.01)


async def test_a_pause_in_one_replica_holds_the_others(redis: Redis) -> None:
    prefix = f"test:send_rate:{uuid.uuid4().hex}"
    refused, other = (
        RedisSendRate(redis, 25.0, prefix=prefix),
        RedisSendRate(redis, 25.0, prefix=prefix),
    )
    await refused.pause(3.0)
    assert await other.paused_for() == pytest.approx(3.0, abs=0.1)
    assert await other.reserve(42) == pytest.approx(3.0, abs=0.1)
    assert await other.reserve(42) == pytest.approx(4.0, abs=0.1)  # the chat's second


async def test_a_conversations_message_takes_a_slot_without_waiting_for_one() -> None:
    clock = FakeClock()
    rate = LocalSendRate(25.0, clock=clock)
    for _ in range(5):
        await rate.note(7)  # a shopper's answers: never held back, however many
    # The bulk's next slot comes after theirs; that chat's not within a second.
    assert await rate.reserve(8) == pytest.approx(0.2)
    assert await rate.reserve(7) == pytest.approx(1.0)


async def test_redis_notes_take_the_shared_slots(redis: Redis) -> None:
    prefix = f"test:send_rate:{uuid.uuid4().hex}"
    rate = RedisSendRate(redis, 25.0, prefix=prefix)
    for _ in range(5):
        await rate.note(7)
    assert await rate.reserve(8) == pytest.approx(0.2, abs=0.05)
    assert await rate.reserve(7) == pytest.approx(1.0, abs=0.05)
