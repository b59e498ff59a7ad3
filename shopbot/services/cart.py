"""The shopper's cart, kept in the database: one line per product, never above stock."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cache

from sqlalchemy import Integer, bindparam, case, delete, exists, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.dml import Insert

from shopbot.db import unit_of_work, upsert
from shopbot.errors import CartFull, OutOfStock, ProductNotFound, ProductUnavailable
from shopbot.models import CartLine, OrderLine, Product
from shopbot.services import pricing

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
    # The product's own price when ``unit_price`` is a sale's (None: no sale now).
    regular_price: int | None = None

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


class LineChange(StrEnum):
    """What a press on a cart line's button asks for."""

    ADD_ONE = "add_one"
    TAKE_ONE = "take_one"
    REMOVE = "remove"


CartRefusal = OutOfStock | ProductNotFound | ProductUnavailable | CartFull


async def get_cart(session: AsyncSession, user_id: int) -> Cart:
    """The cart as it stands, each line flagged if the product changed since it was added,
    at the prices in effect now (a sale's while it lasts)."""
    at = pricing.now()
    rows = await session.execute(
        select(
            Product.id,
            Product.sku,
            Product.name,
            pricing.price_column(at),
            CartLine.quantity,
            Product.stock,
            Product.active,
            case((pricing.on_sale_clause(at), Product.price), else_=None),
        )
        .join(CartLine, CartLine.product_id == Product.id)
        .where(CartLine.user_id == user_id)
        .order_by(CartLine.added_at, CartLine.id)
    )
    return Cart(items=[CartItem(*row) for row in rows])


