"""Alembic environment: runs on a connection handed over by ``shopbot.db.migrate``.

Used from the command line (``alembic -x url=...``) it opens its own async engine.
"""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy import Connection

from shopbot.models import Base

target_metadata = Base.metadata


def run_on(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def run_standalone() -> None:
    from shopbot.config import load_settings
    from shopbot.db import create_engine

    url = context.get_x_argument(as_dictionary=True).get("url") or load_settings().database_url
    engine = create_engine(url)
    async with engine.begin() as connection:
        await connection.run_sync(run_on)
    await engine.dispose()


connection = context.config.attributes.get("connection")
if connection is not None:
    run_on(connection)
else:
    asyncio.run(run_standalone())
