"""Admin services without the bot: prices and visibility with history, the low-stock flag,
sales figures on a known data set, and the CSV exports."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shopbot.errors import ProductNotFound
from shopbot.importer import ImportOptions, import_catalog
from shopbot.models import (
    CartLine,
    DeliveryMethod,
    Order,
    OrderLine,
    OrderStatus,
    Product,
    ProductEvent,
)
from shopbot.services import admin, stock
from shopbot.services.export import catalogue_csv, orders_csv
from shopbot.services.stats import figures_since, period_start, sales_figures
from tests.factories import make_category, make_product, make_user

S = OrderStatus
# 12:00 in Moscow on a Wednesday.
NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
MOSCOW = ZoneInfo("Europe/Moscow")


async def add_order(
    session: AsyncSession,
    user_id: int,
    status: OrderStatus,
    placed: datetime,
    lines: list[tuple[Product, int]],
) -> int:
    total = sum(product.price * quantity for product, quantity in lines)
    order_id = await session.scalar(
        insert(Order)
        .values(
            user_id=user_id,
            checkout_token=f"t-{user_id}-{placed.timestamp()}-{status}",
            status=status,
            subtotal=total,
            total=total,
            contact_name="=HYPERLINK(1)",
            contact_phone="+79001234567",
            delivery_method=DeliveryMethod.COURIER,
            delivery_address="Москва; ул. Ленина, 1",
            payment_provider="cash",
            created_at=placed,
            updated_at=placed,
        )
        .returning(Order.id)
    )
    assert order_id is not None
    await session.execute(
        update(Order).where(Order.id == order_id).values(number=str(1000 + order_id))
    )
    await session.execute(
        insert(OrderLine),
        [
            {
                "order_id": order_id,
                "product_id": product.id,
                "sku": product.sku,
                "name": product.name,
                "unit_price": product.price,
                "quantity": quantity,
            }
            for product, quantity in lines
        ],
    )
    await session.commit()
    return order_id


async def test_price_and_visibility_changes_are_logged_with_the_admin(
    session: AsyncSession,
) -> None:
    product = await make_product(session, "Кружка", sku="MUG", price=49000)
    change = await admin.set_price(session, "MUG", 59900, actor="admin:7")
    assert (change.old, change.new) == (49000, 59900)
    hidden = await admin.set_active(session, "MUG", False, actor="admin:7")
    again = await admin.set_active(session, "MUG", False, actor="admin:8")
    assert hidden.changed and not again.changed
    await stock.adjust_stock(session, "MUG", 5, actor="admin:9")

    history = await admin.product_history(session, product.id)
    assert [(entry.kind, entry.actor, entry.old, entry.new) for entry in history] == [
        ("adjust", "admin:9", "10", "15"),
        ("hidden", "admin:7", None, None),
        ("price", "admin:7", "49000", "59900"),
    ]
    events = (await session.scalars(select(ProductEvent))).all()
    assert len(events) == 2  # the repeated hide wrote nothing
    with pytest.raises(ProductNotFound):
        await admin.set_price(session, "NOPE", 100, actor="admin:7")


async def test_restocking_above_the_threshold_rearms_the_low_stock_alert(
    session: AsyncSession,
) -> None:
    product = await make_product(session, sku="LOW", stock=2)
    await session.execute(update(Product).values(low_stock_alerted=True))
    await session.commit()

    async def alerted() -> bool:
        await session.commit()
        return bool(
            await session.scalar(
                select(Product.low_stock_alerted)
                .where(Product.id == product.id)
                .execution_options(populate_existing=True)
            )
        )

    await stock.adjust_stock(session, "LOW", 1, actor="admin:1", low_stock_threshold=3)
    assert await alerted()  # 3 is still at the threshold
    await stock.adjust_stock(session, "LOW", 1, actor="admin:1", low_stock_threshold=3)
    assert not await alerted()
    await session.execute(update(Product).values(low_stock_alerted=True))
    await session.commit()
    await stock.set_stock(session, "LOW", 3, actor="admin:1", low_stock_threshold=3)
    assert await alerted()
    await stock.set_stock(session, "LOW", 10, actor="admin:1", low_stock_threshold=3)
    assert not await alerted()


async def test_sales_figures_on_a_known_data_set(session: AsyncSession) -> None:
    mug = await make_product(session, "Кружка", sku="MUG", price=50000)
    shirt = await make_product(session, "Футболка", sku="TS", price=100000)
    for user_id in (1, 2, 3):
        await make_user(session, user_id)
    today = NOW - timedelta(hours=1)
    this_week = NOW - timedelta(days=3)
    this_month = NOW - timedelta(days=20)
    long_ago = NOW - timedelta(days=60)
    await add_order(session, 1, S.PAID, today, [(mug, 2)])  # 1000 ₽
    await add_order(session, 2, S.AWAITING_PAYMENT, today, [(shirt, 1)])
    await add_order(session, 1, S.DELIVERED, this_week, [(shirt, 3)])  # 3000 ₽
    await add_order(session, 2, S.CANCELLED, this_week, [(shirt, 5)])
    await add_order(session, 3, S.CONFIRMED, this_month, [(mug, 1), (shirt, 1)])  # 1500 ₽
    await add_order(session, 3, S.PAID, long_ago, [(mug, 9)])
    # Open carts: one begun today, one last week; only their first line counts.
    session.add_all(
        [
            CartLine(user_id=1, product_id=mug.id, quantity=1, added_at=today),
            CartLine(user_id=2, product_id=mug.id, quantity=1, added_at=this_week),
            CartLine(user_id=2, product_id=shirt.id, quantity=1, added_at=today),
        ]
    )
    await session.commit()

    day, week, month = await sales_figures(session, NOW, MOSCOW)
    assert (day.orders, day.paid, day.revenue, day.average) == (2, 1, 100000, 100000)
    assert day.carts_started == 2 + 1
    assert [(t.sku, t.quantity, t.revenue) for t in day.top] == [("MUG", 2, 100000)]
    assert (week.orders, week.paid, week.revenue, week.average) == (4, 2, 400000, 200000)
    assert week.carts_started == 4 + 2
    assert [(t.sku, t.quantity) for t in week.top] == [("TS", 3), ("MUG", 2)]
    assert (month.orders, month.paid, month.revenue) == (5, 3, 550000)
    assert [(t.sku, t.quantity, t.revenue) for t in month.top] == [
        ("TS", 4, 400000),
        ("MUG", 3, 150000),
    ]
    assert period_start(1, NOW, MOSCOW) == datetime(2026, 11, 24, 21, 0, tzinfo=UTC)  # midnight
    empty = await figures_since(session, 1, NOW + timedelta(days=1))
    assert (empty.orders, empty.paid, empty.revenue, empty.average, empty.top) == (0, 0, 0, 0, [])


def test_periods_start_at_midnight_on_the_shop_clock() -> None:
    """Days are the shop's calendar days, a day with a clock change included."""
    berlin = ZoneInfo("Europe/Berlin")  # summer time (UTC+2) ended at 03:00 on 25.10.2026
    monday = datetime(2026, 10, 26, 12, 0, tzinfo=UTC)
    assert period_start(1, monday, berlin) == datetime(2026, 10, 25, 23, 0, tzinfo=UTC)
    assert period_start(2, monday, berlin) == datetime(2026, 10, 24, 22, 0, tzinfo=UTC)
    vladivostok = ZoneInfo("Asia/Vladivostok")  # already 26.11 there at 15:00 UTC
    assert period_start(1, datetime(2026, 11, 25, 15, 0, tzinfo=UTC), vladivostok) == datetime(
        2026, 11, 25, 14, 0, tzinfo=UTC
    )


