"""Whatever nothing else handled: a short friendly answer, never silence."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from shopbot.bot.keyboards import main_menu
from shopbot.bot.routers.filters import Magic


async def stale_button(query: CallbackQuery) -> None:
    """An old or forged button: every callback query gets an answer."""
    await query.answer(
        _("This button is out of date. Please open the menu again."), show_alert=True
    )


async def unknown_message(message: Message, is_admin: bool) -> None:
    await message.answer(
        _("Sorry, I did not understand that. Use the menu below or /help."),
        reply_markup=main_menu(admin=is_admin),
    )


async def unexpected_file(message: Message, is_admin: bool) -> None:
    """A file or a picture from a shopper (an admin's file is offered an import before)."""
    await message.answer(
        _("Sorry, I cannot take files or pictures. Use the menu below or /help."),
        reply_markup=main_menu(admin=is_admin),
    )


def create_router() -> Router:
    router = Router(name="fallback")
    router.callback_query.register(stale_button)
    router.message.register(unexpected_file, Magic(F.document | F.photo))
    router.message.register(unknown_message)
    return router
