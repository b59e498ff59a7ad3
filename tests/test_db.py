"""SQLite transaction control: reads start with a plain BEGIN, writes take the lock up front."""

from __future__ import annotations

import asyncio
import sqlite3

import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from shopbot import db
from shopbot.db import create_engine, create_session_factory, write_transaction
from shopbot.models import Category, Product


def take_write_lock(database_url: str) -> bool:
    """Can another process start a write on this SQLite file right now?"""
    path = database_url.removeprefix("sqlite+aiosqlite:///")
    other = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        other.execute("ROLLBACK")
        return True
    except sqlite3.OperationalError as exc:
        assert "locked" in str(exc)
        return False
    finally:
        other.close()


async def test_writes_take_the_lock_before_their_first_statement(
    database_url: str, session: AsyncSession
) -> None:
    if not database_url.startswith("sqlite"):
        pytest.skip("SQLite's locking")
    await session.scalar(select(Product.id))  # a read transaction is open
    assert take_write_lock(database_url), "a read does not hold the write lock"
    async with write_transaction(session):
        assert not take_write_lock(database_url), "BEGIN IMMEDIATE took it at once"
    assert take_write_lock(database_url), "and the commit let it go"


@pytest.mark.usefixtures("engine")  # the migrated file
async def test_writers_of_one_process_wait_for_each_other_not_for_sqlite(
    database_url: str,
) -> None:
    """With no busy timeout at all, SQLite would refuse every write that met another one
    ("database is locked"); queued in the process, all of them get their turn."""
    if not database_url.startswith("sqlite"):
        pytest.skip("SQLite's locking")
    engine = create_engine(database_url, sqlite_busy_timeout_ms=0)
    session_factory = create_session_factory(engine)
    order: list[str] = []

    async def write(number: int) -> None:
        async with session_factory() as session, write_transaction(session):
            order.append(f"begin {number}")
            await session.execute(insert(Category).values(name=f"c{number}", path=f"c{number}"))
            await asyncio.sleep(0.005)  # the others arrive while this one holds the lock
            order.append(f"end {number}")

    try:
        await asyncio.gather(*(write(number) for number in range(8)))
        async with session_factory() as session:
            assert await session.scalar(select(func.count()).select_from(Category)) == 8
    finally:
        await engine.dispose()
    assert all(
        begin.startswith("begin") and end == "end" + begin.removeprefix("begin")
        for begin, end in zip(order[::2], order[1::2], strict=True)
    ), order


@pytest.mark.usefixtures("engine")  # the migrated file
async def test_a_writer_waiting_too_long_gives_up(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A write nested in another one, on a second session, fails instead of hanging."""
    if not database_url.startswith("sqlite"):
        pytest.skip("SQLite's locking")
    monkeypatch.setattr(db, "WRITER_TURN_TIMEOUT", 0.05)
    engine = create_engine(database_url)
    session_factory = create_session_factory(engine)
    try:
        async with (
            session_factory() as outer,
            write_transaction(outer),
            session_factory() as inner,
        ):
            with pytest.raises(TimeoutError):
                async with write_transaction(inner):
                    pass
    finally:
        await engine.dispose()
