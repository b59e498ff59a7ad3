"""Browsing: categories, pages of products, product cards (their photos, the whole
description), and −/+ on a card."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.enums import ChatType
from aiogram.filters import Command
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from shopbot.bot.callbacks import CatalogAction, CatalogCb, PhotoCb
from shopbot.bot.keyboards import MENU_CATALOG, category_keyboard
from shopbot.bot.routers import promotions
from shopbot.bot.routers.filters import menu_button
from shopbot.bot.texts import (
    category_title,
    description_messages,
    no_more_in_stock,
    product_list,
)
from shopbot.bot.ui import show, show_product
from shopbot.bot.variants import NotMadeCb, card_of, not_made
from shopbot.config import Settings
from shopbot.errors import CartFull, OutOfStock, ProductNotFound, ProductUnavailable
from shopbot.services import cart
from shopbot.services.catalogue import CatalogueCache, ProductDetail
from shopbot.web.miniapp import storefront_url

PAGE_SIZE = 8


async def _render_category(
    target: CallbackQuery | Message,
    session: AsyncSession,
    catalogue_cache: CatalogueCache,
    category_id: int,
    page: int,
    settings: Settings,
) -> bool:
    try:
        view = await catalogue_cache.browse(session, category_id or None, page, PAGE_SIZE)
    except LookupError:
        return False
    name = view.category.name if view.category else None
    text = product_list(category_title(name, view.products.total), view.products.items)
    message = target.message if isinstance(target, CallbackQuery) else target
    private = message is not None and message.chat.type == ChatType.PRIVATE
    # Telegram takes Mini App buttons in private chats only.
    shop_url = storefront_url(settings) if private else None
    markup = category_keyboard(view, shop_url)
    if view.category is None:  # the root: "🔥 Sale" on top while something is on sale
        markup = await promotions.with_sale_entry(session, markup)
    await show(target, text, markup)
    return True


async def open_catalog(
    message: Message, session: AsyncSession, catalogue_cache: CatalogueCache, settings: Settings
) -> None:
    await _render_category(message, session, catalogue_cache, 0, 0, settings)


async def list_category(
    query: CallbackQuery,
    callback_data: CatalogCb,
    session: AsyncSession,
    catalogue_cache: CatalogueCache,
    settings: Settings,
) -> None:
    category_id, page = callback_data.category_id, callback_data.page
    if await _render_category(query, session, catalogue_cache, category_id, page, settings):
        await query.answer()
    else:
        await query.answer(_("This category is gone. Here is the catalogue."))
        await _render_category(query, session, catalogue_cache, 0, 0, settings)


async def _show_card(
    query: CallbackQuery,
    callback_data: CatalogCb | PhotoCb,
    session: AsyncSession,
    settings: Settings,
    product: ProductDetail,
    in_cart: int,
) -> None:
    """The card, with its Back button leading to the list page the button came from."""
    await show_product(
        query,
        session,
        product,
        in_cart=in_cart,
        category_id=callback_data.category_id,
        page=callback_data.page,
        media_dir=settings.media_dir,
        photo=callback_data.photo if isinstance(callback_data, PhotoCb) else None,
        # A card opened anew (a variant chosen on a card) starts at its own first photo.
        opened=isinstance(callback_data, CatalogCb)
        and callback_data.action is CatalogAction.PRODUCT,
    )


async def open_product(
    query: CallbackQuery,
    callback_data: CatalogCb | PhotoCb,
    session: AsyncSession,
    settings: Settings,
    catalogue_cache: CatalogueCache,
) -> None:
    """A product from a list, or ◀ ▶ on its card: the card, with the photo asked for."""
    product = await catalogue_cache.product(session, callback_data.product_id)
    if product is None or not product.active:
        await query.answer(_("Sorry, this product is not available any more."), show_alert=True)
        return
    in_cart = await cart.quantity_in_cart(session, query.from_user.id, product.id)
    await _show_card(query, callback_data, session, settings, product, in_cart)
    await query.answer()


async def more(
    query: CallbackQuery,
    callback_data: CatalogCb,
    session: AsyncSession,
    catalogue_cache: CatalogueCache,
) -> None:
    """The whole description, under the card, in as many messages as it takes."""
    product = await catalogue_cache.product(session, callback_data.product_id)
    if product is None or not product.active:
        await query.answer(_("Sorry, this product is not available any more."), show_alert=True)
        return
    assert query.bot is not None
    shown = (await card_of(session, product)).shown  # a variant: its product's description
    for text in description_messages(shown):
        await query.bot.send_message(query.from_user.id, text)
    await query.answer()


async def change_quantity(
    query: CallbackQuery,
    callback_data: CatalogCb,
    session: AsyncSession,
    settings: Settings,
    catalogue_cache: CatalogueCache,
) -> None:
    user_id = query.from_user.id
    product_id = callback_data.product_id
    notice = None
    in_cart: int | None = None  # unknown after a refusal: read below
    try:
        if callback_data.action is CatalogAction.DEC:
            in_cart = await cart.take_one(session, user_id, product_id)
        else:
            in_cart = await cart.add(session, user_id, product_id)
            if callback_data.action is CatalogAction.ADD:
                notice = _("Added to cart ✅")
    except OutOfStock as exc:
        notice = (
            no_more_in_stock(exc.available) if exc.available else _("Sorry, it is out of stock.")
        )
    except (ProductNotFound, ProductUnavailable):
        await query.answer(_("Sorry, this product is not available any more."), show_alert=True)
        return
    except CartFull as exc:
        text = _(
            "Your cart already holds {n} different products. "
            "Please check out or remove something first."
        )
        await query.answer(text.format(n=exc.limit), show_alert=True)
        return
    product = await catalogue_cache.product(session, product_id)
    assert product is not None
    if in_cart is None:
        in_cart = await cart.quantity_in_cart(session, user_id, product_id)
    await _show_card(query, callback_data, session, settings, product, in_cart)
    await query.answer(notice)


async def informational(query: CallbackQuery) -> None:
    await query.answer()


def create_router() -> Router:
    router = Router(name="catalog")
    router.message.register(open_catalog, Command("catalog"))
    router.message.register(open_catalog, menu_button(MENU_CATALOG))
    router.callback_query.register(list_category, CatalogCb.filter(F.action == CatalogAction.LIST))
    router.callback_query.register(
        open_product, CatalogCb.filter(F.action == CatalogAction.PRODUCT)
    )
    router.callback_query.register(
        change_quantity,
        CatalogCb.filter(F.action.in_({CatalogAction.ADD, CatalogAction.INC, CatalogAction.DEC})),
    )
    router.callback_query.register(more, CatalogCb.filter(F.action == CatalogAction.MORE))
    router.callback_query.register(open_product, PhotoCb.filter())
    router.callback_query.register(informational, CatalogCb.filter(F.action == CatalogAction.NOOP))
    router.callback_query.register(not_made, NotMadeCb.filter())
    return router
