"""Prompts a shopper walks away from, the main menu's presence, and what a shopper can do
with their own orders — through the real dispatcher and the Bot API emulator."""

from __future__ import annotations

from shopbot.emulators.telegram import EmulatedUser
from tests.bot.conftest import Catalogue, Shop, buttons


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
        await vera.send_text("кружка")
        assert "Найдено" not in vera.last["text"], detour
        assert "не понял" in vera.last["text"], detour
    # The prompt itself still works, and so do a search's pages after a detour.
    await vera.press("🔍 Поиск")
    await vera.send_text("футболка")
    assert "Найдено по запросу «футболка»: 12" in vera.last["text"]
    results = vera.last
    await vera.send_text("/cart")
    await vera.press("▶", message=results)
    assert "2/2" in buttons(vera.history[results["message_id"]])
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
