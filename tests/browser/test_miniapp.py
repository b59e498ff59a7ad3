"""The Mini App storefront inside the demo's chat page, in a real browser: the menu button
opens it (a frame standing in for Telegram's web view, with init data the emulator signed);
the shopper browses, opens a product, adds it, and the chat's /cart has it; then checks out
and pays in the app (Telegram's Main Button drawn by the page), and the chat hears of the
order and its payment."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from selenium.webdriver.chrome.webdriver import WebDriver
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement

from tests.browser.conftest import ChatPage, RunningDemo

Screenshot = Callable[[WebDriver, str], Path]
PRODUCT = "Кружка «Доброе утро», 330 мл"


@pytest.fixture(scope="module")
def page(demo: RunningDemo, browser: WebDriver) -> ChatPage:
    chat = ChatPage(browser, demo.url)
    chat.open()
    return chat


@contextmanager
def in_app(page: ChatPage) -> Iterator[None]:
    """Look inside the Mini App's frame."""
    driver = page.driver
    driver.switch_to.frame(driver.find_element(By.ID, "webview-frame"))
    try:
        yield
    finally:
        driver.switch_to.default_content()


def app_find(page: ChatPage, selector: str, text: str = "") -> WebElement:
    """The first element in the app matching ``selector`` (and holding ``text``); waits."""

    def found() -> WebElement | None:
        with in_app(page):
            for node in page.driver.find_elements(By.CSS_SELECTOR, selector):
                if text in node.text:
                    return node
        return None

    element = page.wait_for(found, f"{selector} {text!r} in the Mini App")
    assert isinstance(element, WebElement)
    return element


def app_click(page: ChatPage, selector: str, text: str = "") -> None:
    def click() -> bool:
        with in_app(page):
            for node in page.driver.find_elements(By.CSS_SELECTOR, selector):
                if text in node.text and node.is_displayed():
                    node.click()
                    return True
        return False

    page.wait_for(click, f"{selector} {text!r} to click in the Mini App")


def main_button(page: ChatPage, starts: str) -> WebElement:
    """The web view's Main Button once the app shows it with this text."""
    button = page.driver.find_element(By.ID, "webview-main")
    page.wait_for(
        lambda: button.is_displayed() and button.is_enabled() and button.text.startswith(starts),
        f"the Main Button {starts!r}",
    )
    return button


def pay_in_the_app(page: ChatPage, button: str) -> None:
    """The Main Button opens YooKassa's test page in a new tab: pay there, come back."""
    driver = page.driver
    chat_window = driver.current_window_handle
    main_button(page, button).click()
    page.wait_for(lambda: len(driver.window_handles) == 2, "the payment page to open")
    driver.switch_to.window(next(h for h in driver.window_handles if h != chat_window))
    page.wait_for(lambda: driver.find_elements(By.CSS_SELECTOR, "button.pay"), "the Pay button")
    driver.find_element(By.CSS_SELECTOR, "button.pay").click()
    page.wait_for(lambda: "Платёж оплачен" in driver.page_source, "the payment to succeed")
    driver.close()
    driver.switch_to.window(chat_window)


def open_shop(page: ChatPage) -> None:
    menu = page.driver.find_element(By.ID, "menu-app")
    page.wait_for(menu.is_displayed, "the menu button")
    assert menu.text == "🛍 Магазин"
    menu.click()
    page.wait_for(lambda: page.driver.find_element(By.ID, "webview").is_displayed(), "the app")


def test_browse_add_and_the_chat_has_the_same_cart(page: ChatPage, screenshot: Screenshot) -> None:
    driver = page.driver
    open_shop(page)
    app_find(page, ".tile", PRODUCT)
    # The grid follows Telegram's theme: the page's colours are the theme's.
    with in_app(page):
        background = driver.execute_script("return getComputedStyle(document.body).backgroundColor")
        assert background == "rgb(255, 255, 255)"
        assert driver.execute_script("return window.innerWidth") <= 390
    screenshot(driver, "miniapp-grid")
    app_click(page, ".chip", "Посуда")
    app_click(page, ".tile", PRODUCT)
    app_find(page, ".product h1", PRODUCT)
    photo = app_find(page, ".gallery img")
    with in_app(page):
        page.wait_for(
            lambda: driver.execute_script("return arguments[0].naturalWidth", photo) > 0,
            "the product photo",
        )
    assert driver.find_element(By.ID, "webview-back").is_displayed()  # Telegram's Back
    app_click(page, ".add")
    main_button(page, "Корзина · 590")
    app_find(page, ".in-cart", "В корзине: 1")
    screenshot(driver, "miniapp-product")

    driver.find_element(By.ID, "webview-close").click()
    page.send("/cart")
    assert "Кружка «Доброе утро»" in page.bot_message("Итого").text


