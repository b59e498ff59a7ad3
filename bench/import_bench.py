"""How fast is the catalogue import next to the fastest possible insert of the same rows,
and what do the search documents add to it?

Generates a realistic catalogue CSV (Russian names, categories, prices like ``1 299,00``,
no images) in a temporary folder, then measures, each on a freshly migrated database:

* raw: ``sqlite3.executemany`` of the already-parsed product rows (and their categories)
  in one transaction, the floor for any importer (SQLite only);
* without documents: ``import_file`` of the CSV with the search documents' step left out
  (as the importer was before ``search_document``): it decodes, parses and checks every
  row, compares with the database and records a stock event per product with stock;
* shopbot: the same import as it is, writing each product's search document in the same
  unit of work (morphology included: pymorphy3 is loaded by the import's process).

Each import runs ``--runs`` times, alternating, every one in a process of its own (as
``shopbot import`` does: nothing analysed before it); the figures are the medians.

    .venv/bin/python bench/import_bench.py [--rows N] [--runs N] [--database-url URL]

``--database-url`` (e.g. a PostgreSQL database) is emptied before each run: give a scratch
one. Without it, temporary SQLite files are used.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import random
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from unittest import mock

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from shopbot.db import create_engine, create_session_factory, migrate
from shopbot.importer import ImportOptions, core, import_file
from shopbot.models import sku_key
from shopbot.money import parse_price
from shopbot.services.text import natural_key, search_text

CATEGORIES = {
    "Одежда": ["Футболки", "Худи и свитшоты", "Головные уборы", "Носки"],
    "Посуда": ["Кружки", "Термокружки", "Тарелки"],
    "Канцелярия": ["Блокноты", "Открытки", "Стикеры", "Ручки и карандаши"],
    "Сумки и аксессуары": ["Шопперы", "Значки", "Брелоки"],
    "Декор": ["Постеры", "Свечи", "Магниты"],
    "Подарочные наборы": [],
}
KINDS = ["Футболка", "Кружка", "Блокнот", "Шоппер", "Значок", "Постер", "Свеча", "Худи", "Набор"]
THEMES = ["Северное сияние", "Кот-астроном", "Байкал", "Ёжик в тумане", "Лавка ремёсел", "Берёзы"]
COLOURS = ["чёрный", "белый", "серый", "горчичный", "графит", "молочный", "синий"]
# Shop prices cluster on price points (490, 1290, 12990 ...), as in real catalogues.
PRICE_POINTS = [tens * 10 - 10 for tens in range(10, 600)] + [
    hundreds * 100 - 10 for hundreds in range(60, 600)
]
PHRASES = [
    "Хлопок 100%, плотность 180 г/м².",
    "Рисунок нанесён шелкографией и не трескается после стирки.",
    "Можно мыть в посудомоечной машине.",
    "Упаковано в крафтовую коробку.",
    "Сделано в мастерской в Твери.",
    "Размеры от S до XXL.",
]


def write_csv(path: Path, rows: int, seed: int = 1) -> None:
    rng = random.Random(seed)
    paths = [
        f"{top} / {sub}" if sub else top for top, subs in CATEGORIES.items() for sub in subs or [""]
    ]
    with path.open("w", encoding="utf-8", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["sku", "name", "price", "stock", "category", "description", "active"])
        for number in range(1, rows + 1):
            roubles = rng.choice(PRICE_POINTS)
            kopecks = rng.choice([0, 0, 0, 0, 50, 90])
            price = rng.choice(
                [
                    f"{roubles:,}".replace(",", " ") + f",{kopecks:02d}",
                    f"{roubles}.{kopecks:02d}",
                    f"{roubles} ₽",
                    str(roubles),
                ]
            )
            name = (
                f"{rng.choice(KINDS)} «{rng.choice(THEMES)}», {rng.choice(COLOURS)}, арт. {number}"
            )
            description = " ".join(rng.sample(PHRASES, 3))
            writer.writerow(
                [
                    f"SKU-{number:06d}",
                    name,
                    price,
                    rng.randrange(0, 500),
                    rng.choice(paths),
                    description,
                    rng.choice(["1", "1", "1", "0"]),
                ]
            )


async def migrated(url: str) -> None:
    engine = create_engine(url)
    if url.startswith("postgresql"):
        async with engine.begin() as connection:
            await connection.execute(text("DROP SCHEMA public CASCADE"))
            await connection.execute(text("CREATE SCHEMA public"))
    await migrate(engine)
    await engine.dispose()


def raw_insert(csv_path: Path, db_path: Path) -> tuple[int, float]:
    """Parse outside the clock; time only the inserts and the commit."""
    with csv_path.open(encoding="utf-8", newline="") as file:
        records = list(csv.DictReader(file))
    category_ids: dict[str, int] = {}
    categories: list[tuple[int, int | None, str, str, int]] = []
    for record in records:
        parts = record["category"].split(" / ")
        for depth in range(1, len(parts) + 1):
            path = " / ".join(parts[:depth])
            if path not in category_ids:
                category_ids[path] = len(category_ids) + 1
                parent = category_ids.get(" / ".join(parts[: depth - 1]))
                categories.append((category_ids[path], parent, parts[depth - 1], path, 0))
    now = datetime.now(UTC).isoformat(sep=" ")
    products = [
        (
            record["sku"],
            sku_key(record["sku"]),
            record["name"],
            natural_key(record["name"]),
            record["description"],
            parse_price(record["price"]),
            int(record["stock"]),
            record["active"] == "1",
            category_ids[record["category"]],
            search_text(record["sku"], record["name"], record["description"]),
            False,
            now,
            now,
        )
        for record in records
    ]
    connection = sqlite3.connect(db_path, isolation_level=None)
    connection.execute("PRAGMA synchronous=NORMAL")
    connection.execute("PRAGMA foreign_keys=ON")
    started = time.perf_counter()
    connection.execute("BEGIN IMMEDIATE")
    connection.executemany(
        "INSERT INTO category (id, parent_id, name, path, position) VALUES (?, ?, ?, ?, ?)",
        categories,
    )
    connection.executemany(
        "INSERT INTO product (sku, sku_key, name, name_key, description, price, stock, active, "
        "category_id, search_text, low_stock_alerted, created_at, updated_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        products,
    )
    connection.execute("COMMIT")
    elapsed = time.perf_counter() - started
    connection.close()
    return len(products), elapsed


async def shopbot_import(
    csv_path: Path, url: str, documents: bool, options: ImportOptions
) -> tuple[int, float]:
    await migrated(url)
    engine = create_engine(url)
    try:
        with mock.patch.object(
            core, "write_documents", core.write_documents if documents else _no_documents
        ):
            started = time.perf_counter()
            report = await import_file(create_session_factory(engine), csv_path, options)
            elapsed = time.perf_counter() - started
    finally:
        await engine.dispose()
    if not report.ok:
        raise SystemExit(f"import failed: {report.errors[:5]}")
    return report.created, elapsed


async def _no_documents(_session: AsyncSession) -> int:
    return 0


def measured(csv_path: Path, url: str, documents: bool) -> tuple[int, float]:
    """One import in a process of its own: rows created, seconds."""
    done = subprocess.run(
        [sys.executable, __file__, "--one", str(csv_path), "--database-url", url]
        + (["--documents"] if documents else []),
        capture_output=True,
        text=True,
    )
    if done.returncode:
        raise SystemExit(done.stderr)
    rows, seconds = done.stdout.split()
    return int(rows), float(seconds)


def line(label: str, rows: int, seconds: float) -> str:
    return f"{label}: {rows} rows in {seconds:.2f} s ({rows / seconds:,.0f} rows/s)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000, help="rows in the CSV")
    parser.add_argument("--runs", type=int, default=3, help="imports of each kind")
    parser.add_argument("--database-url", help="emptied first; default: temporary SQLite")
    parser.add_argument("--one", type=Path, help=argparse.SUPPRESS)  # a run's own process
    parser.add_argument("--documents", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        # Realistic descriptions make 100k rows larger than the default 20 MB file limit.
        options = ImportOptions(
            media_dir=args.one.parent / "media", max_file_bytes=2 * args.one.stat().st_size
        )
        rows, seconds = asyncio.run(
            shopbot_import(args.one, args.database_url, args.documents, options)
        )
        print(rows, seconds)
        return
    with tempfile.TemporaryDirectory(prefix="shopbot-bench-") as folder:
        root = Path(folder)
        csv_path = root / "catalogue.csv"
        write_csv(csv_path, args.rows)
        print(f"csv: {args.rows} rows, {csv_path.stat().st_size / 1e6:.1f} MB")
        raw: list[float] = []
        plain: list[float] = []
        full: list[float] = []
        for run in range(args.runs):
            if args.database_url is None:
                asyncio.run(migrated(f"sqlite+aiosqlite:///{root / f'raw{run}.db'}"))
                raw_rows, seconds = raw_insert(csv_path, root / f"raw{run}.db")
                raw.append(seconds)
            for documents, times in ((False, plain), (True, full)):
                url = args.database_url or f"sqlite+aiosqlite:///{root / f'{documents}{run}.db'}"
                rows, seconds = measured(csv_path, url, documents)
                times.append(seconds)
    without, with_documents = statistics.median(plain), statistics.median(full)
    print(f"medians of {args.runs} runs each on {args.database_url or 'SQLite'}")
    if raw:
        print(line("raw executemany", raw_rows, statistics.median(raw)))
    print(line("shopbot import without documents", rows, without))
    print(line("shopbot import", rows, with_documents))
    print(f"documents: {with_documents / without:.2f}x the import without them (target <= 1.5x)")
    if raw:
        print(f"ratio: {with_documents / statistics.median(raw):.1f}x raw (target <= 3x)")
    else:
        print("ratio: no raw baseline on this database")


if __name__ == "__main__":
    main()
