"""The hand-off to a person through the staff group's topics, end to end: the real
dispatcher, the emulator's forum over HTTP, real databases."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, update

from shopbot.emulators.telegram import EmulatedUser, TelegramEmulator
from shopbot.emulators.telegram_forum import ForumGroup, Media, edit_message, forum
from shopbot.models import ConversationStatus, SupportConversation, SupportMessage, utcnow
from shopbot.services import conversations
from tests.bot.conftest import ADMIN, Catalogue, Shop, ShopFactory, buttons, check_out, until

STAFF = -1001500000001
MANAGER = 301
STRANGER = 302
SHOPPER = 101


@pytest.fixture
async def started_forum(
    shop_factory: ShopFactory, emulator: TelegramEmulator
) -> tuple[Shop, ForumGroup]:
    staff = forum(emulator, STAFF, "Поддержка")
    shop = await shop_factory(admin_ids=[ADMIN], support_chat_id=STAFF)
    await _people(shop, staff)
    return shop, staff


async def _people(shop: Shop, staff: ForumGroup) -> None:
    """The owner (creator), a manager and somebody who is not staff in the group."""
    owner = shop.emulator.user(ADMIN, "Хозяйка")
    manager = shop.emulator.user(MANAGER, "Ольга", username="olga")
    stranger = shop.emulator.user(STRANGER, "Гость")
    staff.join(owner, "creator")
    staff.join(manager)
    staff.join(stranger)
    await owner.send_text("/start")
    await manager.send_text("/start")


async def hand_off(
    shop: Shop, shopper: EmulatedUser, subject: str = "🚚 Доставка и оплата"
) -> None:
    await shopper.send_text("/support")
    assert shopper.last["text"] == "О чём ваш вопрос?"
    await shopper.press(subject)
    await shop.emulator.wait_handled()


def only_topic(staff: ForumGroup) -> int:
    assert len(staff.topics) == 1, staff.topic_names()
    return next(iter(staff.topics))


async def test_hand_off_routed_to_the_assigned_employee_and_relayed_both_ways(
    started_forum: tuple[Shop, ForumGroup],
) -> None:
    shop, staff = started_forum
    owner = shop.emulator.user(ADMIN)
    manager = shop.emulator.user(MANAGER)
    stranger = shop.emulator.user(STRANGER)
    await owner.send_text("/staff add @olga доставка")
    assert (
        "В списке сотрудников: • Ольга @olga (id 301): 🚚 Доставка и оплата" in owner.last["text"]
    )

    anna = shop.emulator.user(SHOPPER, "Анна", username="anna")
    await anna.send_text("/start")
    await hand_off(shop, anna)
    assert anna.last["text"].startswith(
        "💬 Вы пишете менеджеру. Мы ответим в рабочее время: круглосуточно."
    )
    assert buttons(anna.last) == ["Завершить разговор"]

    thread = only_topic(staff)
    assert staff.topics[thread].name == "Анна · @anna · #101"
    card = staff.bot_in_topic(thread)[0]
    assert card["text"].startswith("🆕 Покупатель просит человека")
    assert "Тема: 🚚 Доставка и оплата" in card["text"]
    assert "Для: Ольга" in card["text"]
    assert any(
        e.get("url") == "tg://user?id=301" for e in card["entities"] if e["type"] == "text_link"
    )
    assert buttons(card) == ["✅ Закрыть разговор"]

    asked = await anna.send_text("Доставите в Казань?")
    await shop.emulator.wait_handled()
    copy = staff.bot_in_topic(thread)[-1]
    assert copy["text"] == "Доставите в Казань?"
    # Free text goes to the person, not to the search or the FAQ.
    assert anna.last["text"].startswith("💬 Вы пишете менеджеру")

    await staff.send_text(manager, "Да, доставим за 3 дня", thread=thread, reply_to=copy)
    await shop.emulator.wait_handled()
    assert anna.texts()[-2:] == ["💬 Вам отвечает Ольга, магазин «Лавка»:", "Да, доставим за 3 дня"]
    assert anna.last["reply_to_message"]["message_id"] == asked["message_id"]
    await staff.send_text(manager, "Чем ещё помочь?", thread=thread)
    await staff.send_text(manager, "// она уже спрашивала вчера", thread=thread)
    await staff.send_text(manager, "#note позвонить", thread=thread)
    await staff.send_text(manager, "/start", thread=thread)
    await shop.emulator.wait_handled()
    assert anna.texts()[-1] == "Чем ещё помочь?"  # no second header, the notes stayed

    await staff.send_text(stranger, "а я тоже отвечу", thread=thread)
    await staff.send_text(stranger, "и ещё", thread=thread)
    await shop.emulator.wait_handled()
    assert anna.texts()[-1] == "Чем ещё помочь?"
    warnings = [
        m for m in staff.bot_in_topic(thread) if "только сообщения сотрудников" in m.get("text", "")
    ]
    assert len(warnings) == 1

    await staff.send_text(manager, "/close", thread=thread)
    await shop.emulator.wait_handled()
    closing, rating = anna.messages[-2:]
    assert closing["text"].startswith("✅ Менеджер завершил разговор.")
    # Ольга answered: Анна is asked, once, to rate her help.
    assert rating["text"].startswith("⭐ Как мы вам помогли?")
    await anna.press("5 ⭐", message=rating)
    assert anna.history[rating["message_id"]]["text"].startswith("Спасибо! Ваша оценка")
    assert staff.topics[thread].closed
    assert staff.bot_in_topic(thread)[-1]["text"] == "✅ Разговор закрыт: Ольга."
    # Closed: her next words go back to the search and the FAQ.
    before = len(staff.bot_in_topic(thread))
    await anna.send_text("спасибо")
    assert len(staff.bot_in_topic(thread)) == before

    # The next conversation reuses her topic, reopened.
    await hand_off(shop, anna, "💬 Другое")
    assert only_topic(staff) == thread and not staff.topics[thread].closed
    assert "Для: Хозяйка" in staff.bot_in_topic(thread)[-1]["text"]  # nobody assigned: admins
    assert shop.emulator.errors == [], [(e.method, e.description) for e in shop.emulator.errors]


async def test_media_relayed_both_ways(started_forum: tuple[Shop, ForumGroup]) -> None:
    shop, staff = started_forum
    manager = shop.emulator.user(MANAGER)
    await shop.emulator.user(ADMIN).send_text(f"/staff add {MANAGER}")
    anna = shop.emulator.user(SHOPPER, "Анна")
    await anna.send_text("/start")
    await hand_off(shop, anna, "↩ Возврат или жалоба")
    thread = only_topic(staff)
    media = Media(shop.emulator)
    sent = [
        await anna.send_content(media.photo("пришла разбитая")),
        *[await anna.send_content(item) for item in media.album(3, "с разных сторон")],
        await anna.send_content(media.document("чек.pdf")),
        await anna.send_content(media.voice()),
        await anna.send_content(media.video()),
        await anna.send_content(media.sticker()),
        await anna.send_content(media.location()),
        await anna.send_content(media.contact()),
    ]
    # The album holds back what came after it until it is complete.
    await until(lambda: len(staff.bot_in_topic(thread)) == 11, 10)
    copies = staff.bot_in_topic(thread)[1:]
    kinds = [
        "photo",
        "photo",
        "photo",
        "photo",
        "document",
        "voice",
        "video",
        "sticker",
        "location",
        "contact",
    ]
    assert [next(k for k in kinds if k in m) for m in copies] == kinds
    assert copies[0]["caption"] == "пришла разбитая"
    assert [m["photo"][-1]["file_id"] for m in copies[1:4]] == [
        m["photo"][-1]["file_id"] for m in sent[1:4]
    ]

    await staff.send_content(manager, media.photo("вот как должно быть"), thread=thread)
    await staff.send_content(manager, media.document("акт.pdf"), thread=thread)
    await staff.send_content(manager, media.voice(), thread=thread)
    await shop.emulator.wait_handled()
    got = anna.messages[-3:]
    assert got[0]["caption"] == "вот как должно быть"
    assert got[1]["document"]["file_name"] == "акт.pdf"
    assert "voice" in got[2]

    # An edit follows the message: in place when Telegram allows.
    text = await anna.send_text("заказ 12")
    await shop.emulator.wait_handled()
    await edit_message(anna, anna, text, "заказ 21")
    await shop.emulator.wait_handled()
    assert staff.bot_in_topic(thread)[-1]["text"] == "заказ 21"
    # A copy staff deleted cannot be edited: the edit comes as a marked correction.
    edited_copy = staff.bot_in_topic(thread)[-1]
    del staff.history[edited_copy["message_id"]]
    await edit_message(anna, anna, text, "заказ 21, не 12")
    await shop.emulator.wait_handled()
    assert staff.bot_in_topic(thread)[-1]["text"] == "✏ Исправление: заказ 21, не 12"
    assert [(e.method, e.description) for e in shop.emulator.errors] == [
        ("editMessageText", "Bad Request: message to edit not found")
    ]


async def _relayed(shop: Shop) -> list[SupportMessage]:
    """Every relayed row, once none is left pending (each is marked right after its copy)."""
    async with asyncio.timeout(5):
        while True:
            async with shop.session_factory() as session:
                rows = list(
                    await session.scalars(select(SupportMessage).order_by(SupportMessage.id))
                )
            if all(row.relayed_at is not None for row in rows):
                return rows
            await asyncio.sleep(0.02)


async def test_an_album_is_relayed_as_an_album_both_ways(
    started_forum: tuple[Shop, ForumGroup],
) -> None:
    shop, staff = started_forum
    manager = shop.emulator.user(MANAGER)
    await shop.emulator.user(ADMIN).send_text(f"/staff add {MANAGER}")
    anna = shop.emulator.user(SHOPPER, "Анна")
    await anna.send_text("/start")
    await hand_off(shop, anna, "↩ Возврат или жалоба")
    thread = only_topic(staff)
    media = Media(shop.emulator)
    # Telegram brings an album's items together, one update each.
    album = [await anna.send_content(item, wait=False) for item in media.album(3, "с трёх сторон")]
    after = await anna.send_text("вот так пришло", wait=False)
    await until(lambda: len(staff.bot_in_topic(thread)) == 5, 10)

    copies = staff.bot_in_topic(thread)[1:4]
    assert [m["photo"][-1]["file_id"] for m in copies] == [m["photo"][-1]["file_id"] for m in album]
    assert len({m["media_group_id"] for m in copies}) == 1  # one album in the topic
    assert copies[0]["caption"] == "с трёх сторон"
    assert staff.bot_in_topic(thread)[-1]["text"] == "вот так пришло"  # after it, in order
    assert shop.emulator.count("copyMessages") == 1
    copy_calls = [call for call in shop.emulator.calls if call.method == "copyMessage"]
    assert [int(call.params["message_id"]) for call in copy_calls] == [after["message_id"]]
    rows = [row for row in await _relayed(shop) if row.media_group_id is not None]
    assert [(row.source_message_id, row.target_message_id) for row in rows] == [
        (sent["message_id"], copy["message_id"]) for sent, copy in zip(album, copies, strict=True)
    ]

    # A reply to the album's second photo threads to the shopper's second photo.
    await staff.send_text(manager, "Вторая — видно скол", thread=thread, reply_to=copies[1])
    await shop.emulator.wait_handled()
    assert anna.last["text"] == "Вторая — видно скол"
    assert anna.last["reply_to_message"]["message_id"] == album[1]["message_id"]

    # The staff's album reaches the shopper as an album.
    for item in media.album(2, "как должно быть"):
        await staff.send_content(manager, item, thread=thread)
    await until(lambda: len(anna.messages) >= 2 and "photo" in anna.messages[-2], 10)
    got = anna.messages[-2:]
    assert got[0]["caption"] == "как должно быть" and "photo" in got[1]
    assert got[0]["media_group_id"] == got[1]["media_group_id"]
    assert shop.emulator.count("copyMessages") == 2

    # An album captioned as an internal note stays in the group, all of it, wherever the
    # caption is; what staff write next still goes.
    before = len(anna.messages)
    noted = media.album(3, "// фото со склада")
    later_note = media.album(2)
    later_note[1]["caption"] = "#note и это тоже"
    for item in [*noted, *later_note]:
        await staff.send_content(manager, item, thread=thread)
    await asyncio.sleep(conversations.ALBUM_WAIT.total_seconds() + 0.5)
    await staff.send_text(manager, "Замену отправим завтра", thread=thread)
    await until(lambda: anna.last.get("text") == "Замену отправим завтра", 10)
    assert len(anna.messages) == before + 1
    # Kept: each note's item, and the item that came before the second one's caption (the
    # items after a note's are not even recorded).
    kept = [row for row in await _relayed(shop) if row.failure == conversations.NOTE_ITEM]
    assert len(kept) == 3
    assert shop.emulator.errors == [], [(e.method, e.description) for e in shop.emulator.errors]


async def test_an_album_across_a_restart_is_relayed_whole(
    started_forum: tuple[Shop, ForumGroup], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The process stops after two items of an album; the third waits at Telegram and is
    the next process's first update: one album of three, though the process was down for
    longer than the wait. (A wait longer than a second, so a loaded machine's slow stop does
    not let the first process see the album as done.)"""
    monkeypatch.setattr(conversations, "ALBUM_WAIT", timedelta(seconds=3))
    shop, staff = started_forum
    anna = shop.emulator.user(SHOPPER, "Анна")
    await anna.send_text("/start")
    await hand_off(shop, anna, "↩ Возврат или жалоба")
    thread = only_topic(staff)
    items = Media(shop.emulator).album(3)
    sent = [await anna.send_content(item, wait=False) for item in items[:2]]
    await shop.emulator.wait_handled()
    await shop.stop()
    sent.append(await anna.send_content(items[2], wait=False))
    await asyncio.sleep(3.5)  # down for longer than the wait: the two alone look complete
    await shop.start()
    await until(lambda: len(staff.bot_in_topic(thread)) == 4, 15)
    copies = staff.bot_in_topic(thread)[1:]
    assert len({m["media_group_id"] for m in copies}) == 1
    assert [m["photo"][-1]["file_id"] for m in copies] == [m["photo"][-1]["file_id"] for m in sent]
    assert shop.emulator.count("copyMessages") == 1
    rows = await _relayed(shop)
    assert [row.target_message_id for row in rows[1:]] == [m["message_id"] for m in copies]