async def test_catalogue_export_imports_back_unchanged(
    session: AsyncSession, session_factory: async_sessionmaker[AsyncSession], media_dir: Path
) -> None:
    clothes = await make_category(session, "Одежда")
    shirts = await make_category(session, "Футболки", clothes)
    await make_product(
        session,
        "Футболка «Север»; хлопок",
        sku="TS-1",
        price=129950,
        stock=4,
        category=shirts,
        description='Мягкая, "плотная".\nДве строки & точка с запятой; тут',
    )
    await make_product(session, "Скрытая", sku="H-1", price=100, stock=0, active=False)
    await make_product(session, "Десятая", sku="TS-10", price=100, stock=1)
    await make_product(session, "Девятая", sku="TS-9", price=100, stock=1)
    await session.execute(update(Product).where(Product.sku == "TS-1").values(position=3))
    await session.commit()

    data = await catalogue_csv(session)
    assert data.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"))
    assert rows[0] == [
        "sku",
        "name",
        "price",
        "stock",
        "category",
        "description",
        "active",
        "position",
        "keywords",
        "exported_stock",
        "export_id",
    ]
    assert [row[0] for row in rows[1:]] == ["H-1", "TS-1", "TS-9", "TS-10"]  # natural
    assert rows[1] == ["H-1", "Скрытая", "1,00", "0", "", "", "0", "", "", "0", "0"]
    assert rows[2][2:5] == ["1299,50", "4", "Одежда / Футболки"]
    assert rows[2][7] == "3"

    report = await import_catalog(session_factory, data, ImportOptions(media_dir=media_dir))
    assert report.errors == [] and report.warnings == []
    assert (report.created, report.updated, report.unchanged) == (0, 0, 4)


