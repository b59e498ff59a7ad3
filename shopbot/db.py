"""Engine, sessions and migrations.

SQLite runs in WAL mode with foreign keys on and a busy timeout. Reads use a deferred
``BEGIN``; units of work start with ``BEGIN IMMEDIATE`` (see :func:`unit_of_work`)
so two writers queue on the lock instead of failing when a read turns into a write. Writers
of one process queue on an asyncio lock first: SQLite's busy handler waits by sleeping and
polling (1, 2, 5 … 100 ms), which under a burst of add-to-carts put hundreds of
milliseconds on the median; the busy timeout is left for other processes (``shopbot import``).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import (
    AbstractAsyncContextManager,
    AsyncExitStack,
    asynccontextmanager,
    contextmanager,
    nullcontext,
)
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Column, Connection, Engine, Executable, event, text
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from shopbot.sqlite_driver import connector

log = logging.getLogger(__name__)

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
    SAVEPOINT then has nothing to expire. Every session of one factory shares one
    :class:`CommitHooks` (``commit_hooks(factory)``).
    """
    return async_sessionmaker(
        engine,
        expire_on_commit=False,
        autoflush=False,
        execution_options={"synchronize_session": False},
        info={_HOOKS: CommitHooks()},
    )


_HOOKS = "shopbot.commit_hooks"
_UNIT = "shopbot.unit"
_WITH_NEXT_UNIT = "shopbot.with_next_unit"
_HOLD = "shopbot.hold"  # the next unit to end keeps its transaction open (holding_commit)
_HELD = "shopbot.held"  # that unit's writer turn, until commit_held or rollback_held
# The session holding a unit in this task: a unit of another session commits it first, since
# it would otherwise wait for the held writer's turn (SQLite) or rows (PostgreSQL) forever.
_held_here: ContextVar[AsyncSession | None] = ContextVar("held_here", default=None)

Delivery = Callable[[AsyncSession, list[int]], Awaitable[None]]


@dataclass
class Changes:
    """What a unit of work changed, as its services declared it (see :func:`changed`)."""

    topics: set[str] = field(default_factory=set)
    outbox_ids: list[int] = field(default_factory=list)
    # Outbox rows with a short delay, and the seconds until they are due: this process
    # wakes for them then (the outbox's job loop passes only every few seconds).
    outbox_soon: list[tuple[int, float]] = field(default_factory=list)


class CommitHooks:
    """What runs after a unit of work commits: listeners per topic of change (caches drop
    what they hold) and the outbox's delivery of the messages the unit recorded.

    ``version(topic)`` counts the commits that changed a topic, so a cache can tell whether
    a change committed while it was loading. ``broadcast`` tells other replicas of this
    process's commits (see :class:`shopbot.replicas.ChangeFeed`).
    """

    def __init__(self) -> None:
        self._listeners: dict[str, list[Callable[[], None]]] = {}
        self._versions: dict[str, int] = {}
        self.deliver: Delivery | None = None
        self.deliver_later: Callable[[list[int], float], None] | None = None
        self.broadcast: Callable[[set[str]], Awaitable[None]] | None = None

    def on_commit(self, topic: str, listener: Callable[[], None]) -> None:
        self._listeners.setdefault(topic, []).append(listener)

    def version(self, topic: str) -> int:
        return self._versions.get(topic, 0)

    def topics(self) -> set[str]:
        """Every topic something listens to."""
        return set(self._listeners)

    def announce(self, topics: set[str]) -> None:
        """These topics changed (a unit of work committed): bump them, call their listeners."""
        for topic in topics:
            self._versions[topic] = self.version(topic) + 1
            for listener in self._listeners.get(topic, ()):
                listener()

    async def committed(self, session: AsyncSession, changes: Changes) -> None:
        self.announce(changes.topics)
        if changes.topics and self.broadcast is not None:
            await self.broadcast(changes.topics)
        if changes.outbox_ids and self.deliver is not None:
            try:
                await self.deliver(session, changes.outbox_ids)
            except Exception:  # the outbox's job loop delivers what is left
                log.exception("delivering outbox messages %s failed", changes.outbox_ids)
        if changes.outbox_soon and self.deliver_later is not None:
            for message_id, seconds in changes.outbox_soon:
                self.deliver_later([message_id], seconds)


async def deliver_outbox(session: AsyncSession, ids: list[int]) -> None:
    """Deliver these outbox rows now, as a commit that recorded them would."""
    hooks = session.info.get(_HOOKS)
    if hooks is not None and hooks.deliver is not None:
        await hooks.deliver(session, ids)


def commit_hooks(session_factory: async_sessionmaker[AsyncSession]) -> CommitHooks:
    hooks = session_factory.kw["info"][_HOOKS]
    assert isinstance(hooks, CommitHooks)
    return hooks


