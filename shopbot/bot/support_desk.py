"""The bot's side of the support conversations: where the staff talk (the forum group's
topics, or else the admins' private chats), and the outbox senders that copy each side's
messages to the other in order (``shopbot.services.conversations``).

Topics are used when ``SUPPORT_CHAT_ID`` (default ``ADMIN_CHAT_ID``) is a supergroup with
topics where the bot is an admin allowed to manage topics; :meth:`SupportDesk.check` looks
at start-up and logs one line saying why not otherwise. Each shopper gets one topic, made
on their first conversation and reused; one staff deleted is made again (with the card) the
next time a message must go there. A shopper who blocked the bot, an employee who did, an
employee who left the group: the staff side is told, nothing crashes or vanishes silently.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from datetime import datetime

from aiogram import Bot
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.types import ChatMemberAdministrator, ReplyParameters
from aiogram.utils.i18n import gettext as _
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from shopbot.bot.clock import shop_clock
from shopbot.bot.i18n import PoI18n
from shopbot.bot.render import h
from shopbot.bot.support_keyboards import close_keyboard
from shopbot.bot.support_texts import card_text, mention, topic_name
from shopbot.config import Settings
from shopbot.models import (
    ConversationStatus,
    Order,
    OutboxMessage,
    RelayDirection,
    SupportConversation,
    SupportMessage,
    SupportStaff,
    User,
    utcnow,
)
from shopbot.services import cart, conversations, orders
from shopbot.services.outbox import RetryLater, Sender, Undeliverable
from shopbot.services.users import mark_blocked

log = logging.getLogger(__name__)

CARD_ORDERS = 3  # the shopper's latest orders on the card
THREAD_NOT_FOUND = "message thread not found"
TOPIC_DELETED = "TOPIC_DELETED"
_TOPIC_CLOSED_ALREADY = "TOPIC_NOT_MODIFIED"


def _topic_gone(exc: TelegramBadRequest) -> bool:
    """Telegram's answer for a topic staff deleted (sending into it, or managing it)."""
    return THREAD_NOT_FOUND in exc.message or TOPIC_DELETED in exc.message


@contextmanager
def _passing_failures() -> Iterator[None]:
    """Telegram's 429, 5xx and network failures become ``RetryLater``."""
    try:
        yield
    except TelegramRetryAfter as exc:
        raise RetryLater(str(exc), after=exc.retry_after) from exc
    except (TelegramServerError, TelegramNetworkError) as exc:
        raise RetryLater(str(exc)) from exc


