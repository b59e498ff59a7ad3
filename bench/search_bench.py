"""Search quality and speed: the engine (``shopbot.search``) next to the substring search it
replaced (every word of the query somewhere in ``product.search_text``, through LIKE),
measured in the same run on the same database.

* quality: the labelled query set (``tests/data/search/queries.csv``) over the sample
  catalogue: recall@5, precision@5, MRR, and the share of queries for goods the shop does
  not sell answered with nothing; with search by meaning (the local model of
  ``shopbot[semantic]``, when installed) also on the queries of meaning
  (``tests/data/search/meaning.csv``);
* speed: the same queries over a generated catalogue of ``--rows`` products (the import
  bench's generator): latency per query, p50 and p95, and what the engine's index costs:
  to build from texts alone (a database not yet reindexed), to load from the stored
  documents (a process starting), to bring in step after a stock change and after a
  product's keywords changed, to check for another process's changes; and how long
  ``shopbot reindex`` takes; with the local model, how long the background pass takes to
  compute every product's vector and the latency of words + meaning (each query embedded:
  no query's vector is cached).

    .venv/bin/python bench/search_bench.py [--rows N] [--database-url URL] [--queries N]

``--database-url`` (e.g. a PostgreSQL database) is emptied first: give a scratch one.
Without it, temporary SQLite files are used.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import and_, bindparam, delete, func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from import_bench import write_csv  # noqa: E402  (bench/ is the script's folder)

from shopbot.db import CommitHooks, commit_hooks, create_engine, create_session_factory, migrate  # noqa: E402
from shopbot.importer import ImportOptions, import_file  # noqa: E402
from shopbot.models import Product, SearchDocument  # noqa: E402
from shopbot.search import SearchEngine  # noqa: E402
from shopbot.search.documents import reindex  # noqa: E402
from shopbot.search.meaning import (  # noqa: E402
    Embedder,
    LocalEmbedder,
    MeaningIndex,
    MeaningUnavailable,
    compute_vectors,
)
from shopbot.services.admin import set_keywords  # noqa: E402
from shopbot.services.catalogue import CATALOGUE  # noqa: E402
from shopbot.services.text import fold  # noqa: E402
from tests.search.labelled import MEANING_QUERIES, evaluate, load  # noqa: E402

SAMPLE = ROOT / "catalog" / "products.csv"
PAGE = 8


async def like_search(session: AsyncSession, query: str) -> list[str]:
    """The old search: active products containing every word, by name, one page."""
    words = fold(query).split()
    if not words:
        return []
    escaped = [w.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") for w in words]
    rows = await session.execute(
        select(Product.sku, func.count().over())
        .where(
            Product.active.is_(True),
            and_(*(Product.search_text.like(f"%{w}%", escape="\\") for w in escaped)),
        )
        .order_by(Product.name, Product.id)
        .limit(PAGE)
    )
    return [row[0] for row in rows]


async def fresh_database(url: str) -> async_sessionmaker[AsyncSession]:
    engine = create_engine(url)
    if url.startswith("postgresql"):
        async with engine.begin() as connection:
            await connection.execute(text("DROP SCHEMA public CASCADE"))
            await connection.execute(text("CREATE SCHEMA public"))
    await migrate(engine)
    return create_session_factory(engine)


async def imported(url: str, csv_path: Path, media: Path) -> async_sessionmaker[AsyncSession]:
    factory = await fresh_database(url)
    report = await import_file(factory, csv_path, ImportOptions(media_dir=media))
    assert report.ok, report.errors
    return factory


def milliseconds(samples: list[float]) -> str:
    cuts = statistics.quantiles(samples, n=20)
    return f"p50 {statistics.median(samples) * 1000:6.2f} ms   p95 {cuts[18] * 1000:6.2f} ms"


def local_embedder() -> Embedder | None:
    try:
        return LocalEmbedder()
    except MeaningUnavailable:
        print("(search by meaning not measured: pip install 'shopbot[semantic]')")
        return None


async def quality(factory: async_sessionmaker[AsyncSession], embedder: Embedder | None) -> None:
    hooks = commit_hooks(factory)
    engines = {"engine": SearchEngine(hooks)}
    if embedder is not None:
        async with factory() as session:
            await compute_vectors(session, embedder)
        meaning = MeaningIndex(embedder, hooks, max_age=float("inf"))
        engines["+ meaning"] = SearchEngine(hooks, meaning=meaning)
    async with factory() as session:

        def searching(engine: SearchEngine) -> Callable[[str], Awaitable[list[str]]]:
            async def search(query: str) -> list[str]:
                result = await engine.search(session, query, 0, 5)
                await session.commit()
                return [product.sku for product in result.page.items]

            return search

        async def old(query: str) -> list[str]:
            return await like_search(session, query)

        searches = {"substring": old} | {name: searching(e) for name, e in engines.items()}
        print(
            f"Quality, {len(load())} labelled queries (and {len(load(MEANING_QUERIES))} of "
            "meaning) over the sample catalogue"
        )
        print(f"  {'':10} recall@5  precision@5    MRR   nothing  | meaning: recall@5    MRR")
        for name, search in searches.items():
            scores = await evaluate(search)
            of_meaning = await evaluate(search, MEANING_QUERIES)
            print(
                f"  {name:10} {scores.recall:8.3f} {scores.precision:12.3f} "
                f"{scores.mrr:6.3f} {scores.nothing:9.3f}  | {of_meaning.recall:17.3f} "
                f"{of_meaning.mrr:6.3f}"
            )


async def timed(
    session: AsyncSession, search: Callable[[str], Awaitable[object]], queries: list[str]
) -> list[float]:
    samples = []
    for query in queries:
        started = time.perf_counter()
        await search(query)
        samples.append(time.perf_counter() - started)
        await session.commit()
    return samples


async def speed(
    factory: async_sessionmaker[AsyncSession],
    rows: int,
    embedder: Embedder | None,
    most: int | None,
) -> None:
    hooks = commit_hooks(factory)
    queries = [item.query for item in (*load(), *load(MEANING_QUERIES))][:most]
    async with factory() as session:
        await session.execute(delete(SearchDocument))  # as a database before reindex
        await session.commit()
        built = await timed_refresh(SearchEngine(hooks), session)
        started = time.perf_counter()
        written = await reindex(session)
        reindexed = time.perf_counter() - started
        engine = SearchEngine(hooks, max_age=2.0)
        loaded = await timed_refresh(engine, session)
        await change_stock(session, hooks)
        after_import = await timed_refresh(engine, session)
        # An hour later: the import's rows are out of the window a refresh re-reads.
        await an_hour_earlier(session, Product.id, Product.updated_at)
        await an_hour_earlier(session, SearchDocument.product_id, SearchDocument.indexed_at)
        await change_stock(session, hooks)
        await timed_refresh(engine, session)

        async def new(query: str) -> object:
            return await engine.search(session, query, 0, PAGE)

        async def old(query: str) -> object:
            return await like_search(session, query)

        await timed(session, new, queries)  # warm: each query's words analysed once
        print(f"\nSpeed, {len(queries)} queries over {rows} generated products")
        print(f"  substring  {milliseconds(await timed(session, old, queries))}")
        print(f"  engine     {milliseconds(await timed(session, new, queries))}")

        if embedder is not None:
            started = time.perf_counter()
            computed = await compute_vectors(session, embedder)
            vectors = time.perf_counter() - started
            meaning = MeaningIndex(embedder, hooks, max_age=2.0, query_cache=0)
            fused = SearchEngine(hooks, max_age=2.0, meaning=meaning)

            async def with_meaning(query: str) -> object:
                return await fused.search(session, query, 0, PAGE)

            await fused.refresh(session)  # warm: vectors read, each query's words analysed
            await meaning.refresh(session, time.monotonic())
            await session.commit()
            for query in queries:
                fused.index.search(query)
            print(f"  + meaning  {milliseconds(await timed(session, with_meaning, queries))}")
            print(f"  meaning vectors: {computed} computed in {vectors:.1f} s (a background pass)")

        await change_stock(session, hooks)
        in_step = await timed_refresh(engine, session)
        sku = await session.scalar(select(Product.sku).where(Product.active.is_(True)).limit(1))
        await session.commit()
        await set_keywords(session, sku, "бенчмарк", actor="bench")
        new_words = await timed_refresh(engine, session)
        engine.clock = lambda: time.monotonic() + 3600  # past max_age: check the fingerprint
        checked = await timed_refresh(engine, session)
    print(f"  index: built from the texts (before reindex) {built * 1000:.0f} ms")
    print(f"         loaded from the stored documents (a process starting) {loaded * 1000:.0f} ms")
    print(f"         in step after a stock change {in_step * 1000:.1f} ms")
    print(f"           (within a minute of an import of all rows {after_import * 1000:.1f} ms)")
    print(f"         in step after one product's keywords changed {new_words * 1000:.1f} ms")
    print(f"         checked for other processes' changes {checked * 1000:.1f} ms")
    print(f"  shopbot reindex: {written} products in {reindexed * 1000:.0f} ms")


async def an_hour_earlier(session: AsyncSession, key: Any, stamp: Any) -> None:
    """Move a table's stamps an hour back (in Python: date arithmetic differs by dialect)."""
    rows = (await session.execute(select(key, stamp))).all()
    shifted = [{"b_key": row[0], "b_at": row[1] - timedelta(hours=1)} for row in rows]
    table = key.class_.__table__
    await session.execute(
        update(table)
        .where(table.c[key.key] == bindparam("b_key"))
        .values({stamp.key: bindparam("b_at")}),
        shifted,
    )
    await session.commit()


