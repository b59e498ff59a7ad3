"""One shopper's updates one at a time across replicas, without a dead replica holding a
shopper up for a minute.

aiogram's :class:`RedisEventIsolation` takes a Redis lock per chat and user that expires
after 60 s, so that a replica which dies holding it does not block that shopper forever,
but until then it does: Telegram's redelivery of the update the dead replica was handling
waits out the minute at another replica. Here the lock is a lease: it expires after
:data:`LEASE_SECONDS` unless renewed, and the replica holding it renews it every third of
that while the update is handled, so a slow update keeps its lock and a dead replica's lock
is free within seconds.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from aiogram.fsm.storage.base import StorageKey
from aiogram.fsm.storage.redis import RedisEventIsolation
from redis.asyncio.lock import Lock
from redis.exceptions import LockError, RedisError

log = logging.getLogger(__name__)

LEASE_SECONDS = 6.0
POLL_SECONDS = 0.02  # between attempts to take a lock another update of the shopper holds


class LeasedRedisIsolation(RedisEventIsolation):
    """:class:`RedisEventIsolation` whose per-shopper lock is a renewed lease."""

    @asynccontextmanager
    async def lock(self, key: StorageKey) -> AsyncIterator[None]:
        name = self.key_builder.build(key, "lock")
        lease = Lock(self.redis, name, timeout=LEASE_SECONDS, sleep=POLL_SECONDS)
        async with lease:
            done = asyncio.Event()
            renewing = asyncio.create_task(self._renew(lease, done))
            try:
                yield None
            finally:
                done.set()
                renewing.cancel()
                await asyncio.wait([renewing])  # a cancellation of this update still counts

    @staticmethod
    async def _renew(lease: Lock, done: asyncio.Event) -> None:
        """Renew until ``done``. Cancelling alone is not enough to stop it: on Python 3.11
        ``asyncio.wait_for`` (redis-py wraps socket writes in it) swallows a cancellation
        that comes as the write finishes, and the loop then renewed the lease for ever,
        its update's end waiting on it and the shopper's next updates on the lease."""
        while not done.is_set():
            await asyncio.sleep(LEASE_SECONDS / 3)
            if done.is_set():
                return
            try:
                await lease.reacquire()
            except (LockError, RedisError):
                log.warning("could not renew the shopper's lock %s", lease.name)
                return
