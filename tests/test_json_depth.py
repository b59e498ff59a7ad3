"""A JSON body nested deeper than the parser can go — 50,000 ``[`` — is a malformed body
(400) at every JSON endpoint: the demo chat page's API and both emulators (the YooKassa
webhook is tested with the other malformed bodies in tests/payments/test_webhook.py)."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web

from shopbot import jsonsafe
from shopbot.demo.web import DemoPeople, create_demo_app
from shopbot.emulators.telegram import TelegramEmulator
from shopbot.emulators.yookassa import YooKassaEmulator

DEEP = b"[" * 50_000
DEEP_INSIDE = b'{"chat_id": 1, "text": ' + b"[" * 50_000 + b"]" * 50_000 + b"}"
TOKEN = "123456:TEST-token"


@pytest.mark.parametrize("raw", [DEEP, DEEP_INSIDE, DEEP.decode()])
def test_too_deep_is_a_value_error(raw: bytes | str) -> None:
    with pytest.raises(ValueError):
        jsonsafe.loads(raw)


def test_ordinary_json_parses() -> None:
    assert jsonsafe.loads(b'{"a": [[1], {"b": null}]}') == {"a": [[1], {"b": None}]}


async def post(url: str, body: bytes, headers: dict[str, str] | None = None) -> int:
    headers = {"Content-Type": "application/json", **(headers or {})}
    async with aiohttp.ClientSession() as client, client.post(url, data=body, headers=headers) as r:
        return r.status


@pytest.fixture
async def telegram() -> AsyncIterator[TelegramEmulator]:
    emulator = TelegramEmulator(TOKEN)
    await emulator.start()
    yield emulator
    await emulator.stop()


@pytest.mark.parametrize("body", [DEEP, DEEP_INSIDE])
async def test_the_telegram_emulator_refuses_it(telegram: TelegramEmulator, body: bytes) -> None:
    assert await post(f"{telegram.base_url}/bot{TOKEN}/sendMessage", body) == 400
    assert [error.error_code for error in telegram.errors] == [400]


async def test_a_deep_form_field_is_refused_too(telegram: TelegramEmulator) -> None:
    form = {"chat_id": "1", "text": "hi", "reply_markup": DEEP.decode()}
    async with (
        aiohttp.ClientSession() as client,
        client.post(f"{telegram.base_url}/bot{TOKEN}/sendMessage", data=form) as response,
    ):
        assert response.status == 400


@pytest.mark.parametrize("body", [DEEP, DEEP_INSIDE])
async def test_the_yookassa_emulator_refuses_it(body: bytes) -> None:
    emulator = YooKassaEmulator("500100", "secret")
    await emulator.start()
    try:
        auth = base64.b64encode(b"500100:secret").decode()
        headers = {"Authorization": f"Basic {auth}", "Idempotence-Key": "k-1"}
        assert await post(f"{emulator.api_url}/payments", body, headers) == 400
        assert emulator.payments == {}
    finally:
        await emulator.stop()


@pytest.mark.parametrize("body", [DEEP, DEEP_INSIDE])
async def test_the_demo_page_refuses_it(telegram: TelegramEmulator, body: bytes) -> None:
    people = DemoPeople(telegram.user(1, "Анна"), telegram.user(2, "Хозяйка"))
    runner = web.AppRunner(create_demo_app(telegram, people))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        port = runner.addresses[0][1]
        assert await post(f"http://127.0.0.1:{port}/api/shopper/text", body) == 400
        assert people.shopper.history == {}
    finally:
        await runner.cleanup()
