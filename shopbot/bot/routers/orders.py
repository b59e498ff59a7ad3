"""The shopper's own orders: a list newest first, and an order card."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from shopbot.bot.callbacks import OrdersAction, OrdersCb
from shopbot.bot.keyboards import MENU_ORDERS, order_keyboard, orders_keyboard
from shopbot.bot.routers.filters import menu_button
from shopbot.bot.texts import order_card
from shopbot.bot.ui import show
from shopbot.errors import OrderNotFound
from shopbot.models import Order
from shopbot.services import orders
from shopbot.services.catalogue import Page

PAGE_SIZE = 6


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
    await show(query, order_card(order), order_keyboard(order))
    await query.answer()


def create_router() -> Router:
    router = Router(name="orders")
    router.message.register(list_orders, Command("orders"))
    router.message.register(list_orders, menu_button(MENU_ORDERS))
    router.callback_query.register(list_page, OrdersCb.filter(F.action == OrdersAction.LIST))
    router.callback_query.register(show_order, OrdersCb.filter(F.action == OrdersAction.SHOW))
    return router
