"""The catalogue CSV importer: the corpus in tests/data/import, upserts, all-or-nothing."""

from __future__ import annotations

import asyncio
import json
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from shopbot.importer import ImportOptions, ImportReport, import_catalog, import_file
from shopbot.importer.changes import change_line, changes_csv
from shopbot.importer.columns import ALIASES, COLUMNS, HEADERS, column_of, normal
from shopbot.models import Base, Category, Product, ProductImage, StockEvent
from shopbot.services import admin
from shopbot.services.export import catalogue_csv
from shopbot.services.text import natural_key, search_text
from tests.factories import make_product

CORPUS = Path(__file__).parent / "data" / "import"
GOOD = CORPUS / "good"
BAD = CORPUS / "bad"
GOOD_EXPECTED: dict[str, Any] = json.loads((GOOD / "expected.json").read_text(encoding="utf-8"))
BAD_EXPECTED: dict[str, Any] = json.loads((BAD / "expected.json").read_text(encoding="utf-8"))
SAMPLE_CATALOGUE = Path(__file__).parent.parent / "catalog" / "products.csv"
HEADER = "sku,name,price,stock,category,description,image,active"

Factory = async_sessionmaker[AsyncSession]


def csv_bytes(*rows: str, header: str = HEADER) -> bytes:
    return "".join(f"{line}\n" for line in (header, *rows)).encode()


def problems(report: ImportReport) -> list[tuple[int | None, str | None, str]]:
    return [(problem.line, problem.column, problem.code) for problem in report.errors]


async def dump(engine: AsyncEngine) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, in primary-key order."""
    async with engine.connect() as connection:
        return {
            table.name: [
                tuple(row)
                for row in await connection.execute(
                    select(table).order_by(*table.primary_key.columns)
                )
            ]
            for table in Base.metadata.sorted_tables
        }


def snapshot(folder: Path) -> dict[str, bytes | None]:
    """Every file (with its bytes) and folder (None) under ``folder``."""
    return {
        path.relative_to(folder).as_posix(): path.read_bytes() if path.is_file() else None
        for path in sorted(folder.rglob("*"))
    }


async def catalogue(session: AsyncSession) -> dict[str, dict[str, Any]]:
    """Products by SKU in the shape of the corpus' expected.json."""
    image_counts = dict(
        (
            await session.execute(
                select(ProductImage.product_id, func.count()).group_by(ProductImage.product_id)
            )
        ).all()
    )
    rows = await session.execute(
        select(Product, Category.path).outerjoin(Category, Category.id == Product.category_id)
    )
    return {
        product.sku: {
            "sku": product.sku,
            "name": product.name,
            "price_kopecks": product.price,
            "stock": product.stock,
            "category": path,
            "active": product.active,
            "image_count": image_counts.get(product.id, 0),
            "description": product.description,
        }
        for product, path in rows
    }


