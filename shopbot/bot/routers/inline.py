"""Inline mode: ``@shop_bot футболка`` typed in any chat lists the matching products (the
bot's own search engine) with photo, name and price; the one sent carries a button that
opens its card in the bot. A card's "Share" starts such a query with the product's SKU."""

from __future__ import annotations

from aiogram import Router
from aiogram.types import (
    InlineQuery,
    InlineQueryResultArticle,
    InlineQueryResultCachedPhoto,
    InlineQueryResultPhoto,
    InlineQueryResultsButton,
    InlineQueryResultUnion,
    InputTextMessageContent,
)
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from shopbot.bot.keyboards import open_in_bot_keyboard
from shopbot.bot.prices import sale_now
from shopbot.bot.routers.search import QUERY_LIMIT
from shopbot.bot.routers.start import SHOP_LINK, product_link
from shopbot.bot.texts import inline_description, shared_card
from shopbot.search import SearchEngine
from shopbot.services.catalogue import Cover, ProductSummary, covers

PAGE_SIZE = 20  # results an answer holds (Telegram takes up to 50); the next come by offset
# Stock and prices change: Telegram may reuse an answer this long, for everyone.
CACHE_SECONDS = 30


def _page_asked(offset: str) -> int | None:
    """The page a query's offset names ("" the first); None for one the bot never gave."""
    if not offset:
        return 0
    return int(offset) if offset.isdigit() and len(offset) <= 6 else None


def _result(product: ProductSummary, cover: Cover | None, link: str) -> InlineQueryResultUnion:
    price = sale_now(product.price, product.sale_price, product.sale_until) or product.price
    card = shared_card(product.name, price, product.stock)
    markup = open_in_bot_keyboard(link)
    result_id = f"p{product.id}"
    description = inline_description(price, product.stock)
    if cover is not None and cover.telegram_file_id is not None:
        return InlineQueryResultCachedPhoto(
            id=result_id,
            photo_file_id=cover.telegram_file_id,
            title=product.name,
            description=description,
            caption=card,
            reply_markup=markup,
        )
    if cover is not None and cover.url is not None:
        return InlineQueryResultPhoto(
            id=result_id,
            photo_url=cover.url,
            thumbnail_url=cover.url,
            title=product.name,
            description=description,
            caption=card,
            reply_markup=markup,
        )
    return InlineQueryResultArticle(
        id=result_id,
        title=product.name,
        description=description,
        input_message_content=InputTextMessageContent(message_text=card),
        reply_markup=markup,
    )


def _open_the_shop() -> InlineQueryResultsButton:
    """Above an empty list (nothing typed yet, nothing found): to the bot's chat."""
    return InlineQueryResultsButton(text=_("🛍 Open the shop"), start_parameter=SHOP_LINK)


async def inline_search(
    query: InlineQuery, session: AsyncSession, search_engine: SearchEngine
) -> None:
    text = query.query.strip()[:QUERY_LIMIT]
    page = _page_asked(query.offset)
    if not text or page is None:
        await query.answer([], cache_time=CACHE_SECONDS, button=_open_the_shop())
        return
    found = await search_engine.search(session, text, page, PAGE_SIZE)
    if found.page.total == 0:
        await query.answer([], cache_time=CACHE_SECONDS, button=_open_the_shop())
        return
    if found.page.page != page:  # past the last page: the engine gave the last one again
        await query.answer([], cache_time=CACHE_SECONDS)
        return
    products = found.page.items
    assert query.bot is not None
    me = await query.bot.me()
    cover = await covers(session, [product.id for product in products])
    results = [
        _result(
            product, cover.get(product.id), product_link(me.username or "", product.sku, product.id)
        )
        for product in products
    ]
    await query.answer(
        results,
        cache_time=CACHE_SECONDS,
        next_offset=str(page + 1) if found.page.has_next else "",
    )


def create_router() -> Router:
    router = Router(name="inline")
    router.inline_query.register(inline_search)
    return router
