"""Favourites: ♡/♥ on a product card, and ``/favorites`` (also under the catalogue's root)
listing them with whether each can be bought now."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from shopbot.bot.callbacks import FavouriteAction, FavouriteCb
from shopbot.bot.keyboards import favourites_keyboard
from shopbot.bot.texts import FAVOURITES_PAGE, favourites_text
from shopbot.bot.ui import show, show_product
from shopbot.config import Settings
from shopbot.errors import FavouritesFull, ProductNotFound
from shopbot.services import cart, favourites
from shopbot.services.catalogue import CatalogueCache


async def _show_list(
    target: CallbackQuery | Message, session: AsyncSession, user_id: int, page: int
) -> None:
    kept = await favourites.page_of(session, user_id, page, FAVOURITES_PAGE)
    await show(target, favourites_text(kept), favourites_keyboard(kept))


async def favourites_command(message: Message, session: AsyncSession) -> None:
    assert message.from_user is not None
    await _show_list(message, session, message.from_user.id, 0)


async def list_page(
    query: CallbackQuery, callback_data: FavouriteCb, session: AsyncSession
) -> None:
    await _show_list(query, session, query.from_user.id, callback_data.page)
    await query.answer()


async def drop(query: CallbackQuery, callback_data: FavouriteCb, session: AsyncSession) -> None:
    """✖ on the list (a product no longer for sale): gone from the list, which is shown
    again."""
    await favourites.remove(session, query.from_user.id, callback_data.product_id)
    await _show_list(query, session, query.from_user.id, callback_data.page)
    await query.answer(_("Removed from favourites"))


async def keep_or_forget(
    query: CallbackQuery,
    callback_data: FavouriteCb,
    session: AsyncSession,
    settings: Settings,
    catalogue_cache: CatalogueCache,
) -> None:
    """♡ keeps the product, ♥ forgets it; the card then shows the other heart. On the card
    of a variant it is the variant's product that is kept."""
    user_id, product_id = query.from_user.id, callback_data.product_id
    product = await catalogue_cache.product(session, product_id)
    if product is None or not product.active:
        await query.answer(_("Sorry, this product is not available any more."), show_alert=True)
        return
    kept = product.parent_id or product.id
    try:
        if callback_data.action is FavouriteAction.ADD:
            await favourites.add(session, user_id, kept)
            notice = _("Added to favourites ♥")
        else:
            await favourites.remove(session, user_id, kept)
            notice = _("Removed from favourites")
    except ProductNotFound:
        await query.answer(_("Sorry, this product is not available any more."), show_alert=True)
        return
    except FavouritesFull as exc:
        text = _("You already keep {n} favourites. Remove some in /favorites first.")
        await query.answer(text.format(n=exc.limit), show_alert=True)
        return
    await show_product(
        query,
        session,
        product,
        in_cart=await cart.quantity_in_cart(session, user_id, product_id),
        category_id=callback_data.category_id,
        page=callback_data.page,
        media_dir=settings.media_dir,
    )
    await query.answer(notice)


def create_router() -> Router:
    router = Router(name="favourites")
    router.message.register(favourites_command, Command("favorites", "favourites"))
    router.callback_query.register(list_page, FavouriteCb.filter(F.action == FavouriteAction.LIST))
    router.callback_query.register(drop, FavouriteCb.filter(F.action == FavouriteAction.DROP))
    router.callback_query.register(
        keep_or_forget,
        FavouriteCb.filter(F.action.in_({FavouriteAction.ADD, FavouriteAction.REMOVE})),
    )
    return router
