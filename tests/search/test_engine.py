"""The search engine over a real database: what a shopper types and what is found."""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shopbot.db import commit_hooks
from shopbot.models import Product
from shopbot.search import SearchEngine
from shopbot.services import admin
from tests.factories import make_category, make_product


async def found(engine: SearchEngine, session: AsyncSession, query: str) -> list[str]:
    result = await engine.search(session, query, 0, 20)
    await session.commit()  # end the read, as an update's end does
    return [product.sku for product in result.page.items]


async def test_word_forms_derived_words_and_category_names(
    session: AsyncSession, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    kitchen = await make_category(session, "Чайники")
    shoes = await make_category(session, "Обувь")
    await make_product(session, "Чайник заварочный, 600 мл", sku="TEA-1", category=kitchen)
    await make_product(session, "Кроссовки беговые", sku="SH-1", category=shoes)
    await make_product(session, "Кружка «Утро»", sku="MUG-1", description="Керамика")
    engine = SearchEngine(commit_hooks(session_factory))

    assert await found(engine, session, "чайник для заварки") == ["TEA-1"]
    assert await found(engine, session, "чайники") == ["TEA-1"]
    for form in ("кружки", "кружку", "кружек", "Кружкой"):
        assert await found(engine, session, form) == ["MUG-1"], form
    assert await found(engine, session, "обувь") == ["SH-1"]  # the category's name
    assert await found(engine, session, "керамическая кружка") == ["MUG-1"]
    assert await found(engine, session, "самокат") == []


async def test_typos_layout_transliteration_and_synonyms(
    session: AsyncSession, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    await make_product(session, "Футболка чёрная", sku="TS-1")
    await make_product(session, "Кроссовки беговые", sku="SH-1")
    await make_product(session, "Худи серое", sku="HD-1")
    engine = SearchEngine(commit_hooks(session_factory))

    for query in ("футбллка", "aen,jkrf", "AEN,JKRF", "futbolka", "t-shirt", "майка"):
        assert await found(engine, session, query) == ["TS-1"], query
    assert await found(engine, session, "кросовки") == ["SH-1"]
    assert await found(engine, session, "hoodie") == ["HD-1"]
    assert await found(engine, session, "[elb") == ["HD-1"]  # "худи" on the English layout
    assert await found(engine, session, "ЕЫ-1") == ["TS-1"]  # the SKU on the Russian layout
    assert await found(engine, session, "хочу купить футболку") == ["TS-1"]


async def test_case_yo_and_punctuation_fold(
    session: AsyncSession, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    await make_product(session, "Кружка «Ёжик»", sku="HOG", description="Керамика, 300 мл")
    await make_product(session, "ФУТБОЛКА чёрная", sku="TS-BLK")
    await make_product(session, "Скидка 100%", sku="SALE")
    engine = SearchEngine(commit_hooks(session_factory))

    assert await found(engine, session, "ЕЖИК") == ["HOG"]
    assert await found(engine, session, "кружка, 300 мл!") == ["HOG"]
    assert await found(engine, session, "Футболка ЧЕРНАЯ") == ["TS-BLK"]
    assert await found(engine, session, "ts-blk") == ["TS-BLK"]
    assert await found(engine, session, "100%") == ["SALE"]
    assert await found(engine, session, "%") == []
    assert await found(engine, session, "   ") == []


async def test_names_above_descriptions_in_stock_first_hidden_never(
    session: AsyncSession, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    await make_product(session, "Набор для путешествий", sku="SET", description="Кружка внутри")
    await make_product(session, "Кружка распродана", sku="OUT", stock=0)
    await make_product(session, "Кружка большая", sku="BIG", stock=3)
    await make_product(session, "Кружка скрытая", sku="HID", active=False)
    engine = SearchEngine(commit_hooks(session_factory))

    assert await found(engine, session, "кружка") == ["BIG", "OUT", "SET"]


async def test_nothing_found_offers_close_matches(
    session: AsyncSession, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    await make_product(session, "Футболка чёрная", sku="TS-1")
    await make_product(session, "Кружка белая", sku="MUG-1")
    engine = SearchEngine(commit_hooks(session_factory))

    result = await engine.search(session, "красная футболка", 0, 10)
    assert result.page.total == 0
    assert [product.sku for product in result.close] == ["TS-1"]
    assert (await engine.search(session, "футболка", 0, 10)).close == []


async def test_pages(
    session: AsyncSession, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    for number in range(1, 13):
        await make_product(session, f"Футболка {number:02d}", sku=f"TS-{number:02d}")
    engine = SearchEngine(commit_hooks(session_factory))

    first = await engine.search(session, "футболки", 0, 8)
    assert (first.page.total, first.page.pages, len(first.page.items)) == (12, 2, 8)
    second = await engine.search(session, "футболки", 1, 8)
    assert [p.sku for p in second.page.items] == ["TS-09", "TS-10", "TS-11", "TS-12"]
    # A page past the end (the list shrank since the button was made) is the last one.
    assert (await engine.search(session, "футболки", 7, 8)).page.page == 1
    assert [p.sku for p in (await engine.search(session, "футболка 07", 0, 8)).page.items] == [
        "TS-07"
    ]


async def test_follows_this_process_changes_at_once(
    session: AsyncSession, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    await make_product(session, "Кружка белая", sku="MUG-1", price=50000)
    engine = SearchEngine(commit_hooks(session_factory))
    assert await found(engine, session, "кружка") == ["MUG-1"]

    await admin.set_price(session, "MUG-1", 45000, actor="test")
    result = await engine.search(session, "кружка", 0, 10)
    assert [p.price for p in result.page.items] == [45000]
    await session.commit()
    await admin.set_active(session, "MUG-1", False, actor="test")
    assert await found(engine, session, "кружка") == []


async def test_sees_other_processes_changes_after_max_age(
    session: AsyncSession, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    now = [0.0]
    engine = SearchEngine(commit_hooks(session_factory), max_age=2.0, clock=lambda: now[0])
    assert await found(engine, session, "кружка") == []
    # Another process (``shopbot import``) writes: no unit of work of this one announces it.
    other = await make_product(session, "Кружка новая", sku="MUG-2")
    assert await found(engine, session, "кружка") == []
    now[0] = 2.5
    assert await found(engine, session, "кружка") == ["MUG-2"]
    await session.execute(update(Product).where(Product.id == other.id).values(name="Чашка новая"))
    await session.commit()
    now[0] = 5.0
    assert await found(engine, session, "кружка") == []
    assert await found(engine, session, "чашка") == ["MUG-2"]


async def test_the_owners_keywords_find_a_product_above_its_description(
    session: AsyncSession, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    hoodie = await make_product(session, "Худи «Графит»", sku="HD-1")
    await make_product(session, "Свитшот «Берёзы»", sku="SW-1", description="Крой оверсайз")
    await session.execute(
        update(Product).where(Product.id == hoodie.id).values(keywords="оверсайз, унисекс")
    )
    await session.commit()
    engine = SearchEngine(commit_hooks(session_factory))

    assert await found(engine, session, "оверсайз") == ["HD-1", "SW-1"]  # keywords first
    assert await found(engine, session, "унисексы") == ["HD-1"]  # any form of a keyword
    async with session_factory() as other:
        await admin.set_keywords(other, "HD-1", "", actor="admin:1")
    assert await found(engine, session, "унисекс") == []  # the change reached the index


async def test_the_owners_synonyms_reach_the_index_of_another_process(
    session: AsyncSession, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    from shopbot.search import shop_synonyms

    await make_product(session, "Лонгслив «Север»", sku="LS-1")
    await session.commit()
    now = [0.0]
    engine = SearchEngine(commit_hooks(session_factory), max_age=2.0, clock=lambda: now[0])
    assert await found(engine, session, "кофта с рукавом") == []
    # Another process (its own hooks: this engine hears nothing) adds a pair.
    other_factory = async_sessionmaker(session_factory.kw["bind"], expire_on_commit=False)
    async with other_factory() as other:
        assert await shop_synonyms.add_synonym(other, "Кофты", "лонгслив", actor="admin:1")
        assert not await shop_synonyms.add_synonym(other, "кофта", "лонгсливы", actor="admin:1")
    assert await found(engine, session, "кофта") == []  # not yet: within max_age
    now[0] += 3
    assert await found(engine, session, "кофту") == ["LS-1"]
    async with other_factory() as other:
        assert await shop_synonyms.remove_synonyms(other, "кофтой") == 1
    now[0] += 3
    assert await found(engine, session, "кофта") == []
