"""Promotions in the core: sale prices that end on the clock, promo codes' rules, uses that
hold under a race of 50 shoppers and come back exactly once, and discounts that add up to
the kopeck in 54-FZ receipts."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shopbot.errors import IllegalTransition
from shopbot.importer import ImportOptions, import_catalog
from shopbot.importer.changes import change_line
from shopbot.models import (
    DeliveryMethod,
    Order,
    OrderLine,
    OrderStatus,
    Product,
    PromoCode,
    PromoKind,
    PromoUse,
)
from shopbot.payments.yookassa import build_receipt
from shopbot.services import admin, cart, orders, pricing, promo, sales
from shopbot.services.discounts import (
    MIN_GOODS_AFTER_DISCOUNT,
    discount_of,
    receipt_parts,
    spread,
)
from shopbot.services.export import catalogue_csv
from shopbot.services.orders import Checkout
from shopbot.services.promo import PromoRefused, Refusal, Terms
from tests.factories import make_category, make_product, make_user
from tests.payments.conftest import make_settings

CHECKOUT = Checkout("Анна", "+79001234567", DeliveryMethod.PICKUP)
START = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
TOKENS = itertools.count(1)


@pytest.fixture
def clock() -> Iterator[list[datetime]]:
    """The prices' clock, moved by the test (no sleeps)."""
    now = [START]
    pricing.set_clock(lambda: now[0])
    yield now
    pricing.set_clock(None)


async def place(
    session: AsyncSession, user_id: int, product_id: int, quantity: int, code: str | None = None
) -> Order:
    await cart.set_quantity(session, user_id, product_id, quantity)
    return await orders.place_order(
        session,
        user_id,
        CHECKOUT,
        token=f"t-{next(TOKENS)}",
        payment_provider="yookassa",
        payment_timeout=timedelta(minutes=30),
        promo_code=code,
    )


# -- the arithmetic ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "amount", "goods", "discount"),
    [
        (PromoKind.FIXED, 50000, 30000, 29900),  # 500 ₽ off 300 ₽: 1 ₽ is left to pay
        (PromoKind.PERCENT, 100, 129900, 129800),
        (PromoKind.FIXED, 500, 100, 0),  # nothing to take off 1 ₽
    ],
)
def test_a_discount_leaves_something_to_pay(
    kind: PromoKind, amount: int, goods: int, discount: int
) -> None:
    """YooKassa and Telegram take no payment of 0 ₽: an order that cost nothing could never
    be paid, and would hold its stock and the code's use until it expired."""
    assert discount_of(kind, amount, goods, goods) == discount


def test_ten_per_cent_of_three_at_333_33() -> None:
    discount = discount_of(PromoKind.PERCENT, 10, 3 * 33333, 3 * 33333)
    assert discount == 10000  # 99,999 ₽ rounds half up to 100,00 ₽
    assert receipt_parts(33333, 3, discount) == [(30000, 2), (29999, 1)]


@given(
    lines=st.lists(
        st.tuples(st.integers(1, 10_000_00), st.integers(1, 50)), min_size=1, max_size=20
    ),
    percent=st.integers(1, 100),
    fixed=st.integers(1, 5_000_000_00),
    use_percent=st.booleans(),
    delivery=st.integers(0, 1000_00),
)
def test_receipt_items_add_up_to_the_payment_exactly(
    lines: list[tuple[int, int]], percent: int, fixed: int, use_percent: bool, delivery: int
) -> None:
    """Whatever the prices, quantities and discount: each line's items add up to the line
    after its share, and all items to the order's total, which build_receipt checks."""
    totals = [price * quantity for price, quantity in lines]
    kind, amount = (PromoKind.PERCENT, percent) if use_percent else (PromoKind.FIXED, fixed)
    discount = discount_of(kind, amount, sum(totals), sum(totals))
    assert sum(totals) - discount >= min(sum(totals), MIN_GOODS_AFTER_DISCOUNT)  # payable
    shares = spread(discount, totals)
    assert sum(shares) == discount
    assert all(0 <= share <= total for share, total in zip(shares, totals, strict=True))
    order_lines = [
        OrderLine(sku="S", name=f"N{index}", unit_price=price, quantity=quantity, discount=share)
        for index, ((price, quantity), share) in enumerate(zip(lines, shares, strict=True))
    ]
    for line in order_lines:
        parts = receipt_parts(line.unit_price, line.quantity, line.discount)
        assert sum(unit * count for unit, count in parts) == line.paid_total
        assert sum(count for _unit, count in parts) == line.quantity
        assert len(parts) <= 2
    total = sum(totals) - discount + delivery
    order = Order(
        id=1,
        number="1001",
        total=total,
        subtotal=sum(totals),
        discount=discount,
        delivery_price=delivery,
        currency="RUB",
        contact_phone="+79001234567",
        lines=order_lines,
    )
    receipt = build_receipt(order, make_settings())  # raises if the items miss the total
    paid = sum(
        round(float(item["amount"]["value"]) * 100) * int(item["quantity"])
        for item in receipt["items"]
    )
    assert paid == total


