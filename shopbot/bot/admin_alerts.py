"""Messages to the shop's staff: a new order to act on, an order that needs a person, and
products running low.

Sent to ``ADMIN_CHAT_ID`` when set, else to each of ``ADMIN_IDS``, each admin in their own
language. They are delivered from the outbox: a chat that blocked the bot is skipped; when
Telegram could take none of them for now (429, 5xx, the network), the outbox tries again.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiogram import Bot
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import get_i18n
from aiogram.utils.i18n import gettext as _
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from shopbot.bot.clock import shop_clock
from shopbot.bot.i18n import create_i18n
from shopbot.bot.render import TEXT_LIMIT, clip, h
from shopbot.bot.routers.admin.callbacks import AdminProductCb, ProductAction
from shopbot.bot.routers.admin.keyboards import order_admin_keyboard
from shopbot.bot.routers.admin.orders import order_card_of
from shopbot.bot.texts import order_card
from shopbot.config import Settings
from shopbot.i18n import render_stored
from shopbot.models import Order, OrderStatus, User
from shopbot.payments.cancellation import Cancelled
from shopbot.services.outbox import RetryLater

log = logging.getLogger(__name__)

_i18n = create_i18n()

Render = Callable[[], Awaitable[tuple[str, InlineKeyboardMarkup | None]]]


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


async def _to_staff(bot: Bot, settings: Settings, session: AsyncSession, render: Render) -> None:
    """Send to every staff chat (rendered in its language). Raises RetryLater when no chat
    could take it for a reason that passes; a chat that refused for good is logged."""
    retry: RetryLater | None = None
    delivered = False
    for chat_id, language in await _recipients(settings, session):
        with _i18n.context(), _i18n.use_locale(language), shop_clock(settings.shop_timezone):
            text, markup = await render()
        try:
            await bot.send_message(chat_id, clip(text, TEXT_LIMIT), reply_markup=markup)
        except TelegramRetryAfter as exc:
            retry = RetryLater(str(exc), after=exc.retry_after)
        except (TelegramServerError, TelegramNetworkError) as exc:
            retry = RetryLater(str(exc))
        except TelegramAPIError as exc:
            log.warning("staff alert to chat %s not delivered: %s", chat_id, exc)
        else:
            delivered = True
    if retry is not None and not delivered:
        raise retry


async def alert_staff(bot: Bot, settings: Settings, session: AsyncSession, render: Render) -> None:
    """A staff alert of another area (a low rating...), sent as these are: to every staff
    chat, rendered in its language, RetryLater when none could take it for now."""
    await _to_staff(bot, settings, session, render)


async def alert_new_order(
    bot: Bot, settings: Settings, session: AsyncSession, order: Order
) -> None:
    """The order card (lines, contact, delivery, history) with buttons for its next statuses."""

    async def render() -> tuple[str, InlineKeyboardMarkup | None]:
        if order.status is OrderStatus.AWAITING_CONFIRMATION:
            headline = _("🆕 New cash order — please confirm it")
        else:
            headline = _("💰 New paid order")
        card = await order_card_of(session, order)
        return f"{headline}\n\n{card}", order_admin_keyboard(order)

    await _to_staff(bot, settings, session, render)


async def alert_attention(
    bot: Bot, settings: Settings, session: AsyncSession, order: Order, reason: str
) -> None:
    async def render() -> tuple[str, InlineKeyboardMarkup | None]:
        words = render_stored(reason, get_i18n().current_locale)
        text = _("⚠ Order №{number} needs attention: {reason}").format(
            number=order.number, reason=h(words)
        )
        return f"{text}\n\n{order_card(order)}", None

    await _to_staff(bot, settings, session, render)


async def alert_cancelled_by_shopper(
    bot: Bot, settings: Settings, session: AsyncSession, order: Order, outcome: str
) -> None:
    """The shopper cancelled an order the staff knew of: what became of the money, and the
    card with the buttons left (a refund made by hand is marked there)."""

    async def render() -> tuple[str, InlineKeyboardMarkup | None]:
        money = {
            Cancelled.CANCELLED: _("Its items are back on sale."),
            Cancelled.REFUNDED: _(
                "The money went back to the shopper through the payment service."
            ),
            Cancelled.REFUND_PENDING: _(
                "Refund requested; the order becomes refunded when the payment service confirms it."
            ),
            Cancelled.REFUND_MANUAL: _("The money must be returned to the shopper by hand."),
        }
        headline = _("✖ The shopper cancelled order №{number}.").format(number=order.number)
        line = money.get(outcome, "")  # a StrEnum's members are their values
        card = await order_card_of(session, order)
        return f"{headline} {line}\n\n{card}", order_admin_keyboard(order)

    await _to_staff(bot, settings, session, render)


async def alert_shopper_message(
    bot: Bot, settings: Settings, session: AsyncSession, order: Order, text: str
) -> None:
    """What a shopper wrote about their order, above the order's card (name, @username,
    phone: how to answer them)."""

    async def render() -> tuple[str, InlineKeyboardMarkup | None]:
        headline = _("💬 The shopper writes about order №{number}:").format(number=order.number)
        card = await order_card_of(session, order)
        return f"{headline}\n<blockquote>{h(text)}</blockquote>\n\n{card}", order_admin_keyboard(
            order
        )

    await _to_staff(bot, settings, session, render)


async def alert_shopper_question(
    bot: Bot, settings: Settings, session: AsyncSession, user_id: int, text: str
) -> None:
    """What a shopper wrote to a manager about no order, with who they are (how to answer)."""
    user = await session.get(User, user_id)

    async def render() -> tuple[str, InlineKeyboardMarkup | None]:
        who = [h(user.first_name if user is not None else "")]
        if user is not None and user.username:
            who.append(f"@{h(user.username)}")
        if user is not None and user.phone:
            who.append(h(user.phone))
        headline = _("💬 A shopper writes to a manager:")
        shopper = _("Shopper: {who} (id {id})").format(
            who=", ".join(part for part in who if part), id=user_id
        )
        return f"{headline}\n<blockquote>{h(text)}</blockquote>\n\n{shopper}", None

    await _to_staff(bot, settings, session, render)


async def alert_low_stock(
    bot: Bot, settings: Settings, session: AsyncSession, threshold: int, products: list[dict]
) -> None:
    """One message listing the products that reached the threshold, each a button to its
    admin card."""
    markup = InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(
                    text=f"{row['sku']} — {row['stock']}",
                    callback_data=AdminProductCb(
                        action=ProductAction.SHOW, product_id=row["id"]
                    ).pack(),
                )
            ]
            for row in products[:50]
        ]
    )

    async def render() -> tuple[str, InlineKeyboardMarkup | None]:
        lines = [_("📉 <b>Running low</b> (≤ {threshold}):").format(threshold=threshold)]
        lines += [
            _("• {name} ({sku}): {stock} left").format(
                name=h(row["name"]), sku=h(row["sku"]), stock=row["stock"]
            )
            for row in products
        ]
        return "\n".join(lines), markup

    await _to_staff(bot, settings, session, render)
