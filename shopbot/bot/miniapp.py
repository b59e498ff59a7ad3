"""The bot's side of the Mini App storefront (``shopbot.web.miniapp``): the menu button that
opens it (the catalogue's "🛍 Open the shop" is ``keyboards.open_shop_button``), the Telegram
invoice links it pays with, and the chat's message about a cash order placed in it."""

from __future__ import annotations

import logging

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError
from aiogram.types import MenuButtonWebApp, WebAppInfo
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from shopbot.bot.i18n import PoI18n
from shopbot.bot.notifier import BotNotifier
from shopbot.bot.paying import create_invoice_link
from shopbot.config import Settings
from shopbot.models import Order, OutboxMessage
from shopbot.services.outbox import Sender, Undeliverable
from shopbot.services.storefront import APP_ORDER_PLACED
from shopbot.web.miniapp import InvoiceLinks, storefront_url

log = logging.getLogger(__name__)


async def set_menu_button(bot: Bot, settings: Settings, i18n: PoI18n) -> None:
    """The chat's menu button opens the Mini App (every chat, in the shop's default
    language). A refusal is logged, not fatal: the shop works without it."""
    url = storefront_url(settings)
    if url is None:
        return
    with i18n.context(), i18n.use_locale(settings.default_language):
        text = _("🛍 Shop")
    try:
        await bot.set_chat_menu_button(
            menu_button=MenuButtonWebApp(text=text, web_app=WebAppInfo(url=url))
        )
    except TelegramAPIError as exc:
        log.warning("Telegram refused the Mini App menu button (%s): check WEBAPP_URL", exc)


def invoice_links(bot: Bot, settings: Settings, i18n: PoI18n) -> InvoiceLinks:
    """Telegram invoice links for the Mini App, their texts in the shopper's language."""

    async def link(order: Order, language: str) -> str:
        with i18n.context(), i18n.use_locale(language):
            return await create_invoice_link(bot, order, settings)

    return link


def miniapp_senders(notifier: BotNotifier) -> dict[str, Sender]:
    """The outbox senders of the Mini App's kinds, by kind (see ``outbox.routed``)."""

    async def placed(session: AsyncSession, message: OutboxMessage) -> None:
        order = await session.get(Order, message.payload.get("order_id"), populate_existing=True)
        if order is None:
            raise Undeliverable(f"order {message.payload!r} no longer exists")
        await notifier.order_placed_in_app(order)

    return {APP_ORDER_PLACED: placed}
