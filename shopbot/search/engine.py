"""The shop's search: :class:`SearchEngine` keeps an :class:`~shopbot.search.index.Index` of
the active products in step with the database and answers queries from it.

Where the index lives: the database holds the analysed documents (``search_document``,
:mod:`shopbot.search.documents`), written by the unit of work that changes a product's texts
and rebuilt by ``shopbot reindex``; each process keeps the postings, the vocabulary and the
ranking in memory, and takes in only the rows that changed. Measured at 10,000 products
(``bench/search_bench.py``), this beats letting the database retrieve candidates
(FTS5 / ``tsvector`` + ``pg_trgm``):

* a query is a handful of dict lookups plus, for a word the catalogue does not know, one
  rapidfuzz scan of the vocabulary: p95 3–4 ms on either database on a quiet machine, no
  statement per query; a statement handing back the rows a common word matches costs more
  before any ranking is done (reading 10,000 narrow product rows took 11–40 ms here, and
  "футболка" matches a ninth of the generated catalogue);
* the ranking needs what full-text engines do not give back: which key matched in which
  field (name above description), derived words ("заварка" ~ "заварочный"), compounds
  ("термокружка"), typos only in names, readings in the other keyboard layout; doing that
  in SQL would be two dialects of the same ranking, and the labelled set's recall and MRR
  would have to be won twice. Measured (``bench/fts_bench.py``): asked for the keys of the
  words as typed, FTS5 and a GIN-indexed ``tsvector`` answer fast enough, but hold only
  about 45% of what this index finds (compounds, typos, the other layout are lost), so
  every step beyond exact keys would be a statement more per query;
* what made the in-memory index costly is gone: morphology runs once, where the texts
  change, not in every process at every start; and a change no longer re-reads the
  catalogue (121 ms after a stock change at 10,000 products): a refresh reads the stamps
  of the products changed (``updated_at``) or re-analysed (``indexed_at``) since the last
  one, minus ``CHANGE_LAG`` for units of work that stamped their rows before another
  committed, then the state of those whose stamp moved and the terms of those whose
  document changed, so a stock change costs a one-row read (~3 ms with the fingerprint).

The index catches up on the next search after a unit of work of this process declares a
change to the catalogue; changes from another process (``shopbot import``, another
replica) are noticed within ``max_age`` seconds through a fingerprint of the product and
document tables and of the owner's synonyms (cheap aggregate statements). A product
without a stored document (written behind shopbot's back) is analysed in memory.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import String, cast, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from shopbot.db import CommitHooks
from shopbot.models import Category, Product, SearchDocument, SearchSynonym
from shopbot.search import meaning
from shopbot.search.analysis import content_words
from shopbot.search.documents import TEXT_COLUMNS, decode, digest
from shopbot.search.index import Document, Found, Index, Texts, analyse
from shopbot.search.meaning import MeaningIndex, fuse
from shopbot.search.shop_synonyms import load_synonyms
from shopbot.services.catalogue import CATALOGUE, Page, ProductSummary, _page_count

logger = logging.getLogger(__name__)

CLOSE_MATCHES = 3
# How much earlier than the newest change seen a row may be stamped and still commit after
# it (a unit of work stamps its rows, then commits; an import of 10,000 rows takes ~2 s).
CHANGE_LAG = timedelta(minutes=1)
_NEVER = datetime(1970, 1, 1, tzinfo=UTC)
LOAD_CHUNK = 1000  # products per statement: the event loop runs other work between them


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
        meaning: MeaningIndex | None = None,
    ) -> None:
        self.index = Index()
        self.meaning = meaning
        self.max_age = max_age
        self.clock = clock
        self._hooks = hooks
        self._dirty = True
        self._checked_at = -math.inf
        self._fingerprint: _Fingerprint | None = None
        # Each product's updated_at and document digest as last taken in (hidden ones too).
        self._seen: dict[int, tuple[str, str | None]] = {}
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
        ids, close = found.ids, found.close
        if self.meaning is not None:
            ids = await self._with_meaning(session, query, found)
            close = close if not ids else []
        total = len(ids)
        pages = _page_count(total, page_size)
        page = min(max(page, 0), pages - 1)
        chosen = ids[page * page_size : (page + 1) * page_size]
        return SearchResult(
            Page(items=self._summaries(chosen), page=page, pages=pages, total=total),
            self._summaries(close),
        )

    async def _with_meaning(self, session: AsyncSession, query: str, found: Found) -> list[int]:
        """The word ranking fused with the meaning one; the word ranking alone when the
        meaning layer fails (an embeddings API down or slow). Where words found nothing,
        meaning alone answers only a phrase that names no goods of the shop: a single word
        no product has names a thing the shop does not sell ("самокат"), and a phrase with
        a product's name in it asks for goods the shop has, but not as asked ("красная
        футболка"); "тёплое на зиму" asks for a need."""
        assert self.meaning is not None
        if not found.ids and (found.named or len(content_words(query)) < meaning.MIN_WORDS_ALONE):
            return found.ids
        try:
            await self.meaning.refresh(session, self.clock())
            ranked = await self.meaning.rank(
                query, self.index.documents, beside_words=bool(found.ids)
            )
        except Exception as exc:
            logger.warning("search by meaning failed, words only: %r", exc)
            return found.ids
        return fuse(found.ids, [item.item_id for item in ranked])

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
            old = self._fingerprint
            if old is None or fingerprint.synonyms != old.synonyms:
                self.index.set_synonyms(await load_synonyms(session))
            if old is None or fingerprint.products < old.products:
                await self._load(session, None)  # the first time, or products were deleted
            elif forced or fingerprint.changes != old.changes:
                await self._load(session, max(old.changes[0], old.changes[1]) - CHANGE_LAG)
            self.index.prepare()
            self._fingerprint = fingerprint
            # A snapshot older than this call may predate a change: look again next time
            # (a change committed while this ran has set ``_dirty`` again by itself).
            self._checked_at = now if fresh_snapshot else -math.inf
            self._dirty = self._dirty or (forced and not fresh_snapshot)

    async def _load(self, session: AsyncSession, since: datetime | None) -> None:
        """Take in the products changed or re-analysed since ``since`` (None: all of them).

        First their stamps alone (a narrow read: right after an import, the window holds all
        its rows), then, for the ones whose stamp or document differs from what the index
        holds, their state, and their terms only where those changed. A variant is never
        in the index, but a change to it (stock, price) is one to its parent's state."""
        stale: dict[int, tuple[str, str | None]] = {}
        present: set[int] = set()
        parents: set[int] = set()  # of variants changed
        stamps = select(
            Product.id, Product.parent_id, cast(Product.updated_at, String), SearchDocument.source
        )
        if since is not None:  # the changes are those the stamps' indexes find
            stamps = stamps.where(Product.updated_at >= since)
        rows = await session.execute(stamps.outerjoin(SearchDocument))
        for product_id, parent_id, stamp, source in rows:
            present.add(product_id)
            if self._seen.get(product_id) == (stamp, source):
                continue
            if parent_id is None:
                stale[product_id] = (stamp, source)
            else:
                self._seen[product_id] = (stamp, source)
                self.index.remove(product_id)  # in case it was a product of its own before
                parents.add(parent_id)
        for parent_id in parents - stale.keys():
            stale[parent_id] = self._seen.get(parent_id, ("", None))
        if since is not None:  # documents rewritten without their product changing (reindex)
            rewritten = select(SearchDocument.product_id, SearchDocument.source).where(
                SearchDocument.indexed_at >= since
            )
            for product_id, source in await session.execute(rewritten):
                stamp, seen_source = self._seen.get(product_id, ("", None))
                if product_id not in stale and seen_source != source:
                    stale[product_id] = (stamp, source)
        if since is None:
            for gone in self._seen.keys() - present:
                self.index.remove(gone)
                del self._seen[gone]
        chosen = list(stale)
        for start in range(0, len(chosen), LOAD_CHUNK):
            await self._take_in(
                session, {pid: stale[pid] for pid in chosen[start : start + LOAD_CHUNK]}
            )

    async def _take_in(
        self, session: AsyncSession, stale: dict[int, tuple[str, str | None]]
    ) -> None:
        """Bring these products up to date: hidden ones out, the others' state in, terms
        decoded where the stored document changed; a product with no stored document yet
        (written behind shopbot's back) is analysed here, not written: a search only reads,
        ``shopbot reindex`` stores them."""
        index = self.index
        shown: dict[int, Document] = {}
        rows = await session.execute(
            select(*_STATE, Product.active, Product.parent_id, SearchDocument.source)
            .outerjoin(SearchDocument)
            .where(Product.id.in_(stale))
        )
        offered = await _variants_offered(session, list(stale))
        for *state, active, parent_id, source in rows:
            product_id = state[0]
            if active and parent_id is None:
                document = Document(*state, source=source or "")
                if product_id in offered:
                    price, stock = offered[product_id]
                    document = replace(document, price=price, stock=stock)
                shown[product_id] = document
            else:  # hidden, or a variant (found through its parent)
                index.remove(product_id)
        renewed = [
            pid
            for pid, document in shown.items()
            if document.source and document.source != _source(index, pid)
        ]
        terms: dict[int, str] = {}
        if renewed:
            found = await session.execute(
                select(SearchDocument.product_id, SearchDocument.terms).where(
                    SearchDocument.product_id.in_(renewed)
                )
            )
            terms = {pid: stored for pid, stored in found}
        unanalysed = [pid for pid, document in shown.items() if not document.source]
        if unanalysed:
            found = await session.execute(
                select(Product.id, *TEXT_COLUMNS)
                .outerjoin(Category, Category.id == Product.category_id)
                .where(Product.id.in_(unanalysed))
            )
            for pid, *fields in found:
                texts = Texts(*fields)
                source = digest(texts)
                fresh = source != _source(index, pid)
                index.put(replace(shown.pop(pid), source=source), analyse(texts) if fresh else None)
        for pid, document in shown.items():
            stored = terms.get(pid)
            index.put(document, None if stored is None else decode(stored))
        self._seen.update(stale)


