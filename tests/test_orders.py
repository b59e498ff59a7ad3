import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shopbot.errors import EmptyCart, IllegalTransition, OutOfStock, ProductUnavailable
from shopbot.models import (
    CartLine,
    DeliveryMethod,
    Order,
    OrderLine,
    OrderStatus,
    Product,
    utcnow,
)
from shopbot.services import cart, orders
from shopbot.services.orders import Checkout
from tests.factories import make_product, make_user

S = OrderStatus
CHECKOUT = Checkout("Анна", "+79001234567", DeliveryMethod.COURIER, "Москва, ул. Ленина, 1")


async def place(session: AsyncSession, user_id: int, token: str = "t1", provider: str = "yookassa"):
    return await orders.place_order(
        session,
        user_id,
        CHECKOUT,
        token=token,
        payment_provider=provider,
        payment_timeout=timedelta(minutes=60),
    )


async def stock_of(session: AsyncSession, product_id: int) -> int:
    return await session.scalar(
        select(Product.stock)
        .where(Product.id == product_id)
        .execution_options(populate_existing=True)
    )


async def test_place_order_snapshots_prices_reserves_stock_and_empties_cart(
    session: AsyncSession,
) -> None:
    await make_user(session, 1)
    shirt = await make_product(session, "Футболка", price=129900, stock=5, sku="TS-1")
    mug = await make_product(session, "Кружка", price=49000, stock=2, sku="MUG-1")
    await cart.set_quantity(session, 1, shirt.id, 2)
    await cart.set_quantity(session, 1, mug.id, 1)

    order = await place(session, 1)

    assert order.status is S.AWAITING_PAYMENT
    assert order.number == orders.format_number(order.id)
    assert order.total == 2 * 129900 + 49000
    assert [(line.sku, line.unit_price, line.quantity) for line in order.lines] == [
        ("TS-1", 129900, 2),
        ("MUG-1", 49000, 1),
    ]
    assert order.expires_at is not None and order.expires_at > utcnow()
    assert await stock_of(session, shirt.id) == 3 and await stock_of(session, mug.id) == 1
    assert (await cart.get_cart(session, 1)).is_empty
    events = await orders.events_of(session, order.id)
    assert [(e.kind, e.actor, e.to_status) for e in events] == [
        ("placed", "user:1", "awaiting_payment")
    ]
    assert await orders.held_units(session, [shirt.id, mug.id]) == {shirt.id: 2, mug.id: 1}


async def test_cash_orders_wait_for_confirmation_without_expiry(session: AsyncSession) -> None:
    await make_user(session, 1)
    product = await make_product(session)
    await cart.add(session, 1, product.id)
    order = await place(session, 1, provider="cash")
    assert order.status is S.AWAITING_CONFIRMATION and order.expires_at is None


async def test_same_checkout_twice_gives_one_order(session: AsyncSession) -> None:
    await make_user(session, 1)
    product = await make_product(session, stock=5)
    await cart.add(session, 1, product.id)
    first = await place(session, 1, token="same")
    second = await place(session, 1, token="same")
    assert first.id == second.id
    assert await session.scalar(select(func.count()).select_from(Order)) == 1
    assert await stock_of(session, product.id) == 4


