"""The bot's command menus (shown by Telegram next to the input field)."""

from __future__ import annotations

from aiogram.types import BotCommand
from aiogram.utils.i18n import gettext as _


def shopper_commands() -> list[BotCommand]:
    """The command menu everyone sees, in the current language."""
    return [
        BotCommand(command="start", description=_("Main menu")),
        BotCommand(command="catalog", description=_("Catalogue")),
        BotCommand(command="search", description=_("Search products")),
        BotCommand(command="cart", description=_("Cart")),
        BotCommand(command="favorites", description=_("Favourites")),
        BotCommand(command="orders", description=_("My orders")),
        BotCommand(command="help", description=_("Help")),
        BotCommand(command="support", description=_("Write to a manager")),
        BotCommand(command="cancel", description=_("Leave checkout")),
    ]
