"""A YooKassa that stalls a payment start must not stall the shop: the real bot, polling
with its handlers as tasks as ``shopbot run`` does, keeps answering a browsing shopper."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from shopbot.emulators.telegram import EmulatedUser
from shopbot.emulators.yookassa import YooKassaEmulator
from tests.bot.conftest import Catalogue, Shop, ShopFactory, check_out, poll_as_tasks, until

STALL = 6.0  # seconds YooKassa takes to answer a payment start (the client waits 15)
PROMPT = 1.5  # seconds a browsing shopper may wait for an answer meanwhile


@pytest.fixture
async def yookassa() -> AsyncIterator[YooKassaEmulator]:
    emulator = YooKassaEmulator("500100", "live_secret")
    await emulator.start()
    yield emulator
    await emulator.stop()


async def timed_press(
    shop: Shop, user: EmulatedUser, label: str, events: asyncio.Queue[dict[str, Any]]
) -> float:
    """Press a button and return the seconds until the bot answered the press and went quiet."""
    started = time.monotonic()
    await user.press(label, wait=False)
    async with asyncio.timeout(STALL * 2):
        while True:
            event = await events.get()
            if event["type"] == "callback_answer" and event["chat_id"] == user.chat_id:
                break
        await shop.emulator.wait_handled()
    return time.monotonic() - started


async def test_a_shopper_browses_promptly_while_a_payment_start_stalls(
    shop_factory: ShopFactory, yookassa: YooKassaEmulator, catalogue: Catalogue
) -> None:
    shop = await shop_factory(
        payment_provider="yookassa",
        yookassa_shop_id="500100",
        yookassa_secret_key="live_secret",
        yookassa_api_url=yookassa.api_url,
        yookassa_trusted_networks=["127.0.0.1/32"],
    )
    anna = await check_out(shop, 201, "MUG-1", confirm=False)
    boris = shop.emulator.user(202, "Борис")
    await boris.send_text("/start")
    await boris.press("🛍 Каталог")
    await poll_as_tasks(shop)
    events = shop.emulator.subscribe()

    yookassa.stall("/payments", seconds=STALL)
    confirmed = time.monotonic()
    await anna.press("✅ Подтвердить", wait=False)
    await until(lambda: yookassa.held == 1, 5)

    latencies = {
        label: await timed_press(shop, boris, label, events)
        for label in (
            "📁 Одежда (12)",
            "📁 Футболки (12)",
            "▶",
            "1 · 1\u00a0299\u00a0₽ · Футболка 09",
            "🛒 В корзину",
        )
    }
    assert yookassa.held == 1, "the payment start was answered before Boris was done"
    assert max(latencies.values()) < PROMPT, latencies
    assert "Добавлено в корзину ✅" in [a.text for a in shop.emulator.callback_answers.values()]

    await until(lambda: any("Товары отложены" in text for text in anna.texts()), STALL + 5)
    assert time.monotonic() - confirmed >= STALL
    assert anna.button("💳 Оплатить 490\u00a0₽", message=anna.last)["url"].startswith(
        yookassa.base_url + "/checkout/"
    )
    assert len(yookassa.payments) == 1
    await shop.emulator.wait_handled()
    assert shop.emulator.errors == []
