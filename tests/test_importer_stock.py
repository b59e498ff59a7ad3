"""Imports and stock held by orders: an import never puts sold units back on sale.

The rule (README, "The catalogue CSV"): ``stock`` is the stock for sale. A file from
``/export`` carries ``exported_stock``, what was for sale when it was made; importing it
moves the stock by what the owner changed (``stock - exported_stock``), so everything sold,
returned or adjusted since the export stands. A file without it says what is for sale now,
and units reserved while the import runs are still taken off. A file without ``stock``
leaves stock alone.
"""

from __future__ import annotations

import asyncio
import csv
import io
from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shopbot.importer import ImportOptions, import_catalog
from shopbot.models import CartLine, DeliveryMethod, OrderLine, Product, StockEvent, User
from shopbot.services import cart, orders
from shopbot.services.export import catalogue_csv
from shopbot.services.orders import Checkout
from shopbot.services.text import search_text
from tests.factories import make_product, make_user

Factory = async_sessionmaker[AsyncSession]
CHECKOUT = Checkout("Анна", "+79001234567", DeliveryMethod.COURIER, "Москва, ул. Ленина, 1")


async def buy(session: AsyncSession, user_id: int, product_id: int, quantity: int) -> None:
    await cart.set_quantity(session, user_id, product_id, quantity)
    await place(session, user_id, f"t-{user_id}-{product_id}")


async def place(session: AsyncSession, user_id: int, token: str) -> None:
    await orders.place_order(
        session,
        user_id,
        CHECKOUT,
        token=token,
        payment_provider="yookassa",
        payment_timeout=timedelta(minutes=60),
    )


async def stocks(session: AsyncSession) -> dict[str, int]:
    await session.rollback()  # a fresh read
    return dict((await session.execute(select(Product.sku, Product.stock))).all())


async def held(session: AsyncSession) -> dict[str, int]:
    rows = await session.execute(
        select(Product.sku, func.sum(OrderLine.quantity))
        .join(OrderLine, OrderLine.product_id == Product.id)
        .group_by(Product.sku)
    )
    return {sku: int(total) for sku, total in rows}


def edit(exported: bytes, sku: str, column: str, value: str) -> bytes:
    """The exported file with one cell changed, saved back as Excel would."""
    rows = list(csv.reader(io.StringIO(exported.decode("utf-8-sig")), delimiter=";"))
    at = rows[0].index(column)
    for row in rows[1:]:
        if row[0] == sku:
            row[at] = value
    out = io.StringIO()
    csv.writer(out, delimiter=";", lineterminator="\r\n").writerows(rows)
    return out.getvalue().encode("utf-8-sig")


async def test_reimporting_an_export_after_a_sale_keeps_the_sale(
    session_factory: Factory, session: AsyncSession, media_dir: Path
) -> None:
    await make_user(session, 1)
    mug = await make_product(session, "Кружка", sku="MUG-1", stock=3)
    await make_product(session, "Блокнот", sku="NB-1", stock=5)
    exported = await catalogue_csv(session)
    await buy(session, 1, mug.id, 3)  # all three held by an unpaid order
    assert (await stocks(session))["MUG-1"] == 0

    report = await import_catalog(session_factory, exported, ImportOptions(media_dir))

    assert (report.updated, report.unchanged) == (0, 2)
    assert await stocks(session) == {"MUG-1": 0, "NB-1": 5}
    assert await catalogue_csv(session) == await catalogue_csv(session)  # nothing moved
    assert await session.scalar(select(func.count()).select_from(StockEvent)) == 0


