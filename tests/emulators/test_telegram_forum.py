"""The emulator's forums: topics, the bot's rights, copies of every kind of message, members
writing in topics, as a real aiogram Bot and Dispatcher see them."""

from __future__ import annotations

import asyncio

import pytest
from aiogram import Bot, F, Router
from aiogram.enums import ChatMemberStatus
from aiogram.exceptions import TelegramBadRequest, TelegramForbiddenError
from aiogram.types import ChatMemberAdministrator, Message, ReplyParameters

from shopbot.emulators.telegram import EmulatedUser, TelegramEmulator
from shopbot.emulators.telegram_forum import Media, edit_message, forum
from tests.emulators.conftest import StartPolling

STAFF = -1001234567890


async def test_the_bot_sees_a_forum_and_its_rights(telegram: TelegramEmulator, bot: Bot) -> None:
    staff = forum(telegram, STAFF, "Поддержка")
    chat = await bot.get_chat(STAFF)
    assert chat.is_forum is True and chat.type == "supergroup" and chat.title == "Поддержка"
    member = await bot.get_chat_member(STAFF, bot.id)
    assert isinstance(member, ChatMemberAdministrator)
    assert member.can_manage_topics and member.can_delete_messages
    staff.set_bot_rights({"can_delete_messages": True})
    member = await bot.get_chat_member(STAFF, bot.id)
    assert isinstance(member, ChatMemberAdministrator) and not member.can_manage_topics
    staff.set_bot_rights({})
    assert (await bot.get_chat_member(STAFF, bot.id)).status == ChatMemberStatus.MEMBER
    plain = telegram.group(-100777, "Не форум")
    assert not (await bot.get_chat(plain.chat_id)).is_forum


async def test_topics_are_created_edited_closed_and_reopened(
    telegram: TelegramEmulator, bot: Bot
) -> None:
    staff = forum(telegram, STAFF)
    topic = await bot.create_forum_topic(STAFF, "Анна · @anna · #101")
    assert topic.name == "Анна · @anna · #101" and topic.message_thread_id > 0
    sent = await bot.send_message(STAFF, "карточка", message_thread_id=topic.message_thread_id)
    assert sent.message_thread_id == topic.message_thread_id and sent.is_topic_message
    assert [m["text"] for m in staff.bot_in_topic(topic.message_thread_id)] == ["карточка"]
    assert await bot.edit_forum_topic(STAFF, topic.message_thread_id, name="Анна (закрыт)")
    assert staff.topics[topic.message_thread_id].name == "Анна (закрыт)"
    assert await bot.close_forum_topic(STAFF, topic.message_thread_id)
    with pytest.raises(TelegramBadRequest, match="TOPIC_NOT_MODIFIED"):
        await bot.close_forum_topic(STAFF, topic.message_thread_id)
    # The bot may manage topics, so it still writes in a closed one.
    await bot.send_message(STAFF, "после", message_thread_id=topic.message_thread_id)
    assert await bot.reopen_forum_topic(STAFF, topic.message_thread_id)
    with pytest.raises(TelegramBadRequest, match="TOPIC_TITLE_TOO_LONG"):
        await bot.create_forum_topic(STAFF, "я" * 129)
    with pytest.raises(TelegramBadRequest, match="TOPIC_ICON_COLOR_INVALID"):
        await bot.create_forum_topic(STAFF, "цвет", icon_color=123)


async def test_a_reply_to_a_topic_message_lands_in_its_topic(
    telegram: TelegramEmulator, bot: Bot
) -> None:
    staff = forum(telegram, STAFF)
    topic = await bot.create_forum_topic(STAFF, "Анна")
    first = await bot.send_message(STAFF, "карточка", message_thread_id=topic.message_thread_id)
    reply = await bot.send_message(
        STAFF, "ответ", reply_parameters=ReplyParameters(message_id=first.message_id)
    )
    assert reply.message_thread_id == topic.message_thread_id
    assert [m["text"] for m in staff.bot_in_topic(topic.message_thread_id)] == ["карточка", "ответ"]
    general = await bot.send_message(STAFF, "всем")
    assert general.message_thread_id is None


async def test_rights_and_forums_are_checked(telegram: TelegramEmulator, bot: Bot) -> None:
    staff = forum(telegram, STAFF, bot_rights={"can_delete_messages": True})
    with pytest.raises(TelegramBadRequest, match="not enough rights to manage topics"):
        await bot.create_forum_topic(STAFF, "тема")
    telegram.group(-100777, "Не форум")
    with pytest.raises(TelegramBadRequest, match="the chat is not a forum"):
        await bot.create_forum_topic(-100777, "тема")
    staff.set_bot_rights({"can_manage_topics": True})
    topic = await bot.create_forum_topic(STAFF, "тема")
    with pytest.raises(TelegramBadRequest, match="not enough rights to delete a topic"):
        await bot.delete_forum_topic(STAFF, topic.message_thread_id)
    staff.remove_bot()
    with pytest.raises(TelegramForbiddenError):
        await bot.create_forum_topic(STAFF, "тема")