@pytest.fixture
async def image_server(tmp_path: Path) -> AsyncIterator[str]:
    """A local web server with good and bad picture URLs; yields its base URL."""

    async def stream_too_much(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "image/jpeg"})
        await response.prepare(request)
        for _ in range(40):
            await response.write(b"\xff" * 64 * 1024)
        return response

    async def html(_request: web.Request) -> web.Response:
        return web.Response(
            text="<html><body>Not a picture</body></html>", content_type="text/html"
        )

    async def slow(_request: web.Request) -> web.Response:
        await asyncio.sleep(5)
        return web.Response(text="too late")

    def file(path: Path) -> Any:
        body = path.read_bytes()

        async def handler(_request: web.Request) -> web.Response:
            return web.Response(body=body, content_type="image/jpeg")

        return handler

    app = web.Application()
    app.router.add_get("/shop/mug-morning.jpg", file(GOOD / "images" / "mug.jpg"))
    app.router.add_get("/shop/back.jpg", file(GOOD / "images" / "bag.jpg"))
    app.router.add_get("/huge.jpg", stream_too_much)
    app.router.add_get("/page.jpg", html)
    app.router.add_get("/slow.jpg", slow)
    runner = web.AppRunner(app, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    yield f"http://{host}:{port}/"
    await runner.cleanup()


def local_urls(data: bytes, base: str) -> bytes:
    """The corpus names example.com; point its URLs at the test's own server."""
    for site in (b"https://example.com/", b"http://example.com/"):
        data = data.replace(site, base.encode())
    return data


# --- the corpus -------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(GOOD_EXPECTED))
async def test_good_file_imports_exactly_as_expected(
    name: str, session_factory: Factory, session: AsyncSession, media_dir: Path, image_server: str
) -> None:
    expected = GOOD_EXPECTED[name]
    data = local_urls((GOOD / name).read_bytes(), image_server)
    options = ImportOptions(media_dir=media_dir, base_dir=GOOD, allow_private_urls=True)

    report = await import_catalog(session_factory, data, options)

    assert report.errors == []
    assert [(w.column, w.code) for w in report.warnings] == [
        (w["column"], w["code"]) for w in expected["warnings"]
    ]
    count = len(expected["products"])
    assert (report.created, report.updated, report.rows) == (count, 0, count)
    assert await catalogue(session) == {p["sku"]: p for p in expected["products"]}
    stored = list(await session.scalars(select(ProductImage.path)))
    assert all((media_dir / path).read_bytes()[:2] == b"\xff\xd8" for path in stored)


@pytest.mark.parametrize("name", sorted(BAD_EXPECTED))
async def test_bad_file_reports_every_problem_and_changes_nothing(
    name: str, engine: AsyncEngine, session_factory: Factory, session: AsyncSession, media_dir: Path
) -> None:
    seeded = await import_file(
        session_factory, GOOD / "utf8_comma.csv", ImportOptions(media_dir=media_dir)
    )
    assert seeded.ok
    await make_product(session, "Старое название", sku="BD-001", price=100)
    before, files = await dump(engine), snapshot(media_dir)

    report = await import_file(session_factory, BAD / name, ImportOptions(media_dir=media_dir))

    assert problems(report) == [(e["line"], e["column"], e["code"]) for e in BAD_EXPECTED[name]]
    assert all(problem.message.strip() for problem in report.errors)
    assert not report.ok
    assert (report.created, report.updated, report.unchanged) == (0, 0, 0)
    assert await dump(engine) == before
    assert snapshot(media_dir) == files


async def test_sample_catalogue_imports_on_a_fresh_database(
    session_factory: Factory, session: AsyncSession, media_dir: Path
) -> None:
    report = await import_file(
        session_factory, SAMPLE_CATALOGUE, ImportOptions(media_dir=media_dir)
    )

    assert report.errors == []
    assert report.created == report.rows > 0
    assert len(await catalogue(session)) == report.rows


# --- upserts --------------------------------------------------------------------------


async def test_reimporting_the_same_file_changes_nothing(
    engine: AsyncEngine, session_factory: Factory, media_dir: Path
) -> None:
    options = ImportOptions(media_dir=media_dir)
    first = await import_file(session_factory, GOOD / "utf8_comma.csv", options)
    before, files = await dump(engine), snapshot(media_dir)

    again = await import_file(session_factory, GOOD / "utf8_comma.csv", options)

    assert (first.created, first.images_processed, first.images_reused) == (5, 3, 0)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 5)
    assert again.images_reused == again.images_processed == 3
    assert await dump(engine) == before
    assert snapshot(media_dir) == files


async def test_a_changed_price_updates_one_product(
    session_factory: Factory, session: AsyncSession, media_dir: Path, tmp_path: Path
) -> None:
    options = ImportOptions(media_dir=media_dir, base_dir=GOOD)
    original = (GOOD / "utf8_comma.csv").read_bytes()
    await import_catalog(session_factory, original, options)
    stamps = dict((await session.execute(select(Product.sku, Product.updated_at))).all())
    await session.rollback()  # end the read, to see the import's commit
    changed = original.replace(b",1299,10,", b",1399,10,")  # UC-001's price

    report = await import_catalog(session_factory, changed, options)

    assert (report.created, report.updated, report.unchanged) == (0, 1, 4)
    products = {p.sku: p for p in await session.scalars(select(Product))}
    assert products["UC-001"].price == 139900
    assert products["UC-001"].updated_at > stamps["UC-001"]
    assert all(products[sku].updated_at == stamps[sku] for sku in stamps if sku != "UC-001")


async def test_stock_changes_are_recorded_as_events(
    session_factory: Factory, session: AsyncSession, media_dir: Path
) -> None:
    options = ImportOptions(media_dir=media_dir, actor="admin:42")
    rows = ["A-1,Кружка,590,10", "A-2,Блокнот,450,0", "A-3,Значок,290,7"]
    await import_catalog(session_factory, csv_bytes(*rows, header="sku,name,price,stock"), options)
    rows[0] = "A-1,Кружка,590,4"  # sold 6
    rows[1] = "A-2,Блокнот,450,20"  # restocked
    await import_catalog(session_factory, csv_bytes(*rows, header="sku,name,price,stock"), options)

    events = (
        await session.execute(
            select(
                Product.sku,
                StockEvent.old_stock,
                StockEvent.new_stock,
                StockEvent.delta,
                StockEvent.actor,
                StockEvent.reason,
            )
            .join(Product, Product.id == StockEvent.product_id)
            .order_by(StockEvent.id)
        )
    ).all()
    assert {tuple(event) for event in events} == {
        ("A-1", None, 10, 10, "admin:42", "import"),
        ("A-3", None, 7, 7, "admin:42", "import"),
        ("A-1", 10, 4, -6, "admin:42", "import"),
        ("A-2", 0, 20, 20, "admin:42", "import"),
    }


