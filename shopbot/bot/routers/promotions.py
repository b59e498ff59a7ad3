"""Promotions for shoppers: the "🔥 Sale" list, a promo code by deep link
(``/start promo_CODE``, kept until checkout) or typed at checkout ("Have a promo code?" on
the summary), and the code's discount on the summary.

The code is kept in the conversation's FSM data (``PROMO_KEY``) until an order is placed
with it; the order checks it again, for real, when it is placed
(:func:`shopbot.services.orders.place_order`).
"""

from __future__ import annotations

from enum import StrEnum

from aiogram import F, Router
from aiogram.filters import CommandObject, CommandStart
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from shopbot.bot.callbacks import CatalogAction, CatalogCb, Page
from shopbot.bot.keyboards import main_menu, pager_row, product_line
from shopbot.bot.promo_texts import (
    code_remembered,
    no_sale_text,
    refusal_message,
    sale_title,
)
from shopbot.bot.texts import product_list
from shopbot.bot.ui import show
from shopbot.services import pricing, promo, sales
from shopbot.services.promo import CODE_LIMIT, PromoRefused, normal_code

PROMO_KEY = "promo"  # the code the shopper gave, in FSM data
LINK_PREFIX = "promo_"  # /start promo_CODE
SALE_PAGE = 8


class PromoAction(StrEnum):
    SALE = "s"  # the list of what is on sale, at a page
    ASK = "a"  # "Have a promo code?" on the checkout summary
    BACK = "b"  # back to the summary without a (new) code
    DROP = "d"  # take the applied code off


class PromoCb(CallbackData, prefix="pm"):
    action: PromoAction
    page: Page = 0


def sale_button() -> InlineKeyboardButton:
    return InlineKeyboardButton(
        text=_("🔥 Sale"), callback_data=PromoCb(action=PromoAction.SALE).pack()
    )


async def with_sale_entry(
    session: AsyncSession, markup: InlineKeyboardMarkup
) -> InlineKeyboardMarkup:
    """The catalogue's root keyboard with "🔥 Sale" on top, when something is on sale."""
    if not await sales.any_on_sale(session, pricing.now()):
        return markup
    return InlineKeyboardMarkup(inline_keyboard=[[sale_button()], *markup.inline_keyboard])


async def sale_list(query: CallbackQuery, callback_data: PromoCb, session: AsyncSession) -> None:
    """What is on sale now, a page at a time; each opens its card (Back: the catalogue)."""
    found = await sales.on_sale(session, callback_data.page, SALE_PAGE, pricing.now())
    if not found.total:
        await query.answer(no_sale_text(), show_alert=True)
        return
    rows = [
        [
            InlineKeyboardButton(
                text=product_line(product, number),
                callback_data=CatalogCb(action=CatalogAction.PRODUCT, product_id=product.id).pack(),
            )
        ]
        for number, product in enumerate(found.items, 1)
    ]
    make = lambda page: PromoCb(action=PromoAction.SALE, page=page).pack()  # noqa: E731
    if pager := pager_row(found, make, CatalogCb(action=CatalogAction.NOOP).pack()):
        rows.append(pager)
    rows.append(
        [
            InlineKeyboardButton(
                text=_("⬅ Back"), callback_data=CatalogCb(action=CatalogAction.LIST).pack()
            )
        ]
    )
    await show(
        query,
        product_list(sale_title(found.total), found.items),
        InlineKeyboardMarkup(inline_keyboard=rows),
    )
    await query.answer()


async def start_with_code(
    message: Message, command: CommandObject, state: FSMContext, is_admin: bool
) -> None:
    """``/start promo_CODE``: keep the code for checkout and open the catalogue's way in."""
    code = normal_code((command.args or "")[len(LINK_PREFIX) :])
    if not code or len(code) > CODE_LIMIT:
        await message.answer(
            _("This promo code link is broken. You can type the code at checkout."),
            reply_markup=main_menu(admin=is_admin),
        )
        return
    await state.update_data({PROMO_KEY: code})
    await message.answer(code_remembered(code), reply_markup=main_menu(admin=is_admin))


def summary_keyboard(markup: InlineKeyboardMarkup, *, applied: bool) -> InlineKeyboardMarkup:
    """The summary's buttons with "Have a promo code?" (or "Remove the code") above them."""
    if applied:
        button = InlineKeyboardButton(
            text=_("✖ Remove the promo code"),
            callback_data=PromoCb(action=PromoAction.DROP).pack(),
        )
    else:
        button = InlineKeyboardButton(
            text=_("🎟 Have a promo code?"), callback_data=PromoCb(action=PromoAction.ASK).pack()
        )
    return InlineKeyboardMarkup(inline_keyboard=[[button], *markup.inline_keyboard])


async def summary_code(
    session: AsyncSession, state: FSMContext, user_id: int
) -> tuple[tuple[str, int] | None, str | None]:
    """The code kept for this checkout and its discount on the cart as it is now; or, if
    it no longer applies, None and why (the code is then forgotten)."""
    code = (await state.get_data()).get(PROMO_KEY)
    if not code:
        return None, None
    at = pricing.now()
    try:
        found = await promo.quote(
            session, code, user_id, await promo.cart_lines(session, user_id, at), at
        )
    except PromoRefused as refused:
        await forget_code(state)
        return None, refusal_message(refused)
    return (found.code, found.discount), None


async def kept_code(state: FSMContext) -> str | None:
    code = (await state.get_data()).get(PROMO_KEY)
    return code if isinstance(code, str) and code else None


async def forget_code(state: FSMContext) -> None:
    await state.update_data({PROMO_KEY: None})


def create_router() -> Router:
    """The sale list and the promo code deep link (before the start router's /start)."""
    router = Router(name="promotions")
    router.message.register(
        start_with_code, CommandStart(deep_link=True, magic=F.args.startswith(LINK_PREFIX))
    )
    router.callback_query.register(sale_list, PromoCb.filter(F.action == PromoAction.SALE))
    return router
