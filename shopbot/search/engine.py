"""The shop's search: :class:`SearchEngine` keeps an :class:`~shopbot.search.index.Index` of
the active products in step with the database and answers queries from it.

Why in memory, per process, rather than an index table: a query must cost well under 20 ms
at 10,000 products. The index is a dict of keys to postings (for 10,000 products some
tens of thousands of keys, a few tens of MB), so a query is a handful of dict lookups plus,
for a word the catalogue does not know, one rapidfuzz scan of the vocabulary (about a
millisecond); no statement runs per query. Morphology is the slow part (pymorphy3 takes
~0.1 ms a word), and it runs only for texts that changed: a rebuild after a stock change or
a new price re-reads the rows (one statement) and re-analyses nothing, because each
product's analysis is kept while its SKU, name, description and category are the same, and
words are analysed once per process.

The index is rebuilt on the next search after a unit of work of this process declares a
change to the catalogue; changes from another process (``shopbot import``) are noticed
within ``max_age`` seconds through a fingerprint of the product table (count, last change,
last id), of the categories and of the owner's synonyms, cheap statements.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from shopbot.db import CommitHooks
from shopbot.models import Category, Product, SearchSynonym
from shopbot.search.index import Document, Index
from shopbot.search.shop_synonyms import load_synonyms
from shopbot.services.catalogue import CATALOGUE, Page, ProductSummary, _page_count
from shopbot.services.variants import listed, listed_price, sellable_stock, variant_words

CLOSE_MATCHES = 3


@dataclass(frozen=True)
class SearchResult:
    """One page of the products found, and when none is, a few that match part of it."""

    page: Page[ProductSummary]
    close: list[ProductSummary]


class SearchEngine:
    def __init__(
        self,
        hooks: CommitHooks,
        *,
        max_age: float = math.inf,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.index = Index()
        self.max_age = max_age
        self.clock = clock
        self._hooks = hooks
        self._dirty = True
        self._checked_at = -math.inf
        self._fingerprint: tuple[Any, ...] | None = None
        self._lock = asyncio.Lock()
        hooks.on_commit(CATALOGUE, self._changed)

    def _changed(self) -> None:
        self._dirty = True

    async def search(
        self, session: AsyncSession, query: str, page: int, page_size: int
    ) -> SearchResult:
        """The page ``page`` of the active products matching ``query``, best first."""
        await self.refresh(session)
        found = self.index.search(query, CLOSE_MATCHES)
        total = len(found.ids)
        pages = _page_count(total, page_size)
        page = min(max(page, 0), pages - 1)
        chosen = found.ids[page * page_size : (page + 1) * page_size]
        return SearchResult(
            Page(items=self._summaries(chosen), page=page, pages=pages, total=total),
            self._summaries(found.close),
        )

    def _summaries(self, ids: list[int]) -> list[ProductSummary]:
        documents = self.index.documents
        return [
            ProductSummary(d.id, d.sku, d.name, d.price, d.stock, d.sale_price, d.sale_until)
            for d in (documents[product_id] for product_id in ids)
        ]

    async def refresh(self, session: AsyncSession) -> None:
        """Bring the index in step with the database if it may be behind."""
        now = self.clock()
        if not self._dirty and now - self._checked_at < self.max_age:
            return
        async with self._lock:
            if not self._dirty and self.clock() - self._checked_at < self.max_age:
                return
            forced, self._dirty = self._dirty, False
            fresh_snapshot = not session.in_transaction()
            fingerprint = await _fingerprint(session)
            if forced or fingerprint != self._fingerprint:
                self.index.set_synonyms(await load_synonyms(session))
                self.index.update(await load_documents(session))
            self._fingerprint = fingerprint
            # A snapshot older than this call may predate a change: look again next time
            # (a change committed while this ran has set ``_dirty`` again by itself).
            self._checked_at = now if fresh_snapshot else -math.inf
            self._dirty = self._dirty or (forced and not fresh_snapshot)


async def _fingerprint(session: AsyncSession) -> tuple[Any, ...]:
    products = select(func.count(), func.max(Product.updated_at), func.max(Product.id)).select_from(
        Product
    )
    categories = select(func.count(), func.max(Category.id)).select_from(Category)
    synonyms = select(func.count(), func.max(SearchSynonym.id)).select_from(SearchSynonym)
    row = (await session.execute(products)).one()
    other = (await session.execute(categories)).one()
    words = (await session.execute(synonyms)).one()
    return (*row, *other, *words)


async def load_documents(session: AsyncSession) -> list[Document]:
    """Every active product as the index sees it, in one statement: a product with variants
    once, with their stock (a variant is found through its parent)."""
    rows = await session.execute(
        select(
            Product.id,
            Product.sku,
            Product.name,
            Product.description,
            func.coalesce(Category.path, ""),
            listed_price(),
            sellable_stock(),
            Product.position,
            Product.name_key,
            Product.keywords + " " + variant_words(),
            Product.sale_price,
            Product.sale_until,
        )
        .outerjoin(Category, Category.id == Product.category_id)
        .where(Product.active.is_(True), listed())
    )
    return [Document(*row) for row in rows]
