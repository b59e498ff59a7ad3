"""The owner's catalogue import through the chat: history, languages, the dry run's diff."""

from __future__ import annotations

from shopbot.models import Product
from tests.bot.conftest import ADMIN, Catalogue, Shop, product


async def downloaded(shop: Shop, message: dict) -> bytes:
    buffer = await shop.bot.download(message["document"]["file_id"])
    assert buffer is not None
    return buffer.getvalue()


async def test_an_import_shows_in_the_product_history_with_who_made_it(
    admin_shop: Shop, catalogue: Catalogue
) -> None:
    """Stock changes from an import were in the history; its price changes were not."""
    owner = admin_shop.emulator.user(ADMIN, "Хозяйка")
    data = "sku;name;price;stock;active\nTS-01;Футболка 01 new;1 399,00;8;0\n".encode()
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
