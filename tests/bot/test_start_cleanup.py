"""The bot's start clears what an import killed half-way left (see shopbot.importer.exclusive)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.bot.conftest import ShopFactory
from tests.test_importer_safety import check_cleaned, leave_artefacts, temp_root

__all__ = ["temp_root"]  # the fixture, for this module's tests


async def test_the_bots_start_clears_what_a_killed_import_left(
    shop_factory: ShopFactory,
    session_factory: async_sessionmaker[AsyncSession],
    media_dir: Path,
    temp_root: Path,
) -> None:
    artefacts = await leave_artefacts(session_factory, media_dir, temp_root)
    with artefacts.live:
        await shop_factory()

        check_cleaned(artefacts)