async def test_price_name_and_visibility_changes_go_into_the_history(
    session_factory: Factory, session: AsyncSession, media_dir: Path
) -> None:
    """The import recorded stock changes only: a price it changed was in no history."""
    header = "sku,name,price,stock,active"
    rows = ["A-1,Кружка,590,10,1", "A-2,Блокнот,450,3,1", "A-3,Значок,290,7,0"]
    await import_catalog(session_factory, csv_bytes(*rows, header=header), ImportOptions(media_dir))
    changed = ["A-1,Кружка большая,690,10,1", "A-2,Блокнот,450,3,0", "A-3,Значок,290,7,1"]
    options = ImportOptions(media_dir, actor="admin:42")
    await import_catalog(session_factory, csv_bytes(*changed, header=header), options)
    cli = ImportOptions(media_dir, actor="cli", deactivate_missing=True)
    await import_catalog(session_factory, csv_bytes(changed[0], header=header), cli)

    ids = dict((await session.execute(select(Product.sku, Product.id))).all())
    history = {
        sku: [
            (entry.kind, entry.actor, entry.old, entry.new)
            for entry in await admin.product_history(session, product_id, limit=10)
        ]
        for sku, product_id in ids.items()
    }
    assert sorted(history["A-1"]) == [
        ("created", "import", None, "59000"),
        ("import", "import", None, "10"),
        ("name", "admin:42", "Кружка", "Кружка большая"),
        ("price", "admin:42", "59000", "69000"),
    ]
    assert history["A-2"][0] == ("hidden", "admin:42", None, None)
    assert history["A-3"][:2] == [("hidden", "cli", None, None), ("shown", "admin:42", None, None)]


async def test_deactivate_missing_hides_only_products_not_in_the_file(
    session_factory: Factory, session: AsyncSession, media_dir: Path
) -> None:
    header = "sku,name,price,active"
    rows = ["A-1,Кружка,590,1", "A-2,Блокнот,450,1", "A-3,Значок,290,0"]
    await import_catalog(session_factory, csv_bytes(*rows, header=header), ImportOptions(media_dir))
    only_first = csv_bytes(rows[0], header=header)

    kept = await import_catalog(session_factory, only_first, ImportOptions(media_dir))
    assert kept.deactivated == 0
    report = await import_catalog(
        session_factory, only_first, ImportOptions(media_dir, deactivate_missing=True)
    )

    assert (report.unchanged, report.deactivated) == (1, 1)  # A-3 was hidden already
    active = dict((await session.execute(select(Product.sku, Product.active))).all())
    assert active == {"A-1": True, "A-2": False, "A-3": False}


async def test_dry_run_counts_but_writes_nothing(
    engine: AsyncEngine, session_factory: Factory, media_dir: Path
) -> None:
    options = ImportOptions(media_dir=media_dir, base_dir=GOOD)
    await import_catalog(session_factory, csv_bytes("A-1,Кружка,590,3,,,images/mug.jpg"), options)
    before, files = await dump(engine), snapshot(media_dir)
    data = csv_bytes(
        "A-1,Кружка,690,3,,,images/mug.jpg",
        "A-2,Футболка,1290,1,Одежда / Футболки,,images/tshirt.jpg",
        "A-3,Шоппер,890,0,,,",
    )

    report = await import_catalog(
        session_factory, data, ImportOptions(media_dir, base_dir=GOOD, dry_run=True)
    )

    assert report.ok and report.dry_run
    assert (report.created, report.updated, report.unchanged) == (2, 1, 0)
    assert (report.images_processed, report.images_reused) == (2, 1)
    assert await dump(engine) == before
    assert snapshot(media_dir) == files


