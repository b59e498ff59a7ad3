"""The shopper's own orders: a list newest first, an order card, cancelling an order not
yet shipped (a paid one through a refund, asked first) and writing to the shop about it."""

from __future__ import annotations

import logging

from aiogram import F, Router
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from shopbot.bot.callbacks import CancelOrderCb, OrdersAction, OrdersCb
from shopbot.bot.keyboards import (
    MENU_ORDERS,
    cancel_order_keyboard,
    cart_keyboard,
    main_menu,
    order_keyboard,
    orders_keyboard,
)
from shopbot.bot.notifier import shopper_status_text
from shopbot.bot.order_views import card_view
from shopbot.bot.render import TEXT_LIMIT, clip, h
from shopbot.bot.routers.filters import Magic, menu_button, plain_text
from shopbot.bot.texts import cart_text, order_card, returned_text, status_label
from shopbot.bot.ui import show
from shopbot.config import Settings
from shopbot.errors import IllegalTransition, OrderNotFound
from shopbot.models import Order, OrderMessageKind, OrderStatus
from shopbot.money import format_price
from shopbot.payments.base import PaymentError, PaymentProvider
from shopbot.payments.cancellation import SHOPPER_CANCELLABLE, Cancelled, cancel_own_order
from shopbot.services import cart, order_messages, orders
from shopbot.services.catalogue import Page

log = logging.getLogger(__name__)

PAGE_SIZE = 6
MESSAGE_LIMIT = 2000  # characters of a message to the shop (it goes above the order's card)


class ContactForm(StatesGroup):
    message = State()  # the shopper's next text goes to the shop, about the order in data


