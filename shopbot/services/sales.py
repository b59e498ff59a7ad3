"""Sale prices: the owner puts a product on sale until a moment (or until turned off), and
shoppers find what is on sale in one list. Whether a sale is on is read from the clock
(:mod:`shopbot.services.pricing`): nothing has to run for a sale to end."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, exists, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from shopbot.db import changed, unit_of_work
from shopbot.errors import ShopError
from shopbot.models import Product, ProductEvent, utcnow
from shopbot.services.catalogue import CATALOGUE, SHOP_ORDER, Page, ProductSummary, _page_count
from shopbot.services.pricing import on_sale_clause
from shopbot.services.stock import lock_product


class SaleRefused(ShopError):
    """A sale that makes no sense: not below the price, or ending before now."""

    code = "sale_refused"

    def __init__(self, reason: str, price: int) -> None:
        super().__init__(f"sale refused: {reason}")
        self.reason = reason  # "not_lower" | "free" | "ended"
        self.price = price


@dataclass(frozen=True)
class SaleChange:
    product_id: int
    sku: str
    name: str
    price: int
    sale_price: int | None  # None: the sale is off
    sale_until: datetime | None


async def set_sale(
    session: AsyncSession,
    sku: str,
    sale_price: int,
    until: datetime | None,
    *,
    actor: str,
    at: datetime,
) -> SaleChange:
    """Sell a product at ``sale_price`` until ``until`` (None: until turned off).
    ProductNotFound; SaleRefused when the sale price is not below the price, is nothing (a
    payment of 0 ₽ cannot be taken), or ``until`` is not after ``at``."""
    async with unit_of_work(session):
        product = await lock_product(session, sku)
        if sale_price >= product.price:
            raise SaleRefused("not_lower", product.price)
        if sale_price <= 0:
            raise SaleRefused("free", product.price)
        if until is not None and until <= at:
            raise SaleRefused("ended", product.price)
        await session.execute(
            update(Product)
            .where(Product.id == product.id)
            .values(sale_price=sale_price, sale_until=until, updated_at=utcnow())
        )
        until_text = until.isoformat() if until is not None else None
        await record_product_event(session, product.id, actor, "sale", str(sale_price), until_text)
        changed(session, CATALOGUE)
    return SaleChange(product.id, product.sku, product.name, product.price, sale_price, until)


async def end_sale(session: AsyncSession, sku: str, *, actor: str) -> SaleChange:
    """Take a product off sale (ProductNotFound); ending a sale that is off changes nothing."""
    async with unit_of_work(session):
        product = await lock_product(session, sku)
        if product.sale_price is not None:
            await session.execute(
                update(Product)
                .where(Product.id == product.id)
                .values(sale_price=None, sale_until=None, updated_at=utcnow())
            )
            await record_product_event(
                session, product.id, actor, "sale_off", str(product.sale_price), None
            )
            changed(session, CATALOGUE)
    return SaleChange(product.id, product.sku, product.name, product.price, None, None)


async def record_product_event(
    session: AsyncSession, product_id: int, actor: str, kind: str, old: str | None, new: str | None
) -> None:
    """The product's history: "sale" (old: the sale price, new: its end) or "sale_off"."""
    await session.execute(
        insert(ProductEvent).values(
            product_id=product_id, at=utcnow(), actor=actor, kind=kind, old_value=old, new_value=new
        )
    )


def _for_sale(at: datetime) -> list[ColumnElement[bool]]:
    return [Product.active.is_(True), on_sale_clause(at)]


async def any_on_sale(session: AsyncSession, at: datetime) -> bool:
    """Is any product for sale on sale at ``at``? (The catalogue shows "🔥 Sale" then.)"""
    return bool(await session.scalar(select(exists().where(*_for_sale(at)))))


async def on_sale(
    session: AsyncSession, page: int, page_size: int, at: datetime
) -> Page[ProductSummary]:
    """One page of the products on sale at ``at``, in stock first, in the shop's order."""
    where = _for_sale(at)
    total = await session.scalar(select(func.count()).select_from(Product).where(*where)) or 0
    pages = _page_count(total, page_size)
    page = min(max(page, 0), pages - 1)
    rows = await session.execute(
        select(
            Product.id,
            Product.sku,
            Product.name,
            Product.price,
            Product.stock,
            Product.sale_price,
            Product.sale_until,
        )
        .where(*where)
        .order_by(Product.stock <= 0, *SHOP_ORDER)
        .limit(page_size)
        .offset(page * page_size)
    )
    items = [ProductSummary(*row) for row in rows]
    return Page(items=items, page=page, pages=pages, total=total)
