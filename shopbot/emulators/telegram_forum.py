"""Supergroups with topics (forums) for the Telegram emulator, and what people send there.

A :class:`ForumGroup` is a supergroup with ``is_forum``: the bot is an administrator in it
with the rights given (``can_manage_topics`` to create, edit, close and reopen topics,
``can_delete_messages`` to delete them), members have a status (``creator``,
``administrator``, ``member``, ``left``) that ``getChatMember`` reports, and each topic is
known by its ``message_thread_id`` — the id of the service message that created it, as in
Telegram. Messages in a topic carry ``message_thread_id`` and ``is_topic_message``; one that
replies to nothing replies to the topic's creation message, as Telegram's clients send them.
A deleted topic answers "message thread not found" to what is sent into it and
"TOPIC_DELETED" to the topic methods (edit, close, reopen); a closed one takes messages only
from those who may manage topics. :meth:`ForumGroup.turn_off_topics` is a person turning
the group's topics off: it is then a plain supergroup, whose topics are gone. An
administrator bot sees every message of the group (privacy mode does not apply to
administrators).

:class:`Media` makes what users send besides text — photos, albums, documents, voice,
video, stickers, locations, contacts — for :meth:`EmulatedUser.send_content` and
:meth:`ForumGroup.send_content`; :func:`edit_message` is a user editing a message they sent.

The Bot API methods here (``createForumTopic``, ``editForumTopic``, ``closeForumTopic``,
``reopenForumTopic``, ``deleteForumTopic``, ``getChat``, ``getChatMember``,
``copyMessages``) are installed into every :class:`TelegramEmulator` by
:func:`forum_methods`.
"""

from __future__ import annotations

import copy
import io
import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PIL import Image

from shopbot.emulators.telegram import (
    EmulatedChat,
    EmulatedGroup,
    EmulatedUser,
    TelegramEmulator,
    _Params,
    _typed,
    copied_content,
)
from shopbot.emulators.telegram_format import bad_request

TOPIC_NAME_MAX = 128
# The colours Telegram allows for a topic's icon (createForumTopic's icon_color).
TOPIC_COLORS = (7322096, 16766590, 13338331, 9367192, 16749490, 16478047)
THREAD_NOT_FOUND = "message thread not found"
TOPIC_DELETED = "TOPIC_DELETED"
NOT_A_FORUM = "the chat is not a forum"
COPY_MESSAGES_MAX = 100
# What of copyMessages' parameters applies to each copy it sends.
_COPY_MESSAGES_SENDING = frozenset({"chat_id", "message_thread_id", "protect_content"})
_MISSING_RIGHT = {
    "can_manage_topics": "not enough rights to manage topics",
    "can_delete_messages": "not enough rights to delete a topic",
}
_MEMBER_STATUSES = frozenset({"creator", "administrator", "member", "left", "kicked"})
_ADMIN_RIGHTS = (
    "can_manage_chat", "can_delete_messages", "can_manage_video_chats",
    "can_restrict_members", "can_promote_members", "can_change_info", "can_invite_users",
    "can_post_stories", "can_edit_stories", "can_delete_stories", "can_pin_messages",
    "can_manage_topics",
)  # fmt: skip


@dataclass
class Topic:
    """A topic of a forum: its thread id, name, icon colour and whether it is closed."""

    message_thread_id: int
    name: str
    icon_color: int
    closed: bool = False

    def as_forum_topic(self) -> dict[str, Any]:
        return {
            "message_thread_id": self.message_thread_id,
            "name": self.name,
            "icon_color": self.icon_color,
        }


def forum(
    emulator: TelegramEmulator,
    chat_id: int,
    title: str = "Staff",
    *,
    bot_rights: dict[str, bool] | None = None,
) -> ForumGroup:
    """The forum with this (negative) id, the bot an administrator of it with ``bot_rights``
    (default: every right; ``{}`` makes the bot a plain member). Created on first use."""
    existing = emulator._chats.get(chat_id)
    if existing is not None:
        if not isinstance(existing, ForumGroup):
            raise AssertionError(f"chat {chat_id} is not a forum")
        return existing
    if chat_id >= 0:
        raise ValueError("group chat ids are negative")
    group = ForumGroup(emulator, chat_id, title, supergroup=True)
    group.set_bot_rights(
        {right: True for right in _ADMIN_RIGHTS} if bot_rights is None else bot_rights
    )
    emulator._chats[chat_id] = group
    return group


