"""``GET /readyz``: the database, Redis, Telegram, the schema's revision and the background
jobs, each named in the body; 503 when any of them is not ready."""

from __future__ import annotations

import aiohttp
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from shopbot.app import outbox_sender
from shopbot.payments import jobs as job_module
from shopbot.payments.jobs import LATE_GRACE, BackgroundJobs
from shopbot.services.outbox import OutboxDelivery
from tests.bot.conftest import Shop, ShopFactory, until

READY = {
    "status": "ok",
    "database": "ok",
    "migrations": "ok",
    "telegram": "ok",
    "jobs": "ok",
}


async def readyz(shop: Shop) -> tuple[int, dict]:
    assert shop.runtime is not None
    async with (
        aiohttp.ClientSession() as client,
        client.get(f"{shop.runtime.web_url}/readyz") as response,
    ):
        return response.status, await response.json()


async def test_a_started_shop_is_ready(shop: Shop) -> None:
    assert await readyz(shop) == (200, READY)


async def test_telegram_out_of_reach_makes_the_replica_not_ready(shop: Shop) -> None:
    await until(lambda: shop.emulator.count("getMe") >= 2, 30)  # start-up's and polling's
    shop.emulator.fail_next("getMe", error_code=502, description="Bad Gateway")
    assert await readyz(shop) == (503, {**READY, "status": "error", "telegram": "unavailable"})
    assert await readyz(shop) == (200, READY)


async def test_a_database_behind_the_code_says_to_migrate(
    shop: Shop, session: AsyncSession
) -> None:
    head = await session.scalar(text("SELECT version_num FROM alembic_version"))
    await session.execute(text("UPDATE alembic_version SET version_num = '0001'"))
    await session.commit()
    try:
        status, body = await readyz(shop)
    finally:
        await session.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": head})
        await session.commit()
    assert status == 503
    assert body["migrations"] == (f"database at 0001, the code expects {head}: run shopbot migrate")
    assert await readyz(shop) == (200, READY)


async def test_a_failing_job_is_named_with_its_error(
    shop_factory: ShopFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(*_args: object) -> None:
        raise RuntimeError("the provider said no")

    monkeypatch.setattr(job_module, "expire_orders", broken)
    shop = await shop_factory()
    assert shop.runtime is not None
    jobs = shop.runtime.jobs
    await until(lambda: "expire orders" in jobs.problems(), 30)  # its first pass has failed
    status, body = await readyz(shop)
    assert status == 503
    assert body["jobs"] == {"expire orders": "failing: RuntimeError('the provider said no')"}


async def test_a_job_that_stops_passing_is_late(shop: Shop) -> None:
    """Three intervals and the grace without a pass that ended, by the jobs' clock."""
    assert shop.runtime is not None
    now = [1000.0]
    jobs = BackgroundJobs(
        shop.settings,
        shop.runtime.session_factory,
        shop.runtime.provider,
        OutboxDelivery(outbox_sender(shop.runtime.notifier)),
        clock=lambda: now[0],
    )
    jobs.start()
    late_after = 3 * shop.settings.reconcile_interval + LATE_GRACE + 1
    try:
        now[0] += late_after  # a first pass not finished by now would be overdue
        assert set(jobs.problems().values()) <= {"first pass not finished"}
        await until(lambda: not jobs.problems(), 30)  # the first passes end at this time
        now[0] += late_after
        late = jobs.problems()
    finally:
        await jobs.stop()
    assert late == dict.fromkeys(
        [
            "expire orders",
            "reconcile payments",
            "deliver outbox",
            "prune updates",
            "remind support",
            "watch favourites",
            "remind forgotten carts",
        ],
        "late",
    )
