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
from shopbot.models import Favourite, Order, OrderStatus, OutboxMessage, Product
from shopbot.services import restock
from tests.bot.conftest import ADMIN, Shop, buttons, make_jpeg

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


async def with_variants(shop: Shop, media_dir: Path) -> Shop:
    report = await import_catalog(shop.session_factory, CSV, ImportOptions(media_dir))
    assert report.ok, report.errors
    return shop


@pytest.fixture
async def variants(yk_shop: Shop, media_dir: Path) -> Shop:
    """The YooKassa shop (receipts required) selling the shirts above."""
    return await with_variants(yk_shop, media_dir)


@pytest.fixture
async def owned(admin_shop: Shop, media_dir: Path) -> Shop:
    """A cash shop with its owner (``ADMIN``) selling the shirts above."""
    return await with_variants(admin_shop, media_dir)


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


async def test_the_owner_works_on_variant_skus_and_sees_them_under_the_product(owned: Shop) -> None:
    owner = owned.emulator.user(ADMIN, "Хозяйка")
    await owner.send_text("/stock TSH-9-M-B 4")
    assert owner.last["text"] == "Футболка «Волна» — M, чёрная (TSH-9-M-B): остаток 0 → 4"
    await owner.send_text("/stock TSH-9 5")
    assert owner.last["text"] == (
        "TSH-9 продаётся вариантами: задайте остаток каждого по его артикулу (см. /product TSH-9)."
    )
    await owner.send_text("/stock tsh-9 +1")
    assert owner.last["text"].startswith("TSH-9 продаётся вариантами")
    assert (await product(owned, "TSH-9")).stock == 0
    await owner.send_text("/price TSH-9-M-B 1590")
    assert "цена 1\u00a0490\u00a0₽ → 1\u00a0590\u00a0₽" in owner.last["text"]

    await owner.send_text("/product TSH-9")
    card = owner.last
    assert "Варианты: 3, в продаже 9 шт." in card["text"]
    assert "TSH-9-S-B · S, чёрная · 1\u00a0490\u00a0₽ · 3 шт." in card["text"]
    assert buttons(card)[-3:] == ["S, чёрная · 3", "M, чёрная · 4", "M, белая · 2"]
    answer = await owner.press("+1", message=card)
    assert answer is not None and answer.show_alert and "вариантами" in answer.text
    await owner.press("M, белая · 2", message=card)
    variant = owner.last
    assert "Вариант товара TSH-9: M, белая" in variant["text"]
    answer = await owner.press("+1", message=variant)
    assert answer is not None and answer.text == "Остаток 2 → 3"
    await owner.press("⬆ TSH-9")
    assert "Варианты: 3, в продаже 10 шт." in owner.last["text"]

    await owner.send_text("/hide TSH-9")  # the product goes with its variants
    assert not any([(await product(owned, sku)).active for sku in ("TSH-9", "TSH-9-S-B")])
    await owner.send_text("/show TSH-9")
    assert all([(await product(owned, sku)).active for sku in ("TSH-9", "TSH-9-M-W")])
    await owner.send_text("/hide TSH-9-M-W")  # a variant alone
    assert not (await product(owned, "TSH-9-M-W")).active
    assert (await product(owned, "TSH-9")).active
    await owner.send_text("/stock")
    assert "TSH-9 ·" not in str(buttons(owner.last))  # sold as variants: never "low" itself
    assert owned.emulator.errors == []


async def test_search_and_inline_mode_find_the_product_not_each_variant(
    owned: Shop,
) -> None:
    owned.emulator.inline_mode = True
    friend = owned.emulator.user(301, "Олег")
    answer = await friend.inline_query("футболка волна")
    assert answer is not None
    assert [result["title"] for result in answer.results] == ["Футболка «Волна»"]
    answer = await friend.inline_query("TSH-9-M-W")  # a variant's SKU finds its product
    assert answer is not None and [r["title"] for r in answer.results] == ["Футболка «Волна»"]
    await friend.send_text("/search")
    await friend.send_text("футболка")
    assert "Футболка «Волна» — M, белая" not in friend.last["text"]
    assert "Футболка «Волна»" in friend.last["text"]


async def watch(shop: Shop) -> int:
    """One pass of the background job over favourites, in the shop's own process (so the
    outbox delivers what it records right after the commit)."""
    assert shop.runtime is not None
    async with shop.runtime.session_factory() as session:
        return await restock.watch_favourites(session)


