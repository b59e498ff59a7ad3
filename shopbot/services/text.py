"""Text helpers shared by services: search keys that fold Cyrillic case too."""

from __future__ import annotations

import unicodedata


def fold(text: str) -> str:
    """Case- and ё-insensitive form for matching (SQLite's lower() folds ASCII only)."""
    return unicodedata.normalize("NFKC", text).casefold().replace("ё", "е")


def search_text(sku: str, name: str, description: str) -> str:
    """What ``Product.search_text`` holds: the folded SKU, name and description."""
    return fold(f"{sku}\n{name}\n{description}")
