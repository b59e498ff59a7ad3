"""Engine, sessions and migrations.

SQLite runs in WAL mode with foreign keys on and a busy timeout. Reads use a deferred
``BEGIN``; write units of work start with ``BEGIN IMMEDIATE`` (see :func:`write_transaction`)
so two writers queue on the lock instead of failing when a read turns into a write. Writers
of one process queue on an asyncio lock first: SQLite's busy handler waits by sleeping and
polling (1, 2, 5 … 100 ms), which under a burst of add-to-carts put hundreds of
milliseconds on the median; the busy timeout is left for other processes (``shopbot import``).
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncIterator, Callable, Collection
from contextlib import AbstractAsyncContextManager, asynccontextmanager, nullcontext
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, Engine, event
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.sql.dml import UpdateBase

from shopbot.sqlite_driver import connector

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"
IMMEDIATE = "shopbot_immediate"
SQLITE_BUSY_TIMEOUT_MS = 30_000
WRITER_TURN_TIMEOUT = 30.0  # seconds a write waits for this process's other writers


def create_engine(
    url: str, *, sqlite_busy_timeout_ms: int = SQLITE_BUSY_TIMEOUT_MS, **kwargs: Any
) -> AsyncEngine:
    """An async engine; for SQLite, with the pragmas and transaction control shopbot relies on
    (``sqlite_busy_timeout_ms``: how long a write waits for another process's lock)."""
    if url.startswith("sqlite"):
        timeout = sqlite_busy_timeout_ms / 1000
        kwargs.setdefault("async_creator", connector(url, timeout=timeout))
        engine = create_async_engine(url, **kwargs)
        _configure_sqlite(engine, sqlite_busy_timeout_ms)
        _WRITER_QUEUES[engine.sync_engine] = _WriterQueue()
        return engine
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 20)
    return create_async_engine(url, pool_pre_ping=True, **kwargs)


def _configure_sqlite(engine: AsyncEngine, busy_timeout_ms: int) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control from pysqlite so BEGIN is emitted by us (below).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={busy_timeout_ms}")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Connection) -> None:
        immediate = connection.get_execution_options().get(IMMEDIATE, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def create_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions whose objects stay usable after commits and failed units of work.

    Bulk ``update()``/``delete()`` statements do not touch objects in the session
    (``synchronize_session=False``): services re-read what they need, and a rolled-back
    SAVEPOINT then has nothing to expire.
    """
    return async_sessionmaker(
        engine,
        expire_on_commit=False,
        autoflush=False,
        execution_options={"synchronize_session": False},
    )


class _WriterQueue:
    """The SQLite engine's writers in this process, one at a time, per event loop.

    Waiting longer than ``WRITER_TURN_TIMEOUT`` raises ``TimeoutError``, as SQLite's busy
    timeout would have raised "database is locked" (a write nested inside another one on a
    second session would otherwise wait forever).
    """

    def __init__(self) -> None:
        self._locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
            weakref.WeakKeyDictionary()
        )

    @asynccontextmanager
    async def turn(self) -> AsyncIterator[None]:
        loop = asyncio.get_running_loop()
        lock = self._locks.get(loop)
        if lock is None:
            lock = self._locks[loop] = asyncio.Lock()
        async with asyncio.timeout(WRITER_TURN_TIMEOUT):
            await lock.acquire()
        try:
            yield
        finally:
            lock.release()


_WRITER_QUEUES: weakref.WeakKeyDictionary[Engine, _WriterQueue] = weakref.WeakKeyDictionary()


def _writer_turn(session: AsyncSession) -> AbstractAsyncContextManager[None]:
    queue = _WRITER_QUEUES.get(session.bind.sync_engine)
    return queue.turn() if queue is not None else nullcontext()


@asynccontextmanager
async def write_transaction(session: AsyncSession) -> AsyncIterator[AsyncSession]:
    """One unit of work that writes: commits on success, undoes everything on any error.

    A read transaction still open on the session is ended first, so the write starts fresh
    (and on SQLite waits for this process's other writers, then takes the write lock with
    ``BEGIN IMMEDIATE`` before its first statement, even a read). If the session holds
    objects the caller loaded earlier, the work runs in a SAVEPOINT: a failure rolls back
    only that, so those objects stay usable (a full rollback would expire them all), and the
    empty transaction is then closed. With nothing to keep, a failure simply rolls back, and
    the write costs two statements less.
    """
    if session.in_transaction():
        await session.commit()
    async with _writer_turn(session):
        await session.connection(execution_options={IMMEDIATE: True})
        if session.identity_map or session.new:
            try:
                async with session.begin_nested():
                    yield session
            finally:
                await session.commit()
        else:
            try:
                yield session
            except BaseException:
                await session.rollback()
                raise
            await session.commit()


def on_writes_done(
    engine: AsyncEngine, tables: Collection[str], callback: Callable[[], None]
) -> None:
    """Call ``callback`` whenever a connection that wrote to any of ``tables`` (INSERT, UPDATE
    or DELETE, ORM or Core) goes back to the pool, i.e. after its transaction has ended.

    Called after the commit, never before it, so whoever reads in response sees the change.
    A rolled-back write calls it too (harmless: nothing changed). Writes made by other
    processes are not seen here.
    """
    flag = f"shopbot_wrote_{id(callback)}"
    watched = frozenset(tables)

    @event.listens_for(engine.sync_engine, "after_execute")
    def _after_execute(connection: Connection, statement: Any, *_args: Any) -> None:
        if isinstance(statement, UpdateBase) and getattr(statement.table, "name", None) in watched:
            connection.info[flag] = True

    @event.listens_for(engine.sync_engine.pool, "checkin")
    def _checkin(_dbapi_connection: Any, record: Any) -> None:
        if record is not None and record.info.pop(flag, False):
            callback()


def alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    return cfg


async def migrate(engine: AsyncEngine, revision: str = "head") -> None:
    """Bring the database to ``revision`` using the engine's own connection (works in a loop)."""

    def upgrade(connection: Connection) -> None:
        cfg = alembic_config()
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, revision)

    async with engine.begin() as connection:
        await connection.run_sync(upgrade)


async def current_revision(engine: AsyncEngine) -> str | None:
    def read(connection: Connection) -> str | None:
        return MigrationContext.configure(connection).get_current_revision()

    async with engine.connect() as connection:
        return await connection.run_sync(read)


def upsert(session: AsyncSession, table: Any) -> Any:
    """An ``INSERT`` supporting ``on_conflict_do_update`` for the session's dialect."""
    return upsert_for(session.bind.dialect.name, table)


def upsert_for(dialect: str, table: Any) -> Any:
    """:func:`upsert` for a dialect by name (for statements built once per dialect)."""
    if dialect == "postgresql":
        return postgresql_insert(table)
    return sqlite_insert(table)
