"""Consent to advertising, end to end: the question after the first order, /subscribe and
/unsubscribe, the /help button, "Unsubscribe" under a promotional message, shoppers who
blocked the bot, and the owner's figures — the real dispatcher on the Bot API emulator."""

from __future__ import annotations

from datetime import timedelta

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from sqlalchemy import func, select, update

from shopbot.app import outbox_sender
from shopbot.bot.callbacks import ConsentAnswer, ConsentCb, ConsentPlace
from shopbot.bot.i18n import create_i18n
from shopbot.bot.keyboards import with_unsubscribe
from shopbot.db import unit_of_work
from shopbot.emulators.telegram import EmulatedUser
from shopbot.models import ConsentEvent, ConsentSource, OutboxMessage, User, utcnow
from shopbot.services import marketing
from shopbot.services.marketing import CONSENT_QUESTION, QUESTION_DELAY
from shopbot.services.outbox import OutboxDelivery
from tests.bot.conftest import ADMIN, Catalogue, Shop, buttons, check_out

QUESTION = "📬 Присылать вам новости и скидки?"
SUBSCRIBED = "✅ Готово: будем присылать вам новости и скидки. Отписаться — /unsubscribe"
UNSUBSCRIBED = (
    "🔕 Готово: новости и скидки больше присылать не будем. Сообщения о ваших заказах будут "
    "приходить как обычно. Если передумаете — /subscribe"
)


async def a_minute_later(shop: Shop) -> None:
    """The question's delay passes: the outbox job's next pass finds it due."""
    assert shop.runtime is not None
    async with shop.session_factory() as session:
        async with unit_of_work(session):
            await session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.kind == CONSENT_QUESTION, OutboxMessage.sent_at.is_(None))
                .values(available_at=utcnow())
            )
        await OutboxDelivery(outbox_sender(shop.runtime.notifier)).deliver_due(session)


def questions(shop: Shop, shopper: EmulatedUser) -> list[dict]:
    """The questions the bot sent to ``shopper`` (as they were sent: an answer edits them)."""
    return [
        call.params
        for call in shop.emulator.calls
        if call.method == "sendMessage"
        and call.params.get("chat_id") == str(shopper.chat_id)
        and call.params.get("text", "").startswith(QUESTION)
    ]


async def consent(shop: Shop, user_id: int) -> marketing.Consent:
    async with shop.session_factory() as session:
        return await marketing.consent_of(session, user_id)


async def events(shop: Shop, user_id: int) -> list[tuple[bool, ConsentSource]]:
    async with shop.session_factory() as session:
        rows = await session.execute(
            select(ConsentEvent.granted, ConsentEvent.source)
            .where(ConsentEvent.user_id == user_id)
            .order_by(ConsentEvent.id)
        )
        return [tuple(row) for row in rows]  # type: ignore[misc]


async def audience(shop: Shop) -> list[int]:
    async with shop.session_factory() as session:
        return await marketing.advertising_audience(session)


async def test_the_first_order_brings_the_question_once_after_its_messages(
    shop: Shop, catalogue: Catalogue
) -> None:
    anna = await check_out(shop, 1401, "TS-01")
    assert "оформлен" in anna.texts()[-1]  # the order's confirmation stays the last word
    async with shop.session_factory() as session:
        due = await session.scalar(
            select(OutboxMessage.available_at).where(OutboxMessage.kind == CONSENT_QUESTION)
        )
    assert due is not None and due > utcnow() + QUESTION_DELAY - timedelta(seconds=30)
    assert questions(shop, anna) == []

    await a_minute_later(shop)
    assert len(questions(shop, anna)) == 1
    question = anna.last
    assert question["text"].startswith(QUESTION)
    assert "Отписаться можно в любой момент: /unsubscribe" in question["text"]
    assert buttons(question) == ["✅ Да", "Нет, спасибо"]
    assert await audience(shop) == []

    await anna.press("✅ Да", message=question)
    answered = anna.history[question["message_id"]]
    assert answered["text"] == SUBSCRIBED and buttons(answered) == []
    given = await consent(shop, 1401)
    assert given.granted is True and given.source is ConsentSource.AFTER_FIRST_ORDER
    assert given.at is not None and utcnow() - given.at < timedelta(minutes=1)
    assert await events(shop, 1401) == [(True, ConsentSource.AFTER_FIRST_ORDER)]
    assert await audience(shop) == [1401]

    # A second order asks nothing: the question is asked once.
    await check_out(shop, 1401, "TS-02")
    await a_minute_later(shop)
    assert len(questions(shop, anna)) == 1
    assert shop.emulator.errors == [], [(e.method, e.params) for e in shop.emulator.errors]


