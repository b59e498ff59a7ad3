"""The products as search sees them, stored: each product's terms (its texts analysed into
index keys with field weights, :func:`shopbot.search.index.analyse`) in ``search_document``.

Morphology is the slow part of indexing (pymorphy3, ~0.1 ms a word), so it runs where a
product's texts change, inside the unit of work that changes them (the import, /keywords),
and never again in the processes that search: they load the stored terms. A document
carries a digest of the texts it was made from, so :func:`write_documents` analyses only
products whose texts changed since. ``shopbot reindex`` rewrites every document (after an
upgrade that changes the analysis, or texts changed behind shopbot's back).

Variants have no document of their own: search shows the product they belong to, whose
texts hold their SKUs and options (:func:`~shopbot.services.variants.variant_words`), so a
change to a variant rewrites its parent's document.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Sequence

from sqlalchemy import Insert, Table, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import ColumnElement

from shopbot.db import changed, executemany, for_driver, unit_of_work, upsert
from shopbot.models import Category, Product, SearchDocument, utcnow
from shopbot.search.index import Groups, Terms, Texts, analyse_groups
from shopbot.services.catalogue import CATALOGUE
from shopbot.services.variants import listed, variant_words

DOCUMENT: Table = SearchDocument.__table__  # type: ignore[assignment]
WRITE_CHUNK = 1000  # documents analysed and written at a time

TEXT_COLUMNS = (
    Product.sku,
    Product.name,
    Product.description,
    func.coalesce(Category.path, ""),
    Product.keywords + " " + variant_words(),
)
_CHOSEN = aliased(Product, name="chosen")


def digest(texts: Texts) -> str:
    """A short fingerprint of the texts a document is made from."""
    joined = "\x1f".join((texts.sku, texts.name, texts.description, texts.category, texts.keywords))
    return hashlib.blake2b(joined.encode(), digest_size=16).hexdigest()


def encode(groups: Groups) -> str:
    """Stored terms: a line per weight, the weight then its keys, all split by spaces (keys
    never hold one, see :func:`~shopbot.search.index.analyse_groups`)."""
    return "\n".join(f"{weight:g} {' '.join(group)}" for weight, group in groups)


def decode(stored: str) -> Terms:
    terms: Terms = {}
    for line in stored.splitlines():
        weight, *group = line.split(" ")
        terms.update(dict.fromkeys(group, float(weight)))
    return terms


async def write_documents(
    session: AsyncSession,
    product_ids: Sequence[int] | None = None,
    *,
    rewrite: bool = False,
) -> int:
    """Bring the stored documents of ``product_ids`` (None: every product; a variant's id
    stands for its parent) in step with the products' texts, in the unit of work open on
    ``session``; how many were written. Unchanged texts are skipped unless ``rewrite``
    (``shopbot reindex``)."""
    chosen: list[ColumnElement[bool]] = [listed()]
    if product_ids is not None:
        if not product_ids:
            return 0
        owners = select(func.coalesce(_CHOSEN.parent_id, _CHOSEN.id)).where(
            _CHOSEN.id.in_(product_ids)
        )
        chosen.append(Product.id.in_(owners))
    rows = await session.execute(
        select(Product.id, *TEXT_COLUMNS, SearchDocument.source)
        .outerjoin(Category, Category.id == Product.category_id)
        .outerjoin(SearchDocument, SearchDocument.product_id == Product.id)
        .where(*chosen)
    )
    changed: list[tuple[int, str, Texts]] = []
    for product_id, sku, name, description, category, keywords, stored in rows:
        texts = Texts(sku, name, description, category, keywords)
        source = digest(texts)
        if rewrite or source != stored:
            changed.append((product_id, source, texts))
    connection = await session.connection()
    now = for_driver(connection, DOCUMENT.c.indexed_at, utcnow())
    for start in range(0, len(changed), WRITE_CHUNK):
        chunk = changed[start : start + WRITE_CHUNK]
        # Morphology in a thread: an import from the chat leaves the bot's loop running. Not
        # while the chunk before is written: a thread holding the GIL makes each row of an
        # executemany wait for it (SQLite's driver lets go of it at every row): analysed one
        # chunk ahead, 10,000 documents took 3x as long to write.
        terms = await asyncio.to_thread(_encoded, chunk)
        written = [
            (product_id, source, encoded, now)
            for (product_id, source, _), encoded in zip(chunk, terms, strict=True)
        ]
        await executemany(connection, _upsert(session), _COLUMNS, written)
    return len(changed)


def _encoded(chunk: list[tuple[int, str, Texts]]) -> list[str]:
    return [encode(analyse_groups(texts)) for _, _, texts in chunk]


_COLUMNS = ("product_id", "source", "terms", "indexed_at")


def _upsert(session: AsyncSession) -> Insert:
    """Insert or replace documents (sent as one executemany straight to the driver: a
    document is four values, and SQLAlchemy's processing of them cost more than writing)."""
    statement = upsert(session, DOCUMENT)
    return statement.on_conflict_do_update(
        index_elements=["product_id"],
        set_={column: statement.excluded[column] for column in _COLUMNS[1:]},
    )


async def reindex(session: AsyncSession) -> int:
    """Rewrite every product's document in one unit of work (``shopbot reindex``); how many
    were written. Running bots take them in within ``CATALOGUE_CACHE_SECONDS``."""
    async with unit_of_work(session):
        written = await write_documents(session, rewrite=True)
        changed(session, CATALOGUE)
    return written
