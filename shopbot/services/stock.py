"""Stock changes by SKU from people (admins, imports), each recorded with who did it."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import case, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from shopbot.db import changed, unit_of_work
from shopbot.errors import ProductNotFound, StockWouldGoNegative
from shopbot.models import Product, StockEvent, sku_key, utcnow
from shopbot.services.catalogue import CATALOGUE
from shopbot.services.variants import HasVariants, has_variants


@dataclass(frozen=True)
class StockChange:
    product_id: int
    sku: str
    name: str
    old: int
    new: int


async def set_stock(
    session: AsyncSession,
    sku: str,
    value: int,
    *,
    actor: str,
    low_stock_threshold: int | None = None,
) -> StockChange:
    """Set the sellable stock of a product to ``value`` (>= 0).

    With ``low_stock_threshold``, stock above it re-arms the product's low-stock alert.
    A product with variants raises HasVariants: their stock is set, one by one.
    """
    if value < 0:
        raise ValueError("stock cannot be negative")
    async with unit_of_work(session):
        product = await lock_product(session, sku)
        if await session.scalar(select(has_variants()).where(Product.id == product.id)):
            raise HasVariants(product.sku)
        old = product.stock
        values: dict[str, object] = {"stock": value}
        if low_stock_threshold is not None and value > low_stock_threshold:
            values["low_stock_alerted"] = False
        await session.execute(update(Product).where(Product.id == product.id).values(**values))
        await _record(session, product.id, actor, "set", old, value)
        changed(session, CATALOGUE)
    return StockChange(product.id, product.sku, product.name, old, value)


async def adjust_stock(
    session: AsyncSession,
    sku: str,
    delta: int,
    *,
    actor: str,
    low_stock_threshold: int | None = None,
) -> StockChange:
    """Add or remove units in one conditional update; refuses to go below zero, and for a
    product with variants (HasVariants).

    With ``low_stock_threshold``, stock above it re-arms the product's low-stock alert.
    """
    values: dict[str, object] = {"stock": Product.stock + delta}
    if low_stock_threshold is not None:
        values["low_stock_alerted"] = case(
            (Product.stock + delta > low_stock_threshold, False),
            else_=Product.low_stock_alerted,
        )
    async with unit_of_work(session):
        new = await session.scalar(
            update(Product)
            .where(Product.sku_key == sku_key(sku), Product.stock + delta >= 0, ~has_variants())
            .values(**values)
            .returning(Product.stock)
        )
        product = await session.scalar(
            select(Product)
            .where(Product.sku_key == sku_key(sku))
            .execution_options(populate_existing=True)
        )
        if product is None:
            raise ProductNotFound(sku)
        if new is None and await session.scalar(
            select(has_variants()).where(Product.id == product.id)
        ):
            raise HasVariants(product.sku)
        if new is None:
            raise StockWouldGoNegative(sku, product.stock, delta)
        await _record(session, product.id, actor, "adjust", new - delta, new)
        changed(session, CATALOGUE)
    return StockChange(product.id, product.sku, product.name, new - delta, new)


async def stock_history(
    session: AsyncSession, product_id: int, limit: int = 10
) -> list[StockEvent]:
    return list(
        await session.scalars(
            select(StockEvent)
            .where(StockEvent.product_id == product_id)
            .order_by(StockEvent.id.desc())
            .limit(limit)
        )
    )


async def lock_product(session: AsyncSession, sku: str) -> Product:
    """The product by SKU, fresh from the database and locked for this write (PostgreSQL)."""
    product = await session.scalar(
        select(Product)
        .where(Product.sku_key == sku_key(sku))
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if product is None:
        raise ProductNotFound(sku)
    return product


async def _record(
    session: AsyncSession, product_id: int, actor: str, reason: str, old: int, new: int
) -> None:
    await session.execute(
        insert(StockEvent).values(
            product_id=product_id,
            at=utcnow(),
            actor=actor,
            reason=reason,
            old_stock=old,
            new_stock=new,
            delta=new - old,
        )
    )


@dataclass(frozen=True)
class LowStock:
    id: int
    sku: str
    name: str
    stock: int


async def claim_low_stock(
    session: AsyncSession, product_ids: list[int], threshold: int
) -> list[LowStock]:
    """The products among these that are at or below ``threshold`` and not yet alerted,
    marked alerted: a conditional update, so two sales racing to the threshold claim the
    alert once. A product back above the threshold (a cancelled order returned its stock)
    is re-armed, since stock comes back by more paths than this service. Neither changes
    what shoppers see, so the catalogue cache is kept."""
    if not product_ids:
        return []
    async with unit_of_work(session):
        await session.execute(
            update(Product)
            .where(
                Product.id.in_(product_ids),
                Product.stock > threshold,
                Product.low_stock_alerted.is_(True),
            )
            .values(low_stock_alerted=False)
        )
        claimed = (
            await session.execute(
                update(Product)
                .where(
                    Product.id.in_(product_ids),
                    Product.stock <= threshold,
                    Product.low_stock_alerted.is_(False),
                )
                .values(low_stock_alerted=True)
                .returning(Product.id, Product.sku, Product.name, Product.stock)
            )
        ).all()
    return sorted((LowStock(*row) for row in claimed), key=lambda product: product.sku)
