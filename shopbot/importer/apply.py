"""Turning checked rows into database changes: a plan (also all a dry run needs), then one
transaction of bulk Core statements (executemany), never ORM objects row by row.

How a row changes an existing product (matched by SKU):

* ``name`` and ``price`` always come from the file.
* An optional column the file does not have is not written at all, so what changed since
  the import read the product (a shopper's reservation, an admin hiding it) stands; a new
  product gets the default (stock 0, no category, empty description, active).
* An optional column the file has is authoritative, an empty cell meaning that default,
  except ``image``: an empty cell leaves the product's pictures alone (they may have been
  added in the bot, and Telegram uploads are counted); a non-empty one replaces the whole
  list. A picture coming back with the same content is stored at the same path and keeps
  the Telegram ``file_id`` it already had.
* ``stock`` is the stock for sale, and orders take from it while the owner edits a file.
  A cell is compared with a reference: the ``exported_stock`` of a row of an /export, else
  the stock the import read. A cell equal to it leaves stock alone. A different one is
  what was for sale at the reference, so the stock becomes ``cell + (now - reference)``
  minus the changes people made since (``set``/``adjust``/``import`` stock events after
  ``export_id``, the last one the reference had seen), never below 0: what orders took or
  gave back since stands, a person's change is replaced by the cell, and importing the
  same file twice gives what importing it once did. "Now" is read under the row lock
  (PostgreSQL) or the unit's write lock (SQLite), so no checkout slips in between.

Every change goes into the product's history with the import's actor: stock moves as stock
events, price, name and visibility as product events (old values read under the lock too),
a new product as a "created" event with its price.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Table,
    Text,
    bindparam,
    cast,
    func,
    insert,
    literal,
    null,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from shopbot.db import executemany, for_driver
from shopbot.importer.base import ImportProblem
from shopbot.importer.changes import FieldChange, ProductChange
from shopbot.importer.reader import Row
from shopbot.importer.variants import check_variants
from shopbot.models import Category, Product, ProductEvent, ProductImage, StockEvent, sku_key
from shopbot.services.text import natural_key, search_text
from shopbot.services.variants import option_label

PRODUCT: Table = Product.__table__  # type: ignore[assignment]
CATEGORY: Table = Category.__table__  # type: ignore[assignment]
IMAGE: Table = ProductImage.__table__  # type: ignore[assignment]
STOCK_EVENT: Table = StockEvent.__table__  # type: ignore[assignment]
PRODUCT_EVENT: Table = ProductEvent.__table__  # type: ignore[assignment]

# Stock events whose change a stock cell replaces (orders record none: theirs stand).
PEOPLE_REASONS = ("set", "adjust", "import")
LOCK_CHUNK = 5000  # ids per locking SELECT (asyncpg takes at most 32,767 parameters)

# The fields a change shows old → new, in the order of ``before``/``after`` in make_plan.
FIELDS = (
    "name",
    "price",
    "stock",
    "active",
    "category",
    "description",
    "keywords",
    "sale_price",
    "sale_until",
)
ImageList = list[tuple[str, str]]  # (stored path, source as written in the file), in order
EventValues = tuple[str, str | None, str | None]  # a product event's kind, old and new value


@dataclass(slots=True, frozen=True)
class StockEdit:
    """A stock cell that differs from its reference (see the module's docstring)."""

    cell: int
    reference: int
    export_id: int


@dataclass(slots=True)
class Update:
    """An existing product as the file wants it; its category as a path. Values of columns
    the file does not have are the ones read, and are not written."""

    product_id: int
    name: str
    description: str
    price: int
    active: bool
    position: int | None
    keywords: str
    category: str
    search_text: str
    stock: StockEdit | None  # None: leave the stock alone
    images: ImageList | None  # None: leave the pictures alone
    sale_price: int | None = None  # with sale_until, written when the file has sale_price
    sale_until: datetime | None = None
    variant_changed: bool = False  # its parent or options differ from the file's


@dataclass
class Plan:
    columns: frozenset[str] = frozenset()  # the file's known columns
    created: list[Row] = field(default_factory=list)
    updated: list[Update] = field(default_factory=list)
    unchanged: int = 0
    deactivate: list[int] = field(default_factory=list)
    images: dict[int, ImageList] = field(default_factory=dict)  # by line, for created rows
    new_categories: list[str] = field(default_factory=list)  # parents before children
    category_ids: dict[str, int] = field(default_factory=dict)
    file_ids: dict[str, str] = field(default_factory=dict)  # stored path -> Telegram file_id
    changes: list[ProductChange] = field(default_factory=list)  # with ``describe`` only
    # What is wrong with the file's variants (shopbot.importer.variants): nothing is written.
    errors: list[ImportProblem] = field(default_factory=list)
    # (SKU key, parent's SKU key or None, option1, option2) of each row whose place among
    # variants is written, once the products exist.
    variants: list[tuple[str, str | None, str | None, str | None]] = field(default_factory=list)


async def make_plan(
    connection: AsyncConnection,
    rows: Sequence[Row],
    columns: frozenset[str],
    images: dict[int, ImageList],
    *,
    deactivate_missing: bool,
    describe: bool = False,
) -> Plan:
    """Compare the rows with the database. ``images`` holds each row's pictures by line.
    With ``describe``, ``plan.changes`` says what changes, field by field (a dry run)."""
    plan = Plan(columns=columns, images=images)
    categories = await connection.execute(select(CATEGORY.c.path, CATEGORY.c.id))
    plan.category_ids = dict(categories.all())
    path_of = {category_id: path for path, category_id in plan.category_ids.items()}
    # One statement, so the last stock event it names is of the snapshot the stock is from.
    last_event = select(func.coalesce(func.max(STOCK_EVENT.c.id), 0)).scalar_subquery()
    existing = {
        found.sku_key: found
        for found in await connection.execute(
            select(
                PRODUCT.c.id,
                PRODUCT.c.sku,
                PRODUCT.c.sku_key,
                PRODUCT.c.name,
                PRODUCT.c.description,
                PRODUCT.c.price,
                PRODUCT.c.stock,
                PRODUCT.c.active,
                PRODUCT.c.position,
                PRODUCT.c.keywords,
                PRODUCT.c.category_id,
                PRODUCT.c.search_text,
                PRODUCT.c.sale_price,
                PRODUCT.c.sale_until,
                PRODUCT.c.parent_id,
                PRODUCT.c.option1,
                PRODUCT.c.option2,
                last_event.label("last_event"),
            )
        )
    }
    keep_variants = "variant_of" not in columns
    if not keep_variants:
        plan.errors = check_variants(rows, existing, has_stock="stock" in columns)
        if plan.errors:
            return plan
    key_of_id = {found.id: key for key, found in existing.items()}
    existing_sku = {found.id: found.sku for found in existing.values()}
    row_of: dict[int, Row] = {}  # existing products' rows whose variant changes
    current_images: dict[int, ImageList] = {}
    if images:
        for product_id, path, source, file_id in await connection.execute(
            select(
                IMAGE.c.product_id, IMAGE.c.path, IMAGE.c.source, IMAGE.c.telegram_file_id
            ).order_by(IMAGE.c.product_id, IMAGE.c.position)
        ):
            current_images.setdefault(product_id, []).append((path, source))
            if file_id:
                plan.file_ids.setdefault(path, file_id)

    keep_stock = "stock" not in columns
    keep_category = "category" not in columns
    keep_description = "description" not in columns
    keep_active = "active" not in columns
    keep_position = "position" not in columns
    keep_keywords = "keywords" not in columns
    keep_sale = "sale_price" not in columns
    wanted_categories: set[str] = set()
    candidates: list[tuple[Update, Any]] = []
    updates: list[ProductChange] = []
    for row in rows:
        old = existing.get(sku_key(row.sku))
        variant = (
            sku_key(row.sku),
            sku_key(row.variant_of) if row.variant_of else None,
            row.option1 or None,
            row.option2 or None,
        )
        if old is None:
            plan.created.append(row)
            wanted_categories.add(row.category)
            if row.variant_of:
                plan.variants.append(variant)
            continue
        variant_changed = not keep_variants and variant[1:] != (
            key_of_id.get(old.parent_id),
            old.option1,
            old.option2,
        )
        if variant_changed:
            plan.variants.append(variant)
            row_of[old.id] = row
        description = old.description if keep_description else row.description
        stock = None
        if not keep_stock:
            if row.exported_stock is None:
                stock = StockEdit(row.stock, old.stock, old.last_event)
            else:
                stock = StockEdit(row.stock, row.exported_stock, row.export_id)
            if stock.cell == stock.reference:
                stock = None
        wanted = Update(
            old.id,
            row.name,
            description,
            row.price,
            old.active if keep_active else row.active,
            old.position if keep_position else row.position,
            old.keywords if keep_keywords else row.keywords,
            path_of.get(old.category_id, "") if keep_category else row.category,
            search_text(row.sku, row.name, description),
            stock,
            images.get(row.line),
            old.sale_price if keep_sale else row.sale_price,
            old.sale_until if keep_sale else row.sale_until,
            variant_changed,
        )
        if wanted.images == current_images.get(old.id, []):
            wanted.images = None
        candidates.append((wanted, old))
    replaced = await _replaced(connection, [wanted for wanted, _old in candidates])
    for wanted, old in candidates:
        new_stock = _new_stock(wanted, old.stock, replaced) if wanted.stock else old.stock
        if new_stock == old.stock:
            wanted.stock = None  # e.g. the same file imported a second time
        if (
            wanted.images is None
            and not wanted.variant_changed
            and wanted.stock is None
            and wanted.name == old.name
            and wanted.description == old.description
            and wanted.price == old.price
            and wanted.active == old.active
            and wanted.position == old.position
            and wanted.keywords == old.keywords
            and wanted.category == path_of.get(old.category_id, "")
            and wanted.search_text == old.search_text
            and wanted.sale_price == old.sale_price
            and wanted.sale_until == old.sale_until
        ):
            plan.unchanged += 1
        else:
            plan.updated.append(wanted)
            wanted_categories.add(wanted.category)
            if describe:
                before = (
                    old.name,
                    old.price,
                    old.stock,
                    old.active,
                    path_of.get(old.category_id, ""),
                    old.description,
                    old.keywords,
                    old.sale_price,
                    old.sale_until,
                )
                after = (
                    wanted.name,
                    wanted.price,
                    new_stock,
                    wanted.active,
                    wanted.category,
                    wanted.description,
                    wanted.keywords,
                    wanted.sale_price,
                    wanted.sale_until,
                )
                fields = [
                    FieldChange(name, was, becomes)
                    for name, was, becomes in zip(FIELDS, before, after, strict=True)
                    if was != becomes
                    # an ended sale says so once, not its end too
                    and not (name == "sale_until" and wanted.sale_price is None)
                ]
                if wanted.images is not None:
                    fields.append(FieldChange("image", None, None))
                if wanted.variant_changed:
                    row = row_of[old.id]
                    old_parent = existing_sku.get(old.parent_id, "")
                    fields.append(
                        FieldChange(
                            "variant_of",
                            _variant_text(old_parent, old.option1, old.option2),
                            _variant_text(row.variant_of, row.option1, row.option2),
                        )
                    )
                if fields:
                    updates.append(ProductChange(old.sku, wanted.name, False, tuple(fields)))
    # Rows are written in id order, the order checkouts lock products in: no deadlocks.
    plan.updated.sort(key=lambda wanted: wanted.product_id)

    plan.new_categories = sorted(
        {
            prefix
            for path in wanted_categories
            if path
            for prefix in _prefixes(path)
            if prefix not in plan.category_ids
        },
        key=lambda path: path.count(" / "),
    )
    if deactivate_missing:
        in_file = {sku_key(row.sku) for row in rows}
        hidden = sorted(
            (found for sku, found in existing.items() if found.active and sku not in in_file),
            key=lambda found: found.id,
        )
        plan.deactivate = [found.id for found in hidden]
        if describe:
            off = (FieldChange("active", True, False),)
            updates += [ProductChange(found.sku, found.name, False, off) for found in hidden]
    if describe:
        plan.changes = [_created_change(row) for row in plan.created]
        plan.changes += sorted(updates, key=lambda change: sku_key(change.sku))
    return plan


def _variant_text(parent_sku: str, option1: str | None, option2: str | None) -> str:
    """A variant's place in a dry run's changes: "TSH-9: S, чёрная" ("" for none)."""
    return f"{parent_sku}: {option_label(option1, option2)}" if parent_sku else ""


def _created_change(row: Row) -> ProductChange:
    fields = [FieldChange("price", None, row.price), FieldChange("stock", None, row.stock)]
    if row.variant_of:
        fields.append(
            FieldChange("variant_of", None, _variant_text(row.variant_of, row.option1, row.option2))
        )
    if row.category:
        fields.append(FieldChange("category", None, row.category))
    if not row.active:
        fields.append(FieldChange("active", None, False))
    if row.sale_price is not None:
        fields.append(FieldChange("sale_price", None, row.sale_price))
    return ProductChange(row.sku, row.name, True, tuple(fields))


def _prefixes(path: str) -> Iterator[str]:
    """The path and its ancestors, from the top: "A / B" gives "A", then "A / B"."""
    names = path.split(" / ")
    for depth in range(1, len(names) + 1):
        yield " / ".join(names[:depth])


async def write_plan(connection: AsyncConnection, plan: Plan, *, actor: str, now: datetime) -> None:
    """Execute the plan with a handful of bulk statements."""
    await _create_categories(connection, plan)
    ids = plan.category_ids
    stamp = for_driver(connection, PRODUCT.c.updated_at, now)
    pictures: list[tuple[int, ImageList]] = []  # whole new lists, by product id
    if plan.created:
        before = await connection.scalar(select(func.coalesce(func.max(PRODUCT.c.id), 0)))
        await executemany(
            connection,
            insert(PRODUCT).inline(),
            (
                "sku",
                "sku_key",
                "name",
                "name_key",
                "description",
                "price",
                "stock",
                "active",
                "position",
                "keywords",
                "category_id",
                "search_text",
                "low_stock_alerted",
                "created_at",
                "updated_at",
                "sale_price",
                "sale_until",
            ),
            [
                (
                    row.sku,
                    sku_key(row.sku),
                    row.name,
                    natural_key(row.name),
                    row.description,
                    row.price,
                    row.stock,
                    row.active,
                    row.position,
                    row.keywords,
                    ids.get(row.category),
                    search_text(row.sku, row.name, row.description),
                    False,
                    stamp,
                    stamp,
                    row.sale_price,
                    for_driver(connection, PRODUCT.c.sale_until, row.sale_until),
                )
                for row in plan.created
            ],
        )
        # Ids only grow and the stamp is this import's own: that picks out the new rows.
        new = (PRODUCT.c.id > before) & (PRODUCT.c.created_at == now)
        await connection.execute(
            insert(STOCK_EVENT).from_select(
                ["product_id", "at", "actor", "reason", "old_stock", "new_stock", "delta"],
                select(
                    PRODUCT.c.id,
                    literal(now, STOCK_EVENT.c.at.type),
                    literal(actor),
                    literal("import"),
                    null(),
                    PRODUCT.c.stock,
                    PRODUCT.c.stock,
                ).where(new, PRODUCT.c.stock > 0),
            )
        )
        await connection.execute(
            insert(PRODUCT_EVENT).from_select(
                ["product_id", "at", "actor", "kind", "old_value", "new_value"],
                select(
                    PRODUCT.c.id,
                    literal(now, PRODUCT_EVENT.c.at.type),
                    literal(actor),
                    literal("created"),
                    null(),
                    cast(PRODUCT.c.price, Text),
                ).where(new),
            )
        )
        if any(row.line in plan.images for row in plan.created):
            id_of = dict(
                (await connection.execute(select(PRODUCT.c.sku, PRODUCT.c.id).where(new))).all()
            )
            pictures += [
                (id_of[row.sku], plan.images[row.line])
                for row in plan.created
                if row.line in plan.images
            ]
    written = [wanted.product_id for wanted in plan.updated] + plan.deactivate
    locked = await _lock(connection, written)
    columns = _written_columns(plan.columns)
    await executemany(
        connection,
        update(PRODUCT)
        .where(PRODUCT.c.id == bindparam("b_id"))
        .values({column: bindparam(f"b_{column}") for column in columns}),
        ("b_id", *(f"b_{column}" for column in columns)),
        [
            (
                wanted.product_id,
                *_values(
                    wanted,
                    columns,
                    ids.get(wanted.category),
                    stamp,
                    for_driver(connection, PRODUCT.c.sale_until, wanted.sale_until),
                ),
            )
            for wanted in plan.updated
        ],
    )
    await executemany(
        connection,
        update(PRODUCT)
        .where(PRODUCT.c.id == bindparam("b_id"))
        .values(active=bindparam("b_active"), updated_at=bindparam("b_updated_at")),
        ("b_id", "b_active", "b_updated_at"),
        [(product_id, False, stamp) for product_id in plan.deactivate],
    )
    await executemany(
        connection,
        insert(PRODUCT_EVENT).inline(),
        ("product_id", "at", "actor", "kind", "old_value", "new_value"),
        [(product_id, stamp, actor, *change) for product_id, change in _events(plan, locked)],
    )
    moves = await _stock_moves(connection, plan.updated, locked)
    await executemany(
        connection,
        update(PRODUCT)
        .where(PRODUCT.c.id == bindparam("b_id"))
        .values(stock=PRODUCT.c.stock + bindparam("b_delta"), updated_at=bindparam("b_at")),
        ("b_id", "b_delta", "b_at"),
        [(product_id, new - old, stamp) for product_id, old, new in moves],
    )
    await executemany(
        connection,
        insert(STOCK_EVENT).inline(),
        ("product_id", "at", "actor", "reason", "old_stock", "new_stock", "delta"),
        [
            (product_id, stamp, actor, "import", old, new, new - old)
            for product_id, old, new in moves
        ],
    )
    await _write_variants(connection, plan, stamp)
    pictures += [(wanted.product_id, wanted.images) for wanted in plan.updated if wanted.images]
    await executemany(
        connection,
        IMAGE.delete().where(IMAGE.c.product_id == bindparam("b_product_id")),
        ("b_product_id",),
        [(product_id,) for product_id, _ in pictures],
    )
    await executemany(
        connection,
        insert(IMAGE).inline(),
        ("product_id", "position", "path", "source", "telegram_file_id"),
        [
            (product_id, position, path, source, plan.file_ids.get(path))
            for product_id, images in pictures
            for position, (path, source) in enumerate(images)
        ],
    )


async def _write_variants(connection: AsyncConnection, plan: Plan, stamp: Any) -> None:
    """Each row's parent (by SKU, so a parent created by this import is found) and options,
    after every product of the file exists."""
    parent = PRODUCT.alias("parent")
    parent_id = (
        select(parent.c.id).where(parent.c.sku_key == bindparam("b_parent")).scalar_subquery()
    )
    await executemany(
        connection,
        update(PRODUCT)
        .where(PRODUCT.c.sku_key == bindparam("b_key"))
        .values(
            parent_id=parent_id,
            option1=bindparam("b_option1"),
            option2=bindparam("b_option2"),
            updated_at=bindparam("b_at"),
        ),
        ("b_key", "b_parent", "b_option1", "b_option2", "b_at"),
        [(*variant, stamp) for variant in plan.variants],
    )


def _written_columns(columns: frozenset[str]) -> tuple[str, ...]:
    """The product columns an update writes: those the file has (stock apart, see
    :func:`_stock_moves`), and the name's sort key, search text and stamp that follow."""
    optional = {
        "description": "description",
        "active": "active",
        "position": "position",
        "keywords": "keywords",
        "category": "category_id",
    }
    return (
        "name",
        "name_key",
        "price",
        *(column for name, column in optional.items() if name in columns),
        *(("sale_price", "sale_until") if "sale_price" in columns else ()),
        "search_text",
        "updated_at",
    )


def _values(
    wanted: Update, columns: tuple[str, ...], category_id: int | None, stamp: Any, sale_until: Any
) -> Any:
    """The row's values of ``columns``, as the driver takes them (``stamp`` and
    ``sale_until`` already are)."""
    values = {
        "sale_price": wanted.sale_price,
        "sale_until": sale_until,
        "name": wanted.name,
        "name_key": natural_key(wanted.name),
        "price": wanted.price,
        "description": wanted.description,
        "active": wanted.active,
        "position": wanted.position,
        "keywords": wanted.keywords,
        "category_id": category_id,
        "search_text": wanted.search_text,
        "updated_at": stamp,
    }
    return (values[column] for column in columns)


@dataclass(slots=True, frozen=True)
class Locked:
    """What a product the import writes was, read under the lock."""

    stock: int
    price: int
    name: str
    active: bool


def _events(plan: Plan, locked: dict[int, Locked]) -> Iterator[tuple[int, EventValues]]:
    """(product id, (kind, old, new)) for the product history: each price, name and
    visibility change, from what the product was under the lock (stock has its own events).
    """
    for wanted in plan.updated:
        before = locked[wanted.product_id]
        if wanted.price != before.price:
            yield wanted.product_id, ("price", str(before.price), str(wanted.price))
        if wanted.name != before.name:
            yield wanted.product_id, ("name", before.name, wanted.name)
        if wanted.active != before.active:
            yield wanted.product_id, ("shown" if wanted.active else "hidden", None, None)
    for product_id in plan.deactivate:
        if locked[product_id].active:
            yield product_id, ("hidden", None, None)


async def _lock(connection: AsyncConnection, product_ids: list[int]) -> dict[int, Locked]:
    """Lock the products the import writes, in id order, and read what it changes.

    On PostgreSQL the rows stay locked until the commit: a checkout waits, then takes its
    units from the stock the import wrote. On SQLite the unit of work already holds the
    database's write lock (``FOR UPDATE`` is left out there).
    """
    ordered = sorted(set(product_ids))
    locked: dict[int, Locked] = {}
    for start in range(0, len(ordered), LOCK_CHUNK):
        chunk = ordered[start : start + LOCK_CHUNK]
        rows = await connection.execute(
            select(PRODUCT.c.id, PRODUCT.c.stock, PRODUCT.c.price, PRODUCT.c.name, PRODUCT.c.active)
            .where(PRODUCT.c.id.in_(chunk))
            .order_by(PRODUCT.c.id)
            .with_for_update()
        )
        locked.update((product_id, Locked(*values)) for product_id, *values in rows)
    return locked


async def _stock_moves(
    connection: AsyncConnection, updated: list[Update], locked: dict[int, Locked]
) -> list[tuple[int, int, int]]:
    """(product id, stock now, new stock) for every stock cell that moves the stock; ``stock``
    is read under the lock, and so are the people's changes to replace."""
    replaced = await _replaced(connection, updated)
    moves = []
    for wanted in updated:
        if wanted.stock:
            now = locked[wanted.product_id].stock
            new = _new_stock(wanted, now, replaced)
            if new != now:
                moves.append((wanted.product_id, now, new))
    return moves


def _new_stock(wanted: Update, now: int, replaced: dict[int, int]) -> int:
    assert wanted.stock is not None
    edit = wanted.stock
    return max(0, edit.cell + now - edit.reference - replaced.get(wanted.product_id, 0))


async def _replaced(connection: AsyncConnection, updated: list[Update]) -> dict[int, int]:
    """By product, the sum of the stock changes people made after each edit's reference."""
    by_mark: dict[int, list[int]] = {}
    for wanted in updated:
        if wanted.stock:
            by_mark.setdefault(wanted.stock.export_id, []).append(wanted.product_id)
    replaced: dict[int, int] = {}
    for mark, product_ids in by_mark.items():
        for start in range(0, len(product_ids), LOCK_CHUNK):
            rows = await connection.execute(
                select(STOCK_EVENT.c.product_id, func.sum(STOCK_EVENT.c.delta))
                .where(
                    STOCK_EVENT.c.product_id.in_(product_ids[start : start + LOCK_CHUNK]),
                    STOCK_EVENT.c.id > mark,
                    STOCK_EVENT.c.reason.in_(PEOPLE_REASONS),
                )
                .group_by(STOCK_EVENT.c.product_id)
            )
            replaced.update((product_id, int(total or 0)) for product_id, total in rows)
    return replaced


async def _create_categories(connection: AsyncConnection, plan: Plan) -> None:
    """Level by level, so each child can point at its parent's new id."""
    depth = 0
    pending = plan.new_categories
    while pending:
        level = [path for path in pending if path.count(" / ") == depth]
        pending = [path for path in pending if path.count(" / ") != depth]
        depth += 1
        if not level:
            continue
        created = await connection.execute(
            insert(CATEGORY).returning(CATEGORY.c.path, CATEGORY.c.id),
            [
                {
                    "name": path.rsplit(" / ", 1)[-1],
                    "path": path,
                    "parent_id": plan.category_ids.get(path.rpartition(" / ")[0]),
                    "position": 0,
                }
                for path in level
            ],
        )
        plan.category_ids.update(created.all())