async def test_telegram_file_id_survives_when_the_same_picture_comes_back(
    session_factory: Factory, session: AsyncSession, media_dir: Path, tmp_path: Path
) -> None:
    shutil.copytree(GOOD / "images", tmp_path / "images")
    options = ImportOptions(media_dir=media_dir, base_dir=tmp_path)
    await import_catalog(session_factory, csv_bytes("A-1,Кружка,590,3,,,images/mug.jpg"), options)
    await session.execute(update(ProductImage).values(telegram_file_id="AgAD-mug"))
    await session.commit()
    (tmp_path / "images" / "mug.jpg").rename(tmp_path / "images" / "renamed.jpg")

    same = await import_catalog(
        session_factory, csv_bytes("A-1,Кружка,590,3,,,images/renamed.jpg|images/bag.jpg"), options
    )

    assert same.updated == 1  # one more picture, and the first one's name changed
    images = (
        await session.execute(
            select(ProductImage.source, ProductImage.telegram_file_id).order_by(
                ProductImage.position
            )
        )
    ).all()
    assert images == [("images/renamed.jpg", "AgAD-mug"), ("images/bag.jpg", None)]


async def test_absent_columns_and_empty_image_cells_leave_values_alone(
    session_factory: Factory, session: AsyncSession, media_dir: Path
) -> None:
    options = ImportOptions(media_dir=media_dir, base_dir=GOOD)
    await import_catalog(
        session_factory,
        csv_bytes("A-1,Кружка,590,3,Посуда,Белая,images/mug.jpg,0"),
        options,
    )
    prices_only = csv_bytes("A-1,Кружка «Утро»,650", header="SKU,Name,Price")
    await import_catalog(session_factory, prices_only, options)
    no_picture = csv_bytes("A-1,Кружка «Утро»,650,,,,,", header=HEADER)

    report = await import_catalog(session_factory, no_picture, options)

    assert report.updated == 1
    product = (await catalogue(session))["A-1"]
    assert product == {
        "sku": "A-1",
        "name": "Кружка «Утро»",
        "price_kopecks": 65000,
        # the file has these columns: an empty cell is the default (but pictures stay)
        "stock": 0,
        "category": None,
        "active": True,
        "image_count": 1,
        "description": "",
    }
    stored = await session.scalar(select(Product.search_text))
    assert stored == search_text("A-1", "Кружка «Утро»", "")


async def test_the_position_column_sets_the_owners_order_and_its_absence_keeps_it(
    session_factory: Factory, session: AsyncSession, media_dir: Path
) -> None:
    options = ImportOptions(media_dir=media_dir)
    header = "sku,name,price,position"

    async def positions() -> dict[str, int | None]:
        await session.rollback()  # a snapshot of now
        return dict((await session.execute(select(Product.sku, Product.position))).all())

    report = await import_catalog(
        session_factory, csv_bytes("A-1,Кружка,590,2", "A-2,Чашка,490,", header=header), options
    )
    assert report.errors == [] and report.created == 2
    assert await positions() == {"A-1": 2, "A-2": None}
    # A file without the column leaves positions as they are; a renamed product is re-keyed.
    await import_catalog(
        session_factory, csv_bytes("A-1,Кружка №10,590", header="sku,name,price"), options
    )
    assert await positions() == {"A-1": 2, "A-2": None}
    assert await session.scalar(select(Product.name_key).where(Product.sku == "A-1")) == (
        natural_key("Кружка №10")
    )
    # With the column, a cell is authoritative: empty means by name again.
    report = await import_catalog(
        session_factory, csv_bytes("A-1,Кружка №10,590,", "A-2,Чашка,490,1", header=header), options
    )
    assert report.updated == 2
    assert await positions() == {"A-1": None, "A-2": 1}

    bad = csv_bytes("A-1,Кружка,590,-1", "A-2,Чашка,490,первая", "A-3,Блюдце,90,1.5", header=header)
    report = await import_catalog(session_factory, bad, options)
    assert problems(report) == [(line, "position", "bad_position") for line in (2, 3, 4)]


async def test_categories_are_created_once_with_their_parents(
    session_factory: Factory, session: AsyncSession, media_dir: Path
) -> None:
    await import_catalog(
        session_factory,
        csv_bytes("A-1,Кружка,590,1,Посуда / Кружки", header="sku,name,price,stock,category"),
        ImportOptions(media_dir),
    )
    data = csv_bytes(
        "A-2,Футболка,1290,1,Одежда/Футболки",
        "A-3,Майка,990,1,  Одежда  /  Футболки / ",
        'A-4,Термокружка,1390,1,"Посуда / Кружки / Термо"',
        header="sku,name,price,stock,category",
    )

    await import_catalog(session_factory, data, ImportOptions(media_dir))

    categories = {c.path: c for c in await session.scalars(select(Category))}
    assert sorted(categories) == [
        "Одежда",
        "Одежда / Футболки",
        "Посуда",
        "Посуда / Кружки",
        "Посуда / Кружки / Термо",
    ]
    for path, category in categories.items():
        parent = path.rpartition(" / ")[0]
        assert category.parent_id == (categories[parent].id if parent else None)
        assert category.name == path.rsplit(" / ", 1)[-1]
    products = await catalogue(session)
    assert products["A-3"]["category"] == "Одежда / Футболки"


