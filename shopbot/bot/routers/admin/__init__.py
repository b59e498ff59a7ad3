"""The shop owner's commands: one router, guarded by one filter for every update it sees.

A non-admin's update fails the filter before any admin handler is looked at and goes on
to the other routers, so an admin command from anyone else is answered as an unknown one.
"""

from __future__ import annotations

from typing import Any

from aiogram import Bot, Router
from aiogram.filters import Command, Filter
from aiogram.types import BotCommandScopeChat, CallbackQuery, Message, TelegramObject
from sqlalchemy.ext.asyncio import AsyncSession

from shopbot.bot.commands import shopper_commands
from shopbot.bot.routers.admin import catalog_io, orders, products
from shopbot.bot.routers.admin.callbacks import AdminMenuCb, MenuAction
from shopbot.bot.routers.admin.keyboards import admin_menu
from shopbot.bot.routers.admin.texts import admin_commands, admin_help, stats_text
from shopbot.models import utcnow
from shopbot.services.stats import sales_figures


class AdminOnly(Filter):
    """Passes the users listed in ADMIN_IDS (``is_admin``, set by the shopper middleware)."""

    async def __call__(self, event: TelegramObject, **data: Any) -> bool:
        return bool(data.get("is_admin"))


async def help_command(message: Message, bot: Bot) -> None:
    """The admin's help; from now on their chat's command menu lists the admin commands too
    (set per chat: shoppers never see them)."""
    await bot.set_my_commands(
        shopper_commands() + admin_commands(), scope=BotCommandScopeChat(chat_id=message.chat.id)
    )
    await message.answer(admin_help(), reply_markup=admin_menu())


async def stats_command(message: Message, session: AsyncSession) -> None:
    await message.answer(stats_text(await sales_figures(session, utcnow())))


async def menu_button(
    query: CallbackQuery, callback_data: AdminMenuCb, session: AsyncSession
) -> None:
    if callback_data.action is MenuAction.EXPORT:
        await catalog_io.export_catalogue(query, session)
    elif query.bot is not None:
        text = stats_text(await sales_figures(session, utcnow()))
        await query.bot.send_message(query.from_user.id, text)
    await query.answer()


def create_router() -> Router:
    router = Router(name="admin")
    admin_only = AdminOnly()
    router.message.filter(admin_only)
    router.callback_query.filter(admin_only)
    router.message.register(help_command, Command("admin"))
    router.message.register(stats_command, Command("stats"))
    router.callback_query.register(menu_button, AdminMenuCb.filter())
    products.register(router)
    orders.register(router)
    catalog_io.register(router)
    return router
