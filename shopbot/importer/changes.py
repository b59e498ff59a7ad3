"""What an import changes, product by product and field by field: the dry run shows it.

A change is data (the field's key, old and new value); the lines and the CSV of the full
list are rendered in the reader's language from the core catalogue (see :mod:`shopbot.i18n`).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass

from shopbot.i18n import N_, Text
from shopbot.importer.columns import header_name
from shopbot.money import format_price
from shopbot.services.text import guard

# Shown as "changed" only (too long for a line); the CSV has the descriptions in full.
MARKED = ("description", "keywords", "image", "sale_until")


@dataclass(frozen=True, slots=True)
class FieldChange:
    field: str  # a column key: "price", "stock", "name", "active", "category"...
    old: object  # None for a new product
    new: object


@dataclass(frozen=True, slots=True)
class ProductChange:
    sku: str
    name: str  # the name after the import
    created: bool
    fields: tuple[FieldChange, ...]


def _value(field: str, value: object) -> str | Text:
    if field in ("price", "sale_price") and isinstance(value, int):
        return format_price(value)
    if field == "active":
        return Text(N_("shown")) if value else Text(N_("hidden"))
    if isinstance(value, tuple):  # pictures
        return " | ".join(str(part) for part in value)
    return str(value)


def _piece(change: FieldChange, created: bool) -> Text:
    field = change.field
    if field == "active":
        return Text(N_("shown")) if change.new else Text(N_("hidden"))
    if field in MARKED:
        marked = {
            "description": N_("description changed"),
            "keywords": N_("keywords changed"),
            "image": N_("new pictures"),
            "sale_until": N_("sale end changed"),
        }
        return Text(marked[field])
    values = {"old": _value(field, change.old), "new": _value(field, change.new)}
    if field == "sale_price":
        if change.new is None:
            return Text(N_("sale ended"))
        if change.old is None:
            return Text(N_("sale price {new}"), values)
        return Text(N_("sale price {old} → {new}"), values)
    if field == "name":
        return Text(N_("name “{old}” → “{new}”"), values)
    if field == "variant_of":  # values: "TSH-9: S, чёрная", "" for none
        if created:
            return Text(N_("variant of {new}"), values)
        return Text(N_("variant “{old}” → “{new}”"), values)
    if field == "category":
        if created:
            return Text(N_("category “{new}”"), values)
        return Text(N_("category “{old}” → “{new}”"), values)
    if created:
        return Text(N_("price {new}") if field == "price" else N_("stock {new}"), values)
    return Text(
        N_("price {old} → {new}") if field == "price" else N_("stock {old} → {new}"), values
    )


def change_line(change: ProductChange, language: str) -> str:
    """One product on one line: "TS-01 “Футболка”: price 1 299 ₽ → 1 399 ₽; stock 5 → 8"."""
    pieces = "; ".join(_piece(field, change.created).render(language) for field in change.fields)
    template = (
        N_("{sku} “{name}”, new: {changes}") if change.created else N_("{sku} “{name}”: {changes}")
    )
    return Text(template, {"sku": change.sku, "name": change.name, "changes": pieces}).render(
        language
    )


def changes_csv(changes: Iterable[ProductChange], language: str) -> bytes:
    """Every change, a row per field, for Excel (UTF-8 with BOM, semicolons; no cell can
    run as a formula)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    words = (N_("SKU"), N_("Name"), N_("Product"), N_("Field"), N_("Was"), N_("Becomes"))
    writer.writerow([Text(word).render(language) for word in words])
    new, changed = Text(N_("new")).render(language), Text(N_("changed")).render(language)

    def cell(field: str, value: object) -> str:
        if value is None:
            return ""
        shown = _value(field, value)
        return guard(shown.render(language) if isinstance(shown, Text) else shown)

    for change in changes:
        for field in change.fields:
            writer.writerow(
                (
                    cell("sku", change.sku),
                    cell("name", change.name),
                    new if change.created else changed,
                    header_name(field.field, language),
                    cell(field.field, field.old),
                    cell(field.field, field.new),
                )
            )
    return buffer.getvalue().encode("utf-8-sig")
