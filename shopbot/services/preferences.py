"""What the shop remembers about how its owner works (``shop_preference``), by key."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Table, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from shopbot.models import ShopPreference

PREFERENCE: Table = ShopPreference.__table__  # type: ignore[assignment]
# "ru" or "en": the header language of the last catalogue imported (see shopbot.services.export).
HEADER_LANGUAGE = "catalogue_header_language"


async def remember(connection: AsyncConnection, key: str, value: str, *, now: datetime) -> None:
    """Set ``key`` in the caller's transaction; the same value again writes nothing. Callers
    that may race for the same key hold a lock that orders them (the importer's)."""
    current = await connection.scalar(select(PREFERENCE.c.value).where(PREFERENCE.c.key == key))
    if current is None:
        await connection.execute(insert(PREFERENCE).values(key=key, value=value, updated_at=now))
    elif current != value:
        await connection.execute(
            update(PREFERENCE).where(PREFERENCE.c.key == key).values(value=value, updated_at=now)
        )


async def recall(session: AsyncSession, key: str) -> str | None:
    return await session.scalar(select(ShopPreference.value).where(ShopPreference.key == key))
