"""What variants cost: the same catalogue of ``--products`` products, once plain and once
with every fifth product sold in six variants (3 sizes × 2 colours), measured in the same
run on freshly migrated SQLite files:

* the import of each file (the variants' file has the extra rows and columns);
* a category page as shoppers browse it, uncached (``catalogue.browse``: the stock and the
  lowest price of a product with variants come from its variants), median of many;
* a product card's data, uncached (``catalogue.product_detail``: a product with variants
  takes a second statement for them), median of many;
* one pass of the favourites' watch (``restock.watch_favourites``) with ``--favourites``
  favourites, nothing back in stock.

    .venv/bin/python bench/variants_bench.py [--products N] [--favourites N]
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from sqlalchemy import insert, select

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from shopbot.db import create_engine, create_session_factory, migrate  # noqa: E402
from shopbot.importer import ImportOptions, import_file  # noqa: E402
from shopbot.models import Category, Favourite, Product, User  # noqa: E402
from shopbot.services import catalogue, restock  # noqa: E402

SIZES = ("S", "M", "L")
COLOURS = ("чёрная", "белая")
CATEGORIES = ("Одежда / Футболки", "Одежда / Худи", "Посуда / Кружки", "Канцелярия")
PAGE = 8
REPEATS = 200


def write_csv(path: Path, products: int, *, with_variants: bool) -> int:
    """A catalogue of ``products`` listed products; returns the rows written."""
    rng = random.Random(1)
    rows = 0
    with path.open("w", encoding="utf-8", newline="") as file:
        writer = csv.writer(file)
        header = ["sku", "name", "price", "stock", "category"]
        writer.writerow(header + (["variant_of", "option1", "option2"] if with_variants else []))
        for number in range(1, products + 1):
            sku, price = f"P-{number:06d}", rng.randrange(300, 5000) * 10
            name = f"Товар «{rng.choice(COLOURS)}» №{number}"
            category = rng.choice(CATEGORIES)
            sized = with_variants and number % 5 == 0
            tail = ["", "", ""] if with_variants else []
            writer.writerow(
                [sku, name, price, 0 if sized else rng.randrange(0, 50), category, *tail]
            )
            rows += 1
            if not sized:
                continue
            for size in SIZES:
                for colour in COLOURS:
                    stock = rng.randrange(0, 8)
                    writer.writerow(
                        [f"{sku}-{size}-{colour[0]}", "", "", stock, "", sku, size, colour]
                    )
                    rows += 1
    return rows


async def median_ms(action: Callable[[], Awaitable[object]], repeats: int = REPEATS) -> float:
    timings = []
    for _ in range(repeats):
        started = time.perf_counter()
        await action()
        timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings)


async def measure(folder: Path, products: int, favourites: int, *, with_variants: bool) -> dict:
    name = "variants" if with_variants else "plain"
    csv_path = folder / f"{name}.csv"
    rows = write_csv(csv_path, products, with_variants=with_variants)
    engine = create_engine(f"sqlite+aiosqlite:///{folder / name}.db")
    await migrate(engine)
    factory = create_session_factory(engine)
    started = time.perf_counter()
    report = await import_file(factory, csv_path, ImportOptions(media_dir=folder / "media"))
    import_seconds = time.perf_counter() - started
    assert report.ok, report.errors[:3]
    async with factory() as session:
        category_id = await session.scalar(
            select(Category.id).where(Category.path == CATEGORIES[0])
        )
        parent_id = await session.scalar(select(Product.id).where(Product.sku == f"P-{5:06d}"))
        kept = list(
            await session.scalars(
                select(Product.id).where(Product.parent_id.is_(None)).limit(favourites)
            )
        )
        await session.execute(insert(User).values(id=1, first_name="Анна", marketing_consent=True))
        if kept:
            await session.execute(
                insert(Favourite), [{"user_id": 1, "product_id": product} for product in kept]
            )
        await session.commit()
        browse = await median_ms(lambda: catalogue.browse(session, category_id, 3, PAGE))
        card = await median_ms(lambda: catalogue.product_detail(session, parent_id))
        await session.rollback()
    async with factory() as session:
        await restock.watch_favourites(session)  # the first pass marks what is sold out
        started = time.perf_counter()
        await restock.watch_favourites(session)
        watch = (time.perf_counter() - started) * 1000
    await engine.dispose()
    return {"rows": rows, "import": import_seconds, "browse": browse, "card": card, "watch": watch}


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=10_000)
    parser.add_argument("--favourites", type=int, default=1_000)
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory() as temporary:
        folder = Path(temporary)
        plain = await measure(folder, arguments.products, arguments.favourites, with_variants=False)
        sized = await measure(folder, arguments.products, arguments.favourites, with_variants=True)
    print(f"{arguments.products} listed products; every fifth in 6 variants in the second file")
    for label, figures in (("plain", plain), ("with variants", sized)):
        print(
            f"{label:>14}: {figures['rows']} rows imported in {figures['import']:.2f} s; "
            f"category page {figures['browse']:.2f} ms; product card {figures['card']:.2f} ms; "
            f"favourites' watch ({arguments.favourites} kept) {figures['watch']:.1f} ms"
        )
    print(f"ratio: category page {sized['browse'] / plain['browse']:.2f}×")


if __name__ == "__main__":
    asyncio.run(main())
