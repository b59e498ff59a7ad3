"""Favourites: products a shopper keeps to come back to, with what they cost and whether
they can be bought now."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from functools import cache

from sqlalchemy import Integer, bindparam, delete, func, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.dml import Insert

from shopbot.db import unit_of_work
from shopbot.errors import FavouritesFull, ProductNotFound
from shopbot.models import Favourite, Product, utcnow
from shopbot.services import pricing
from shopbot.services.catalogue import Page, _page_count
from shopbot.services.variants import listed_price, sellable_stock

# A list the shopper can still read through; also keeps a forged flood of presses small.
MAX_FAVOURITES = 100


class Availability(StrEnum):
    IN_STOCK = "in_stock"
    SOLD_OUT = "sold_out"
    NOT_SOLD = "not_sold"  # hidden by the owner


@dataclass(frozen=True)
class FavouriteItem:
    product_id: int
    sku: str
    name: str
    price: int
    stock: int
    active: bool
    category_id: int | None

    @property
    def availability(self) -> Availability:
        if not self.active:
            return Availability.NOT_SOLD
        return Availability.IN_STOCK if self.stock > 0 else Availability.SOLD_OUT


@cache
def _add_statement(dialect: str) -> Insert:
    """One conditional insert: the product must be for sale and the list below its limit
    (never read-then-write); an existing favourite stays as it is."""
    favourites, products = Favourite.__table__, Product.__table__.c
    user_id = bindparam("user_id", type_=Integer)
    product_id = bindparam("product_id", type_=Integer)
    kept = select(func.count()).select_from(favourites).where(favourites.c.user_id == user_id)
    row = select(user_id, products.id, bindparam("added_at", type_=Favourite.added_at.type)).where(
        products.id == product_id,
        products.active.is_(True),
        kept.scalar_subquery() < MAX_FAVOURITES,
    )
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    return (
        insert(favourites)
        .from_select(["user_id", "product_id", "added_at"], row)
        .on_conflict_do_nothing(index_elements=[favourites.c.user_id, favourites.c.product_id])
    )


async def add(session: AsyncSession, user_id: int, product_id: int) -> None:
    """Keep a product for sale among the shopper's favourites (again: nothing changes).

    ProductNotFound when it is not for sale, FavouritesFull at the limit.
    """
    async with unit_of_work(session):
        values = {"user_id": user_id, "product_id": product_id, "added_at": utcnow()}
        inserted = await session.execute(_add_statement(session.bind.dialect.name), values)
        if inserted.rowcount:  # type: ignore[attr-defined]
            return
        if await is_favourite(session, user_id, product_id):
            return
        active = await session.scalar(select(Product.active).where(Product.id == product_id))
        if not active:
            raise ProductNotFound(product_id)
        raise FavouritesFull(MAX_FAVOURITES)


async def remove(session: AsyncSession, user_id: int, product_id: int) -> None:
    async with unit_of_work(session):
        await session.execute(
            delete(Favourite).where(
                Favourite.user_id == user_id, Favourite.product_id == product_id
            )
        )


async def is_favourite(session: AsyncSession, user_id: int, product_id: int) -> bool:
    found = await session.scalar(
        select(Favourite.product_id).where(
            Favourite.user_id == user_id, Favourite.product_id == product_id
        )
    )
    return found is not None


async def page_of(
    session: AsyncSession, user_id: int, page: int, page_size: int
) -> Page[FavouriteItem]:
    """The shopper's favourites, the most recently kept first; hidden ones included (they
    show as not for sale), deleted products gone with them."""
    total = await session.scalar(
        select(func.count()).select_from(Favourite).where(Favourite.user_id == user_id)
    )
    total = total or 0
    pages = _page_count(total, page_size)
    page = min(max(page, 0), pages - 1)
    rows = await session.execute(
        select(
            Product.id,
            Product.sku,
            Product.name,
            listed_price(pricing.price_column(pricing.now())),  # a sale's while it lasts
            sellable_stock(),
            Product.active,
            Product.category_id,
        )
        .join(Favourite, Favourite.product_id == Product.id)
        .where(Favourite.user_id == user_id)
        .order_by(Favourite.added_at.desc(), Product.id.desc())
        .offset(page * page_size)
        .limit(page_size)
    )
    items = [FavouriteItem(*row) for row in rows]
    return Page(items=items, page=page, pages=pages, total=total)
