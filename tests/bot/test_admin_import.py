"""The owner's catalogue import through the chat: history, languages, the dry run's diff."""

from __future__ import annotations

from shopbot.models import Product
from tests.bot.conftest import ADMIN, Catalogue, Shop, ShopFactory, buttons, product


async def downloaded(shop: Shop, message: dict) -> bytes:
    buffer = await shop.bot.download(message["document"]["file_id"])
    assert buffer is not None
    return buffer.getvalue()


async def test_an_import_shows_in_the_product_history_with_who_made_it(
    admin_shop: Shop, catalogue: Catalogue
) -> None:
    """Stock changes from an import were in the history; its price changes were not."""
    owner = admin_shop.emulator.user(ADMIN, "Хозяйка")
    data = (
        "sku;name;price;stock;active\nTS-01;Футболка 01 new;1 399,00;8;0\nNEW-9;Новинка;990;0;1\n"
    ).encode()
    await owner.send_document("catalogue.csv", data, caption="/import")
    await owner.press("✅ Применить", message=owner.last)
    found: Product = await product(admin_shop, "TS-01")
    assert (found.price, found.name, found.stock, found.active) == (
        139900,
        "Футболка 01 new",
        8,
        False,
    )

    await owner.send_text("/product TS-01")
    card = owner.last["text"]
    assert "Хозяйка: цена 1\u00a0299\u00a0₽ → 1\u00a0399\u00a0₽" in card
    assert "Хозяйка: название «Футболка 01» → «Футболка 01 new»" in card
    assert "Хозяйка: скрыт" in card
    assert "Хозяйка: импорт: остаток 5 → 8" in card
    await owner.send_text("/product NEW-9")
    assert "Хозяйка: новый товар, цена 990\u00a0₽" in owner.last["text"]


BROKEN = b"sku;name;price\nTS-01;;abc\n"


async def test_import_errors_are_in_the_owners_language(
    shop_factory: ShopFactory, catalogue: Catalogue
) -> None:
    """They were English sentences from the importer inside the Russian chat."""
    admin_shop = await shop_factory(admin_ids=[ADMIN, ADMIN + 1])
    owner = admin_shop.emulator.user(ADMIN, "Хозяйка")
    await owner.send_document("bad.csv", BROKEN, caption="/import")
    text = owner.last["text"]
    assert "строка 2, Наименование: Столбец «Наименование» не заполнен" in text
    assert "строка 2, Цена: «abc» — не цена; пишите так: 1299" in text
    await owner.send_document("header.csv", b"sku;nazvanie\nA;B\n", caption="/import")
    assert "В заголовке нет столбца «Цена» (или «price»)." in owner.last["text"]
    await owner.send_document("book.xlsx.csv", b"PK\x03\x04\0\0", caption="/import")
    assert "Это архив ZIP (книга Excel?); сохраните её как CSV." in owner.last["text"]

    english = admin_shop.emulator.user(ADMIN + 1, "Owner", language_code="en")
    await english.send_document("bad.csv", BROKEN, caption="/import")
    assert "line 2, price: The price “abc” is not a price" in english.last["text"]


RUSSIAN = (
    "Артикул;Название;Стоимость;Кол-во;Категория;Описание;Фото;Видимость\n"
    "TS-01;Футболка 01;1 399,00;5;Одежда / Футболки;;;да\n"
    "NEW-1;Новинка;990;7;Новое;;;нет\n"
).encode()


