"""Where the index lives: each product's analysed terms stored by the unit of work that
changes its texts, loaded (not analysed again) by the processes that search, and taken in
row by row after a change."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shopbot.db import commit_hooks
from shopbot.importer import ImportOptions, import_file
from shopbot.models import Product, SearchDocument
from shopbot.search import SearchEngine, documents
from shopbot.search import engine as engine_module
from shopbot.services import admin, stock
from tests.factories import make_product
from tests.search.test_engine import found
from tests.test_cli import cli

CATALOGUE = (
    "sku;name;price;stock;category;description;keywords\n"
    "MUG-1;Кружка «Утро»;590;5;Посуда;Керамика, 300 мл;\n"
    "TS-1;Футболка чёрная;1290;3;Одежда / Футболки;Хлопок;оверсайз\n"
    "TEA-1;Чайник заварочный;1500;0;Посуда;Стекло;\n"
)


async def imported(
    session_factory: async_sessionmaker[AsyncSession], tmp_path: Path, text: str
) -> None:
    path = tmp_path / "catalogue.csv"
    path.write_text(text, encoding="utf-8")
    report = await import_file(session_factory, path, ImportOptions(tmp_path / "media"))
    assert report.ok, report.errors


async def stored(session: AsyncSession) -> dict[str, tuple[str, str]]:
    """Each product's stored document by SKU: (source digest, terms)."""
    rows = await session.execute(
        select(Product.sku, SearchDocument.source, SearchDocument.terms).join(
            SearchDocument, SearchDocument.product_id == Product.id
        )
    )
    await session.commit()
    return {sku: (source, terms) for sku, source, terms in rows}


@pytest.fixture
def no_morphology(monkeypatch: pytest.MonkeyPatch) -> None:
    """A search process that would analyse a text fails the test: it must load terms."""

    def refuse(texts: object) -> None:
        raise AssertionError(f"analysed in the search process: {texts}")

    monkeypatch.setattr(engine_module, "analyse", refuse)


async def test_the_import_stores_terms_and_search_loads_them_without_morphology(
    session: AsyncSession,
    session_factory: async_sessionmaker[AsyncSession],
    tmp_path: Path,
    no_morphology: None,
) -> None:
    await imported(session_factory, tmp_path, CATALOGUE)
    documents_by_sku = await stored(session)
    assert set(documents_by_sku) == {"MUG-1", "TS-1", "TEA-1"}
    terms = documents.decode(documents_by_sku["TS-1"][1])
    assert terms["футболка"] == 3.0 and terms["оверсайз"] == 2.5 and terms["хлопок"] == 1.0
    engine = SearchEngine(commit_hooks(session_factory))

    assert await found(engine, session, "кружки") == ["MUG-1"]
    assert await found(engine, session, "чайник для заварки") == ["TEA-1"]
    assert await found(engine, session, "aen,jkrf") == ["TS-1"]  # the other layout
    assert await found(engine, session, "посуда") == ["MUG-1", "TEA-1"]  # in stock first