class _WriterQueue:
    """The SQLite engine's writers in this process, one at a time, per event loop.

    Waiting longer than ``WRITER_TURN_TIMEOUT`` raises ``TimeoutError``, as SQLite's busy
    timeout would have raised "database is locked" (a unit of work opened on a second
    session while the first holds the turn would otherwise wait forever).
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
async def unit_of_work(session: AsyncSession) -> AsyncIterator[AsyncSession]:
    """One use case's transaction: everything the services inside it write commits at the
    end, or nothing does. Services only execute and flush; the use case (a handler, a
    webhook call, a job pass, an import) opens the unit.

    Opened inside another unit on the same session, it joins that one (the outer unit
    commits) in a SAVEPOINT: if it fails, its writes are undone and the outer unit may carry
    on (a late payment that finds no stock flags the order instead). A read transaction
    still open on the session (reads made before the unit) is ended first, so the unit
    decides on what is committed now; on SQLite the unit then
    waits for this process's other writers and takes the write lock with ``BEGIN
    IMMEDIATE`` before its first statement, even a read. A unit must not wait on the
    network: messages and provider calls go after the commit (see ``shopbot.services.outbox``).

    If the session holds objects the caller loaded earlier, the work runs in a SAVEPOINT:
    a failure rolls back only that, so those objects stay usable (a full rollback would
    expire them all). After the commit the session's :class:`CommitHooks` run: caches drop
    what the unit changed and the outbox delivers what it recorded.

    Under :func:`holding_commit` the unit's commit waits for :func:`commit_held` (a Telegram
    update commits its change together with the reply it computed next).
    """
    if _UNIT in session.info:
        async with session.begin_nested():  # a failure undoes this part, not the whole unit
            yield session
        return
    if session.in_transaction():
        if session.new or session.dirty or session.deleted:
            raise RuntimeError("objects changed outside a unit of work")
        await session.commit()  # only reads can be open here: every write is in a unit
    held = _held_here.get()
    if held is not None and held is not session:
        await commit_held(held)  # it holds the writer's turn and its rows: it goes first
    session.info[_UNIT] = Changes()
    turn = AsyncExitStack()
    try:
        await turn.enter_async_context(_writer_turn(session))
        await session.connection(execution_options={IMMEDIATE: True})
        if session.identity_map or session.new:
            try:
                async with session.begin_nested():
                    yield session
            except BaseException:
                await _end_failed_unit(session)
                raise
        else:
            try:
                yield session
            except BaseException:
                await session.rollback()
                raise
    except BaseException:
        del session.info[_UNIT]
        await turn.aclose()
        raise
    if session.info.pop(_HOLD, False):
        session.info[_HELD] = turn  # the writer's turn too: the transaction stays open
        _held_here.set(session)
        return
    await _commit(session, turn)


async def _commit(session: AsyncSession, turn: AsyncExitStack) -> None:
    try:
        await _write_joined(session)
        await session.commit()
    except BaseException:
        await session.rollback()
        raise
    finally:
        changes = session.info.pop(_UNIT)
        await turn.aclose()
    session.info.pop(_WITH_NEXT_UNIT, None)
    hooks = session.info.get(_HOOKS)
    if hooks is not None:
        await hooks.committed(session, changes)


@contextmanager
def holding_commit(session: AsyncSession) -> Iterator[None]:
    """The first unit of work that ends on ``session`` in this block keeps its transaction
    (and, on SQLite, the writer's turn) open instead of committing, until
    :func:`commit_held` or :func:`rollback_held`; units opened meanwhile join it. Whoever
    holds must end the hold: the block's end does not."""
    session.info[_HOLD] = True
    try:
        yield
    finally:
        session.info.pop(_HOLD, None)


def holds(session: AsyncSession) -> bool:
    """Is a unit of work on ``session`` waiting for :func:`commit_held`?"""
    return _HELD in session.info


async def commit_held(session: AsyncSession) -> bool:
    """Commit the unit of work :func:`holding_commit` kept open (with what
    :func:`write_with_next_unit` added), then run its commit hooks; whether one was held."""
    turn = session.info.pop(_HELD, None)
    if turn is None:
        return False
    _held_here.set(None)
    await _commit(session, turn)
    return True


async def commit_held_here() -> None:
    """Commit the unit of work this task holds, if any: called before waiting on the network
    (a provider), which a held transaction must never do."""
    held = _held_here.get()
    if held is not None:
        await commit_held(held)


async def rollback_held(session: AsyncSession) -> None:
    """Undo the unit of work :func:`holding_commit` kept open, if one is."""
    turn = session.info.pop(_HELD, None)
    if turn is None:
        return
    _held_here.set(None)
    try:
        await session.rollback()
    finally:
        session.info.pop(_UNIT, None)
        await turn.aclose()


def write_with_next_unit(
    session: AsyncSession, write: Callable[[AsyncSession], Awaitable[None]]
) -> None:
    """Have ``write`` done in the transaction of the next unit of work that commits on
    ``session`` (after the unit's own work), and not again after that. An update records
    itself as handled this way: together with its first change, or not at all."""
    session.info.setdefault(_WITH_NEXT_UNIT, []).append(write)


async def _write_joined(session: AsyncSession) -> None:
    for write in session.info.get(_WITH_NEXT_UNIT, ()):
        await write(session)


async def _end_failed_unit(session: AsyncSession) -> None:
    """End the transaction of a unit whose SAVEPOINT was rolled back, keeping the caller's
    objects: commit it (nothing is left to write) or, if the connection is gone (the unit
    was cancelled mid-statement), roll back. The unit's own error is what propagates: a
    job loop must see the ``CancelledError`` of its shutdown, not the commit's failure."""
    try:
        await session.commit()
    except Exception:
        await session.rollback()


async def end_reading(session: AsyncSession) -> None:
    """End the reads ``session`` has open, giving its connection back to the pool before a
    slow call (a model's answer): a transaction left open would hold the connection, on
    PostgreSQL one of a few, for as long. Never inside a unit of work, whose writes are not
    committed yet."""
    await commit_held(session)  # an update's held change commits before the wait
    if in_unit(session):
        raise RuntimeError("end_reading inside a unit of work would throw its writes away")
    await session.rollback()


def in_unit(session: AsyncSession) -> bool:
    """Is a unit of work open on ``session``?"""
    return _UNIT in session.info


def changes_of(session: AsyncSession) -> Changes:
    """The changes of the unit of work open on ``session`` (a write outside one is a bug)."""
    changes = session.info.get(_UNIT)
    if changes is None:
        raise RuntimeError("a write outside a unit of work (open one with db.unit_of_work)")
    assert isinstance(changes, Changes)
    return changes


def changed(session: AsyncSession, topic: str) -> None:
    """Declare that the open unit of work changes ``topic`` (e.g. ``"catalogue"``): its
    listeners run once the unit has committed."""
    changes_of(session).topics.add(topic)


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

    # Replicas (or CLI imports) starting together on a fresh database would each create the
    # tables: one migrates at a time, the next then finds the database at head. PostgreSQL:
    # an advisory lock released with the transaction; SQLite: its write lock, taken first.
    async with engine.connect() as connection:
        connection = await connection.execution_options(**{IMMEDIATE: True})
        async with connection.begin():
            if connection.dialect.name == "postgresql":
                await connection.execute(
                    text("SELECT pg_advisory_xact_lock(:key)"), {"key": lock_key("migrate")}
                )
            await connection.run_sync(upgrade)


def lock_key(name: str) -> int:
    """The PostgreSQL advisory-lock key (a signed 64-bit number) of the lock ``name``."""
    digest = hashlib.blake2b(f"shopbot:{name}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


@asynccontextmanager
async def exclusive(engine: AsyncEngine, name: str) -> AsyncIterator[bool]:
    """Hold the lock ``name`` across every process on the database while the block runs;
    yields False at once (nothing waits) when another process holds it. PostgreSQL: a
    session-level ``pg_try_advisory_lock`` on a connection of its own, no transaction left
    open; if the process dies, the server drops the connection and the lock with it.
    SQLite: one process serves a shop, so always True."""
    if engine.dialect.name != "postgresql":
        yield True
        return
    key = lock_key(name)
    async with engine.connect() as connection:
        held = bool(
            await connection.scalar(text("SELECT pg_try_advisory_lock(:key)"), {"key": key})
        )
        await connection.commit()
        try:
            yield held
        finally:
            if held:
                try:
                    await connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})
                    await connection.commit()
                except BaseException:
                    # Never hand a connection still holding the lock back to the pool.
                    await connection.invalidate()
                    raise


