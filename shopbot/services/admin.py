"""What the shop owner changes by hand: prices, visibility, and the history of a product.

Stock changes live in :mod:`shopbot.services.stock`; every change here is one unit of work
with an event row naming the admin who made it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, insert, select, true, update
from sqlalchemy.ext.asyncio import AsyncSession

from shopbot.db import changed, unit_of_work
from shopbot.errors import PriceChanged
from shopbot.models import Order, OrderStatus, Product, ProductEvent, StockEvent, utcnow
from shopbot.money import MAX_PRICE
from shopbot.search.documents import write_documents
from shopbot.services.catalogue import CATALOGUE, SHOP_ORDER, Page
from shopbot.services.stock import lock_product
from shopbot.services.variants import has_variants


@dataclass(frozen=True)
class PriceChange:
    product_id: int
    sku: str  # as stored, whatever case it was asked for in
    name: str
    old: int
    new: int


@dataclass(frozen=True)
class VisibilityChange:
    product_id: int
    sku: str
    name: str
    active: bool
    changed: bool  # False: it already was so, nothing written


@dataclass(frozen=True)
class KeywordsChange:
    product_id: int
    sku: str
    name: str
    keywords: str
    changed: bool  # False: they already were so, nothing written


MAX_KEYWORDS = 512  # characters, as the catalogue CSV's keywords column


@dataclass(frozen=True)
class HistoryEntry:
    """One line of a product's history: a stock, price or visibility change."""

    at: datetime
    actor: str
    kind: str  # a stock event's reason ("set", "adjust", "import") or "price"/"hidden"/"shown"
    old: str | None
    new: str | None


async def set_price(
    session: AsyncSession, sku: str, price: int, *, actor: str, expect: int | None = None
) -> PriceChange:
    """Set a product's price. ``expect``: the price the owner confirmed the change from; if
    it is no longer that, PriceChanged is raised and nothing is written."""
    if not 0 <= price <= MAX_PRICE:
        raise ValueError(f"a price is 0 to {MAX_PRICE} kopecks")
    async with unit_of_work(session):
        product = await lock_product(session, sku)
        old = product.price
        if expect is not None and old != expect:
            raise PriceChanged(product.sku, old)
        if old != price:
            await session.execute(
                update(Product)
                .where(Product.id == product.id)
                .values(price=price, updated_at=utcnow())
            )
            await _record(session, product.id, actor, "price", str(old), str(price))
            changed(session, CATALOGUE)
    return PriceChange(product.id, product.sku, product.name, old, price)


async def set_active(
    session: AsyncSession, sku: str, active: bool, *, actor: str
) -> VisibilityChange:
    """Show a product to shoppers or hide it; hiding keeps it in carts and past orders.
    A product with variants is hidden or shown with all of them (a variant alone by its
    own SKU), so no variant of a hidden product is sold from a cart."""
    async with unit_of_work(session):
        product = await lock_product(session, sku)
        moved = product.active != active
        kind = "shown" if active else "hidden"
        if moved:
            await session.execute(
                update(Product)
                .where(Product.id == product.id)
                .values(active=active, updated_at=utcnow())
            )
            await _record(session, product.id, actor, kind, None, None)
            changed(session, CATALOGUE)
        variants = await session.scalars(
            update(Product)
            .where(Product.parent_id == product.id, Product.active.is_not(active))
            .values(active=active, updated_at=utcnow())
            .returning(Product.id)
        )
        for variant_id in variants.all():
            await _record(session, variant_id, actor, kind, None, None)
            changed(session, CATALOGUE)
            moved = True
        if moved:  # a variant's words are its parent's while it is for sale
            await write_documents(session, [product.id])
    return VisibilityChange(product.id, product.sku, product.name, active, moved)


async def set_keywords(
    session: AsyncSession, sku: str, keywords: str, *, actor: str
) -> KeywordsChange:
    """The owner's words search finds the product by ("оверсайз, унисекс"; "" for none)."""
    keywords = " ".join(keywords.split())
    if len(keywords) > MAX_KEYWORDS:
        raise ValueError(f"keywords are at most {MAX_KEYWORDS} characters")
    async with unit_of_work(session):
        product = await lock_product(session, sku)
        old = product.keywords
        if old != keywords:
            await session.execute(
                update(Product)
                .where(Product.id == product.id)
                .values(keywords=keywords, updated_at=utcnow())
            )
            await _record(session, product.id, actor, "keywords", old, keywords)
            await write_documents(session, [product.id])
            changed(session, CATALOGUE)
    return KeywordsChange(product.id, product.sku, product.name, keywords, old != keywords)


async def product_history(
    session: AsyncSession, product_id: int, limit: int = 5
) -> list[HistoryEntry]:
    """The newest ``limit`` stock, price and visibility changes, newest first."""
    stock = await session.scalars(
        select(StockEvent)
        .where(StockEvent.product_id == product_id)
        .order_by(StockEvent.id.desc())
        .limit(limit)
    )
    other = await session.scalars(
        select(ProductEvent)
        .where(ProductEvent.product_id == product_id)
        .order_by(ProductEvent.id.desc())
        .limit(limit)
    )
    entries = [
        HistoryEntry(
            e.at,
            e.actor,
            e.reason,
            None if e.old_stock is None else str(e.old_stock),
            None if e.new_stock is None else str(e.new_stock),
        )
        for e in stock
    ]
    entries += [HistoryEntry(e.at, e.actor, e.kind, e.old_value, e.new_value) for e in other]
    entries.sort(key=lambda entry: entry.at, reverse=True)
    return entries[:limit]


async def low_stock(
    session: AsyncSession, threshold: int, page: int, page_size: int
) -> Page[Product]:
    """Products at or below ``threshold`` units, fewest first (hidden ones too), then in
    the shop's order; not products with variants (theirs are listed)."""
    condition = (Product.stock <= threshold) & ~has_variants()
    total = await session.scalar(select(func.count()).select_from(Product).where(condition)) or 0
    pages = max(1, -(-total // page_size))
    page = min(max(page, 0), pages - 1)
    items = await session.scalars(
        select(Product)
        .where(condition)
        .order_by(Product.stock, *SHOP_ORDER)
        .limit(page_size)
        .offset(page * page_size)
    )
    return Page(items=list(items), page=page, pages=pages, total=total)


async def all_orders(
    session: AsyncSession, status: OrderStatus | None, page: int, page_size: int
) -> Page[Order]:
    """Every shopper's orders, newest first, optionally of one status."""
    condition = Order.status == status if status is not None else true()
    total = await session.scalar(select(func.count()).select_from(Order).where(condition)) or 0
    pages = max(1, -(-total // page_size))
    page = min(max(page, 0), pages - 1)
    items = await session.scalars(
        select(Order)
        .where(condition)
        .order_by(Order.created_at.desc(), Order.id.desc())
        .limit(page_size)
        .offset(page * page_size)
    )
    return Page(items=list(items), page=page, pages=pages, total=total)


async def _record(
    session: AsyncSession,
    product_id: int,
    actor: str,
    kind: str,
    old: str | None,
    new: str | None,
) -> None:
    await session.execute(
        insert(ProductEvent).values(
            product_id=product_id, at=utcnow(), actor=actor, kind=kind, old_value=old, new_value=new
        )
    )