async def test_a_deleted_topic_answers_thread_not_found_and_topic_deleted(
    telegram: TelegramEmulator, bot: Bot
) -> None:
    staff = forum(telegram, STAFF)
    by_bot = await bot.create_forum_topic(STAFF, "бот удалит")
    assert await bot.delete_forum_topic(STAFF, by_bot.message_thread_id)
    by_staff = await bot.create_forum_topic(STAFF, "удалят люди")
    staff.delete_topic(by_staff.message_thread_id)
    for thread in (by_bot.message_thread_id, by_staff.message_thread_id):
        with pytest.raises(TelegramBadRequest, match="message thread not found"):
            await bot.send_message(STAFF, "есть кто?", message_thread_id=thread)
        with pytest.raises(TelegramBadRequest, match="TOPIC_DELETED"):
            await bot.close_forum_topic(STAFF, thread)
        with pytest.raises(TelegramBadRequest, match="TOPIC_DELETED"):
            await bot.reopen_forum_topic(STAFF, thread)
    assert staff.topic_names() == []
    with pytest.raises(TelegramBadRequest, match="message thread not found"):
        await bot.close_forum_topic(STAFF, 999)  # never a topic


async def test_topics_turned_off_leave_a_plain_supergroup(
    telegram: TelegramEmulator, bot: Bot
) -> None:
    staff = forum(telegram, STAFF)
    topic = await bot.create_forum_topic(STAFF, "Анна")
    staff.turn_off_topics()
    assert not (await bot.get_chat(STAFF)).is_forum
    with pytest.raises(TelegramBadRequest, match="message thread not found"):
        await bot.send_message(STAFF, "есть кто?", message_thread_id=topic.message_thread_id)
    with pytest.raises(TelegramBadRequest, match="the chat is not a forum"):
        await bot.create_forum_topic(STAFF, "Анна")


async def test_every_kind_of_message_is_copied_into_a_topic(
    telegram: TelegramEmulator, bot: Bot, shopper: EmulatedUser
) -> None:
    staff = forum(telegram, STAFF)
    topic = await bot.create_forum_topic(STAFF, "Анна")
    media = Media(telegram)
    contents = [
        {"text": "здравствуйте"},
        media.photo("вот так пришло"),
        media.document("чек.pdf"),
        media.voice(),
        media.video(),
        media.sticker(),
        media.location(),
        media.contact(),
    ]
    for content in contents:
        sent = await shopper.send_content(content, wait=False)
        copied = await bot.copy_message(
            STAFF, shopper.chat_id, sent["message_id"], message_thread_id=topic.message_thread_id
        )
        assert copied.message_id > 0
    in_topic = staff.bot_in_topic(topic.message_thread_id)
    kinds = ["text", "photo", "document", "voice", "video", "sticker", "location", "contact"]
    assert [next(k for k in kinds if k in message) for message in in_topic] == kinds
    assert in_topic[1]["caption"] == "вот так пришло"
    assert in_topic[2]["document"]["file_name"] == "чек.pdf"
    assert in_topic[3]["voice"]["file_id"] == contents[3]["voice"]["file_id"]
    assert all(message["is_topic_message"] for message in in_topic)


async def test_an_album_is_copied_in_order(
    telegram: TelegramEmulator, bot: Bot, shopper: EmulatedUser
) -> None:
    staff = forum(telegram, STAFF)
    topic = await bot.create_forum_topic(STAFF, "Анна")
    items = Media(telegram).album(3, "три")
    album = [await shopper.send_content(item, wait=False) for item in items]
    ids = [message["message_id"] for message in album]
    copied = await bot.copy_messages(
        STAFF, shopper.chat_id, ids, message_thread_id=topic.message_thread_id
    )
    assert len(copied) == 3
    in_topic = staff.bot_in_topic(topic.message_thread_id)
    assert [m["photo"][-1]["file_id"] for m in in_topic] == [
        m["photo"][-1]["file_id"] for m in album
    ]
    assert [m["message_id"] for m in in_topic] == [c.message_id for c in copied]
    # One album, a new one (not the shopper's), its caption kept.
    groups = {m["media_group_id"] for m in in_topic}
    assert len(groups) == 1 and groups != {album[0]["media_group_id"]}
    assert in_topic[0]["caption"] == album[0]["caption"]
    with pytest.raises(TelegramBadRequest, match="strictly increasing"):
        await bot.copy_messages(STAFF, shopper.chat_id, list(reversed(ids)))
    with pytest.raises(TelegramBadRequest, match="strictly increasing"):
        await bot.copy_messages(STAFF, shopper.chat_id, [ids[0], ids[0]])
    with pytest.raises(TelegramBadRequest, match="not specified"):
        await bot.copy_messages(STAFF, shopper.chat_id, [])
    with pytest.raises(TelegramBadRequest, match="not specified"):
        await bot.copy_messages(STAFF, shopper.chat_id, list(range(1, 102)))

    # Two albums and a text in one call: two albums again, the text on its own; without
    # captions when asked; an id not in the chat is skipped.
    media = Media(telegram)
    first = [await shopper.send_content(item, wait=False) for item in media.album(2, "одно")]
    text = await shopper.send_text("между ними", wait=False)
    second = [await shopper.send_content(item, wait=False) for item in media.album(2)]
    ids = [m["message_id"] for m in [*first, text, *second]]
    copied = await bot.copy_messages(shopper.chat_id, shopper.chat_id, [*ids, ids[-1] + 50])
    assert len(copied) == 5
    copies = [shopper.history[c.message_id] for c in copied]
    assert copies[2]["text"] == "между ними" and "media_group_id" not in copies[2]
    assert copies[0]["media_group_id"] == copies[1]["media_group_id"]
    assert copies[3]["media_group_id"] == copies[4]["media_group_id"]
    assert copies[0]["media_group_id"] != copies[3]["media_group_id"]
    copied = await bot.copy_messages(shopper.chat_id, shopper.chat_id, ids[:2], remove_caption=True)
    assert "caption" not in shopper.history[copied[0].message_id]
    with pytest.raises(TelegramBadRequest, match="no messages to forward"):
        await bot.copy_messages(STAFF, shopper.chat_id, [ids[-1] + 50])


