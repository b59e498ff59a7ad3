import asyncio
import os
import sys
from pathlib import Path

from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, inspect, text
from sqlalchemy.ext.asyncio import AsyncEngine

from shopbot.db import alembic_config, create_engine, current_revision, migrate
from shopbot.models import Base


async def test_migrations_reach_head_and_match_the_models(engine: AsyncEngine) -> None:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert await current_revision(engine) == head
    await migrate(engine)  # a second run is a no-op

    def tables(connection: Connection) -> set[str]:
        return set(inspect(connection).get_table_names())

    def order_event_indexes(connection: Connection) -> set[str]:
        return {index["name"] for index in inspect(connection).get_indexes("order_event")}

    async with engine.connect() as connection:
        assert await connection.run_sync(tables) >= set(Base.metadata.tables)
        assert "ix_order_event_kind_at" in await connection.run_sync(order_event_indexes)


async def test_downgrade_to_base_and_back(engine: AsyncEngine) -> None:
    def downgrade(connection: Connection) -> None:
        cfg = alembic_config()
        cfg.attributes["connection"] = connection
        command.downgrade(cfg, "base")

    async with engine.begin() as connection:
        await connection.run_sync(downgrade)
    assert await current_revision(engine) is None
    await migrate(engine)
    assert await current_revision(engine) is not None


async def test_sqlite_runs_in_wal_with_foreign_keys(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'pragmas.db'}")
    try:
        async with engine.connect() as connection:
            assert (await connection.execute(text("PRAGMA journal_mode"))).scalar() == "wal"
            assert (await connection.execute(text("PRAGMA foreign_keys"))).scalar() == 1
            assert (await connection.execute(text("PRAGMA busy_timeout"))).scalar() >= 5000
    finally:
        await engine.dispose()


async def test_three_processes_migrating_a_fresh_database_at_once_all_succeed(
    engine: AsyncEngine, database_url: str, tmp_path: Path
) -> None:
    """Replicas (or ``shopbot import`` runs) starting together: one migrates, the others
    wait for it and find the database at head."""

    def downgrade(connection: Connection) -> None:
        cfg = alembic_config()
        cfg.attributes["connection"] = connection
        command.downgrade(cfg, "base")

    async with engine.begin() as connection:
        await connection.run_sync(downgrade)
        await connection.execute(text("DROP TABLE alembic_version"))
    environment = {**os.environ, "DATABASE_URL": database_url}
    processes = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "shopbot",
            "migrate",
            env=environment,
            cwd=tmp_path,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        for _ in range(3)
    ]
    outputs = [(await process.communicate())[0].decode() for process in processes]

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert [process.returncode for process in processes] == [0, 0, 0], outputs
    assert [output.split()[-1] for output in outputs] == [head] * 3, outputs
    assert await current_revision(engine) == head
