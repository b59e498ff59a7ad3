"""The demo page as Telegram's web view: the menu button, opening only Mini Apps the bot
offers (with signed init data), paying invoice links; refusals in the page's language."""

from __future__ import annotations

from collections.abc import AsyncIterator
from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest
from aiogram.utils.web_app import check_webapp_signature
from aiohttp import web

from shopbot.demo.web import DemoPeople, create_demo_app
from shopbot.demo.webapp import add_webapp_routes
from shopbot.emulators.telegram import TelegramEmulator

TOKEN = "123456:TEST-token"
APP = "http://127.0.0.1:9/app/"


@pytest.fixture
async def page() -> AsyncIterator[tuple[TelegramEmulator, str]]:
    telegram = TelegramEmulator(TOKEN, test_environment=True)
    await telegram.start()
    people = DemoPeople(telegram.user(1, "Анна"), telegram.user(2, "Хозяйка"))
    app = create_demo_app(telegram, people, "ru")
    add_webapp_routes(app)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    yield telegram, f"http://127.0.0.1:{runner.addresses[0][1]}"
    await runner.cleanup()
    await telegram.stop()


async def test_the_menu_button_opens_the_app_with_signed_init_data(
    page: tuple[TelegramEmulator, str],
) -> None:
    telegram, url = page
    async with aiohttp.ClientSession() as client:
        async with client.get(f"{url}/api/shopper/menu") as response:
            assert await response.json() == {"type": "default"}
        refused = {"url": APP, "theme": {}}
        async with client.post(f"{url}/api/shopper/webapp", json=refused) as response:
            assert response.status == 400
            assert (await response.json())["error"] == "Бот больше не предлагает это приложение."
        telegram.web_apps.menu_buttons[None] = {
            "type": "web_app",
            "text": "🛍 Магазин",
            "web_app": {"url": APP},
        }
        theme = {"bg_color": "#212121", "text_color": "javascript:alert(1)"}
        async with client.post(
            f"{url}/api/shopper/webapp", json={"url": APP, "theme": theme}
        ) as response:
            launch = (await response.json())["url"]
    fragment = parse_qs(urlsplit(launch).fragment)
    assert launch.startswith(APP + "#")
    assert check_webapp_signature(TOKEN, fragment["tgWebAppData"][0])
    assert fragment["tgWebAppThemeParams"] == ["{}"]  # a theme that is not colours is dropped


async def test_an_unknown_invoice_is_refused(page: tuple[TelegramEmulator, str]) -> None:
    _telegram, url = page
    async with (
        aiohttp.ClientSession() as client,
        client.post(f"{url}/api/shopper/invoice", json={"slug": "nope"}) as response,
    ):
        assert response.status == 400
        assert (await response.json())["error"] == "Этот счёт больше недействителен."