async def test_russian_headers_and_the_export_in_the_language_imported_with(
    shop_factory: ShopFactory, catalogue: Catalogue
) -> None:
    """A Russian header was refused ("no 'sku' column"); /export always wrote English."""
    admin_shop = await shop_factory(admin_ids=[ADMIN, ADMIN + 1])
    owner = admin_shop.emulator.user(ADMIN, "Хозяйка")
    await owner.send_document("каталог.csv", RUSSIAN, caption="/import")
    assert "❌" not in owner.last["text"] and "Предупреждения" not in owner.last["text"]
    await owner.press("✅ Применить", message=owner.last)
    new = await product(admin_shop, "NEW-1")
    assert (new.price, new.stock, new.active) == (99000, 7, False)

    english = admin_shop.emulator.user(ADMIN + 1, "Owner", language_code="en")
    await english.send_text("/export")  # the owner imported in Russian: Russian it stays
    exported = english.last
    data = (await downloaded(admin_shop, exported)).decode("utf-8-sig")
    assert data.startswith("Артикул;Наименование;Цена;Остаток;Категория;Описание;Активен;")
    assert "NEW-1;Новинка;990,00;7;Новое;;нет;;;7;" in data
    assert "Keep the “Остаток при выгрузке” and “Метка выгрузки” columns" in exported["caption"]

    await english.send_document(
        "catalogue.csv", b"sku;name;price\nNEW-1;Novelty;990\n", caption="/import"
    )
    await english.press("✅ Apply", message=english.last)
    await owner.send_text("/export")
    assert (await downloaded(admin_shop, owner.last)).startswith("\ufeffsku;name;price".encode())
    assert "Столбцы «exported_stock» и «export_id» оставьте как есть." in owner.last["caption"]

    # Sent back as exported, it changes nothing.
    await owner.send_document(
        "catalogue.csv", await downloaded(admin_shop, owner.last), caption="/import"
    )
    assert "изменённые: 0" in owner.last["text"]


async def test_export_language_setting_wins(
    shop_factory: ShopFactory, catalogue: Catalogue
) -> None:
    admin_shop = await shop_factory(admin_ids=[ADMIN], export_language="en")
    owner = admin_shop.emulator.user(ADMIN, "Хозяйка")
    await owner.send_document("каталог.csv", RUSSIAN, caption="/import")
    await owner.press("✅ Применить", message=owner.last)
    await owner.send_text("/export")
    data = await downloaded(admin_shop, owner.last)
    assert data.startswith("\ufeffsku;name;price;stock;category;description;active;".encode())


async def test_the_dry_run_shows_what_changes_and_sends_the_rest_as_csv(
    admin_shop: Shop, catalogue: Catalogue
) -> None:
    """It showed counts only: "изменённые: 1" and nothing about what."""
    owner = admin_shop.emulator.user(ADMIN, "Хозяйка")
    data = "sku;name;price;stock\nTS-01;Футболка 01;1 399;8\nNEW-1;Новинка;990;7\n".encode()
    await owner.send_document("catalogue.csv", data, caption="/import")
    summary = owner.last["text"]
    assert "Что изменится:" in summary
    assert "• NEW-1 «Новинка», новый товар: цена 990\u00a0₽; остаток 7" in summary
    assert (
        "• TS-01 «Футболка 01»: цена 1\u00a0299\u00a0₽ → 1\u00a0399\u00a0₽; остаток 5 → 8"
        in summary
    )
    assert "document" not in owner.messages[-2]  # few changes: no file

    rows = "".join(f"TS-{n:02d};Футболка {n:02d};1 500;5\n" for n in range(1, 13))
    await owner.send_document(
        "prices.csv", f"sku;name;price;stock\n{rows}".encode(), caption="/import"
    )
    summary = owner.last
    assert summary["text"].count("цена 1\u00a0299\u00a0₽ → 1\u00a0500\u00a0₽") == 10
    assert "… и ещё 2 товара: все изменения — в приложенном файле." in summary["text"]
    assert buttons(summary) == ["✅ Применить", "✖ Отменить"]
    listing = owner.messages[-2]
    assert listing["document"]["file_name"] == "import-changes.csv"
    lines = (await downloaded(admin_shop, listing)).decode("utf-8-sig").splitlines()
    assert lines[0] == "Артикул;Наименование;Товар;Поле;Было;Станет"
    assert (
        len(lines) == 13
        and "TS-12;Футболка 12;изменён;Цена;1\u00a0299\u00a0₽;1\u00a0500\u00a0₽" in lines
    )