async def change_stock(session: AsyncSession, hooks: CommitHooks) -> None:
    """A checkout's change to one product, announced as this process's units of work do."""
    one_more = update(Product).where(Product.id == 1).values(stock=Product.stock + 1)
    await session.execute(one_more)
    await session.commit()
    hooks.announce({CATALOGUE})


async def timed_refresh(engine: SearchEngine, session: AsyncSession) -> float:
    started = time.perf_counter()
    await engine.refresh(session)
    elapsed = time.perf_counter() - started
    await session.commit()
    return elapsed


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--database-url", help="emptied first; default: temporary SQLite")
    parser.add_argument("--queries", type=int, help="timed queries (default: all labelled)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)

        def url(name: str) -> str:
            return args.database_url or f"sqlite+aiosqlite:///{work / name}"

        embedder = local_embedder()
        sample = await imported(url("sample.db"), SAMPLE, work / "media")
        await quality(sample, embedder)
        await sample.kw["bind"].dispose()
        generated_csv = work / "generated.csv"
        write_csv(generated_csv, args.rows)
        generated = await imported(url("generated.db"), generated_csv, work / "media")
        await speed(generated, args.rows, embedder, args.queries)
        await generated.kw["bind"].dispose()


if __name__ == "__main__":
    asyncio.run(main())
