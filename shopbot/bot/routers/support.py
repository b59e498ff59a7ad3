"""Support for shoppers: the FAQ's topics, questions and answers, "write to a manager"
(the hand-off to a person, see the handoff router; the shop's contact when there is no
staff to hand off to), and what typed text finds in the FAQ (see the fallback router)."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from shopbot.bot.callbacks import FaqAction, FaqCb, OrdersAction, OrdersCb
from shopbot.bot.render import TEXT_LIMIT, h, split
from shopbot.bot.routers.handoff import can_hand_off, start_handoff
from shopbot.bot.support_desk import SupportDesk
from shopbot.bot.texts import status_label
from shopbot.bot.ui import show
from shopbot.config import Settings
from shopbot.models import FaqEntry
from shopbot.services import faq, orders

LATEST_ORDERS = 3  # the orders "where is my order" tells of
# A message's first piece holds the question too (Telegram counts the text, not the tags).
ANSWER_PIECE = TEXT_LIMIT - faq.MAX_QUESTION - 2


def _button(text: str, action: FaqAction, entry_id: int = 0) -> InlineKeyboardButton:
    return InlineKeyboardButton(
        text=text, callback_data=FaqCb(action=action, entry_id=entry_id).pack()
    )


def topics_button() -> InlineKeyboardButton:
    return _button(_("❓ Common questions"), FaqAction.TOPICS)


def manager_button() -> InlineKeyboardButton:
    return _button(_("Didn't find an answer? Write to a manager"), FaqAction.MANAGER)


def entries_keyboard(entries: list[FaqEntry], *, manager: bool = False) -> InlineKeyboardMarkup:
    rows = [[_button(entry.question[:64], FaqAction.ENTRY, entry.id)] for entry in entries]
    if manager:
        rows.append([manager_button()])
    return InlineKeyboardMarkup(inline_keyboard=rows)


async def send_topics(message: Message, session: AsyncSession) -> None:
    """The FAQ's topics as buttons (nothing when the shop has no FAQ)."""
    topics = await faq.topics(session)
    if not topics:
        return
    rows = [[_button(topic.name[:64], FaqAction.TOPIC, topic.first_id)] for topic in topics]
    rows.append([manager_button()])
    await message.answer(
        _("❓ <b>Common questions</b>: choose a topic."),
        reply_markup=InlineKeyboardMarkup(inline_keyboard=rows),
    )


async def topic_pressed(query: CallbackQuery, callback_data: FaqCb, session: AsyncSession) -> None:
    name, entries = await faq.entries_of_topic(session, callback_data.entry_id)
    if not entries:
        await query.answer(_("This topic is no longer in the list."), show_alert=True)
        return
    markup = entries_keyboard(entries)
    markup.inline_keyboard.append([_button(_("⬅ All topics"), FaqAction.TOPICS)])
    await show(query, f"❓ <b>{h(name)}</b>", markup)
    await query.answer()


async def topics_pressed(query: CallbackQuery, session: AsyncSession) -> None:
    topics = await faq.topics(session)
    rows = [[_button(topic.name[:64], FaqAction.TOPIC, topic.first_id)] for topic in topics]
    rows.append([manager_button()])
    await show(
        query,
        _("❓ <b>Common questions</b>: choose a topic."),
        InlineKeyboardMarkup(inline_keyboard=rows),
    )
    await query.answer()


async def send_answer(
    target: Message, entry: FaqEntry, markup: InlineKeyboardMarkup | None = None
) -> None:
    """The question in bold and its answer, escaped, split at paragraphs (then lines,
    sentences, words) when long; the buttons under the last piece."""
    pieces = split(entry.answer, ANSWER_PIECE)
    head = f"<b>{h(entry.question)}</b>\n\n"
    for index, piece in enumerate(pieces):
        last = index == len(pieces) - 1
        await target.answer(
            (head if index == 0 else "") + h(piece), reply_markup=markup if last else None
        )


def answer_keyboard(entry: FaqEntry) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [manager_button()],
            [
                _button(
                    _("⬅ Questions on “{topic}”").format(topic=entry.topic[:40]),
                    FaqAction.TOPIC,
                    entry.id,
                )
            ],
        ]
    )


