"""Text search: ``/search words`` or the menu button, then results that open product cards."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command, CommandObject, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from shopbot.bot.callbacks import SearchCb
from shopbot.bot.keyboards import MENU_SEARCH, main_menu, search_keyboard
from shopbot.bot.render import h
from shopbot.bot.routers.filters import menu_button, plain_text
from shopbot.bot.ui import show
from shopbot.services import catalogue

PAGE_SIZE = 8
QUERY_LIMIT = 100


class SearchForm(StatesGroup):
    query = State()


async def _results(
    target: CallbackQuery | Message, session: AsyncSession, query: str, page: int
) -> None:
    found = await catalogue.search(session, query, page, PAGE_SIZE)
    if found.total == 0:
        await show(
            target, _("Nothing found for “{query}”. Try other words.").format(query=h(query))
        )
        return
    text = _("🔍 Found for “{query}”: {total}").format(query=h(query), total=found.total)
    await show(target, text, search_keyboard(found))


async def search_command(
    message: Message,
    command: CommandObject,
    session: AsyncSession,
    state: FSMContext,
    is_admin: bool,
) -> None:
    query = (command.args or "").strip()[:QUERY_LIMIT]
    if not query:
        await _ask(message, state, is_admin)
        return
    await state.update_data(search=query)
    await _results(message, session, query, 0)


async def search_button(message: Message, state: FSMContext, is_admin: bool) -> None:
    await _ask(message, state, is_admin)


async def _ask(message: Message, state: FSMContext, is_admin: bool) -> None:
    await state.set_state(SearchForm.query)
    await message.answer(
        _("What are you looking for? Type a word or two."),
        reply_markup=main_menu(admin=is_admin),
    )


async def query_typed(message: Message, session: AsyncSession, state: FSMContext) -> None:
    query = (message.text or "").strip()[:QUERY_LIMIT]
    await state.set_state(None)
    await state.update_data(search=query)
    await _results(message, session, query, 0)


async def results_page(
    query: CallbackQuery, callback_data: SearchCb, session: AsyncSession, state: FSMContext
) -> None:
    text = (await state.get_data()).get("search")
    if not text:
        await query.answer(_("This search is over. Please search again."), show_alert=True)
        return
    await _results(query, session, text, callback_data.page)
    await query.answer()


def create_router() -> Router:
    router = Router(name="search")
    router.message.register(search_command, Command("search"))
    router.message.register(search_button, menu_button(MENU_SEARCH))
    router.message.register(query_typed, StateFilter(SearchForm.query), plain_text())
    router.callback_query.register(results_page, SearchCb.filter())
    return router
