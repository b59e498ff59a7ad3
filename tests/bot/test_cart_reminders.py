"""Forgotten carts end to end: one reminder per cart state to a subscriber whose cart sat
unchanged, with today's prices and stock and a button to the cart; never in the quiet
hours (postponed to their end), never to one who did not subscribe or blocked the bot;
the owner turns reminders off and on and sees in /stats how many led to an order — the real
dispatcher on the Bot API emulator, the job's pass run on a clock the test sets."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update

from shopbot.db import unit_of_work
from shopbot.emulators.telegram import EmulatedUser
from shopbot.models import CartReminder, ConsentSource, Product, User
from shopbot.services import marketing, reminders
from tests.bot.conftest import ADMIN, Catalogue, Shop, ShopFactory, buttons, check_out

NOON = datetime(2026, 12, 10, 9, 0, tzinfo=UTC)  # 12:00 in Moscow, days after the carts
NIGHT = datetime(2026, 12, 10, 20, 30, tzinfo=UTC)  # 23:30 in Moscow: quiet hours
MORNING = datetime(2026, 12, 11, 6, 5, tzinfo=UTC)  # 09:05 in Moscow: they are over
HEADLINE = "🛒 В вашей корзине остались товары"


async def remind_at(shop: Shop, now: datetime) -> None:
    """One pass of the reminder job at ``now``, as the job loop runs it (under its lock)."""
    assert shop.runtime is not None
    jobs = shop.runtime.jobs
    assert await jobs.run_pass("remind forgotten carts", lambda: jobs.remind(now))


async def subscriber_with_cart(shop: Shop, user_id: int, name: str, *skus: str) -> EmulatedUser:
    shopper = shop.emulator.user(user_id, name)
    await shopper.send_text("/subscribe")
    for sku in skus:
        await shopper.send_text(f"/start p_{sku}")
        await shopper.press("🛒 В корзину")
    return shopper


def reminders_to(shopper: EmulatedUser) -> list[dict]:
    """The reminders the bot sent ``shopper``, as they are now (the cart button turns one
    into the cart: count with :func:`sent_to`)."""
    return [message for message in shopper.messages if message.get("text", "").startswith(HEADLINE)]


def sent_to(shop: Shop, shopper: EmulatedUser) -> int:
    """How many reminders the bot sent ``shopper`` (as Telegram saw the requests)."""
    return sum(
        1
        for call in shop.emulator.calls
        if call.method == "sendMessage"
        and call.params.get("chat_id") == str(shopper.chat_id)
        and "В вашей корзине остались товары" in call.params.get("text", "")
    )


async def test_a_forgotten_cart_is_reminded_once_with_todays_prices_and_stock(
    shop: Shop, catalogue: Catalogue
) -> None:
    anna = await subscriber_with_cart(shop, 1601, "Анна", "TS-01", "MUG-1")
    await remind_at(shop, datetime.now(UTC) + timedelta(hours=23))  # not a day yet
    assert reminders_to(anna) == []
    # The price went down, a mug was sold meanwhile.
    async with shop.session_factory() as session, unit_of_work(session):
        await session.execute(update(Product).where(Product.sku == "TS-01").values(price=99900))
        await session.execute(update(Product).where(Product.sku == "MUG-1").values(stock=2))

    await remind_at(shop, NOON)
    (reminder,) = reminders_to(anna)
    assert reminder["text"].split("\n") == [
        HEADLINE,
        "",
        "1. Футболка 01 — 999\xa0₽ × 1 (в наличии: 5)",
        "2. Кружка «Утро» — 490\xa0₽ × 1 (в наличии: 2)",
        "",
        "Итого: 1\xa0489\xa0₽",
        "Цены и наличие — на сейчас; корзина ждёт вас.",
    ]
    assert buttons(reminder) == ["🛒 Открыть корзину", "🔕 Отписаться"]

    # Once per cart state: later passes, the next day, next week, remind no more.
    for later in (NOON + timedelta(hours=1), NOON + timedelta(days=1), NOON + timedelta(days=7)):
        await remind_at(shop, later)
    assert sent_to(shop, anna) == 1

    await anna.press("🛒 Открыть корзину", message=reminder)
    assert "Ваша корзина" in anna.history[reminder["message_id"]]["text"]

    # The cart changes: a new state, reminded again once it has sat a day in turn.
    await anna.send_text("/start p_TS-02")
    await anna.press("🛒 В корзину")
    await remind_at(shop, NOON + timedelta(days=8))  # sees the change
    assert sent_to(shop, anna) == 1
    await remind_at(shop, NOON + timedelta(days=8, hours=23))
    assert sent_to(shop, anna) == 1
    await remind_at(shop, NOON + timedelta(days=9))
    assert sent_to(shop, anna) == 2
    assert "Футболка 02" in anna.last["text"] and anna.last["text"].startswith(HEADLINE)
    assert shop.emulator.errors == [], [(e.method, e.params) for e in shop.emulator.errors]


async def test_quiet_hours_postpone_and_only_reachable_subscribers_are_reminded(
    shop: Shop, catalogue: Catalogue
) -> None:
    anna = await subscriber_with_cart(shop, 1611, "Анна", "TS-01")
    boris = shop.emulator.user(1612, "Борис")  # never subscribed
    await boris.send_text("/start p_TS-02")
    await boris.press("🛒 В корзину")
    vera = await subscriber_with_cart(shop, 1613, "Вера", "TS-03")
    await vera.send_text("/unsubscribe")  # took her consent back
    gleb = await subscriber_with_cart(shop, 1614, "Глеб", "TS-04")
    gleb.block_bot()  # not known yet: the reminder's 403 tells the shop
    dina = await subscriber_with_cart(shop, 1615, "Дина", "TS-05")
    await check_out(shop, 1615, "TS-06")  # ordered: the cart (with both) became the order

    await remind_at(shop, NIGHT)
    assert [reminders_to(someone) for someone in (anna, boris, vera, dina)] == [[]] * 4
    await remind_at(shop, MORNING)
    assert len(reminders_to(anna)) == 1
    assert reminders_to(boris) == reminders_to(vera) == reminders_to(dina) == []
    assert reminders_to(gleb) == []
    async with shop.session_factory() as session:
        blocked = await session.scalar(select(User.is_blocked).where(User.id == 1614))
        rows = (await session.execute(select(CartReminder.user_id, CartReminder.sent_at))).all()
    assert blocked is True
    assert sorted((user_id, sent is not None) for user_id, sent in rows) == [
        (1611, True),
        (1614, False),
    ]
    await remind_at(shop, MORNING + timedelta(days=2))  # an unreachable shopper: never again
    async with shop.session_factory() as session:
        assert len((await session.execute(select(CartReminder.id))).all()) == 2
    assert [(e.error_code, e.params["chat_id"]) for e in shop.emulator.errors] == [(403, "1614")]


async def test_unsubscribe_under_a_reminder_takes_one_tap(shop: Shop, catalogue: Catalogue) -> None:
    anna = await subscriber_with_cart(shop, 1621, "Анна", "TS-01")
    await remind_at(shop, NOON)
    (reminder,) = reminders_to(anna)
    await anna.press("🔕 Отписаться", message=reminder)
    assert anna.last["text"].startswith("🔕 Готово: новости и скидки больше присылать не будем.")
    async with shop.session_factory() as session:
        consent = await marketing.consent_of(session, 1621)
    assert consent.granted is False and consent.source is ConsentSource.PROMO_MESSAGE
    await anna.send_text("/start p_TS-02")  # a new cart state, but no consent any more
    await anna.press("🛒 В корзину")
    await remind_at(shop, NOON + timedelta(days=1))
    await remind_at(shop, NOON + timedelta(days=3))
    assert len(reminders_to(anna)) == 1


async def test_the_owner_turns_reminders_off_and_sees_what_they_brought(
    admin_shop: Shop, catalogue: Catalogue
) -> None:
    owner = admin_shop.emulator.user(ADMIN, "Хозяйка")
    await owner.send_text("/reminders")
    assert owner.last["text"].startswith("🔔 Напоминания о забытых корзинах включены")
    assert "не менялась 24 ч" in owner.last["text"] and "22:00-09:00" in owner.last["text"]
    await owner.send_text("/reminders off")
    assert owner.last["text"].startswith("🔕 Напоминания о забытых корзинах выключены.")
    await owner.send_text("/reminders maybe")
    assert owner.last["text"] == "Напишите /reminders on или /reminders off."

    anna = await subscriber_with_cart(admin_shop, 1631, "Анна", "TS-01")
    await remind_at(admin_shop, NOON)
    assert reminders_to(anna) == []
    await owner.send_text("/stats")
    assert "Напоминания выключены (/reminders on)." in owner.last["text"]

    await owner.send_text("/reminders on")
    await remind_at(admin_shop, NOON)
    assert len(reminders_to(anna)) == 1
    boris = await subscriber_with_cart(admin_shop, 1632, "Борис", "TS-02")
    await remind_at(admin_shop, NOON + timedelta(hours=1))
    assert len(reminders_to(boris)) == 1

    await anna.press("🛒 Открыть корзину")
    await anna.press("✅ Оформить заказ")
    await anna.send_text("Анна")
    await anna.send_text("8 (900) 765-43-21")
    await anna.press("🏬 Самовывоз")
    await anna.send_text("Без комментариев")
    await anna.press("✅ Подтвердить")
    await owner.send_text("/stats")
    assert (
        "🛒 Забытые корзины: напоминаний отправлено 2, после них заказали в течение 72 ч: 1"
        in owner.last["text"]
    )
    assert "Напоминания выключены" not in owner.last["text"]

    # A shopper's /reminders is no admin command.
    await anna.send_text("/reminders off")
    async with admin_shop.session_factory() as session:
        assert not await reminders.paused(session)
    assert admin_shop.emulator.errors == [], [
        (e.method, e.params) for e in admin_shop.emulator.errors
    ]


async def test_no_hours_means_no_reminders(shop_factory: ShopFactory, catalogue: Catalogue) -> None:
    shop = await shop_factory(admin_ids=[ADMIN], abandoned_cart_hours=0)
    owner = shop.emulator.user(ADMIN, "Хозяйка")
    await owner.send_text("/reminders")
    assert owner.last["text"] == (
        "Напоминания о забытых корзинах выключены в настройках (ABANDONED_CART_HOURS=0)."
    )
    await owner.send_text("/stats")
    assert "Напоминания выключены в настройках (ABANDONED_CART_HOURS=0)." in owner.last["text"]
    anna = await subscriber_with_cart(shop, 1641, "Анна", "TS-01")
    await remind_at(shop, NOON)
    assert sent_to(shop, anna) == 0


async def test_the_reminder_speaks_the_shoppers_language(shop: Shop, catalogue: Catalogue) -> None:
    john = shop.emulator.user(1651, "John", language_code="en")
    await john.send_text("/subscribe")
    await john.send_text("/start p_MUG-1")
    await john.press("🛒 Add to cart")
    await remind_at(shop, NOON)
    assert john.last["text"].split("\n")[0] == "🛒 You left something in your cart"
    assert "Кружка «Утро» — 490\xa0₽ × 1 (in stock: 3)" in john.last["text"]
    assert buttons(john.last) == ["🛒 Open the cart", "🔕 Unsubscribe"]
