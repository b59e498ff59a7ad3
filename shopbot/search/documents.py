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

from sqlalchemy import Table, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import ColumnElement

from shopbot.db import changed, unit_of_work, upsert
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
    return "\n".join(f"{weight:g} {' '.join(sorted(group))}" for weight, group in groups)


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
    now = utcnow()
    for start in range(0, len(changed), WRITE_CHUNK):
        chunk = changed[start : start + WRITE_CHUNK]
        # Morphology in a thread: an import from the chat leaves the bot's loop running.
        terms = await asyncio.to_thread(_encoded, [texts for _, _, texts in chunk])
        await _upsert(
            session,
            [
                {"product_id": product_id, "source": source, "terms": encoded, "indexed_at": now}
                for (product_id, source, _), encoded in zip(chunk, terms, strict=True)
            ],
        )
    return len(changed)


def _encoded(texts: list[Texts]) -> list[str]:
    return [encode(analyse_groups(one)) for one in texts]


async def _upsert(session: AsyncSession, documents: list[dict[str, object]]) -> None:
    """Insert or replace documents, as one executemany (a multi-row VALUES of thousands of
    rows costs more to compile than to run)."""
    statement = upsert(session, DOCUMENT)
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=["product_id"],
            set_={
                "source": statement.excluded.source,
                "terms": statement.excluded.terms,
                "indexed_at": statement.excluded.indexed_at,
            },
        ),
        documents,
    )


async def reindex(session: AsyncSession) -> int:
    """Rewrite every product's document in one unit of work (``shopbot reindex``); how many
    were written. Running bots take them in within ``CATALOGUE_CACHE_SECONDS``."""
    async with unit_of_work(session):
        written = await write_documents(session, rewrite=True)
        changed(session, CATALOGUE)
    return written
