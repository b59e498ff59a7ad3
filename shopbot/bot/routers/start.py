"""/start (with product deep links), /help and the main menu."""

from __future__ import annotations

import re

from aiogram import Router
from aiogram.filters import Command, CommandObject, CommandStart
from aiogram.types import Message
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from shopbot.bot.keyboards import MENU_HELP, consent_toggle, main_menu
from shopbot.bot.render import h
from shopbot.bot.routers.filters import menu_button
from shopbot.bot.routers.support import send_topics
from shopbot.bot.ui import show_product
from shopbot.config import Settings
from shopbot.models import MAX_ID
from shopbot.services import cart, catalogue, marketing

DEEP_LINK_PREFIX = "p_"  # then the SKU
ID_LINK_PREFIX = "i_"  # then the product's id: for a SKU a start parameter cannot carry
SHOP_LINK = "shop"  # the shop's greeting (inline mode's "Open the shop" button)
# What Telegram lets a start parameter hold: 1-64 of A-Z, a-z, 0-9, _ and -.
_START_PARAMETER = re.compile(r"[A-Za-z0-9_-]{1,64}")


def product_link(bot_username: str, sku: str, product_id: int) -> str:
    """The t.me link that opens a product's card in the bot (``/start p_<SKU>``)."""
    parameter = DEEP_LINK_PREFIX + sku
    if not _START_PARAMETER.fullmatch(parameter):
        parameter = f"{ID_LINK_PREFIX}{product_id}"
    return f"https://t.me/{bot_username}?start={parameter}"


async def start_with_link(
    message: Message,
    command: CommandObject,
    session: AsyncSession,
    settings: Settings,
    is_admin: bool,
) -> None:
    """``/start p_<SKU>`` (or ``i_<id>``, see :func:`product_link`): open that product
    straight away; ``/start shop``: the greeting."""
    argument = command.args or ""
    if argument == SHOP_LINK:
        await start(message, settings, is_admin)
        return
    product = None
    if argument.startswith(DEEP_LINK_PREFIX):
        product = await catalogue.get_product_by_sku(session, argument[len(DEEP_LINK_PREFIX) :])
    elif argument.startswith(ID_LINK_PREFIX) and argument[len(ID_LINK_PREFIX) :].isdigit():
        product_id = int(argument[len(ID_LINK_PREFIX) :])
        if product_id <= MAX_ID:
            product = await catalogue.get_product(session, product_id)
    menu = main_menu(admin=is_admin)
    if product is None or not product.active:
        await message.answer(_("Sorry, this product is not available any more."), reply_markup=menu)
        return
    await message.answer(_("Here it is 👇"), reply_markup=menu)
    in_cart = await cart.quantity_in_cart(session, message.chat.id, product.id)
    detail = await catalogue.product_detail(session, product.id)  # with its variants, if any
    await show_product(
        message,
        session,
        detail or catalogue.ProductDetail.of(product),
        in_cart=in_cart,
        category_id=product.category_id or 0,
        page=0,
        media_dir=settings.media_dir,
    )


async def start(message: Message, settings: Settings, is_admin: bool) -> None:
    name = message.from_user.first_name if message.from_user else ""
    await message.answer(
        _(
            "Hello, {name}! 👋\nWelcome to {shop}.\n\n"
            "Browse the catalogue, put what you like in the cart and order in a few taps."
        ).format(name=h(name), shop=h(settings.shop_name)),
        reply_markup=main_menu(admin=is_admin),
    )


async def help_(
    message: Message, session: AsyncSession, settings: Settings, is_admin: bool
) -> None:
    """The commands with the button to get (or stop) news and discounts under it, then the
    FAQ's topics as buttons (the main menu stays: it is persistent)."""
    text = _(
        "<b>What I can do</b>\n"
        "/catalog — browse the catalogue\n"
        "/search <i>text</i> — find a product\n"
        "/cart — your cart and checkout\n"
        "/favorites — the products you keep\n"
        "/orders — your orders and their status\n"
        "/cancel — leave checkout\n"
        "/support — write to a manager\n"
        "/subscribe, /unsubscribe — news and discounts: get them or not\n"
    )
    if settings.shop_contact:
        text += "\n" + _("Contact the shop: {contact}").format(contact=h(settings.shop_contact))
    assert message.from_user is not None
    consent = await marketing.consent_of(session, message.from_user.id)
    await message.answer(text, reply_markup=consent_toggle(subscribed=bool(consent.granted)))
    await send_topics(message, session)


def create_router() -> Router:
    router = Router(name="start")
    router.message.register(start_with_link, CommandStart(deep_link=True))
    router.message.register(start, CommandStart())
    router.message.register(help_, Command("help"))
    router.message.register(help_, menu_button(MENU_HELP))
    return router