async def _render_list(
    target: CallbackQuery | Message, session: AsyncSession, user_id: int, page: int
) -> None:
    found, total = await orders.orders_of_user(
        session, user_id, limit=PAGE_SIZE, offset=max(page, 0) * PAGE_SIZE
    )
    pages = max(1, -(-total // PAGE_SIZE))
    if total == 0:
        await show(target, _("You have no orders yet."))
        return
    text = _("📦 <b>Your orders</b> ({total})").format(total=total)
    await show(
        target, text, orders_keyboard(found, Page(found, min(page, pages - 1), pages, total))
    )


async def list_orders(message: Message, session: AsyncSession) -> None:
    await _render_list(message, session, message.chat.id, 0)


async def list_page(query: CallbackQuery, callback_data: OrdersCb, session: AsyncSession) -> None:
    await _render_list(query, session, query.from_user.id, callback_data.page)
    if isinstance(query.message, Message):  # an order's card, if it was one, is gone
        await order_messages.release(session, query.message.chat.id, query.message.message_id)
    await query.answer()


async def presser_order(query: CallbackQuery, session: AsyncSession, order_id: int) -> Order | None:
    """The order a button names, only if it belongs to whoever pressed it (answered if not)."""
    try:
        return await orders.order_of_user(session, query.from_user.id, order_id)
    except OrderNotFound:
        await query.answer(_("Order not found."), show_alert=True)
        return None


async def show_order(query: CallbackQuery, callback_data: OrdersCb, session: AsyncSession) -> None:
    order = await presser_order(query, session, callback_data.order_id)
    if order is None:
        return
    failed = await orders.payment_failed(session, order.id)
    shown = await show(query, *card_view(order, back=True, payment_failed=failed))
    if shown is not None:
        await order_messages.remember(
            session, order.id, shown.chat.id, shown.message_id, OrderMessageKind.CARD
        )
    await query.answer()


async def ask_cancel(query: CallbackQuery, callback_data: OrdersCb, session: AsyncSession) -> None:
    """One tap must not cancel an order, nor send money back: "are you sure?" first, with
    the amount to be refunded for a paid order."""
    order = await presser_order(query, session, callback_data.order_id)
    if order is None:
        return
    if order.status not in SHOPPER_CANCELLABLE:
        await query.answer(_not_cancellable(order), show_alert=True)
        await show(query, order_card(order), order_keyboard(order))
        return
    if order.status is OrderStatus.PAID:
        question = _(
            "Are you sure you want to cancel order №{number}? "
            "We will refund {total} the way you paid."
        )
    else:
        question = _("Are you sure you want to cancel order №{number}?")
    question = question.format(number=order.number, total=format_price(order.total))
    await show(query, f"{order_card(order)}\n\n<b>{question}</b>", cancel_order_keyboard(order))
    await query.answer()


def _not_cancellable(order: Order) -> str:
    return _("This order can no longer be cancelled: it is {status}.").format(
        status=status_label(order.status)
    )


async def cancel_confirmed(
    query: CallbackQuery,
    callback_data: CancelOrderCb,
    session: AsyncSession,
    payment_provider: PaymentProvider,
) -> None:
    try:
        cancellation = await cancel_own_order(
            session,
            query.from_user.id,
            callback_data.order_id,
            expect=callback_data.expect,
            provider=payment_provider,
        )
    except OrderNotFound:
        await query.answer(_("Order not found."), show_alert=True)
        return
    except (IllegalTransition, PaymentError) as exc:
        order = await orders.order_of_user(session, query.from_user.id, callback_data.order_id)
        if isinstance(exc, IllegalTransition):
            notice = _not_cancellable(order)
        else:
            log.warning("refund of order %s failed: %s", order.id, exc)
            notice = _(
                "The refund could not be made just now, so the order is not cancelled. "
                "Please try again in a few minutes or contact the shop."
            )
        await query.answer(notice, show_alert=True)
        await show(query, order_card(order), order_keyboard(order))
        return
    order, outcome = cancellation.order, cancellation.outcome
    total = format_price(order.total)
    if outcome is Cancelled.REFUND_PENDING:
        note = _(
            "The refund of {total} for order №{number} is under way. "
            "Banks usually return the money within a few days."
        )
    elif outcome is Cancelled.REFUND_MANUAL:
        note = _("Order №{number} is cancelled. The shop will return {total} to you.")
    else:
        note = _("Order №{number} is cancelled.")
    note = note.format(number=order.number, total=total)
    pending = outcome is Cancelled.REFUND_PENDING
    await show(
        query, f"{order_card(order)}\n\n{note}", order_keyboard(order, cancellable=not pending)
    )
    await query.answer(note[:200], show_alert=outcome is not Cancelled.CANCELLED)


async def contact_shop(
    query: CallbackQuery,
    callback_data: OrdersCb,
    session: AsyncSession,
    state: FSMContext,
    settings: Settings,
    is_admin: bool,
) -> None:
    """The shop's contact, and (when the shop has staff to read it) an offer to pass the
    shopper's next message on to them, naming the order. The menu comes with it: this may
    end a checkout left at the phone step, whose keyboard it replaces."""
    order = await presser_order(query, session, callback_data.order_id)
    if order is None:
        return
    lines = []
    if settings.shop_contact:
        lines.append(_("Contact the shop: {contact}").format(contact=h(settings.shop_contact)))
    if settings.admin_chat_id is not None or settings.admin_ids:
        await state.set_state(ContactForm.message)
        await state.update_data(contact_order=order.id)
        lines.append(
            _(
                "Write here, in one message, what to tell the shop about order №{number}: "
                "I will pass it on."
            ).format(number=order.number)
        )
    if not lines:
        await query.answer(_("Sorry, the shop has not left a contact."), show_alert=True)
        return
    await query.answer()
    assert query.bot is not None
    await query.bot.send_message(
        query.from_user.id, "\n\n".join(lines), reply_markup=main_menu(admin=is_admin)
    )


async def contact_typed(message: Message, session: AsyncSession, state: FSMContext) -> None:
    text = (message.text or "").strip()
    if len(text) > MESSAGE_LIMIT:
        await message.answer(
            _("The message is too long. Please shorten it to {limit} characters.").format(
                limit=MESSAGE_LIMIT
            )
        )
        return
    order_id = (await state.get_data()).get("contact_order")
    await state.set_state(None)
    assert message.from_user is not None
    try:
        await orders.write_to_shop(session, message.from_user.id, int(order_id or 0), text)
    except OrderNotFound:
        await message.answer(_("Order not found."))
        return
    await message.answer(_("✅ Message sent. The shop will get in touch with you."))


async def contact_not_text(message: Message) -> None:
    await message.answer(_("Please write your message as text, or /cancel."))


async def return_to_cart(
    query: CallbackQuery, callback_data: OrdersCb, session: AsyncSession
) -> None:
    """Put a cancelled, expired or earlier order's items back in the cart (today's prices
    and stock, with what changed said) and show the cart below the order's card."""
    order = await presser_order(query, session, callback_data.order_id)
    if order is None:
        return
    if order.status not in orders.REORDERABLE:
        await query.answer(shopper_status_text(order)[:200], show_alert=True)
        return
    returned = await cart.return_order(session, query.from_user.id, order.lines)
    await query.answer()
    current = await cart.reconcile(session, query.from_user.id)
    text = returned_text(order, returned) + "\n\n" + cart_text(current)
    assert query.bot is not None
    await query.bot.send_message(
        query.from_user.id, clip(text, TEXT_LIMIT), reply_markup=cart_keyboard(current)
    )


def create_router() -> Router:
    router = Router(name="orders")
    router.message.register(list_orders, Command("orders"))
    router.message.register(list_orders, menu_button(MENU_ORDERS))
    router.callback_query.register(list_page, OrdersCb.filter(F.action == OrdersAction.LIST))
    router.callback_query.register(show_order, OrdersCb.filter(F.action == OrdersAction.SHOW))
    router.callback_query.register(ask_cancel, OrdersCb.filter(F.action == OrdersAction.CANCEL))
    router.callback_query.register(cancel_confirmed, CancelOrderCb.filter())
    router.callback_query.register(contact_shop, OrdersCb.filter(F.action == OrdersAction.CONTACT))
    router.message.register(contact_typed, StateFilter(ContactForm.message), plain_text())
    router.message.register(contact_not_text, StateFilter(ContactForm.message), Magic(~F.text))
    router.callback_query.register(return_to_cart, OrdersCb.filter(F.action == OrdersAction.RETURN))
    return router