class ForumGroup(EmulatedGroup):
    """A supergroup with topics (see the module's docstring)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.topics: dict[int, Topic] = {}
        self.deleted_topics: set[int] = set()
        self.is_forum = True
        self.members: dict[int, str] = {}  # user id -> status
        self.bot_rights: dict[str, bool] = {}

    # ------------------------------------------------------------- set-up

    def as_chat(self) -> dict[str, Any]:
        return {**super().as_chat(), "is_forum": True} if self.is_forum else super().as_chat()

    def set_bot_rights(self, rights: dict[str, bool]) -> None:
        """The bot's administrator rights (``{}``: a plain member, privacy mode on)."""
        unknown = set(rights) - set(_ADMIN_RIGHTS)
        if unknown:
            raise ValueError(f"unknown administrator rights {sorted(unknown)}")
        self.bot_rights = dict(rights)
        self.privacy_mode = not self.bot_is_admin

    @property
    def bot_is_admin(self) -> bool:
        return bool(self.bot_rights)

    def join(self, user: EmulatedUser, status: str = "member") -> None:
        if status not in _MEMBER_STATUSES:
            raise ValueError(f"unknown member status {status!r}")
        self.members[user.id] = status

    def leave(self, user: EmulatedUser) -> None:
        """The user leaves the group (``getChatMember`` says ``left``)."""
        self.members[user.id] = "left"

    def delete_topic(self, message_thread_id: int) -> None:
        """A person deletes the topic and everything in it (the bot is not told)."""
        self._drop_topic(message_thread_id)

    def turn_off_topics(self) -> None:
        """A person turns the group's topics off (the bot is not told): every topic is gone."""
        self.is_forum = False
        self.deleted_topics.update(self.topics)
        self.topics.clear()

    # --------------------------------------------------------- inspection

    def topic_named(self, name: str) -> Topic:
        found = [topic for topic in self.topics.values() if topic.name == name]
        if not found:
            raise AssertionError(f"no topic {name!r}; topics: {self.topic_names()}")
        return found[-1]

    def topic_names(self) -> list[str]:
        return [topic.name for topic in self.topics.values()]

    def in_topic(self, message_thread_id: int) -> list[dict[str, Any]]:
        """Every message of the topic but the service ones (created, edited, closed,
        reopened), oldest first."""
        return [
            copy.deepcopy(message)
            for message in self.history.values()
            if message.get("message_thread_id") == message_thread_id
            and not any(key.startswith("forum_topic_") for key in message)
        ]

    def bot_in_topic(self, message_thread_id: int) -> list[dict[str, Any]]:
        bot_id = self._emulator.bot_user["id"]
        return [m for m in self.in_topic(message_thread_id) if m["from"]["id"] == bot_id]

    # ------------------------------------------------------------ actions

    async def send_text(
        self,
        sender: EmulatedUser,
        text: str,
        *,
        thread: int | None = None,
        reply_to: dict[str, Any] | None = None,
        wait: bool = True,
    ) -> dict[str, Any]:
        """``sender`` writes in the topic ``thread`` (``None``: the General topic),
        replying to ``reply_to`` if given."""
        return await self.send_content(
            sender, _typed(text), thread=thread, reply_to=reply_to, wait=wait
        )

    async def send_content(
        self,
        sender: EmulatedUser,
        content: dict[str, Any],
        *,
        thread: int | None = None,
        reply_to: dict[str, Any] | None = None,
        wait: bool = True,
    ) -> dict[str, Any]:
        """``sender`` sends ``content`` (see :class:`Media`) in the topic ``thread``."""
        status = self.members.get(sender.id)
        if status not in ("creator", "administrator", "member"):
            raise AssertionError(f"user {sender.id} is not a member of chat {self.chat_id}")
        fields = dict(content)
        if thread is not None:
            topic = self.topics.get(thread)
            if topic is None:
                raise AssertionError(f"no topic {thread} in chat {self.chat_id}")
            if topic.closed and status == "member":
                raise AssertionError("a closed topic takes no messages from plain members")
            fields.update(self._thread_fields(thread))
            target = reply_to if reply_to is not None else self.history[thread]
            fields["reply_to_message"] = _quoted(target)
        elif reply_to is not None:
            fields["reply_to_message"] = _quoted(reply_to)
        emulator = self._emulator
        message = emulator._user_message(self, sender, fields)
        if not self.privacy_mode or "entities" in fields:
            await emulator._deliver(self, "message", message, wait)
        return message

    # ---------------------------------------------------------- internals

    def thread_fields(self, p: _Params) -> dict[str, Any]:
        """The topic fields of a bot message sent with ``message_thread_id`` (validated)."""
        thread = p.integer("message_thread_id")
        if not thread:
            # A reply to a message in a topic goes into that topic.
            parameters = p.json("reply_parameters")
            replied = parameters.get("message_id") if isinstance(parameters, dict) else None
            target = self.history.get(replied) if isinstance(replied, int) else None
            if target is None or "message_thread_id" not in target:
                return {}
            thread = target["message_thread_id"]
        topic = self.topics.get(thread)
        if topic is None:
            raise bad_request(THREAD_NOT_FOUND)
        if topic.closed and not self.bot_rights.get("can_manage_topics"):
            raise bad_request("TOPIC_CLOSED")
        return self._thread_fields(thread)

    def _thread_fields(self, thread: int) -> dict[str, Any]:
        return {"message_thread_id": thread, "is_topic_message": True}

    def _drop_topic(self, message_thread_id: int) -> None:
        if self.topics.pop(message_thread_id, None) is None:
            raise AssertionError(f"no topic {message_thread_id} in chat {self.chat_id}")
        self.deleted_topics.add(message_thread_id)
        for message_id in [
            message_id
            for message_id, message in self.history.items()
            if message.get("message_thread_id") == message_thread_id
        ]:
            del self.history[message_id]


