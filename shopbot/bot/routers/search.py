"""Text search: ``/search words``, the menu button, or any text typed outside a flow (see
the fallback router), then results that open product cards, "more" for the next page."""

from __future__ import annotations

from typing import Any

from aiogram import BaseMiddleware, Router
from aiogram.filters import Command, CommandObject, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message, TelegramObject
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from shopbot.bot.callbacks import SearchCb
from shopbot.bot.keyboards import MENU_SEARCH, main_menu, nothing_found_keyboard, search_keyboard
from shopbot.bot.render import h
from shopbot.bot.routers.filters import menu_button, plain_text
from shopbot.bot.texts import product_list
from shopbot.bot.ui import show
from shopbot.config import Settings
from shopbot.search import SearchEngine, SearchResult

PAGE_SIZE = 8
QUERY_LIMIT = 100


class SearchForm(StatesGroup):
    query = State()


async def find(
    target: CallbackQuery | Message,
    session: AsyncSession,
    search_engine: SearchEngine,
    settings: Settings,
    query: str,
    page: int,
) -> None:
    """Search and show what was found."""
    found = await search_engine.search(session, query, page, PAGE_SIZE)
    await show_found(target, query, found, settings)


async def show_found(
    target: CallbackQuery | Message, query: str, found: SearchResult, settings: Settings
) -> None:
    """The results, or that nothing was found, with close matches, the catalogue and the
    shop's contact."""
    if found.page.total == 0:
        text = (
            _("Nothing found for “{query}”. Perhaps one of these?")
            if found.close
            else _("Nothing found for “{query}”. Try other words or look in the catalogue.")
        ).format(query=h(query))
        if settings.shop_contact:
            contact = _("Contact the shop: {contact}").format(contact=h(settings.shop_contact))
            text += "\n" + contact
        await show(target, text, nothing_found_keyboard(found.close))
    else:
        title = _("🔍 Found for “{query}”: {total}").format(query=h(query), total=found.page.total)
        await show(target, product_list(title, found.page.items), search_keyboard(found.page))


async def search_command(
    message: Message,
    command: CommandObject,
    session: AsyncSession,
    state: FSMContext,
    is_admin: bool,
    search_engine: SearchEngine,
    settings: Settings,
) -> None:
    query = (command.args or "").strip()[:QUERY_LIMIT]
    if not query:
        await _ask(message, state, is_admin)
        return
    await state.update_data(search=query)
    await find(message, session, search_engine, settings, query, 0)


async def search_button(message: Message, state: FSMContext, is_admin: bool) -> None:
    await _ask(message, state, is_admin)


async def _ask(message: Message, state: FSMContext, is_admin: bool) -> None:
    await state.set_state(SearchForm.query)
    await message.answer(
        _("What are you looking for? Type a word or two."),
        reply_markup=main_menu(admin=is_admin),
    )


async def query_typed(
    message: Message,
    session: AsyncSession,
    state: FSMContext,
    search_engine: SearchEngine,
    settings: Settings,
) -> None:
    query = (message.text or "").strip()[:QUERY_LIMIT]
    await state.set_state(None)
    await state.update_data(search=query)
    await find(message, session, search_engine, settings, query, 0)


async def results_page(
    query: CallbackQuery,
    callback_data: SearchCb,
    session: AsyncSession,
    state: FSMContext,
    search_engine: SearchEngine,
    settings: Settings,
) -> None:
    text = (await state.get_data()).get("search")
    if not text:
        await query.answer(_("This search is over. Please search again."), show_alert=True)
        return
    await find(query, session, search_engine, settings, text, callback_data.page)
    await query.answer()


class ForgetSearchPrompt(BaseMiddleware):
    """The search prompt ("What are you looking for?") is answered by the next message or
    not at all: any other handler — a menu button, a command, a button pressed — ends it,
    so that text typed later is not taken for a query."""

    async def __call__(self, handler: Any, event: TelegramObject, data: dict[str, Any]) -> Any:
        called = data.get("handler")
        state: FSMContext | None = data.get("state")
        if (
            state is not None
            and called is not None
            and called.callback is not query_typed
            and data.get("raw_state") == SearchForm.query.state
        ):
            await state.set_state(None)
        return await handler(event, data)


def create_router() -> Router:
    router = Router(name="search")
    router.message.register(search_command, Command("search"))
    router.message.register(search_button, menu_button(MENU_SEARCH))
    router.message.register(query_typed, StateFilter(SearchForm.query), plain_text())
    router.callback_query.register(results_page, SearchCb.filter())
    return router