async def _variants_offered(
    session: AsyncSession, product_ids: Iterable[int]
) -> dict[int, tuple[int, int]]:
    """For each of these products that has variants for sale, what a result shows: their
    lowest price and their stock summed (as ``listed_price()`` and ``sellable_stock()`` of
    ``shopbot.services.variants`` do for lists). One grouped statement: those two as
    correlated subqueries of every row cost PostgreSQL a JIT compilation per 1,000 rows
    while its statistics are fresh-table guesses (0.2 s each)."""
    rows = await session.execute(
        select(Product.parent_id, func.min(Product.price), func.sum(Product.stock))
        .where(Product.parent_id.in_(product_ids), Product.active.is_(True))
        .group_by(Product.parent_id)
    )
    return {parent_id: (int(price), int(stock)) for parent_id, price, stock in rows}


def _source(index: Index, product_id: int) -> str | None:
    known = index.documents.get(product_id)
    return None if known is None else known.source


_STATE = (
    Product.id,
    Product.sku,
    Product.name,
    Product.price,  # a product with variants: see _variants_offered
    Product.stock,
    Product.position,
    Product.name_key,
    Product.sale_price,
    Product.sale_until,
)


@dataclass(frozen=True)
class _Fingerprint:
    products: int  # how many rows product has
    changes: tuple[datetime, datetime]  # the newest updated_at and indexed_at
    synonyms: tuple[Any, ...]


async def _fingerprint(session: AsyncSession) -> _Fingerprint:
    products = (await session.execute(select(func.count(), func.max(Product.updated_at)))).one()
    indexed = await session.scalar(select(func.max(SearchDocument.indexed_at)))
    synonyms = (await session.execute(select(func.count(), func.max(SearchSynonym.id)))).one()
    return _Fingerprint(products[0], (products[1] or _NEVER, indexed or _NEVER), tuple(synonyms))
