"""Variants in the catalogue CSV: ``variant_of`` with ``option1``/``option2`` (or their
Russian headers), inherited names and prices, checks with line numbers (all or nothing),
the export's round trip, and lists and search showing parents only."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from shopbot.db import commit_hooks
from shopbot.importer import ImportOptions, ImportReport, import_catalog, import_file
from shopbot.importer.changes import change_line
from shopbot.models import Product
from shopbot.search import SearchEngine
from shopbot.services import catalogue
from shopbot.services.export import catalogue_csv
from tests.test_importer import SAMPLE_CATALOGUE, dump

Factory = async_sessionmaker[AsyncSession]

HEADER = "sku,name,price,stock,category,variant_of,option1,option2"
SHIRTS = (
    HEADER,
    "TSH-9,Футболка «Волна»,1490,,Одежда,,,",
    "TSH-9-S-B,,,3,,TSH-9,S,чёрная",
    "TSH-9-M-B,,,0,,TSH-9,M,чёрная",
    "TSH-9-L-W,Футболка «Волна» большая белая,1690,2,,TSH-9,L,белая",
    "MUG-1,Кружка,590,10,Посуда,,,",
)


def csv_bytes(*lines: str) -> bytes:
    return "".join(f"{line}\n" for line in lines).encode()


async def run(factory: Factory, media_dir: Path, data: bytes, **options: object) -> ImportReport:
    return await import_catalog(factory, data, ImportOptions(media_dir=media_dir, **options))


async def by_sku(session: AsyncSession) -> dict[str, Product]:
    await session.rollback()  # a fresh snapshot: the import wrote through other sessions
    products = await session.scalars(select(Product).execution_options(populate_existing=True))
    return {product.sku: product for product in products}


def problems(report: ImportReport) -> list[tuple[int | None, str | None, str]]:
    return [(problem.line, problem.column, problem.code) for problem in report.errors]


async def test_variant_rows_become_variants_with_the_parents_name_and_price(
    session_factory: Factory, session: AsyncSession, media_dir: Path
) -> None:
    report = await run(session_factory, media_dir, csv_bytes(*SHIRTS))
    assert report.ok, report.errors
    assert report.created == 5
    products = await by_sku(session)
    parent = products["TSH-9"]
    small, medium, large = products["TSH-9-S-B"], products["TSH-9-M-B"], products["TSH-9-L-W"]
    assert parent.parent_id is None and parent.stock == 0
    assert {small.parent_id, medium.parent_id, large.parent_id} == {parent.id}
    assert (small.option1, small.option2) == ("S", "чёрная")
    assert small.name == "Футболка «Волна» — S, чёрная"  # the parent's name with the choice
    assert small.price == 149000 and small.stock == 3
    assert large.name == "Футболка «Волна» большая белая" and large.price == 169000

    # Lists and search show the parent, with its variants' stock for sale.
    view = await catalogue.browse(session, parent.category_id, 0, 10)
    assert [(item.sku, item.stock) for item in view.products.items] == [("TSH-9", 5)]
    engine = SearchEngine(commit_hooks(session_factory))
    await engine.refresh(session)
    documents = engine.index.documents.values()
    assert sorted((document.sku, document.stock) for document in documents) == [
        ("MUG-1", 10),
        ("TSH-9", 5),
    ]
    detail = await catalogue.product_detail(session, parent.id)
    assert detail is not None and detail.stock == 5
    assert [(v.sku, v.label, v.available) for v in detail.variants] == [
        ("TSH-9-S-B", "S, чёрная", True),
        ("TSH-9-M-B", "M, чёрная", False),
        ("TSH-9-L-W", "L, белая", True),
    ]


async def test_a_variant_sku_or_option_finds_its_parent(
    session_factory: Factory, session: AsyncSession, media_dir: Path
) -> None:
    assert (await run(session_factory, media_dir, csv_bytes(*SHIRTS))).ok
    engine = SearchEngine(commit_hooks(session_factory))
    found = await engine.search(session, "TSH-9-L-W", 0, 10)
    assert [item.sku for item in found.page.items] == ["TSH-9"]


async def test_russian_headers_and_the_sample_catalogue_have_variants(
    session_factory: Factory, session: AsyncSession, media_dir: Path
) -> None:
    russian = csv_bytes(
        "Артикул;Наименование;Цена;Остаток;Вариант артикула;Опция 1;Опция 2",
        "H-1;Худи;3490;;;;",
        "H-1-M;;;4;H-1;M;графит",
    )
    assert (await run(session_factory, media_dir, russian)).ok
    products = await by_sku(session)
    assert products["H-1-M"].parent_id == products["H-1"].id
    report = await import_file(session_factory, SAMPLE_CATALOGUE, ImportOptions(media_dir))
    assert report.ok, report.errors
    products = await by_sku(session)
    sized = [product for product in products.values() if product.parent_id is not None]
    assert len(sized) >= 6
    assert all(product.option1 for product in sized)


async def test_bad_variants_are_refused_with_their_lines_and_nothing_is_written(
    session_factory: Factory, engine: AsyncEngine, media_dir: Path
) -> None:
    before = await dump(engine)
    data = csv_bytes(
        HEADER,
        "P-1,Parent,100,5,,,,",  # 2: stock of its own while it has variants
        "P-1-A,,,1,,P-1,A,",
        "P-1-B,,,1,,P-1,a,",  # 4: the same options as line 3 (case does not count)
        "X-1,,,1,,NOPE,A,",  # 5: no such parent
        "X-2,,,1,,P-1-A,B,",  # 6: a variant of a variant
        "X-3,Three,100,1,,,S,",  # 7: options without a parent
        "X-4,,,1,,P-1,,",  # 8: a variant without options
        "X-5,,,1,,X-5,A,",  # 9: a variant of itself
    )
    report = await run(session_factory, media_dir, data)
    assert problems(report) == [
        (7, "variant_of", "bad_variant"),
        (8, "option1", "bad_variant"),
        (9, "variant_of", "bad_variant"),
    ]  # what the rows say alone is found before the file is compared with the shop
    fixed = data.replace(b"X-3,Three,100,1,,,S,", b"X-3,Three,100,1,,,,")
    fixed = fixed.replace(b"X-4,,,1,,P-1,,", b"X-4,,,1,,P-1,D,").replace(
        b"X-5,,,1,,X-5,A", b"X-5,,,1,,P-1,E"
    )
    report = await run(session_factory, media_dir, fixed)
    assert problems(report) == [
        (2, "stock", "bad_variant"),
        (4, "option1", "bad_variant"),
        (5, "variant_of", "bad_variant"),
        (6, "variant_of", "bad_variant"),
    ]
    assert (
        report.errors[1]
        .describe("en")
        .endswith("Line 3 has a variant of “P-1” with the same options.")
    )
    assert report.errors[1].describe("ru").startswith("строка 4")
    assert await dump(engine) == before


async def test_a_hidden_product_cannot_keep_a_variant_for_sale(
    session_factory: Factory, media_dir: Path
) -> None:
    data = csv_bytes(
        "sku,name,price,active,variant_of,option1",
        "P-1,Parent,100,0,,",
        "P-1-A,,,0,P-1,A",
        "P-1-B,,,1,P-1,B",
    )
    report = await run(session_factory, media_dir, data)
    assert problems(report) == [(4, "active", "bad_variant")]


async def test_files_without_variant_columns_leave_variants_as_they_are(
    session_factory: Factory, session: AsyncSession, media_dir: Path
) -> None:
    assert (await run(session_factory, media_dir, csv_bytes(*SHIRTS))).ok
    plain = csv_bytes("sku,name,price,stock", "TSH-9-S-B,Футболка «Волна» — S,1490,7")
    report = await run(session_factory, media_dir, plain)
    assert report.ok and report.updated == 1
    products = await by_sku(session)
    assert products["TSH-9-S-B"].parent_id == products["TSH-9"].id
    assert products["TSH-9-S-B"].stock == 7


async def test_an_empty_variant_of_turns_a_variant_back_into_a_product(
    session_factory: Factory, session: AsyncSession, media_dir: Path
) -> None:
    assert (await run(session_factory, media_dir, csv_bytes(*SHIRTS))).ok
    again = csv_bytes(HEADER, "TSH-9-L-W,Футболка большая,1690,2,,,,")
    report = await run(session_factory, media_dir, again)
    assert report.ok and report.updated == 1
    products = await by_sku(session)
    assert products["TSH-9-L-W"].parent_id is None and products["TSH-9-L-W"].option1 is None


async def test_the_export_round_trips_variants(
    session_factory: Factory, session: AsyncSession, engine: AsyncEngine, media_dir: Path
) -> None:
    assert (await run(session_factory, media_dir, csv_bytes(*SHIRTS))).ok
    russian = (await catalogue_csv(session, "ru")).decode("utf-8-sig")
    assert russian.splitlines()[0].endswith("Вариант артикула;Опция 1;Опция 2")
    exported = await catalogue_csv(session, "en")
    assert "TSH-9-S-B;Футболка «Волна» — S, чёрная;1490,00;3;" in exported.decode("utf-8-sig")
    before = await dump(engine)
    report = await run(session_factory, media_dir, exported)
    assert report.ok and report.updated == 0 and report.unchanged == 5
    assert await dump(engine) == before


async def test_a_shop_without_variants_exports_as_before(
    session_factory: Factory, session: AsyncSession, media_dir: Path
) -> None:
    assert (await run(session_factory, media_dir, csv_bytes("sku,name,price", "A,B,1"))).ok
    header = (await catalogue_csv(session, "en")).decode("utf-8-sig").splitlines()[0]
    assert header.endswith("exported_stock;export_id")


async def test_a_dry_run_names_the_variants_it_would_create_and_move(
    session_factory: Factory, media_dir: Path
) -> None:
    report = await run(session_factory, media_dir, csv_bytes(*SHIRTS), dry_run=True)
    assert report.ok and report.created == 5
    lines = [change_line(change, "ru") for change in report.changes]
    assert lines[1].startswith("TSH-9-S-B «Футболка «Волна» — S, чёрная», новый товар: ")
    assert lines[1].endswith("вариант TSH-9: S, чёрная")
    assert (await run(session_factory, media_dir, csv_bytes(*SHIRTS))).ok
    moved = csv_bytes(HEADER, "TSH-9-S-B,,,3,,TSH-9,XS,чёрная")
    report = await run(session_factory, media_dir, moved, dry_run=True)
    assert report.updated == 1
    (line,) = [change_line(change, "en") for change in report.changes]
    assert "variant “TSH-9: S, чёрная” → “TSH-9: XS, чёрная”" in line
