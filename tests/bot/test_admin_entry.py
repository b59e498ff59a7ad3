"""How the owner finds the admin side: the "⚙️ Управление" menu button, and a catalogue
file sent without the /import caption."""

from __future__ import annotations

from tests.bot.conftest import ADMIN, Catalogue, Shop, buttons, product
from tests.bot.test_admin import GOOD_CSV
from tests.bot.test_shopper_flows import MENU, menu_of

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


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
    await anna.send_text("⚙️ Управление")  # typed by hand: nothing to do with the shop's goods
    assert "я ничего не нашёл" in anna.last["text"] and "/stock" not in anna.last["text"]
    assert admin_shop.emulator.errors == [], [
        (e.method, e.params) for e in admin_shop.emulator.errors
    ]


async def test_a_file_without_the_import_caption_is_offered_an_import(
    admin_shop: Shop, catalogue: Catalogue
) -> None:
    owner = admin_shop.emulator.user(ADMIN, "Хозяйка")
    sent = await owner.send_document("catalogue.csv", GOOD_CSV)
    offer = owner.last
    assert "Похоже на каталог" in offer["text"]
    assert offer["reply_to_message"]["message_id"] == sent["message_id"]
    assert buttons(offer) == ["📥 Импортировать этот файл"]
    await owner.press("📥 Импортировать этот файл")
    summary = owner.last
    assert "Проверено строк: 2." in summary["text"]
    assert buttons(summary) == ["✅ Применить", "✖ Отменить"]
    assert buttons(owner.history[offer["message_id"]]) == []  # pressed once, gone
    assert (await product(admin_shop, "TS-01")).price == 129900  # a dry run writes nothing
    await owner.press("✅ Применить", message=summary)
    assert (await product(admin_shop, "TS-01")).price == 139900

    await owner.send_document("price.xlsx", b"PK\x03\x04", mime_type=XLSX)
    assert owner.last["text"].startswith("Это не файл CSV. В Excel: Файл → Сохранить как → CSV")

    anna = admin_shop.emulator.user(101, "Анна")
    await anna.send_document("catalogue.csv", GOOD_CSV)
    assert anna.last["text"].startswith("Извините, файлы и картинки я не принимаю.")
    assert buttons(anna.last) == []
    assert admin_shop.emulator.errors == [], [
        (e.method, e.params) for e in admin_shop.emulator.errors
    ]
