"""Checkout and cart details a shopper meets: double taps, fast taps, clearing the cart,
the address step, and delivery options with prices."""

from __future__ import annotations

import asyncio

from tests.bot.conftest import Catalogue, Shop
from tests.bot.test_journey import begin_checkout


async def test_a_too_long_address_is_called_too_long(shop: Shop, catalogue: Catalogue) -> None:
    petr = await begin_checkout(shop, 701, "TS-01")
    await petr.send_text("+7 900 765 43 21")
    await petr.press("🚚 Курьером")
    await petr.send_text("Москва, ул. Ленина, д. 1, " + "к" * 480)
    assert petr.last["text"] == (
        "Адрес слишком длинный: можно не больше 500 символов (сейчас 506). "
        "Сократите его, пожалуйста."
    )
    await petr.send_text("Мск")
    assert petr.last["text"] == "Введите полный адрес (город, улица, дом)."
    await petr.send_text("Москва, ул. Ленина, д. 1")
    assert petr.last["text"] == "Комментарий для магазина? Напишите его или пропустите."
    assert shop.emulator.errors == [], [(e.method, e.params) for e in shop.emulator.errors]


async def test_checkout_pressed_twice_asks_once(shop: Shop, catalogue: Catalogue) -> None:
    petr = shop.emulator.user(702, "Пётр")
    await petr.send_text("/start p_TS-01")
    await petr.press("🛒 В корзину")
    await petr.send_text("/cart")
    cart_message = petr.last
    await petr.press("✅ Оформить заказ", message=cart_message)
    answer = await petr.press("✅ Оформить заказ", message=cart_message)
    assert answer is not None and not answer.show_alert
    assert answer.text == "Заказ уже оформляется — ответьте, пожалуйста, на вопрос ниже."
    await asyncio.gather(
        petr.press("✅ Оформить заказ", message=cart_message),
        petr.press("✅ Оформить заказ", message=cart_message),
    )
    prompts = [text for text in petr.texts() if "На какое имя оформить заказ?" in text]
    assert len(prompts) == 1
    await petr.send_text("Пётр")
    await petr.press("✅ Оформить заказ", message=cart_message)  # still the same checkout
    assert petr.last["text"].startswith("Ваш номер телефона?")

    await petr.send_text("/cart")  # a fresh cart message: checkout starts over from it
    await petr.press("✅ Оформить заказ")
    assert "На какое имя оформить заказ?" in petr.last["text"]
    assert shop.emulator.errors == [], [(e.method, e.params) for e in shop.emulator.errors]
