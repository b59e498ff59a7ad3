"""Ratings end to end: a delivered order asks its shopper once for 1–5 and a comment, a
closed support conversation asks for a rating of the help (1–3: "what went wrong?" goes to
the staff), late, repeated and forged taps change nothing, and /stats shows the figures and
the lowest ratings one tap away — the real dispatcher on the Bot API emulator."""

from __future__ import annotations

from sqlalchemy import func, select

from shopbot.bot.callbacks import RatingCb, RatingSkipCb
from shopbot.db import unit_of_work
from shopbot.emulators.telegram import EmulatedUser
from shopbot.models import Order, OrderStatus, OutboxMessage, Rating, RatingKind
from shopbot.services import orders, ratings
from shopbot.services.ratings import RATING_QUESTION
from tests.bot.conftest import ADMIN, Catalogue, Shop, buttons, check_out

ORDER_QUESTION = "⭐ Как вам заказ №{number}? Оцените его от 1 (плохо) до 5 (отлично)"
SERVICE_QUESTION = "⭐ Как мы вам помогли? Оцените разговор от 1 (плохо) до 5 (отлично):"
SCORES = ["1 ⭐", "2 ⭐", "3 ⭐", "4 ⭐", "5 ⭐"]


async def deliver_latest_order(shop: Shop, owner: EmulatedUser) -> None:
    """The owner moves the newest cash order to delivered with the buttons of its alert."""
    await owner.press("→ подтверждён")
    await owner.press("→ отправлен")
    await owner.press("→ доставлен")


async def the_rating(shop: Shop, kind: RatingKind, subject_id: int) -> Rating:
    async with shop.session_factory() as session:
        found = await session.scalar(
            select(Rating).where(Rating.kind == kind, Rating.subject_id == subject_id)
        )
        assert found is not None
        return found


async def questions_recorded(shop: Shop) -> int:
    async with shop.session_factory() as session:
        return (
            await session.scalar(select(func.count()).where(OutboxMessage.kind == RATING_QUESTION))
            or 0
        )


async def only_order(shop: Shop, user_id: int) -> Order:
    async with shop.session_factory() as session:
        (order,), _total = await orders.orders_of_user(session, user_id, limit=2)
    return order


async def ask_service(shop: Shop, conversation_id: int, user_id: int, staff_id: int | None) -> bool:
    """What the conversation-closing use case does, in the shop's process (whose commit
    delivers the question)."""
    assert shop.runtime is not None
    async with shop.runtime.session_factory() as session:
        return await ratings.ask_service_rating(session, conversation_id, user_id, staff_id)


async def test_a_delivered_order_is_rated_once_with_a_comment(
    admin_shop: Shop, catalogue: Catalogue
) -> None:
    owner = admin_shop.emulator.user(ADMIN, "Хозяйка")
    anna = await check_out(admin_shop, 1501, "TS-01")
    order = await only_order(admin_shop, 1501)
    await owner.press("→ подтверждён")
    await owner.press("→ отправлен")
    assert not any(text.startswith("⭐") for text in anna.texts())  # not before the end
    await owner.press("→ доставлен")

    question = anna.last
    assert question["text"].startswith(ORDER_QUESTION.format(number=order.number))
    assert buttons(question) == SCORES
    assert "доставлен" in anna.texts()[-2]  # after the status message

    await anna.press("4 ⭐", message=question)
    rated = anna.history[question["message_id"]]
    assert rated["text"].startswith(f"Спасибо! Ваша оценка заказа №{order.number}: ⭐⭐⭐⭐ 4/5.")
    assert "Напишите отзыв одним сообщением" in rated["text"]
    assert buttons(rated) == ["Пропустить"]
    await anna.send_text("Всё пришло быстро, <спасибо>!")
    assert anna.last["text"] == "✅ Спасибо за отзыв!"

    # A second tap (another device still shows the buttons) changes nothing.
    stale = RatingCb(
        rating_id=(await the_rating(admin_shop, RatingKind.ORDER, order.id)).id, score=1
    )
    answer = await anna.press_data(stale.pack(), message=question)
    assert answer is not None and answer.text == "Вы уже поставили оценку. Спасибо!"
    rating = await the_rating(admin_shop, RatingKind.ORDER, order.id)
    assert rating.score == 4 and rating.comment == "Всё пришло быстро, <спасибо>!"
    assert rating.user_id == 1501 and rating.staff_id is None

    # A text typed now is no comment any more: it goes where any text goes.
    await anna.send_text("футболка")
    assert (await the_rating(admin_shop, RatingKind.ORDER, order.id)).comment == rating.comment

    # Refunded after delivery, delivered orders asked again by a retry: never a second ask.
    async with admin_shop.session_factory() as session:
        await orders.transition(session, order.id, OrderStatus.REFUNDED, actor="test")
        async with unit_of_work(session):
            assert not await ratings.ask_order_rating(session, order.id, 1501)
    assert await questions_recorded(admin_shop) == 1
    assert admin_shop.emulator.errors == [], [
        (e.method, e.params) for e in admin_shop.emulator.errors
    ]


