"""The cart: lines with −/+/remove, clear, and the way into checkout."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from shopbot.bot.callbacks import CartAction, CartCb
from shopbot.bot.keyboards import MENU_CART, cart_keyboard, clear_cart_keyboard
from shopbot.bot.routers.filters import menu_button
from shopbot.bot.texts import adjustments_text, cart_text, clear_question, no_more_in_stock
from shopbot.bot.ui import show
from shopbot.errors import OutOfStock
from shopbot.services import cart


async def render_cart(target: CallbackQuery | Message, session: AsyncSession, user_id: int) -> None:
    """Show the cart after bringing it in line with current stock, saying what changed."""
    await _show(target, await cart.reconcile(session, user_id))


async def _show(target: CallbackQuery | Message, current: cart.Cart) -> None:
    text = cart_text(current)
    if current.adjustments:
        text = adjustments_text(current.adjustments) + "\n\n" + text
    await show(target, text, cart_keyboard(current))


async def open_cart(message: Message, session: AsyncSession) -> None:
    await render_cart(message, session, message.chat.id)


async def show_cart(query: CallbackQuery, session: AsyncSession) -> None:
    await render_cart(query, session, query.from_user.id)
    await query.answer()


LINE_CHANGES = {
    CartAction.INC: cart.LineChange.ADD_ONE,
    CartAction.DEC: cart.LineChange.TAKE_ONE,
    CartAction.REMOVE: cart.LineChange.REMOVE,
}


async def change_line(query: CallbackQuery, callback_data: CartCb, session: AsyncSession) -> None:
    # The user id comes from Telegram, never from the button: a forged button can only
    # ever touch the presser's own cart.
    change = LINE_CHANGES[callback_data.action]
    current, refusal = await cart.press_line(
        session, query.from_user.id, callback_data.product_id, change
    )
    notice = None
    if isinstance(refusal, OutOfStock):
        notice = (
            no_more_in_stock(refusal.available)
            if refusal.available
            else _("Sorry, it is out of stock.")
        )
    elif refusal is not None:
        notice = _("Sorry, this product is not available any more.")
    await _show(query, current)
    await query.answer(notice)


async def ask_to_clear(query: CallbackQuery, session: AsyncSession) -> None:
    """🧹 asks first: a cart built over a while is not thrown away by one stray tap."""
    current = await cart.get_cart(session, query.from_user.id)
    if current.is_empty:
        await render_cart(query, session, query.from_user.id)
        await query.answer()
        return
    await show(query, clear_question(current), clear_cart_keyboard())
    await query.answer()


async def clear_cart(query: CallbackQuery, session: AsyncSession) -> None:
    await cart.clear(session, query.from_user.id)
    await render_cart(query, session, query.from_user.id)
    await query.answer(_("Cart cleared"))


async def informational(query: CallbackQuery) -> None:
    await query.answer()


def create_router() -> Router:
    router = Router(name="cart")
    router.message.register(open_cart, Command("cart"))
    router.message.register(open_cart, menu_button(MENU_CART))
    router.callback_query.register(show_cart, CartCb.filter(F.action == CartAction.SHOW))
    router.callback_query.register(
        change_line,
        CartCb.filter(F.action.in_({CartAction.INC, CartAction.DEC, CartAction.REMOVE})),
    )
    router.callback_query.register(ask_to_clear, CartCb.filter(F.action == CartAction.CLEAR))
    router.callback_query.register(
        clear_cart, CartCb.filter(F.action == CartAction.CLEAR_CONFIRMED)
    )
    router.callback_query.register(informational, CartCb.filter(F.action == CartAction.NOOP))
    return router
