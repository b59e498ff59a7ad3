"""Would the database's full-text index pick search candidates well enough (issue 13's
"FTS5 on SQLite, tsvector on PostgreSQL")? Measured next to the in-memory engine in the
same run, on a generated catalogue of ``--rows`` products imported with their documents.

The stored documents' keys (lemmatised words) go into an FTS5 table (SQLite) or a
``tsvector`` column with a GIN index (PostgreSQL); each labelled query becomes one statement
asking for the products holding, for every chunk of the query, one of the keys of its words
as typed (what such an index can be asked; typos, the other layout, derived words and
compounds would each need another step). Printed: the engine's whole search p50/p95; the
candidate statement's p50/p95 and how many ids it hands back (the engine would then rank
those); and how many of the products the engine finds are among the candidates, over the
labelled queries on the sample catalogue (recall that candidate retrieval alone would keep).

    .venv/bin/python bench/fts_bench.py [--rows N] [--database-url URL]

``--database-url`` (e.g. a PostgreSQL database) is emptied first: give a scratch one.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from import_bench import write_csv  # noqa: E402  (bench/ is the script's folder)
from search_bench import SAMPLE, fresh_database  # noqa: E402

from shopbot.db import commit_hooks  # noqa: E402
from shopbot.importer import ImportOptions, import_file  # noqa: E402
from shopbot.search import SearchEngine  # noqa: E402
from shopbot.search.analysis import keys, readings  # noqa: E402
from shopbot.search.documents import decode  # noqa: E402
from shopbot.services.text import fold  # noqa: E402
from tests.search.labelled import load  # noqa: E402


def chunks_keys(query: str) -> list[list[str]]:
    """Each chunk's keys of its words as typed (chunks of stop words only dropped)."""
    found = []
    for chunk in fold(query).split():
        typed = readings(chunk)
        if typed:
            found.append(sorted({k for word in typed[0].words for k in keys(word) if k.isalnum()}))
    return [chunk for chunk in found if chunk]


async def build(session: AsyncSession) -> None:
    """The full-text index of every stored document's keys."""
    rows = (await session.execute(text("SELECT product_id, terms FROM search_document"))).all()
    documents = [{"id": pid, "keys": " ".join(decode(terms))} for pid, terms in rows]
    if session.bind.dialect.name == "postgresql":
        await session.execute(text("CREATE TABLE fts (id integer PRIMARY KEY, keys tsvector)"))
        await session.execute(
            text("INSERT INTO fts VALUES (:id, to_tsvector('simple', :keys))"), documents
        )
        await session.execute(text("CREATE INDEX fts_keys ON fts USING gin (keys)"))
        await session.execute(text("ANALYZE fts"))
    else:
        # The keys are folded already; removing diacritics would make each "й" an "и".
        tokenizer = "unicode61 remove_diacritics 0"
        await session.execute(
            text(f"CREATE VIRTUAL TABLE fts USING fts5(keys, tokenize='{tokenizer}')")
        )
        await session.execute(text("INSERT INTO fts (rowid, keys) VALUES (:id, :keys)"), documents)
    await session.commit()


async def candidates(session: AsyncSession, query: str) -> set[int]:
    wanted = chunks_keys(query)
    if not wanted:
        return set()
    if session.bind.dialect.name == "postgresql":
        expression = " & ".join("(" + " | ".join(chunk) + ")" for chunk in wanted)
        statement = "SELECT id FROM fts WHERE keys @@ to_tsquery('simple', :q)"
    else:
        expression = " AND ".join(
            "(" + " OR ".join(f'"{k}"' for k in chunk) + ")" for chunk in wanted
        )
        statement = "SELECT rowid FROM fts WHERE fts MATCH :q"
    return {row[0] for row in await session.execute(text(statement), {"q": expression})}


def ms(samples: list[float]) -> str:
    cuts = statistics.quantiles(samples, n=20)
    return f"p50 {statistics.median(samples) * 1000:6.2f} ms   p95 {cuts[18] * 1000:6.2f} ms"


async def measure(url: str, csv_path: Path, media: Path, speed: bool) -> None:
    factory = await fresh_database(url)
    report = await import_file(factory, csv_path, ImportOptions(media_dir=media))
    assert report.ok, report.errors
    queries = [item.query for item in load()]
    engine = SearchEngine(commit_hooks(factory))
    async with factory() as session:
        await build(session)
        await engine.refresh(session)
        found = {query: engine.index.search(query).ids for query in queries}  # warm too
        if speed:
            whole: list[float] = []
            fts: list[float] = []
            sizes: list[int] = []
            for query in queries:
                started = time.perf_counter()
                engine.index.search(query)
                whole.append(time.perf_counter() - started)
                started = time.perf_counter()
                sizes.append(len(await candidates(session, query)))
                fts.append(time.perf_counter() - started)
            print(f"  engine, whole search        {ms(whole)}")
            print(f"  full-text candidates alone  {ms(fts)}")
            print(f"    ids handed back: median {statistics.median(sizes):.0f}, max {max(sizes)}")
        kept = total = lost = 0
        for query in queries:
            if found[query]:
                got = await candidates(session, query)
                kept += len(set(found[query]) & got)
                total += len(found[query])
                lost += not set(found[query][:5]) <= got
        print(
            f"  of the products the engine finds, among the candidates: {kept / total:.3f}; "
            f"queries whose top 5 is not: {lost} of {sum(bool(ids) for ids in found.values())}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=10_000, help="generated products")
    parser.add_argument("--database-url", help="emptied first; default: temporary SQLite")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="shopbot-bench-") as folder:
        work = Path(folder)
        generated = work / "catalogue.csv"
        write_csv(generated, args.rows)
        for label, csv_path, speed in (
            (f"{args.rows} generated products", generated, True),
            ("the sample catalogue (labelled queries)", SAMPLE, False),
        ):
            print(f"{label}, {args.database_url or 'SQLite'}:")
            url = args.database_url or f"sqlite+aiosqlite:///{work / (csv_path.stem + '.db')}"
            asyncio.run(measure(url, csv_path, work / "media", speed))


if __name__ == "__main__":
    main()
