"""The one-trip SQLite cursor: what SQLAlchemy reads from a cursor comes back right, in one
crossing to the connection's thread per statement."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, func, insert, select, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine

from shopbot.db import create_engine
from shopbot.sqlite_driver import OneTripConnection

metadata = MetaData()
things = Table(
    "thing",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(32), unique=True, nullable=False),
)


@pytest.fixture
async def sqlite_engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'driver.db'}")
    async with engine.begin() as connection:
        await connection.run_sync(metadata.create_all)
    yield engine
    await engine.dispose()


class Trips(list[str]):
    """The functions sent to the connections' threads (by name), once started."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        super().__init__()
        self.monkeypatch = monkeypatch

    def start(self) -> None:
        original = OneTripConnection._execute
        trips = self

        async def counted(self: OneTripConnection, fn: Any, *args: Any, **kwargs: Any) -> Any:
            trips.append(getattr(fn, "__name__", repr(fn)))
            return await original(self, fn, *args, **kwargs)

        self.monkeypatch.setattr(OneTripConnection, "_execute", counted)


@pytest.fixture
def trips(monkeypatch: pytest.MonkeyPatch) -> Trips:
    return Trips(monkeypatch)


async def test_a_statement_is_one_trip_to_the_thread(
    sqlite_engine: AsyncEngine, trips: Trips
) -> None:
    async with sqlite_engine.connect() as connection:
        await connection.execute(select(1))  # the transaction (BEGIN) is open now
        trips.start()
        assert (await connection.execute(select(func.count()).select_from(things))).scalar() == 0
        assert len(trips) == 1


async def test_rows_counts_ids_and_errors_come_back(sqlite_engine: AsyncEngine) -> None:
    async with sqlite_engine.begin() as connection:
        many = await connection.execute(insert(things), [{"name": "кружка"}, {"name": "значок"}])
        assert many.rowcount == 2
        one = await connection.execute(insert(things).values(name="блокнот"))
        assert one.inserted_primary_key == (3,)  # from the cursor's lastrowid
        rows = (await connection.execute(select(things.c.name).order_by(things.c.id))).all()
        assert [row.name for row in rows] == ["кружка", "значок", "блокнот"]
        changed = await connection.execute(
            update(things).where(things.c.id < 3).values(name=func.upper(things.c.name))
        )
        assert changed.rowcount == 2

    async with sqlite_engine.connect() as connection:
        with pytest.raises(IntegrityError):
            await connection.execute(insert(things).values(name="блокнот"))
        await connection.rollback()
        with pytest.raises(OperationalError, match="no such table"):
            await connection.execute(
                select(func.count()).select_from(
                    Table("missing", MetaData(), Column("id", Integer))
                )
            )
        await connection.rollback()
        # The connection goes on after errors.
        assert (await connection.execute(select(func.count()).select_from(things))).scalar() == 3


async def test_a_transaction_costs_its_statements_and_the_commit(
    sqlite_engine: AsyncEngine, trips: Trips
) -> None:
    """BEGIN travels with the first statement; the pool's reset after a commit is not sent."""
    async with sqlite_engine.connect() as warm:  # the pool's connection exists
        await warm.execute(select(1))
    trips.start()
    async with sqlite_engine.begin() as connection:
        await connection.execute(insert(things).values(name="кружка"))
    assert trips == ["_run", "commit"]

    trips.clear()
    async with sqlite_engine.begin():
        pass
    assert trips == []  # a transaction that ran nothing never reached SQLite

    connection = await sqlite_engine.connect()
    await connection.execute(insert(things).values(name="значок"))
    await connection.close()  # returned with its transaction open: the pool rolls it back
    assert trips == ["_run", "rollback"]
    async with sqlite_engine.connect() as check:
        names = (await check.execute(select(things.c.name))).scalars().all()
    assert names == ["кружка"]


async def test_a_begin_that_cannot_take_the_lock_fails_its_first_statement(
    tmp_path: Path,
) -> None:
    path = tmp_path / "busy.db"
    engine = create_engine(f"sqlite+aiosqlite:///{path}", sqlite_busy_timeout_ms=0)
    async with engine.begin() as connection:
        await connection.run_sync(metadata.create_all)
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another process is writing
    try:
        async with engine.connect() as connection:
            connection = await connection.execution_options(shopbot_immediate=True)
            with pytest.raises(OperationalError, match="database is locked"):
                await connection.execute(insert(things).values(name="кружка"))
            await connection.rollback()
        other.execute("ROLLBACK")
        async with engine.begin() as connection:  # the same pooled connection, usable again
            await connection.execute(insert(things).values(name="кружка"))
            assert (
                await connection.execute(select(func.count()).select_from(things))
            ).scalar() == 1
    finally:
        other.close()
        await engine.dispose()