async def current_revision(engine: AsyncEngine) -> str | None:
    def read(connection: Connection) -> str | None:
        return MigrationContext.configure(connection).get_current_revision()

    async with engine.connect() as connection:
        return await connection.run_sync(read)


def upsert(session: AsyncSession, table: Any) -> Any:
    """An ``INSERT`` supporting ``on_conflict_do_update`` for the session's dialect."""
    if session.bind.dialect.name == "postgresql":
        return postgresql_insert(table)
    return sqlite_insert(table)


async def executemany(
    connection: AsyncConnection,
    statement: Executable,
    keys: tuple[str, ...],
    rows: list[tuple[Any, ...]],
) -> None:
    """One executemany straight to the driver, of SQL compiled by SQLAlchemy for the dialect.

    ``connection.execute`` would spend ~10 µs a row processing parameters, more than SQLite
    takes to insert the row; so values must already be what the driver takes (strings,
    numbers, booleans, None; timestamps through :func:`for_driver`). ``keys`` name the
    values of each row: columns, or the bind parameters of an UPDATE or DELETE.
    """
    if not rows:
        return
    compiled = statement.compile(dialect=connection.dialect, column_keys=list(keys))
    order = [keys.index(key) for key in compiled.positiontup or ()]
    if order != list(range(len(keys))):  # the SQL wants them in another order
        rows = [tuple(row[position] for position in order) for row in rows]
    await connection.exec_driver_sql(compiled.string, rows)


def for_driver(connection: AsyncConnection, column: Column[Any], value: Any) -> Any:
    """``value`` as the driver takes it for ``column`` (what SQLAlchemy would bind)."""
    process = column.type.dialect_impl(connection.dialect).bind_processor(connection.dialect)
    return process(value) if process else value
