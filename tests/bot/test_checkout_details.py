"""Checkout and cart details a shopper meets: double taps, fast taps, clearing the cart,
the address step, and delivery options with prices."""

from __future__ import annotations

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