# --- reading the file -------------------------------------------------------------------


async def test_line_numbers_are_physical_lines(session_factory: Factory, media_dir: Path) -> None:
    data = csv_bytes(
        'A-1,Кружка,590,1,,"Белая.\nДве строки.\nТри.",,1',
        "",
        "A-2,Блокнот,,1,,,,1",
        'A-3,"Кружка "Утро"",590,1,,,,1',
        "A-4,Значок,290,-1,,,,1",
    )

    report = await import_catalog(session_factory, data, ImportOptions(media_dir))

    assert problems(report) == [
        (6, "price", "missing_value"),
        (7, None, "bad_quoting"),
        (8, "stock", "negative_stock"),
    ]


async def test_an_unclosed_quote_is_reported_where_the_field_opens(
    session_factory: Factory, media_dir: Path
) -> None:
    data = csv_bytes(
        'A-1,Кружка,590,1,,"Белая.\nДве строки.",,1', 'A-2,Блокнот,450,1,,"Не закрыта,,1'
    )

    report = await import_catalog(session_factory, data, ImportOptions(media_dir))

    assert problems(report) == [(4, None, "bad_quoting")]


@pytest.mark.parametrize(
    ("encoding", "delimiter"),
    [("cp1251", "\t"), ("cp1251", ";"), ("utf-8-sig", ","), ("utf-8", "\t")],
)
async def test_encodings_and_delimiters(
    encoding: str, delimiter: str, session_factory: Factory, session: AsyncSession, media_dir: Path
) -> None:
    header = delimiter.join([" SKU ", "Цвет", "Name", "PRICE", "Category"])
    row = delimiter.join(["Ё-1", "x", "Ёлочная игрушка «Шар»", '"1 290,50 руб."', "Декор / Ёлка"])
    data = f"{header}\r\n{row}\r\n".encode(encoding)

    report = await import_catalog(session_factory, data, ImportOptions(media_dir))

    assert report.errors == []
    assert [(w.line, w.column, w.code) for w in report.warnings] == [(1, "Цвет", "unknown_column")]
    product = (await catalogue(session))["Ё-1"]
    assert (product["name"], product["price_kopecks"], product["category"]) == (
        "Ёлочная игрушка «Шар»",
        129050,
        "Декор / Ёлка",
    )


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"\n\r\n  \n", "empty_file"),
        (b"\xef\xbb\xbf", "empty_file"),
        (b"sku;name;price\r\n;;\r\n\r\n", "empty_file"),
        (b"sku,name,price\n\x98\x98,\x98,1\n", "not_csv"),
        (b"sku,name,price\n\x00\x01\x02\n", "not_csv"),
    ],
)
async def test_files_that_are_not_catalogues(
    data: bytes, code: str, session_factory: Factory, media_dir: Path
) -> None:
    report = await import_catalog(session_factory, data, ImportOptions(media_dir))

    assert problems(report) == [(None, None, code)]


async def test_too_large_a_file_is_refused_before_reading_it(
    session_factory: Factory, media_dir: Path, tmp_path: Path
) -> None:
    path = tmp_path / "big.csv"
    path.write_bytes(csv_bytes(*(f"A-{n},Кружка,590" for n in range(100)), header="sku,name,price"))
    options = ImportOptions(media_dir, max_file_bytes=1000)

    report = await import_file(session_factory, path, options)

    assert problems(report) == [(None, None, "file_too_large")]


async def test_values_too_long_for_the_database(session_factory: Factory, media_dir: Path) -> None:
    data = csv_bytes(f"{'A' * 65},Кружка,590", f"B-1,{'Ж' * 257},590", header="sku,name,price")

    report = await import_catalog(session_factory, data, ImportOptions(media_dir))

    assert problems(report) == [(2, "sku", "value_too_long"), (3, "name", "value_too_long")]


async def test_values_shifted_by_an_unquoted_delimiter_are_refused(
    session_factory: Factory, media_dir: Path
) -> None:
    data = csv_bytes("A-1,Кружка,1 290,50,3", "A-2,Блокнот,450,2,,,", header="sku,name,price,stock")

    report = await import_catalog(session_factory, data, ImportOptions(media_dir))

    assert problems(report) == [(2, None, "too_many_values")]  # empty extra cells are fine


