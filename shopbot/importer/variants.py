"""Variants in a catalogue file: a row with ``variant_of`` (its parent's SKU) and
``option1``/``option2`` is a variant of that product (``shopbot.services.variants``)::

    sku,name,price,stock,variant_of,option1,option2
    TSH-001,"Футболка «Северное сияние»",1490,,,,
    TSH-001-S-BLK,,,5,TSH-001,S,чёрная
    TSH-001-XL-BLK,,1590,2,TSH-001,XL,чёрная

A variant's empty name is its parent's with the options ("Футболка «Северное сияние» —
S, чёрная"), an empty price the parent's. The parent is in the same file (anywhere in it)
or already in the shop. Checked here against the file and the shop, every problem with its
line, before anything is written: the parent exists and is no variant itself (one level),
no two variants of a product have the same options, at most ``MAX_VARIANTS`` of them, a
product with variants has no stock of its own (it is sold only as its variants), and a
hidden product has no variant for sale in the file (none could be bought from a cart).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from shopbot.i18n import N_, Text
from shopbot.importer.base import ImportProblem
from shopbot.importer.columns import Column
from shopbot.importer.reader import MAX_NAME, NO_PRICE, Row
from shopbot.models import sku_key
from shopbot.services.variants import MAX_VARIANTS, variant_name


def check_variants(
    rows: Sequence[Row], existing: Mapping[str, Any], *, has_stock: bool
) -> list[ImportProblem]:
    """Fill each variant row's empty name and price from its parent, and return what is
    wrong with the file's variants. ``existing``: the shop's products by SKU key (with
    ``id``, ``name``, ``price``, ``stock``, ``parent_id``); ``has_stock``: the file has a
    stock column."""
    problems: list[ImportProblem] = []

    def problem(line: int, column: str, template: str, /, **values: object) -> None:
        problems.append(ImportProblem(line, column, "bad_variant", Text(template, values)))

    in_file = {sku_key(row.sku): row for row in rows}
    parents_in_shop = {found.parent_id for found in existing.values() if found.parent_id}
    seen: dict[str, dict[tuple[str, str], int]] = {}  # parent key -> options -> line
    for row in rows:
        if not row.variant_of:
            continue
        key = sku_key(row.variant_of)
        parent_row, parent_found = in_file.get(key), existing.get(key)
        if parent_row is None and parent_found is None:
            problem(
                row.line,
                "variant_of",
                N_("There is no product with SKU “{sku}” in the file or in the shop."),
                sku=row.variant_of,
            )
            continue
        if parent_row is not None and parent_row.variant_of:
            nested = True
        elif parent_row is None:
            nested = parent_found.parent_id is not None
        else:
            nested = False
        own = existing.get(sku_key(row.sku))
        if nested or (own is not None and own.id in parents_in_shop):
            problem(
                row.line,
                "variant_of",
                N_(
                    "“{sku}” is a variant, or has variants of its own: a variant belongs to a "
                    "product that is not a variant."
                ),
                sku=row.variant_of if nested else row.sku,
            )
            continue
        if parent_row is not None and not parent_row.active and row.active:
            problem(
                row.line,
                "active",
                N_(
                    "“{sku}” is hidden but this variant of it is not: hide its variants with "
                    "it (/hide in the chat does), or show it."
                ),
                sku=row.variant_of,
            )
        parent_name = parent_row.name if parent_row is not None else parent_found.name
        if not row.name:
            row.name = variant_name(parent_name, row.option1, row.option2)
            if len(row.name) > MAX_NAME:
                problem(
                    row.line,
                    "name",
                    N_(
                        "The parent's name with the options is {length} characters long; "
                        "at most {most} fit: give the variant a shorter name."
                    ),
                    length=len(row.name),
                    most=MAX_NAME,
                )
        if row.price == NO_PRICE:
            row.price = parent_row.price if parent_row is not None else parent_found.price
        options = (row.option1.casefold(), row.option2.casefold())
        of_parent = seen.setdefault(key, {})
        if options in of_parent:
            problem(
                row.line,
                "option1",
                N_("Line {first} has a variant of “{sku}” with the same options."),
                first=str(of_parent[options]),
                sku=row.variant_of,
            )
        elif len(of_parent) == MAX_VARIANTS:
            problem(
                row.line,
                "variant_of",
                N_("“{sku}” has more than {most} variants; a card offers at most {most}."),
                sku=row.variant_of,
                most=MAX_VARIANTS,
            )
        of_parent.setdefault(options, row.line)
    for key, of_parent in seen.items():
        parent_row, parent_found = in_file.get(key), existing.get(key)
        if parent_row is not None:
            stock, line = (parent_row.stock if has_stock else 0), parent_row.line
        else:
            stock, line = parent_found.stock, min(of_parent.values())
        if stock > 0:
            sku = parent_row.sku if parent_row is not None else parent_found.sku
            problem(
                line,
                "stock",
                N_(
                    "“{sku}” has variants and is sold as them: leave its {column} empty "
                    "or 0 (it has {stock})."
                ),
                sku=sku,
                column=Column("stock"),
                stock=stock,
            )
    return problems