async def test_skip_ends_the_comment_and_late_or_forged_taps_change_nothing(
    admin_shop: Shop, catalogue: Catalogue
) -> None:
    owner = admin_shop.emulator.user(ADMIN, "Хозяйка")
    boris = await check_out(admin_shop, 1511, "TS-02")
    await deliver_latest_order(admin_shop, owner)
    question = boris.last
    await boris.press("2 ⭐", message=question)
    await boris.press("Пропустить")
    thanked = boris.history[question["message_id"]]
    assert thanked["text"].endswith("⭐⭐ 2/5.") and buttons(thanked) == []
    await boris.send_text("кружка")  # no longer taken as a comment
    order = await only_order(admin_shop, 1511)
    rating = await the_rating(admin_shop, RatingKind.ORDER, order.id)
    assert rating.score == 2 and rating.comment is None

    # Someone else's question: the buttons carry only its id, which is not theirs.
    vera = admin_shop.emulator.user(1512, "Вера")
    await vera.send_text("/start")
    forged = RatingCb(rating_id=rating.id, score=5).pack()
    answer = await vera.press_data(forged, message=vera.last)
    assert answer is not None and answer.text == "Эта кнопка устарела." and answer.show_alert
    answer = await vera.press_data(RatingSkipCb(rating_id=rating.id).pack(), message=vera.last)
    assert answer is not None and answer.text == "Эта кнопка устарела."
    # A score out of range, or no such question at all.
    answer = await boris.press_data(f"rt:{rating.id}:9", message=question)
    assert answer is not None and "устарела" in (answer.text or "")
    answer = await boris.press_data(RatingCb(rating_id=99999, score=3).pack(), message=question)
    assert answer is not None and answer.text == "Эта кнопка устарела."
    assert (await the_rating(admin_shop, RatingKind.ORDER, order.id)).score == 2
    assert admin_shop.emulator.errors == [], [
        (e.method, e.params) for e in admin_shop.emulator.errors
    ]


async def test_a_low_service_rating_relays_what_went_wrong_to_the_staff(
    admin_shop: Shop,
) -> None:
    owner = admin_shop.emulator.user(ADMIN, "Хозяйка")
    gleb = admin_shop.emulator.user(1521, "Глеб", username="gleb_k")
    await gleb.send_text("/start")
    assert await ask_service(admin_shop, 77, 1521, ADMIN)
    assert not await ask_service(admin_shop, 77, 1521, ADMIN)  # the close repeated: once
    question = gleb.last
    assert question["text"] == SERVICE_QUESTION and buttons(question) == SCORES
    assert await questions_recorded(admin_shop) == 1

    await gleb.press("2 ⭐", message=question)
    asked = gleb.history[question["message_id"]]
    assert asked["text"].startswith("Спасибо! Ваша оценка нашей помощи: ⭐⭐ 2/5.")
    assert "Что пошло не так?" in asked["text"] and buttons(asked) == ["Пропустить"]
    alert = owner.last["text"]
    assert alert.startswith("⚠ Низкая оценка поддержки: ⭐⭐ 2/5 (разговор №77)")
    assert "Отвечал(а): Хозяйка (id 900)" in alert and "Глеб, @gleb_k (id 1521)" in alert

    await gleb.send_text("Ответили только через два дня & не по делу")
    assert gleb.last["text"] == "✅ Спасибо: магазин это прочитает."
    relayed = owner.last
    assert "Что пошло не так, словами покупателя:" in relayed["text"]
    assert "Ответили только через два дня &amp; не по делу" in relayed["html_text"]

    # A rating of 4–5 thanks and asks nothing more; nobody is alerted.
    alerts = len(owner.messages)
    assert await ask_service(admin_shop, 78, 1521, ADMIN)
    await gleb.press("5 ⭐")
    assert gleb.last["text"] == "Спасибо! Ваша оценка нашей помощи: ⭐⭐⭐⭐⭐ 5/5."
    assert buttons(gleb.last) == []
    await gleb.send_text("ещё вопрос")  # not a comment
    assert (await the_rating(admin_shop, RatingKind.SERVICE, 78)).comment is None
    assert len(owner.messages) == alerts
    assert admin_shop.emulator.errors == [], [
        (e.method, e.params) for e in admin_shop.emulator.errors
    ]