def test_spread_gives_nothing_to_lines_outside_the_code() -> None:
    assert spread(100, [300, 0, 700]) == [30, 0, 70]
    assert spread(1, [1, 1, 1]) == [1, 0, 0]


# -- sale prices ---------------------------------------------------------------------------


async def test_a_sale_ends_on_time_and_an_order_keeps_its_price(
    session: AsyncSession, clock: list[datetime]
) -> None:
    await make_user(session, 1)
    shirt = await make_product(session, "Футболка", sku="TS-1", price=129900, stock=5)
    until = START + timedelta(hours=6)
    await sales.set_sale(session, "ts-1", 99900, until, actor="admin:1", at=clock[0])
    assert await sales.any_on_sale(session, clock[0])
    order = await place(session, 1, shirt.id, 2)
    assert (order.lines[0].unit_price, order.total) == (99900, 199800)
    await cart.set_quantity(session, 1, shirt.id, 1)
    assert (await cart.get_cart(session, 1)).items[0].unit_price == 99900

    clock[0] = until - timedelta(seconds=1)
    assert (await cart.get_cart(session, 1)).items[0].regular_price == 129900
    clock[0] = until  # the sale ends at its moment sharp, nothing having run
    item = (await cart.get_cart(session, 1)).items[0]
    assert (item.unit_price, item.regular_price) == (129900, None)
    assert not await sales.any_on_sale(session, clock[0])
    assert (await sales.on_sale(session, 0, 10, clock[0])).total == 0
    kept = await orders.get_order(session, order.id)
    assert kept.lines[0].unit_price == 99900  # the order keeps the price it was placed at


async def test_a_sale_must_be_below_the_price_and_end_later(
    session: AsyncSession, clock: list[datetime]
) -> None:
    await make_product(session, "Кружка", sku="MUG", price=49000)
    with pytest.raises(sales.SaleRefused) as higher:
        await sales.set_sale(session, "MUG", 49000, None, actor="a", at=clock[0])
    assert higher.value.reason == "not_lower"
    with pytest.raises(sales.SaleRefused) as ended:
        await sales.set_sale(session, "MUG", 100, clock[0], actor="a", at=clock[0])
    assert ended.value.reason == "ended"
    change = await sales.end_sale(session, "MUG", actor="a")  # nothing on: nothing changes
    assert change.sale_price is None


# -- promo codes ---------------------------------------------------------------------------


async def test_each_rule_refuses_with_its_own_reason(
    session: AsyncSession, clock: list[datetime]
) -> None:
    clothes = await make_category(session, "Одежда")
    shirts = await make_category(session, "Футболки", clothes)
    mug = await make_product(session, "Кружка", sku="MUG", price=49000, stock=50)
    shirt = await make_product(session, "Футболка", sku="TS", price=129900, category=shirts)
    for user_id in (1, 2):
        await make_user(session, user_id)

    async def make(code: str, **rules: object) -> None:
        terms = Terms(code, PromoKind.PERCENT, 10, **rules)  # type: ignore[arg-type]
        await promo.create(session, terms, actor="admin:1")

    await make("OFF")
    off = await session.scalar(select(PromoCode.id).where(PromoCode.code == "OFF"))
    assert off is not None and await promo.deactivate(session, off)
    await make("LATER", starts_at=clock[0] + timedelta(days=1))
    await make("OLD", ends_at=clock[0])
    await make("MIN", min_total=200000)
    await make("ONCE", once_per_shopper=True)
    await make("FIRST", first_order_only=True)
    await make("WEAR", category="одежда")
    await make("TWO", max_uses=1)
    await cart.set_quantity(session, 1, mug.id, 2)

    async def refusal(code: str, user_id: int = 1) -> Refusal:
        lines = await promo.cart_lines(session, user_id, clock[0])
        with pytest.raises(PromoRefused) as refused:
            await promo.quote(session, code, user_id, lines, clock[0])
        return refused.value.reason

    assert await refusal("NOPE") is Refusal.UNKNOWN
    assert await refusal("off") is Refusal.INACTIVE
    assert await refusal("LATER") is Refusal.NOT_STARTED
    assert await refusal("OLD") is Refusal.EXPIRED
    assert await refusal("MIN") is Refusal.MIN_TOTAL
    assert await refusal("WEAR") is Refusal.NOTHING_ELIGIBLE
    first = await place(session, 1, mug.id, 2, "ONCE")
    assert first.discount == 9800
    await place(session, 2, mug.id, 1, "TWO")
    await cart.set_quantity(session, 1, mug.id, 1)
    assert await refusal("ONCE") is Refusal.ALREADY_USED
    assert await refusal("FIRST") is Refusal.FIRST_ORDER
    assert await refusal("TWO") is Refusal.USED_UP

    # A category's code takes off only its goods (the sub-categories' too).
    await cart.set_quantity(session, 1, shirt.id, 1)
    lines = await promo.cart_lines(session, 1, clock[0])
    quote = await promo.quote(session, "WEAR", 1, lines, clock[0])
    assert quote.discount == 12990
    assert quote.shares == [0, 12990]  # the mug (id order first) gets nothing


