"""Webhook mode: Telegram (the emulator) posts updates to the shop's web server, a forged
request is refused, and an update sent again after its changes committed acts once."""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import signal
import socket
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from shopbot.app import ShopRuntime, start_shop
from shopbot.bot.webhook import WEBHOOK_PATH, set_webhook
from shopbot.config import load_settings
from shopbot.emulators.telegram import TelegramEmulator
from shopbot.models import CartLine, HandledUpdate
from tests.bot.conftest import TOKEN, Catalogue, Shop, shopbot
from tests.factories import make_product

SECRET = "webhook-secret_42"

WebhookShop = Callable[..., Awaitable[ShopRuntime]]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
async def webhook_shop(
    emulator: TelegramEmulator, database_url: str, media_dir: Path
) -> AsyncIterator[WebhookShop]:
    """Start shops in webhook mode (each a replica on a port of its own), as ``run`` does;
    on PostgreSQL with Redis, as replicas behind a load balancer must be."""
    started: list[ShopRuntime] = []
    redis_url = None
    if database_url.startswith("postgresql"):
        redis_url = os.environ.get("SHOPBOT_TEST_REDIS_URL")
        if not redis_url:
            pytest.skip("webhook mode on PostgreSQL needs SHOPBOT_TEST_REDIS_URL (CI sets it)")

    async def make() -> ShopRuntime:
        port = _free_port()
        settings = load_settings(
            _env_file=None,
            bot_token=TOKEN,
            telegram_api_url=emulator.base_url,
            telegram_webhook_url=f"http://127.0.0.1:{port}",
            telegram_webhook_secret=SECRET,
            telegram_webhook_max_connections=4,
            database_url=database_url,
            media_dir=media_dir,
            shop_name="Лавка",
            web_port=port,
            reconcile_interval=3600,
            redis_url=redis_url,
        )
        runtime = await start_shop(settings)
        started.append(runtime)
        await set_webhook(runtime.bot, runtime.dispatcher, settings)
        return runtime

    yield make
    for runtime in started:
        await runtime.close()


async def _cart_quantity(session: AsyncSession, user_id: int) -> int:
    await session.rollback()  # a fresh snapshot
    total = await session.scalar(
        select(func.coalesce(func.sum(CartLine.quantity), 0)).where(CartLine.user_id == user_id)
    )
    return int(total or 0)


async def test_updates_arrive_by_webhook_and_the_shop_answers(
    webhook_shop: WebhookShop, emulator: TelegramEmulator, catalogue: Catalogue
) -> None:
    runtime = await webhook_shop()
    info = await runtime.bot.get_webhook_info()
    assert info.url == runtime.web_url + WEBHOOK_PATH
    assert info.max_connections == 4
    assert {"message", "callback_query", "pre_checkout_query"} <= set(info.allowed_updates or [])

    anna = emulator.user(42, "Анна")
    await anna.send_text("/start")
    assert "Здравствуйте, Анна!" in anna.last["text"]
    await anna.send_text("/start p_MUG-1")
    await anna.press("🛒 В корзину")
    assert emulator.count("getUpdates") == 0
    assert {delivery.status for delivery in emulator.webhook_deliveries} == {200}
    assert emulator.errors == []


async def test_a_request_without_the_secret_is_refused_and_does_nothing(
    webhook_shop: WebhookShop, emulator: TelegramEmulator
) -> None:
    runtime = await webhook_shop()
    emulator.user(42, "Анна")  # a chat the bot could answer
    update = {
        "update_id": secrets.randbelow(2**40),  # its own: a shared Redis remembers ids
        "message": {
            "message_id": 1,
            "date": 1,
            "chat": {"id": 42, "type": "private"},
            "from": {"id": 42, "is_bot": False, "first_name": "Анна"},
            "text": "/start",
            "entities": [{"type": "bot_command", "offset": 0, "length": 6}],
        },
    }
    calls_before = len(emulator.calls)
    async with aiohttp.ClientSession() as client:
        for headers in ({}, {"X-Telegram-Bot-Api-Secret-Token": "guess"}):
            async with client.post(
                runtime.web_url + WEBHOOK_PATH, data=json.dumps(update), headers=headers
            ) as answer:
                assert answer.status == 401
    await asyncio.sleep(0.2)
    assert len(emulator.calls) == calls_before  # nobody was answered
    async with runtime.session_factory() as session:
        assert await session.get(HandledUpdate, 990001) is None