class SupportDesk:
    """Where the staff side of conversations is, and the outbox senders of
    ``shopbot.services.conversations`` (see the module's docstring)."""

    def __init__(self, bot: Bot, settings: Settings, i18n: PoI18n) -> None:
        self.bot = bot
        self.settings = settings
        self.i18n = i18n
        self.forum_chat: int | None = None  # set by check(): the group whose topics are used
        self._admins_told = False  # of topics lost while running, once per process
        # Since when this process has been taking updates (None: it has stopped): an album
        # is relayed only after it heard nothing more of it for a while.
        self._awake_since: datetime | None = utcnow()

    # ---------------------------------------------------------------- set-up

    async def check(self) -> str | None:
        """Use the group's topics if Telegram says they can be; else log why not, once, and
        return why."""
        chat_id = self.settings.support_chat
        reason = None
        if chat_id is None:
            reason = "neither SUPPORT_CHAT_ID nor ADMIN_CHAT_ID is set"
        else:
            try:
                chat = await self.bot.get_chat(chat_id)
                me = await self.bot.me()
                member = await self.bot.get_chat_member(chat_id, me.id)
            except TelegramAPIError as exc:
                reason = f"the bot cannot reach chat {chat_id} ({exc.message})"
            else:
                if not chat.is_forum:
                    reason = f"chat {chat_id} is not a supergroup with topics"
                elif not (isinstance(member, ChatMemberAdministrator) and member.can_manage_topics):
                    reason = f"the bot is not an admin allowed to manage topics in chat {chat_id}"
        if reason is not None:
            log.warning(
                "support: topics are not used (%s); hand-offs go to the admins' private chats",
                reason,
            )
            self.forum_chat = None
        else:
            log.info("support: conversations go to the topics of chat %s", chat_id)
            self.forum_chat = chat_id
        return reason

    async def awake(self) -> None:
        """Updates start coming (the dispatcher's start-up; a restart's first updates may be
        the rest of an album whose first items came before it)."""
        self._awake_since = utcnow()

    async def asleep(self) -> None:
        """Updates stop coming (the dispatcher's shutdown): albums are left to the next
        process, which will hear all of their items."""
        self._awake_since = None

    @property
    def in_topics(self) -> bool:
        return self.forum_chat is not None

    def staff_chats(self, assigned: list[int]) -> list[int]:
        """Where a conversation's messages go: the forum, or each responsible admin."""
        return [self.forum_chat] if self.forum_chat is not None else list(assigned)

    def targets(self, conversation: SupportConversation) -> list[int]:
        if conversation.in_topic and self.forum_chat is not None:
            return [self.forum_chat]
        return list(conversation.assigned)

    def senders(self) -> dict[str, Sender]:
        return {
            conversations.SUPPORT_RELAY: self.relay,
            conversations.SUPPORT_CLOSED: self.closed,
            conversations.SUPPORT_REMINDER: self.remind,
        }

    @contextmanager
    def _speaking(self, language: str) -> Iterator[None]:
        with (
            self.i18n.context(),
            self.i18n.use_locale(language),
            shop_clock(self.settings.shop_timezone),
        ):
            yield

    def _staff_language(self) -> str:
        return self.settings.default_language

    # ---------------------------------------------------------------- relay

    async def _conversation(
        self, session: AsyncSession, message: OutboxMessage
    ) -> SupportConversation:
        conversation = await session.get(
            SupportConversation, message.payload["conversation_id"], populate_existing=True
        )
        if conversation is None:
            raise Undeliverable(f"conversation {message.payload['conversation_id']} is gone")
        return conversation

    async def relay(self, session: AsyncSession, message: OutboxMessage) -> None:
        """Relay the conversation's pending messages, oldest first (an album's items in one
        call); one that cannot go now holds back the rest (RetryLater), so nothing
        overtakes it."""
        conversation = await self._conversation(session, message)
        while True:
            try:
                rows = await conversations.claim_next(
                    session, conversation.id, awake_since=self._awake_since
                )
            except conversations.RowTaken as exc:
                raise RetryLater("another process is relaying this conversation") from exc
            except conversations.AlbumComing as exc:
                raise RetryLater(str(exc), after=exc.after) from exc
            if not rows:
                return
            try:
                if len(rows) == 1:
                    outcomes = [await self._relay_row(session, conversation, rows[0])]
                else:
                    outcomes = await self._relay_album(session, conversation, rows)
            except BaseException:
                await conversations.release(session, [row.id for row in rows])
                raise
            done = zip(rows, outcomes, strict=True)
            await conversations.relayed(
                session, [(row.id, target, failure) for row, (target, failure) in done]
            )

    async def _relay_row(
        self, session: AsyncSession, conversation: SupportConversation, row: SupportMessage
    ) -> tuple[int | None, str | None]:
        """Send one row; (the copy's id, None) or (None, why it can never go)."""
        with _passing_failures():
            try:
                if row.source_message_id == conversations.CARD:
                    return await self._send_card(session, conversation, row.target_chat_id), None
                if row.edited_text is not None:
                    return await self._relay_edit(session, conversation, row), None
                if row.direction is RelayDirection.TO_STAFF:
                    return await self._to_staff(session, conversation, row), None
                return await self._to_shopper(session, conversation, row), None
            except (TelegramForbiddenError, TelegramBadRequest) as exc:
                return None, await self._undeliverable(session, conversation, row, exc)

    async def _relay_album(
        self, session: AsyncSession, conversation: SupportConversation, rows: list[SupportMessage]
    ) -> list[tuple[int | None, str | None]]:
        """Send an album's rows (one chat to one chat) in one ``copyMessages``, so the copy is
        an album too; each row gets its item's copy. ``copyMessages`` takes no reply: an
        album that answered a message arrives without the thread."""
        with _passing_failures():
            try:
                if rows[0].direction is RelayDirection.TO_STAFF:
                    copies = await self._album_to_staff(session, conversation, rows)
                else:
                    copies = await self._album_to_shopper(session, conversation, rows)
            except (TelegramForbiddenError, TelegramBadRequest) as exc:
                failure = await self._undeliverable(session, conversation, rows[0], exc, rows)
                return [(None, failure)] * len(rows)
        if len(copies) != len(rows):  # Telegram skipped an item (deleted meanwhile)
            log.info("support album %s: %s of %s items copied", rows[0].id, len(copies), len(rows))
            return [(None, "album partly copied")] * len(rows)
        return [(copy, None) for copy in copies]

    async def _album_to_staff(
        self, session: AsyncSession, conversation: SupportConversation, rows: list[SupportMessage]
    ) -> list[int]:
        first = rows[0]
        ids = [row.source_message_id for row in rows]
        if first.target_chat_id != self.forum_chat:
            copied = await self.bot.copy_messages(first.target_chat_id, first.source_chat_id, ids)
            return [item.message_id for item in copied]
        copies: list[int] = []

        async def send(thread: int) -> int:
            copied = await self.bot.copy_messages(
                first.target_chat_id, first.source_chat_id, ids, message_thread_id=thread
            )
            copies[:] = [item.message_id for item in copied]
            return copies[0]

        await self._in_thread(session, conversation, send)
        return copies

    async def _album_to_shopper(
        self, session: AsyncSession, conversation: SupportConversation, rows: list[SupportMessage]
    ) -> list[int]:
        first = rows[0]
        await self._staff_header(session, conversation, first)
        copied = await self.bot.copy_messages(
            conversation.user_id, first.source_chat_id, [row.source_message_id for row in rows]
        )
        return [item.message_id for item in copied]

    async def _undeliverable(
        self,
        session: AsyncSession,
        conversation: SupportConversation,
        row: SupportMessage,
        exc: TelegramAPIError,
        album: list[SupportMessage] | None = None,
    ) -> str:
        """A message (``row``, or the ``album`` it begins) Telegram will never take: say so
        on the other side, keep going."""
        log.info("support message %s not relayed: %s", row.id, exc.message)
        if row.direction is RelayDirection.TO_STAFF and row.target_chat_id not in set(
            self.settings.admin_ids
        ):  # the staff chat refused it (an admin's own chat refusing: the others have it)
            await self._to_admins_instead(album or [row], exc)
        if row.direction is RelayDirection.TO_SHOPPER:
            if isinstance(exc, TelegramForbiddenError) or "chat not found" in exc.message:
                await mark_blocked(session, conversation.user_id)
                with self._speaking(self._staff_language()):
                    text = _("⚠ Not delivered: the shopper blocked the bot or deleted the chat.")
            else:
                with self._speaking(self._staff_language()):
                    text = _("⚠ Not delivered: Telegram refused to copy this message.")
            await self._notice(row.source_chat_id, row.source_message_id, text)
        return exc.message

    async def _to_admins_instead(self, rows: list[SupportMessage], exc: TelegramAPIError) -> None:
        """A shopper's message (or album) the staff chat refused (the bot lost its rights
        there, or was removed): never lost in silence — each admin gets it in private, with
        the reason."""
        row = rows[0]
        if row.source_message_id == conversations.CARD:
            return  # the card is the bot's own: the shopper's messages after it say it all
        log.warning(
            "support: a shopper's message did not reach chat %s (%s); it goes to the admins",
            row.target_chat_id,
            exc.message,
        )
        with self._speaking(self._staff_language()):
            text = _(
                "⚠ A shopper's message could not reach the support chat (Telegram said: "
                "{reason}). Check the bot's rights there. The message:"
            ).format(reason=h(exc.message))
        for admin_id in self.settings.admin_ids:
            if admin_id == row.target_chat_id:
                continue
            try:
                await self.bot.send_message(admin_id, text)
                await self.bot.copy_messages(
                    admin_id, row.source_chat_id, [item.source_message_id for item in rows]
                )
            except TelegramAPIError as failure:
                log.warning("support: admin %s could not be told: %s", admin_id, failure.message)

    async def _notice(self, chat_id: int, reply_to: int, text: str) -> None:
        """A word from the bot under a staff message (in its topic, if any)."""
        try:
            await self.bot.send_message(
                chat_id,
                text,
                reply_parameters=ReplyParameters(
                    message_id=reply_to, allow_sending_without_reply=True
                ),
            )
        except TelegramAPIError as exc:
            log.warning("support notice to chat %s failed: %s", chat_id, exc.message)

    # ----------------------------------------------------------- the topic

    async def _thread(
        self,
        session: AsyncSession,
        conversation: SupportConversation,
        *,
        fresh: bool = False,
        card: bool = True,
    ) -> int:
        """The shopper's topic in the forum (made now if they have none, or ``fresh``: the
        old one was deleted, and the card goes into the new one unless ``card`` is False:
        the card itself is being sent)."""
        assert self.forum_chat is not None
        topic = await conversations.topic_of(session, conversation.user_id, self.forum_chat)
        if topic is not None and not fresh:
            return topic.thread_id
        user = await session.get(User, conversation.user_id)
        created = await self.bot.create_forum_topic(
            self.forum_chat, topic_name(user, conversation.user_id)
        )
        await conversations.save_topic(
            session, conversation.user_id, self.forum_chat, created.message_thread_id
        )
        if fresh and card:
            await self._send_card(
                session, conversation, self.forum_chat, thread=created.message_thread_id
            )
        return created.message_thread_id

    async def _in_thread(
        self,
        session: AsyncSession,
        conversation: SupportConversation,
        send: Callable[[int], Awaitable[int]],
        *,
        card: bool = True,
    ) -> int:
        """Run ``send(thread)`` in the shopper's topic, remaking the topic once (with the card,
        if ``card``) if staff deleted it; a group that can no longer have topics (turned off,
        rights taken) is found then: the desk falls back to the admins' private chats and
        tells them."""
        thread = await self._thread(session, conversation)
        try:
            return await send(thread)
        except TelegramBadRequest as exc:
            if not _topic_gone(exc):
                raise
        try:
            thread = await self._thread(session, conversation, fresh=True, card=card)
        except TelegramBadRequest:
            await self._topics_lost()
            raise
        return await send(thread)

    async def _topics_lost(self) -> None:
        """Check the group again; if topics can no longer be used, tell each admin in
        private (once per process) why, and where hand-offs go from now on."""
        reason = await self.check()
        if reason is None or self._admins_told:
            return
        self._admins_told = True
        with self._speaking(self._staff_language()):
            text = _(
                "⚠ Support: the staff group's topics can no longer be used ({reason}). "
                "Hand-offs go to the admins' private chats from now on; turn the topics back "
                "on (and give the bot the right to manage them), then restart the bot."
            ).format(reason=h(reason))
        for admin_id in self.settings.admin_ids:
            try:
                await self.bot.send_message(admin_id, text)
            except TelegramAPIError as exc:
                log.warning("support: admin %s could not be told: %s", admin_id, exc.message)

    async def note_in_topic(self, session: AsyncSession, conversation_id: int, text: str) -> bool:
        """The bot's ``text`` (staff language, rendered by the caller) in the conversation's
        topic, remade if staff deleted it, where staff see the conversation; False when the
        conversation has no topic here or Telegram refused it (logged)."""
        conversation = await session.get(SupportConversation, conversation_id)
        if conversation is None or not conversation.in_topic or self.forum_chat is None:
            return False
        forum_chat = self.forum_chat

        async def send(thread: int) -> int:
            sent = await self.bot.send_message(forum_chat, text, message_thread_id=thread)
            return sent.message_id

        with _passing_failures():
            try:
                await self._in_thread(session, conversation, send)
            except (TelegramBadRequest, TelegramForbiddenError) as exc:
                log.warning("support: a note to conversation %s failed: %s", conversation_id, exc)
                return False
        return True

    # ------------------------------------------------------------- the card

    async def _mentions(
        self, session: AsyncSession, conversation: SupportConversation
    ) -> list[str]:
        """The responsible staff still in the staff chat, linked so Telegram notifies them;
        with none left, every admin."""
        people = list(conversation.assigned)
        if self.forum_chat is not None and conversation.in_topic:
            present = []
            for user_id in people:
                try:
                    member = await self.bot.get_chat_member(self.forum_chat, user_id)
                except TelegramBadRequest:
                    continue
                if member.status not in ("left", "kicked"):
                    present.append(user_id)
            people = present or list(self.settings.admin_ids)
        names = dict(
            (
                await session.execute(select(User.id, User.first_name).where(User.id.in_(people)))
            ).all()
        )
        staff_names = dict(
            (
                await session.execute(
                    select(SupportStaff.user_id, SupportStaff.first_name).where(
                        SupportStaff.user_id.in_(people)
                    )
                )
            ).all()
        )
        return [
            mention(person, staff_names.get(person) or names.get(person) or "") for person in people
        ]

    async def _card(self, session: AsyncSession, conversation: SupportConversation) -> str:
        user = await session.get(User, conversation.user_id)
        latest, _total = await orders.orders_of_user(
            session, conversation.user_id, limit=CARD_ORDERS
        )
        subject_order = (
            await session.get(Order, conversation.order_id) if conversation.order_id else None
        )
        shopper_cart = await cart.get_cart(session, conversation.user_id)
        mentions = await self._mentions(session, conversation)
        with self._speaking(self._staff_language()):
            return card_text(conversation, user, latest, shopper_cart, subject_order, mentions)

    async def _send_card(
        self,
        session: AsyncSession,
        conversation: SupportConversation,
        chat_id: int,
        *,
        thread: int | None = None,
    ) -> int:
        text = await self._card(session, conversation)
        with self._speaking(self._staff_language()):
            markup = close_keyboard(conversation.id)
        if chat_id != self.forum_chat:
            sent = await self.bot.send_message(chat_id, text, reply_markup=markup)
            return sent.message_id
        if thread is not None:
            sent = await self.bot.send_message(
                chat_id, text, reply_markup=markup, message_thread_id=thread
            )
            return sent.message_id

        reused = await conversations.topic_of(session, conversation.user_id, chat_id)

        async def send(thread_id: int) -> int:
            if reused is not None and reused.thread_id == thread_id:
                await self._reopen(thread_id)
            sent = await self.bot.send_message(
                chat_id, text, reply_markup=markup, message_thread_id=thread_id
            )
            return sent.message_id

        return await self._in_thread(session, conversation, send, card=False)

    async def _reopen(self, thread: int) -> None:
        assert self.forum_chat is not None
        try:
            await self.bot.reopen_forum_topic(self.forum_chat, thread)
        except TelegramBadRequest as exc:
            if _TOPIC_CLOSED_ALREADY not in exc.message:
                raise

    # ------------------------------------------------------ message copies

    async def _reply_parameters(
        self, session: AsyncSession, row: SupportMessage
    ) -> ReplyParameters | None:
        if row.reply_to_message_id is None:
            return None
        counterpart = await conversations.counterpart(
            session, row.source_chat_id, row.reply_to_message_id, row.target_chat_id
        )
        if counterpart is None:
            return None
        return ReplyParameters(message_id=counterpart, allow_sending_without_reply=True)

    async def _to_staff(
        self, session: AsyncSession, conversation: SupportConversation, row: SupportMessage
    ) -> int:
        reply = await self._reply_parameters(session, row)
        if row.target_chat_id != self.forum_chat:
            copied = await self.bot.copy_message(
                row.target_chat_id,
                row.source_chat_id,
                row.source_message_id,
                reply_parameters=reply,
            )
            return copied.message_id

        async def send(thread: int) -> int:
            copied = await self.bot.copy_message(
                row.target_chat_id,
                row.source_chat_id,
                row.source_message_id,
                message_thread_id=thread,
                reply_parameters=reply,
            )
            return copied.message_id

        return await self._in_thread(session, conversation, send)

    async def _to_shopper(
        self, session: AsyncSession, conversation: SupportConversation, row: SupportMessage
    ) -> int:
        await self._staff_header(session, conversation, row)
        reply = await self._reply_parameters(session, row)
        copied = await self.bot.copy_message(
            conversation.user_id, row.source_chat_id, row.source_message_id, reply_parameters=reply
        )
        return copied.message_id

    async def _staff_header(
        self, session: AsyncSession, conversation: SupportConversation, row: SupportMessage
    ) -> None:
        """Before an employee's first message to the shopper in a conversation: who answers."""
        if await conversations.staff_replied_before(
            session, conversation.id, row.sender_id, row.id
        ):
            return
        user = await session.get(User, conversation.user_id)
        language = user.language if user is not None else self.settings.default_language
        name = await self._staff_name(session, row.sender_id)
        with self._speaking(language):
            text = _("💬 {name} from {shop} answers you:").format(
                name=name, shop=self.settings.shop_name
            )
        await self.bot.send_message(conversation.user_id, text)

    async def _staff_name(self, session: AsyncSession, staff_id: int) -> str:
        staff = await session.get(SupportStaff, staff_id)
        if staff is not None and staff.first_name:
            return staff.first_name
        user = await session.get(User, staff_id)
        return user.first_name if user is not None and user.first_name else _("The manager")

    async def _relay_edit(
        self, session: AsyncSession, conversation: SupportConversation, row: SupportMessage
    ) -> int | None:
        """An edit of a relayed message: edited in place when Telegram allows, else sent as
        a correction under the copy."""
        copy_id = await conversations.counterpart(
            session, row.source_chat_id, row.source_message_id, row.target_chat_id
        )
        text = row.edited_text or ""
        if copy_id is None:
            return None
        try:
            await self.bot.edit_message_text(
                text, chat_id=row.target_chat_id, message_id=copy_id, parse_mode=None
            )
            return copy_id
        except TelegramBadRequest as exc:
            if "there is no text" in exc.message:
                try:
                    await self.bot.edit_message_caption(
                        chat_id=row.target_chat_id,
                        message_id=copy_id,
                        caption=text,
                        parse_mode=None,
                    )
                    return copy_id
                except TelegramBadRequest:
                    pass
            elif "message is not modified" in exc.message:
                return copy_id
        language = self._staff_language()
        if row.direction is RelayDirection.TO_SHOPPER:
            user = await session.get(User, row.target_chat_id)
            language = user.language if user is not None else language
        with self._speaking(language):
            label = _("✏ Correction:")
        thread = None
        if row.target_chat_id == self.forum_chat:
            topic = await conversations.topic_of(session, conversation.user_id, self.forum_chat)
            thread = topic.thread_id if topic is not None else None
        sent = await self.bot.send_message(
            row.target_chat_id,
            f"{label} {text}",
            parse_mode=None,
            message_thread_id=thread,
            reply_parameters=ReplyParameters(message_id=copy_id, allow_sending_without_reply=True),
        )
        return sent.message_id

    # ------------------------------------------------------ closing, reminders

    async def closed(self, session: AsyncSession, message: OutboxMessage) -> None:
        """Tell both sides the conversation ended; close the topic."""
        conversation = await self._conversation(session, message)
        user = await session.get(User, conversation.user_id)
        language = user.language if user is not None else self.settings.default_language
        by_shopper = conversation.closed_by == conversation.user_id
        with _passing_failures():
            if not by_shopper:
                with self._speaking(language):
                    text = _(
                        "✅ The manager ended the conversation. Write /support whenever you "
                        "need a person again."
                    )
                try:
                    await self.bot.send_message(conversation.user_id, text)
                except TelegramForbiddenError:
                    await mark_blocked(session, conversation.user_id)
            closer = await self._staff_name(session, conversation.closed_by or 0)
            with self._speaking(self._staff_language()):
                note = (
                    _("✅ The shopper ended the conversation.")
                    if by_shopper
                    else _("✅ Conversation closed by {name}.").format(name=closer)
                )
            await self._to_staff_chats(session, conversation, note, close_topic=True)

    async def remind(self, session: AsyncSession, message: OutboxMessage) -> None:
        """Raise a conversation nobody answered, once, mentioning the responsible staff."""
        conversation = await self._conversation(session, message)
        if (
            conversation.status is not ConversationStatus.OPEN
            or conversation.first_response_at is not None
        ):
            return
        mentions = await self._mentions(session, conversation)
        waited = int((utcnow() - conversation.opened_at).total_seconds() // 60)
        with self._speaking(self._staff_language()):
            text = _(
                "⏰ The shopper has been waiting {minutes} min for an answer. {people}"
            ).format(minutes=waited, people=", ".join(mentions))
        with _passing_failures():
            await self._to_staff_chats(session, conversation, text)

    async def _to_staff_chats(
        self,
        session: AsyncSession,
        conversation: SupportConversation,
        text: str,
        *,
        close_topic: bool = False,
    ) -> None:
        if conversation.in_topic and self.forum_chat is not None:
            topic = await conversations.topic_of(session, conversation.user_id, self.forum_chat)
            if topic is None:
                return
            try:
                await self.bot.send_message(
                    self.forum_chat, text, message_thread_id=topic.thread_id
                )
                if close_topic:
                    await self.bot.close_forum_topic(self.forum_chat, topic.thread_id)
            except TelegramBadRequest as exc:
                if not _topic_gone(exc) and _TOPIC_CLOSED_ALREADY not in exc.message:
                    raise
            return
        for chat_id in conversation.assigned:
            try:
                await self.bot.send_message(chat_id, text)
            except (TelegramForbiddenError, TelegramBadRequest) as exc:
                log.info("support notice to staff %s not delivered: %s", chat_id, exc.message)