async def test_concurrent_double_tap_gives_one_order(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    async with session_factory() as session:
        await make_user(session, 1)
        product = await make_product(session, stock=5)
        await cart.set_quantity(session, 1, product.id, 2)

    async def tap():
        async with session_factory() as session:
            return (await place(session, 1, token="tap")).id

    ids = await asyncio.gather(*(tap() for _ in range(5)))
    assert len(set(ids)) == 1
    async with session_factory() as session:
        assert await session.scalar(select(func.count()).select_from(Order)) == 1
        assert await stock_of(session, product.id) == 3


async def test_fifty_buyers_for_five_units(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    async with session_factory() as session:
        product = await make_product(session, stock=5)
        for user_id in range(1, 51):
            await make_user(session, user_id)
            await cart.add(session, user_id, product.id)

    async def buy(user_id: int) -> str:
        async with session_factory() as session:
            try:
                await place(session, user_id, token=f"buyer-{user_id}")
            except OutOfStock:
                return "out"
            return "ok"

    results = await asyncio.gather(*(buy(u) for u in range(1, 51)))
    assert results.count("ok") == 5 and results.count("out") == 45
    async with session_factory() as session:
        assert await session.scalar(select(func.count()).select_from(Order)) == 5
        assert await stock_of(session, product.id) == 0
        # The 45 who missed out keep their carts; nothing half-written.
        assert await session.scalar(select(func.count()).select_from(CartLine)) == 45
        assert await session.scalar(select(func.sum(OrderLine.quantity))) == 5


async def test_failed_order_changes_nothing(session: AsyncSession) -> None:
    await make_user(session, 1)
    plenty = await make_product(session, "Много", stock=10)
    scarce = await make_product(session, "Мало", stock=3)
    await cart.set_quantity(session, 1, plenty.id, 4)
    await cart.set_quantity(session, 1, scarce.id, 3)
    await session.execute(update(Product).where(Product.id == scarce.id).values(stock=1))
    await session.commit()
    with pytest.raises(OutOfStock) as caught:
        await place(session, 1)
    assert caught.value.name == "Мало" and caught.value.available == 1
    assert await stock_of(session, plenty.id) == 10
    assert await session.scalar(select(func.count()).select_from(Order)) == 0
    assert (await cart.get_cart(session, 1)).count == 7

    await session.execute(update(Product).where(Product.id == scarce.id).values(active=False))
    await session.commit()
    with pytest.raises(ProductUnavailable):
        await place(session, 1)
    await cart.clear(session, 1)
    with pytest.raises(EmptyCart):
        await place(session, 1)


async def test_state_machine_guards_and_moves_stock(session: AsyncSession) -> None:
    await make_user(session, 1)
    product = await make_product(session, stock=5)
    await cart.set_quantity(session, 1, product.id, 2)
    order = await place(session, 1)

    with pytest.raises(IllegalTransition):
        await orders.transition(session, order.id, S.SHIPPED, actor="admin:9")
    cancelled = await orders.transition(session, order.id, S.CANCELLED, actor="user:1")
    assert cancelled.stock_returned and await stock_of(session, product.id) == 5
    with pytest.raises(IllegalTransition):
        await orders.transition(session, order.id, S.CANCELLED, actor="user:1")

    # A payment that arrives after cancellation takes the stock again.
    paid = await orders.transition(session, order.id, S.PAID, actor="yookassa")
    assert paid.stock_taken and await stock_of(session, product.id) == 3
    assert paid.order.paid_at is not None
    await orders.transition(session, order.id, S.SHIPPED, actor="admin:9")
    refunded = await orders.transition(session, order.id, S.REFUNDED, actor="admin:9")
    assert not refunded.stock_returned and await stock_of(session, product.id) == 3

    log = [(e.actor, e.from_status, e.to_status) for e in await orders.events_of(session, order.id)]
    assert log == [
        ("user:1", None, "awaiting_payment"),
        ("user:1", "awaiting_payment", "cancelled"),
        ("yookassa", "cancelled", "paid"),
        ("admin:9", "paid", "shipped"),
        ("admin:9", "shipped", "refunded"),
    ]


async def test_late_payment_without_stock_changes_nothing(session: AsyncSession) -> None:
    await make_user(session, 1)
    await make_user(session, 2)
    product = await make_product(session, stock=1)
    await cart.add(session, 1, product.id)
    order = await place(session, 1)
    await orders.transition(session, order.id, S.EXPIRED, actor="system")
    await cart.add(session, 2, product.id)
    await place(session, 2, token="t2")
    with pytest.raises(OutOfStock):
        await orders.transition(session, order.id, S.PAID, actor="yookassa")
    assert (await orders.get_order(session, order.id)).status is S.EXPIRED
    assert await stock_of(session, product.id) == 0


async def test_expire_due_returns_stock_once(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    async with session_factory() as session:
        await make_user(session, 1)
        product = await make_product(session, stock=4)
        await cart.set_quantity(session, 1, product.id, 3)
        order = await place(session, 1)
        assert await orders.expire_due(session) == []
        later = utcnow() + timedelta(minutes=61)

    async def sweep():
        async with session_factory() as session:
            return await orders.expire_due(session, later)

    results = await asyncio.gather(sweep(), sweep(), sweep())
    assert sum(len(r) for r in results) == 1
    async with session_factory() as session:
        assert (await orders.get_order(session, order.id)).status is S.EXPIRED
        assert await stock_of(session, product.id) == 4


def test_transition_table_has_no_dead_ends_for_unpaid_orders() -> None:
    assert orders.next_statuses(S.AWAITING_PAYMENT) == [S.PAID, S.CANCELLED, S.EXPIRED]
    assert orders.next_statuses(S.AWAITING_CONFIRMATION) == [S.CONFIRMED, S.CANCELLED]
    assert orders.next_statuses(S.REFUNDED) == []


async def test_a_variant_of_a_hidden_product_is_not_sold(session: AsyncSession) -> None:
    """Hidden by a file that did not list its variants, the product hides them too: one in a
    cart since is refused at checkout and its stock is left alone."""
    await make_user(session, 1)
    shirt = await make_product(session, "Футболка", stock=0, active=False)
    size = await make_product(session, "Футболка — M", stock=3)
    await session.execute(
        update(Product).where(Product.id == size.id).values(parent_id=shirt.id, option1="M")
    )
    await session.commit()
    await cart.add(session, 1, size.id)
    with pytest.raises(ProductUnavailable):
        await place(session, 1)
    assert await session.scalar(select(Product.stock).where(Product.id == size.id)) == 3
    assert await session.scalar(select(func.count()).select_from(Order)) == 0
