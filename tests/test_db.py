"""SQLite transaction control: reads start with a plain BEGIN, writes take the lock up front."""

from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from shopbot.db import write_transaction
from shopbot.models import Product


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