async def test_an_edited_export_moves_stock_by_the_edit(
    session_factory: Factory, session: AsyncSession, media_dir: Path
) -> None:
    await make_user(session, 1)
    mug = await make_product(session, "Кружка", sku="MUG-1", stock=3)
    pad = await make_product(session, "Блокнот", sku="NB-1", stock=5)
    exported = await catalogue_csv(session)
    await buy(session, 1, mug.id, 3)
    await buy(session, 1, pad.id, 2)
    restocked = edit(exported, "MUG-1", "stock", "10")  # 7 more arrived
    written_off = edit(restocked, "NB-1", "stock", "0")  # the 5 of the export are gone

    report = await import_catalog(session_factory, written_off, ImportOptions(media_dir))

    assert report.updated == 2
    assert await stocks(session) == {"MUG-1": 7, "NB-1": 0}  # never below zero
    events = (
        await session.execute(
            select(Product.sku, StockEvent.old_stock, StockEvent.new_stock, StockEvent.reason)
            .join(Product, Product.id == StockEvent.product_id)
            .order_by(Product.sku)
        )
    ).all()
    assert [tuple(event) for event in events] == [
        ("MUG-1", 0, 7, "import"),
        ("NB-1", 3, 0, "import"),
    ]


async def test_the_same_edited_export_twice_is_the_same_as_once(
    session_factory: Factory, session: AsyncSession, media_dir: Path
) -> None:
    await make_user(session, 1)
    mug = await make_product(session, "Кружка", sku="MUG-1", stock=3)
    restocked = edit(await catalogue_csv(session), "MUG-1", "stock", "10")
    first = await import_catalog(session_factory, restocked, ImportOptions(media_dir))
    await buy(session, 1, mug.id, 2)

    again = await import_catalog(session_factory, restocked, ImportOptions(media_dir))

    assert (first.updated, again.updated, again.unchanged) == (1, 0, 1)
    assert (await stocks(session))["MUG-1"] == 8


async def test_half_of_the_export_columns_is_refused(
    session_factory: Factory, session: AsyncSession, media_dir: Path
) -> None:
    await make_product(session, "Кружка", sku="MUG-1", stock=3)
    options = ImportOptions(media_dir)
    no_id = "sku,name,price,stock,exported_stock\nMUG-1,Кружка,1299,5,3\n".encode()
    one_cell = "sku,name,price,stock,exported_stock,export_id\nMUG-1,Кружка,1299,5,3,\n".encode()

    refused = [await import_catalog(session_factory, data, options) for data in (no_id, one_cell)]

    assert [[(p.line, p.column, p.code) for p in report.errors] for report in refused] == [
        [(1, "export_id", "missing_column")],
        [(2, "export_id", "missing_value")],
    ]
    assert (await stocks(session))["MUG-1"] == 3


async def test_a_file_without_exported_stock_says_what_is_for_sale_now(
    session_factory: Factory, session: AsyncSession, media_dir: Path
) -> None:
    await make_user(session, 1)
    mug = await make_product(session, "Кружка", sku="MUG-1", stock=3)
    await buy(session, 1, mug.id, 3)
    own_file = "sku,name,price,stock\nMUG-1,Кружка,1299,4\n".encode()

    await import_catalog(session_factory, own_file, ImportOptions(media_dir))

    assert (await stocks(session))["MUG-1"] == 4
    assert (await held(session))["MUG-1"] == 3


async def test_an_import_writes_only_the_columns_its_file_has(
    session_factory: Factory, session: AsyncSession, media_dir: Path
) -> None:
    """A price list leaves stock, visibility and category as they are *now*, not as they
    were when the import read them."""
    await make_product(session, "Кружка", sku="MUG-1", stock=3, description="Белая")
    options = ImportOptions(media_dir)
    report = await import_catalog(
        session_factory, "sku,name,price\nMUG-1,Кружка,1399\n".encode(), options
    )
    assert report.updated == 1
    await session.rollback()  # a fresh read
    product = await session.scalar(
        select(Product).where(Product.sku == "MUG-1").execution_options(populate_existing=True)
    )
    assert product is not None
    assert (product.price, product.stock, product.active, product.description) == (
        139900,
        3,
        True,
        "Белая",
    )


# --- races: many checkouts on their own sessions against imports -----------------------

