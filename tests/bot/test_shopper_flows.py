"""Prompts a shopper walks away from, the main menu's presence, and what a shopper can do
with their own orders — through the real dispatcher and the Bot API emulator."""

from __future__ import annotations

from shopbot.emulators.telegram import EmulatedUser
from tests.bot.conftest import Catalogue, Shop, buttons, check_out


def menu_of(user: EmulatedUser) -> list[str]:
    """The texts of the reply keyboard the chat shows now ([] when none)."""
    keyboard = user.reply_keyboard or {}
    return [button["text"] for row in keyboard.get("keyboard", []) for button in row]


async def test_a_command_or_menu_button_leaves_the_search_prompt(
    shop: Shop, catalogue: Catalogue
) -> None:
    vera = shop.emulator.user(811, "Вера")
    await vera.send_text("/start")
    for detour in ("🛒 Корзина", "/help", "📦 Заказы", "/catalog"):
        await vera.press("🔍 Поиск")
        assert "Что ищем?" in vera.last["text"]
        await vera.send_text(detour)
        await vera.send_text("абырвалг")  # typed outside the prompt: not a search for it
        assert "по запросу" not in vera.last["text"], detour
        assert "я ничего не нашёл" in vera.last["text"], detour
    # The prompt itself still works, and so do a search's pages after a detour.
    await vera.press("🔍 Поиск")
    await vera.send_text("футболка")
    assert "Найдено по запросу «футболка»: 12" in vera.last["text"]
    results = vera.last
    await vera.send_text("/cart")
    await vera.press("Ещё 4 ▶", message=results)
    assert "◀" in buttons(vera.history[results["message_id"]])
    assert shop.emulator.errors == [], [(e.method, e.params) for e in shop.emulator.errors]


async def test_a_detour_keeps_checkout(shop: Shop, catalogue: Catalogue) -> None:
    petr = shop.emulator.user(812, "Пётр")
    await petr.send_text("/start p_TS-01")
    await petr.press("🛒 В корзину")
    await petr.send_text("/cart")
    await petr.press("✅ Оформить заказ")
    await petr.send_text("/catalog")
    await petr.send_text("Пётр")
    assert "Ваш номер телефона?" in petr.last["text"]
    assert shop.emulator.errors == [], [(e.method, e.params) for e in shop.emulator.errors]


MENU = ["🛍 Каталог", "🛒 Корзина", "📦 Заказы", "🔍 Поиск", "❓ Помощь"]


async def test_the_menu_comes_back_after_the_phone_step(shop: Shop, catalogue: Catalogue) -> None:
    petr = shop.emulator.user(821, "Пётр")
    await petr.send_text("/start p_TS-01")
    await petr.press("🛒 В корзину")
    await petr.send_text("/cart")
    await petr.press("✅ Оформить заказ")
    await petr.send_text("Пётр")
    assert menu_of(petr) == ["📱 Отправить мой номер"]
    await petr.send_text("/catalog")  # a detour: the phone step still needs its keyboard
    assert menu_of(petr) == ["📱 Отправить мой номер"]
    await petr.press("📱 Отправить мой номер")
    assert menu_of(petr) == MENU  # with "Телефон сохранён", no extra message
    assert "Как вы хотите получить заказ?" in petr.last["text"]
    await petr.press("🏬 Самовывоз")
    await petr.press("Пропустить")
    await petr.press("✖ Отменить")
    assert "Оформление отменено" in petr.last["text"]
    assert menu_of(petr) == MENU

    anna = await check_out(shop, 822, "TS-02")  # a typed phone, then Confirm
    assert "оформлен" in anna.texts()[-1]
    for command in ("/cart", "/orders", "/catalog"):
        await anna.send_text(command)
        assert menu_of(anna) == MENU, command
    assert shop.emulator.errors == [], [(e.method, e.params) for e in shop.emulator.errors]


async def test_the_search_prompt_brings_the_menu_back(shop: Shop, catalogue: Catalogue) -> None:
    """At the phone step /search leaves checkout for the prompt: the menu is back with it."""
    petr = shop.emulator.user(823, "Пётр")
    await petr.send_text("/start p_TS-01")
    await petr.press("🛒 В корзину")
    await petr.send_text("/cart")
    await petr.press("✅ Оформить заказ")
    await petr.send_text("Пётр")
    await petr.send_text("/search")
    assert "Что ищем?" in petr.last["text"] and menu_of(petr) == MENU
