"""/orders_admin: every shopper's orders, an order card, and moving an order along.

Every move goes through the order state machine with the shown status as ``expect``, so a
button pressed after someone else moved the order is refused instead of skipping a step.
"""

from __future__ import annotations

import html
import logging

from aiogram import F, Router
from aiogram.filters import Command, CommandObject, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import get_i18n
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from shopbot.bot.routers.admin.callbacks import AdminOrderCb, OrderAction, status_of
from shopbot.bot.routers.admin.keyboards import (
    ADMIN_TARGETS,
    cancel_reason_keyboard,
    confirm_cancel_keyboard,
    confirm_refund_keyboard,
    order_admin_keyboard,
    orders_keyboard,
)
from shopbot.bot.routers.admin.products import actor
from shopbot.bot.routers.admin.texts import (
    moved,
    order_admin_card,
    orders_title,
    people_of,
    status_named,
    statuses_usage,
)
from shopbot.bot.routers.filters import plain_text
from shopbot.bot.texts import status_label
from shopbot.bot.ui import show
from shopbot.errors import IllegalTransition, OrderNotFound
from shopbot.models import Order, OrderStatus, User
from shopbot.money import format_price
from shopbot.payments.base import PaymentError, PaymentProvider
from shopbot.payments.cancellation import Cancellation, Cancelled, cancel_order
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
    events = await orders.events_of(session, order.id)
    people = await people_of(session, [event.actor for event in events])
    return order_admin_card(order, shopper, events, people)


async def list_command(message: Message, command: CommandObject, session: AsyncSession) -> None:
    raw = (command.args or "").strip()
    status = None
    if raw:
        status = status_named(raw)
        if status is None:
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


class CancelStates(StatesGroup):
    reason = State()  # the owner confirmed a cancellation; their next text is the reason


REASON_LIMIT = 500  # characters of a cancellation's reason (the shopper's message holds it)


async def move_order(
    query: CallbackQuery,
    callback_data: AdminOrderCb,
    session: AsyncSession,
    state: FSMContext,
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
    if target is S.CANCELLED and callback_data.action is OrderAction.MOVE:
        # One tap must not cancel an order (nor send money back): ask first.
        if refund:
            question = _("Cancel order №{number} and refund {total} to the shopper?")
        else:
            question = _("Cancel order №{number}? Its items go back on sale.")
        question = question.format(number=order.number, total=format_price(order.total))
        card = await order_card_of(session, order)
        markup = (confirm_refund_keyboard if refund else confirm_cancel_keyboard)(callback_data)
        await show(query, f"{card}\n\n<b>{question}</b>", markup)
        await query.answer()
        return
    if (
        target is S.CANCELLED
        and not refund
        and callback_data.action is OrderAction.CONFIRMED_MOVE
        and order.status is expect
    ):
        # Confirmed: the reason the shopper will read comes next (or none, by the button).
        await state.set_state(CancelStates.reason)
        await state.update_data(cancel=callback_data.pack())
        prompt = _(
            "Write the reason for cancelling order №{number} in one message: the shopper "
            "will read it. Or cancel it without a reason."
        ).format(number=order.number)
        await show(query, prompt, cancel_reason_keyboard(callback_data))
        await query.answer()
        return
    await state.clear()
    who = actor(query.from_user.id)
    order, note, done = await _move(session, order, target, expect, who, payment_provider)
    if not done:
        await query.answer(note, show_alert=True)
        return
    await _render_order(query, session, order, callback_data)
    await query.answer(note[:200], show_alert=True)


async def cancel_reason(
    message: Message,
    state: FSMContext,
    session: AsyncSession,
    payment_provider: PaymentProvider,
) -> None:
    """The reason for a cancellation the owner confirmed: cancel, and tell the shopper why."""
    reason = (message.text or "").strip()
    if len(reason) > REASON_LIMIT:
        await message.answer(
            _("The reason is {length} characters long; please keep it within {limit}.").format(
                length=len(reason), limit=REASON_LIMIT
            )
        )
        return
    packed = (await state.get_data()).get("cancel")
    await state.clear()
    try:
        callback_data = AdminOrderCb.unpack(packed or "")
        order = await orders.get_order(session, callback_data.order_id)
    except (ValueError, TypeError, OrderNotFound):
        await message.answer(_("Order not found."))
        return
    expect = status_of(callback_data.expect)
    if expect is None:
        await message.answer(_("This button is out of date."))
        return
    who = actor(message.chat.id)
    order, note, _done = await _move(
        session, order, S.CANCELLED, expect, who, payment_provider, reason
    )
    markup = order_admin_keyboard(
        order, page=callback_data.page, status=status_of(callback_data.status)
    )
    await message.answer(await order_card_of(session, order), reply_markup=markup)
    await message.answer(note)


async def _move(
    session: AsyncSession,
    order: Order,
    target: OrderStatus,
    expect: OrderStatus,
    who: str,
    provider: PaymentProvider,
    reason: str | None = None,
) -> tuple[Order, str, bool]:
    """Move the order (a paid one cancelled through a refund): the order, what to tell the
    admin, and False if a refund failed. ``reason``: a cancellation's, for the shopper."""
    details = {"note": reason} if reason else None
    try:
        if target is S.CANCELLED:
            cancellation = await cancel_order(
                session, order, expect=expect, actor=who, provider=provider, details=details
            )
            return cancellation.order, _cancelled_note(cancellation), True
        change = await orders.transition(
            session, order.id, target, actor=who, expect=expect, details=details
        )
        return change.order, moved(change.order), True
    except IllegalTransition:
        order = await orders.get_order(session, order.id)
        note = _("Not done: the order is already {status}.").format(
            status=status_label(order.status)
        )
        return order, note, True
    except PaymentError as exc:
        log.warning("refund of order %s failed: %s", order.id, exc)
        error = html.escape(exc.text.render(get_i18n().current_locale)[:150])
        return order, _("The refund failed: {error}").format(error=error), False


def _cancelled_note(cancellation: Cancellation) -> str:
    """What the admin is told of a cancellation (a paid order's: of its refund)."""
    if cancellation.outcome is Cancelled.REFUND_PENDING:
        return _(
            "Refund requested; the order becomes refunded when the payment service confirms it."
        )
    note = moved(cancellation.order)
    if cancellation.outcome is Cancelled.REFUND_MANUAL:
        note += " " + _("The money must be returned to the shopper by hand.")
    return note


def register(router: Router) -> None:
    router.message.register(list_command, Command("orders_admin"))
    router.callback_query.register(list_page, AdminOrderCb.filter(F.action == OrderAction.LIST))
    router.callback_query.register(show_order, AdminOrderCb.filter(F.action == OrderAction.SHOW))
    router.callback_query.register(
        move_order,
        AdminOrderCb.filter(
            F.action.in_({OrderAction.MOVE, OrderAction.CONFIRMED_MOVE, OrderAction.NO_REASON})
        ),
    )
    router.message.register(cancel_reason, StateFilter(CancelStates.reason), plain_text())
    router.callback_query.register(
        mark_handled, AdminOrderCb.filter(F.action == OrderAction.HANDLED)
    )
