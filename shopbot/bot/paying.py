"""Offering a payment: the YooKassa link with "check payment", or a Telegram invoice. Used
when an order is placed (delivered from the outbox, see ``BotNotifier.payment_due``) and
when the shopper asks to pay again."""

from __future__ import annotations

import logging
from typing import Any

from aiogram import Bot
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup, LabeledPrice, Message
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from shopbot.bot.callbacks import PayAction, PayCb
from shopbot.bot.texts import order_placed
from shopbot.config import Settings
from shopbot.models import Order, OrderStatus
from shopbot.money import format_price
from shopbot.payments.base import NotPayable, PaymentError, PaymentProvider, ProviderUnavailable
from shopbot.payments.telegram import invoice_payload

log = logging.getLogger(__name__)


def payment_keyboard(order: Order, url: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(
                    text=_("💳 Pay {total}").format(total=format_price(order.total)), url=url
                )
            ],
            [
                InlineKeyboardButton(
                    text=_("🔄 Check payment"),
                    callback_data=PayCb(action=PayAction.CHECK, order_id=order.id).pack(),
                )
            ],
        ]
    )


async def offer_payment(
    bot: Bot,
    chat_id: int,
    session: AsyncSession,
    order: Order,
    *,
    provider: PaymentProvider,
    settings: Settings,
) -> Message | None:
    """After an order is placed (or when the shopper asks to pay again). Returns the message
    with the payment link, if one was sent."""
    if order.status is OrderStatus.AWAITING_CONFIRMATION:
        await bot.send_message(chat_id, order_placed(order))  # the staff hear via the outbox
        return None
    if settings.payment_provider == "telegram":
        await _send_invoice(bot, chat_id, order, settings)
        return None
    try:
        link = await provider.start(session, order)
    except NotPayable:
        await bot.send_message(chat_id, _("This order can no longer be paid."))
        return None
    except (ProviderUnavailable, PaymentError):
        log.exception("could not create a payment for order %s", order.id)
        await bot.send_message(
            chat_id,
            _("The payment service is not answering. Please try again in a minute."),
            reply_markup=InlineKeyboardMarkup(inline_keyboard=[[_retry_button(order)]]),
        )
        return None
    if link is None:
        await bot.send_message(chat_id, order_placed(order))
        return None
    return await bot.send_message(
        chat_id,
        order_placed(order)
        + "\n"
        + _(
            "The items are held for you for {minutes} min; an order not paid by then is cancelled."
        ).format(minutes=settings.order_payment_timeout),
        reply_markup=payment_keyboard(order, link.url),
    )


def _retry_button(order: Order) -> InlineKeyboardButton:
    return InlineKeyboardButton(
        text=_("💳 Try to pay again"),
        callback_data=PayCb(action=PayAction.PAY, order_id=order.id).pack(),
    )


async def _send_invoice(bot: Bot, chat_id: int, order: Order, settings: Settings) -> None:
    await bot.send_invoice(chat_id, **invoice_fields(order, settings))


async def create_invoice_link(bot: Bot, order: Order, settings: Settings) -> str:
    """The same invoice as a link (``createInvoiceLink``), which the Mini App opens with
    ``openInvoice``; paying it reaches the bot as the chat's invoice does."""
    return await bot.create_invoice_link(**invoice_fields(order, settings))


def invoice_fields(order: Order, settings: Settings) -> dict[str, Any]:
    """An invoice with a price line per order line (after its share of a promo code's
    discount) and one for delivery when it costs something: Telegram charges their sum,
    which is the order's total."""
    assert settings.telegram_provider_token is not None
    prices = [
        LabeledPrice(label=f"{line.name[:28]} × {line.quantity}", amount=line.paid_total)
        for line in order.lines
    ]
    if order.delivery_price:
        prices.append(LabeledPrice(label=_("Delivery"), amount=order.delivery_price))
    return {
        "title": _("Order №{number}").format(number=order.number),
        "description": ", ".join(f"{line.name} × {line.quantity}" for line in order.lines)[:255],
        "payload": invoice_payload(order),
        "provider_token": settings.telegram_provider_token.get_secret_value(),
        "currency": order.currency,
        "prices": prices,
    }