async def test_restart_mid_conversation_loses_nothing(
    started_forum: tuple[Shop, ForumGroup],
) -> None:
    shop, staff = started_forum
    manager = shop.emulator.user(MANAGER)
    await shop.emulator.user(ADMIN).send_text(f"/staff add {MANAGER} заказ")
    anna = shop.emulator.user(SHOPPER, "Анна")
    await anna.send_text("/start")
    await hand_off(shop, anna, "💬 Другое")
    first = await anna.send_text("Первое сообщение")
    await shop.emulator.wait_handled()
    thread = only_topic(staff)
    copy = staff.bot_in_topic(thread)[-1]

    await shop.restart()
    await staff.send_text(manager, "Ответ после перезапуска", thread=thread, reply_to=copy)
    await shop.emulator.wait_handled()
    assert anna.last["text"] == "Ответ после перезапуска"
    assert anna.last["reply_to_message"]["message_id"] == first["message_id"]
    await anna.send_text(
        "И ещё вопрос",
    )
    await shop.emulator.wait_handled()
    assert staff.bot_in_topic(thread)[-1]["text"] == "И ещё вопрос"
    assert only_topic(staff) == thread


async def test_a_member_who_is_not_staff_is_told_once_across_a_restart(
    started_forum: tuple[Shop, ForumGroup],
) -> None:
    """ "Once" is kept in the database (``support_event``), not in the process: a restart
    (or another replica) does not tell them again."""
    shop, staff = started_forum
    stranger = shop.emulator.user(STRANGER)
    anna = shop.emulator.user(SHOPPER, "Анна")
    await anna.send_text("/start")
    await hand_off(shop, anna)
    thread = only_topic(staff)
    before = len(anna.messages)

    def told() -> list[dict]:
        return [
            m
            for m in staff.bot_in_topic(thread)
            if "только сообщения сотрудников" in m.get("text", "")
        ]

    await staff.send_text(stranger, "я тоже отвечу", thread=thread)
    await shop.emulator.wait_handled()
    assert len(told()) == 1
    await shop.restart()
    await staff.send_text(stranger, "и после перезапуска", thread=thread)
    await shop.emulator.wait_handled()
    assert len(told()) == 1
    assert len(anna.messages) == before  # nothing of theirs reached the shopper