async def test_the_question_speaks_english_and_a_blocked_shopper_is_not_asked(
    admin_shop: Shop,
) -> None:
    john = admin_shop.emulator.user(1531, "John", language_code="en")
    await john.send_text("/start")
    await ask_service(admin_shop, 90, 1531, None)
    assert john.last["text"] == (
        "⭐ How did we help you? Rate the conversation from 1 (bad) to 5 (excellent):"
    )
    await john.press("1 ⭐")
    assert "What went wrong?" in john.last["text"] and buttons(john.last) == ["Skip"]
    await john.press("Skip")
    assert john.last["text"] == "Thank you! Your rating of our help: ⭐ 1/5."

    dina = admin_shop.emulator.user(1532, "Дина")
    await dina.send_text("/start")
    dina.block_bot()
    before = len(dina.messages)
    await ask_service(admin_shop, 91, 1532, ADMIN)
    assert len(dina.messages) == before
    async with admin_shop.session_factory() as session:
        given_up = await session.scalar(
            select(OutboxMessage.given_up_at)
            .where(OutboxMessage.kind == RATING_QUESTION)
            .order_by(OutboxMessage.id.desc())
        )
    assert given_up is not None


async def test_stats_show_the_ratings_and_the_lowest_are_one_tap_away(
    admin_shop: Shop, catalogue: Catalogue
) -> None:
    owner = admin_shop.emulator.user(ADMIN, "Хозяйка")
    anna = await check_out(admin_shop, 1541, "TS-03")
    await deliver_latest_order(admin_shop, owner)
    await anna.press("5 ⭐")
    boris = await check_out(admin_shop, 1542, "TS-04")
    await deliver_latest_order(admin_shop, owner)
    await boris.press("3 ⭐")
    await boris.send_text("Пакет порвался")
    gleb = admin_shop.emulator.user(1543, "Глеб")
    await gleb.send_text("/start")
    for conversation, score in ((201, "1 ⭐"), (202, "4 ⭐"), (203, "5 ⭐")):
        await ask_service(admin_shop, conversation, 1543, ADMIN)
        await gleb.press(score)
    await ask_service(admin_shop, 204, 1543, None)  # asked, never answered: not counted

    await owner.send_text("/stats")
    stats = owner.last
    assert "Оценки за 30 дней" in stats["text"]
    assert "Заказы: оценок 2, средняя 4,0, на 4–5: 50%" in stats["text"]
    assert "Поддержка: оценок 3, CSAT (доля 4–5) 67%, средняя 3,3" in stats["text"]
    assert "• Хозяйка: оценок 3, CSAT 67%, средняя 3,3" in stats["text"]
    assert buttons(stats) == ["⭐ Самые низкие оценки"]

    await owner.press("⭐ Самые низкие оценки", message=stats)
    lowest = owner.last["text"].split("\n")
    assert lowest[0] == "⭐ Самые низкие оценки за 30 дней"
    assert lowest[2].startswith("⭐ 1/5 — поддержка, разговор №201, Глеб (id 1543), ")
    assert lowest[3].startswith("⭐⭐⭐ 3/5 — заказ №")
    assert lowest[3].endswith(": «Пакет порвался»")
    assert len(lowest) == 4  # 4 and 5 are not low

    # A shopper cannot have the owner's figures.
    answer = await anna.press_data("arl:30", message=anna.last)
    assert answer is not None and "устарела" in (answer.text or "")
    assert admin_shop.emulator.errors == [], [
        (e.method, e.params) for e in admin_shop.emulator.errors
    ]


async def test_a_tap_in_the_middle_of_a_checkout_does_not_end_it(
    admin_shop: Shop, catalogue: Catalogue
) -> None:
    owner = admin_shop.emulator.user(ADMIN, "Хозяйка")
    anna = await check_out(admin_shop, 1551, "TS-05")
    await deliver_latest_order(admin_shop, owner)
    question = anna.last
    await check_out(admin_shop, 1551, "TS-06", confirm=False)  # at the summary's Confirm
    await anna.press("3 ⭐", message=question)
    rated = anna.history[question["message_id"]]
    assert rated["text"] == "Спасибо! Ваша оценка заказа №1001: ⭐⭐⭐ 3/5."
    assert buttons(rated) == []
    await anna.press("✅ Подтвердить")
    assert "оформлен" in anna.last["text"]
    async with admin_shop.session_factory() as session:
        _placed, total = await orders.orders_of_user(session, 1551, limit=5)
    assert total == 2
