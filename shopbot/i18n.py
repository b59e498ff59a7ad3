"""Translations of the core: texts of the importer, the command line and the services, in
gettext catalogues ``shopbot/locales/<lang>/LC_MESSAGES/*.po`` read with babel (no aiogram).

The core does not know who reads what it says, so it does not pick a language. It gives
back a :class:`Text`: an English msgid (marked with :func:`N_` where it is written, so the
extractor and the translation test find it) and the values of its placeholders, which the
caller renders in the reader's language: the bot in the owner's, the command line in
``SHOPBOT_LANGUAGE`` or ``LANG`` (Russian by default, like the bot). Codes and values stay
available to tests and programs, and one message is translated once for every caller.
"""

from __future__ import annotations

import gettext as stdlib_gettext
import json
import os
from collections.abc import Iterable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from functools import cache
from io import BytesIO
from pathlib import Path
from typing import Protocol, runtime_checkable

from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

LOCALES_DIR = Path(__file__).parent / "locales"
LANGUAGES = ("ru", "en")
DEFAULT_LANGUAGE = "ru"
# Numbers from this size on are written with their digits grouped.
GROUPED_FROM = 10_000
_GROUP_SEPARATORS = {"ru": "\u00a0", "en": ","}

_current: ContextVar[str] = ContextVar("shopbot_language", default=DEFAULT_LANGUAGE)


def N_(message: str) -> str:
    """Marks an English msgid translated later, where it is shown (see :class:`Text`)."""
    return message


def compile_catalogues(po_files: Iterable[Path], language: str) -> stdlib_gettext.GNUTranslations:
    """The given .po files of one language merged and compiled in memory (no .mo files).
    An empty msgstr means "use the English msgid": it does not hide another file's."""
    merged = Catalog(locale=language)
    for po_path in po_files:
        with po_path.open("rb") as po_file:
            for message in read_po(po_file, locale=language):
                string = message.string
                if message.id and (all(string) if isinstance(string, tuple) else string):
                    merged[message.id] = message
    compiled = BytesIO()
    write_mo(compiled, merged)
    compiled.seek(0)
    return stdlib_gettext.GNUTranslations(compiled)


@cache
def translations(language: str) -> stdlib_gettext.GNUTranslations:
    return compile_catalogues(
        sorted((LOCALES_DIR / language / "LC_MESSAGES").glob("*.po")), language
    )


def known_language(language: str | None) -> str:
    """``language`` if the shop speaks it (``en_GB.UTF-8`` counts as ``en``), else Russian."""
    code = (language or "").strip().lower()[:2]
    return code if code in LANGUAGES else DEFAULT_LANGUAGE


def environment_language(environ: Mapping[str, str] = os.environ) -> str:
    """The command line's language: ``SHOPBOT_LANGUAGE``, else the locale's (``LC_ALL``,
    ``LC_MESSAGES``, ``LANG``), else Russian."""
    for name in ("SHOPBOT_LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"):
        value = environ.get(name, "").strip()
        if value and value not in ("C", "POSIX") and not value.startswith("C."):
            return known_language(value)
    return DEFAULT_LANGUAGE


def current_language() -> str:
    return _current.get()


def set_language(language: str) -> None:
    """The language :func:`_` speaks from now on in this context (the command line's)."""
    _current.set(known_language(language))


def _(message: str) -> str:
    """``message`` in the current language (the command line's own texts)."""
    return translations(_current.get()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return translations(_current.get()).ngettext(singular, plural, n)


@runtime_checkable
class Localized(Protocol):
    """A placeholder value that is written differently in each language."""

    def render(self, language: str) -> str: ...


@dataclass(frozen=True)
class Text:
    """A sentence for a person, in no language yet: an English msgid with ``{placeholders}``
    and their values. A value that is itself :class:`Localized` (another Text, a column's
    name) is rendered in the same language; large whole numbers get grouped digits."""

    template: str
    params: Mapping[str, object] = field(default_factory=dict)

    def render(self, language: str = "en") -> str:
        language = known_language(language)
        translated = translations(language).gettext(self.template)
        values = {name: _value(value, language) for name, value in self.params.items()}
        return translated.format(**values)

    def __str__(self) -> str:
        return self.render("en")

    def encode(self) -> str:
        """The text as one string to store (a flag on an order) and render later: JSON of the
        msgid and its values; values are strings, numbers or Texts."""
        return json.dumps(_encoded(self), ensure_ascii=False, sort_keys=True)


def render_stored(stored: str, language: str) -> str:
    """A string :meth:`Text.encode` made, in ``language``; any other string as it is (one
    stored before texts were kept so, or by code that stores plain words)."""
    try:
        data = json.loads(stored)
    except ValueError:
        return stored
    text = _decoded(data)
    if not isinstance(text, Text):
        return stored
    try:
        return text.render(language)
    except (KeyError, IndexError, ValueError):  # a template and values that do not fit
        return stored


def _encoded(value: object) -> object:
    if isinstance(value, Text):
        return {"text": value.template, "params": {k: _encoded(v) for k, v in value.params.items()}}
    if isinstance(value, bool | int | float) or value is None:
        return value
    return str(value)


def _decoded(value: object) -> object:
    if isinstance(value, dict) and isinstance(value.get("text"), str):
        params = value.get("params")
        if isinstance(params, dict):
            return Text(value["text"], {str(k): _decoded(v) for k, v in params.items()})
    return value


def _value(value: object, language: str) -> object:
    if isinstance(value, Localized):
        return value.render(language)
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= GROUPED_FROM:
        return f"{value:,}".replace(",", _GROUP_SEPARATORS.get(language, ","))
    return value
