"""Filters shared by routers."""

from __future__ import annotations

from typing import Any

from aiogram import F
from aiogram.filters import Filter
from aiogram.types import Message, TelegramObject
from babel.support import LazyProxy
from magic_filter import MagicFilter

from shopbot.bot.i18n import LANGUAGES, create_i18n
from shopbot.bot.keyboards import MAIN_MENU

_i18n = create_i18n()


class Magic(Filter):
    """A magic filter (``F.contact``, ``F.text.in_(...)``) checked in the event loop.

    aiogram runs a filter that is neither a ``Filter`` nor a coroutine function in a worker
    thread (``asyncio.to_thread``), and that trip costs far more than the check itself, for
    every message the filter sees. Every filter the shop registers is therefore async; FSM
    states go through ``StateFilter`` for the same reason (a bare ``State`` is sync).
    """

    def __init__(self, magic: MagicFilter) -> None:
        self.magic = magic

    async def __call__(self, event: TelegramObject) -> Any:
        return self.magic.resolve(event)


def menu_button(label: LazyProxy) -> Magic:
    """Matches a reply-keyboard button's text in any of the shop's languages."""
    texts = set()
    for language in LANGUAGES:
        with _i18n.context(), _i18n.use_locale(language):
            texts.add(str(label))
    return Magic(F.text.in_(texts))


def _menu_texts() -> frozenset[str]:
    """The main menu's buttons in every language."""
    menu = set()
    for language in LANGUAGES:
        with _i18n.context(), _i18n.use_locale(language):
            menu.update(str(label) for label in MAIN_MENU)
    return frozenset(menu)


MENU_TEXTS = _menu_texts()


def is_command_or_menu(message: Message) -> bool:
    """A command (``/name``) or a press of a main-menu button: the shopper went elsewhere."""
    text = message.text or ""
    return text.startswith("/") or text in MENU_TEXTS


def plain_text() -> Magic:
    """Typed text that is an answer, not a command or a main-menu button."""
    return Magic(F.text & ~F.text.startswith("/") & ~F.text.in_(MENU_TEXTS))