def _quoted(message: dict[str, Any]) -> dict[str, Any]:
    return {
        key: copy.deepcopy(value)
        for key, value in message.items()
        if key not in ("reply_to_message", "html_text")
    }


# ------------------------------------------------------------------ media


def _image(colour: tuple[int, int, int]) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), colour).save(buffer, "JPEG")
    return buffer.getvalue()


class Media:
    """Message contents users send, with files stored in the emulator (so the bot can
    ``getFile`` and ``copyMessage`` them)."""

    def __init__(self, emulator: TelegramEmulator) -> None:
        self._emulator = emulator
        self._groups = itertools.count(1)

    def photo(
        self, caption: str | None = None, colour: tuple[int, int, int] = (200, 40, 40)
    ) -> dict[str, Any]:
        content: dict[str, Any] = {"photo": self._emulator._files.add_photo(_image(colour))}
        if caption:
            content["caption"] = caption
        return content

    def album(self, count: int = 2, caption: str | None = None) -> list[dict[str, Any]]:
        """An album of ``count`` photos (2–10), the caption on the first, as clients send it."""
        if not 2 <= count <= 10:
            raise ValueError("an album holds 2-10 items")
        group_id = f"{int(time.time())}{next(self._groups):06d}"
        items = [
            self.photo(caption if index == 0 else None, (40 * index % 256, 120, 200))
            for index in range(count)
        ]
        for item in items:
            item["media_group_id"] = group_id
        return items

    def document(
        self, filename: str = "receipt.pdf", content: bytes = b"%PDF-1.4 test"
    ) -> dict[str, Any]:
        return {"document": self._emulator.add_file(content, filename, "application/pdf")}

    def voice(self, duration: int = 3) -> dict[str, Any]:
        stored = self._emulator.add_file(b"OggS voice", "voice.ogg", "audio/ogg")
        return {"voice": {**self._file(stored), "duration": duration, "mime_type": "audio/ogg"}}

    def video(self, duration: int = 5) -> dict[str, Any]:
        stored = self._emulator.add_file(b"\x00\x00\x00\x18ftypmp42", "video.mp4", "video/mp4")
        return {"video": {**self._file(stored), "width": 640, "height": 480, "duration": duration}}

    def sticker(self) -> dict[str, Any]:
        stored = self._emulator.add_file(b"RIFF sticker WEBP", "sticker.webp", "image/webp")
        return {
            "sticker": {
                **self._file(stored),
                "type": "regular",
                "width": 512,
                "height": 512,
                "is_animated": False,
                "is_video": False,
                "emoji": "👍",
            }
        }

    def location(self, latitude: float = 55.7558, longitude: float = 37.6173) -> dict[str, Any]:
        return {"location": {"latitude": latitude, "longitude": longitude}}

    def contact(self, phone: str = "+79001234567", first_name: str = "Мария") -> dict[str, Any]:
        return {"contact": {"phone_number": phone, "first_name": first_name}}

    @staticmethod
    def _file(document: dict[str, Any]) -> dict[str, Any]:
        return {key: document[key] for key in ("file_id", "file_unique_id", "file_size")}


