"""How the owner finds the admin side: the "⚙️ Управление" menu button, and a catalogue
file sent without the /import caption."""

from __future__ import annotations

from tests.bot.conftest import ADMIN, Catalogue, Shop, buttons
from tests.bot.test_shopper_flows import MENU, menu_of

UNKNOWN = "Извините, я не понял."


async def test_admins_get_a_manage_button_in_the_main_menu(
    admin_shop: Shop, catalogue: Catalogue
) -> None:
    owner = admin_shop.emulator.user(ADMIN, "Хозяйка")
    await owner.send_text("/start")
    assert menu_of(owner) == [*MENU, "⚙️ Управление"]
    await owner.press("⚙️ Управление")
    assert "/stock АРТИКУЛ N" in owner.last["text"]
    assert "📉 Мало на складе" in buttons(owner.last)

    anna = admin_shop.emulator.user(101, "Анна")
    await anna.send_text("/start")
    assert menu_of(anna) == MENU
    await anna.send_text("⚙️ Управление")
    assert anna.last["text"].startswith(UNKNOWN)
    assert admin_shop.emulator.errors == [], [
        (e.method, e.params) for e in admin_shop.emulator.errors
    ]