async def test_an_import_analyses_only_the_products_whose_texts_changed(
    session: AsyncSession, session_factory: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    await imported(session_factory, tmp_path, CATALOGUE)
    before = await stored(session)
    changed = CATALOGUE.replace("Кружка «Утро»;590;5", "Кружка «Вечер»;490;7")
    await imported(session_factory, tmp_path, changed)
    after = await stored(session)

    assert after["TS-1"] == before["TS-1"] and after["TEA-1"] == before["TEA-1"]
    assert after["MUG-1"][0] != before["MUG-1"][0]
    assert "вечер" in documents.decode(after["MUG-1"][1])
    assert "утро" not in documents.decode(after["MUG-1"][1])


async def test_changes_are_taken_in_row_by_row(
    session: AsyncSession,
    session_factory: async_sessionmaker[AsyncSession],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    no_morphology: None,
) -> None:
    await imported(session_factory, tmp_path, CATALOGUE)
    engine = SearchEngine(commit_hooks(session_factory))
    assert await found(engine, session, "футболка") == ["TS-1"]
    decoded: list[str] = []
    real_decode = documents.decode

    def counting(terms: str) -> documents.Terms:
        decoded.append(terms)
        return real_decode(terms)

    monkeypatch.setattr(engine_module, "decode", counting)

    await stock.set_stock(session, "TS-1", 0, actor="admin:1")
    result = await engine.search(session, "футболка", 0, 10)
    assert [(p.sku, p.stock) for p in result.page.items] == [("TS-1", 0)]
    await admin.set_price(session, "MUG-1", 45000, actor="admin:1")
    assert [p.price for p in (await engine.search(session, "кружка", 0, 10)).page.items] == [45000]
    assert decoded == []  # stock and price: the terms stay as they are

    await admin.set_keywords(session, "MUG-1", "термос, подарок", actor="admin:1")
    assert await found(engine, session, "термос") == ["MUG-1"]
    assert len(decoded) == 1  # only the product whose words changed

    await admin.set_active(session, "MUG-1", False, actor="admin:1")
    assert await found(engine, session, "кружка") == []
    assert await found(engine, session, "термос") == []
    await admin.set_active(session, "MUG-1", True, actor="admin:1")
    assert await found(engine, session, "термос") == ["MUG-1"]


async def test_another_process_changes_reach_the_index_after_max_age(
    session: AsyncSession, session_factory: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    await imported(session_factory, tmp_path, CATALOGUE)
    now = [0.0]
    engine = SearchEngine(commit_hooks(session_factory), max_age=2.0, clock=lambda: now[0])
    assert await found(engine, session, "оверсайз") == ["TS-1"]
    other_factory = async_sessionmaker(session_factory.kw["bind"], expire_on_commit=False)
    async with other_factory() as other:  # its own hooks: this engine hears nothing
        await admin.set_keywords(other, "TS-1", "унисекс", actor="admin:1")
        await admin.set_active(other, "TEA-1", False, actor="admin:1")
    assert await found(engine, session, "унисекс") == []  # within max_age
    now[0] = 3.0
    assert await found(engine, session, "унисекс") == ["TS-1"]
    assert await found(engine, session, "оверсайз") == []
    assert await found(engine, session, "чайник") == []


async def test_reindex_stores_every_product(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    session: AsyncSession,
    session_factory: async_sessionmaker[AsyncSession],
    database_url: str,
    tmp_path: Path,
) -> None:
    """Products written behind shopbot's back have no document (the engine analyses those
    itself); ``shopbot reindex`` stores them all."""
    await make_product(session, "Кружка белая", sku="MUG-9")
    await make_product(session, "Худи серое", sku="HD-9", active=False)
    assert await stored(session) == {}
    engine = SearchEngine(commit_hooks(session_factory))
    assert await found(engine, session, "кружки") == ["MUG-9"]

    assert await cli(monkeypatch, database_url, tmp_path, "reindex") == 0
    assert capsys.readouterr().out == "поисковый индекс построен заново: 2 товара\n"
    assert set(await stored(session)) == {"MUG-9", "HD-9"}
    assert await cli(monkeypatch, database_url, tmp_path, "reindex", LANG="en_US.UTF-8") == 0
    assert capsys.readouterr().out == "search index rebuilt: 2 products\n"
    fresh = SearchEngine(commit_hooks(session_factory))
    assert await found(fresh, session, "кружки") == ["MUG-9"]
    assert await found(fresh, session, "худи") == []  # hidden


VARIANTS = (
    "sku,name,price,stock,category,variant_of,option1,option2\n"
    "TSH-9,Футболка «Волна»,1490,,Одежда,,,\n"
    "TSH-9-S,,,3,,TSH-9,S,чёрная\n"
    "TSH-9-M,,1390,2,,TSH-9,M,чёрная\n"
    "MUG-1,Кружка,590,10,Посуда,,,\n"
)


async def listed_as(
    engine: SearchEngine, session: AsyncSession, query: str
) -> list[tuple[str, int, int]]:
    """What a search shows: (SKU, price, stock) of each product found."""
    result = await engine.search(session, query, 0, 20)
    await session.commit()
    return [(product.sku, product.price, product.stock) for product in result.page.items]


async def test_a_parent_shows_its_variants_and_their_changes_from_another_process(
    session: AsyncSession,
    session_factory: async_sessionmaker[AsyncSession],
    tmp_path: Path,
    no_morphology: None,
) -> None:
    await imported(session_factory, tmp_path, VARIANTS)
    assert set(await stored(session)) == {"TSH-9", "MUG-1"}  # variants have no document
    now = [0.0]
    engine = SearchEngine(commit_hooks(session_factory), max_age=2.0, clock=lambda: now[0])
    # The parent only, at its variants' lowest price and with their stock summed.
    assert await listed_as(engine, session, "футболка") == [("TSH-9", 139000, 5)]
    assert await listed_as(engine, session, "TSH-9-M") == [("TSH-9", 139000, 5)]

    other_factory = async_sessionmaker(session_factory.kw["bind"], expire_on_commit=False)
    async with other_factory() as other:  # its own hooks: this engine hears nothing
        await stock.set_stock(other, "TSH-9-S", 7, actor="admin:1")
    assert await listed_as(engine, session, "футболка") == [("TSH-9", 139000, 5)]  # max_age
    now[0] = 3.0
    assert await listed_as(engine, session, "футболка") == [("TSH-9", 139000, 9)]

    async with other_factory() as other:
        await admin.set_price(other, "TSH-9-M", 159000, actor="admin:1")
        await admin.set_active(other, "TSH-9-S", False, actor="admin:1")
    now[0] = 6.0
    assert await listed_as(engine, session, "футболка") == [("TSH-9", 159000, 2)]
    assert await listed_as(engine, session, "TSH-9-S") == []  # hidden: not its parent's word
    assert await listed_as(engine, session, "TSH-9-M") == [("TSH-9", 159000, 2)]


async def test_a_variant_option_added_by_an_import_is_searchable(
    session: AsyncSession,
    session_factory: async_sessionmaker[AsyncSession],
    tmp_path: Path,
    no_morphology: None,
) -> None:
    await imported(session_factory, tmp_path, VARIANTS)
    engine = SearchEngine(commit_hooks(session_factory))
    assert await found(engine, session, "футболка") == ["TSH-9"]
    assert await found(engine, session, "оверсайз") == []
    before = (await stored(session))["TSH-9"]

    # An option given to a variant, and a new variant: the parent's document is rewritten.
    changed = VARIANTS.replace("TSH-9-S,,,3,,TSH-9,S,чёрная", "TSH-9-S,,,3,,TSH-9,S,оверсайз")
    await imported(session_factory, tmp_path, changed + "TSH-9-XL,,,1,,TSH-9,XL,белая\n")
    after = await stored(session)
    assert set(after) == {"TSH-9", "MUG-1"}
    assert after["TSH-9"][0] != before[0]
    assert "оверсайз" in documents.decode(after["TSH-9"][1])
    assert await found(engine, session, "оверсайз") == ["TSH-9"]
    assert await found(engine, session, "TSH-9-XL") == ["TSH-9"]
    assert await listed_as(engine, session, "футболка") == [("TSH-9", 139000, 6)]
