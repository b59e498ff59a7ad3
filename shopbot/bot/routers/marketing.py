"""The shopper's side of marketing: consent to news and discounts, given and taken back.

``/subscribe`` and ``/unsubscribe`` at any time, the Yes/No of the question asked after the
first order, the button under /help, and "Unsubscribe" under every promotional message
(``keyboards.with_unsubscribe``). Each answer is confirmed in words.
"""

from __future__ import annotations

from aiogram import Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from sqlalchemy.ext.asyncio import AsyncSession

from shopbot.bot.callbacks import ConsentAnswer, ConsentCb, ConsentPlace, UnsubscribeCb
from shopbot.bot.keyboards import consent_toggle
from shopbot.bot.texts import subscribed_text, unsubscribed_text
from shopbot.bot.ui import show
from shopbot.models import ConsentSource
from shopbot.services import marketing

SOURCES = {
    ConsentPlace.QUESTION: ConsentSource.AFTER_FIRST_ORDER,
    ConsentPlace.MENU: ConsentSource.MENU,
}


async def _answer(session: AsyncSession, user_id: int, *, yes: bool, source: ConsentSource) -> str:
    """Store the answer; the words that confirm it."""
    if yes:
        changed = await marketing.subscribe(session, user_id, source)
        return subscribed_text(already=not changed)
    changed = await marketing.unsubscribe(session, user_id, source)
    return unsubscribed_text(already=not changed)


async def subscribe_command(message: Message, session: AsyncSession) -> None:
    assert message.from_user is not None
    await message.answer(
        await _answer(session, message.from_user.id, yes=True, source=ConsentSource.COMMAND)
    )


async def unsubscribe_command(message: Message, session: AsyncSession) -> None:
    assert message.from_user is not None
    await message.answer(
        await _answer(session, message.from_user.id, yes=False, source=ConsentSource.COMMAND)
    )


async def consent_pressed(
    query: CallbackQuery, callback_data: ConsentCb, session: AsyncSession
) -> None:
    """The question turns into the confirmation; under /help the button turns into the
    opposite one and the confirmation comes below."""
    yes = callback_data.answer is ConsentAnswer.YES
    text = await _answer(session, query.from_user.id, yes=yes, source=SOURCES[callback_data.place])
    await query.answer()
    if callback_data.place is ConsentPlace.QUESTION:
        await show(query, text)
        return
    toggle = consent_toggle(subscribed=yes)
    if isinstance(query.message, Message) and not _shows(query.message, toggle):
        try:
            await query.message.edit_reply_markup(reply_markup=toggle)
        except TelegramBadRequest as exc:  # turned meanwhile by a tap handled elsewhere
            if "message is not modified" not in exc.message:
                raise
    if query.bot is not None:
        await query.bot.send_message(query.from_user.id, text)


def _shows(message: Message, markup: InlineKeyboardMarkup) -> bool:
    """Does the message carry these buttons already (a second tap of the same button)?
    Compared by content: a markup parsed from an update is never ``==`` a built one."""
    current = message.reply_markup
    return current is not None and current.model_dump(exclude_none=True) == markup.model_dump(
        exclude_none=True
    )


async def unsubscribe_pressed(query: CallbackQuery, session: AsyncSession) -> None:
    """The Unsubscribe button under a promotional message: the message stays, the consent
    goes."""
    text = await _answer(session, query.from_user.id, yes=False, source=ConsentSource.PROMO_MESSAGE)
    await query.answer()
    if query.bot is not None:
        await query.bot.send_message(query.from_user.id, text)


def create_router() -> Router:
    router = Router(name="marketing")
    router.message.register(subscribe_command, Command("subscribe"))
    router.message.register(unsubscribe_command, Command("unsubscribe"))
    router.callback_query.register(consent_pressed, ConsentCb.filter())
    router.callback_query.register(unsubscribe_pressed, UnsubscribeCb.filter())
    return router
