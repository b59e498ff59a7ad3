"""A promo code typed at checkout: "Have a promo code?" on the summary asks for it, the
code typed is checked against the cart at once (each rule refused has its own answer), and
the summary comes back with the discount, or without the code when it is removed."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from shopbot.bot.promo_texts import code_applied, code_question, refusal_message
from shopbot.bot.routers.checkout import CheckoutForm, show_summary
from shopbot.bot.routers.filters import plain_text
from shopbot.bot.routers.promotions import PROMO_KEY, PromoAction, PromoCb, forget_code
from shopbot.bot.ui import show
from shopbot.config import Settings
from shopbot.services import pricing, promo
from shopbot.services.promo import CODE_LIMIT, PromoRefused


def _back_keyboard() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(
                    text=_("⬅ Back to the order, without a code"),
                    callback_data=PromoCb(action=PromoAction.BACK).pack(),
                )
            ]
        ]
    )


async def ask_code(query: CallbackQuery, state: FSMContext) -> None:
    """The summary becomes the question; the summary comes back once the code is in."""
    await state.set_state(CheckoutForm.promo)
    await show(query, code_question(), _back_keyboard())
    await query.answer()


async def code_typed(
    message: Message, state: FSMContext, session: AsyncSession, settings: Settings
) -> None:
    typed = (message.text or "").strip()
    assert message.from_user is not None
    if not typed or len(typed) > CODE_LIMIT or len(typed.split()) > 1:
        await message.answer(
            _("A promo code is one word of up to {n} characters. Please type it again.").format(
                n=CODE_LIMIT
            ),
            reply_markup=_back_keyboard(),
        )
        return
    user_id = message.from_user.id
    at = pricing.now()
    try:
        found = await promo.quote(
            session, typed, user_id, await promo.cart_lines(session, user_id, at), at
        )
    except PromoRefused as refused:
        await message.answer(refusal_message(refused), reply_markup=_back_keyboard())
        return
    await state.update_data({PROMO_KEY: found.code})
    await message.answer(code_applied(found.code, found.discount))
    await show_summary(message, state, session, settings)


async def back_to_summary(
    query: CallbackQuery, state: FSMContext, session: AsyncSession, settings: Settings
) -> None:
    await query.answer()
    await show_summary(query, state, session, settings)


async def drop_code(
    query: CallbackQuery, state: FSMContext, session: AsyncSession, settings: Settings
) -> None:
    await forget_code(state)
    await query.answer(_("The promo code is removed."))
    await show_summary(query, state, session, settings)


async def stale_button(query: CallbackQuery) -> None:
    await query.answer(_("This checkout is already finished."), show_alert=True)


def create_router() -> Router:
    router = Router(name="promo_checkout")
    router.callback_query.register(
        ask_code, StateFilter(CheckoutForm.confirm), PromoCb.filter(F.action == PromoAction.ASK)
    )
    router.callback_query.register(
        drop_code, StateFilter(CheckoutForm.confirm), PromoCb.filter(F.action == PromoAction.DROP)
    )
    router.callback_query.register(
        back_to_summary,
        StateFilter(CheckoutForm.promo),
        PromoCb.filter(F.action == PromoAction.BACK),
    )
    router.message.register(code_typed, StateFilter(CheckoutForm.promo), plain_text())
    router.callback_query.register(
        stale_button,
        PromoCb.filter(F.action.in_({PromoAction.ASK, PromoAction.DROP, PromoAction.BACK})),
    )
    return router
