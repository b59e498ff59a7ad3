"""The catalogue's columns: their keys, and what a header calls them in each language.

The header words are part of the file format (an /export writes them, an import reads them
whatever language the person importing speaks), so they are data here, not translations.
"""

from __future__ import annotations

from dataclasses import dataclass

COLUMNS = (
    "sku",
    "name",
    "price",
    "stock",
    "category",
    "description",
    "image",
    "active",
    "position",
    "exported_stock",
    "export_id",
)
HEADER_LANGUAGES = ("en", "ru")
# The header an export writes in each language; for English the keys themselves.
HEADERS: dict[str, dict[str, str]] = {
    "en": {column: column for column in COLUMNS},
    "ru": {
        "sku": "Артикул",
        "name": "Наименование",
        "price": "Цена",
        "stock": "Остаток",
        "category": "Категория",
        "description": "Описание",
        "image": "Изображение",
        "active": "Активен",
        "position": "Порядок",
        "exported_stock": "Остаток при выгрузке",
        "export_id": "Метка выгрузки",
    },
}


def header_name(column: str, language: str) -> str:
    """What a header in ``language`` calls the column (the key for a language without one)."""
    return HEADERS.get(language, HEADERS["en"]).get(column, column)


@dataclass(frozen=True)
class Column:
    """A column named in a message: its header word in the reader's language."""

    key: str

    def render(self, language: str) -> str:
        return header_name(self.key, language)


@dataclass(frozen=True)
class KnownColumns:
    """The columns an owner writes, named in the reader's language (for a message)."""

    def render(self, language: str) -> str:
        return ", ".join(header_name(column, language) for column in COLUMNS[:8])