async def test_no_means_no_and_nobody_is_asked_twice(shop: Shop, catalogue: Catalogue) -> None:
    boris = await check_out(shop, 1402, "TS-01")  # asked, answers no
    vera = await check_out(shop, 1403, "TS-02")  # asked, does not answer
    gleb = await check_out(shop, 1404, "TS-03")  # unsubscribes before the question comes
    await gleb.send_text("/unsubscribe")
    dina = shop.emulator.user(1405, "Дина")  # subscribes before any order
    await dina.send_text("/subscribe")
    assert dina.last["text"] == SUBSCRIBED
    await check_out(shop, 1405, "TS-04")
    await a_minute_later(shop)

    await boris.press("Нет, спасибо")
    assert boris.last["text"] == UNSUBSCRIBED and buttons(boris.last) == []
    assert await events(shop, 1402) == [(False, ConsentSource.AFTER_FIRST_ORDER)]
    assert len(questions(shop, vera)) == 1
    assert questions(shop, gleb) == [] and questions(shop, dina) == []

    for user_id, sku in ((1402, "TS-05"), (1403, "TS-06"), (1404, "TS-07"), (1405, "TS-08")):
        await check_out(shop, user_id, sku)
    await a_minute_later(shop)
    assert len(questions(shop, boris)) == len(questions(shop, vera)) == 1
    assert questions(shop, gleb) == [] and questions(shop, dina) == []
    async with shop.session_factory() as session:
        recorded = await session.scalar(
            select(func.count()).where(OutboxMessage.kind == CONSENT_QUESTION)
        )
    assert recorded == 3  # Boris, Vera, Gleb (who unsubscribed before it came)
    assert await audience(shop) == [1405]
    assert shop.emulator.errors == [], [(e.method, e.params) for e in shop.emulator.errors]


async def test_subscribe_and_unsubscribe_at_any_time_with_a_confirmation(shop: Shop) -> None:
    anna = shop.emulator.user(1411, "Анна")
    await anna.send_text("/start")
    await anna.send_text("/unsubscribe")  # a no before any yes is an answer too
    assert anna.last["text"] == UNSUBSCRIBED
    await anna.send_text("/unsubscribe")
    assert anna.last["text"] == "Вы не подписаны на новости и скидки. Подписаться — /subscribe"
    await anna.send_text("/subscribe")
    assert anna.last["text"] == SUBSCRIBED
    await anna.send_text("/subscribe")
    assert anna.last["text"] == ("Вы уже подписаны на новости и скидки. Отписаться — /unsubscribe")
    assert await events(shop, 1411) == [
        (False, ConsentSource.COMMAND),
        (True, ConsentSource.COMMAND),
    ]
    assert (await consent(shop, 1411)).source is ConsentSource.COMMAND

    john = shop.emulator.user(1412, "John", language_code="en")
    await john.send_text("/subscribe")
    assert john.last["text"] == (
        "✅ Done: we will send you news and discounts. To unsubscribe: /unsubscribe"
    )
    await john.send_text("/unsubscribe")
    assert john.last["text"].startswith("🔕 Done: no news or discounts from now on.")
    assert shop.emulator.errors == [], [(e.method, e.params) for e in shop.emulator.errors]


async def test_the_help_button_subscribes_and_unsubscribes(shop: Shop) -> None:
    vera = shop.emulator.user(1421, "Вера")
    await vera.send_text("/help")
    help_message = vera.last
    assert "/subscribe, /unsubscribe — новости и скидки" in help_message["text"]
    assert buttons(help_message) == ["🔔 Присылать новости и скидки"]

    await vera.press("🔔 Присылать новости и скидки")
    assert vera.last["text"] == SUBSCRIBED
    assert buttons(vera.history[help_message["message_id"]]) == ["🔕 Не присылать новости и скидки"]
    assert (await consent(shop, 1421)).source is ConsentSource.MENU
    # A second tap of the first button (a double tap) finds it turned already.
    first = ConsentCb(answer=ConsentAnswer.YES, place=ConsentPlace.MENU).pack()
    await vera.press_data(first, message=help_message)
    assert vera.last["text"].startswith("Вы уже подписаны на новости и скидки.")
    await vera.send_text("/help")
    assert buttons(vera.last) == ["🔕 Не присылать новости и скидки"]

    await vera.press("🔕 Не присылать новости и скидки", message=help_message)
    assert vera.last["text"] == UNSUBSCRIBED
    assert await events(shop, 1421) == [(True, ConsentSource.MENU), (False, ConsentSource.MENU)]
    assert shop.emulator.errors == [], [(e.method, e.params) for e in shop.emulator.errors]