async def test_a_value_too_long_for_csv_does_not_hide_the_rows_after_it(
    session_factory: Factory, media_dir: Path
) -> None:
    data = csv_bytes(
        f'A-1,Кружка,590,"{"Очень длинно. " * 10_000}"',
        "A-2,Блокнот,abc,",
        header="sku,name,price,description",
    )

    report = await import_catalog(session_factory, data, ImportOptions(media_dir))

    assert problems(report) == [(2, None, "value_too_long"), (3, "price", "bad_price")]


async def test_every_row_using_a_bad_picture_is_reported(
    session_factory: Factory, media_dir: Path
) -> None:
    data = csv_bytes(
        "A-1,Кружка,590,1,,,images/none.jpg,1",
        "A-2,Блокнот,abc,1,,,images/none.jpg|images/mug.jpg,1",
    )

    report = await import_catalog(session_factory, data, ImportOptions(media_dir, base_dir=GOOD))

    assert problems(report) == [
        (2, "image", "missing_image"),
        (3, "price", "bad_price"),
        (3, "image", "missing_image"),
    ]
    assert "images/none.jpg" in report.errors[0].message


async def test_progress_is_reported_up_to_the_total(
    session_factory: Factory, media_dir: Path
) -> None:
    calls: list[tuple[int, int]] = []

    await import_file(
        session_factory,
        GOOD / "utf8_comma.csv",
        ImportOptions(media_dir),
        progress=lambda done, total: calls.append((done, total)),
    )

    assert calls[0] == (5, 8)  # five rows read, then three distinct pictures
    assert calls[-1] == (8, 8)
    assert [done for done, _ in calls] == sorted(done for done, _ in calls)


# --- pictures from URLs -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("huge.jpg", "more than"),
        ("page.jpg", "picture"),
        ("missing.jpg", "404"),
        ("slow.jpg", "timed out"),
    ],
)
async def test_bad_urls_are_refused(
    path: str, reason: str, session_factory: Factory, media_dir: Path, image_server: str
) -> None:
    data = csv_bytes(f"A-1,Кружка,590,1,,,{image_server}{path},1")
    options = ImportOptions(
        media_dir, max_image_bytes=1024 * 1024, url_timeout=0.5, allow_private_urls=True
    )

    report = await import_catalog(session_factory, data, options)

    assert problems(report) == [(2, "image", "bad_url")]
    assert reason in report.errors[0].message
    assert snapshot(media_dir) == {}


@pytest.mark.parametrize(
    "url", ["{server}shop/back.jpg", "ftp://example.com/a.jpg", "http://[::1/a.jpg"]
)
async def test_urls_can_be_forbidden_and_must_be_http(
    url: str, session_factory: Factory, media_dir: Path, image_server: str
) -> None:
    data = csv_bytes(f"A-1,Кружка,590,1,,,{url.format(server=image_server)},1")

    report = await import_catalog(
        session_factory, data, ImportOptions(media_dir, allow_urls="{server}" not in url)
    )

    assert problems(report) == [(2, "image", "bad_url")]


# --- Russian headers ----------------------------------------------------------------------


RUSSIAN_HEADER = "Артикул;Наименование;Цена;Остаток;Категория;Описание;Изображение;Активен"


async def test_russian_headers_read_as_the_english_ones(
    session_factory: Factory, session: AsyncSession, media_dir: Path
) -> None:
    """They were all "not a column the importer knows", and the import refused the file."""
    rows = ["A-1;Кружка;590;10;Посуда;Белая;images/mug.jpg;да", "A-2;Блокнот;450;0;;;;нет"]
    data = csv_bytes(*rows, header=RUSSIAN_HEADER)
    english = csv_bytes(*rows, header=HEADER.replace(",", ";"))
    reports = []
    for file in (english, data):
        reports.append(
            await import_catalog(session_factory, file, ImportOptions(media_dir, base_dir=GOOD))
        )

    assert [(r.errors, r.warnings) for r in reports] == [([], []), ([], [])]
    assert [(r.created, r.unchanged) for r in reports] == [(2, 0), (0, 2)]
    assert [r.header_language for r in reports] == ["en", "ru"]
    found = await catalogue(session)
    assert found["A-1"]["category"] == "Посуда" and found["A-1"]["image_count"] == 1
    assert (found["A-2"]["active"], found["A-1"]["stock"]) == (False, 10)


