"""Paying for an order: the YooKassa link with "check payment", Telegram invoices
(pre-checkout re-checks the order, successful payments are recorded), cash orders."""

from __future__ import annotations

import logging

from aiogram import Bot, F, Router
from aiogram.types import (
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    LabeledPrice,
    Message,
    PreCheckoutQuery,
)
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from shopbot.bot.callbacks import PayAction, PayCb
from shopbot.bot.notifier import shopper_status_text
from shopbot.bot.routers.filters import Magic
from shopbot.bot.routers.orders import presser_order
from shopbot.bot.texts import order_placed
from shopbot.config import Settings
from shopbot.models import Order, OrderStatus
from shopbot.money import format_price
from shopbot.payments.base import NotPayable, PaymentError, PaymentProvider, ProviderUnavailable
from shopbot.payments.telegram import (
    PreCheckoutRefusal,
    invoice_payload,
    record_successful_payment,
    validate_pre_checkout,
)

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
) -> None:
    """After an order is placed (or when the shopper asks to pay again)."""
    if order.status is OrderStatus.AWAITING_CONFIRMATION:
        await bot.send_message(chat_id, order_placed(order))  # the staff hear via the outbox
        return
    if settings.payment_provider == "telegram":
        await _send_invoice(bot, chat_id, order, settings)
        return
    try:
        link = await provider.start(session, order)
    except NotPayable:
        await bot.send_message(chat_id, _("This order can no longer be paid."))
        return
    except (ProviderUnavailable, PaymentError):
        log.exception("could not create a payment for order %s", order.id)
        await bot.send_message(
            chat_id,
            _("The payment service is not answering. Please try again in a minute."),
            reply_markup=InlineKeyboardMarkup(inline_keyboard=[[_retry_button(order)]]),
        )
        return
    if link is None:
        await bot.send_message(chat_id, order_placed(order))
        return
    await bot.send_message(
        chat_id,
        order_placed(order)
        + "\n"
        + _("Pay within {minutes} min, or the order is cancelled.").format(
            minutes=settings.order_payment_timeout
        ),
        reply_markup=payment_keyboard(order, link.url),
    )


def _retry_button(order: Order) -> InlineKeyboardButton:
    return InlineKeyboardButton(
        text=_("💳 Try to pay again"),
        callback_data=PayCb(action=PayAction.PAY, order_id=order.id).pack(),
    )


async def _send_invoice(bot: Bot, chat_id: int, order: Order, settings: Settings) -> None:
    """An invoice with a price line per order line and one for delivery when it costs
    something: Telegram charges their sum, which is the order's total."""
    assert settings.telegram_provider_token is not None
    prices = [
        LabeledPrice(label=f"{line.name[:28]} × {line.quantity}", amount=line.line_total)
        for line in order.lines
    ]
    if order.delivery_price:
        prices.append(LabeledPrice(label=_("Delivery"), amount=order.delivery_price))
    await bot.send_invoice(
        chat_id,
        title=_("Order №{number}").format(number=order.number),
        description=", ".join(f"{line.name} × {line.quantity}" for line in order.lines)[:255],
        payload=invoice_payload(order),
        provider_token=settings.telegram_provider_token.get_secret_value(),
        currency=order.currency,
        prices=prices,
    )


async def pay_again(
    query: CallbackQuery,
    callback_data: PayCb,
    session: AsyncSession,
    bot: Bot,
    payment_provider: PaymentProvider,
    settings: Settings,
) -> None:
    order = await presser_order(query, session, callback_data.order_id)
    if order is None:
        return
    if order.status is not OrderStatus.AWAITING_PAYMENT:
        await query.answer(shopper_status_text(order), show_alert=True)
        return
    await query.answer()
    await offer_payment(
        bot,
        query.from_user.id,
        session,
        order,
        provider=payment_provider,
        settings=settings,
    )


async def check_payment(
    query: CallbackQuery,
    callback_data: PayCb,
    session: AsyncSession,
    payment_provider: PaymentProvider,
) -> None:
    order = await presser_order(query, session, callback_data.order_id)
    if order is None:
        return
    try:
        order = await payment_provider.refresh(session, order)
    except (ProviderUnavailable, PaymentError):
        await query.answer(
            _("The payment service is not answering. Please try again in a minute."),
            show_alert=True,
        )
        return
    if order.status is OrderStatus.AWAITING_PAYMENT:
        await query.answer(
            _("No payment yet. If you have just paid, wait a few seconds and check again."),
            show_alert=True,
        )
        return
    await query.answer(shopper_status_text(order)[:200], show_alert=True)


def _refusal_text(refusal: PreCheckoutRefusal) -> str:
    return {
        PreCheckoutRefusal.UNKNOWN_ORDER: _("Order not found."),
        PreCheckoutRefusal.NOT_PAYABLE: _(
            "This order can no longer be paid: it is paid, cancelled or expired."
        ),
        PreCheckoutRefusal.AMOUNT_CHANGED: _(
            "The invoice amount differs from the order. Open the order and pay again."
        ),
        PreCheckoutRefusal.WRONG_CURRENCY: _("Only payments in roubles are accepted."),
    }[refusal]


async def pre_checkout(query: PreCheckoutQuery, session: AsyncSession) -> None:
    """Telegram asks whether to take the money: only for an order still reserved, same sum."""
    refusal = await validate_pre_checkout(
        session, query.invoice_payload, query.total_amount, query.currency
    )
    if refusal is None:
        await query.answer(ok=True)
    else:
        await query.answer(ok=False, error_message=_refusal_text(refusal))


async def successful_payment(message: Message, session: AsyncSession) -> None:
    payment = message.successful_payment
    assert payment is not None
    await record_successful_payment(
        session,
        payment.invoice_payload,
        payment.telegram_payment_charge_id,
        payment.provider_payment_charge_id,
        payment.total_amount,
        currency=payment.currency,
    )


def create_router() -> Router:
    router = Router(name="payments")
    router.callback_query.register(pay_again, PayCb.filter(F.action == PayAction.PAY))
    router.callback_query.register(check_payment, PayCb.filter(F.action == PayAction.CHECK))
    router.pre_checkout_query.register(pre_checkout)
    router.message.register(successful_payment, Magic(F.successful_payment))
    return router
