"""The shop talking to its shoppers in the demo, in a real browser.

A mailing: the shopper subscribes, the owner composes a post, sees its preview with the
audience's size, sends it and watches its progress end in a report; the shopper gets the
post with "Unsubscribe" under it. Support: the shopper asks for a manager, their topic
appears in the staff group's view with the card, the admin answers there, the answer
reaches the shopper, ``/close`` ends it and the shopper rates the help."""

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


def test_the_shopper_asks_for_a_manager_and_staff_answer_in_the_topic(
    page: ChatPage, screenshot: Screenshot
) -> None:
    page.switch_to("shopper")
    page.send("/support")
    page.press("🚚 Доставка и оплата")
    page.bot_message("Вы пишете менеджеру")
    page.send("Доставите в Казань?")

    page.switch_to("staff")
    page.topic("Анна")
    card = page.bot_message("Покупатель просит человека")
    assert "Тема: 🚚 Доставка и оплата" in card.text
    page.bot_message("Доставите в Казань?")
    page.send("Да, курьер привезёт за 3 дня")
    screenshot(page.driver, "support-staff")

    page.switch_to("shopper")
    page.bot_message("Вам отвечает Админ")
    page.bot_message("Да, курьер привезёт за 3 дня")
    screenshot(page.driver, "support-shopper")

    page.switch_to("staff")
    page.topic("Анна")
    page.send("/close")
    page.bot_message("Разговор закрыт")
    page.switch_to("shopper")
    page.bot_message("Как мы вам помогли?")
    page.press("5")
    page.bot_message("Спасибо! Ваша оценка")
