"""Checkout and cart details a shopper meets: double taps, fast taps, clearing the cart,
the address step, and delivery options with prices."""

from __future__ import annotations

import asyncio

from shopbot.services import cart
from tests.bot.conftest import Catalogue, Shop, buttons
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


async def test_clearing_the_cart_asks_first(shop: Shop, catalogue: Catalogue) -> None:
    olga = shop.emulator.user(703, "Ольга")
    await olga.send_text("/start p_TS-01")
    await olga.press("🛒 В корзину")
    await olga.send_text("/start p_MUG-1")
    await olga.press("🛒 В корзину")
    await olga.send_text("/cart")
    sent = len(olga.messages)
    await olga.press("🧹 Очистить")
    assert olga.last["text"] == "🧹 Очистить корзину? Сейчас в ней 2 товара на 1\u00a0789\u00a0₽."
    assert buttons(olga.last) == ["🧹 Да, очистить", "Нет"]
    await olga.press("Нет")
    assert "Итого: 1\u00a0789\u00a0₽" in olga.last["text"]
    async with shop.session_factory() as session:
        assert (await cart.get_cart(session, 703)).count == 2
    await olga.press("🧹 Очистить")
    answer = await olga.press("🧹 Да, очистить")
    assert answer is not None and answer.text == "Корзина очищена"
    assert "Корзина пуста" in olga.last["text"]
    assert len(olga.messages) == sent  # all in the cart's own message
    async with shop.session_factory() as session:
        assert (await cart.get_cart(session, 703)).is_empty
    assert shop.emulator.errors == [], [(e.method, e.params) for e in shop.emulator.errors]


async def test_fast_taps_on_add_show_the_count_and_stop_at_stock(
    shop: Shop, catalogue: Catalogue
) -> None:
    """Taps quicker than the card's edits reach the phone all carry "В корзину" (the
    button the shopper still sees): each adds one, the card shows the count at once, and
    the tap beyond stock says there is no more."""
    olga = shop.emulator.user(704, "Ольга")
    await olga.send_text("/start p_TS-01")  # five in stock
    card = olga.last
    add = olga.button("🛒 В корзину", message=card)["callback_data"]
    answers = [await olga.press_data(add, message=card) for _ in range(6)]
    assert "🛒 В корзине: 5 · ➕" in buttons(olga.last)
    assert [answer.text for answer in answers if answer is not None][-1] == (
        "Больше нет в наличии: в корзине уже 5 шт., это весь остаток."
    )
    async with shop.session_factory() as session:
        assert (await cart.get_cart(session, 704)).count == 5
    answer = await olga.press("🛒 В корзине: 5 · ➕")
    assert answer is not None and answer.text.startswith("Больше нет в наличии")
    await olga.press("➖")
    assert "🛒 В корзине: 4 · ➕" in buttons(olga.last)
    await olga.press("✅ Перейти в корзину")
    assert "Футболка 01 × 4" in olga.last["text"]
    assert shop.emulator.errors == [], [(e.method, e.params) for e in shop.emulator.errors]