async def edit_message(
    chat: EmulatedChat,
    sender: EmulatedUser,
    message: dict[str, Any],
    text: str,
    *,
    wait: bool = True,
) -> dict[str, Any]:
    """``sender`` edits their message's text (or caption): the bot gets ``edited_message``."""
    emulator = chat._emulator
    stored = chat.history.get(message["message_id"])
    if stored is None or stored["from"]["id"] != sender.id:
        raise AssertionError("a user edits only their own messages still in the chat")
    dropped = ("entities", "caption_entities")
    edited = {key: value for key, value in stored.items() if key not in dropped}
    edited["caption" if "caption" in stored or "text" not in stored else "text"] = text
    edited["edit_date"] = int(time.time())
    chat.history[message["message_id"]] = edited
    emulator._publish("edit", chat.chat_id, edited)
    delivered = {key: copy.deepcopy(value) for key, value in edited.items() if key != "html_text"}
    await emulator._deliver(chat, "edited_message", delivered, wait)
    return delivered


# ------------------------------------------------------------ Bot API methods


def forum_methods(emulator: TelegramEmulator) -> dict[str, Callable[[_Params], Any]]:
    """The forum's Bot API methods, by name, for the emulator to serve."""
    methods = _ForumMethods(emulator)
    return {
        "createForumTopic": methods.create_forum_topic,
        "editForumTopic": methods.edit_forum_topic,
        "closeForumTopic": methods.close_forum_topic,
        "reopenForumTopic": methods.reopen_forum_topic,
        "deleteForumTopic": methods.delete_forum_topic,
        "getChat": methods.get_chat,
        "getChatMember": methods.get_chat_member,
        "copyMessages": methods.copy_messages,
    }