async def test_a_favourite_back_in_stock_is_told_once_per_return_to_subscribers(
    owned: Shop,
) -> None:
    owner = owned.emulator.user(ADMIN, "Хозяйка")
    anna = owned.emulator.user(401, "Анна")  # subscribed
    boris = owned.emulator.user(402, "Борис")  # keeps it too, never agreed to advertising
    await anna.send_text("/subscribe")
    for shopper in (anna, boris):
        await shopper.send_text("/start p_TSH-9")
        await shopper.press("♡ В избранное")
    assert await watch(owned) == 0  # in stock: nothing to tell

    for sku in ("TSH-9-S-B", "TSH-9-M-W"):
        await owner.send_text(f"/stock {sku} 0")
    assert await watch(owned) == 0  # sold out: seen so
    assert (await product(owned, "TSH-9")).sold_out_seen
    seen = len(anna.messages)

    await owner.send_text("/stock TSH-9-M-W 2")
    assert await watch(owned) == 1
    assert len(anna.messages) == seen + 1
    alert = anna.last
    assert alert["html_text"].splitlines() == [
        "♥ Снова в продаже: <b>Футболка «Волна»</b>, 1\u00a0690\u00a0₽.",
        "Он у вас в избранном.",
    ]
    assert buttons(alert) == ["🛍 Открыть", "🔕 Отписаться"]
    assert "Снова в продаже" not in str(boris.texts())
    assert await watch(owned) == 0  # the same return is told once
    await anna.press("🛍 Открыть")
    assert "<b>Футболка «Волна»</b>" in anna.last["html_text"]

    await owner.send_text("/stock TSH-9-M-W 0")
    assert await watch(owned) == 0
    await owner.send_text("/stock TSH-9-S-B 1")
    assert await watch(owned) == 1  # a second return, a second message
    assert "1\u00a0490\u00a0₽" in anna.last["text"]

    await anna.send_text("/unsubscribe")
    await owner.send_text("/stock TSH-9-S-B 0")
    await watch(owned)
    await owner.send_text("/stock TSH-9-S-B 1")
    assert await watch(owned) == 0  # took consent back: not told any more
    async with owned.session_factory() as session:
        kinds = list(await session.scalars(select(OutboxMessage.kind)))
    assert kinds.count(restock.BACK_IN_STOCK) == 2
    assert owned.emulator.errors == []


async def test_a_chosen_variant_shows_its_own_photo_first_then_the_products(
    shop: Shop, media_dir: Path, tmp_path: Path
) -> None:
    make_jpeg(tmp_path / "shirt.jpg", (200, 200, 200))
    make_jpeg(tmp_path / "shirt-red.jpg", (200, 30, 30))
    data = "\n".join(
        (
            "sku,name,price,stock,image,variant_of,option1",
            "SH-1,Рубашка,2490,,shirt.jpg,,",
            "SH-1-R,,,2,shirt-red.jpg,SH-1,красная",
            "SH-1-W,,,2,,SH-1,белая",
            "",
        )
    ).encode()
    options = ImportOptions(media_dir, base_dir=tmp_path)
    assert (await import_catalog(shop.session_factory, data, options)).ok
    anna = shop.emulator.user(501, "Анна")
    await anna.send_text("/start p_SH-1")
    card = anna.last
    assert card["photo"] and "1/2" not in buttons(card)
    await anna.press("красная")
    chosen = anna.last
    assert chosen["caption"].startswith("Рубашка — красная")
    assert "1/2" in buttons(chosen)  # its own photo, then the product's
    assert chosen["photo"][-1]["file_unique_id"] != card["photo"][-1]["file_unique_id"]
    await anna.press("белая")  # no photo of its own: the product's
    assert "1/2" not in buttons(anna.last)
    assert anna.last["photo"][-1]["file_unique_id"] == card["photo"][-1]["file_unique_id"]
    assert shop.emulator.errors == []


async def test_a_favourite_going_on_sale_is_told_to_subscribers_once(owned: Shop) -> None:
    owner = owned.emulator.user(ADMIN, "Хозяйка")
    anna = owned.emulator.user(403, "Анна")
    boris = owned.emulator.user(404, "Борис")  # never agreed to advertising
    await anna.send_text("/subscribe")
    for shopper in (anna, boris):
        await shopper.send_text("/start p_MUG-1")
        await shopper.press("♡ В избранное")
    assert await watch(owned) == 0
    await owner.send_text("/sale MUG-1 490")
    assert await watch(owned) == 1
    assert anna.last["html_text"].splitlines() == [
        "🔥 По акции: <b>Кружка</b> — 490\u00a0₽ вместо 590\u00a0₽.",
        "Он у вас в избранном.",
    ]
    assert buttons(anna.last) == ["🛍 Открыть", "🔕 Отписаться"]
    assert "По акции" not in str(boris.texts())
    assert await watch(owned) == 0  # once per sale
    await owner.send_text("/sale MUG-1 off")
    assert await watch(owned) == 0
    await owner.send_text("/sale MUG-1 450")
    assert await watch(owned) == 1  # a new sale, told again
    assert "450\u00a0₽ вместо 590\u00a0₽" in anna.last["text"]
    assert owned.emulator.errors == []
