"""Checkout as a conversation: name → phone → delivery (→ address) → comment → confirm.

The step and answers live in FSM storage (the shop's database by default), so a restart in
the middle of checkout loses nothing. The order itself is placed by the core service with
a checkout token kept in FSM data: a double tap on Confirm yields one order.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from aiogram import Bot, F, Router
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from shopbot.bot.callbacks import CartAction, CartCb, CheckoutAction, CheckoutCb, DeliveryCb
from shopbot.bot.keyboards import (
    confirm_keyboard,
    delivery_keyboard,
    main_menu,
    name_keyboard,
    phone_keyboard,
    skip_comment_keyboard,
)
from shopbot.bot.order_views import card_view, summary_view
from shopbot.bot.promo_texts import refusal_text
from shopbot.bot.render import TEXT_LIMIT, clip
from shopbot.bot.routers import promotions
from shopbot.bot.routers.cart import render_cart
from shopbot.bot.routers.filters import Magic, plain_text
from shopbot.bot.texts import (
    adjustments_text,
    checkout_summary,
    delivery_choice,
    delivery_question,
    order_placed,
    priced,
    ran_out,
)
from shopbot.bot.ui import show
from shopbot.config import Settings
from shopbot.errors import EmptyCart, OrderTooLarge, OutOfStock, ProductUnavailable, TotalChanged
from shopbot.models import DeliveryMethod, Order, OrderMessageKind, OrderStatus
from shopbot.money import format_price
from shopbot.payments.base import PaymentProvider
from shopbot.phones import normalise_phone
from shopbot.services import cart, order_messages, orders
from shopbot.services.delivery import DeliveryOption, find_option
from shopbot.services.orders import Checkout
from shopbot.services.promo import PromoRefused
from shopbot.services.users import save_phone

NAME_LIMIT = 100
ADDRESS_LIMIT = 500
COMMENT_LIMIT = 500


class CheckoutForm(StatesGroup):
    name = State()
    phone = State()
    delivery = State()
    address = State()
    comment = State()
    confirm = State()
    promo = State()  # typing a promo code (shopbot.bot.routers.promo_checkout)


async def cancel(message: Message, state: FSMContext, is_admin: bool) -> None:
    """Leaves checkout, or whatever question is pending (a search, a message to the shop)."""
    menu = main_menu(admin=is_admin)
    current = await state.get_state()
    if current is None:
        await message.answer(_("There is nothing to cancel."), reply_markup=menu)
        return
    if current not in CheckoutForm:
        await state.set_state(None)
        await message.answer(_("Cancelled."), reply_markup=menu)
        return
    await state.clear()
    await message.answer(_("Checkout cancelled. Your cart is kept."), reply_markup=menu)


async def begin(query: CallbackQuery, session: AsyncSession, state: FSMContext) -> None:
    """Start checkout from a cart message. A second press on the same message while its
    checkout is going (a double tap, an impatient tap) starts nothing: the shopper is
    pointed at the question already asked. A press on another cart message starts over."""
    assert query.message is not None
    cart_message = query.message.message_id
    in_checkout = await state.get_state() in CheckoutForm
    if in_checkout and (await state.get_data()).get("cart_message") == cart_message:
        await query.answer(_("Already checking out: please answer the question below."))
        return
    current = await cart.reconcile(session, query.from_user.id)
    if current.adjustments or not current.can_check_out:
        await query.answer(_("Your cart changed, please check it."), show_alert=True)
        await render_cart(query, session, query.from_user.id)
        return
    code = await promotions.kept_code(state)  # from a /start promo_CODE link
    await state.clear()
    await state.set_state(CheckoutForm.name)
    await state.update_data(cart_message=cart_message, **{promotions.PROMO_KEY: code})
    await query.answer()
    await query.message.answer(
        _("Checkout. /cancel leaves it at any step.\n\nWhat name should the order be under?"),
        reply_markup=name_keyboard(query.from_user.full_name),
    )


async def _ask_phone(message: Message, state: FSMContext) -> None:
    await state.set_state(CheckoutForm.phone)
    await message.answer(
        _("Your phone number? Tap the button below to share it, or type it."),
        reply_markup=phone_keyboard(),
    )


async def name_from_profile(query: CallbackQuery, state: FSMContext) -> None:
    await state.update_data(name=query.from_user.full_name[:NAME_LIMIT])
    await query.answer()
    assert isinstance(query.message, Message)
    await _ask_phone(query.message, state)


async def name_typed(message: Message, state: FSMContext) -> None:
    name = (message.text or "").strip()
    if not name or len(name) > NAME_LIMIT:
        await message.answer(_("Please type a name (up to {n} characters).").format(n=NAME_LIMIT))
        return
    await state.update_data(name=name)
    await _ask_phone(message, state)


async def phone_shared(
    message: Message,
    state: FSMContext,
    session: AsyncSession,
    settings: Settings,
    is_admin: bool,
) -> None:
    contact = message.contact
    assert contact is not None and message.from_user is not None
    if contact.user_id is not None and contact.user_id != message.from_user.id:
        await message.answer(_("Please share your own number, or type it."))
        return
    phone = normalise_phone(contact.phone_number, shared=True)
    if phone is None:
        await message.answer(_("This does not look like a phone number. Please type it."))
        return
    await save_phone(session, message.from_user.id, phone)
    await _phone_done(message, state, session, settings, phone, is_admin)


async def phone_typed(
    message: Message, state: FSMContext, session: AsyncSession, settings: Settings, is_admin: bool
) -> None:
    phone = normalise_phone(message.text or "")
    if phone is None:
        await message.answer(_("This does not look like a phone number. Example: +7 900 123-45-67"))
        return
    await _phone_done(message, state, session, settings, phone, is_admin)


async def _phone_done(
    message: Message,
    state: FSMContext,
    session: AsyncSession,
    settings: Settings,
    phone: str,
    is_admin: bool,
) -> None:
    await state.update_data(phone=phone)
    # The phone step was the only one that needed the keyboard: the menu comes back with
    # its last message (a reply keyboard stays once sent, so nothing later must restore it).
    await message.answer(
        _("Phone saved: {phone}").format(phone=phone), reply_markup=main_menu(admin=is_admin)
    )
    await _ask_delivery(message, state, session, settings)


async def _ask_delivery(
    message: Message, state: FSMContext, session: AsyncSession, settings: Settings
) -> None:
    """The delivery options with their prices for the cart as it is now."""
    await state.set_state(CheckoutForm.delivery)
    assert message.chat is not None
    subtotal = (await cart.get_cart(session, message.chat.id)).total
    options = settings.delivery_options
    await message.answer(
        delivery_question(options, subtotal), reply_markup=delivery_keyboard(options, subtotal)
    )


def chosen_option(settings: Settings, data: dict) -> DeliveryOption | None:
    """The delivery option a checkout chose, from the shop's current settings: by its id,
    or (a checkout begun before options had ids) the first of its kind. None when the shop
    no longer offers it, or it is now of another kind (a courier needs the address that a
    pickup did not ask for)."""
    options, kind = settings.delivery_options, data.get("delivery")
    if option_id := data.get("delivery_option"):
        option = find_option(options, option_id)
    else:
        option = next((option for option in options if option.kind == kind), None)
    return option if option is not None and option.kind == kind else None


async def delivery_chosen(
    query: CallbackQuery,
    callback_data: DeliveryCb,
    state: FSMContext,
    session: AsyncSession,
    settings: Settings,
) -> None:
    assert isinstance(query.message, Message)
    option = find_option(settings.delivery_options, callback_data.option)
    if option is None:  # the shop changed its options since these buttons were sent
        await query.answer(_("This delivery option is no longer offered."), show_alert=True)
        await _ask_delivery(query.message, state, session, settings)
        return
    await query.answer()
    await state.update_data(delivery=option.kind.value, delivery_option=option.id, address=None)
    subtotal = (await cart.get_cart(session, query.from_user.id)).total
    await show(
        query,
        delivery_choice(option, subtotal, with_price=priced(settings.delivery_options)),
    )
    if option.kind is DeliveryMethod.PICKUP:
        await _ask_comment(query.message, state)
        return
    await state.set_state(CheckoutForm.address)
    await query.message.answer(_("Delivery address (city, street, house, flat)?"))


async def address_typed(message: Message, state: FSMContext) -> None:
    address = (message.text or "").strip()
    if len(address) > ADDRESS_LIMIT:
        await message.answer(
            _(
                "The address is too long: at most {limit} characters (this one has {n}). "
                "Please shorten it."
            ).format(n=len(address), limit=ADDRESS_LIMIT)
        )
        return
    if len(address) < 5:
        await message.answer(_("Please type the full address (city, street, house)."))
        return
    await state.update_data(address=address)
    await _ask_comment(message, state)


async def _ask_comment(message: Message, state: FSMContext) -> None:
    await state.set_state(CheckoutForm.comment)
    await message.answer(
        _("Any comment for the shop? Type it, or skip."), reply_markup=skip_comment_keyboard()
    )


async def comment_skipped(
    query: CallbackQuery, state: FSMContext, session: AsyncSession, settings: Settings
) -> None:
    await state.update_data(comment=None)
    await query.answer()
    await show_summary(query, state, session, settings)


async def comment_typed(
    message: Message, state: FSMContext, session: AsyncSession, settings: Settings
) -> None:
    comment = (message.text or "").strip()[:COMMENT_LIMIT]
    await state.update_data(comment=comment or None)
    await show_summary(message, state, session, settings)


async def _option_gone(
    target: CallbackQuery | Message, state: FSMContext, session: AsyncSession, settings: Settings
) -> None:
    """The delivery chosen is no longer offered (the shop changed DELIVERY_OPTIONS): say so
    and offer the options there are now. A button press is answered by the caller."""
    message = target.message if isinstance(target, CallbackQuery) else target
    assert isinstance(message, Message)
    await message.answer(_("This delivery option is no longer offered. Please choose again."))
    await _ask_delivery(message, state, session, settings)


async def show_summary(
    target: CallbackQuery | Message,
    state: FSMContext,
    session: AsyncSession,
    settings: Settings,
) -> None:
    user_id = target.from_user.id if target.from_user else 0
    current = await cart.reconcile(session, user_id)
    if current.is_empty:
        await state.clear()
        await show(target, _("Your cart is empty, so there is nothing to order."))
        return
    data = await state.get_data()
    option = chosen_option(settings, data)
    if option is None:
        await _option_gone(target, state, session, settings)
        return
    with_price = priced(settings.delivery_options)
    applied, refused = await promotions.summary_code(session, state, user_id)
    discount = applied[1] if applied is not None else 0
    shown_total = current.total - discount + option.price_for(current.total)
    # A fresh token per summary: Confirm on this summary places exactly one order, at the
    # total this summary shows.
    await state.update_data(token=secrets.token_urlsafe(16), total=shown_total)
    await state.set_state(CheckoutForm.confirm)
    text = checkout_summary(current, data, option, with_price=with_price, promo=applied)
    if refused:
        text = refused + "\n\n" + text
    if current.adjustments:
        text = adjustments_text(current.adjustments) + "\n\n" + text
    if refused:  # the summary left room for the adjustments only: what is longest gives way
        text = clip(text, TEXT_LIMIT)
    markup = promotions.summary_keyboard(confirm_keyboard(), applied=applied is not None)
    await show(target, text, markup)


async def cancel_pressed(query: CallbackQuery, state: FSMContext) -> None:
    await state.clear()
    await show(query, _("Checkout cancelled. Your cart is kept."))
    await query.answer()


async def confirm(
    query: CallbackQuery,
    state: FSMContext,
    session: AsyncSession,
    settings: Settings,
    bot: Bot,
    payment_provider: PaymentProvider,
) -> None:
    """Place the order. Its payment link goes out from the outbox right after the commit
    (or, if this process dies first, from the outbox job), not from here."""
    data = await state.get_data()
    placed = await orders.order_by_token(session, data["token"])
    if placed is not None:  # placed before a crash that kept this step: offer to pay
        await state.clear()
        await _already_placed(query, session, placed)
        return
    option = chosen_option(settings, data)
    if option is None:
        await query.answer()
        await _option_gone(query, state, session, settings)
        return
    details = Checkout(
        contact_name=data["name"],
        contact_phone=data["phone"],
        delivery_method=option.kind,
        delivery_address=data.get("address") if option.kind is DeliveryMethod.COURIER else None,
        comment=data.get("comment"),
        delivery=option,
    )
    try:
        order = await orders.place_order(
            session,
            query.from_user.id,
            details,
            token=data["token"],
            payment_provider=settings.payment_provider,
            payment_timeout=timedelta(minutes=settings.order_payment_timeout),
            max_total=payment_provider.max_amount,
            promo_code=await promotions.kept_code(state),
            shown_total=data.get("total"),
        )
    except TotalChanged as exc:  # a sale ended (or a price changed) since the summary
        await query.answer(
            _(
                "The total is now {total}: prices changed since this summary. Please check it."
            ).format(total=format_price(exc.total)),
            show_alert=True,
        )
        await show_summary(query, state, session, settings)
        return
    except PromoRefused as exc:  # the code stopped applying since the summary
        await promotions.forget_code(state)
        await query.answer(refusal_text(exc), show_alert=True)
        await show_summary(query, state, session, settings)
        return
    except OrderTooLarge as exc:
        await state.set_state(None)
        await query.answer()
        await show(
            query,
            _(
                "The order comes to {total}, more than can be paid in one payment ({limit}). "
                "Please take some items out of the cart, or place several orders."
            ).format(total=format_price(exc.total), limit=format_price(exc.limit)),
        )
        return
    except (OutOfStock, ProductUnavailable) as exc:
        await query.answer(ran_out(exc.name), show_alert=True)
        await state.set_state(None)
        await render_cart(query, session, query.from_user.id)
        return
    except EmptyCart:
        await state.clear()
        await query.answer(_("Your cart is empty."), show_alert=True)
        return
    await state.clear()
    await query.answer(_("Order placed"))
    await _show_order(query, session, order, *summary_view(order))
    if order.status is OrderStatus.AWAITING_CONFIRMATION:
        await bot.send_message(query.from_user.id, order_placed(order))


async def stale_checkout_button(
    query: CallbackQuery, callback_data: CheckoutCb, session: AsyncSession
) -> None:
    """A checkout button from a finished or abandoned checkout. Confirm pressed again after
    the order was placed (its step lost in a crash) leads to paying for it."""
    if callback_data.action is CheckoutAction.CONFIRM:
        order = await orders.latest_awaiting_payment(session, query.from_user.id)
        if order is not None:
            await _already_placed(query, session, order)
            return
    await query.answer(_("This checkout is already finished."), show_alert=True)


async def _already_placed(query: CallbackQuery, session: AsyncSession, order: Order) -> None:
    await query.answer(_("This order is already placed."))
    await _show_order(query, session, order, *card_view(order, back=False))


async def _show_order(
    query: CallbackQuery,
    session: AsyncSession,
    order: Order,
    text: str,
    markup: InlineKeyboardMarkup | None,
) -> None:
    """The summary becomes the order's card, which then follows the order's status."""
    shown = await show(query, text, markup)
    if shown is not None:
        await order_messages.remember(
            session, order.id, shown.chat.id, shown.message_id, OrderMessageKind.SUMMARY
        )


async def unexpected_in_checkout(message: Message) -> None:
    await message.answer(_("Please answer with text, or /cancel to leave checkout."))


def create_router() -> Router:
    router = Router(name="checkout")
    router.message.register(cancel, Command("cancel"))
    router.callback_query.register(begin, CartCb.filter(F.action == CartAction.CHECKOUT))
    router.callback_query.register(
        name_from_profile,
        StateFilter(CheckoutForm.name),
        CheckoutCb.filter(F.action == CheckoutAction.USE_NAME),
    )
    router.message.register(name_typed, StateFilter(CheckoutForm.name), plain_text())
    router.message.register(phone_shared, StateFilter(CheckoutForm.phone), Magic(F.contact))
    router.message.register(phone_typed, StateFilter(CheckoutForm.phone), plain_text())
    router.callback_query.register(
        delivery_chosen, StateFilter(CheckoutForm.delivery), DeliveryCb.filter()
    )
    router.message.register(address_typed, StateFilter(CheckoutForm.address), plain_text())
    router.callback_query.register(
        comment_skipped,
        StateFilter(CheckoutForm.comment),
        CheckoutCb.filter(F.action == CheckoutAction.SKIP_COMMENT),
    )
    router.message.register(comment_typed, StateFilter(CheckoutForm.comment), plain_text())
    router.callback_query.register(
        cancel_pressed, CheckoutCb.filter(F.action == CheckoutAction.CANCEL)
    )
    router.callback_query.register(
        confirm,
        StateFilter(CheckoutForm.confirm),
        CheckoutCb.filter(F.action == CheckoutAction.CONFIRM),
    )
    router.callback_query.register(stale_checkout_button, CheckoutCb.filter())
    router.callback_query.register(stale_checkout_button, DeliveryCb.filter())
    router.message.register(unexpected_in_checkout, StateFilter(CheckoutForm), Magic(~F.text))
    return router