class _ForumMethods:
    def __init__(self, emulator: TelegramEmulator) -> None:
        self._emulator = emulator

    def _forum(self, p: _Params, right: str) -> ForumGroup:
        chat = self._emulator._chat(p)
        if not isinstance(chat, ForumGroup) or not chat.is_forum:
            raise bad_request(NOT_A_FORUM)
        if not chat.bot_rights.get(right):
            raise bad_request(_MISSING_RIGHT[right])
        return chat

    def _topic(self, chat: ForumGroup, p: _Params) -> Topic:
        thread = p.integer("message_thread_id")
        topic = chat.topics.get(thread or 0)
        if topic is None:
            raise bad_request(TOPIC_DELETED if thread in chat.deleted_topics else THREAD_NOT_FOUND)
        return topic

    def _service_message(
        self, chat: ForumGroup, content: dict[str, Any], thread: int, *, creates: bool = False
    ) -> dict[str, Any]:
        """A service message in the topic ``thread`` (``creates``: the topic's first, whose
        id is the thread's)."""
        message_id = thread if creates else next(chat._message_ids)
        message = {
            "message_id": message_id,
            "from": dict(self._emulator.bot_user),
            "chat": chat.as_chat(),
            "date": int(time.time()),
            "message_thread_id": thread,
            "is_topic_message": True,
            **content,
        }
        chat.history[message_id] = message
        self._emulator._publish("message", chat.chat_id, message)
        return message

    def create_forum_topic(self, p: _Params) -> dict[str, Any]:
        chat = self._forum(p, "can_manage_topics")
        name = p.text("name") or ""
        if not name.strip():
            raise bad_request("TOPIC_TITLE_EMPTY")
        if len(name) > TOPIC_NAME_MAX:
            raise bad_request("TOPIC_TITLE_TOO_LONG")
        color = p.integer("icon_color")
        if color is not None and color not in TOPIC_COLORS:
            raise bad_request("TOPIC_ICON_COLOR_INVALID")
        thread = next(chat._message_ids)
        topic = Topic(thread, name, color if color is not None else TOPIC_COLORS[0])
        chat.topics[thread] = topic
        self._service_message(
            chat,
            {"forum_topic_created": {"name": name, "icon_color": topic.icon_color}},
            thread,
            creates=True,
        )
        return topic.as_forum_topic()

    def edit_forum_topic(self, p: _Params) -> bool:
        chat = self._forum(p, "can_manage_topics")
        topic = self._topic(chat, p)
        name = p.text("name")
        if name is not None and len(name) > TOPIC_NAME_MAX:
            raise bad_request("TOPIC_TITLE_TOO_LONG")
        if not name or name == topic.name:
            raise bad_request("TOPIC_NOT_MODIFIED")
        topic.name = name
        self._service_message(
            chat, {"forum_topic_edited": {"name": name}}, thread=topic.message_thread_id
        )
        return True

    def close_forum_topic(self, p: _Params) -> bool:
        return self._set_closed(p, closed=True)

    def reopen_forum_topic(self, p: _Params) -> bool:
        return self._set_closed(p, closed=False)

    def _set_closed(self, p: _Params, *, closed: bool) -> bool:
        chat = self._forum(p, "can_manage_topics")
        topic = self._topic(chat, p)
        if topic.closed == closed:
            raise bad_request("TOPIC_NOT_MODIFIED")
        topic.closed = closed
        kind = "forum_topic_closed" if closed else "forum_topic_reopened"
        self._service_message(chat, {kind: {}}, topic.message_thread_id)
        return True

    def delete_forum_topic(self, p: _Params) -> bool:
        chat = self._forum(p, "can_delete_messages")
        topic = self._topic(chat, p)
        chat._drop_topic(topic.message_thread_id)
        return True

    def get_chat(self, p: _Params) -> dict[str, Any]:
        chat = self._emulator._chat(p)
        info = {**chat.as_chat(), "accent_color_id": 0, "max_reaction_count": 11}
        info["accepted_gift_types"] = {
            "unlimited_gifts": False,
            "limited_gifts": False,
            "unique_gifts": False,
            "premium_subscription": False,
            "gifts_from_channels": False,
        }
        return info

    def get_chat_member(self, p: _Params) -> dict[str, Any]:
        chat = self._emulator._chat(p)
        user_id = p.integer("user_id")
        bot = self._emulator.bot_user
        if user_id == bot["id"]:
            rights = getattr(chat, "bot_rights", {})
            if not rights:
                return {"status": "member", "user": dict(bot)}
            return {
                "status": "administrator",
                "user": dict(bot),
                "can_be_edited": False,
                "is_anonymous": False,
                "can_send_welcome_messages": False,
                **{right: bool(rights.get(right)) for right in _ADMIN_RIGHTS},
            }
        user = self._emulator._users.get(user_id or 0)
        if user is None:
            raise bad_request("PARTICIPANT_ID_INVALID")
        status = getattr(chat, "members", {}).get(user.id, "left")
        member: dict[str, Any] = {"status": status, "user": user.as_user()}
        if status == "administrator":
            member.update(
                {
                    "can_be_edited": False,
                    "is_anonymous": False,
                    "can_send_welcome_messages": False,
                    **{right: False for right in _ADMIN_RIGHTS},
                }
            )
        elif status == "creator":
            member["is_anonymous"] = False
        elif status == "kicked":
            member["until_date"] = 0
        return member

    def copy_messages(self, p: _Params) -> list[dict[str, int]]:
        """Each message of ``message_ids`` (of one chat, strictly increasing, 1–100) copied
        in order as copyMessage copies one (``remove_caption``: without captions); ids no
        longer in the chat, and messages that cannot be copied, are skipped, as Telegram
        skips them. The items of an album stay together: each album copied is a new one
        (its own ``media_group_id``). Like Telegram's, this method takes no reply and no
        buttons."""
        ids = p.json("message_ids")
        if (
            not isinstance(ids, list)
            or not 1 <= len(ids) <= COPY_MESSAGES_MAX
            or not all(isinstance(item, int) for item in ids)
        ):
            raise bad_request("message identifiers are not specified")
        if ids != sorted(set(ids)):
            raise bad_request("message identifiers must be in a strictly increasing order")
        emulator = self._emulator
        source = emulator._chat(p, "from_chat_id")
        target = emulator._recipient(p)
        sending = _Params(
            {name: value for name, value in p.values.items() if name in _COPY_MESSAGES_SENDING},
            {},
        )
        albums: dict[str, str] = {}  # the source's media_group_id -> the copies'
        copied = []
        for message_id in ids:
            original = source.history.get(message_id)
            content = copied_content(original) if original is not None else {}
            if not content:
                continue
            if p.flag("remove_caption"):
                for name in ("caption", "caption_entities", "html_text"):
                    content.pop(name, None)
            group = original.get("media_group_id") if original is not None else None
            if group is not None:
                content["media_group_id"] = albums.setdefault(
                    group, f"copy{next(emulator._query_ids)}"
                )
            made = emulator._bot_message(target, content, None, None, sending)
            copied.append({"message_id": made["message_id"]})
        if not copied:
            raise bad_request("there are no messages to forward")
        return copied
