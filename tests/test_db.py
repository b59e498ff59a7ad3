"""SQLite transaction control: reads start with a plain BEGIN, writes take the lock with their
first statement, and writers of one process queue before SQLite's lock."""

from __future__ import annotations

import asyncio
import sqlite3

import pytest
from sqlalchemy import event, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from shopbot import db
from shopbot.db import create_engine, create_session_factory, unit_of_work
from shopbot.models import Category, Product
from tests.factories import make_product


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


async def test_writes_take_the_lock_with_their_first_statement(
    database_url: str, session: AsyncSession
) -> None:
    if not database_url.startswith("sqlite"):
        pytest.skip("SQLite's locking")
    await session.scalar(select(Product.id))  # a read transaction is open
    assert take_write_lock(database_url), "a read does not hold the write lock"
    async with unit_of_work(session):
        await session.scalar(select(Product.id))  # a write's first statement may be a read
        assert not take_write_lock(database_url), "BEGIN IMMEDIATE took it with that read"
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
        async with session_factory() as session, unit_of_work(session):
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
            unit_of_work(outer),
            session_factory() as inner,
        ):
            with pytest.raises(TimeoutError):
                async with unit_of_work(inner):
                    pass
    finally:
        await engine.dispose()


class Boom(Exception):
    pass


def statements_of(engine: AsyncEngine) -> list[str]:
    seen: list[str] = []
    event.listen(
        engine.sync_engine,
        "before_cursor_execute",
        lambda _conn, _cursor, statement, *_rest: seen.append(statement.split()[0]),
    )
    return seen


async def test_a_failed_write_leaves_nothing_and_the_session_usable(
    engine: AsyncEngine, session: AsyncSession
) -> None:
    seen = statements_of(engine)
    with pytest.raises(Boom):
        async with unit_of_work(session):
            await session.execute(insert(Category).values(name="Кружки", path="Кружки"))
            raise Boom
    assert "SAVEPOINT" not in seen  # nothing loaded earlier: no savepoint needed
    assert await session.scalar(select(func.count()).select_from(Category)) == 0
    async with unit_of_work(session):
        await session.execute(insert(Category).values(name="Кружки", path="Кружки"))
    assert await session.scalar(select(func.count()).select_from(Category)) == 1


async def test_a_failed_write_keeps_what_the_caller_loaded_before(
    engine: AsyncEngine, session: AsyncSession
) -> None:
    product = await make_product(session, sku="MUG-1", name="Кружка")
    await session.commit()
    loaded = await session.get(Product, product.id)
    assert loaded is not None
    seen = statements_of(engine)
    with pytest.raises(Boom):
        async with unit_of_work(session):
            await session.execute(update(Product).values(stock=0))
            raise Boom
    assert "SAVEPOINT" in seen
    assert loaded.name == "Кружка"  # not expired: reading it needs no database trip
    assert await session.scalar(select(Product.stock).where(Product.id == product.id)) != 0


@pytest.mark.parametrize(
    ("loaded_before", "cancelled_at"),
    [(False, "UPDATE"), (True, "UPDATE"), (True, "RELEASE")],
    ids=["fresh-mid-work", "objects-loaded-mid-work", "objects-loaded-releasing-savepoint"],
)
async def test_a_cancelled_unit_ends_in_cancellation(
    engine: AsyncEngine, session: AsyncSession, loaded_before: bool, cancelled_at: str
) -> None:
    """Stopping a job cancels its unit wherever it is; SQLAlchemy then invalidates the
    connection. The cancellation must come out of the unit as it went in: replaced by the
    failed commit that follows, the job's loop would log an error and never stop."""
    product_id = (await make_product(session, sku="MUG-1", name="Кружка")).id
    await session.commit()
    loaded = await session.get(Product, product_id) if loaded_before else None
    if loaded is None:
        session.expunge_all()
    assert bool(session.identity_map) is loaded_before  # with objects, a SAVEPOINT

    async def job() -> None:
        async with unit_of_work(session):
            await session.execute(update(Product).values(stock=0))

    task = asyncio.create_task(job())

    def cancel_on(_conn: object, _cursor: object, statement: str, *_rest: object) -> None:
        if statement.startswith(cancelled_at):
            task.cancel()  # lands while this statement is awaited

    event.listen(engine.sync_engine, "before_cursor_execute", cancel_on)
    try:
        with pytest.raises(asyncio.CancelledError):
            await task
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", cancel_on)
    assert not db.in_unit(session)
    await session.rollback()
    assert await session.scalar(select(Product.stock).where(Product.id == product_id)) != 0