async def test_a_blocked_shopper_refuses_copies(
    telegram: TelegramEmulator, bot: Bot, shopper: EmulatedUser
) -> None:
    forum(telegram, STAFF)
    topic = await bot.create_forum_topic(STAFF, "Анна")
    reply = await bot.send_message(STAFF, "ответ", message_thread_id=topic.message_thread_id)
    shopper.block_bot()
    with pytest.raises(TelegramForbiddenError, match="bot was blocked by the user"):
        await bot.copy_message(shopper.chat_id, STAFF, reply.message_id)


async def test_members_write_in_topics_and_edit(
    telegram: TelegramEmulator, bot: Bot, start_polling: StartPolling, shopper: EmulatedUser
) -> None:
    staff = forum(telegram, STAFF)
    manager = telegram.user(201, "Ольга")
    stranger = telegram.user(202, "Гость")
    staff.join(manager, "administrator")
    staff.join(stranger)
    seen: list[Message] = []
    edited: list[Message] = []
    router = Router()

    @router.message(F.chat.id == STAFF)
    async def in_group(message: Message) -> None:
        seen.append(message)

    @router.edited_message()
    async def on_edit(message: Message) -> None:
        edited.append(message)

    await start_polling(router)
    topic = await bot.create_forum_topic(STAFF, "Анна")
    thread = topic.message_thread_id
    card = await bot.send_message(STAFF, "карточка", message_thread_id=thread)
    await staff.send_text(manager, "Добрый день!", thread=thread)
    sent = await staff.send_text(stranger, "а я не сотрудник", thread=thread)
    await staff.send_content(
        manager, Media(telegram).photo(), thread=thread, reply_to=card.model_dump()
    )
    await staff.send_text(manager, "в общем чате")
    assert [m.message_thread_id for m in seen] == [thread, thread, thread, None]
    assert all(m.is_topic_message for m in seen[:3])
    # With no reply of its own a topic message replies to the topic's creation message.
    assert seen[0].reply_to_message is not None
    assert seen[0].reply_to_message.forum_topic_created is not None
    assert seen[2].reply_to_message is not None
    assert seen[2].reply_to_message.message_id == card.message_id
    assert seen[1].from_user is not None and seen[1].from_user.id == stranger.id
    member = await bot.get_chat_member(STAFF, stranger.id)
    assert member.status == ChatMemberStatus.MEMBER
    staff.leave(manager)
    assert (await bot.get_chat_member(STAFF, manager.id)).status == ChatMemberStatus.LEFT
    with pytest.raises(AssertionError, match="not a member"):
        await staff.send_text(manager, "меня уже нет", thread=thread)
    await edit_message(staff, stranger, sent, "исправлено")
    await asyncio.sleep(0)
    assert [m.text for m in edited] == ["исправлено"]
    assert edited[0].edit_date is not None


async def test_without_admin_rights_only_commands_reach_the_bot(
    telegram: TelegramEmulator, bot: Bot, start_polling: StartPolling
) -> None:
    staff = forum(telegram, STAFF, bot_rights={})
    manager = telegram.user(201, "Ольга")
    staff.join(manager, "administrator")
    seen: list[str] = []
    router = Router()

    @router.message()
    async def any_message(message: Message) -> None:
        seen.append(message.text or "")

    await start_polling(router)
    await staff.send_text(manager, "просто текст")
    await staff.send_text(manager, "/close")
    assert seen == ["/close"]
