"""The per-shopper lock across replicas is a lease: renewed while its update is handled,
free soon after its replica died (not after aiogram's default minute)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
import uuid
from collections.abc import AsyncIterator

import pytest
from aiogram.fsm.storage.base import StorageKey
from redis.asyncio import Redis
from redis.asyncio.lock import Lock

from shopbot.bot import isolation
from shopbot.bot.isolation import LeasedRedisIsolation

REDIS_URL = os.environ.get("SHOPBOT_TEST_REDIS_URL")
pytestmark = pytest.mark.skipif(not REDIS_URL, reason="SHOPBOT_TEST_REDIS_URL is not set")
LEASE = 0.6


@pytest.fixture
async def redis(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Redis]:
    monkeypatch.setattr(isolation, "LEASE_SECONDS", LEASE)
    assert REDIS_URL is not None
    client = Redis.from_url(REDIS_URL)
    yield client
    await client.aclose()


def a_shopper() -> StorageKey:
    user = int(uuid.uuid4().int % 10**12) + 10**12  # nobody else's keys
    return StorageKey(bot_id=42, chat_id=user, user_id=user)


async def test_a_long_update_keeps_its_lock_past_the_lease(redis: Redis) -> None:
    key = a_shopper()
    one, other = LeasedRedisIsolation(redis), LeasedRedisIsolation(redis)
    order: list[str] = []

    async def long_update() -> None:
        async with one.lock(key):
            order.append("first starts")
            await asyncio.sleep(LEASE * 3)
            order.append("first ends")

    async def next_update() -> None:
        await asyncio.sleep(LEASE / 4)
        async with other.lock(key):
            order.append("second")

    await asyncio.gather(long_update(), next_update())
    assert order == ["first starts", "first ends", "second"]


async def test_a_dead_replicas_lock_is_free_within_the_lease(redis: Redis) -> None:
    key = a_shopper()
    survivor = LeasedRedisIsolation(redis)
    name = survivor.key_builder.build(key, "lock")
    dead = Lock(redis, name, timeout=LEASE)  # taken, never renewed nor released: SIGKILL
    assert await dead.acquire(blocking=False)
    started = time.monotonic()
    async with survivor.lock(key):
        waited = time.monotonic() - started
    assert 0 < waited < LEASE + 0.5


async def test_an_update_ends_though_its_renewal_missed_the_cancellation(
    redis: Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On Python 3.11 ``asyncio.wait_for`` (around redis-py's socket writes) swallows a
    cancellation that comes as its write finishes: the renewal stops all the same, the
    update ends and the shopper's next one gets the lock."""
    reacquire = Lock.reacquire

    async def deaf_reacquire(self: Lock) -> bool:
        # The write in flight as the update ends; its cancellation lost, as wait_for loses
        # it when the write is done at that moment.
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.sleep(LEASE / 2)
        return await reacquire(self)

    monkeypatch.setattr(Lock, "reacquire", deaf_reacquire)
    key = a_shopper()
    one, other = LeasedRedisIsolation(redis), LeasedRedisIsolation(redis)

    async def an_update_then_the_next() -> None:
        async with one.lock(key):
            await asyncio.sleep(LEASE / 3 + LEASE / 6)  # ends while a renewal is in flight
        async with other.lock(key):
            pass

    both = asyncio.create_task(an_update_then_the_next())
    done, _pending = await asyncio.wait([both], timeout=LEASE * 5)
    both.cancel()
    assert both in done
