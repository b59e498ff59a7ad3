"""Issue 16, sharing: ``@bot футболка`` in any chat lists matching products through
``answerInlineQuery`` (the bot's search engine; photo by file_id, a photo URL, or an
article), page after page by ``next_offset``; the product sent has a button opening its card
in the bot, and a card's "Share" starts such a query — through the real dispatcher and the
emulator's inline mode."""

from __future__ import annotations

import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from shopbot.emulators.telegram import TelegramEmulator
from shopbot.models import ProductImage
from shopbot.money import format_price
from tests.bot.conftest import Catalogue, Shop, ShopFactory, buttons, product
from tests.factories import make_product

LINK = "https://t.me/shopbot_test_bot?start="


@pytest.fixture
async def inline_shop(emulator: TelegramEmulator, shop_factory: ShopFactory) -> Shop:
    emulator.inline_mode = True  # BotFather's /setinline
    return await shop_factory()


async def test_typing_the_bot_lists_products_with_price_and_a_link_back(
    inline_shop: Shop, catalogue: Catalogue
) -> None:
    friend = inline_shop.emulator.user(201, "Олег")

    answer = await friend.inline_query("кружка утро")

    assert answer is not None
    first = answer.results[0]
    assert first["type"] == "article"  # its photo was never sent, so it has no file_id yet
    assert first["title"] == "Кружка «Утро»"
    assert first["description"] == f"{format_price(49000)} · в наличии"
    assert first["id"] == f"p{(await product(inline_shop, 'MUG-1')).id}"
    assert answer.next_offset == ""
    assert "MUG-H" not in str(answer.results)  # hidden products are not found

    sent = await friend.choose_result(answer, first["id"])

    assert sent["via_bot"]["username"] == "shopbot_test_bot"
    assert sent["text"].splitlines() == [
        "Кружка «Утро»",
        f"Цена: {format_price(49000)}",
        "✅ В наличии: 3 шт.",
    ]
    assert friend.button("🛍 Открыть в магазине")["url"] == LINK + "p_MUG-1"
    # The link is /start p_MUG-1: the card opens in the bot.
    await friend.send_text("/start p_MUG-1")
    assert friend.last["caption"].startswith("Кружка «Утро»\nЦена:")
    assert inline_shop.emulator.errors == []


async def test_a_photo_goes_by_file_id_once_telegram_has_it_else_by_its_url(
    inline_shop: Shop, catalogue: Catalogue, session: AsyncSession
) -> None:
    shopper = inline_shop.emulator.user(202, "Пётр")
    await shopper.send_text("/start p_MUG-1")  # the photo goes up once; its file_id is kept
    file_id = shopper.last["photo"][-1]["file_id"]

    answer = await shopper.inline_query("MUG-1")

    assert answer is not None
    assert answer.results[0]["type"] == "photo"
    assert answer.results[0]["photo_file_id"] == file_id
    sent = await shopper.choose_result(answer, answer.results[0]["id"])
    assert sent["photo"][-1]["file_id"] == file_id
    assert sent["caption"].startswith("Кружка «Утро»\nЦена:")

    async with inline_shop.session_factory() as writing:
        await writing.execute(
            update(ProductImage).values(
                telegram_file_id=None, source="https://shop.example/mug.jpg"
            )
        )
        await writing.commit()
    answer = await shopper.inline_query("MUG-1")
    assert answer is not None
    assert answer.results[0]["photo_url"] == "https://shop.example/mug.jpg"
    assert answer.results[0]["thumbnail_url"] == "https://shop.example/mug.jpg"
    assert inline_shop.emulator.errors == []


async def test_results_page_through_next_offset(inline_shop: Shop, session: AsyncSession) -> None:
    for number in range(1, 26):
        await make_product(session, f"Носки {number:02d}", sku=f"SK-{number:02d}", stock=2)
    friend = inline_shop.emulator.user(203, "Олег")

    first = await friend.inline_query("носки")
    assert first is not None and first.next_offset == "1"
    second = await friend.inline_query("носки", offset=first.next_offset)
    assert second is not None and second.next_offset == ""
    past = await friend.inline_query("носки", offset="2")
    assert past is not None

    titles = [result["title"] for result in first.results + second.results]
    assert len(first.results) == 20
    assert sorted(titles) == [f"Носки {number:02d}" for number in range(1, 26)]
    assert past.results == []


async def test_the_share_button_starts_an_inline_query_with_the_sku(
    inline_shop: Shop, catalogue: Catalogue
) -> None:
    shopper = inline_shop.emulator.user(204, "Пётр")
    await shopper.send_text("/start p_TS-05")

    share = shopper.button("📤 Поделиться", message=shopper.last)
    assert share["switch_inline_query"] == "TS-05"
    answer = await shopper.inline_query(share["switch_inline_query"])
    assert answer is not None
    assert answer.results[0]["title"] == "Футболка 05"


async def test_without_inline_mode_a_card_offers_no_share(shop: Shop, catalogue: Catalogue) -> None:
    shopper = shop.emulator.user(205, "Пётр")
    await shopper.send_text("/start p_TS-05")

    assert "📤 Поделиться" not in buttons(shopper.last)
    assert "♡ В избранное" in buttons(shopper.last)


async def test_a_sku_a_link_cannot_carry_links_by_id(
    inline_shop: Shop, session: AsyncSession
) -> None:
    made = await make_product(session, "Чайник", sku="ЧАЙ 1.5", stock=1)
    friend = inline_shop.emulator.user(206, "Олег", language_code="en")

    answer = await friend.inline_query("чайник")
    assert answer is not None
    await friend.choose_result(answer, answer.results[0]["id"])
    link = friend.button("🛍 Open in the shop")["url"]

    assert link == f"{LINK}i_{made.id}"
    await friend.send_text(f"/start i_{made.id}")
    assert friend.last["text"].startswith("Чайник\nPrice:")


async def test_no_query_a_forged_offset_or_nothing_found_gets_no_results(
    inline_shop: Shop, catalogue: Catalogue
) -> None:
    friend = inline_shop.emulator.user(207, "Олег")

    empty = await friend.inline_query("   ")
    forged = await friend.inline_query("футболка", offset="x1")
    hidden = await friend.inline_query("скрытая")

    assert empty is not None and empty.results == []
    assert forged is not None and forged.results == []
    assert hidden is not None and hidden.results == []
    # Nothing typed or nothing found: a button to the bot's chat instead.
    shop_button = {"text": "🛍 Открыть магазин", "start_parameter": "shop"}
    assert empty.button == hidden.button == shop_button
    await friend.send_text("/start shop")
    assert friend.last["text"].startswith("Здравствуйте, Олег!")
