"""FSM storage in the shop's own database, so a shopper's checkout step survives restarts
without extra infrastructure (Redis is used instead when REDIS_URL is set)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aiogram.fsm.state import State
from aiogram.fsm.storage.base import BaseStorage, DefaultKeyBuilder, KeyBuilder, StorageKey
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shopbot.db import upsert, write_transaction
from shopbot.models import FsmState


class DatabaseStorage(BaseStorage):
    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        key_builder: KeyBuilder | None = None,
    ) -> None:
        self.session_factory = session_factory
        self.key_builder = key_builder or DefaultKeyBuilder(with_destiny=True)

    async def set_state(self, key: StorageKey, state: str | State | None = None) -> None:
        value = state.state if isinstance(state, State) else state
        await self._write(key, {"state": value})

    async def get_state(self, key: StorageKey) -> str | None:
        row = await self._read(key)
        return row.state if row else None

    async def set_data(self, key: StorageKey, data: Mapping[str, Any]) -> None:
        await self._write(key, {"data": dict(data)})

    async def get_data(self, key: StorageKey) -> dict[str, Any]:
        row = await self._read(key)
        return dict(row.data or {}) if row else {}

    async def close(self) -> None:
        """Nothing to close: sessions are opened per call."""

    async def _read(self, key: StorageKey) -> FsmState | None:
        async with self.session_factory() as session:
            return await session.scalar(
                select(FsmState).where(FsmState.key == self.key_builder.build(key))
            )

    async def _write(self, key: StorageKey, values: dict[str, Any]) -> None:
        built = self.key_builder.build(key)
        async with self.session_factory() as session, write_transaction(session):
            row = await session.scalar(select(FsmState).where(FsmState.key == built))
            merged = {
                "state": row.state if row else None,
                "data": row.data if row else {},
                **values,
            }
            if merged["state"] is None and not merged["data"]:
                await session.execute(delete(FsmState).where(FsmState.key == built))
                return
            statement = upsert(session, FsmState).values(key=built, **merged)
            await session.execute(
                statement.on_conflict_do_update(index_elements=[FsmState.key], set_=merged)
            )
