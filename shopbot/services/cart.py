"""The shopper's cart, kept in the database: one line per product, never above stock."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from functools import cache

from sqlalchemy import Integer, bindparam, case, delete, exists, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.dml import Insert

from shopbot.db import unit_of_work, upsert, upsert_for
from shopbot.errors import CartFull, OutOfStock, ProductNotFound, ProductUnavailable
from shopbot.models import CartLine, Product

# Different products in one cart: each line gets a row of four buttons, and Telegram takes
# at most 100 buttons in a keyboard; the cart, checkout and order texts stay within a message.
MAX_CART_LINES = 20


class LineIssue(StrEnum):
    UNAVAILABLE = "unavailable"  # hidden or deleted since it was added
    OUT_OF_STOCK = "out_of_stock"  # stock is now 0
    REDUCED = "reduced"  # stock dropped below the quantity in the cart


@dataclass(frozen=True)
class CartItem:
    product_id: int
    sku: str
    name: str
    unit_price: int
    quantity: int
    stock: int
    active: bool

    @property
    def line_total(self) -> int:
        return self.unit_price * self.quantity

    @property
    def issue(self) -> LineIssue | None:
        if not self.active:
            return LineIssue.UNAVAILABLE
        if self.stock == 0:
            return LineIssue.OUT_OF_STOCK
        if self.quantity > self.stock:
            return LineIssue.REDUCED
        return None


@dataclass(frozen=True)
class Adjustment:
    """What :func:`reconcile` changed, so the shopper can be told."""

    name: str
    issue: LineIssue
    old_quantity: int
    new_quantity: int


@dataclass(frozen=True)
class Cart:
    items: list[CartItem]
    adjustments: list[Adjustment] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(item.line_total for item in self.items if item.issue is None)

    @property
    def count(self) -> int:
        return sum(item.quantity for item in self.items)

    @property
    def is_empty(self) -> bool:
        return not self.items

    @property
    def can_check_out(self) -> bool:
        return bool(self.items) and all(item.issue is None for item in self.items)


# The statements a shopper's every card, add and /cart run are built once, with their
# values as bind parameters: building and keying a statement cost SQLAlchemy more CPU than
# running it (the add upsert: about half of the whole unit of work). They use the tables,
# not the mapped classes, so the session runs them as plain Core statements.
_USER = bindparam("user_id", type_=Integer)
_PRODUCT = bindparam("product_id", type_=Integer)
_QUANTITY = bindparam("quantity", type_=Integer)
_lines = CartLine.__table__.c
_products = Product.__table__.c

_CART = (
    select(
        _products.id,
        _products.sku,
        _products.name,
        _products.price,
        _lines.quantity,
        _products.stock,
        _products.active,
    )
    .join_from(Product.__table__, CartLine.__table__, _lines.product_id == _products.id)
    .where(_lines.user_id == _USER)
    .order_by(_lines.added_at, _lines.id)
)
_QUANTITY_IN_CART = select(_lines.quantity).where(
    _lines.user_id == _USER, _lines.product_id == _PRODUCT
)


@cache
def _add_statement(dialect: str) -> Insert:
    """See :func:`add`."""
    stock = (
        select(_products.stock)
        .where(_products.id == _PRODUCT, _products.active.is_(True))
        .scalar_subquery()
    )
    lines_in_cart = (
        select(func.count()).select_from(CartLine.__table__).where(_lines.user_id == _USER)
    ).scalar_subquery()
    has_line = exists().where(_lines.user_id == _USER, _lines.product_id == _PRODUCT)
    new_line = select(
        _USER, _products.id, case((_products.stock < _QUANTITY, _products.stock), else_=_QUANTITY)
    ).where(
        _products.id == _PRODUCT,
        _products.active.is_(True),
        _products.stock > 0,
        or_(lines_in_cart < MAX_CART_LINES, has_line),  # an existing line may always grow
    )
    grown = _lines.quantity + _QUANTITY
    return (
        upsert_for(dialect, CartLine.__table__)
        .from_select(["user_id", "product_id", "quantity"], new_line)
        .on_conflict_do_update(
            index_elements=[_lines.user_id, _lines.product_id],
            set_={"quantity": case((grown < stock, grown), else_=stock)},
            where=_lines.quantity < stock,
        )
        .returning(_lines.quantity)
    )


async def get_cart(session: AsyncSession, user_id: int) -> Cart:
    """The cart as it stands, each line flagged if the product changed since it was added."""
    rows = await session.execute(_CART, {"user_id": user_id})
    return Cart(items=[CartItem(*row) for row in rows])


async def quantity_in_cart(session: AsyncSession, user_id: int, product_id: int) -> int:
    quantity = await session.scalar(
        _QUANTITY_IN_CART, {"user_id": user_id, "product_id": product_id}
    )
    return quantity or 0


async def add(session: AsyncSession, user_id: int, product_id: int, quantity: int = 1) -> int:
    """Add units of a product; returns the new quantity in the cart (capped at stock).

    One conditional upsert: the line is created or grown only while the product is for
    sale and the cart holds less than its stock (a new line only while the cart has fewer
    than MAX_CART_LINES). When nothing changed, the product is read to say why:
    ProductNotFound, ProductUnavailable (hidden), OutOfStock (none left, or the cart already
    holds all there is) or CartFull.
    """
    if quantity < 1:
        raise ValueError("quantity must be positive")
    statement = _add_statement(session.bind.dialect.name)
    values = {"user_id": user_id, "product_id": product_id, "quantity": quantity}
    async with unit_of_work(session):
        new_quantity = await session.scalar(statement, values)
        if new_quantity is None:
            product = await _product_for_sale(session, product_id)
            if product.stock > 0 and not await quantity_in_cart(session, user_id, product_id):
                raise CartFull(MAX_CART_LINES)
            raise OutOfStock(product.id, product.name, product.stock)
    return new_quantity


async def set_quantity(session: AsyncSession, user_id: int, product_id: int, quantity: int) -> int:
    """Set a line's quantity (0 removes it); capped at stock. Returns the stored quantity."""
    if quantity <= 0:
        await remove(session, user_id, product_id)
        return 0
    async with unit_of_work(session):
        product = await _product_for_sale(session, product_id)
        if product.stock == 0:
            raise OutOfStock(product.id, product.name, 0)
        quantity = min(quantity, product.stock)
        await _store_quantity(session, user_id, product_id, quantity)
    return quantity