PRODUCTS = 2000  # a file this size keeps each import's read and write far apart
HOT = 10  # the products the shoppers buy
SHOPPERS = 200
STOCK = 1000


async def _shop_with_carts(session: AsyncSession) -> None:
    """PRODUCTS products; each shopper's cart holds one unit of two hot products, so
    checkouts lock several rows (in product order, as an import must too)."""
    await session.execute(
        insert(Product),
        [
            {
                "sku": f"P-{n:04d}",
                "name": f"Товар {n}",
                "description": "",
                "price": 10000,
                "stock": STOCK,
                "active": True,
                "search_text": search_text(f"P-{n:04d}", f"Товар {n}", ""),
            }
            for n in range(PRODUCTS)
        ],
    )
    ids = dict((await session.execute(select(Product.sku, Product.id))).all())
    await session.execute(
        insert(User), [{"id": user, "first_name": "Покупатель"} for user in range(1, SHOPPERS + 1)]
    )
    await session.execute(
        insert(CartLine),
        [
            {"user_id": user, "product_id": ids[f"P-{hot:04d}"], "quantity": 1}
            for user in range(1, SHOPPERS + 1)
            for hot in {user % HOT, (user * 7 + 3) % HOT}
        ],
    )
    await session.commit()


def _price_list(price: str) -> bytes:
    rows = "".join(f"P-{n:04d},Товар {n},{price}\n" for n in range(PRODUCTS))
    return f"sku,name,price\n{rows}".encode()


async def _race(session_factory: Factory, files: list[bytes], media_dir: Path) -> int:
    """Every shopper checks out on a session of their own while the files are imported over
    and over until the last checkout is done; returns how many imports ran."""
    done = asyncio.Event()
    imports = 0

    async def checkout(user: int) -> None:
        async with session_factory() as session:
            await place(session, user, f"race-{user}")

    async def importer() -> None:
        nonlocal imports
        while not done.is_set() or imports == 0:
            report = await import_catalog(
                session_factory, files[imports % len(files)], ImportOptions(media_dir)
            )
            assert report.ok, report.errors[:3]
            imports += 1
            await asyncio.sleep(0)

    async def shoppers() -> None:
        await asyncio.gather(*(checkout(user) for user in range(1, SHOPPERS + 1)))
        done.set()

    await asyncio.gather(importer(), shoppers())
    return imports


async def test_price_imports_racing_checkouts_lose_no_reservation(
    session_factory: Factory, session: AsyncSession, media_dir: Path
) -> None:
    await _shop_with_carts(session)

    imports = await _race(session_factory, [_price_list("120"), _price_list("130")], media_dir)

    assert imports >= 1
    now, holding = await stocks(session), await held(session)
    assert sum(holding.values()) == sum(
        len({user % HOT, (user * 7 + 3) % HOT}) for user in range(1, SHOPPERS + 1)
    )
    lost = {sku: now[sku] + holding.get(sku, 0) - STOCK for sku in now}
    assert {sku: extra for sku, extra in lost.items() if extra} == {}


async def test_stock_imports_racing_checkouts_apply_the_edit_to_the_stock_of_now(
    session_factory: Factory, session: AsyncSession, media_dir: Path
) -> None:
    """An export edited to add 5 units of every hot product, imported while the shoppers
    check out: each hot product ends with what the shoppers left plus 5, once."""
    await _shop_with_carts(session)
    exported = await catalogue_csv(session)
    await session.rollback()
    for hot in range(HOT):
        exported = edit(exported, f"P-{hot:04d}", "stock", str(STOCK + 5))

    imports = await _race(session_factory, [exported], media_dir)

    now, holding = await stocks(session), await held(session)
    assert imports >= 1
    wrong = {
        sku: now[sku] + holding.get(sku, 0)
        for sku in now
        if now[sku] + holding.get(sku, 0) != STOCK + (5 if sku < f"P-{HOT:04d}" else 0)
    }
    assert wrong == {}
