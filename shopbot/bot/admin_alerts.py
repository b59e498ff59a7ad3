"""Messages to the shop's staff: a new order to act on, and products running low.

Sent to ``ADMIN_CHAT_ID`` when set, else to each of ``ADMIN_IDS``, each admin in their own
language. A chat that blocked the bot, or any other Telegram failure, is logged and skipped:
an alert never breaks the order or payment that caused it.
"""

from __future__ import annotations

import logging

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from shopbot.bot.i18n import create_i18n
from shopbot.bot.render import TEXT_LIMIT, h
from shopbot.bot.routers.admin.callbacks import AdminProductCb, ProductAction
from shopbot.bot.routers.admin.keyboards import order_admin_keyboard
from shopbot.bot.routers.admin.orders import order_card_of
from shopbot.config import Settings
from shopbot.db import write_transaction
from shopbot.models import Order, OrderStatus, Product, User

log = logging.getLogger(__name__)

_i18n = create_i18n()


async def _recipients(settings: Settings, session: AsyncSession) -> list[tuple[int, str]]:
    """(chat id, language) for each staff chat."""
    if settings.admin_chat_id is not None:
        return [(settings.admin_chat_id, settings.default_language)]
    languages = dict(
        (
            await session.execute(
                select(User.id, User.language).where(User.id.in_(settings.admin_ids))
            )
        ).all()
    )
    return [
        (admin_id, languages.get(admin_id, settings.default_language))
        for admin_id in settings.admin_ids
    ]


async def _send(bot: Bot, chat_id: int, text: str, markup: InlineKeyboardMarkup) -> None:
    try:
        await bot.send_message(chat_id, text[:TEXT_LIMIT], reply_markup=markup)
    except TelegramAPIError as exc:
        log.warning("staff alert to chat %s not delivered: %s", chat_id, exc)


async def alert_new_order(
    bot: Bot, settings: Settings, session: AsyncSession, order: Order
) -> None:
    """The order card (lines, contact, delivery, history) with buttons for its next statuses."""
    for chat_id, language in await _recipients(settings, session):
        with _i18n.context(), _i18n.use_locale(language):
            if order.status is OrderStatus.AWAITING_CONFIRMATION:
                headline = _("🆕 New cash order — please confirm it")
            else:
                headline = _("💰 New paid order")
            text = f"{headline}\n\n{await order_card_of(session, order)}"
            markup = order_admin_keyboard(order)
        await _send(bot, chat_id, text, markup)


async def alert_low_stock(
    bot: Bot, settings: Settings, session: AsyncSession, product_ids: list[int]
) -> None:
    """Alert once for each of these products at or below the threshold.

    The flag is claimed with a conditional update, so two sales racing to the threshold
    alert once; a product back above the threshold (a cancelled order returned its stock)
    is re-armed here too, since stock comes back by more paths than the stock service.
    """
    if not product_ids:
        return
    threshold = settings.low_stock_threshold
    async with write_transaction(session):
        await session.execute(
            update(Product)
            .where(
                Product.id.in_(product_ids),
                Product.stock > threshold,
                Product.low_stock_alerted.is_(True),
            )
            .values(low_stock_alerted=False)
        )
        claimed = (
            await session.execute(
                update(Product)
                .where(
                    Product.id.in_(product_ids),
                    Product.stock <= threshold,
                    Product.low_stock_alerted.is_(False),
                )
                .values(low_stock_alerted=True)
                .returning(Product.id, Product.sku, Product.name, Product.stock)
            )
        ).all()
    if not claimed:
        return
    claimed.sort(key=lambda row: row.sku)
    markup = InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(
                    text=f"{row.sku} — {row.stock}",
                    callback_data=AdminProductCb(
                        action=ProductAction.SHOW, product_id=row.id
                    ).pack(),
                )
            ]
            for row in claimed[:50]
        ]
    )
    for chat_id, language in await _recipients(settings, session):
        with _i18n.context(), _i18n.use_locale(language):
            lines = [_("📉 <b>Running low</b> (≤ {threshold}):").format(threshold=threshold)]
            lines += [
                _("• {name} ({sku}): {stock} left").format(
                    name=h(row.name), sku=h(row.sku), stock=row.stock
                )
                for row in claimed
            ]
        await _send(bot, chat_id, "\n".join(lines), markup)