async def remove(session: AsyncSession, user_id: int, product_id: int) -> None:
    async with unit_of_work(session):
        await session.execute(
            delete(CartLine).where(CartLine.user_id == user_id, CartLine.product_id == product_id)
        )


async def clear(session: AsyncSession, user_id: int) -> None:
    async with unit_of_work(session):
        await session.execute(delete(CartLine).where(CartLine.user_id == user_id))


async def reconcile(session: AsyncSession, user_id: int) -> Cart:
    """Bring the cart in line with the shop: drop hidden or sold-out lines, cap quantities.

    Returns the adjusted cart with the list of what changed (empty when nothing did).
    """
    cart = await get_cart(session, user_id)
    broken = [item for item in cart.items if item.issue is not None]
    if not broken:
        return cart
    adjustments = []
    async with unit_of_work(session):
        for item in broken:
            if item.issue is LineIssue.REDUCED:
                await session.execute(
                    update(CartLine)
                    .where(CartLine.user_id == user_id, CartLine.product_id == item.product_id)
                    .values(quantity=item.stock)
                )
            else:
                await session.execute(
                    delete(CartLine).where(
                        CartLine.user_id == user_id, CartLine.product_id == item.product_id
                    )
                )
            new_quantity = item.stock if item.issue is LineIssue.REDUCED else 0
            adjustments.append(Adjustment(item.name, item.issue, item.quantity, new_quantity))
    fresh = await get_cart(session, user_id)
    return Cart(items=fresh.items, adjustments=adjustments)


async def _product_for_sale(session: AsyncSession, product_id: int) -> Product:
    product = await session.scalar(
        select(Product).where(Product.id == product_id).execution_options(populate_existing=True)
    )
    if product is None:
        raise ProductNotFound(product_id)
    if not product.active:
        raise ProductUnavailable(product.id, product.name)
    return product


async def _store_quantity(session: AsyncSession, user_id: int, product_id: int, qty: int) -> None:
    statement = upsert(session, CartLine).values(
        user_id=user_id, product_id=product_id, quantity=qty
    )
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[CartLine.user_id, CartLine.product_id], set_={"quantity": qty}
        )
    )
