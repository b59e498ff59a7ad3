"""Translations from gettext .po catalogues, compiled in memory at start-up (no .mo files in
git), and the middleware that picks the shopper's language."""

from __future__ import annotations

import gettext
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from aiogram.types import TelegramObject, User
from aiogram.utils.i18n import I18n, I18nMiddleware

from shopbot.i18n import compile_catalogues

LOCALES_DIR = Path(__file__).parent / "locales"
DOMAIN = "shopbot"
LANGUAGES = ("ru", "en")


class PoI18n(I18n):
    """aiogram's I18n reading ``<locale>/LC_MESSAGES/shopbot.po`` directly."""

    @contextmanager
    def context(self) -> Iterator[I18n]:
        # aiogram's gettext() looks the instance up in I18n's own context variable; a
        # subclass gets a separate one, so register under the base class.
        token = I18n.set_current(self)
        try:
            yield self
        finally:
            I18n.reset_current(token)

    def find_locales(self) -> dict[str, gettext.GNUTranslations]:
        """Every ``*.po`` of a locale (one per area: shopper, admin, payments) merged."""
        translations: dict[str, gettext.GNUTranslations] = {}
        for locale_dir in sorted(Path(self.path).iterdir()):
            files = sorted((locale_dir / "LC_MESSAGES").glob("*.po"))
            if files:
                translations[locale_dir.name] = compile_catalogues(files, locale_dir.name)
        return translations


def create_i18n(default_language: str = "ru") -> PoI18n:
    return PoI18n(path=LOCALES_DIR, default_locale=default_language, domain=DOMAIN)


def language_of(user: User | None, default: str = "ru") -> str:
    """The shop speaks Russian unless the shopper's Telegram is in English."""
    code = (user.language_code or "") if user else ""
    return "en" if code.lower().startswith("en") else default


class ShopI18nMiddleware(I18nMiddleware):
    async def get_locale(self, event: TelegramObject, data: dict[str, Any]) -> str:
        return language_of(data.get("event_from_user"), self.i18n.default_locale)
