"""GET /healthz on a real port."""

from __future__ import annotations

from pathlib import Path

import aiohttp

from shopbot.db import create_engine, create_session_factory
from shopbot.payments.cash import CashProvider
from shopbot.web import create_web_app, start_web
from tests.payments.conftest import Shop, make_settings


async def get(url: str) -> tuple[int, dict]:
    async with aiohttp.ClientSession() as client, client.get(url) as response:
        return response.status, await response.json()


async def test_healthz_with_the_database_up(shop: Shop) -> None:
    assert await get(f"{shop.base_url}/healthz") == (200, {"status": "ok", "database": "ok"})


async def test_healthz_with_the_database_down(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'missing' / 'shop.db'}")
    app = create_web_app(
        make_settings(payment_provider="cash"),
        create_session_factory(engine),
        CashProvider(),
    )
    runner = await start_web(app, "127.0.0.1", 0)
    try:
        base_url = f"http://127.0.0.1:{runner.addresses[0][1]}"
        status, body = await get(f"{base_url}/healthz")
        async with (
            aiohttp.ClientSession() as client,
            client.post(f"{base_url}/yookassa/webhook", json={}) as response,
        ):
            webhook_status = response.status
    finally:
        await runner.cleanup()
        await engine.dispose()

    assert (status, body) == (503, {"status": "error", "database": "unavailable"})
    assert webhook_status == 404  # no YooKassa webhook in a cash shop
