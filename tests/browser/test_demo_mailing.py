"""A mailing in the demo, in a real browser: the shopper subscribes, the owner composes a
post, sees its preview with the audience's size, sends it and watches its progress end in a
report; the shopper gets the post with "Unsubscribe" under it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from selenium.webdriver.chrome.webdriver import WebDriver

from tests.browser.conftest import ChatPage, RunningDemo

Screenshot = Callable[[WebDriver, str], Path]
POST = "Весенняя распродажа: −20 % на всё до воскресенья!"


@pytest.fixture(scope="module")
def page(demo: RunningDemo, browser: WebDriver) -> ChatPage:
    chat = ChatPage(browser, demo.url)
    chat.open()
    return chat


def test_the_owner_sends_a_mailing_and_the_subscriber_gets_it(
    page: ChatPage, screenshot: Screenshot
) -> None:
    page.bot_message("Здравствуйте, Анна!")
    page.send("/subscribe")
    page.bot_message("будем присылать вам новости и скидки")

    page.switch_to("admin")
    page.send("/mailing")
    page.bot_message("Новая рассылка")
    page.send(POST)
    page.press("Без кнопок")
    page.press("Все подписчики")
    page.bot_message("Получателей: 1")
    screenshot(page.driver, "mailing-compose")
    page.press("🚀 Отправить сейчас")
    report = page.bot_message("завершена")
    assert "Отправлено: 1 из 1" in report.text
    screenshot(page.driver, "mailing-report")

    page.switch_to("shopper")
    post = page.bot_message(POST)
    assert "🔕 Отписаться" in post.text