async def test_an_update_sent_again_after_it_committed_acts_once(
    webhook_shop: WebhookShop,
    emulator: TelegramEmulator,
    catalogue: Catalogue,
    session: AsyncSession,
) -> None:
    await webhook_shop()
    anna = emulator.user(42, "Анна")
    await anna.send_text("/start p_MUG-1")
    await anna.press("🛒 В корзину")
    assert await _cart_quantity(session, 42) == 1
    pressed = emulator.webhook_deliveries[-1].update_id
    calls_before = len(emulator.calls)

    emulator.redeliver(pressed)  # Telegram did not get the answer in time
    await emulator.wait_handled()

    assert await _cart_quantity(session, 42) == 1
    assert emulator.webhook_deliveries[-1].update_id == pressed
    assert emulator.webhook_deliveries[-1].status == 200  # acknowledged, so not sent again
    assert len(emulator.calls) == calls_before  # and nothing said twice


async def test_the_same_update_at_two_replicas_at_once_acts_once(
    webhook_shop: WebhookShop,
    emulator: TelegramEmulator,
    session: AsyncSession,
) -> None:
    """Two replicas, one database: each has its own event isolation, so only the database
    can stop the second delivery."""
    first, second = await webhook_shop(), await webhook_shop()
    await make_product(session, "Кружка", sku="MUG-9", stock=50)
    await session.commit()
    anna = emulator.user(42, "Анна")
    await anna.send_text("/start p_MUG-9")
    card = anna.last
    button = next(
        button["callback_data"]
        for row in card["reply_markup"]["inline_keyboard"]
        for button in row
        if button["text"] == "🛒 В корзину"
    )
    update = {
        "update_id": secrets.randbelow(2**40),
        "callback_query": {
            "id": "990002",
            "from": anna.as_user(),
            "message": card,
            "chat_instance": "42",
            "data": button,
        },
    }
    headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
    async with aiohttp.ClientSession() as client:

        async def post(runtime: ShopRuntime) -> int:
            url = runtime.web_url + WEBHOOK_PATH
            async with client.post(url, data=json.dumps(update), headers=headers) as answer:
                return answer.status

        statuses = await asyncio.gather(*(post(replica) for replica in (first, second)))
    assert statuses == [200, 200]
    assert await _cart_quantity(session, 42) == 1


async def test_polling_also_ignores_an_update_sent_again(
    shop: Shop, catalogue: Catalogue, session: AsyncSession
) -> None:
    """A poller killed before it confirmed its offset gets the same updates again."""
    anna = shop.emulator.user(42, "Анна")
    await anna.send_text("/start p_MUG-1")
    await anna.press("🛒 В корзину")
    pressed = shop.emulator.last_update_id
    shop.emulator.redeliver(pressed)
    await shop.emulator.wait_handled()
    assert await _cart_quantity(session, 42) == 1


