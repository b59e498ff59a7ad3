"""In-memory copies of what the database says, dropped when a unit of work changes them."""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from shopbot.db import CommitHooks

V = TypeVar("V")


class TableCache(Generic[V]):
    """Values loaded from the database, kept until a unit of work of this process commits
    a change to ``topic`` (see :func:`shopbot.db.changed`), or for ``max_age`` seconds
    (other processes' writes are not seen here: the age bounds how stale they can be).

    Loads run in the caller's session (a second connection per update could exhaust the
    pool). A value is kept only if its load began a fresh transaction (an older snapshot
    may predate a change that already emptied the cache) and no change committed while it
    ran.
    """

    def __init__(
        self,
        hooks: CommitHooks,
        topic: str,
        *,
        max_age: float = math.inf,
        max_entries: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_age = max_age
        self.max_entries = max_entries
        self.clock = clock
        self._hooks = hooks
        self._topic = topic
        self._entries: OrderedDict[Hashable, tuple[float, V]] = OrderedDict()
        hooks.on_commit(topic, self.clear)

    def clear(self) -> None:
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
        version = self._hooks.version(self._topic)
        fresh_snapshot = not session.in_transaction()
        value = await load()
        if fresh_snapshot and version == self._hooks.version(self._topic) and self.max_age > 0:
            self._entries[key] = (now, value)
            self._entries.move_to_end(key)
            if len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)
        return value
