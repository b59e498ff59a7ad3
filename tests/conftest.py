"""Shared fixtures: a fresh, migrated database per test.

SQLite files by default; when ``SHOPBOT_TEST_DATABASE_URL`` is set (PostgreSQL in CI) the
same tests run there, each on a freshly recreated schema.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from hypothesis import settings
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from shopbot.db import create_engine, create_session_factory, migrate

# CI runs the property tests on a fixed sequence of examples (a landing must not depend on
# luck); elsewhere each run explores new ones.
settings.register_profile("ci", derandomize=True)
if os.environ.get("CI"):
    settings.load_profile("ci")

POSTGRES_URL = os.environ.get("SHOPBOT_TEST_DATABASE_URL")


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    return POSTGRES_URL or f"sqlite+aiosqlite:///{tmp_path / 'shop.db'}"


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    if database_url.startswith("postgresql"):
        await reset_postgres(database_url)
    engine = create_engine(database_url)
    await migrate(engine)
    yield engine
    await engine.dispose()


@pytest.fixture
def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return create_session_factory(engine)


@pytest.fixture
async def session(
    session_factory: async_sessionmaker[AsyncSession],
) -> AsyncIterator[AsyncSession]:
    async with session_factory() as session:
        yield session


async def reset_postgres(url: str) -> None:
    admin = create_engine(url, pool_size=1, max_overflow=0)
    async with admin.begin() as connection:
        await connection.execute(text("DROP SCHEMA public CASCADE"))
        await connection.execute(text("CREATE SCHEMA public"))
    await admin.dispose()


@pytest.fixture
def media_dir(tmp_path: Path) -> Path:
    path = tmp_path / "media"
    path.mkdir()
    return path
