"""The demo in a real browser: a shopper buys and pays, then the admin changes stock."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from selenium.webdriver.chrome.webdriver import WebDriver
from selenium.webdriver.common.by import By

from tests.browser.conftest import PHONE, ChatPage, RunningDemo

Screenshot = Callable[[WebDriver, str], Path]


@pytest.fixture(scope="module")
def page(demo: RunningDemo, browser: WebDriver) -> ChatPage:
    chat = ChatPage(browser, demo.url)
    chat.open()
    assert browser.execute_script("return window.innerWidth") == PHONE["width"]
    return chat


def test_shopper_buys_and_pays(page: ChatPage, screenshot: Screenshot) -> None:
    driver = page.driver
    page.bot_message("Здравствуйте, Анна!")
    page.key("🛍 Каталог")
    page.bot_message("Выберите категорию")
    page.press("📁 Одежда")
    page.press("📁 Футболки")
    shirts = page.bot_message("₽ · Футболка «Северное сияние»")
    screenshot(driver, "catalogue")
    # A phone cuts long labels with "…": the price comes first, so only names lose their end.
    assert page.buttons_hiding(shirts, "₽") == []
    assert len(shirts.find_elements(By.CSS_SELECTOR, ".inline-button")) >= 3
    # ... and the message above lists them in full, by the buttons' numbers.
    assert "2. Футболка оверсайз «Ленинград», серая — 1 690 ₽" in shirts.text

    page.press("1 · 1\u00a0490\u00a0₽ · Футболка «Северное сияние»")
    card = page.bot_message("Хлопок 100%")
    photo = card.find_element(By.CSS_SELECTOR, "img.photo")
    page.wait_for(
        lambda: (
            driver.execute_script("return arguments[0].complete", photo)
            and driver.execute_script("return arguments[0].naturalWidth", photo) > 0
        ),
        "the product photo to load",
    )
    assert "Северное сияние" in card.text
    page.press("🛒 В корзину")
    page.wait_for(lambda: "Добавлено в корзину" in page.toast(), "the 'added' toast")
    card = page.bot_message("🛒 В корзине: 1")
    assert page.cut_buttons(card) == []  # the card's buttons fit a phone too
    screenshot(driver, "product-card")

    page.press("⬅ К списку")
    page.press("2 · 1\u00a0690\u00a0₽ · Футболка оверсайз «Ленинград»")
    page.bot_message("Выберите вариант ниже")  # the sample's oversize shirt comes in sizes
    page.press("M")
    page.bot_message("«Ленинград», серая — M")
    page.press("🛒 В корзину")
    page.press("✅ К корзине")
    cart = page.bot_message("Итого")
    assert "1. Футболка «Северное сияние», чёрная × 1" in cart.text
    assert "2. Футболка оверсайз «Ленинград», серая — M × 1" in cart.text
    # Each row's buttons name the line by its number, and all of them fit on a phone.
    assert page.cut_buttons(cart) == []
    page.wait_for(lambda: not page.toast(), "the toast to go")
    screenshot(driver, "cart")

    page.press("✅ Оформить заказ")
    page.bot_message("На какое имя оформить заказ?")
    page.press("Анна")
    page.key("📱")
    page.bot_message("Как вы хотите получить заказ?")
    assert page.my_message("+79001234567")
    page.press("🏬 Самовывоз")
    page.press("Пропустить")
    page.bot_message("Проверьте заказ")
    page.wait_for(lambda: not page.toast(), "the toast to go")
    screenshot(driver, "checkout")

    page.press("✅ Подтвердить")
    placed = page.bot_message("оформлен")
    pay_link = placed.find_element(By.CSS_SELECTOR, "a.inline-button.url")
    assert "/checkout/" in (pay_link.get_attribute("href") or "")
    chat_window = driver.current_window_handle
    pay_link.click()
    page.wait_for(lambda: len(driver.window_handles) == 2, "the payment page to open")
    driver.switch_to.window(next(h for h in driver.window_handles if h != chat_window))
    page.wait_for(lambda: driver.find_elements(By.CSS_SELECTOR, "button.pay"), "the Pay button")
    screenshot(driver, "payment-page")
    driver.find_element(By.CSS_SELECTOR, "button.pay").click()
    page.wait_for(lambda: "Платёж оплачен" in driver.page_source, "the payment to succeed")
    driver.close()
    driver.switch_to.window(chat_window)

    assert "Заказ №" in page.bot_message("оплачен").text
    page.wait_for(lambda: not page.toast(), "the toast to go")
    screenshot(driver, "order-paid")

    page.switch_to("admin")  # the shop's staff hear about the paid order
    assert "оплачен" in page.bot_message("Контакт: Анна, +79001234567").text


def test_admin_changes_stock(page: ChatPage, screenshot: Screenshot) -> None:
    page.switch_to("admin")
    page.bot_message("Здравствуйте")
    page.send("/stock TSH-001 5")
    page.bot_message("→ 5")
    screenshot(page.driver, "admin")

    page.switch_to("shopper")
    page.send("/start p_TSH-001")
    page.bot_message("В наличии: 5")


def test_admin_exports_and_imports_files(
    page: ChatPage, tmp_path: Path, screenshot: Screenshot
) -> None:
    driver = page.driver
    page.switch_to("admin")
    page.send("/export")
    exported = page.bot_message("Каталог. Отредактируйте")
    link = exported.find_element(By.CSS_SELECTOR, "a.document")
    assert link.text.endswith("Б") and ".csv" in link.text
    csv = driver.execute_async_script(
        "const done = arguments[1]; fetch(arguments[0]).then((r) => r.text()).then(done);",
        link.get_attribute("href"),
    )
    assert "TSH-001" in csv

    upload = tmp_path / "new-products.csv"
    upload.write_text("sku,name,price,stock\nDEMO-1,Открытка «Демо»,150,7\n", encoding="utf-8")
    driver.find_element(By.ID, "file").send_keys(str(upload))
    page.wait_for(lambda: driver.find_element(By.ID, "upload").is_displayed(), "the upload bar")
    assert driver.find_element(By.ID, "caption").get_attribute("value") == "/import"
    driver.find_element(By.ID, "upload-send").click()
    page.wait_for(lambda: page.my_message("new-products.csv"), "the file in the chat")
    page.bot_message("Проверено строк: 1")
    screenshot(driver, "admin-import")
