"""Paying for an order: the YooKassa link with "check payment", Telegram invoices
(pre-checkout re-checks the order, successful payments are recorded), cash orders."""

from __future__ import annotations

from aiogram import Bot, F, Router
from aiogram.types import CallbackQuery, Message, PreCheckoutQuery
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from shopbot.bot.callbacks import PayAction, PayCb
from shopbot.bot.notifier import shopper_status_text
from shopbot.bot.paying import offer_payment
from shopbot.bot.routers.filters import Magic
from shopbot.bot.routers.orders import presser_order
from shopbot.config import Settings
from shopbot.models import OrderMessageKind, OrderStatus
from shopbot.payments.base import PaymentError, PaymentProvider, ProviderUnavailable
from shopbot.payments.telegram import (
    PreCheckoutRefusal,
    record_successful_payment,
    validate_pre_checkout,
)
from shopbot.services import order_messages
from shopbot.services.notifications import payment_link_requested


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
    await payment_link_requested(session, order.id)
    sent = await offer_payment(
        bot,
        query.from_user.id,
        session,
        order,
        provider=payment_provider,
        settings=settings,
    )
    if sent is not None:
        await order_messages.remember(
            session, order.id, sent.chat.id, sent.message_id, OrderMessageKind.PAYMENT
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
