"""The staff's side of the support conversations.

In the forum group, a message in a shopper's topic from staff (an admin of ``ADMIN_IDS`` or
an employee of ``/staff``) is relayed to that shopper, a reply keeping its thread; a
message starting with ``//`` or ``#note`` is an internal note and stays in the group (an
album with an item captioned so, all of it), as does any other command; ``/close`` (or the
card's button) ends the conversation. A group member who is not staff is not relayed, and
told so once per conversation. Writing in the topic of a shopper whose conversation ended
opens a new one.

Without topics (the DM fallback) staff answer by replying, in their private chat with the
bot, to the card or to a shopper's message the bot copied there; ``/close`` as such a reply
ends the conversation.

From an order's admin card, "✉ Написать покупателю" opens a conversation about the order
(or uses the open one) and sends its card to the staff chat.
"""

from __future__ import annotations

from typing import Any

from aiogram import Router
from aiogram.enums import ChatType
from aiogram.filters import Filter
from aiogram.types import CallbackQuery, Message, TelegramObject
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from shopbot.bot.support_desk import SupportDesk
from shopbot.bot.support_keyboards import StaffAction, StaffCb
from shopbot.config import Settings
from shopbot.models import Order, SupportConversation, SupportSubject
from shopbot.services import conversations

CLOSE_COMMANDS = ("/close",)


def _is_close(message: Message) -> bool:
    word = (message.text or "").split(maxsplit=1)[0] if message.text else ""
    return word.split("@", 1)[0].lower() in CLOSE_COMMANDS


def _is_service(message: Message) -> bool:
    """Topic created, closed, a member joined...: nothing a person wrote."""
    return message.content_type not in (
        "text", "photo", "document", "voice", "video", "audio", "animation", "sticker",
        "location", "contact", "video_note", "venue",
    )  # fmt: skip


async def _kept_as_note(
    message: Message, conversation: SupportConversation | None, session: AsyncSession
) -> bool:
    """Is this staff message an internal note, to stay where it is? An album is one when
    any of its items is captioned so: the note's item is recorded, so the album's later
    items stay too (and earlier ones, not yet relayed while the album gathers)."""
    assert message.from_user is not None
    group = message.media_group_id
    if conversations.is_note(message.text or message.caption):
        if group is not None and conversation is not None:
            await conversations.record_note_item(
                session, conversation, message.from_user.id, message.chat.id,
                message.message_id, group,
            )  # fmt: skip
        return True
    return group is not None and await conversations.album_is_note(session, message.chat.id, group)


class InStaffTopic(Filter):
    """A message in a topic of the forum group that is a shopper's; gives ``shopper_id``."""

    async def __call__(
        self, message: TelegramObject, session: AsyncSession, **data: Any
    ) -> bool | dict[str, Any]:
        support_desk: SupportDesk | None = data.get("support_desk")
        if (
            not isinstance(message, Message)
            or support_desk is None
            or support_desk.forum_chat is None
            or message.chat.id != support_desk.forum_chat
            or not message.is_topic_message
            or message.message_thread_id is None
            or _is_service(message)
        ):
            return False
        shopper_id = await conversations.user_of_topic(
            session, message.chat.id, message.message_thread_id
        )
        return False if shopper_id is None else {"shopper_id": shopper_id}


class StaffReplyInPrivate(Filter):
    """Staff replying, in their private chat, to a conversation's card or copy there."""

    async def __call__(
        self, message: TelegramObject, session: AsyncSession, settings: Settings, **_: Any
    ) -> bool | dict[str, Any]:
        if (
            not isinstance(message, Message)
            or message.chat.type != ChatType.PRIVATE
            or message.reply_to_message is None
            or message.from_user is None
        ):
            return False
        conversation = await conversations.conversation_of_staff_message(
            session, message.chat.id, message.reply_to_message.message_id
        )
        if conversation is None or not await conversations.is_staff(
            session, message.from_user.id, settings.admin_ids
        ):
            return False
        return {"conversation": conversation}


