"""What an operator watches: ``GET /metrics`` after real journeys, and the JSON log lines
with the update they belong to and no secret in them."""

from __future__ import annotations

import asyncio
import io
import json
import logging
from collections.abc import Iterator

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from shopbot.logs import configure_logging
from tests.bot.conftest import TOKEN, Catalogue, Shop, ShopFactory, check_out

SCRAPE_TOKEN = "scrape-me-please"

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


async def scrape(shop: Shop, token: str | None = SCRAPE_TOKEN) -> tuple[int, Samples]:
    assert shop.runtime is not None
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with (
        asyncio.timeout(30),
        aiohttp.ClientSession() as client,
        client.get(f"{shop.runtime.web_url}/metrics", headers=headers) as response,
    ):
        body = await response.text()
        if response.status != 200:
            return response.status, {}
    samples = {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(body)
        for sample in family.samples
    }
    return 200, samples


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


async def test_metrics_count_updates_telegram_calls_and_what_the_database_holds(
    shop_factory: ShopFactory, catalogue: Catalogue
) -> None:
    shop = await shop_factory(metrics_token=SCRAPE_TOKEN)
    assert (await scrape(shop, token=None))[0] == 401
    assert (await scrape(shop, token="guess"))[0] == 401
    status, before = await scrape(shop)
    assert status == 200

    await check_out(shop, 701, "TS-02")  # 5 messages and 4 button presses
    shop.emulator.fail_next("sendMessage", error_code=429, retry_after=1)
    await shop.emulator.user(701, "Пётр").send_text("/help")
    _, after = await scrape(shop)

    def grew(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert grew("shopbot_updates_total", type="message", outcome="handled") == 6
    assert grew("shopbot_updates_total", type="callback_query", outcome="handled") == 4
    assert grew("shopbot_update_seconds_count", type="message") == 6
    assert grew("shopbot_telegram_requests_total", method="sendMessage") >= 7
    assert grew("shopbot_telegram_errors_total", method="sendMessage", code="429") == 1
    assert value(after, "shopbot_orders", status="awaiting_confirmation") == 1
    # The news question a first order records waits its minute (services.marketing).
    assert value(after, "shopbot_outbox_messages", state="pending") == 1
    assert ("shopbot_db_pool_connections_in_use", ()) in after


async def test_a_redelivered_update_counts_as_a_duplicate(shop: Shop, catalogue: Catalogue) -> None:
    anna = shop.emulator.user(704, "Анна")
    await anna.send_text("/start p_MUG-1")
    _, before = await scrape(shop)
    await anna.press("🛒 В корзину")
    shop.emulator.redeliver(shop.emulator.last_update_id)
    await shop.emulator.wait_handled()
    _, after = await scrape(shop)

    for outcome, times in (("handled", 1), ("duplicate", 1)):
        labels = {"type": "callback_query", "outcome": outcome}
        grew = value(after, "shopbot_updates_total", **labels) - value(
            before, "shopbot_updates_total", **labels
        )
        assert grew == times, outcome


@pytest.fixture
def json_log() -> Iterator[io.StringIO]:
    """Every log line of the test, in the JSON format, SQL statements included."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    root = logging.getLogger()
    engine = logging.getLogger("sqlalchemy.engine")
    saved = root.level, engine.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    engine.setLevel(logging.INFO)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        root.setLevel(saved[0])
        engine.setLevel(saved[1])


async def test_json_logs_name_the_update_and_never_show_a_secret(
    yk_shop: Shop, catalogue: Catalogue, json_log: io.StringIO
) -> None:
    settings = yk_shop.settings
    configure_logging("json", settings.secret_values())
    logging.getLogger("test").warning("token in a message: %s", TOKEN)

    shopper = await check_out(yk_shop, 703, "TS-02")
    assert "оплат" in shopper.last["text"].lower()

    lines = [json.loads(line) for line in json_log.getvalue().splitlines()]
    assert {"time", "level", "logger", "message"} <= set(lines[0])
    in_updates = [line for line in lines if line.get("user_id") == 703]
    assert in_updates, "no line was bound to the shopper's updates"
    assert all(isinstance(line["update_id"], int) for line in in_updates)
    assert any(line["logger"] == "sqlalchemy.engine.Engine" for line in in_updates)
    text = json_log.getvalue()
    assert "token in a message: ***" in text
    for secret in (TOKEN, "live_secret", *settings.secret_values()):
        assert secret not in text