@pytest.mark.parametrize(
    "header",
    [
        "артикул,НАЗВАНИЕ,Стоимость,Кол-во,Раздел,описание товара,Фото,Видимость",
        " Артикул , Наименование товара, Цена (₽),Количество,Группа,Описание,Картинка,Активен ",
        "Код товара;Товар;Цена, руб.;Остатки;Категория;Описание;Картинки;Активный",
        "SKU;Name;PRICE;Qty;Category;Description;Images;Active",
        "арт.;наименование;цена;наличие;категория;описание;изображения;активен",
    ],
)
async def test_usual_variants_of_a_header(
    header: str, session_factory: Factory, session: AsyncSession, media_dir: Path
) -> None:
    delimiter = ";" if ";" in header else ","
    row = delimiter.join(["V-1", "Ваза", "1290", "3", "Дом", "Стекло", "", "0"])
    report = await import_catalog(
        session_factory, csv_bytes(row, header=header), ImportOptions(media_dir)
    )

    assert (report.errors, report.warnings, report.created) == ([], [], 1)
    found = (await catalogue(session))["V-1"]
    assert (found["price_kopecks"], found["stock"], found["category"]) == (129000, 3, "Дом")
    assert (found["description"], found["active"]) == ("Стекло", False)


def test_the_header_words_each_name_one_column() -> None:
    words: dict[str, set[str]] = {}
    for column in COLUMNS:
        for word in (column, *(HEADERS[lang][column] for lang in HEADERS), *ALIASES[column]):
            words.setdefault(normal(word), set()).add(column)
    assert {word: columns for word, columns in words.items() if len(columns) > 1} == {}
    assert all(column_of(word) == next(iter(columns)) for word, columns in words.items())
    assert normal("Остаток ПРИ выгрузке") == normal("остаток при выгрузке")
    assert column_of("Цвет") is None and column_of("ЦЕНА") == "price"


async def test_a_header_naming_a_column_twice_warns_and_uses_the_first(
    session_factory: Factory, session: AsyncSession, media_dir: Path
) -> None:
    data = csv_bytes("A-1,Кружка,590,Чашка", header="sku,name,price,Наименование")

    report = await import_catalog(session_factory, data, ImportOptions(media_dir))

    assert [(w.column, w.code) for w in report.warnings] == [("Наименование", "unknown_column")]
    assert report.warnings[0].describe("ru") == (
        "строка 1, Наименование: Столбец «Наименование» — снова «Наименование»; "
        "используется только первый."
    )
    assert (await catalogue(session))["A-1"]["name"] == "Кружка"


async def test_an_export_in_russian_imports_back_unchanged(
    session_factory: Factory, session: AsyncSession, media_dir: Path
) -> None:
    rows = ["A-1,Кружка,590,10,Посуда,Белая,,1", 'A-2,Блокнот «Лето»,450,0,,"a;b",,0']
    await import_catalog(session_factory, csv_bytes(*rows), ImportOptions(media_dir))

    exported = await catalogue_csv(session, "ru")
    await session.rollback()
    header = exported.decode("utf-8-sig").splitlines()[0]
    assert header == (
        "Артикул;Наименование;Цена;Остаток;Категория;Описание;Активен;Порядок;Ключевые слова;"
        "Остаток при выгрузке;Метка выгрузки"
    )
    assert ";нет;" in exported.decode("utf-8-sig")
    report = await import_catalog(session_factory, exported, ImportOptions(media_dir))

    assert (report.errors, report.warnings, report.unchanged, report.updated) == ([], [], 2, 0)
    assert report.header_language == "ru"


# --- what a dry run shows -----------------------------------------------------------------


