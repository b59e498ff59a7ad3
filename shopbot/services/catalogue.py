"""Browsing the shop: the category tree, pages of products, product detail, and
:class:`CatalogueCache`, which keeps what shoppers browse in memory (text search is
:mod:`shopbot.search`)."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from sqlalchemy import ColumnElement, Row, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload

from shopbot.cache import TableCache
from shopbot.db import CommitHooks, changed, unit_of_work
from shopbot.models import Category, Product, ProductImage, sku_key
from shopbot.services.text import natural_key
from shopbot.services.variants import (
    VariantInfo,
    has_variants,
    listed,
    listed_price,
    load_variants,
    sellable_stock,
)

T = TypeVar("T")

CATALOGUE = "catalogue"  # the topic of change of categories, products and their images

# The shop's order of products: the owner's positions first (the CSV's ``position``), then
# by name in natural order (№2 before №10). Shoppers' lists put what is in stock first.
SHOP_ORDER = (Product.position.asc().nulls_last(), Product.name_key, Product.id)


@dataclass(frozen=True)
class Page(Generic[T]):
    items: Sequence[T]
    page: int
    pages: int
    total: int

    @property
    def has_prev(self) -> bool:
        return self.page > 0

    @property
    def has_next(self) -> bool:
        return self.page + 1 < self.pages


@dataclass(frozen=True)
class CategoryEntry:
    id: int
    name: str
    product_count: int  # active products in this category and below


@dataclass(frozen=True)
class ProductSummary:
    """One line of a product list: enough to render it, nothing more."""

    id: int
    sku: str
    name: str
    price: int
    stock: int
    # A sale (see shopbot.services.pricing): priced when shown, so a cached list is right.
    sale_price: int | None = None
    sale_until: datetime | None = None


@dataclass(frozen=True)
class CategoryInfo:
    id: int
    name: str
    parent_id: int | None


@dataclass(frozen=True)
class CategoryView:
    category: CategoryInfo | None
    children: list[CategoryEntry]
    products: Page[ProductSummary]


def _page_count(total: int, page_size: int) -> int:
    return max(1, -(-total // page_size))


async def browse(
    session: AsyncSession, category_id: int | None, page: int, page_size: int
) -> CategoryView:
    """A category's sub-categories (by position, then name in natural order) and one page
    of its active products (the root if None), in the shop's order.

    Two statements: the categories (with product counts) and the page's rows with the total.
    """
    counts = (
        select(Product.category_id, func.count().label("n"))
        .where(Product.active.is_(True), listed())
        .group_by(Product.category_id)
        .subquery()
    )
    rows = (
        await session.execute(
            select(
                Category.id,
                Category.name,
                Category.parent_id,
                Category.path,
                Category.position,
                func.coalesce(counts.c.n, 0).label("n"),
            ).outerjoin(counts, counts.c.category_id == Category.id)
        )
    ).all()
    tree = sorted(rows, key=lambda row: (row.position, natural_key(row.name), row.id))
    current = next((row for row in tree if row.id == category_id), None)
    if category_id is not None and current is None:
        raise LookupError(category_id)
    children = [
        CategoryEntry(row.id, row.name, _count_below(tree, row.path))
        for row in tree
        if row.parent_id == category_id
    ]
    in_category = (
        Product.category_id == category_id
        if category_id is not None
        else Product.category_id.is_(None)
    )
    return CategoryView(
        category=CategoryInfo(current.id, current.name, current.parent_id) if current else None,
        children=[child for child in children if child.product_count > 0],
        products=await _product_page(session, in_category, page, page_size),
    )


def _count_below(tree: Sequence[Row[Any]], path: str) -> int:
    prefix = path + " / "
    return sum(row.n for row in tree if row.path == path or row.path.startswith(prefix))


async def _product_page(
    session: AsyncSession, condition: ColumnElement[bool] | None, page: int, page_size: int
) -> Page[ProductSummary]:
    if condition is None:
        return Page(items=[], page=0, pages=1, total=0)
    where = [Product.active.is_(True), listed(), condition]
    page = max(page, 0)
    items, total = await _page_rows(session, where, page, page_size)
    if not items and page > 0:
        # Past the end (the list shrank since the button was made): show the last page.
        total = await session.scalar(select(func.count()).select_from(Product).where(*where)) or 0
        page = _page_count(total, page_size) - 1
        if total:
            items, total = await _page_rows(session, where, page, page_size)
    return Page(items=items, page=page, pages=_page_count(total, page_size), total=total)


async def _page_rows(
    session: AsyncSession, where: list[ColumnElement[bool]], page: int, page_size: int
) -> tuple[list[ProductSummary], int]:
    """One page of products and the count of all matching ones, in one statement."""
    stock = sellable_stock().label("stock")
    rows = (
        await session.execute(
            select(
                Product.id,
                Product.sku,
                Product.name,
                listed_price().label("price"),
                stock,
                Product.sale_price,
                Product.sale_until,
                func.count().over().label("total"),
            )
            .where(*where)
            .order_by(stock <= 0, *SHOP_ORDER)
            .limit(page_size)
            .offset(page * page_size)
        )
    ).all()
    items = [
        ProductSummary(
            row.id, row.sku, row.name, row.price, row.stock, row.sale_price, row.sale_until
        )
        for row in rows
    ]
    return items, rows[0].total if rows else 0


@dataclass(frozen=True)
class ImageRef:
    id: int
    path: str  # relative to the media folder
    telegram_file_id: str | None


@dataclass(frozen=True)
class ProductDetail:
    """What a product card shows, detached from any session."""

    id: int
    sku: str
    name: str
    description: str
    price: int
    stock: int
    active: bool
    category_id: int | None
    images: tuple[ImageRef, ...]  # in the catalogue's order; the first is the card's
    sale_price: int | None = None
    sale_until: datetime | None = None
    # A variant's parent and options; a parent's variants (its stock is then theirs for
    # sale). See shopbot.services.variants.
    parent_id: int | None = None
    option1: str | None = None
    option2: str | None = None
    variants: tuple[VariantInfo, ...] = ()

    @classmethod
    def of(cls, product: Product) -> ProductDetail:
        return cls(
            product.id,
            product.sku,
            product.name,
            product.description,
            product.price,
            product.stock,
            product.active,
            product.category_id,
            tuple(ImageRef(i.id, i.path, i.telegram_file_id) for i in product.images),
            sale_price=product.sale_price,
            sale_until=product.sale_until,
            parent_id=product.parent_id,
            option1=product.option1,
            option2=product.option2,
        )


async def product_detail(session: AsyncSession, product_id: int) -> ProductDetail | None:
    """What the card shows, in one statement of plain columns (no ORM objects to go stale):
    the product's row once per picture (or once, without one); a product with variants
    takes a second one for them. Pure data: the Mini App's product with its variants and
    their availability too."""
    rows = (
        await session.execute(
            select(
                Product.id,
                Product.sku,
                Product.name,
                Product.description,
                Product.price,
                Product.stock,
                Product.active,
                Product.category_id,
                Product.sale_price,
                Product.sale_until,
                Product.parent_id,
                Product.option1,
                Product.option2,
                has_variants().label("has_variants"),
                ProductImage.id.label("image_id"),
                ProductImage.path,
                ProductImage.telegram_file_id,
            )
            .outerjoin(ProductImage, ProductImage.product_id == Product.id)
            .where(Product.id == product_id)
            .order_by(ProductImage.position)
        )
    ).all()
    if not rows:
        return None
    images = tuple(
        ImageRef(row.image_id, row.path, row.telegram_file_id)
        for row in rows
        if row.image_id is not None
    )
    first = rows[0]
    detail = ProductDetail(
        *first[:8],
        images=images,
        sale_price=first.sale_price,
        sale_until=first.sale_until,
        parent_id=first.parent_id,
        option1=first.option1,
        option2=first.option2,
    )
    if first.has_variants and (variants := await load_variants(session, first.id)):
        for_sale = sum(variant.stock for variant in variants if variant.active)
        detail = dataclasses.replace(detail, stock=for_sale, variants=variants)
    return detail


async def get_product(session: AsyncSession, product_id: int) -> Product | None:
    """A product with its images, active or not (callers decide what a hidden one means)."""
    return await _one_product(session, Product.id == product_id)


async def get_product_by_sku(session: AsyncSession, sku: str) -> Product | None:
    return await _one_product(session, Product.sku_key == sku_key(sku))


async def _one_product(session: AsyncSession, condition: ColumnElement[bool]) -> Product | None:
    """The product with its images, in one statement (a join, not a second query)."""
    result = await session.execute(
        select(Product).where(condition).options(joinedload(Product.images))
    )
    return result.unique().scalar_one_or_none()


@dataclass(frozen=True)
class Cover:
    """A product's first photo as a list outside the chat shows it: Telegram's file_id
    once the photo was sent, and the URL it was imported from, if any."""

    telegram_file_id: str | None
    url: str | None


async def covers(session: AsyncSession, product_ids: Sequence[int]) -> dict[int, Cover]:
    """The first photo of each of these products that has one, in one statement."""
    rows = await session.execute(
        select(ProductImage.product_id, ProductImage.telegram_file_id, ProductImage.source)
        .where(ProductImage.product_id.in_(product_ids))
        .order_by(ProductImage.product_id, ProductImage.position)
    )
    found: dict[int, Cover] = {}
    for product_id, file_id, source in rows:
        url = source if source.startswith(("http://", "https://")) else None
        found.setdefault(product_id, Cover(file_id, url))
    return found


async def remember_file_id(session: AsyncSession, image_id: int, file_id: str) -> None:
    """Store Telegram's file_id for an uploaded image so it is never uploaded again."""
    async with unit_of_work(session):
        await session.execute(
            update(ProductImage).where(ProductImage.id == image_id).values(telegram_file_id=file_id)
        )
        changed(session, CATALOGUE)


class CatalogueCache:
    """Category pages and product cards kept in memory, because shoppers mostly browse.

    Any change a unit of work of this process declares to the catalogue (a price, stock
    taken by an order, an import from the admin chat) shows on the next screen; writes from
    another process (``shopbot import`` on the command line) once entries reach ``max_age``
    seconds.
    """

    def __init__(
        self,
        hooks: CommitHooks,
        *,
        max_age: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._cache: TableCache[Any] = TableCache(hooks, CATALOGUE, max_age=max_age, clock=clock)

    def clear(self) -> None:
        self._cache.clear()

    async def browse(
        self, session: AsyncSession, category_id: int | None, page: int, page_size: int
    ) -> CategoryView:
        """:func:`browse`, cached; raises LookupError for a category that does not exist."""
        return await self._cache.get(  # type: ignore[no-any-return]
            session,
            ("browse", category_id, page, page_size),
            lambda: browse(session, category_id, page, page_size),
        )

    async def product(self, session: AsyncSession, product_id: int) -> ProductDetail | None:
        """:func:`product_detail`, cached."""
        return await self._cache.get(  # type: ignore[no-any-return]
            session, ("product", product_id), lambda: product_detail(session, product_id)
        )
