"""/orders_admin: every shopper's orders, an order card, and moving an order along.

Every move goes through the order state machine with the shown status as ``expect``, so a
button pressed after someone else moved the order is refused instead of skipping a step.
"""

from __future__ import annotations

import logging

from aiogram import F, Router
from aiogram.filters import Command, CommandObject
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from shopbot.bot.routers.admin.callbacks import AdminOrderCb, OrderAction, status_of
from shopbot.bot.routers.admin.keyboards import (
    ADMIN_TARGETS,
    confirm_refund_keyboard,
    order_admin_keyboard,
    orders_keyboard,
)
from shopbot.bot.routers.admin.products import actor
from shopbot.bot.routers.admin.texts import (
    moved,
    order_admin_card,
    orders_title,
    statuses_usage,
)
from shopbot.bot.texts import status_label
from shopbot.bot.ui import show
from shopbot.errors import IllegalTransition, OrderNotFound
from shopbot.models import Order, OrderStatus, User
from shopbot.money import format_price
from shopbot.payments.base import PaymentError, PaymentProvider, RefundStatus
from shopbot.services import admin, orders

log = logging.getLogger(__name__)

PAGE_SIZE = 8
S = OrderStatus


async def _render_list(
    target: Message | CallbackQuery, session: AsyncSession, status: OrderStatus | None, page: int
) -> None:
    found = await admin.all_orders(session, status, page, PAGE_SIZE)
    await show(target, orders_title(status, found.total), orders_keyboard(found, status))


async def order_card_of(session: AsyncSession, order: Order) -> str:
    shopper = await session.get(User, order.user_id)
    return order_admin_card(order, shopper, await orders.events_of(session, order.id))


async def list_command(message: Message, command: CommandObject, session: AsyncSession) -> None:
    raw = (command.args or "").strip().lower()
    status = None
    if raw:
        try:
            status = OrderStatus(raw)
        except ValueError:
            await message.answer(statuses_usage())
            return
    await _render_list(message, session, status, 0)


async def list_page(
    query: CallbackQuery, callback_data: AdminOrderCb, session: AsyncSession
) -> None:
    await _render_list(query, session, status_of(callback_data.status), callback_data.page)
    await query.answer()


async def _render_order(
    query: CallbackQuery, session: AsyncSession, order: Order, callback_data: AdminOrderCb
) -> None:
    markup = order_admin_keyboard(
        order, page=callback_data.page, status=status_of(callback_data.status)
    )
    await show(query, await order_card_of(session, order), markup)


async def show_order(
    query: CallbackQuery, callback_data: AdminOrderCb, session: AsyncSession
) -> None:
    try:
        order = await orders.get_order(session, callback_data.order_id)
    except OrderNotFound:
        await query.answer(_("Order not found."), show_alert=True)
        return
    await _render_order(query, session, order, callback_data)
    await query.answer()


async def mark_handled(
    query: CallbackQuery, callback_data: AdminOrderCb, session: AsyncSession
) -> None:
    """Clears the order's "needs attention" flag; the history keeps what it said."""
    try:
        await orders.get_order(session, callback_data.order_id)
    except OrderNotFound:
        await query.answer(_("Order not found."), show_alert=True)
        return
    cleared = await orders.clear_attention(
        session, callback_data.order_id, actor=actor(query.from_user.id)
    )
    order = await orders.get_order(session, callback_data.order_id)
    await _render_order(query, session, order, callback_data)
    await query.answer(_("Marked as handled.") if cleared else _("Already handled."))


async def move_order(
    query: CallbackQuery,
    callback_data: AdminOrderCb,
    session: AsyncSession,
    payment_provider: PaymentProvider,
) -> None:
    target = status_of(callback_data.target)
    expect = status_of(callback_data.expect)
    if target not in ADMIN_TARGETS or expect is None:
        await query.answer(_("This button is out of date."), show_alert=True)
        return
    try:
        order = await orders.get_order(session, callback_data.order_id)
    except OrderNotFound:
        await query.answer(_("Order not found."), show_alert=True)
        return
    refund = target is S.CANCELLED and expect is S.PAID and order.status is S.PAID
    if refund and callback_data.action is OrderAction.MOVE:
        # Money goes back to the shopper: one tap must not do it.
        question = _("Cancel order №{number} and refund {total} to the shopper?").format(
            number=order.number, total=format_price(order.total)
        )
        card = await order_card_of(session, order)
        await show(query, f"{card}\n\n<b>{question}</b>", confirm_refund_keyboard(callback_data))
        await query.answer()
        return
    who = actor(query.from_user.id)
    try:
        if refund:
            order, note = await _cancel_paid(session, order, who, payment_provider)
        else:
            change = await orders.transition(session, order.id, target, actor=who, expect=expect)
            order = change.order
            note = moved(order)
    except IllegalTransition:
        order = await orders.get_order(session, order.id)
        note = _("Not done: the order is already {status}.").format(
            status=status_label(order.status)
        )
    except PaymentError as exc:
        log.warning("refund of order %s failed: %s", order.id, exc)
        await query.answer(
            _("The refund failed: {error}").format(error=str(exc)[:150]), show_alert=True
        )
        return
    await _render_order(query, session, order, callback_data)
    await query.answer(note[:200], show_alert=True)


async def _cancel_paid(
    session: AsyncSession,
    order: Order,
    who: str,
    provider: PaymentProvider,
) -> tuple[Order, str]:
    """A paid order is cancelled by refunding it: through the provider that took the money
    when it can; otherwise the order is cancelled and the owner told to refund by hand."""
    if order.payment_provider == provider.name:
        result = await provider.refund(session, order, who)
        if result.status is RefundStatus.REFUNDED:
            return result.order, moved(result.order)
        if result.status is RefundStatus.PENDING:
            return result.order, _(
                "Refund requested; the order becomes refunded when the payment service confirms it."
            )
    change = await orders.transition(session, order.id, S.CANCELLED, actor=who, expect=S.PAID)
    return change.order, moved(change.order) + " " + _(
        "The money must be returned to the shopper by hand."
    )


def register(router: Router) -> None:
    router.message.register(list_command, Command("orders_admin"))
    router.callback_query.register(list_page, AdminOrderCb.filter(F.action == OrderAction.LIST))
    router.callback_query.register(show_order, AdminOrderCb.filter(F.action == OrderAction.SHOW))
    router.callback_query.register(
        move_order,
        AdminOrderCb.filter(F.action.in_({OrderAction.MOVE, OrderAction.CONFIRMED_MOVE})),
    )
    router.callback_query.register(
        mark_handled, AdminOrderCb.filter(F.action == OrderAction.HANDLED)
    )
