"""Issue 16, favourites: ♡ on every card keeps a product, ♥ forgets it; /favorites (and the
catalogue's root) lists them with whether each can be bought now — through the real
dispatcher and the emulator."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from shopbot.bot.callbacks import FavouriteAction, FavouriteCb
from shopbot.models import Favourite, Product
from shopbot.money import format_price
from shopbot.services import favourites
from tests.bot.conftest import Catalogue, Shop, buttons, product


async def kept(shop: Shop, user_id: int) -> list[str]:
    async with shop.session_factory() as session:
        rows = await session.scalars(
            select(Product.sku)
            .join(Favourite, Favourite.product_id == Product.id)
            .where(Favourite.user_id == user_id)
            .order_by(Product.sku)
        )
        return list(rows)


async def hide(shop: Shop, sku: str) -> None:
    async with shop.session_factory() as session:
        await session.execute(update(Product).where(Product.sku == sku).values(active=False))
        await session.commit()
    shop.dispatcher["catalogue_cache"].clear()


async def test_the_heart_on_a_card_keeps_and_forgets_the_product(
    shop: Shop, catalogue: Catalogue
) -> None:
    shopper = shop.emulator.user(101, "Пётр")
    await shopper.send_text("/start p_MUG-1")  # a card with a photo
    card = shopper.last
    assert "♡ В избранное" in buttons(card)

    answer = await shopper.press("♡ В избранное", message=card)

    assert answer is not None and answer.text == "Добавлено в избранное ♥"
    now = shopper.history[card["message_id"]]
    assert "♥ В избранном" in buttons(now) and "♡ В избранное" not in buttons(now)
    assert now["caption"] == card["caption"]  # the same card, only the heart changed
    assert await kept(shop, 101) == ["MUG-1"]

    await shopper.send_text("/start p_TS-01")  # a text card
    await shopper.press("♡ В избранное")
    assert await kept(shop, 101) == ["MUG-1", "TS-01"]

    answer = await shopper.press("♥ В избранном", message=card)
    assert answer is not None and answer.text == "Убрано из избранного"
    assert "♡ В избранное" in buttons(shopper.history[card["message_id"]])
    assert await kept(shop, 101) == ["TS-01"]
    assert shop.emulator.errors == []


async def test_a_repeated_press_from_a_stale_card_does_not_undo_itself(
    shop: Shop, catalogue: Catalogue
) -> None:
    shopper = shop.emulator.user(102, "Пётр")
    await shopper.send_text("/start p_TS-02")
    card = shopper.last
    mug = await product(shop, "TS-02")
    add = FavouriteCb(action=FavouriteAction.ADD, product_id=mug.id).pack()

    await shopper.press_data(add, message=card)
    await shopper.press_data(add, message=card)

    assert await kept(shop, 102) == ["TS-02"]


async def test_favourites_list_availability_and_open_cards(
    shop: Shop, catalogue: Catalogue
) -> None:
    shopper = shop.emulator.user(103, "Пётр")
    for sku in ("TS-03", "MUG-0", "MUG-1"):
        await shopper.send_text(f"/start p_{sku}")
        await shopper.press("♡ В избранное")
    await hide(shop, "MUG-1")

    await shopper.send_text("/favorites")

    shirt = f"Футболка 03 — {format_price(129900)}"
    assert shopper.last["text"].splitlines() == [
        "♥ Избранное — 3 товара",
        "",
        f"1. Кружка «Утро» — {format_price(49000)} · нет в продаже",  # the newest first
        f"2. Кружка распродана — {format_price(129900)} · нет в наличии",
        f"3. {shirt} · в наличии",
    ]
    assert buttons(shopper.last) == [
        "✖ Кружка «Утро» — убрать",
        f"Кружка распродана — {format_price(129900)} ⛔",
        shirt,
    ]

    await shopper.press(shirt)
    assert shopper.last["text"].startswith("Футболка 03\nЦена:")
    assert "♥ В избранном" in buttons(shopper.last)
    await shopper.press("⬅ К списку")
    assert shopper.last["text"].startswith("📁 Футболки")  # the product's category

    await shopper.send_text("/favorites")
    answer = await shopper.press("✖ Кружка «Утро» — убрать")
    assert answer is not None and answer.text == "Убрано из избранного"
    assert shopper.last["text"].startswith("♥ Избранное — 2 товара")
    assert await kept(shop, 103) == ["MUG-0", "TS-03"]


async def test_the_catalogue_root_leads_to_favourites_and_an_empty_list_says_how(
    shop: Shop, catalogue: Catalogue
) -> None:
    shopper = shop.emulator.user(104, "Пётр", language_code="en")
    await shopper.send_text("/catalog")
    assert buttons(shopper.last)[-1] == "♥ Favourites"

    await shopper.press("♥ Favourites")

    assert shopper.last["text"] == (
        "♡ Favourites\nNothing here yet. Press “♡ Add to favourites” on a product to keep it here."
    )


async def test_a_hidden_product_cannot_be_kept(shop: Shop, catalogue: Catalogue) -> None:
    shopper = shop.emulator.user(105, "Пётр")
    await shopper.send_text("/start p_TS-04")
    card = shopper.last
    await hide(shop, "TS-04")

    answer = await shopper.press("♡ В избранное", message=card)

    assert answer is not None and answer.show_alert
    assert answer.text == "Извините, этот товар больше недоступен."
    assert await kept(shop, 105) == []


async def test_the_list_has_a_limit_kept_by_the_insert_itself(
    shop: Shop, catalogue: Catalogue, session: AsyncSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    shopper = shop.emulator.user(106, "Пётр")
    await shopper.send_text("/start")
    skus = list(await session.scalars(select(Product.sku).where(Product.active.is_(True))))
    limit = len(skus) - 1
    monkeypatch.setattr(favourites, "MAX_FAVOURITES", limit)
    favourites._add_statement.cache_clear()
    try:
        for sku in skus[:limit]:
            await favourites.add(session, 106, (await product(shop, sku)).id)
        await shopper.send_text(f"/start p_{skus[-1]}")
        answer = await shopper.press("♡ В избранное")
    finally:
        favourites._add_statement.cache_clear()
    assert answer is not None and answer.show_alert
    assert answer.text == (
        f"В избранном уже столько товаров, сколько можно ({limit}). "
        "Сначала уберите что-нибудь в /favorites."
    )
    count = await session.scalar(
        select(func.count()).select_from(Favourite).where(Favourite.user_id == 106)
    )
    assert count == limit
