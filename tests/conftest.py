"""Shared fixtures: a fresh, migrated database per test.

SQLite files by default; when ``SHOPBOT_TEST_DATABASE_URL`` is set (PostgreSQL in CI) the
same tests run there, each on a freshly recreated schema. Under pytest-xdist each worker
gets a database of its own beside the one named (``shopbot_tests_gw0``, ...), created on
first use: workers never drop each other's schema.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from hypothesis import settings
from sqlalchemy import make_url, text
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from shopbot.db import create_engine, create_session_factory, migrate

# CI runs the property tests on a fixed sequence of examples (a landing must not depend on
# luck); elsewhere each run explores new ones.
settings.register_profile("ci", derandomize=True)
if os.environ.get("CI"):
    settings.load_profile("ci")

POSTGRES_URL = os.environ.get("SHOPBOT_TEST_DATABASE_URL")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """On the PostgreSQL pass, run only the tests that can reach its database (through
    :func:`postgres_url`): the others would repeat the SQLite pass exactly."""
    if POSTGRES_URL is None:
        return
    same = [item for item in items if "postgres_url" not in getattr(item, "fixturenames", ())]
    if same:
        config.hook.pytest_deselected(items=same)
        items[:] = [item for item in items if "postgres_url" in getattr(item, "fixturenames", ())]


@pytest.fixture(scope="session")
def postgres_url(worker_id: str) -> str | None:
    """The PostgreSQL database of this test process: the one named, or under xdist its own."""
    if POSTGRES_URL is None or worker_id == "master":
        return POSTGRES_URL
    url = make_url(POSTGRES_URL)
    own = url.set(database=f"{url.database}_{worker_id}")
    create_postgres_database(own)
    return own.render_as_string(hide_password=False)


def create_postgres_database(url: URL) -> None:
    """Create the database ``url`` names if it does not exist (through the server's own)."""
    import asyncio

    async def create() -> None:
        server = create_engine(
            url.set(database="postgres").render_as_string(hide_password=False),
            pool_size=1,
            max_overflow=0,
            isolation_level="AUTOCOMMIT",
        )
        async with server.connect() as connection:
            exists = await connection.scalar(
                text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": url.database}
            )
            if not exists:
                await connection.execute(text(f'CREATE DATABASE "{url.database}"'))
        await server.dispose()

    asyncio.run(create())


@pytest.fixture
def database_url(tmp_path: Path, postgres_url: str | None) -> str:
    return postgres_url or f"sqlite+aiosqlite:///{tmp_path / 'shop.db'}"


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