def helped_keyboard(entry: FaqEntry) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                _button("👍", FaqAction.HELPED, entry.id),
                _button("👎", FaqAction.NOT_HELPED, entry.id),
            ]
        ]
    )


async def entry_pressed(query: CallbackQuery, callback_data: FaqCb, session: AsyncSession) -> None:
    entry = await session.get(FaqEntry, callback_data.entry_id)
    if entry is None or not isinstance(query.message, Message):
        await query.answer(_("This question is no longer in the list."), show_alert=True)
        return
    await query.answer()
    await send_answer(query.message, entry, answer_keyboard(entry))


async def answer_typed_question(message: Message, entry: FaqEntry) -> None:
    """A typed question the FAQ answers: the entry, then "Did this help?"."""
    await send_answer(message, entry)
    await message.answer(_("Did this help?"), reply_markup=helped_keyboard(entry))


async def helped(query: CallbackQuery) -> None:
    await show(query, _("Glad I could help! 😊"))
    await query.answer()


async def not_helped(query: CallbackQuery) -> None:
    await show(
        query,
        _("Sorry about that. A manager will help: write to them."),
        InlineKeyboardMarkup(inline_keyboard=[[manager_button()]]),
    )
    await query.answer()


async def _offer_manager(
    chat_id: int,
    target: Message | CallbackQuery,
    session: AsyncSession,
    settings: Settings,
    desk: SupportDesk,
) -> bool:
    """The hand-off to a person, or else the shop's contact (False: neither exists)."""
    if can_hand_off(desk, settings):
        await start_handoff(chat_id, target, session)
        return True
    if not settings.shop_contact:
        return False
    assert target.bot is not None
    await target.bot.send_message(
        chat_id, _("Contact the shop: {contact}").format(contact=h(settings.shop_contact))
    )
    return True


async def manager_pressed(
    query: CallbackQuery, session: AsyncSession, settings: Settings, support_desk: SupportDesk
) -> None:
    if await _offer_manager(query.from_user.id, query, session, settings, support_desk):
        await query.answer()
    else:
        await query.answer(_("Sorry, the shop has not left a contact."), show_alert=True)


async def support_command(
    message: Message, session: AsyncSession, settings: Settings, support_desk: SupportDesk
) -> None:
    """/support: straight to a person."""
    if not await _offer_manager(message.chat.id, message, session, settings, support_desk):
        await message.answer(_("Sorry, the shop has not left a contact."))


async def latest_orders(message: Message, session: AsyncSession) -> None:
    """ "Where is my order?": the statuses of the shopper's latest orders."""
    found, _total = await orders.orders_of_user(session, message.chat.id, limit=LATEST_ORDERS)
    if not found:
        await message.answer(_("You have no orders yet."))
        return
    lines = [_("📦 <b>Your latest orders</b>")]
    lines += [
        _("№{number}: {status}").format(number=order.number, status=status_label(order.status))
        for order in found
    ]
    rows = [
        [
            InlineKeyboardButton(
                text=_("Order №{number}").format(number=order.number),
                callback_data=OrdersCb(action=OrdersAction.SHOW, order_id=order.id).pack(),
            )
        ]
        for order in found
    ]
    await message.answer("\n".join(lines), reply_markup=InlineKeyboardMarkup(inline_keyboard=rows))


def create_router() -> Router:
    router = Router(name="support")
    router.message.register(support_command, Command("support"))
    router.callback_query.register(topics_pressed, FaqCb.filter(F.action == FaqAction.TOPICS))
    router.callback_query.register(topic_pressed, FaqCb.filter(F.action == FaqAction.TOPIC))
    router.callback_query.register(entry_pressed, FaqCb.filter(F.action == FaqAction.ENTRY))
    router.callback_query.register(helped, FaqCb.filter(F.action == FaqAction.HELPED))
    router.callback_query.register(not_helped, FaqCb.filter(F.action == FaqAction.NOT_HELPED))
    router.callback_query.register(manager_pressed, FaqCb.filter(F.action == FaqAction.MANAGER))
    return router