async def test_fifty_shoppers_race_for_ten_uses(
    session_factory: async_sessionmaker[AsyncSession], session: AsyncSession
) -> None:
    """A conditional UPDATE, not read-then-write: exactly 10 orders get the code."""
    mug = await make_product(session, "Кружка", sku="MUG", price=33333, stock=500)
    await promo.create(session, Terms("RACE", PromoKind.PERCENT, 10, max_uses=10), actor="admin:1")
    shoppers = range(1, 51)
    for user_id in shoppers:
        await make_user(session, user_id)
        await cart.set_quantity(session, user_id, mug.id, 3)

    async def check_out(user_id: int) -> Order | PromoRefused:
        async with session_factory() as own:
            try:
                return await orders.place_order(
                    own,
                    user_id,
                    CHECKOUT,
                    token=f"race-{user_id}",
                    payment_provider="cash",
                    payment_timeout=None,
                    promo_code="race",
                )
            except PromoRefused as refused:
                return refused

    results = await asyncio.gather(*(check_out(user_id) for user_id in shoppers))
    placed = [result for result in results if isinstance(result, Order)]
    refused = [result for result in results if isinstance(result, PromoRefused)]
    assert len(placed) == 10 and len(refused) == 40
    assert {result.reason for result in refused} == {Refusal.USED_UP}
    assert all(order.total == 99999 - 10000 for order in placed)
    assert await session.scalar(select(PromoCode.uses)) == 10
    assert await session.scalar(select(func.count()).select_from(PromoUse)) == 10
    assert await session.scalar(select(func.count()).select_from(Order)) == 10


async def test_a_cancelled_or_expired_order_gives_its_use_back_once(
    session: AsyncSession, clock: list[datetime]
) -> None:
    mug = await make_product(session, "Кружка", sku="MUG", price=49000, stock=50)
    await promo.create(
        session,
        Terms("BACK", PromoKind.FIXED, 5000, max_uses=2, once_per_shopper=True),
        actor="admin:1",
    )
    for user_id in (1, 2, 3):
        await make_user(session, user_id)
    first = await place(session, 1, mug.id, 1, "BACK")
    second = await place(session, 2, mug.id, 1, "BACK")
    assert (first.total, first.discount, first.lines[0].discount) == (44000, 5000, 5000)

    async def uses() -> int:
        return (
            await session.scalar(select(PromoCode.uses).execution_options(populate_existing=True))
            or 0
        )

    assert await uses() == 2
    await orders.transition(session, first.id, OrderStatus.CANCELLED, actor="admin:1")
    assert await uses() == 1
    with pytest.raises(IllegalTransition):  # a second cancel changes nothing
        await orders.transition(session, first.id, OrderStatus.CANCELLED, actor="admin:1")
    assert await uses() == 1
    expired = await orders.expire_due(session, second.expires_at)
    assert [t.order.id for t in expired] == [second.id] and await uses() == 0
    assert await orders.expire_due(session, second.expires_at) == []
    assert await uses() == 0
    # The once-per-shopper mark went with the use: the first shopper may use it again.
    again = await place(session, 1, mug.id, 1, "BACK")
    assert again.discount == 5000 and await uses() == 1
    # A late payment of the expired order takes its use again (it was paid so).
    await orders.transition(session, second.id, OrderStatus.PAID, actor="yookassa")
    assert await uses() == 2


