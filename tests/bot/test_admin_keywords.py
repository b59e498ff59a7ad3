"""/keywords: the owner gives a product more words search finds it by, through the real
dispatcher; the change shows in the product's history and in search at once."""

from __future__ import annotations

from tests.bot.conftest import ADMIN, Catalogue, Shop


async def test_keywords_set_in_the_chat_are_searched_and_kept_in_the_history(
    admin_shop: Shop, catalogue: Catalogue
) -> None:
    owner = admin_shop.emulator.user(ADMIN, "Хозяйка")
    shopper = admin_shop.emulator.user(101, "Пётр")
    await shopper.send_text("/search унисекс")
    assert "По запросу «унисекс» ничего не нашлось" in shopper.last["text"]

    await owner.send_text("/keywords ts-03 унисекс,  оверсайз")
    assert owner.last["text"] == (
        "Теперь поиск находит товар Футболка 03 (TS-03) ещё и по словам: унисекс, оверсайз"
    )
    await shopper.send_text("/search унисекс")
    assert "Найдено по запросу «унисекс»: 1" in shopper.last["text"]

    await owner.send_text("/product TS-03")
    assert "ключевые слова «» → «унисекс, оверсайз»" in owner.last["text"]
    await owner.send_text("/keywords TS-03")
    assert owner.last["text"] == "У товара Футболка 03 (TS-03) нет ключевых слов."
    await owner.send_text("/keywords NOPE слово")
    assert "NOPE" in owner.last["text"]
    await owner.send_text("/keywords")
    assert owner.last["text"].startswith("Как писать: /keywords")
    assert admin_shop.emulator.errors == []


async def test_the_owners_synonyms_find_either_word_by_the_other(
    admin_shop: Shop, catalogue: Catalogue
) -> None:
    owner = admin_shop.emulator.user(ADMIN, "Хозяйка")
    shopper = admin_shop.emulator.user(101, "Пётр")
    await shopper.send_text("/search лонгслив")
    assert "По запросу «лонгслив» ничего не нашлось" in shopper.last["text"]

    await owner.send_text("/synonyms лонгсливы = футболка")
    assert owner.last["text"] == "Теперь поиск считает «лонгсливы» и «футболка» одним и тем же."
    await shopper.send_text("/search лонгслив")  # another form of the owner's word
    assert "Найдено по запросу «лонгслив»: 12" in shopper.last["text"]
    await owner.send_text("/synonyms лонгслив = футболка")
    assert owner.last["text"].endswith("(Так уже было.)")
    await owner.send_text("/synonyms")
    assert "• лонгсливы = футболка" in owner.last["text"]

    await owner.send_text("/synonyms -лонгслив")
    assert owner.last["text"] == "Забыто."
    await shopper.send_text("/search лонгслив")
    assert "ничего не нашлось" in shopper.last["text"]
    await owner.send_text("/synonyms кружка = кружки")
    assert owner.last["text"].startswith("Синоним — это два разных слова")
    assert admin_shop.emulator.errors == []
