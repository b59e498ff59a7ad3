"""Variants through the whole journey, over real HTTP to the Bot API emulator: the card's
choices (sold out ⛔, not made ✖), the chosen variant in the cart, checkout, the YooKassa
payment whose 54-FZ receipt names it, and its own stock reserved."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from shopbot.bot.callbacks import CatalogAction, CatalogCb
from shopbot.emulators.yookassa import YooKassaEmulator
from shopbot.importer import ImportOptions, import_catalog
from shopbot.models import Favourite, Order, OrderStatus, Product
from tests.bot.conftest import Shop, buttons

CSV = "\n".join(
    (
        "sku,name,price,stock,category,description,variant_of,option1,option2",
        "TSH-9,Футболка «Волна»,1490,,Одежда,Хлопок 100%.,,,",
        "TSH-9-S-B,,,3,,,TSH-9,S,чёрная",
        "TSH-9-M-B,,,0,,,TSH-9,M,чёрная",
        "TSH-9-M-W,,1690,2,,,TSH-9,M,белая",
        "MUG-1,Кружка,590,10,Посуда,,,,",
        "",
    )
).encode()
PRICE = "1\u00a0490\u00a0₽"
WHITE_PRICE = "1\u00a0690\u00a0₽"


@pytest.fixture
async def variants(shop_or_yk: Shop, media_dir: Path) -> Shop:
    report = await import_catalog(shop_or_yk.session_factory, CSV, ImportOptions(media_dir))
    assert report.ok, report.errors
    return shop_or_yk


@pytest.fixture
def shop_or_yk(yk_shop: Shop) -> Shop:
    return yk_shop


async def product(shop: Shop, sku: str) -> Product:
    async with shop.session_factory() as session:
        found = await session.scalar(select(Product).where(Product.sku == sku))
        assert found is not None
        return found


async def test_choose_a_variant_put_it_in_the_cart_pay_and_the_receipt_names_it(
    variants: Shop, yookassa: YooKassaEmulator
) -> None:
    shop = variants
    anna = shop.emulator.user(101, "Анна")
    await anna.send_text("/catalog")
    await anna.press("📁 Одежда (1)")
    assert f"1. Футболка «Волна» — {PRICE}" in anna.last["text"]  # one line: the product
    await anna.press(f"1 · {PRICE} · Футболка «Волна»")

    card = anna.last
    assert "<b>Футболка «Волна»</b>" in card["html_text"]
    assert "В наличии: 5 шт." in card["text"]  # its variants' stock for sale
    assert f"Цена по вариантам: от {PRICE} до {WHITE_PRICE}" in card["text"]
    assert "👇 Выберите вариант ниже." in card["text"]
    assert "⛔ нет в наличии · ✖ не бывает" in card["text"]
    assert buttons(card)[:4] == [
        f"S · чёрная · {PRICE}",
        "✖ S · белая",
        f"⛔ M · чёрная · {PRICE}",
        f"M · белая · {WHITE_PRICE}",
    ]
    assert "🛒 В корзину" not in buttons(card)  # the product itself is not sold

    answer = await anna.press("✖ S · белая")
    assert answer is not None and answer.text == "Такого варианта нет."
    await anna.press(f"⛔ M · чёрная · {PRICE}")
    assert "<b>Футболка «Волна» — M, чёрная</b>" in anna.last["html_text"]
    assert "Нет в наличии" in anna.last["text"]
    assert "🛒 В корзину" not in buttons(anna.last)

    await anna.press(f"S · чёрная · {PRICE}")
    chosen = anna.last
    assert "<b>Футболка «Волна» — S, чёрная</b>" in chosen["html_text"]
    assert "В наличии: 3 шт." in chosen["text"] and "Хлопок 100%." in chosen["text"]
    assert f"✅ S · чёрная · {PRICE}" in buttons(chosen)
    answer = await anna.press("🛒 В корзину")
    assert answer is not None and answer.text == "Добавлено в корзину ✅"
    assert "🛒 В корзине: 1 · ➕" in buttons(anna.last)
    assert f"✅ S · чёрная · {PRICE}" in buttons(anna.last)  # still the one chosen

    await anna.send_text("/cart")
    assert f"Футболка «Волна» — S, чёрная × 1 = {PRICE}" in anna.last["text"]
    await anna.press("✅ Оформить заказ")
    await anna.send_text("Анна")
    await anna.send_text("8 (900) 765-43-21")
    await anna.press("🏬 Самовывоз")
    await anna.press("Пропустить")
    await anna.press("✅ Подтвердить")

    assert (await product(shop, "TSH-9-S-B")).stock == 2  # the variant's own stock
    assert (await product(shop, "TSH-9-M-W")).stock == 2
    ((payment_id, payment),) = yookassa.payments.items()
    assert [(i["description"], i["amount"]["value"]) for i in payment["receipt"]["items"]] == [
        ("Футболка «Волна» — S, чёрная", "1490.00")
    ]
    await yookassa.succeed(payment_id)
    await shop.emulator.wait_handled()
    async with shop.session_factory() as session:
        order = await session.scalar(select(Order))
        assert order is not None and order.status is OrderStatus.PAID
        assert [(line.sku, line.name) for line in order.lines] == [
            ("TSH-9-S-B", "Футболка «Волна» — S, чёрная")
        ]
    assert shop.emulator.errors == [], [(e.method, e.params) for e in shop.emulator.errors]


async def test_a_forged_add_of_the_product_itself_is_refused(variants: Shop) -> None:
    anna = variants.emulator.user(101, "Анна")
    await anna.send_text("/start p_TSH-9")
    parent = await product(variants, "TSH-9")
    forged = CatalogCb(action=CatalogAction.ADD, product_id=parent.id).pack()
    answer = await anna.press_data(forged, message=anna.last)
    assert answer is not None and answer.text == "Извините, товар закончился."
    async with variants.session_factory() as session:
        assert (await session.scalar(select(Product.stock).where(Product.id == parent.id))) == 0


async def test_a_link_to_a_variant_opens_its_product_with_it_chosen(variants: Shop) -> None:
    anna = variants.emulator.user(201, "Анна")
    await anna.send_text("/start p_TSH-9-M-W")
    card = anna.last
    assert "<b>Футболка «Волна» — M, белая</b>" in card["html_text"]
    assert f"Цена: {WHITE_PRICE}" in card["text"] and "В наличии: 2 шт." in card["text"]
    assert f"✅ M · белая · {WHITE_PRICE}" in buttons(card)
    await anna.press("♡ В избранное")
    async with variants.session_factory() as session:
        kept = await session.scalar(select(Favourite.product_id))
    assert kept == (await product(variants, "TSH-9")).id  # the product, not the variant