async def test_unsubscribe_under_a_promotional_message_takes_one_tap(shop: Shop) -> None:
    anna = shop.emulator.user(1431, "Анна")
    await anna.send_text("/subscribe")
    i18n = create_i18n()
    with i18n.context(), i18n.use_locale("ru"):
        post = InlineKeyboardMarkup(
            inline_keyboard=[[InlineKeyboardButton(text="Смотреть", url="https://example.com")]]
        )
        markup = with_unsubscribe(post)
    await shop.bot.send_message(1431, "Скидка 20% на кружки!", reply_markup=markup)
    promo = anna.last
    assert buttons(promo) == ["Смотреть", "🔕 Отписаться"]

    await anna.press("🔕 Отписаться")
    assert anna.last["text"] == UNSUBSCRIBED
    assert anna.history[promo["message_id"]]["text"] == "Скидка 20% на кружки!"  # kept
    assert (await consent(shop, 1431)).source is ConsentSource.PROMO_MESSAGE
    assert await audience(shop) == []
    await anna.press("🔕 Отписаться", message=promo)  # again: nothing changes, it says so
    assert anna.last["text"].startswith("Вы не подписаны на новости и скидки.")
    assert len(await events(shop, 1431)) == 2
    assert shop.emulator.errors == [], [(e.method, e.params) for e in shop.emulator.errors]


async def test_service_messages_reach_a_shopper_who_unsubscribed(
    admin_shop: Shop, catalogue: Catalogue
) -> None:
    vera = admin_shop.emulator.user(1441, "Вера")
    await vera.send_text("/unsubscribe")
    await check_out(admin_shop, 1441, "MUG-1")
    owner = admin_shop.emulator.user(ADMIN, "Хозяйка")
    await owner.send_text("/orders_admin")
    await owner.press(buttons(owner.last)[0])
    await owner.press("→ подтверждён")
    assert "подтверждён" in vera.last["text"] and "№" in vera.last["text"]
    assert admin_shop.emulator.errors == []


async def test_a_shopper_who_blocked_the_bot_is_out_of_the_audience_and_counted(
    admin_shop: Shop, catalogue: Catalogue
) -> None:
    anna = await check_out(admin_shop, 1451, "MUG-1")
    await anna.send_text("/subscribe")
    boris = admin_shop.emulator.user(1452, "Борис")
    await boris.send_text("/subscribe")
    gleb = admin_shop.emulator.user(1453, "Глеб")
    await gleb.send_text("/unsubscribe")
    assert await audience(admin_shop) == [1451, 1452]

    anna.block_bot()
    owner = admin_shop.emulator.user(ADMIN, "Хозяйка")
    await owner.send_text("/orders_admin")
    await owner.press(buttons(owner.last)[0])
    await owner.press("→ подтверждён")  # the status message meets Telegram's 403
    async with admin_shop.session_factory() as session:
        assert (await session.get(User, 1451)).is_blocked  # type: ignore[union-attr]
    assert await audience(admin_shop) == [1452]

    await owner.send_text("/stats")
    assert "👥 Подписчики: 1, отписались: 1, недоступны: 1" in owner.last["text"]
    await owner.send_text("/subscribers")
    text = owner.last["text"]
    assert "Получают рекламу: 1" in text
    assert "Согласились, но заблокировали бота: 1" in text
    assert "Отказались или отписались: 1" in text
    assert "• командой /subscribe или /unsubscribe: 1" in text
    assert "За 30 дней — согласий: 2, отказов и отписок: 1." in text
    latest = text.split("Последние ответы:\n")[1].splitlines()[:3]
    assert latest[0].endswith(" Глеб: нет, командой /subscribe или /unsubscribe")
    assert latest[2].endswith(" Пётр: да, командой /subscribe или /unsubscribe")

    await anna.send_text("/start")  # she writes again: reachable again
    assert await audience(admin_shop) == [1451, 1452]
    assert [(e.error_code, e.params["chat_id"]) for e in admin_shop.emulator.errors] == [
        (403, "1451")
    ]


async def test_subscribers_is_the_owners_only(admin_shop: Shop) -> None:
    anna = admin_shop.emulator.user(1461, "Анна")
    await anna.send_text("/subscribers")
    assert anna.last["text"].startswith("Такой команды нет.")
    assert "Подписчики" not in anna.last["text"]
