"""The shopper's side of ratings: the 1–5 tap under "rate order №…" or "how did we help
you?", then the optional comment (the next text typed) or Skip.

Each tap is one conditional update (``services.ratings``): a second tap, a late one or a
forged button is answered politely and changes nothing.
"""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from shopbot.bot.callbacks import RatingCb, RatingSkipCb
from shopbot.bot.followups import rated_text, skip_keyboard
from shopbot.bot.routers.filters import Magic, plain_text
from shopbot.bot.ui import show
from shopbot.models import RatingKind
from shopbot.services import ratings
from shopbot.services.ratings import Outcome


class RatingForm(StatesGroup):
    comment = State()  # the shopper's next text is the comment on the rating in data


async def score_pressed(
    query: CallbackQuery, callback_data: RatingCb, session: AsyncSession, state: FSMContext
) -> None:
    answer = await ratings.rate(
        session, callback_data.rating_id, query.from_user.id, callback_data.score
    )
    if answer.outcome is Outcome.NOT_FOUND:
        await query.answer(_("This button is out of date."), show_alert=True)
        return
    if answer.outcome is Outcome.ALREADY:
        await query.answer(_("You have rated this already. Thank you!"))
        return
    rating = answer.rating
    assert rating is not None
    await query.answer()
    number = await ratings.order_number(session, rating)
    # The comment prompt never takes over a conversation in progress (a checkout).
    current = await state.get_state()
    asks_comment = answer.asks_comment and current in (None, RatingForm.comment.state)
    if asks_comment:
        await state.set_state(RatingForm.comment)
        await state.update_data(rating_comment=rating.id)
    markup = skip_keyboard(rating.id) if asks_comment else None
    await show(query, rated_text(rating, number, asks_comment=asks_comment), markup)


async def skip_pressed(
    query: CallbackQuery, callback_data: RatingSkipCb, session: AsyncSession, state: FSMContext
) -> None:
    """No comment: the request turns into thanks (a second Skip finds it so already)."""
    rating = await ratings.rating_of(session, callback_data.rating_id, query.from_user.id)
    if rating is None:
        await query.answer(_("This button is out of date."), show_alert=True)
        return
    if (await state.get_data()).get("rating_comment") == rating.id:
        await state.set_state(None)
        await state.update_data(rating_comment=None)
    await query.answer()
    number = await ratings.order_number(session, rating)
    await show(query, rated_text(rating, number, asks_comment=False))


async def comment_typed(message: Message, session: AsyncSession, state: FSMContext) -> None:
    text = (message.text or "").strip()
    if len(text) > ratings.COMMENT_LIMIT:
        await message.answer(
            _("The comment is too long. Please shorten it to {limit} characters.").format(
                limit=ratings.COMMENT_LIMIT
            )
        )
        return
    rating_id = (await state.get_data()).get("rating_comment")
    await state.set_state(None)
    await state.update_data(rating_comment=None)
    assert message.from_user is not None
    answer = await ratings.comment(session, int(rating_id or 0), message.from_user.id, text)
    if answer.outcome is Outcome.NOT_FOUND:
        await message.answer(_("This rating is no longer open for comments."))
    elif answer.outcome is Outcome.ALREADY:
        await message.answer(_("You have left a comment already. Thank you!"))
    elif answer.rating is not None and answer.rating.kind is RatingKind.SERVICE:
        await message.answer(_("✅ Thank you: the shop will read it."))
    else:
        await message.answer(_("✅ Thank you for the comment!"))


async def comment_not_text(message: Message) -> None:
    await message.answer(_("Please write the comment as text, or tap Skip."))


def create_router() -> Router:
    router = Router(name="ratings")
    router.callback_query.register(score_pressed, RatingCb.filter())
    router.callback_query.register(skip_pressed, RatingSkipCb.filter())
    router.message.register(comment_typed, StateFilter(RatingForm.comment), plain_text())
    router.message.register(comment_not_text, StateFilter(RatingForm.comment), Magic(~F.text))
    return router
