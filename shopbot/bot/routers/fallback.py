"""Whatever nothing else handled: text outside a flow is matched against the FAQ and searched
for (a question about orders gets their statuses, asking for a person gets the way to a
manager, as /support), anything else gets a short friendly answer, never silence."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.enums import ChatAction, ChatType
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import get_i18n
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from shopbot.bot.keyboards import main_menu, nothing_found_keyboard, products_keyboard
from shopbot.bot.render import h
from shopbot.bot.routers.filters import Magic
from shopbot.bot.routers.search import PAGE_SIZE, QUERY_LIMIT, show_found
from shopbot.bot.routers.start import start
from shopbot.bot.routers.support import (
    answer_typed_question,
    entries_keyboard,
    latest_orders,
    manager_button,
    support_command,
    topics_button,
)
from shopbot.bot.support_desk import SupportDesk
from shopbot.config import Settings
from shopbot.db import end_reading
from shopbot.search import SearchEngine
from shopbot.search.intents import asks_for_a_person
from shopbot.search.meaning import MeaningIndex
from shopbot.services import faq, support
from shopbot.services.assistant import ShopAssistant, ground, is_question
from shopbot.services.catalogue import ProductSummary
from shopbot.services.text import fold

# "Привет!", "добрый день", "hello": a greeting, answered with one (and the menu).
GREETINGS = frozenset(
    {"привет", "приветик", "здравствуйте", "здравствуй", "здрасте", "добрый день",
     "добрый вечер", "доброе утро", "доброго дня", "хай", "салют", "hello", "hi", "hey",
     "good morning", "good afternoon", "good evening"}
)  # fmt: skip


def is_greeting(text: str) -> bool:
    """The whole message is a greeting, give or take punctuation and a smile."""
    words = "".join(c if c.isalnum() or c.isspace() else " " for c in fold(text)).split()
    return " ".join(words) in GREETINGS


async def stale_button(query: CallbackQuery) -> None:
    """An old or forged button: every callback query gets an answer."""
    await query.answer(
        _("This button is out of date. Please open the menu again."), show_alert=True
    )


async def unknown_message(
    message: Message,
    is_admin: bool,
    session: AsyncSession,
    state: FSMContext,
    search_engine: SearchEngine,
    settings: Settings,
    assistant: ShopAssistant | None,
    support_desk: SupportDesk,
    faq_meaning: MeaningIndex | None = None,
    raw_state: str | None = None,
) -> None:
    """Text typed in a private chat outside any flow is understood as far as it can be: a
    greeting, a question about orders, the FAQ, the owner's LLM, goods; what names nothing
    gets close matches, or the catalogue, the FAQ and a person — never "I did not
    understand". An unknown command, and anything in the middle of a flow that its handlers
    did not take, gets the menu."""
    text = (message.text or "").strip()
    private = message.chat.type == ChatType.PRIVATE  # a group's chatter is no query
    if private and text and not text.startswith("/") and raw_state is None:
        query = text[:QUERY_LIMIT]
        if is_greeting(query):
            await start(message, settings, is_admin)
            return
        if asks_for_a_person(query):
            await support_command(message, session, settings, support_desk)
            return
        if support.asks_about_orders(query):
            await latest_orders(message, session)
            return
        asked = await faq.match_question(session, query, meaning=faq_meaning)
        if asked.confident is not None:
            await answer_typed_question(message, asked.confident)
            return
        if (
            assistant is not None
            and is_question(query)
            and await _model_answers(message, session, assistant, search_engine, query, faq_meaning)
        ):
            return
        found = await search_engine.search(session, query, 0, PAGE_SIZE)
        if found.page.total:
            await state.update_data(search=query)
            await show_found(message, query, found, settings)
            if asked.close:
                await message.answer(
                    _("Perhaps the answer to your question is here:"),
                    reply_markup=entries_keyboard(asked.close, manager=True),
                )
            return
        if found.close or asked.close:
            await state.update_data(search=query)
            markup = nothing_found_keyboard(found.close)
            markup.inline_keyboard.extend(
                entries_keyboard(asked.close, manager=True).inline_keyboard
            )
            await message.answer(
                _(
                    "Nothing matches “{query}” exactly. Perhaps you are looking for one of these?"
                ).format(query=h(query)),
                reply_markup=markup,
            )
            return
        markup = nothing_found_keyboard([])
        if await faq.topics(session):
            markup.inline_keyboard.append([topics_button()])
        markup.inline_keyboard.append([manager_button()])
        await message.answer(
            _(
                "I found nothing for “{query}”. Look in the catalogue or the common questions, "
                "or write to a manager: a person will answer."
            ).format(query=h(query)),
            reply_markup=markup,
        )
        return
    if text.startswith("/"):
        await message.answer(
            _("There is no such command. Use the menu below or /help."),
            reply_markup=main_menu(admin=is_admin),
        )
        return
    await message.answer(
        _("Please use the menu below or /help."), reply_markup=main_menu(admin=is_admin)
    )


async def _model_answers(
    message: Message,
    session: AsyncSession,
    assistant: ShopAssistant,
    search_engine: SearchEngine,
    question: str,
    faq_meaning: MeaningIndex | None,
) -> bool:
    """The owner's LLM answers from the shop's facts (see :mod:`shopbot.services.assistant`),
    with the products it names as cards and a person one tap away; False when it cannot."""
    assert message.from_user is not None and message.bot is not None
    grounding = await ground(
        session,
        search_engine,
        message.from_user.id,
        question,
        get_i18n().current_locale,
        faq_meaning=faq_meaning,
    )
    await end_reading(session)  # no connection waits for the model
    await message.bot.send_chat_action(message.chat.id, ChatAction.TYPING)
    answer = await assistant.answer(grounding)
    if answer is None:
        return False
    products = [ProductSummary(p.id, p.sku, p.name, p.price, p.stock) for p in answer.products]
    await message.answer(
        _("{answer}\n\n<i>An automatic answer from the shop's catalogue and FAQ.</i>").format(
            answer=h(answer.text)
        ),
        reply_markup=products_keyboard(products, [manager_button()]),
    )
    return True


async def unexpected_file(message: Message, is_admin: bool) -> None:
    """A file or a picture from a shopper (an admin's file is offered an import before)."""
    await message.answer(
        _("Sorry, I cannot take files or pictures. Use the menu below or /help."),
        reply_markup=main_menu(admin=is_admin),
    )


def create_router() -> Router:
    router = Router(name="fallback")
    router.callback_query.register(stale_button)
    router.message.register(unexpected_file, Magic(F.document | F.photo))
    router.message.register(unknown_message)
    return router
