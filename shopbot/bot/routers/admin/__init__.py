"""The shop owner's commands: one router, guarded by one filter for every update it sees.

A non-admin's update fails the filter before any admin handler is looked at and goes on
to the other routers, so an admin command from anyone else is answered as an unknown one.

Where: an admin's commands and buttons work in their private chat with the bot, and in the
staff group (``ADMIN_CHAT_ID``) all but the personal ones (``/export_orders``: customers'
details in bulk). Elsewhere in groups admin commands get no answer at all, whoever sends
them, and a personal one in the staff group only a hint to use the private chat.
"""

from __future__ import annotations

from typing import Any

from aiogram import Bot, F, Router
from aiogram.enums import ChatType
from aiogram.filters import Command, Filter
from aiogram.types import (
    BotCommandScopeChat,
    BotCommandScopeChatMember,
    CallbackQuery,
    Chat,
    Message,
    TelegramObject,
)
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from shopbot.bot.commands import shopper_commands
from shopbot.bot.keyboards import MENU_ADMIN
from shopbot.bot.render import TEXT_LIMIT, clip
from shopbot.bot.routers.admin import (
    catalog_io,
    faq,
    followups,
    mailing,
    marketing,
    orders,
    products,
    promo,
    staff,
)
from shopbot.bot.routers.admin.callbacks import AdminMenuCb, MenuAction
from shopbot.bot.routers.admin.keyboards import admin_menu
from shopbot.bot.routers.admin.texts import admin_commands, admin_help, stats_text
from shopbot.bot.routers.filters import Magic
from shopbot.bot.routers.filters import menu_button as menu_label
from shopbot.config import Settings
from shopbot.models import utcnow
from shopbot.services.marketing import subscriber_figures
from shopbot.services.stats import period_start, sales_figures

# Every admin command (the test of this module checks the router registers no other), and
# those that put customers' personal details in the chat: never answered in a group.
COMMANDS = (
    "admin",
    "stats",
    "stock",
    "price",
    "hide",
    "show",
    "keywords",
    "synonyms",
    "product",
    "orders_admin",
    "import",
    "export",
    "export_orders",
    "faq",
    "faq_import",
    "faq_export",
    "subscribers",
    "reminders",
    "sale",
    "promo",
    "staff",
    "mailing",
    "mailings",
)
PERSONAL_COMMANDS = frozenset({"export_orders"})


def _in_staff_group(chat: Chat | None, settings: Settings) -> bool:
    return chat is not None and chat.id == settings.admin_chat_id and chat.type != ChatType.PRIVATE


def _command_of(event: TelegramObject) -> str | None:
    """The command a message starts with (``/name`` or ``/name@bot``), lower-cased."""
    if not isinstance(event, Message):
        return None
    words = (event.text or event.caption or "").split(maxsplit=1)
    if not words or not words[0].startswith("/"):
        return None
    return words[0][1:].split("@", 1)[0].lower()


class AdminOnly(Filter):
    """Passes the users listed in ADMIN_IDS (``is_admin``, set by the shopper middleware) in
    their private chat, and in the staff group except for the personal commands."""

    async def __call__(self, event: TelegramObject, **data: Any) -> bool:
        if not data.get("is_admin"):
            return False
        chat: Chat | None = data.get("event_chat")
        if chat is not None and chat.type == ChatType.PRIVATE:
            return True
        return _in_staff_group(chat, data["settings"]) and _command_of(event) not in (
            PERSONAL_COMMANDS
        )


async def admin_command_in_a_group(message: Message, is_admin: bool, settings: Settings) -> None:
    """An admin command the admin router did not take, in a group: a hint for an admin's
    personal command in the staff group, silence anywhere else (nobody in a group learns
    the admin commands from the shop's answers)."""
    if is_admin and _in_staff_group(message.chat, settings):
        await message.reply(
            _("This command works only in a private chat with me: it shows customers' details.")
        )


async def help_command(message: Message, bot: Bot) -> None:
    """The admin's help; from now on their command menu lists the admin commands too (set
    for their private chat, or for them alone in the staff group: shoppers never see them)."""
    if message.chat.type == ChatType.PRIVATE or message.from_user is None:
        scope: BotCommandScopeChat | BotCommandScopeChatMember = BotCommandScopeChat(
            chat_id=message.chat.id
        )
    else:
        scope = BotCommandScopeChatMember(chat_id=message.chat.id, user_id=message.from_user.id)
    await bot.set_my_commands(shopper_commands() + admin_commands(), scope=scope)
    await message.answer(admin_help(), reply_markup=admin_menu())


async def stats_text_now(session: AsyncSession, settings: Settings) -> str:
    """/stats: sales in each period, the audience for advertising, ratings and reminders."""
    now, zone = utcnow(), settings.shop_timezone
    figures = await sales_figures(session, now, zone)
    audience = await subscriber_figures(session, period_start(marketing.DAYS, now, zone))
    followups_block = await followups.stats_block(session, settings, now)
    return clip(f"{stats_text(figures, audience)}\n\n{followups_block}", TEXT_LIMIT)


async def stats_command(message: Message, session: AsyncSession, settings: Settings) -> None:
    await message.answer(
        await stats_text_now(session, settings), reply_markup=followups.stats_keyboard()
    )


async def menu_button(
    query: CallbackQuery, callback_data: AdminMenuCb, session: AsyncSession, settings: Settings
) -> None:
    if callback_data.action is MenuAction.EXPORT:
        await catalog_io.export_catalogue(query, session, settings)
    elif query.bot is not None:
        await query.bot.send_message(
            query.from_user.id,
            await stats_text_now(session, settings),
            reply_markup=followups.stats_keyboard(),
        )
    await query.answer()


def create_router() -> Router:
    router = Router(name="admin")
    admin_only = AdminOnly()
    router.message.filter(admin_only)
    router.callback_query.filter(admin_only)
    router.message.register(help_command, Command("admin"))
    router.message.register(help_command, menu_label(MENU_ADMIN))
    router.message.register(stats_command, Command("stats"))
    router.callback_query.register(menu_button, AdminMenuCb.filter())
    mailing.register(router)
    products.register(router)
    orders.register(router)
    faq.register(router)
    catalog_io.register(router)
    marketing.register(router)
    followups.register(router)
    promo.register(router)
    staff.register(router)
    return router


def create_group_guard() -> Router:
    """After the admin router: admin commands in groups that it did not take end here."""
    router = Router(name="admin_group_guard")
    router.message.register(
        admin_command_in_a_group,
        Magic(F.chat.type != ChatType.PRIVATE),
        Command(*COMMANDS),
    )
    return router
