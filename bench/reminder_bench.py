"""The forgotten-cart pass (``shopbot.services.reminders``) over many carts: what one pass
costs when it first watches every cart, when nothing changed (most passes: no write), when a
tenth of the carts changed, and when every cart comes due (a reminder recorded in the outbox
for each; their delivery is the outbox's, not measured here).

    .venv/bin/python bench/reminder_bench.py [--subscribers N] [--database-url URL]

``--database-url`` (e.g. a PostgreSQL database) is emptied first: give a scratch one.
Without it, a temporary SQLite file is used.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import func, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from shopbot.db import create_engine, create_session_factory, migrate  # noqa: E402
from shopbot.models import CartLine, CartReminder, Product, User  # noqa: E402
from shopbot.services.reminders import QuietHours, remind_forgotten_carts  # noqa: E402

LINES = 3  # products in each cart
PRODUCTS = 50
ZONE = ZoneInfo("Europe/Moscow")


async def fresh_database(url: str) -> async_sessionmaker[AsyncSession]:
    engine = create_engine(url)
    if url.startswith("postgresql"):
        async with engine.begin() as connection:
            await connection.execute(text("DROP SCHEMA public CASCADE"))
            await connection.execute(text("CREATE SCHEMA public"))
    await migrate(engine)
    return create_session_factory(engine)


async def fill(factory: async_sessionmaker[AsyncSession], subscribers: int) -> None:
    """``subscribers`` who said yes and as many who did not, each with a cart of LINES."""
    now = datetime.now(UTC)
    async with factory() as session, session.begin():
        await session.execute(
            insert(Product),
            [
                {
                    "sku": f"B-{n}",
                    "sku_key": f"b-{n}",
                    "name": f"Товар {n}",
                    "price": 100_00,
                    "stock": 1000,
                }
                for n in range(PRODUCTS)
            ],
        )
        product_ids = list(await session.scalars(select(Product.id).order_by(Product.id)))
        people = 2 * subscribers
        await session.execute(
            insert(User),
            [
                {"id": 10_000 + n, "first_name": "Покупатель", "marketing_consent": n % 2 == 0}
                for n in range(people)
            ],
        )
        await session.execute(
            insert(CartLine),
            [
                {
                    "user_id": 10_000 + n,
                    "product_id": product_ids[(n + line) % PRODUCTS],
                    "quantity": 1,
                    "added_at": now,
                }
                for n in range(people)
                for line in range(LINES)
            ],
        )


async def timed_pass(factory: async_sessionmaker[AsyncSession], now: datetime) -> tuple[float, int]:
    async with factory() as session:
        started = time.perf_counter()
        recorded = await remind_forgotten_carts(
            session,
            now=now,
            idle=timedelta(hours=24),
            quiet=QuietHours.parse("22:00-09:00"),
            zone=ZONE,
        )
        return time.perf_counter() - started, recorded


async def run(url: str, subscribers: int) -> None:
    factory = await fresh_database(url)
    await fill(factory, subscribers)
    # Noon in Moscow: a few hours, then days after the carts were filled.
    today = datetime.now(UTC).astimezone(ZONE).replace(hour=12, minute=0, second=0)
    soon, later = today + timedelta(days=1, hours=-23), today + timedelta(days=3)
    print(
        f"{subscribers} subscribers' carts (and as many of shoppers who did not subscribe), "
        f"{LINES} lines each, on {url.split('://')[0]}"
    )
    seconds, _ = await timed_pass(factory, soon)
    print(f"first pass, every cart watched:        {seconds * 1000:8.1f} ms")
    seconds, _ = await timed_pass(factory, soon + timedelta(minutes=10))
    print(f"a pass with nothing changed:           {seconds * 1000:8.1f} ms")
    async with factory() as session, session.begin():
        await session.execute(
            update(CartLine)
            .where(CartLine.user_id % 20 == 0)  # every tenth subscriber (even ids)
            .values(quantity=2)
        )
    seconds, _ = await timed_pass(factory, soon + timedelta(minutes=20))
    print(f"a pass after a tenth changed:          {seconds * 1000:8.1f} ms")
    seconds, recorded = await timed_pass(factory, later)
    print(f"the pass they come due ({recorded} reminders): {seconds * 1000:8.1f} ms")
    seconds, again = await timed_pass(factory, later + timedelta(minutes=10))
    async with factory() as session:
        total = await session.scalar(select(func.count()).select_from(CartReminder))
    print(f"the next pass ({again} more, {total} in all):  {seconds * 1000:8.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--subscribers", type=int, default=5000)
    parser.add_argument("--database-url")
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = arguments.database_url or f"sqlite+aiosqlite:///{Path(folder) / 'bench.db'}"
        asyncio.run(run(url, arguments.subscribers))


if __name__ == "__main__":
    main()