FORMULAS = [
    "=cmd|' /C calc'!A0",
    "+7 (900) 123-45-67",
    "-20% на всё",
    "@SUM(1+1)",
    "'=уже с апострофом",
    "''+два апострофа",
    "'обычный апостроф",
]


async def test_catalogue_export_writes_no_live_formula_and_imports_back_exactly(
    session: AsyncSession, session_factory: async_sessionmaker[AsyncSession], media_dir: Path
) -> None:
    for number, text in enumerate(FORMULAS):
        category = await make_category(session, f"{text.replace('/', '')} {number}")
        await make_product(
            session, text, sku=f"{text[:1]}SKU-{number}", category=category, description=text
        )
    before = await catalogue_csv(session)

    rows = list(csv.reader(io.StringIO(before.decode("utf-8-sig")), delimiter=";"))
    cells = [cell for row in rows[1:] for cell in row]
    assert [cell for cell in cells if cell[:1] in ("=", "+", "-", "@")] == []
    assert "'=cmd|' /C calc'!A0" in cells and "''=уже с апострофом" in cells
    assert "'обычный апостроф" in cells  # not a formula: left as it is

    report = await import_catalog(session_factory, before, ImportOptions(media_dir=media_dir))

    assert report.errors == [] and (report.updated, report.unchanged) == (0, len(FORMULAS))
    await session.rollback()
    names = set(await session.scalars(select(Product.name)))
    assert names == set(FORMULAS)
    assert await catalogue_csv(session) == before


async def test_orders_export_opens_in_excel(session: AsyncSession) -> None:
    mug = await make_product(session, "Кружка", sku="MUG", price=49050)
    await make_user(session, 1)
    await add_order(session, 1, S.PAID, datetime.now(UTC), [(mug, 2)])
    await add_order(session, 1, S.PAID, datetime.now(UTC) - timedelta(days=40), [(mug, 1)])

    data = await orders_csv(session, datetime.now(UTC) - timedelta(days=30), MOSCOW)
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"))
    assert len(rows) == 2  # the header and the one recent order's line
    row = dict(zip(rows[0], rows[1], strict=True))
    assert row["name"] == "'=HYPERLINK(1)"  # no formula when opened in Excel
    assert row["address"] == "Москва; ул. Ленина, 1"
    assert (row["quantity"], row["unit_price"], row["line_total"]) == ("2", "490,50", "981,00")
    # Codes without labels (the bot passes the owner's language); the phone stays text.
    assert row["status"] == "paid" and row["phone"] == '="+79001234567"'
    assert (row["delivery"], row["payment"]) == ("courier", "cash")