async def test_a_replica_killed_mid_update_loses_nothing_and_acts_once(
    emulator: TelegramEmulator, tmp_path: Path
) -> None:
    """kill -9 after the update's change committed, before its answer: Telegram sends it
    again (here to the replica started in its place), which acknowledges it without adding
    the product a second time."""
    port = _free_port()
    database = tmp_path / "shop.db"
    env = {
        **os.environ,
        "BOT_TOKEN": TOKEN,
        "TELEGRAM_API_URL": emulator.base_url,
        "TELEGRAM_WEBHOOK_URL": f"http://127.0.0.1:{port}",
        "TELEGRAM_WEBHOOK_SECRET": SECRET,
        "DATABASE_URL": f"sqlite+aiosqlite:///{database}",
        "MEDIA_DIR": str(tmp_path / "media"),
        "WEB_PORT": str(port),
    }
    env.pop("SHOPBOT_TEST_DATABASE_URL", None)
    (tmp_path / "mug.csv").write_text("sku,name,price,stock\nMUG-1,Кружка,490,5\n")
    imported = await shopbot("import", "mug.csv", cwd=tmp_path, env=env)
    assert await imported.wait() == 0

    first = await _replica(tmp_path, env)
    try:
        anna = emulator.user(42, "Анна")
        await anna.send_text("/start p_MUG-1")
        emulator.delay_next("answerCallbackQuery", 60)  # the replica is mid-update...
        await anna.press("🛒 В корзину", wait=False)
        await _until(lambda: _sqlite_cart_quantity(database, 42) == 1)
        first.kill()  # ...when it dies: its change committed, Telegram never got an answer
        await first.wait()
    finally:
        if first.returncode is None:
            first.kill()
            await first.wait()
    pressed = emulator.last_update_id
    assert emulator.webhook_deliveries[-1].status is None  # no answer: it will come again

    second = await _replica(tmp_path, env)
    try:
        await emulator.wait_handled(timeout=30)
        assert _sqlite_cart_quantity(database, 42) == 1
        assert [d.status for d in emulator.webhook_deliveries if d.update_id == pressed][-1] == 200
        second.send_signal(signal.SIGTERM)
        output, _ = await asyncio.wait_for(second.communicate(), timeout=30)
    finally:
        if second.returncode is None:
            second.kill()
            await second.wait()
    log = output.decode()
    assert second.returncode == 0, log
    assert f"update {pressed} was handled already" in log
    assert "Traceback" not in log


async def _replica(cwd: Path, env: dict[str, str]) -> asyncio.subprocess.Process:
    """``shopbot run`` in webhook mode, once it has set the webhook."""
    process = await shopbot("run", cwd=cwd, env=env, merge_stderr=True)
    assert process.stdout is not None
    seen: list[str] = []
    while not any("receiving updates by webhook at" in line for line in seen):
        line = await asyncio.wait_for(process.stdout.readline(), timeout=60)
        assert line, "".join(seen)
        seen.append(line.decode())
    return process


async def _until(condition: Callable[[], bool]) -> None:
    for _ in range(200):
        if condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the condition did not come true within 10 s")


def _sqlite_cart_quantity(database: Path, user_id: int) -> int:
    with sqlite3.connect(database) as connection:
        row = connection.execute(
            "SELECT coalesce(sum(quantity), 0) FROM cart_line WHERE user_id = ?", (user_id,)
        ).fetchone()
    return int(row[0])


async def test_the_webhook_command_shows_and_deletes_the_webhook(
    webhook_shop: WebhookShop, emulator: TelegramEmulator, tmp_path: Path
) -> None:
    runtime = await webhook_shop()
    env = {
        **os.environ,
        "BOT_TOKEN": TOKEN,
        "TELEGRAM_API_URL": emulator.base_url,
        "SHOPBOT_LANGUAGE": "en",
    }
    info = await shopbot("webhook", "info", cwd=tmp_path, env=env)
    shown, _ = await info.communicate()
    assert info.returncode == 0
    assert f"url: {runtime.web_url}{WEBHOOK_PATH}" in shown.decode().splitlines()
    assert "max connections: 4" in shown.decode()

    delete = await shopbot("webhook", "delete", cwd=tmp_path, env=env)
    said, _ = await delete.communicate()
    assert delete.returncode == 0 and said.decode().strip() == "webhook deleted"
    assert emulator.webhook is None
    again = await shopbot("webhook", "info", cwd=tmp_path, env=env)
    shown, _ = await again.communicate()
    assert "url: (none: the bot polls)" in shown.decode()
