"""The Mini App storefront's use cases, over the same catalogue, cart and orders as the chat.

The web app shows pictures where the chat shows Telegram photos, so a product list comes with
each product's first picture (its path in the media folder). Checkout takes in one form what
the chat asks step by step (name, phone, delivery, address for a courier, comment), checks it
the same way and places the order with :func:`shopbot.services.orders.place_order`: the same
stock reservation, token and payment flow. The chat is told of the order after the commit
through the outbox: an online order's payment message (``PAYMENT_DUE``), a cash order's
:data:`APP_ORDER_PLACED`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from shopbot.config import Settings
from shopbot.db import unit_of_work
from shopbot.i18n import N_, Text
from shopbot.models import Category, DeliveryMethod, Order, OrderStatus, Product, ProductImage
from shopbot.phones import normalise_phone
from shopbot.services import orders, outbox, pricing
from shopbot.services.catalogue import SHOP_ORDER, Page, ProductSummary
from shopbot.services.delivery import find_option
from shopbot.services.orders import Checkout
from shopbot.services.users import save_phone
from shopbot.services.variants import listed, listed_price, sellable_stock

# The limits of the chat's checkout (shopbot.bot.routers.checkout), so both take the same.
NAME_LIMIT = 100
ADDRESS_MIN, ADDRESS_LIMIT = 5, 500
COMMENT_LIMIT = 500
# The app makes one token per checkout form shown (a double tap on "Place order" is one order).
_TOKEN = re.compile(r"[A-Za-z0-9_-]{16,64}")

APP_ORDER_PLACED = "app_order_placed"  # {order_id}: a cash order placed in the app, to its chat


def app_order_placed_key(order_id: int) -> str:
    return f"{APP_ORDER_PLACED}:{order_id}"


async def products_below(
    session: AsyncSession, category_id: int | None, page: int, page_size: int
) -> Page[ProductSummary]:
    """A page of the active products in a category and every category below it (the whole
    shop for None), in the shop's order with what is in stock first: a web shop's category
    shows all it holds, where the chat goes down the tree step by step. A product sold as
    variants shows once, at its lowest price and with its variants' stock (the chat's lists
    do the same); prices are those in effect (a sale's while it lasts). One statement, plus
    the category's path."""
    where = [Product.active.is_(True), listed()]
    if category_id is not None:
        path = await session.scalar(select(Category.path).where(Category.id == category_id))
        if path is None:
            raise LookupError(category_id)
        below = select(Category.id).where(
            or_(Category.path == path, Category.path.startswith(path + " / ", autoescape=True))
        )
        where.append(Product.category_id.in_(below))
    page = max(page, 0)
    rows = (
        await session.execute(
            select(
                Product.id,
                Product.sku,
                Product.name,
                listed_price(pricing.price_column(pricing.now())).label("price"),
                sellable_stock().label("stock"),
                func.count().over().label("total"),
            )
            .where(*where)
            .order_by(sellable_stock() <= 0, *SHOP_ORDER)
            .limit(page_size)
            .offset(page * page_size)
        )
    ).all()
    total = rows[0].total if rows else 0
    items = [ProductSummary(row.id, row.sku, row.name, row.price, row.stock) for row in rows]
    return Page(items=items, page=page, pages=max(1, -(-total // page_size)), total=total)


async def cover_paths(session: AsyncSession, product_ids: Sequence[int]) -> dict[int, str]:
    """The first picture of each of these products that has one (its path in the media
    folder), in one statement."""
    if not product_ids:
        return {}
    rows = await session.execute(
        select(ProductImage.product_id, ProductImage.path)
        .where(ProductImage.product_id.in_(product_ids))
        .order_by(ProductImage.product_id, ProductImage.position, ProductImage.id)
    )
    found: dict[int, str] = {}
    for product_id, path in rows:
        found.setdefault(product_id, path)
    return found


class CheckoutRefused(Exception):
    """The checkout form has problems: ``problems`` maps each field to what is wrong."""

    def __init__(self, problems: Mapping[str, Text]) -> None:
        super().__init__(", ".join(problems))
        self.problems = dict(problems)


def read_checkout(form: Mapping[str, Any], settings: Settings) -> Checkout:
    """The form's answers as a :class:`Checkout`, checked as the chat checks them (the
    delivery option and its price from the shop's settings, never from the form); raises
    :class:`CheckoutRefused` naming every field that is wrong."""
    problems: dict[str, Text] = {}

    def text(name: str) -> str:
        value = form.get(name)
        return value.strip() if isinstance(value, str) else ""

    name = text("name")
    if not name or len(name) > NAME_LIMIT:
        problems["name"] = Text(
            N_("Please enter a name (up to {n} characters)."), {"n": NAME_LIMIT}
        )
    phone = normalise_phone(text("phone"))
    if phone is None:
        problems["phone"] = Text(
            N_("This does not look like a phone number. Example: +7 900 123-45-67")
        )
    option = find_option(settings.delivery_options, text("delivery"))
    address: str | None = None
    if option is None:
        problems["delivery"] = Text(N_("Please choose how to get the order."))
    elif option.kind is DeliveryMethod.COURIER:
        address = text("address")
        if len(address) > ADDRESS_LIMIT:
            problems["address"] = Text(
                N_("The address is too long: at most {limit} characters."),
                {"limit": ADDRESS_LIMIT},
            )
        elif len(address) < ADDRESS_MIN:
            problems["address"] = Text(N_("Please enter the full address (city, street, house)."))
    comment = text("comment")
    if len(comment) > COMMENT_LIMIT:
        problems["comment"] = Text(
            N_("The comment is too long: at most {limit} characters."), {"limit": COMMENT_LIMIT}
        )
    if problems:
        raise CheckoutRefused(problems)
    assert option is not None and phone is not None
    return Checkout(
        contact_name=name,
        contact_phone=phone,
        delivery_method=option.kind,
        delivery_address=address,
        comment=comment or None,
        delivery=option,
    )


def valid_token(token: Any) -> bool:
    return isinstance(token, str) and _TOKEN.fullmatch(token) is not None


async def place(
    session: AsyncSession,
    user_id: int,
    checkout: Checkout,
    *,
    token: str,
    settings: Settings,
    max_total: int | None,
) -> Order:
    """Place the shopper's cart as an order, in one unit of work with the phone kept for
    next time and, for a cash order, the chat's message about it. The same ``token`` again
    returns the order already placed. Raises what ``place_order`` raises (OutOfStock,
    ProductUnavailable, EmptyCart, OrderTooLarge), writing nothing."""
    async with unit_of_work(session):
        order = await orders.place_order(
            session,
            user_id,
            checkout,
            token=token,
            payment_provider=settings.payment_provider,
            payment_timeout=timedelta(minutes=settings.order_payment_timeout),
            max_total=max_total,
            actor=f"user:{user_id}:app",
        )
        await save_phone(session, user_id, checkout.contact_phone)
        if order.status is OrderStatus.AWAITING_CONFIRMATION:
            await outbox.record(
                session,
                APP_ORDER_PLACED,
                {"order_id": order.id},
                key=app_order_placed_key(order.id),
            )
    return order
