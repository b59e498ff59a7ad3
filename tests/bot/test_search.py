"""Searching through the real dispatcher: /search, the menu's prompt and free text."""

from __future__ import annotations

from tests.bot.conftest import Catalogue, Shop, ShopFactory, buttons

PRICE = "1\u00a0299\u00a0₽"


async def test_results_open_cards_and_more_shows_the_next_page(
    shop: Shop, catalogue: Catalogue
) -> None:
    vera = shop.emulator.user(801, "Вера")
    await vera.send_text("/start")
    await vera.send_text("/search футболки")
    assert "Найдено по запросу «футболки»: 12" in vera.last["text"]
    assert buttons(vera.last) == [
        *(f"{number} · {PRICE} · Футболка {number:02d}" for number in range(1, 9)),
        "Ещё 4 ▶",
    ]
    await vera.press("Ещё 4 ▶")
    assert buttons(vera.last) == [
        *(f"{number - 8} · {PRICE} · Футболка {number:02d}" for number in range(9, 13)),
        "◀",
    ]
    await vera.press(f"2 · {PRICE} · Футболка 10")
    assert "Футболка 10" in vera.last["text"]
    assert shop.emulator.errors == [], [(e.method, e.params) for e in shop.emulator.errors]


async def test_typed_text_finds_products_in_any_form_layout_or_typo(
    shop: Shop, catalogue: Catalogue
) -> None:
    vera = shop.emulator.user(802, "Вера")
    await vera.send_text("/start")
    for typed in ("кружки", "rhe;rf", "кржка", "mug"):
        await vera.send_text(typed)
        assert "Найдено" in vera.last["text"], typed
        assert buttons(vera.last) == [
            "1 · 490\u00a0₽ · Кружка «Утро»",
            f"2 · ⛔ {PRICE} · Кружка распродана",
        ], typed
        assert "1. Кружка «Утро» — 490\u00a0₽\n2. Кружка распродана — " in vera.last["text"]
    await vera.press("1 · 490\u00a0₽ · Кружка «Утро»")
    assert vera.last.get("photo")
    # Text naming no product the shop has: not understood, with what matches part of it.
    await vera.send_text("синяя кружка")
    assert "Точно по запросу «синяя кружка» ничего нет. Может быть" in vera.last["text"]
    assert buttons(vera.last)[0] == "490\u00a0₽ · Кружка «Утро»"
    await vera.send_text("спасибо")  # never "I did not understand": the ways on
    assert "По запросу «спасибо» я ничего не нашёл" in vera.last["text"]
    assert buttons(vera.last) == ["🛍 Открыть каталог", "Не нашли ответ? Написать менеджеру"]
    assert shop.emulator.errors == [], [(e.method, e.params) for e in shop.emulator.errors]


async def test_nothing_found_offers_close_matches_and_the_catalogue(
    shop: Shop, catalogue: Catalogue
) -> None:
    vera = shop.emulator.user(803, "Вера")
    await vera.send_text("/start")
    await vera.send_text("/search синяя кружка")
    assert vera.last["text"] == (
        "По запросу «синяя кружка» ничего не нашлось. Может быть, подойдёт что-то из этого?"
    )
    assert buttons(vera.last) == [
        "490\u00a0₽ · Кружка «Утро»",
        f"⛔ {PRICE} · Кружка распродана",
        "🛍 Открыть каталог",
    ]
    await vera.send_text("/search самокат")
    assert "загляните в каталог" in vera.last["text"]
    assert buttons(vera.last) == ["🛍 Открыть каталог"]
    await vera.press("🛍 Открыть каталог")
    assert "Выберите категорию" in vera.last["text"]
    assert shop.emulator.errors == [], [(e.method, e.params) for e in shop.emulator.errors]


async def test_the_search_prompt_ends_when_the_shopper_goes_elsewhere(
    shop: Shop, catalogue: Catalogue
) -> None:
    vera = shop.emulator.user(804, "Вера")
    await vera.send_text("/start")
    await vera.press("🔍 Поиск")
    assert "Что ищем?" in vera.last["text"]
    await vera.press("🛒 Корзина")
    await vera.send_text("абырвалг")
    assert "я ничего не нашёл" in vera.last["text"]  # free text, not the prompt's answer
    await vera.press("🔍 Поиск")
    await vera.send_text("абырвалг")
    assert "По запросу «абырвалг» ничего не нашлось" in vera.last["text"]
    assert shop.emulator.errors == [], [(e.method, e.params) for e in shop.emulator.errors]


async def test_english(shop: Shop, catalogue: Catalogue) -> None:
    john = shop.emulator.user(805, "John", language_code="en")
    await john.send_text("/start")
    await john.send_text("/search t-shirt")
    assert "Found for “t-shirt”: 12" in john.last["text"]
    assert buttons(john.last)[-1] == "4 more ▶"
    await john.send_text("/search scooter")
    assert "Try other words or look in the catalogue" in john.last["text"]
    assert buttons(john.last) == ["🛍 Open the catalogue"]


async def test_text_in_a_group_is_not_searched(shop: Shop, catalogue: Catalogue) -> None:
    group = shop.emulator.group(-1001, "Болталка")
    group.privacy_mode = False  # the bot sees every message there
    await group.send_text(shop.emulator.user(806, "Вера"), "кружка")
    assert not any("Найдено" in message.get("text", "") for message in group.messages)
    assert not any(buttons(message) for message in group.messages)


async def test_nothing_found_gives_the_shops_contact(
    shop_factory: ShopFactory, catalogue: Catalogue
) -> None:
    shop = await shop_factory(shop_contact="@lavka_help")
    vera = shop.emulator.user(807, "Вера")
    await vera.send_text("/search самокат")
    assert vera.last["text"].endswith("Связаться с магазином: @lavka_help")


async def test_a_greeting_is_answered_with_a_greeting_and_the_menu(shop: Shop) -> None:
    vera = shop.emulator.user(806, "Вера")
    for greeting in ("Привет!", "добрый день", "Здравствуйте 🙂", "hello"):
        await vera.send_text(greeting)
        assert vera.last["text"].startswith("Здравствуйте, Вера! 👋"), greeting
        assert "не понял" not in vera.last["text"]
    assert vera.reply_keyboard is not None
    await vera.send_text("привет, есть кружки?")  # more than a greeting: searched
    assert "Здравствуйте, Вера" not in vera.last["text"]
    assert shop.emulator.errors == [], [(e.method, e.params) for e in shop.emulator.errors]