async def test_a_dry_run_says_what_changes_field_by_field(
    session_factory: Factory, session: AsyncSession, media_dir: Path
) -> None:
    """It gave counts only."""
    header = "sku,name,price,stock,category,description,active"
    rows = ["A-1,Кружка,590,10,Посуда,Белая,1", "A-2,Блокнот,450,3,,,1", "A-3,Значок,290,7,,,1"]
    await import_catalog(session_factory, csv_bytes(*rows, header=header), ImportOptions(media_dir))
    changed = [
        "A-2,Блокнот,450,3,,,1",  # unchanged
        "A-1,Кружка большая,690,4,Посуда / Кружки,Синяя,0",
        "N-1,Новинка,=1+1,1,,,1",
    ]
    options = ImportOptions(media_dir, dry_run=True, deactivate_missing=True)

    report = await import_catalog(session_factory, csv_bytes(*changed, header=header), options)
    assert problems(report) == [(4, "price", "bad_price")]
    changed[2] = "=N-1,Новинка,990,0,Новое,,0"
    report = await import_catalog(session_factory, csv_bytes(*changed, header=header), options)

    assert [
        (c.sku, c.created, [(f.field, f.old, f.new) for f in c.fields]) for c in report.changes
    ] == [
        (
            "=N-1",
            True,
            [
                ("price", None, 99000),
                ("stock", None, 0),
                ("category", None, "Новое"),
                ("active", None, False),
            ],
        ),
        (
            "A-1",
            False,
            [
                ("name", "Кружка", "Кружка большая"),
                ("price", 59000, 69000),
                ("stock", 10, 4),
                ("active", True, False),
                ("category", "Посуда", "Посуда / Кружки"),
                ("description", "Белая", "Синяя"),
            ],
        ),
        ("A-3", False, [("active", True, False)]),
    ]
    lines = [change_line(change, "ru") for change in report.changes]
    assert lines == [
        "=N-1 «Новинка», новый товар: цена 990\u00a0₽; остаток 0; категория «Новое»; "
        "не показывается покупателям",
        "A-1 «Кружка большая»: название «Кружка» → «Кружка большая»; цена 590\u00a0₽ → "
        "690\u00a0₽; остаток 10 → 4; не показывается покупателям; категория «Посуда» → "
        "«Посуда / Кружки»; новое описание",
        "A-3 «Значок»: не показывается покупателям",
    ]
    assert change_line(report.changes[2], "en") == "A-3 “Значок”: hidden"
    listing = changes_csv(report.changes, "ru").decode("utf-8-sig").splitlines()
    assert listing[0] == "Артикул;Наименование;Товар;Поле;Было;Станет"
    assert listing[1] == "'=N-1;Новинка;новый;Цена;;990\u00a0₽"
    assert "A-1;Кружка большая;изменён;Остаток;10;4" in listing
    assert "A-1;Кружка большая;изменён;Описание;Белая;Синяя" in listing
    assert (
        listing[-1]
        == "A-3;Значок;изменён;Активен;показывается покупателям;не показывается покупателям"
    )
    assert (await catalogue(session))["A-1"]["price_kopecks"] == 59000  # nothing written


async def test_a_second_dry_run_of_an_applied_file_shows_no_change(
    session_factory: Factory, media_dir: Path
) -> None:
    data = csv_bytes("A-1,Кружка,590,10,,,,1")
    await import_catalog(session_factory, data, ImportOptions(media_dir))

    report = await import_catalog(session_factory, data, ImportOptions(media_dir, dry_run=True))

    assert (report.unchanged, report.changes) == (1, [])


async def test_keywords_are_read_kept_when_absent_and_shown_as_changed(
    session_factory: Factory, session: AsyncSession, media_dir: Path
) -> None:
    options = ImportOptions(media_dir=media_dir)

    async def keywords() -> dict[str, str]:
        await session.rollback()  # a snapshot of now
        return dict((await session.execute(select(Product.sku, Product.keywords))).all())

    russian = "Артикул;Наименование;Цена;Ключевые слова"
    file = csv_bytes("A-1;Худи;2990;оверсайз,  толстовка", "A-2;Чашка;490;", header=russian)
    report = await import_catalog(session_factory, file, options)
    assert report.errors == [] and report.created == 2
    assert await keywords() == {"A-1": "оверсайз, толстовка", "A-2": ""}
    # A file without the column leaves them alone.
    await import_catalog(
        session_factory, csv_bytes("A-1,Худи,3190", header="sku,name,price"), options
    )
    assert await keywords() == {"A-1": "оверсайз, толстовка", "A-2": ""}
    # A dry run says they change; the export gives them back.
    changed = csv_bytes("A-1;Худи;3190;оверсайз", "A-2;Чашка;490;", header=russian)
    report = await import_catalog(
        session_factory, changed, ImportOptions(media_dir=media_dir, dry_run=True)
    )
    (change,) = report.changes
    assert [field.field for field in change.fields] == ["keywords"]
    assert "ключевые слова изменены" in change_line(change, "ru")
    exported = (await catalogue_csv(session, "en")).decode("utf-8-sig")
    await session.rollback()
    assert exported.splitlines()[0].split(";")[8] == "keywords"
    assert ";оверсайз, толстовка;" in exported
    report = await import_catalog(session_factory, exported.encode(), options)
    assert (report.errors, report.unchanged, report.updated) == ([], 2, 0)

    too_long = csv_bytes("A-1;Худи;2990;" + "слово " * 100, header=russian)
    report = await import_catalog(session_factory, too_long, options)
    assert problems(report) == [(2, "keywords", "value_too_long")]