def test_check_out_and_pay_in_the_app(page: ChatPage, screenshot: Screenshot) -> None:
    driver = page.driver
    open_shop(page)
    main_button(page, "Корзина · 590").click()  # the cart, as the chat left it
    app_find(page, ".line", "Кружка «Доброе утро»")
    main_button(page, "Оформить · 590").click()
    phone = app_find(page, "#f-phone")
    with in_app(page):
        assert driver.find_element(By.ID, "f-name").get_attribute("value") == "Анна"
        phone.send_keys("+7 900 123-45-67")
    screenshot(driver, "miniapp-checkout")
    main_button(page, "Заказать · 590").click()
    app_find(page, ".order", "ожидает оплаты")

    pay_in_the_app(page, "Оплатить 590")

    app_find(page, '.order[data-status="paid"]', "Оплачено, спасибо")  # the app follows
    title = app_find(page, ".order h1")
    with in_app(page):
        title_text = title.text  # "Заказ №1001"
    screenshot(driver, "miniapp-paid")
    driver.find_element(By.ID, "webview-close").click()
    # The chat was told: the order with its payment link, then the payment.
    number = title_text.replace("Заказ ", "")
    assert "оплачен" in page.bot_message(f"Оплата получена: 590\u00a0₽. Заказ {number}").text


def test_the_app_follows_a_dark_theme(page: ChatPage) -> None:
    """The web view passes Telegram's dark theme when the device is dark: the app is dark."""
    driver = page.driver
    dark = {"media": "", "features": [{"name": "prefers-color-scheme", "value": "dark"}]}
    driver.execute_cdp_cmd("Emulation.setEmulatedMedia", dark)
    try:
        open_shop(page)
        app_find(page, ".tile")
        with in_app(page):
            assert driver.execute_script("return document.documentElement.dataset.scheme") == (
                "dark"
            )
            background = driver.execute_script(
                "return getComputedStyle(document.body).backgroundColor"
            )
        assert background == "rgb(33, 33, 33)"  # the theme's bg_color, #212121
        driver.find_element(By.ID, "webview-close").click()
    finally:
        driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "", "features": []})


def test_choose_a_size_check_out_and_pay(page: ChatPage, screenshot: Screenshot) -> None:
    """A product sold in sizes: the sold-out size cannot be chosen, the chosen one goes in
    the cart at its stock, and the order is paid in the app."""
    driver = page.driver
    open_shop(page)
    app_click(page, ".tile", "Футболка оверсайз «Ленинград»")
    app_find(page, ".product h1", "Футболка оверсайз «Ленинград»")
    with in_app(page):
        sizes = {
            chip.text: chip.is_enabled()
            for chip in driver.find_elements(By.CSS_SELECTOR, ".variants .chip")
        }
        assert not driver.find_elements(By.CSS_SELECTOR, ".product .add")  # a size first
    assert sizes == {"S": True, "M": True, "L": True, "XL": False}
    app_click(page, ".variants .chip", "M")
    app_find(page, ".product .hint", "В наличии: 4 шт.")
    app_click(page, ".add")
    app_find(page, ".in-cart", "В корзине: 1")
    screenshot(driver, "miniapp-variant")
    main_button(page, "Корзина · 1").click()
    app_find(page, ".line", "Футболка оверсайз «Ленинград», серая — M")
    main_button(page, "Оформить").click()
    app_find(page, "#f-phone")
    main_button(page, "Заказать").click()
    app_find(page, ".order", "ожидает оплаты")
    pay_in_the_app(page, "Оплатить")
    app_find(page, '.order[data-status="paid"]', "Оплачено, спасибо")
    driver.find_element(By.ID, "webview-close").click()
