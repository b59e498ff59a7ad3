"""In-memory copies of what some tables say, dropped whenever this process writes to them."""

from __future__ import annotations

import asyncio
import math
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Collection, Hashable
from typing import Generic, TypeVar

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from shopbot.db import on_writes_done

V = TypeVar("V")


class TableCache(Generic[V]):
    """Values loaded from ``tables``, kept until this process writes to any of them.

    A write ends every entry as soon as its transaction ends (see :func:`db.on_writes_done`),
    so the next read sees it. Other processes' writes are not seen: entries older than
    ``max_age`` seconds are loaded again, which bounds how stale they can be.

    Loads run in the caller's session (a second connection per update could exhaust the
    pool under load). A value is kept only if its load began a fresh transaction — an older
    snapshot may predate a write that already emptied the cache — and no write ended while
    it ran. Callers asking for a key already being loaded wait for that load instead of
    starting their own (under load, an expired page was otherwise read once per shopper
    waiting for it), unless a write ended since it began; if it fails, each loads itself.
    """

    def __init__(
        self,
        engine: AsyncEngine,
        tables: Collection[str],
        *,
        max_age: float = math.inf,
        max_entries: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_age = max_age
        self.max_entries = max_entries
        self.clock = clock
        self._entries: OrderedDict[Hashable, tuple[float, V]] = OrderedDict()
        self._generation = 0
        self._loading: dict[Hashable, tuple[int, asyncio.Future[V]]] = {}
        on_writes_done(engine, tables, self.clear)

    def clear(self) -> None:
        self._generation += 1
        self._entries.clear()

    async def get(
        self, session: AsyncSession, key: Hashable, load: Callable[[], Awaitable[V]]
    ) -> V:
        """The kept value for ``key``, or what ``load`` (using ``session``) returns now."""
        now = self.clock()
        entry = self._entries.get(key)
        if entry is not None and now - entry[0] < self.max_age:
            self._entries.move_to_end(key)
            return entry[1]
        generation = self._generation
        loading = self._loading.get(key)
        if loading is not None and loading[0] == generation:
            shared = loading[1]
            await asyncio.wait([shared])  # its outcome is the loader's to raise, not ours
            if not shared.cancelled() and shared.exception() is None:
                return shared.result()
            generation = self._generation
        shared = asyncio.get_running_loop().create_future()
        self._loading[key] = (generation, shared)
        fresh_snapshot = not session.in_transaction()
        try:
            value = await load()
        except BaseException:
            shared.cancel()
            raise
        else:
            shared.set_result(value)
        finally:
            if self._loading.get(key, (None, None))[1] is shared:
                del self._loading[key]
        if fresh_snapshot and generation == self._generation and self.max_age > 0:
            self._entries[key] = (now, value)
            self._entries.move_to_end(key)
            if len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)
        return value
