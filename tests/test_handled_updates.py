"""Records of handled Telegram updates: kept while Telegram may send one again, then dropped."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from shopbot.models import HandledUpdate, utcnow
from shopbot.services import updates


async def test_old_records_are_dropped_and_recent_ones_kept(session: AsyncSession) -> None:
    now = utcnow()
    await session.execute(
        insert(HandledUpdate),
        [
            {"update_id": 1, "handled_at": now - timedelta(days=3)},
            {"update_id": 2, "handled_at": now - timedelta(hours=1)},
        ],
    )
    await session.commit()

    assert await updates.forget_before(session, now - timedelta(days=2)) == 1
    assert await updates.forget_before(session, now - timedelta(days=2)) == 0
    kept = (await session.scalars(select(HandledUpdate.update_id))).all()
    assert kept == [2]
