"""Text helpers shared by services: search keys that fold Cyrillic case too, and cells
that spreadsheets must not run as formulas."""

from __future__ import annotations

import re
import unicodedata

# A cell starting with one of = + - @ (or tab, CR) is a formula to Excel (CSV injection);
# a leading apostrophe makes it text. Quotes already in front are counted, so that
# unguard(guard(x)) == x for every x, and the catalogue round trip changes nothing.
_NEEDS_GUARD = re.compile(r"'*[=+\-@\t\r]")
_GUARDED = re.compile(r"'+[=+\-@\t\r]")


def fold(text: str) -> str:
    """Case- and ё-insensitive form for matching (SQLite's lower() folds ASCII only)."""
    return unicodedata.normalize("NFKC", text).casefold().replace("ё", "е")


def search_text(sku: str, name: str, description: str) -> str:
    """What ``Product.search_text`` holds: the folded SKU, name and description."""
    return fold(f"{sku}\n{name}\n{description}")


def guard(cell: str) -> str:
    """The cell made inert for spreadsheets: a leading apostrophe where it could run."""
    return "'" + cell if _NEEDS_GUARD.match(cell) else cell


def unguard(cell: str) -> str:
    """The value a :func:`guard`-ed cell stands for (other cells are returned as they are)."""
    return cell[1:] if _GUARDED.match(cell) else cell
