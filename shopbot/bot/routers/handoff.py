"""The shopper's side of the hand-off to a person: the subject asked first (an order with a
choice of recent ones, delivery and payment, a product, a return or complaint, something
else), then "Вы пишете менеджеру…" with "Завершить разговор"; while the conversation is
open, whatever the shopper sends that no other handler takes (not a command, not a menu
button) is relayed to the staff, and edits of it follow."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from aiogram import F, Router
from aiogram.enums import ChatType
from aiogram.filters import Filter
from aiogram.filters.callback_data import CallbackData
from aiogram.types import (
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    TelegramObject,
)
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from shopbot.bot.callbacks import IdOrZero
from shopbot.bot.routers.filters import is_command_or_menu
from shopbot.bot.support_desk import SupportDesk
from shopbot.bot.support_texts import intro_text, out_of_hours_text, subject_label
from shopbot.bot.ui import show
from shopbot.config import Settings
from shopbot.models import SupportConversation, SupportSubject, utcnow
from shopbot.services import conversations, orders

ORDER_CHOICES = 5  # recent orders offered for "an order"


class HandoffAction(StrEnum):
    SUBJECT = "s"  # the subject ``subject`` chosen
    ORDER = "o"  # the order ``value`` chosen (0: none in particular)
    END = "e"  # end the conversation ``value``


class HandoffCb(CallbackData, prefix="ho"):
    action: HandoffAction
    subject: str = ""
    value: IdOrZero = 0


def end_keyboard(conversation_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(
                    text=_("End the conversation"),
                    callback_data=HandoffCb(action=HandoffAction.END, value=conversation_id).pack(),
                )
            ]
        ]
    )


def subjects_keyboard() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(
                    text=subject_label(subject),
                    callback_data=HandoffCb(
                        action=HandoffAction.SUBJECT, subject=subject.value
                    ).pack(),
                )
            ]
            for subject in SupportSubject
        ]
    )


def can_hand_off(desk: SupportDesk, settings: Settings) -> bool:
    """Is there anyone to hand a shopper to (the forum's topics, or admins to write to)?"""
    return desk.in_topics or bool(settings.admin_ids)


async def start_handoff(
    chat_id: int, target: Message | CallbackQuery, session: AsyncSession
) -> None:
    """/support, "Написать менеджеру": the subject question, or the open conversation."""
    assert target.bot is not None
    conversation = await conversations.open_of(session, chat_id)
    if conversation is not None:
        await target.bot.send_message(
            chat_id,
            _("💬 You are already talking to a manager: just write here."),
            reply_markup=end_keyboard(conversation.id),
        )
        return
    await target.bot.send_message(
        chat_id, _("What is your question about?"), reply_markup=subjects_keyboard()
    )


async def subject_pressed(
    query: CallbackQuery,
    callback_data: HandoffCb,
    session: AsyncSession,
    settings: Settings,
    support_desk: SupportDesk,
) -> None:
    try:
        subject = SupportSubject(callback_data.subject)
    except ValueError:
        await query.answer(_("This button is out of date."), show_alert=True)
        return
    if subject is SupportSubject.ORDER:
        found, _total = await orders.orders_of_user(
            session, query.from_user.id, limit=ORDER_CHOICES
        )
        if found:
            rows = [
                [
                    InlineKeyboardButton(
                        text=_("Order №{number}").format(number=order.number),
                        callback_data=HandoffCb(action=HandoffAction.ORDER, value=order.id).pack(),
                    )
                ]
                for order in found
            ]
            rows.append(
                [
                    InlineKeyboardButton(
                        text=_("Another order"),
                        callback_data=HandoffCb(action=HandoffAction.ORDER, value=0).pack(),
                    )
                ]
            )
            await show(query, _("Which order?"), InlineKeyboardMarkup(inline_keyboard=rows))
            await query.answer()
            return
    await _open(query, session, settings, support_desk, subject, None)


async def order_pressed(
    query: CallbackQuery,
    callback_data: HandoffCb,
    session: AsyncSession,
    settings: Settings,
    support_desk: SupportDesk,
) -> None:
    order_id = callback_data.value or None
    await _open(query, session, settings, support_desk, SupportSubject.ORDER, order_id)


async def _open(
    query: CallbackQuery,
    session: AsyncSession,
    settings: Settings,
    desk: SupportDesk,
    subject: SupportSubject,
    order_id: int | None,
) -> None:
    user_id = query.from_user.id
    assigned = await conversations.responsible(session, subject, settings.admin_ids)
    if not desk.staff_chats(assigned):  # no forum, and nobody to write to
        await query.answer(_("Sorry, the shop has not left a contact."), show_alert=True)
        return
    conversation, opened = await conversations.open_conversation(
        session,
        user_id,
        subject,
        order_id=order_id,
        opened_by=user_id,
        in_topic=desk.in_topics,
        assigned=assigned,
        card_targets=desk.staff_chats(assigned),
    )
    text = intro_text(settings.working_hours, utcnow(), settings.shop_timezone)
    if not opened:
        text = _("💬 You are already talking to a manager: just write here.")
    await show(query, text, end_keyboard(conversation.id))
    await query.answer()


async def end_pressed(
    query: CallbackQuery, callback_data: HandoffCb, session: AsyncSession
) -> None:
    try:
        closed = await conversations.close(
            session, callback_data.value, by=query.from_user.id, shopper=query.from_user.id
        )
    except conversations.NotYourConversation:
        await query.answer(_("This button is out of date."), show_alert=True)
        return
    if closed is None:
        await query.answer(_("This conversation has already ended."), show_alert=True)
        return
    await show(query, _("✅ Conversation ended. Write /support whenever you need a person."))
    await query.answer()


class InConversation(Filter):
    """A shopper's message in their private chat while they have an open conversation,
    that is not a command or a menu button; hands the handler the ``conversation``."""

    async def __call__(
        self, message: TelegramObject, session: AsyncSession, **_data: Any
    ) -> bool | dict[str, Any]:
        if not isinstance(message, Message) or message.chat.type != ChatType.PRIVATE:
            return False
        if is_command_or_menu(message):
            return False
        conversation = await conversations.open_of(session, message.chat.id)
        return False if conversation is None else {"conversation": conversation}


async def relay_to_staff(
    message: Message,
    conversation: SupportConversation,
    session: AsyncSession,
    settings: Settings,
    support_desk: SupportDesk,
) -> None:
    reply = message.reply_to_message.message_id if message.reply_to_message else None
    await conversations.record_to_staff(
        session,
        conversation,
        message.message_id,
        reply_to=reply,
        targets=support_desk.targets(conversation),
        media_group_id=message.media_group_id,
    )
    hours, zone, now = settings.working_hours, settings.shop_timezone, utcnow()
    if await conversations.first_out_of_hours(session, conversation.id, now, hours, zone):
        await message.answer(out_of_hours_text(hours, now, zone))


async def edited(message: Message, session: AsyncSession) -> None:
    """A shopper or staff edited a message already relayed: the edit follows it."""
    text = message.text or message.caption
    if text is not None:
        await conversations.record_edit(session, message.chat.id, message.message_id, text)


def create_router() -> Router:
    router = Router(name="handoff")
    router.callback_query.register(
        subject_pressed, HandoffCb.filter(F.action == HandoffAction.SUBJECT)
    )
    router.callback_query.register(order_pressed, HandoffCb.filter(F.action == HandoffAction.ORDER))
    router.callback_query.register(end_pressed, HandoffCb.filter(F.action == HandoffAction.END))
    router.edited_message.register(edited)
    return router


def create_relay_router() -> Router:
    """After the routers of commands and menu buttons: what is left, while a conversation
    is open, goes to the person."""
    router = Router(name="handoff_relay")
    router.message.register(relay_to_staff, InConversation())
    return router
