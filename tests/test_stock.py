import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from shopbot.errors import ProductNotFound, StockWouldGoNegative
from shopbot.services import stock
from tests.factories import make_product


async def test_set_and_adjust_record_who_did_it(session: AsyncSession) -> None:
    product = await make_product(session, "Кружка", stock=5, sku="MUG")
    change = await stock.set_stock(session, "MUG", 12, actor="admin:7")
    assert (change.old, change.new) == (5, 12)
    change = await stock.adjust_stock(session, "MUG", -2, actor="admin:8")
    assert (change.old, change.new) == (12, 10)
    change = await stock.adjust_stock(session, "MUG", +3, actor="admin:8")
    assert change.new == 13

    history = await stock.stock_history(session, product.id)
    assert [(e.actor, e.reason, e.old_stock, e.new_stock, e.delta) for e in history] == [
        ("admin:8", "adjust", 10, 13, 3),
        ("admin:8", "adjust", 12, 10, -2),
        ("admin:7", "set", 5, 12, 7),
    ]


async def test_refusals_leave_stock_alone(session: AsyncSession) -> None:
    product = await make_product(session, stock=2, sku="CAP")
    with pytest.raises(StockWouldGoNegative) as caught:
        await stock.adjust_stock(session, "CAP", -3, actor="admin:1")
    assert caught.value.stock == 2
    with pytest.raises(ProductNotFound):
        await stock.adjust_stock(session, "NOPE", 1, actor="admin:1")
    with pytest.raises(ProductNotFound):
        await stock.set_stock(session, "NOPE", 1, actor="admin:1")
    with pytest.raises(ValueError):
        await stock.set_stock(session, "CAP", -1, actor="admin:1")
    assert await stock.stock_history(session, product.id) == []