# -- sale prices from the CSV --------------------------------------------------------------


async def test_sale_columns_import_export_and_import_back_unchanged(
    session_factory: async_sessionmaker[AsyncSession], session: AsyncSession, media_dir: Path
) -> None:
    data = (
        "Артикул;Наименование;Цена;Остаток;Цена по акции;Акция до\n"
        "A-1;Кружка;590;10;490;31.12.2026\n"
        "A-2;Блокнот;450;3;399,90;31.12.2026 18:00\n"
        "A-3;Значок;290;7;;\n"
    ).encode()
    report = await import_catalog(session_factory, data, ImportOptions(media_dir))
    assert report.ok and report.created == 3
    rows = {
        sku: (sale, until)
        for sku, sale, until in await session.execute(
            select(Product.sku, Product.sale_price, Product.sale_until)
        )
    }
    assert rows == {
        "A-1": (49000, datetime(2026, 12, 31, 21, 0, tzinfo=UTC)),  # midnight in Moscow
        "A-2": (39990, datetime(2026, 12, 31, 15, 0, tzinfo=UTC)),
        "A-3": (None, None),
    }
    exported = (await catalogue_csv(session, "ru")).decode("utf-8-sig")
    await session.rollback()
    lines = exported.splitlines()
    assert lines[0].split(";")[9:11] == ["Цена по акции", "Акция до"]
    assert lines[1].split(";")[9:11] == ["490,00", "31.12.2026"]
    assert lines[2].split(";")[9:11] == ["399,90", "31.12.2026 18:00"]
    again = await import_catalog(session_factory, exported.encode(), ImportOptions(media_dir))
    assert (again.errors, again.unchanged, again.updated) == ([], 3, 0)

    # A file without the columns leaves the sales alone; an empty cell ends one.
    plain = "sku,name,price\nA-1,Кружка,590\n".encode()
    assert (await import_catalog(session_factory, plain, ImportOptions(media_dir))).ok
    ended = "sku,name,price,sale_price\nA-1,Кружка,590,\n".encode()
    report = await import_catalog(session_factory, ended, ImportOptions(media_dir, dry_run=True))
    assert [change_line(change, "ru") for change in report.changes] == [
        "A-1 «Кружка»: акция завершена"
    ]
    assert (await import_catalog(session_factory, ended, ImportOptions(media_dir))).updated == 1
    sales_now = dict((await session.execute(select(Product.sku, Product.sale_price))).all())
    assert sales_now == {"A-1": None, "A-2": 39990, "A-3": None}


async def test_bad_sale_cells_are_refused_by_line_and_nothing_is_written(
    session_factory: async_sessionmaker[AsyncSession], session: AsyncSession, media_dir: Path
) -> None:
    data = (
        "sku,name,price,sale_price,sale_until\n"
        "A-1,Кружка,590,490,31.12.2026\n"
        "A-2,Блокнот,450,дёшево,\n"
        "A-3,Значок,290,290,\n"
        "A-4,Ручка,100,50,32.12.2026\n"
        "A-5,Тетрадь,100,,31.12.2026\n"
    ).encode()
    report = await import_catalog(session_factory, data, ImportOptions(media_dir))
    assert [(p.line, p.column, p.code) for p in report.errors] == [
        (3, "sale_price", "bad_price"),
        (4, "sale_price", "sale_not_lower"),
        (5, "sale_until", "bad_sale_until"),
        (6, "sale_price", "missing_value"),
    ]
    assert report.errors[1].describe("ru") == (
        "строка 4, Цена по акции: Цена по акции «290» не ниже обычной цены."
    )
    assert await session.scalar(select(func.count()).select_from(Product)) == 0
    header_only = "sku,name,price,sale_until\nA-1,Кружка,590,31.12.2026\n".encode()
    report = await import_catalog(session_factory, header_only, ImportOptions(media_dir))
    assert [(p.line, p.code) for p in report.errors] == [(1, "missing_column")]


async def test_a_price_lowered_below_the_sale_price_is_what_is_charged(
    session: AsyncSession, clock: list[datetime]
) -> None:
    await make_user(session, 1)
    mug = await make_product(session, "Кружка", sku="MUG", price=49000, stock=5)
    await sales.set_sale(session, "MUG", 39000, None, actor="a", at=clock[0])
    await admin.set_price(session, "MUG", 29000, actor="a")
    order = await place(session, 1, mug.id, 1)
    assert order.lines[0].unit_price == 29000
    assert not await sales.any_on_sale(session, clock[0])
