"""Issue 11 item 7: a card shows all its photos (◀ ▶ through editMessageMedia), "More"
sends the whole description (split at Telegram's limit on safe boundaries), and the import
warns when a description will not fit a caption — through the real dispatcher."""

from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from shopbot.emulators.telegram import CAPTION_MAX, TEXT_MAX, EmulatedUser
from shopbot.emulators.telegram_format import utf16_len
from shopbot.models import ProductImage
from tests.bot.conftest import ADMIN, Shop, ShopFactory, buttons, make_jpeg
from tests.factories import make_product

COLOURS = [(200, 40, 40), (40, 200, 40), (40, 40, 200)]


async def with_photos(session: AsyncSession, media_dir: Path, count: int) -> None:
    product = await make_product(session, "Ваза «Волна»", sku="VASE", stock=5)
    for position, colour in enumerate(COLOURS[:count]):
        make_jpeg(media_dir / "products" / f"vase-{position}.jpg", colour)
        await session.execute(
            insert(ProductImage).values(
                product_id=product.id, position=position, path=f"products/vase-{position}.jpg"
            )
        )
    await session.commit()


def photo_of(message: dict) -> str:
    return message["photo"][-1]["file_unique_id"]


def now(user: EmulatedUser, message: dict) -> dict:
    return user.history[message["message_id"]]


async def test_arrows_turn_the_card_through_every_photo_in_place(
    shop: Shop, session: AsyncSession, media_dir: Path
) -> None:
    await with_photos(session, media_dir, 3)
    shopper = shop.emulator.user(101, "Пётр")
    await shopper.send_text("/start p_VASE")
    card = shopper.last
    assert buttons(card)[:3] == ["◀", "1/3", "▶"]
    seen = [photo_of(card)]

    await shopper.press("▶", message=card)
    assert buttons(now(shopper, card))[1] == "2/3"
    seen.append(photo_of(now(shopper, card)))
    await shopper.press("▶", message=card)
    seen.append(photo_of(now(shopper, card)))
    assert len(set(seen)) == 3, "three different photos, one message"
    assert shopper.last["message_id"] == card["message_id"]
    assert shop.emulator.count("editMessageMedia") == 2
    turned = now(shopper, card)
    assert turned["caption"].startswith("Ваза «Волна»\nЦена:")  # HTML, parsed as on the first
    assert turned["caption_entities"][0] == {"type": "bold", "offset": 0, "length": 12}

    await shopper.press("▶", message=card)  # past the last: the first again
    assert (buttons(now(shopper, card))[1], photo_of(now(shopper, card))) == ("1/3", seen[0])
    await shopper.press("◀", message=card)  # before the first: the last
    assert (buttons(now(shopper, card))[1], photo_of(now(shopper, card))) == ("3/3", seen[2])

    # Another button on the card keeps the photo it shows.
    await shopper.press("🛒 В корзину", message=card)
    assert (buttons(now(shopper, card))[1], photo_of(now(shopper, card))) == ("3/3", seen[2])
    assert "🛒 В корзине: 1 · ➕" in buttons(now(shopper, card))

    # Each photo went up once; since then by its file_id.
    assert shop.emulator.upload_count == 3
    async with shop.session_factory() as session:
        file_ids = list(await session.scalars(select(ProductImage.telegram_file_id)))
    assert None not in file_ids
    assert shop.emulator.errors == [], [(e.method, e.params) for e in shop.emulator.errors]


async def test_one_photo_no_arrows_and_a_short_description_no_more(
    shop: Shop, session: AsyncSession, media_dir: Path
) -> None:
    await with_photos(session, media_dir, 1)
    shopper = shop.emulator.user(101, "Пётр")
    await shopper.send_text("/start p_VASE")
    assert shopper.last.get("photo")
    assert not {"◀", "▶", "📖 Подробнее"} & set(buttons(shopper.last))


PARAGRAPH = (
    "Глина & глазурь <ручной> работы: каждая ваза немного другая. "
    "Объём 1,5 л, высота 24 см. Мыть вручную, без абразивов! "
) * 12  # about 1,400 characters


async def test_more_sends_the_whole_description_split_on_safe_boundaries(
    shop: Shop, session: AsyncSession, media_dir: Path
) -> None:
    description = "\n\n".join(f"{n}. {PARAGRAPH.strip()}" for n in range(1, 8))  # ~10,000
    product = await make_product(session, "Ваза «Волна»", sku="VASE", description=description)
    make_jpeg(media_dir / "products" / "vase.jpg")
    await session.execute(
        insert(ProductImage).values(product_id=product.id, position=0, path="products/vase.jpg")
    )
    await session.commit()
    shopper = shop.emulator.user(101, "Пётр")
    await shopper.send_text("/start p_VASE")
    card = shopper.last
    assert card["caption"].endswith("…") and utf16_len(card["caption"]) <= CAPTION_MAX

    await shopper.press("📖 Подробнее", message=card)
    sent = shopper.messages[shopper.messages.index(card) + 1 :]
    # Two paragraphs fit a message (a third would not): split between paragraphs.
    assert [message["text"].split(". ", 1)[0][-1] for message in sent] == ["1", "3", "5", "7"]
    assert all(utf16_len(message["text"]) <= TEXT_MAX for message in sent)
    assert sent[0]["text"].startswith("Ваза «Волна»\n\n1. Глина & глазурь <ручной>")
    assert sent[0]["entities"][0]["type"] == "bold"
    body = "".join(message["text"] for message in sent).removeprefix("Ваза «Волна»")
    assert re.sub(r"\s+", "", body) == re.sub(r"\s+", "", description), "nothing lost"
    for message in sent[:-1]:  # each ends a paragraph or a sentence
        assert message["text"].endswith((".", "!")), message["text"][-40:]
    assert shop.emulator.errors == [], [(e.method, e.params) for e in shop.emulator.errors]


async def test_more_on_a_text_card_and_the_import_warns_of_long_descriptions(
    shop_factory: ShopFactory,
) -> None:
    shop = await shop_factory(admin_ids=[ADMIN])
    owner = shop.emulator.user(ADMIN, "Хозяйка")
    await owner.send_text("/start")
    long = "Очень подробно. " * 100  # 1,600 characters: more than a caption, less than a text
    data = f"sku,name,price,description\nA-1,Ваза,990,{long}\nA-2,Чашка,290,Коротко\n"
    await owner.send_document("catalogue.csv", data.encode(), caption="/import")
    summary = owner.last["text"]
    assert "Товары в строках 2: название с описанием длиннее" in summary, summary
    await owner.press("✅ Применить", message=owner.last)

    shopper = shop.emulator.user(101, "Пётр")
    await shopper.send_text("/start p_A-1")
    # No photo: the text card holds it all, so no More button.
    assert long.strip() in shopper.last["text"]
    assert "📖 Подробнее" not in buttons(shopper.last)
    assert shop.emulator.errors == [], [(e.method, e.params) for e in shop.emulator.errors]
