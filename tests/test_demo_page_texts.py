"""The demo page's own words (status line, buttons, toasts) in the demo's language."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web

from shopbot.demo.texts import PAGE_TEXTS, page_texts
from shopbot.demo.web import STATIC_DIR, DemoPeople, create_demo_app
from shopbot.emulators.telegram import TelegramEmulator
from shopbot.emulators.telegram_forum import forum

TOKEN = "123456:TEST-token"
INDEX = (STATIC_DIR / "index.html").read_text("utf-8")
SCRIPT = (STATIC_DIR / "app.js").read_text("utf-8")


@pytest.fixture
async def telegram() -> AsyncIterator[TelegramEmulator]:
    emulator = TelegramEmulator(TOKEN)
    await emulator.start()
    yield emulator
    await emulator.stop()


async def serve(telegram: TelegramEmulator, language: str) -> tuple[web.AppRunner, str]:
    people = DemoPeople(telegram.user(1, "Анна"), telegram.user(2, "Хозяйка"))
    runner = web.AppRunner(create_demo_app(telegram, people, language))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner, f"http://127.0.0.1:{runner.addresses[0][1]}"


def test_every_word_of_the_page_is_translated() -> None:
    """Each text has its own Russian (a missing translation would show the English)."""
    russian, english = page_texts("ru"), page_texts("en")
    assert english == PAGE_TEXTS
    assert [key for key in PAGE_TEXTS if russian[key] == english[key]] == []


def test_the_page_and_its_script_only_use_known_texts() -> None:
    slots = set(re.findall(r"\{\{(\w+)\}\}", INDEX)) - {"lang", "texts", "initial"}
    used = set(re.findall(r"\bT\.(\w+)", SCRIPT))
    assert slots and used
    assert (slots | used) - PAGE_TEXTS.keys() == set()
    # No words written into the page itself: its visible texts and labels are all slots.
    words = re.sub(r"\{\{\w+\}\}|<[^>]*>", " ", INDEX)
    labels = re.findall(r'(?:title|aria-label|placeholder)="([^"]*)"', INDEX)
    assert labels and all(re.fullmatch(r"\{\{\w+\}\}", label) for label in labels)
    assert [word for word in words.split() if re.search(r"[^\W\d_]", word)] == [
        "shopbot",  # the window's title: the program's name
        "demo",
        "OK",  # the alert's button, the same in both languages
    ]


@pytest.mark.parametrize(
    ("language", "online", "toast"),
    [("ru", "в сети", "Сначала напишите сообщение."), ("en", "online", "Type a message first.")],
)
async def test_the_page_speaks_the_demo_language(
    telegram: TelegramEmulator, language: str, online: str, toast: str
) -> None:
    runner, url = await serve(telegram, language)
    try:
        async with aiohttp.ClientSession() as client:
            async with client.get(url) as response:
                page = await response.text()
            async with client.post(f"{url}/api/shopper/text", json={"text": " "}) as response:
                assert response.status == 400
                refused = await response.json()
    finally:
        await runner.cleanup()
    assert f'<html lang="{language}">' in page and "{{" not in page
    assert f'"online": "{online}"' in page
    assert refused == {"error": toast}


async def test_the_staff_group_view_writes_into_the_chosen_topic(
    telegram: TelegramEmulator,
) -> None:
    """The staff view streams the group's topics; a text needs a topic and goes into it as the
    admin's; the group takes no files (said in the page's language)."""
    staff = forum(telegram, -1005000003, "Персонал")
    people = DemoPeople(telegram.user(1, "Анна"), telegram.user(2, "Хозяйка"), staff=staff)
    staff.join(people.admin, "creator")
    runner = web.AppRunner(create_demo_app(telegram, people, "ru"))
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    try:
        async with aiohttp.ClientSession() as client:
            bot_api = f"{telegram.base_url}/bot{TOKEN}/createForumTopic"
            made = {"chat_id": staff.chat_id, "name": "Анна · #1"}
            async with client.post(bot_api, json=made) as created:
                thread = (await created.json())["result"]["message_thread_id"]
            async with client.get(f"{url}/events?as=staff") as events:
                reset = json.loads((await events.content.readline()).removeprefix(b"data: "))
            api = f"{url}/api/staff"
            async with client.post(f"{api}/text", json={"text": "Здравствуйте"}) as refused:
                assert refused.status == 400
                assert await refused.json() == {"error": "Сначала выберите тему."}
            async with client.post(f"{api}/keyboard", json={"text": "x"}) as no_keyboard:
                assert (await no_keyboard.json())["error"].startswith("В этом демо группа")
            answer = {"text": "Здравствуйте", "thread": thread}
            async with client.post(f"{api}/text", json=answer) as sent:
                assert sent.status == 200
    finally:
        await runner.cleanup()
    assert reset["topics"] == [{"id": thread, "name": "Анна · #1", "closed": False}]
    (written,) = staff.in_topic(thread)
    assert written["text"] == "Здравствуйте" and written["from"]["id"] == people.admin.id
