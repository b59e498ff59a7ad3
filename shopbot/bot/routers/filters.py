"""Filters shared by routers."""

from __future__ import annotations

from aiogram import F
from babel.support import LazyProxy
from magic_filter import MagicFilter

from shopbot.bot.i18n import LANGUAGES, create_i18n
from shopbot.bot.keyboards import MAIN_MENU

_i18n = create_i18n()


def menu_button(label: LazyProxy) -> MagicFilter:
    """Matches a reply-keyboard button's text in any of the shop's languages."""
    texts = set()
    for language in LANGUAGES:
        with _i18n.context(), _i18n.use_locale(language):
            texts.add(str(label))
    return F.text.in_(texts)


def plain_text() -> MagicFilter:
    """Typed text that is an answer, not a command or a main-menu button."""
    menu = set()
    for language in LANGUAGES:
        with _i18n.context(), _i18n.use_locale(language):
            menu.update(str(label) for label in MAIN_MENU)
    return F.text & ~F.text.startswith("/") & ~F.text.in_(menu)