async def quantity_in_cart(session: AsyncSession, user_id: int, product_id: int) -> int:
    quantity = await session.scalar(
        select(CartLine.quantity).where(
            CartLine.user_id == user_id, CartLine.product_id == product_id
        )
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
    async with unit_of_work(session):
        return await _add(session, user_id, product_id, quantity)


async def take_one(session: AsyncSession, user_id: int, product_id: int) -> int:
    """One unit fewer of a product (the line goes at zero), capped at stock; returns the
    quantity now in the cart. A hidden or sold-out product raises as :func:`add` does."""
    async with unit_of_work(session):
        return await _take_one(session, user_id, product_id)


async def press_line(
    session: AsyncSession, user_id: int, product_id: int, change: LineChange
) -> tuple[Cart, CartRefusal | None]:
    """A press on a line of the cart, as one unit of work: the change, then the cart brought
    in line with the shop (:func:`reconcile`). A change the shop refuses changes nothing and
    comes back with the cart, for the shopper to be told why. "+" only grows a line the cart
    has: on a stale or forged button it changes nothing."""
    refusal: CartRefusal | None = None
    async with unit_of_work(session):
        try:
            if change is LineChange.REMOVE:
                await _delete_line(session, user_id, product_id)
            elif change is LineChange.TAKE_ONE:
                await _take_one(session, user_id, product_id)
            else:
                await _add(session, user_id, product_id, 1, grow_only=True)
        except (OutOfStock, ProductNotFound, ProductUnavailable, CartFull) as exc:
            refusal = exc  # raised before any write: the unit carries on
        current = await _reconciled(session, user_id)
    return current, refusal


@cache
def _add_statement(dialect: str, grow_only: bool) -> Insert:
    """The upsert of :func:`_add`, built once per dialect with its values as bind
    parameters: building it costs SQLAlchemy more CPU than running it, and an add runs
    while the unit holds SQLite's one writer."""
    _products, _lines_table = Product.__table__.c, CartLine.__table__
    _lines = _lines_table.c
    user_id = bindparam("user_id", type_=Integer)
    product_id = bindparam("product_id", type_=Integer)
    quantity = bindparam("quantity", type_=Integer)
    stock = (
        select(_products.stock)
        .where(_products.id == product_id, _products.active.is_(True))
        .scalar_subquery()
    )
    lines_in_cart = (
        select(func.count()).select_from(_lines_table).where(_lines.user_id == user_id)
    ).scalar_subquery()
    has_line = exists().where(_lines.user_id == user_id, _lines.product_id == product_id)
    new_line = select(
        user_id, _products.id, case((_products.stock < quantity, _products.stock), else_=quantity)
    ).where(
        _products.id == product_id,
        _products.active.is_(True),
        _products.stock > 0,
        # An existing line may always grow; a new one only while the cart has room.
        has_line if grow_only else or_(lines_in_cart < MAX_CART_LINES, has_line),
    )
    grown = _lines.quantity + quantity
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    return (
        insert(_lines_table)
        .from_select(["user_id", "product_id", "quantity"], new_line)
        .on_conflict_do_update(
            index_elements=[_lines.user_id, _lines.product_id],
            set_={"quantity": case((grown < stock, grown), else_=stock)},
            where=_lines.quantity < stock,
        )
        .returning(_lines.quantity)
    )


async def _add(
    session: AsyncSession, user_id: int, product_id: int, quantity: int, *, grow_only: bool = False
) -> int:
    statement = _add_statement(session.bind.dialect.name, grow_only)
    values = {"user_id": user_id, "product_id": product_id, "quantity": quantity}
    new_quantity = await session.scalar(statement, values)
    if new_quantity is None:
        product = await _product_for_sale(session, product_id)
        if product.stock > 0 and not await quantity_in_cart(session, user_id, product_id):
            if grow_only:
                return 0
            raise CartFull(MAX_CART_LINES)
        raise OutOfStock(product.id, product.name, product.stock)
    return new_quantity


async def _take_one(session: AsyncSession, user_id: int, product_id: int) -> int:
    product = await _product_for_sale(session, product_id)
    if product.stock == 0:
        raise OutOfStock(product.id, product.name, 0)
    fewer = CartLine.quantity - 1
    quantity = await session.scalar(
        update(CartLine)
        .where(
            CartLine.user_id == user_id,
            CartLine.product_id == product_id,
            CartLine.quantity > 1,
        )
        .values(quantity=case((fewer < product.stock, fewer), else_=product.stock))
        .returning(CartLine.quantity)
    )
    if quantity is None:  # the last unit (or no line at all)
        await _delete_line(session, user_id, product_id)
        return 0
    return quantity


async def _delete_line(session: AsyncSession, user_id: int, product_id: int) -> None:
    await session.execute(
        delete(CartLine).where(CartLine.user_id == user_id, CartLine.product_id == product_id)
    )


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
        await _delete_line(session, user_id, product_id)


async def clear(session: AsyncSession, user_id: int) -> None:
    async with unit_of_work(session):
        await session.execute(delete(CartLine).where(CartLine.user_id == user_id))


@dataclass(frozen=True)
class ReturnedLine:
    """A line of an earlier order put back in the cart, and what changed since the order."""

    name: str
    ordered: int
    in_cart: int  # units of it in the cart now
    old_price: int
    price: int | None  # now; None: no longer sold (deleted, hidden or sold out)
    cart_full: bool = False  # not added: the cart has MAX_CART_LINES other products

    @property
    def price_changed(self) -> bool:
        return self.price is not None and self.price != self.old_price

    @property
    def fewer(self) -> bool:
        """Fewer units are available than were ordered."""
        return self.price is not None and not self.cart_full and self.in_cart < self.ordered


async def return_order(
    session: AsyncSession, user_id: int, lines: Sequence[OrderLine]
) -> list[ReturnedLine]:
    """Put an order's lines back in the user's cart at today's prices and stock, in one
    unit of work: each product up to the quantity ordered (a line already holding that
    many is left, so a second press adds nothing), capped at stock. Says, per line, what
    changed since: the price, fewer available, no longer sold."""
    returned = []
    async with unit_of_work(session):
        for line in lines:
            product = None
            if line.product_id is not None:
                product = await session.scalar(
                    select(Product)
                    .where(Product.id == line.product_id)
                    .execution_options(populate_existing=True)
                )
            if product is None or not product.active or product.stock <= 0:
                returned.append(ReturnedLine(line.name, line.quantity, 0, line.unit_price, None))
                continue
            have = await quantity_in_cart(session, user_id, product.id)
            in_cart, full = have, False
            wanted = min(line.quantity, product.stock) - have
            if wanted > 0:
                try:
                    in_cart = await _add(session, user_id, product.id, wanted)
                except CartFull:
                    full = True
                except OutOfStock:  # sold between the read and the add
                    if not have:
                        returned.append(
                            ReturnedLine(line.name, line.quantity, 0, line.unit_price, None)
                        )
                        continue
            returned.append(
                ReturnedLine(
                    line.name,
                    line.quantity,
                    in_cart,
                    line.unit_price,
                    pricing.price_in_effect(
                        product.price, product.sale_price, product.sale_until, pricing.now()
                    ),
                    full,
                )
            )
    return returned


async def reconcile(session: AsyncSession, user_id: int) -> Cart:
    """Bring the cart in line with the shop: drop hidden or sold-out lines, cap quantities.

    Returns the adjusted cart with the list of what changed (empty when nothing did). Only
    a cart that needs a change opens a unit of work.
    """
    current = await get_cart(session, user_id)
    if all(item.issue is None for item in current.items):
        return current
    async with unit_of_work(session):
        return await _reconciled(session, user_id)


async def _reconciled(session: AsyncSession, user_id: int) -> Cart:
    """:func:`reconcile` within the open unit of work."""
    current = await get_cart(session, user_id)
    broken = [item for item in current.items if item.issue is not None]
    if not broken:
        return current
    adjustments = []
    for item in broken:
        if item.issue is LineIssue.REDUCED:
            await session.execute(
                update(CartLine)
                .where(CartLine.user_id == user_id, CartLine.product_id == item.product_id)
                .values(quantity=item.stock)
            )
        else:
            await _delete_line(session, user_id, item.product_id)
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
