"""One import at a time, across processes (the bot's and ``shopbot import``)."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

# pg_advisory_xact_lock's key for imports: "shopbot" and 1, as a signed 64-bit number.
IMPORT_LOCK = 0x73686F70626F7401


async def lock_imports(connection: AsyncConnection) -> None:
    """Wait for any other import to commit, and keep others out until this transaction ends.

    Two imports planning against the same database would both create a new SKU or
    category, and the second would die on the unique constraint. On SQLite the unit of
    work already holds the database's write lock, which does the same.
    """
    if connection.dialect.name == "postgresql":
        await connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": IMPORT_LOCK})
