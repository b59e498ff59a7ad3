"""FSM storage in the shop's own database, so a shopper's checkout step survives restarts
without extra infrastructure (Redis is used instead when REDIS_URL is set)."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from contextvars import ContextVar
from typing import Any

from aiogram.fsm.state import State
from aiogram.fsm.storage.base import BaseStorage, DefaultKeyBuilder, KeyBuilder, StorageKey
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shopbot.db import in_unit, unit_of_work, upsert
from shopbot.models import FsmState

_update_session: ContextVar[AsyncSession | None] = ContextVar("update_session", default=None)


@contextmanager
def serving_update(session: AsyncSession) -> Iterator[None]:
    """Within this block, FSM state is read and written through ``session`` (the update's
    own): one update holds one pooled connection, never a second one while waiting for it."""
    token = _update_session.set(session)
    try:
        yield
    finally:
        _update_session.reset(token)


class DatabaseStorage(BaseStorage):
    """FSM state and data in the ``fsm_state`` table.

    Reads and writes go through the session of the update being handled (see
    :func:`serving_update`), or a session of their own outside one (aiogram reads the state
    before the update's session is open). A write joins the update's unit of work when one
    is open, so a checkout step and its state commit together.

    aiogram reads the state of every update's chat, so states are also kept in memory, per
    key (the ``cache_size`` most recently used): read from the database once, then updated
    by every write made through this object that committed on its own (one made inside a
    larger unit of work is read again next time, since that unit may still roll back). One
    bot process owns these rows; a new storage object (a restart) starts empty.
    Data is not cached: it is read only inside conversations.
    """

    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        key_builder: KeyBuilder | None = None,
        cache_size: int = 10_000,
    ) -> None:
        self.session_factory = session_factory
        self.key_builder = key_builder or DefaultKeyBuilder(with_destiny=True)
        self.cache_size = cache_size
        self._states: OrderedDict[str, str | None] = OrderedDict()
        # Bumped after every write: a read that overlapped a write may be stale, not cached.
        self._writes = 0

    async def set_state(self, key: StorageKey, state: str | State | None = None) -> None:
        value = state.state if isinstance(state, State) else state
        await self._write(key, {"state": value})

    async def get_state(self, key: StorageKey) -> str | None:
        built = self.key_builder.build(key)
        if built in self._states:
            self._states.move_to_end(built)
            return self._states[built]
        writes = self._writes
        row = await self._read(built)
        state = row.state if row else None
        if writes == self._writes:
            self._remember(built, state)
        return state

    async def set_data(self, key: StorageKey, data: Mapping[str, Any]) -> None:
        await self._write(key, {"data": dict(data)})

    async def get_data(self, key: StorageKey) -> dict[str, Any]:
        row = await self._read(self.key_builder.build(key))
        return dict(row.data or {}) if row else {}

    async def close(self) -> None:
        """Nothing to close: the sessions belong to the updates."""

    @asynccontextmanager
    async def _session(self) -> AsyncIterator[AsyncSession]:
        session = _update_session.get()
        if session is not None:
            yield session
            return
        async with self.session_factory() as own:
            yield own

    async def _read(self, built: str) -> FsmState | None:
        async with self._session() as session:
            return await session.scalar(
                select(FsmState)
                .where(FsmState.key == built)
                .execution_options(populate_existing=True)
            )

    def _remember(self, built: str, state: str | None) -> None:
        self._states[built] = state
        self._states.move_to_end(built)
        if len(self._states) > self.cache_size:
            self._states.popitem(last=False)

    async def _write(self, key: StorageKey, values: dict[str, Any]) -> None:
        built = self.key_builder.build(key)
        try:
            async with self._session() as session:
                state = await self._store(session, built, values)
                joined = in_unit(session)  # a larger unit, or this one held for the update
        except BaseException:
            self._states.pop(built, None)  # the outcome is unknown: read it again next time
            raise
        else:
            if joined:
                self._states.pop(built, None)
            else:
                self._remember(built, state)
        finally:
            self._writes += 1

    async def _store(self, session: AsyncSession, built: str, values: dict[str, Any]) -> str | None:
        """Merge ``values`` into the row (deleted when left empty); the resulting state."""
        async with unit_of_work(session):
            row = await session.scalar(
                select(FsmState)
                .where(FsmState.key == built)
                .execution_options(populate_existing=True)
            )
            merged = {
                "state": row.state if row else None,
                "data": row.data if row else {},
                **values,
            }
            if merged["state"] is None and not merged["data"]:
                await session.execute(delete(FsmState).where(FsmState.key == built))
                return None
            statement = upsert(session, FsmState).values(key=built, **merged)
            await session.execute(
                statement.on_conflict_do_update(index_elements=[FsmState.key], set_=merged)
            )
            return merged["state"]