async def test_a_deleted_topic_is_made_again_with_the_card(
    started_forum: tuple[Shop, ForumGroup],
) -> None:
    shop, staff = started_forum
    anna = shop.emulator.user(SHOPPER, "Анна")
    await anna.send_text("/start")
    await hand_off(shop, anna, "🛍 Товар")
    old = only_topic(staff)
    staff.delete_topic(old)
    await anna.send_text("Есть размер M?")
    await shop.emulator.wait_handled()
    new = only_topic(staff)
    assert new != old
    in_new = staff.bot_in_topic(new)
    assert in_new[0]["text"].startswith("🆕 Покупатель просит человека")
    assert in_new[-1]["text"] == "Есть размер M?"


async def test_a_blocked_shopper_is_reported_in_the_topic(
    started_forum: tuple[Shop, ForumGroup],
) -> None:
    shop, staff = started_forum
    owner = shop.emulator.user(ADMIN)
    anna = shop.emulator.user(SHOPPER, "Анна")
    await anna.send_text("/start")
    await hand_off(shop, anna)
    thread = only_topic(staff)
    anna.block_bot()
    await staff.send_text(owner, "Вы тут?", thread=thread)
    await shop.emulator.wait_handled()
    assert staff.bot_in_topic(thread)[-1]["text"].startswith(
        "⚠ Не доставлено: покупатель заблокировал"
    )


