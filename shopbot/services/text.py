"""Text helpers shared by services: search keys that fold Cyrillic case too, cells that
spreadsheets must not run as formulas, and the control characters people's text is cleaned
of."""

from __future__ import annotations

import re
import unicodedata

# A cell starting with one of = + - @ (or tab, CR) is a formula to Excel (CSV injection);
# a leading apostrophe makes it text. Quotes already in front are counted, so that
# unguard(guard(x)) == x for every x, and the catalogue round trip changes nothing.
_NEEDS_GUARD = re.compile(r"'*[=+\-@\t\r]")
_GUARDED = re.compile(r"'+[=+\-@\t\r]")

# C0 and C1 control characters and DEL, except tab and newline: a NUL cannot even be stored
# in PostgreSQL text, and none of them means anything in a name, an address or a comment.
CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def strip_controls(text: str) -> str:
    """``text`` without control characters (tab and newline are kept)."""
    return CONTROLS.sub("", text)


def fold(text: str) -> str:
    """Case- and ё-insensitive form for matching (SQLite's lower() folds ASCII only)."""
    return unicodedata.normalize("NFKC", text).casefold().replace("ё", "е")


_NUMBER = re.compile("[0-9]+")


def natural_key(text: str) -> bytes:
    """What names sort by, as bytes (compared byte by byte on both databases, whatever
    their collation): folded like :func:`fold` (so Cyrillic is in alphabet order, ё with е),
    and every number as its count of digits then the digits, so №2 comes before №10 and
    numbers before letters."""

    def number(match: re.Match[str]) -> str:
        digits = match.group().lstrip("0") or "0"
        return f"{len(digits):03d}{digits}"

    return _NUMBER.sub(number, fold(text)).encode()


def search_text(sku: str, name: str, description: str) -> str:
    """What ``Product.search_text`` holds: the folded SKU, name and description."""
    return fold(f"{sku}\n{name}\n{description}")


def guard(cell: str) -> str:
    """The cell made inert for spreadsheets: a leading apostrophe where it could run."""
    return "'" + cell if _NEEDS_GUARD.match(cell) else cell


def unguard(cell: str) -> str:
    """The value a :func:`guard`-ed cell stands for (other cells are returned as they are)."""
    return cell[1:] if _GUARDED.match(cell) else cell
