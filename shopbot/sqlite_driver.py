"""aiosqlite connections whose statements take one trip to the driver's thread, not four.

aiosqlite runs each SQLite connection in a thread of its own; every call crosses to it and
back. SQLAlchemy's aiosqlite dialect opens a cursor, executes, fetches and closes: four
crossings per statement, about 0.5 ms of CPU in all, more than the statement itself. Here
the cursor does all four in the thread at once and keeps the rows, which is what SQLAlchemy
does with them anyway (it fetches every row right after executing; shopbot streams
nothing). Plugged in with ``create_async_engine(..., async_creator=...)``; the dialect,
pool, events and error translation stay SQLAlchemy's own.

It stands on three of aiosqlite's internals (``Connection._execute``, ``_conn``,
``_thread``), so ``pyproject.toml`` pins aiosqlite to the minor version it was measured and
tested with (``tests/test_sqlite_driver.py``): measured side by side with SQLAlchemy's own
aiosqlite connection, it saves about half a millisecond of CPU per update (README).

Two more crossings are saved per transaction: ``BEGIN`` travels with the transaction's first
statement, and a rollback with no transaction open (the pool's reset after a commit) is not
sent. Each crossing also waits for a turn of a busy event loop, and a writer holds SQLite's
lock through all of its crossings.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Awaitable, Callable, Iterable, Sequence
from functools import partial
from typing import Any

import aiosqlite
from sqlalchemy.engine import make_url

Outcome = tuple[list[Any], Any, int, int | None]  # rows, description, rowcount, lastrowid


def _run(
    connection: sqlite3.Connection, begin: str | None, method: str, sql: str, parameters: Any
) -> Outcome:
    """In the connection's thread: ``begin`` if given, then execute (or executemany), fetch
    everything, close."""
    if begin is not None:
        connection.execute(begin)
    cursor = connection.cursor()
    try:
        getattr(cursor, method)(sql, parameters)
        rows = cursor.fetchall() if cursor.description else []
        return rows, cursor.description, cursor.rowcount, cursor.lastrowid
    finally:
        cursor.close()


class OneTripCursor:
    """The part of aiosqlite's cursor that SQLAlchemy uses, one trip per statement."""

    arraysize = 1

    def __init__(self, connection: OneTripConnection) -> None:
        self._connection = connection
        self._rows: list[Any] = []
        self.description: Any = None
        self.rowcount = -1
        self.lastrowid: int | None = None

    async def __aenter__(self) -> OneTripCursor:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.close()

    async def execute(self, sql: str, parameters: Sequence[Any] = ()) -> OneTripCursor:
        await self._trip("execute", sql, parameters)
        return self

    async def executemany(self, sql: str, parameters: Iterable[Sequence[Any]]) -> OneTripCursor:
        await self._trip("executemany", sql, parameters)
        return self

    async def _trip(self, method: str, sql: str, parameters: Any) -> None:
        outcome = await self._connection.run(method, sql, parameters)
        self._rows, self.description, self.rowcount, self.lastrowid = outcome

    async def fetchall(self) -> list[Any]:
        rows, self._rows = self._rows, []
        return rows

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        count = size or self.arraysize
        rows, self._rows = self._rows[:count], self._rows[count:]
        return rows

    async def fetchone(self) -> Any:
        return self._rows.pop(0) if self._rows else None

    async def close(self) -> None:
        self._rows = []


class OneTripConnection(aiosqlite.Connection):
    """An aiosqlite connection handing out :class:`OneTripCursor`."""

    _pending_begin: str | None = None  # a BEGIN waiting for the transaction's first statement

    def cursor(self) -> OneTripCursor:  # type: ignore[override]
        return OneTripCursor(self)

    async def commit(self) -> None:
        if self._pending_begin is not None:  # a transaction that ran nothing
            self._pending_begin = None
            return
        await super().commit()

    async def rollback(self) -> None:
        """Roll back, unless no transaction is open: the pool "resets" every connection it
        gets back with a rollback, most often right after a commit, and that would be one
        more trip for nothing. (``in_transaction`` only reads SQLite's autocommit flag, and
        nothing else uses the connection between statements.)"""
        self._pending_begin = None
        if self._conn.in_transaction:
            await super().rollback()

    async def run(self, method: str, sql: str, parameters: Any) -> Outcome:
        """``method`` ("execute" or "executemany") and its fetch, in one trip to the thread.

        A ``BEGIN`` is kept and sent with the next statement: the transaction then starts
        (and ``BEGIN IMMEDIATE`` takes the write lock) right before that statement, in the
        same trip, and an error in starting it is raised by that statement.
        """
        if method == "execute" and sql.startswith("BEGIN") and not parameters:
            self._pending_begin = sql
            return [], None, -1, None
        begin, self._pending_begin = self._pending_begin, None
        return await self._execute(_run, self._conn, begin, method, sql, parameters)  # type: ignore[no-any-return]


def connector(url: str, timeout: float) -> Callable[[], Awaitable[OneTripConnection]]:
    """The ``async_creator`` for an engine on the SQLite file ``url`` names."""
    path = make_url(url).database or ""

    async def connect() -> OneTripConnection:
        connection = OneTripConnection(partial(sqlite3.connect, path, timeout=timeout), 64)
        connection._thread.daemon = True  # as SQLAlchemy's dialect does for aiosqlite
        return await connection

    return connect