async def in_topic(
    message: Message,
    shopper_id: int,
    session: AsyncSession,
    settings: Settings,
    support_desk: SupportDesk,
) -> None:
    assert message.from_user is not None and message.message_thread_id is not None
    sender = message.from_user.id
    conversation = await conversations.open_of(session, shopper_id)
    if not await conversations.is_staff(session, sender, settings.admin_ids):
        current = conversation or await conversations.latest_of(session, shopper_id)
        if current is not None and await conversations.warn_once(session, current.id, sender):
            await message.reply(
                _(
                    "Only the shop's staff are relayed to the shopper: your messages here are "
                    "not sent to them."
                )
            )
        return
    current = conversation or await conversations.latest_of(session, shopper_id)
    if await _kept_as_note(message, current, session):
        return
    if _is_close(message):
        if (
            conversation is None
            or await conversations.close(session, conversation.id, by=sender) is None
        ):
            await message.reply(_("This conversation has already ended."))
        return
    if (message.text or "").startswith("/"):
        return  # another command (another bot's, or a typo): nothing the shopper should get
    if conversation is None:
        conversation, _opened = await conversations.open_conversation(
            session,
            shopper_id,
            SupportSubject.OTHER,
            order_id=None,
            opened_by=sender,
            in_topic=True,
            assigned=[sender],
            card_targets=[],
        )
    reply = message.reply_to_message
    reply_to = (
        reply.message_id
        if reply is not None and reply.message_id != message.message_thread_id
        else None
    )
    await conversations.record_to_shopper(
        session,
        conversation,
        sender,
        message.chat.id,
        message.message_id,
        reply_to=reply_to,
        media_group_id=message.media_group_id,
    )


async def in_private(
    message: Message, conversation: SupportConversation, session: AsyncSession
) -> None:
    assert message.from_user is not None and message.reply_to_message is not None
    if conversation.status is not conversations.OPEN:
        await message.reply(_("This conversation has already ended."))
        return
    if _is_close(message):
        await conversations.close(session, conversation.id, by=message.from_user.id)
        await message.reply(_("✅ Conversation closed."))
        return
    if await _kept_as_note(message, conversation, session):
        return
    await conversations.record_to_shopper(
        session,
        conversation,
        message.from_user.id,
        message.chat.id,
        message.message_id,
        reply_to=message.reply_to_message.message_id,
        media_group_id=message.media_group_id,
    )


async def staff_button(
    query: CallbackQuery,
    callback_data: StaffCb,
    session: AsyncSession,
    settings: Settings,
    support_desk: SupportDesk,
) -> None:
    """The card's "close" and the order card's "write to the shopper": staff only."""
    if not await conversations.is_staff(session, query.from_user.id, settings.admin_ids):
        await query.answer(_("Only the shop's staff can do this."), show_alert=True)
        return
    if callback_data.action is StaffAction.CLOSE:
        try:
            closed = await conversations.close(session, callback_data.value, by=query.from_user.id)
        except conversations.NotYourConversation:
            closed = None
        await query.answer(
            _("✅ Conversation closed.") if closed else _("This conversation has already ended.")
        )
        return
    order = await session.get(Order, callback_data.value)
    if order is None:
        await query.answer(_("This button is out of date."), show_alert=True)
        return
    assigned = [query.from_user.id]
    _conversation, opened = await conversations.open_conversation(
        session,
        order.user_id,
        SupportSubject.ORDER,
        order_id=order.id,
        opened_by=query.from_user.id,
        in_topic=support_desk.in_topics,
        assigned=assigned,
        card_targets=support_desk.staff_chats(assigned),
    )
    if support_desk.in_topics:
        text = _("The shopper's topic in the staff group has the card: write there.")
    else:
        text = _("I sent you the shopper's card: reply to it to write to them.")
    if not opened:
        text = _("This shopper already has an open conversation.") + " " + text
    await query.answer(text, show_alert=True)


def create_router() -> Router:
    router = Router(name="staff_desk")
    router.message.register(in_topic, InStaffTopic())
    router.message.register(in_private, StaffReplyInPrivate())
    router.callback_query.register(staff_button, StaffCb.filter())
    return router