async def test_nobody_else_can_end_or_answer_a_conversation(
    started_forum: tuple[Shop, ForumGroup],
) -> None:
    shop, staff = started_forum
    anna = shop.emulator.user(SHOPPER, "Анна")
    boris = shop.emulator.user(102, "Борис")
    stranger = shop.emulator.user(STRANGER)
    await anna.send_text("/start")
    await boris.send_text("/start")
    await hand_off(shop, anna)
    thread = only_topic(staff)
    ended = anna.last
    data = ended["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
    # Борис forges Анна's "end" button in his own chat.
    await boris.send_text("/support")
    answer = await boris.press_data(data, message=boris.last)
    assert answer is not None and answer.show_alert and "устарела" in (answer.text or "")
    # A group member who is not staff presses the card's close button.
    card = staff.bot_in_topic(thread)[0]
    answer = await staff.press(stranger, "✅ Закрыть разговор", message=card)
    assert answer is not None and answer.text == "Это могут только сотрудники магазина."
    async with shop.session_factory() as session:
        conversation = await session.scalar(select(SupportConversation))
        assert conversation is not None and conversation.status is ConversationStatus.OPEN
    # Борис's own messages are not in Анна's topic.
    await boris.send_text("💬 Другое")
    assert all(m.get("text") != "💬 Другое" for m in staff.bot_in_topic(thread))
    # Анна ends it herself; the staff hear of it.
    await anna.press("Завершить разговор", message=ended)
    await shop.emulator.wait_handled()
    assert anna.last["text"].startswith("✅ Разговор завершён.")
    assert staff.bot_in_topic(thread)[-1]["text"] == "✅ Покупатель завершил разговор."
    # The button is gone with the edit; a repeated press of the old data is answered.
    answer = await anna.press_data(data, message=ended)
    assert answer is not None and answer.text == "Этот разговор уже завершён."


async def test_out_of_hours_the_shopper_is_told_when_to_expect_an_answer(
    shop_factory: ShopFactory, emulator: TelegramEmulator
) -> None:
    staff = forum(emulator, STAFF, "Поддержка")
    now = utcnow().astimezone(ZoneInfo("Europe/Moscow"))
    day_after = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")[(now.weekday() + 2) % 7]
    shop = await shop_factory(
        admin_ids=[ADMIN], support_chat_id=STAFF, support_hours=f"{day_after} 10:00-16:00"
    )
    await _people(shop, staff)
    anna = shop.emulator.user(SHOPPER, "Анна")
    await anna.send_text("/start")
    await hand_off(shop, anna)
    ru_day = dict(
        zip(
            ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"),
            ("Пн", "Вт", "Ср", "Чт", "Пт", "Сб", "Вс"),
            strict=True,
        )
    )[day_after]
    assert f"в рабочее время: {ru_day} 10:00–16:00." in anna.last["text"]
    assert f"🌙 Сейчас мы не работаем: ответим с {ru_day} 10:00." in anna.last["text"]
    await anna.send_text("Жду ответа")
    await shop.emulator.wait_handled()
    # Told once for this evening (the greeting said it), and the message still reached the topic.
    assert anna.last["text"].startswith("💬 Вы пишете менеджеру")
    assert staff.bot_in_topic(only_topic(staff))[-1]["text"] == "Жду ответа"


async def test_the_reminder_raises_an_unanswered_conversation_once(
    started_forum: tuple[Shop, ForumGroup],
) -> None:
    shop, staff = started_forum
    assert shop.runtime is not None
    anna = shop.emulator.user(SHOPPER, "Анна")
    await anna.send_text("/start")
    await hand_off(shop, anna)
    thread = only_topic(staff)
    await shop.runtime.jobs.remind_support()
    await shop.emulator.wait_handled()
    assert not any("⏰" in m.get("text", "") for m in staff.bot_in_topic(thread))
    async with shop.session_factory() as session:
        await session.execute(
            update(SupportConversation).values(opened_at=utcnow() - timedelta(minutes=31))
        )
        await session.commit()
    await shop.runtime.jobs.remind_support()
    await shop.runtime.jobs.remind_support()
    await shop.emulator.wait_handled()
    reminders = [m for m in staff.bot_in_topic(thread) if "⏰" in m.get("text", "")]
    assert len(reminders) == 1
    assert reminders[0]["text"].startswith("⏰ Покупатель ждёт ответа уже 31 мин. Хозяйка")


async def test_dm_fallback_without_a_forum(
    shop_factory: ShopFactory, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="shopbot.bot.support_desk"):
        shop = await shop_factory(admin_ids=[ADMIN])
    lines = [r.getMessage() for r in caplog.records if "topics are not used" in r.getMessage()]
    assert lines == [
        "support: topics are not used (neither SUPPORT_CHAT_ID nor ADMIN_CHAT_ID is set); "
        "hand-offs go to the admins' private chats"
    ]
    owner = shop.emulator.user(ADMIN, "Хозяйка")
    await owner.send_text("/start")
    anna = shop.emulator.user(SHOPPER, "Анна")
    await anna.send_text("/start")
    await hand_off(shop, anna)
    card = owner.last
    assert card["text"].startswith("🆕 Покупатель просит человека")
    asked = await anna.send_text("Где курьер?")
    await shop.emulator.wait_handled()
    copy = owner.last
    assert copy["text"] == "Где курьер?"
    await owner.send_text(
        "Уже едет",
    )
    # Not a reply: not relayed.
    assert anna.texts()[-1] != "Уже едет"
    reply = await owner.send_content({"text": "Будет через час", "reply_to_message": copy})
    await shop.emulator.wait_handled()
    assert anna.texts()[-2:] == ["💬 Вам отвечает Хозяйка, магазин «Лавка»:", "Будет через час"]
    assert anna.last["reply_to_message"]["message_id"] == asked["message_id"]
    await owner.send_content({"text": "/close", "reply_to_message": card})
    await shop.emulator.wait_handled()
    assert anna.messages[-2]["text"].startswith("✅ Менеджер завершил разговор.")
    assert anna.last["text"].startswith("⭐ Как мы вам помогли?")
    assert reply["message_id"] > 0


async def test_staff_write_to_a_shopper_from_the_order_card(
    started_forum: tuple[Shop, ForumGroup], catalogue: Catalogue
) -> None:
    shop, staff = started_forum
    owner = shop.emulator.user(ADMIN)
    shopper = await check_out(shop, SHOPPER, "MUG-1")
    await owner.send_text("/orders_admin")
    await owner.press(owner.last["reply_markup"]["inline_keyboard"][0][0]["text"])
    answer = await owner.press("✉ Написать покупателю")
    assert answer is not None and "Карточка покупателя" in (answer.text or "")
    await shop.emulator.wait_handled()
    thread = only_topic(staff)
    card = staff.bot_in_topic(thread)[0]
    assert "Тема: 📦 Заказ №" in card["text"]
    await staff.send_text(owner, "Уточните адрес, пожалуйста", thread=thread)
    await shop.emulator.wait_handled()
    assert shopper.last["text"] == "Уточните адрес, пожалуйста"
    await shopper.send_text("Покровка, 12")
    await shop.emulator.wait_handled()
    assert staff.bot_in_topic(thread)[-1]["text"] == "Покровка, 12"
    async with shop.session_factory() as session:
        rows = list(await session.scalars(select(SupportMessage)))
    assert len(rows) == 3  # the card, one reply each way


async def test_staff_are_kept_with_their_subjects(started_forum: tuple[Shop, ForumGroup]) -> None:
    shop, _staff = started_forum
    owner = shop.emulator.user(ADMIN)
    await owner.send_text("/staff")
    assert owner.last["text"].startswith("Сотрудников пока нет")
    await owner.send_text("/staff add @nobody")
    assert owner.last["text"].startswith("Я не знаю @nobody")
    await owner.send_text("/staff add @olga заказ пицца")
    assert owner.last["text"].startswith("Как пользоваться: /staff add")
    await owner.send_text("/staff add 301 заказ возврат")
    assert "Ольга @olga (id 301): 📦 Заказ, ↩ Возврат или жалоба" in owner.last["text"]
    # Forwarded from a person: added with no subject in particular.
    pavel = shop.emulator.user(303, "Павел", username="pavel")
    await owner.send_text("/staff add")
    assert owner.last["text"].startswith("Перешлите мне любое сообщение")
    await owner.send_content(
        {
            "text": "привет",
            "forward_origin": {"type": "user", "sender_user": pavel.as_user(), "date": 1},
        }
    )
    assert "Павел @pavel (id 303): без определённой темы" in owner.last["text"]
    await owner.send_text("/staff")
    assert owner.last["text"].startswith("👥 Сотрудники\n• Ольга @olga")
    await owner.send_text("/staff remove @olga")
    assert owner.last["text"] == "Ольга больше не в списке сотрудников."
    await owner.send_text("/staff remove 301")
    assert owner.last["text"] == "Такого сотрудника нет в списке: Ольга."
    # Not an admin: /staff is an unknown command for a shopper.
    anna = shop.emulator.user(SHOPPER, "Анна")
    await anna.send_text("/staff add 101")
    assert "сотрудник" not in anna.last["text"].lower()


async def test_a_responsible_employee_who_left_is_replaced_by_the_admins(
    started_forum: tuple[Shop, ForumGroup],
) -> None:
    shop, staff = started_forum
    owner = shop.emulator.user(ADMIN)
    manager = shop.emulator.user(MANAGER)
    await owner.send_text("/staff add 301 товар")
    staff.leave(manager)
    anna = shop.emulator.user(SHOPPER, "Анна")
    await anna.send_text("/start")
    await hand_off(shop, anna, "🛍 Товар")
    card = staff.bot_in_topic(only_topic(staff))[0]
    assert "Для: Хозяйка" in card["text"] and "Ольга" not in card["text"]


async def test_a_staff_edit_reaches_the_shopper(started_forum: tuple[Shop, ForumGroup]) -> None:
    shop, staff = started_forum
    owner = shop.emulator.user(ADMIN)
    anna = shop.emulator.user(SHOPPER, "Анна")
    await anna.send_text("/start")
    await hand_off(shop, anna)
    thread = only_topic(staff)
    sent = await staff.send_text(owner, "Доставка 300 ₽", thread=thread)
    await shop.emulator.wait_handled()
    assert anna.last["text"] == "Доставка 300 ₽"
    await edit_message(staff, owner, sent, "Доставка 350 ₽")
    await shop.emulator.wait_handled()
    assert anna.last["text"] == "Доставка 350 ₽" and "edit_date" in anna.last
    photo = await staff.send_content(owner, Media(shop.emulator).photo("упаковка"), thread=thread)
    await shop.emulator.wait_handled()
    await edit_message(staff, owner, photo, "упаковка, вид сбоку")
    await shop.emulator.wait_handled()
    assert anna.last["caption"] == "упаковка, вид сбоку"


async def test_without_the_right_to_manage_topics_hand_offs_go_to_private_chats(
    shop_factory: ShopFactory, emulator: TelegramEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    forum(emulator, STAFF, "Поддержка", bot_rights={"can_delete_messages": True})
    with caplog.at_level(logging.WARNING, logger="shopbot.bot.support_desk"):
        shop = await shop_factory(admin_ids=[ADMIN], support_chat_id=STAFF)
    assert [r.getMessage() for r in caplog.records if "topics are not used" in r.getMessage()] == [
        f"support: topics are not used (the bot is not an admin allowed to manage topics in "
        f"chat {STAFF}); hand-offs go to the admins' private chats"
    ]
    owner = shop.emulator.user(ADMIN, "Хозяйка")
    await owner.send_text("/start")
    anna = shop.emulator.user(SHOPPER, "Анна")
    await anna.send_text("/start")
    await hand_off(shop, anna)
    assert owner.last["text"].startswith("🆕 Покупатель просит человека")
    assert shop.emulator.count("createForumTopic") == 0


async def test_a_message_telegram_refused_for_now_goes_first_after_a_restart(
    started_forum: tuple[Shop, ForumGroup],
) -> None:
    shop, staff = started_forum
    anna = shop.emulator.user(SHOPPER, "Анна")
    await anna.send_text("/start")
    await hand_off(shop, anna)
    thread = only_topic(staff)
    shop.emulator.fail_next("copyMessage", error_code=500)
    await anna.send_text("один")
    await shop.emulator.wait_handled()
    assert staff.bot_in_topic(thread)[-1]["text"] != "один"  # held for a retry
    await shop.restart()
    await anna.send_text("два")
    await shop.emulator.wait_handled()
    assert [m["text"] for m in staff.bot_in_topic(thread)[-2:]] == ["один", "два"]
    async with shop.session_factory() as session:
        pending = await session.scalar(
            select(SupportMessage.id).where(SupportMessage.relayed_at.is_(None))
        )
    assert pending is None


async def test_commands_and_the_menu_still_work_in_a_conversation(
    started_forum: tuple[Shop, ForumGroup], catalogue: Catalogue
) -> None:
    shop, staff = started_forum
    anna = shop.emulator.user(SHOPPER, "Анна")
    await anna.send_text("/start")
    await hand_off(shop, anna)
    thread = only_topic(staff)
    before = len(staff.bot_in_topic(thread))
    await anna.press("🛒 Корзина")
    assert "корзин" in anna.last["text"].lower()
    await anna.send_text("/catalog")
    assert buttons(anna.last)  # the catalogue's categories
    await anna.send_text("/support")
    assert anna.last["text"] == "💬 Вы уже на связи с менеджером: просто пишите сюда."
    await shop.emulator.wait_handled()
    assert len(staff.bot_in_topic(thread)) == before


async def test_dm_fallback_skips_an_admin_who_blocked_the_bot(shop_factory: ShopFactory) -> None:
    shop = await shop_factory(admin_ids=[ADMIN, 901])
    owner = shop.emulator.user(ADMIN, "Хозяйка")
    gone = shop.emulator.user(901, "Уволился")
    await owner.send_text("/start")
    await gone.send_text("/start")
    gone.block_bot()
    anna = shop.emulator.user(SHOPPER, "Анна")
    await anna.send_text("/start")
    await hand_off(shop, anna)
    await anna.send_text("Есть кто?")
    await shop.emulator.wait_handled()
    assert owner.last["text"] == "Есть кто?"
    assert owner.messages[-2]["text"].startswith("🆕 Покупатель просит человека")
    assert "Для: Хозяйка, Уволился" in owner.messages[-2]["text"]
    async with shop.session_factory() as session:
        failures = list(
            await session.scalars(
                select(SupportMessage.failure).where(SupportMessage.target_chat_id == 901)
            )
        )
    assert failures == ["Forbidden: bot was blocked by the user"] * 2


async def test_a_forum_that_took_the_bots_rights_after_start_loses_nothing(
    started_forum: tuple[Shop, ForumGroup],
) -> None:
    """The bot was an admin at start-up, then lost its rights: the topic cannot be made, and
    the shopper's message goes to the admins in private with the reason, not into silence."""
    shop, staff = started_forum
    owner = shop.emulator.user(ADMIN)
    staff.set_bot_rights({})
    anna = shop.emulator.user(SHOPPER, "Анна")
    await anna.send_text("/start")
    await hand_off(shop, anna)
    await anna.send_text("Где мой курьер?")
    await shop.emulator.wait_handled()
    notice, copy = owner.messages[-2:]
    assert notice["text"].startswith("⚠ Сообщение покупателя не попало в чат поддержки")
    assert "not enough rights" in notice["text"]
    assert copy["text"] == "Где мой курьер?"
    assert staff.topics == {}


async def test_a_low_rating_and_its_comment_go_into_the_shoppers_topic(
    started_forum: tuple[Shop, ForumGroup],
) -> None:
    shop, staff = started_forum
    owner = shop.emulator.user(ADMIN)
    anna = shop.emulator.user(SHOPPER, "Анна", username="anna")
    await anna.send_text("/start")
    await hand_off(shop, anna)
    thread = only_topic(staff)
    await staff.send_text(owner, "Посмотрю и напишу", thread=thread)
    await staff.send_text(owner, "/close", thread=thread)
    await shop.emulator.wait_handled()
    await anna.press("2 ⭐", message=anna.last)
    alert = staff.bot_in_topic(thread)[-1]["text"]
    assert alert.startswith("⚠ Низкая оценка поддержки: ⭐⭐ 2/5")
    assert "Отвечал(а): Хозяйка" in alert

    await anna.send_text("Так и не написали")
    await shop.emulator.wait_handled()
    comment = staff.bot_in_topic(thread)[-1]["text"]
    assert "Что пошло не так, словами покупателя:" in comment and "Так и не написали" in comment
    # The staff alerts go elsewhere (the owner's chat, no ADMIN_CHAT_ID): told there too.
    alerts = [m["text"] for m in owner.messages if m["text"].startswith("⚠ Низкая оценка")]
    assert len(alerts) == 2
    assert shop.emulator.errors == [], [(e.method, e.description) for e in shop.emulator.errors]


async def test_a_low_rating_is_said_once_when_the_staff_alerts_share_the_group(
    shop_factory: ShopFactory, emulator: TelegramEmulator
) -> None:
    """ADMIN_CHAT_ID is the support group: the alert is in the shopper's topic, not again in
    General."""
    staff = forum(emulator, STAFF, "Поддержка")
    shop = await shop_factory(admin_ids=[ADMIN], admin_chat_id=STAFF)
    await _people(shop, staff)
    owner = shop.emulator.user(ADMIN)
    anna = shop.emulator.user(SHOPPER, "Анна", username="anna")
    await anna.send_text("/start")
    await hand_off(shop, anna)
    thread = only_topic(staff)
    await staff.send_text(owner, "Посмотрю и напишу", thread=thread)
    await staff.send_text(owner, "/close", thread=thread)
    await shop.emulator.wait_handled()
    await anna.press("1 ⭐", message=anna.last)
    await anna.send_text("Не помогли")
    await shop.emulator.wait_handled()

    def low(messages: list[dict]) -> list[dict]:
        return [m for m in messages if m.get("text", "").startswith("⚠ Низкая оценка")]

    in_topic = low(staff.bot_in_topic(thread))
    assert len(in_topic) == 2  # the rating, then its comment
    assert "Не помогли" in in_topic[1]["text"]
    assert low(staff.messages) == in_topic  # nothing of it in General
    assert low(owner.messages) == []
    assert shop.emulator.errors == [], [(e.method, e.description) for e in shop.emulator.errors]


async def test_a_closed_topic_deleted_is_made_again_for_the_next_conversation(
    started_forum: tuple[Shop, ForumGroup],
) -> None:
    """Reopening the deleted topic answers TOPIC_DELETED: a new topic, with one card."""
    shop, staff = started_forum
    owner = shop.emulator.user(ADMIN)
    anna = shop.emulator.user(SHOPPER, "Анна")
    await anna.send_text("/start")
    await hand_off(shop, anna)
    old = only_topic(staff)
    await staff.send_text(owner, "/close", thread=old)
    await shop.emulator.wait_handled()
    staff.delete_topic(old)
    await hand_off(shop, anna, "💬 Другое")
    await anna.send_text("Снова я")
    await shop.emulator.wait_handled()
    new = only_topic(staff)
    assert new != old
    texts = [message["text"] for message in staff.bot_in_topic(new)]
    assert [text for text in texts if text.startswith("🆕 Покупатель просит человека")] == [
        texts[0]
    ]
    assert texts[-1] == "Снова я"
    assert "TOPIC_DELETED" in [error.description.split(": ")[-1] for error in shop.emulator.errors]


async def test_topics_turned_off_while_running_fall_back_to_the_admins(
    started_forum: tuple[Shop, ForumGroup],
) -> None:
    """The group stops being a forum: the message that found it reaches the admins in
    private, they are told once why, and the conversation goes on in their chats."""
    shop, staff = started_forum
    owner = shop.emulator.user(ADMIN)
    anna = shop.emulator.user(SHOPPER, "Анна")
    await anna.send_text("/start")
    await hand_off(shop, anna)
    staff.turn_off_topics()
    await anna.send_text("Алло?")
    await anna.send_text("Вы тут?")
    await shop.emulator.wait_handled()
    told = [text for text in owner.texts() if "темы группы персонала больше" in text]
    assert len(told) == 1 and "is not a supergroup with topics" in told[0]
    assert owner.texts().count("Алло?") == 1
    assert owner.texts()[-1] == "Вы тут?"
