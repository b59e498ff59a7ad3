import pytest
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from shopbot.errors import CartFull, OutOfStock, ProductNotFound, ProductUnavailable
from shopbot.models import CartLine, Product
from shopbot.services import cart
from shopbot.services.cart import LineIssue
from tests.factories import make_product, make_user


async def test_add_caps_at_stock_and_totals(session: AsyncSession) -> None:
    await make_user(session, 1)
    shirt = await make_product(session, "Футболка", price=129900, stock=3)
    mug = await make_product(session, "Кружка", price=49000, stock=10)

    assert await cart.add(session, 1, shirt.id) == 1
    assert await cart.add(session, 1, shirt.id, 5) == 3
    with pytest.raises(OutOfStock):
        await cart.add(session, 1, shirt.id)
    assert await cart.set_quantity(session, 1, mug.id, 2) == 2

    current = await cart.get_cart(session, 1)
    assert [(i.name, i.quantity) for i in current.items] == [("Футболка", 3), ("Кружка", 2)]
    assert current.total == 3 * 129900 + 2 * 49000
    assert current.count == 5 and current.can_check_out

    assert await cart.set_quantity(session, 1, mug.id, 0) == 0
    await cart.remove(session, 1, shirt.id)
    assert (await cart.get_cart(session, 1)).is_empty


async def test_hidden_missing_and_sold_out_products_are_refused(session: AsyncSession) -> None:
    await make_user(session, 1)
    hidden = await make_product(session, "Скрытый", active=False)
    sold_out = await make_product(session, "Распродан", stock=0)
    with pytest.raises(ProductUnavailable):
        await cart.add(session, 1, hidden.id)
    with pytest.raises(OutOfStock):
        await cart.add(session, 1, sold_out.id)
    with pytest.raises(ProductNotFound):
        await cart.add(session, 1, 999_999)
    assert (await cart.get_cart(session, 1)).is_empty


async def test_a_cart_holds_at_most_max_lines_products(session: AsyncSession) -> None:
    await make_user(session, 1)
    products = [await make_product(session, f"Значок {n}") for n in range(cart.MAX_CART_LINES + 1)]
    for product in products[:-1]:
        assert await cart.add(session, 1, product.id) == 1
    with pytest.raises(CartFull) as refused:
        await cart.add(session, 1, products[-1].id)
    assert refused.value.limit == cart.MAX_CART_LINES
    assert await cart.add(session, 1, products[0].id) == 2, "a line already there still grows"
    current = await cart.get_cart(session, 1)
    assert len(current.items) == cart.MAX_CART_LINES and current.count == cart.MAX_CART_LINES + 1
    await cart.remove(session, 1, products[1].id)
    assert await cart.add(session, 1, products[-1].id) == 1


async def test_reconcile_reports_and_fixes_changes_since_adding(session: AsyncSession) -> None:
    await make_user(session, 1)
    a = await make_product(session, "Остался", stock=5)
    b = await make_product(session, "Убавился", stock=5)
    c = await make_product(session, "Кончился", stock=5)
    d = await make_product(session, "Спрятан", stock=5)
    for product in (a, b, c, d):
        await cart.set_quantity(session, 1, product.id, 3)
    await session.execute(update(Product).where(Product.id == b.id).values(stock=2))
    await session.execute(update(Product).where(Product.id == c.id).values(stock=0))
    await session.execute(update(Product).where(Product.id == d.id).values(active=False))
    await session.commit()

    flagged = await cart.get_cart(session, 1)
    assert [i.issue for i in flagged.items] == [
        None,
        LineIssue.REDUCED,
        LineIssue.OUT_OF_STOCK,
        LineIssue.UNAVAILABLE,
    ]
    assert not flagged.can_check_out

    fixed = await cart.reconcile(session, 1)
    assert [(x.name, x.issue, x.new_quantity) for x in fixed.adjustments] == [
        ("Убавился", LineIssue.REDUCED, 2),
        ("Кончился", LineIssue.OUT_OF_STOCK, 0),
        ("Спрятан", LineIssue.UNAVAILABLE, 0),
    ]
    assert [(i.name, i.quantity) for i in fixed.items] == [("Остался", 3), ("Убавился", 2)]
    assert fixed.can_check_out
    assert (await cart.reconcile(session, 1)).adjustments == []


async def test_database_enforces_one_line_per_product_and_positive_quantity(
    session: AsyncSession,
) -> None:
    await make_user(session, 1)
    product = await make_product(session)
    session.add(CartLine(user_id=1, product_id=product.id, quantity=1))
    await session.commit()
    session.add(CartLine(user_id=1, product_id=product.id, quantity=2))
    with pytest.raises(IntegrityError):
        await session.commit()
    await session.rollback()
    session.add(CartLine(user_id=1, product_id=(await make_product(session)).id, quantity=0))
    with pytest.raises(IntegrityError):
        await session.commit()
