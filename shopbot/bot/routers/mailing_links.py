"""A shopper pressed a button under a mailing: ``/start m<campaign>_<what>``. The click is
counted for the campaign, then the shopper gets what the button opens — a category here,
a product or a promo code through ``/start``'s own links (``i_<id>``, ``promo_<CODE>``)."""

from __future__ import annotations

import re

from aiogram import F, Router
from aiogram.filters import CommandObject, CommandStart
from aiogram.fsm.context import FSMContext
from aiogram.types import Message
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from shopbot.bot.keyboards import category_keyboard, main_menu
from shopbot.bot.mailing_views import CAMPAIGN_PREFIX, CATEGORY_LINK
from shopbot.bot.routers import promotions
from shopbot.bot.routers.start import start_with_link
from shopbot.bot.texts import category_title, product_list
from shopbot.config import Settings
from shopbot.models import MAX_ID
from shopbot.services import mailings
from shopbot.services.catalogue import CatalogueCache

PAGE_SIZE = 8  # as the catalogue's own lists
_CAMPAIGN_LINK = re.compile(rf"{CAMPAIGN_PREFIX}(\d{{1,10}})_(.+)")


async def campaign_link(
    message: Message,
    command: CommandObject,
    session: AsyncSession,
    settings: Settings,
    catalogue_cache: CatalogueCache,
    is_admin: bool,
    state: FSMContext,
) -> None:
    match = _CAMPAIGN_LINK.fullmatch(command.args or "")
    if match is None or message.from_user is None:  # a line break after a matching start
        await start_with_link(message, command, session, settings, is_admin)
        return
    mailing_id, opens = int(match.group(1)), match.group(2)
    if mailing_id <= MAX_ID:
        await mailings.record_click(session, mailing_id, message.from_user.id, opens)
    if opens.startswith(CATEGORY_LINK):
        number = opens[len(CATEGORY_LINK) :]
        category_id = int(number) if number.isdigit() and int(number) <= MAX_ID else 0
        try:
            view = await catalogue_cache.browse(session, category_id or None, 0, PAGE_SIZE)
        except LookupError:
            await message.answer(
                _("This category is gone. Here is the catalogue."),
                reply_markup=main_menu(admin=is_admin),
            )
            view = await catalogue_cache.browse(session, None, 0, PAGE_SIZE)
        name = view.category.name if view.category else None
        text = product_list(category_title(name, view.products.total), view.products.items)
        await message.answer(text, reply_markup=category_keyboard(view))
        return
    opened = CommandObject(prefix=command.prefix, command=command.command, args=opens)
    if opens.startswith(promotions.LINK_PREFIX):  # a promo code: kept until checkout
        await promotions.start_with_code(message, opened, state, is_admin)
        return
    await start_with_link(message, opened, session, settings, is_admin)


def create_router() -> Router:
    """Before ``start``'s router, whose deep-link handler would take these links too."""
    router = Router(name="mailing_links")
    router.message.register(
        campaign_link, CommandStart(deep_link=True, magic=F.args.regexp(_CAMPAIGN_LINK))
    )
    return router
