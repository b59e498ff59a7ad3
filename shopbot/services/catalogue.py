"""Browsing the shop: the category tree, pages of products, product detail, text search."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from sqlalchemy import ColumnElement, and_, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload

from shopbot.db import write_transaction
from shopbot.models import Category, Product, ProductImage
from shopbot.services.text import fold

T = TypeVar("T")


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


@dataclass(frozen=True)
class CategoryView:
    category: Category | None
    children: list[CategoryEntry]
    products: Page[ProductSummary]


def _page_count(total: int, page_size: int) -> int:
    return max(1, -(-total // page_size))


async def browse(
    session: AsyncSession, category_id: int | None, page: int, page_size: int
) -> CategoryView:
    """A category's sub-categories and one page of its active products (the root if None).

    Two statements: the categories (with product counts) and the page's rows with the total.
    """
    counts = (
        select(Product.category_id, func.count().label("n"))
        .where(Product.active.is_(True))
        .group_by(Product.category_id)
        .subquery()
    )
    rows = (
        await session.execute(
            select(Category, counts.c.n)
            .outerjoin(counts, counts.c.category_id == Category.id)
            .order_by(Category.position, Category.name)
        )
    ).all()
    tree = [(category, n or 0) for category, n in rows]
    current = next((category for category, _ in tree if category.id == category_id), None)
    if category_id is not None and current is None:
        raise LookupError(category_id)
    children = [
        CategoryEntry(category.id, category.name, _count_below(tree, category.path))
        for category, _ in tree
        if category.parent_id == category_id
    ]
    in_category = (
        Product.category_id == category_id
        if category_id is not None
        else Product.category_id.is_(None)
    )
    return CategoryView(
        category=current,
        children=[child for child in children if child.product_count > 0],
        products=await _product_page(session, in_category, page, page_size),
    )


def _count_below(tree: Sequence[tuple[Category, int]], path: str) -> int:
    prefix = path + " / "
    return sum(
        n for category, n in tree if category.path == path or category.path.startswith(prefix)
    )


async def _product_page(
    session: AsyncSession, condition: ColumnElement[bool] | None, page: int, page_size: int
) -> Page[ProductSummary]:
    if condition is None:
        return Page(items=[], page=0, pages=1, total=0)
    where = [Product.active.is_(True), condition]
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
    rows = (
        await session.execute(
            select(
                Product.id,
                Product.sku,
                Product.name,
                Product.price,
                Product.stock,
                func.count().over().label("total"),
            )
            .where(*where)
            .order_by(Product.name, Product.id)
            .limit(page_size)
            .offset(page * page_size)
        )
    ).all()
    items = [ProductSummary(row.id, row.sku, row.name, row.price, row.stock) for row in rows]
    return items, rows[0].total if rows else 0


async def get_product(session: AsyncSession, product_id: int) -> Product | None:
    """A product with its images, active or not (callers decide what a hidden one means)."""
    return await _one_product(session, Product.id == product_id)


async def get_product_by_sku(session: AsyncSession, sku: str) -> Product | None:
    return await _one_product(session, Product.sku == sku)


async def _one_product(session: AsyncSession, condition: ColumnElement[bool]) -> Product | None:
    """The product with its images, in one statement (a join, not a second query)."""
    result = await session.execute(
        select(Product).where(condition).options(joinedload(Product.images))
    )
    return result.unique().scalar_one_or_none()


async def search(
    session: AsyncSession, query: str, page: int, page_size: int
) -> Page[ProductSummary]:
    """Active products whose SKU, name or description contain every word of the query."""
    words = [word for word in fold(query).split() if word]
    if not words:
        return Page(items=[], page=0, pages=1, total=0)
    conditions = [
        Product.search_text.like(f"%{_escape_like(word)}%", escape="\\") for word in words
    ]
    return await _product_page(session, and_(*conditions), page, page_size)


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


async def remember_file_id(session: AsyncSession, image_id: int, file_id: str) -> None:
    """Store Telegram's file_id for an uploaded image so it is never uploaded again."""
    async with write_transaction(session):
        await session.execute(
            update(ProductImage).where(ProductImage.id == image_id).values(telegram_file_id=file_id)
        )
