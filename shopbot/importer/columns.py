"""The catalogue's columns: their keys, and what a header calls them in each language.

The header words are part of the file format (an /export writes them, an import reads them
whatever language the person importing speaks), so they are data here, not translations.
A header cell is matched after :func:`normal` (case, ё/е, spaces, punctuation and a unit in
brackets do not count) against the English keys, the Russian words an export writes, and the
variants people type in Excel ("Название", "Кол-во", "Стоимость", "Фото"…).
"""

from __future__ import annotations

import re
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
    "keywords",
    "exported_stock",
    "export_id",
    "sale_price",
    "sale_until",
    "variant_of",
    "option1",
    "option2",
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
        "keywords": "Ключевые слова",
        "exported_stock": "Остаток при выгрузке",
        "export_id": "Метка выгрузки",
        "sale_price": "Цена по акции",
        "sale_until": "Акция до",
        "variant_of": "Вариант артикула",
        "option1": "Опция 1",
        "option2": "Опция 2",
    },
}


# Besides the key and the exported word of each language (matched too).
ALIASES: dict[str, tuple[str, ...]] = {
    "sku": ("артикул товара", "арт", "код", "код товара", "article", "code"),
    "name": ("название", "наименование товара", "название товара", "товар", "title"),
    "price": ("стоимость", "цена руб", "цена продажи", "розничная цена", "cost"),
    "stock": (
        "остатки",
        "остаток на складе",
        "кол-во",
        "кол во",
        "колво",
        "количество",
        "наличие",
        "в наличии",
        "qty",
        "quantity",
    ),
    "category": ("раздел", "группа", "рубрика", "категория товара"),
    "description": ("описание товара",),
    "image": (
        "изображения",
        "фото",
        "фотография",
        "фотографии",
        "картинка",
        "картинки",
        "images",
        "photo",
        "picture",
    ),
    "active": (
        "активный",
        "активность",
        "видимость",
        "виден",
        "показывать",
        "опубликован",
        "visible",
    ),
    "position": ("позиция", "сортировка", "порядок сортировки", "sort", "order"),
    "keywords": ("теги", "метки", "синонимы", "поисковые слова", "tags", "keyword", "search words"),
    "exported_stock": ("остаток в выгрузке",),
    "export_id": ("номер выгрузки",),
    "sale_price": ("акционная цена", "цена со скидкой", "цена акции", "sale", "sale price rub"),
    "sale_until": ("акция по", "конец акции", "окончание акции", "sale end", "sale ends"),
    # A variant's parent SKU and its two options (shopbot.services.variants).
    "variant_of": (
        "вариант",
        "вариант товара",
        "артикул родителя",
        "родительский артикул",
        "основной артикул",
        "parent",
        "parent sku",
        "variant",
    ),
    "option1": ("опция1", "вариант 1", "параметр 1", "свойство 1", "option 1"),
    "option2": ("опция2", "вариант 2", "параметр 2", "свойство 2", "option 2"),
}

_BRACKETS = re.compile(r"\([^)]*\)|\[[^\]]*\]")
_PUNCTUATION = re.compile(r"[^\w\s-]|_")


def normal(header: str) -> str:
    """A header cell as it is matched: "Цена, руб." and "цена (₽)" both read "цена руб"/"цена";
    "Кол-во" keeps its hyphen; "exported_stock" reads "exported stock"."""
    text = header.replace("\ufeff", "").casefold().replace("ё", "е")
    text = _PUNCTUATION.sub(" ", _BRACKETS.sub(" ", text))
    return " ".join(text.split())


KNOWN: dict[str, str] = {
    normal(word): column
    for column in COLUMNS
    for word in (
        column,
        *(HEADERS[language][column] for language in HEADER_LANGUAGES),
        *ALIASES[column],
    )
}


def column_of(header: str) -> str | None:
    """The column a header cell names, or None."""
    return KNOWN.get(normal(header))


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
