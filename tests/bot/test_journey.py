"""A shopper's journeys through the real dispatcher, over real HTTP to the Bot API emulator."""

from __future__ import annotations

import asyncio
import os

import pytest
from aiogram.fsm.storage.redis import RedisStorage
from redis.asyncio import Redis
from sqlalchemy import event, func, select, update

from shopbot.bot.callbacks import CartAction, CartCb, OrdersAction, OrdersCb
from shopbot.emulators.telegram import EmulatedUser
from shopbot.models import CartLine, Order, OrderStatus, Product, ProductImage
from shopbot.services import cart
from tests.bot.conftest import Catalogue, Shop, ShopFactory, check_out
from tests.factories import make_product, make_user


def buttons(message: dict) -> list[str]:
    markup = message.get("reply_markup") or {}
    return [button["text"] for row in markup.get("inline_keyboard", []) for button in row]


async def stock_of(shop: Shop, sku: str) -> int:
    async with shop.session_factory() as session:
        return await session.scalar(select(Product.stock).where(Product.sku == sku))


async def test_start_greets_shows_menu_and_registers_commands(shop: Shop) -> None:
    anna = shop.emulator.user(101, "Анна")
    await anna.send_text("/start")
    assert "Здравствуйте, Анна!" in anna.last["text"]
    menu = [button["text"] for row in anna.reply_keyboard["keyboard"] for button in row]
    assert menu == ["🛍 Каталог", "🛒 Корзина", "📦 Заказы", "🔍 Поиск", "❓ Помощь"]
    commands = shop.emulator.commands
    ru = [c["command"] for c in commands[("default", "")]]
    assert ru == [
        "start",
        "catalog",
        "search",
        "cart",
        "favorites",
        "orders",
        "help",
        "support",
        "cancel",
    ]
    assert commands[("default", "en")][1]["description"] == "Catalogue"
    assert commands[("default", "")][1]["description"] == "Каталог"
    assert shop.emulator.errors == [], [(e.method, e.params) for e in shop.emulator.errors]


async def test_whole_journey_from_start_to_a_placed_order(shop: Shop, catalogue: Catalogue) -> None:
    anna = shop.emulator.user(101, "Анна", last_name="Петрова")
    await anna.send_text("/start")
    await anna.press("🛍 Каталог")
    listing = anna.last
    assert "Выберите категорию" in listing["text"]
    assert buttons(listing) == ["📁 Кружки (2)", "📁 Одежда (12)", "♥ Избранное"]

    sent_before = len(anna.messages)
    await anna.press("📁 Одежда (12)")
    await anna.press("📁 Футболки (12)")
    assert len(anna.messages) == sent_before  # navigation edits the same message
    page = anna.last
    assert "Футболки" in page["text"] and "12 товаров" in page["text"]
    assert "1/2" in buttons(page) and "▶" in buttons(page) and "◀" not in buttons(page)
    await anna.press("▶")
    assert "2/2" in buttons(anna.last) and "◀" in buttons(anna.last)
    await anna.press("1 · 1\u00a0299\u00a0₽ · Футболка 09")

    card = anna.last
    assert "<b>Футболка 09</b>" in card["html_text"]
    assert "1\u00a0299\u00a0₽" in card["text"] and "В наличии: 5 шт." in card["text"]
    answer = await anna.press("🛒 В корзину")
    assert answer is not None and answer.text == "Добавлено в корзину ✅"
    await anna.press("🛒 В корзине: 1 · ➕")
    assert "🛒 В корзине: 2 · ➕" in buttons(anna.last)
    await anna.press("✅ К корзине")
    assert "Футболка 09 × 2 = 2\u00a0598\u00a0₽" in anna.last["text"]
    assert "Итого: 2\u00a0598\u00a0₽" in anna.last["text"]

    await anna.press("✅ Оформить заказ")
    assert "На какое имя оформить заказ?" in anna.last["text"]
    await anna.press("Анна Петрова")
    assert any(
        button.get("request_contact") for row in anna.reply_keyboard["keyboard"] for button in row
    )
    await anna.share_contact("+7 900 123-45-67")
    assert "Как вы хотите получить заказ?" in anna.last["text"]
    await anna.press("🚚 Курьером")
    await anna.send_text("Москва, ул. Ленина, д. 1, кв. 2")
    await anna.press("Пропустить")
    summary = anna.last["text"]
    assert "Проверьте заказ" in summary and "Телефон: +79001234567" in summary
    assert "Адрес: Москва, ул. Ленина, д. 1, кв. 2" in summary
    await anna.press("✅ Подтвердить")
    assert "Заказ №1001 на 2\u00a0598\u00a0₽ оформлен" in anna.last["text"]

    async with shop.session_factory() as session:
        order = await session.scalar(select(Order))
        assert order is not None and order.status is OrderStatus.AWAITING_CONFIRMATION
        assert (order.contact_name, order.contact_phone) == ("Анна Петрова", "+79001234567")
        assert order.delivery_address == "Москва, ул. Ленина, д. 1, кв. 2"
        assert (await cart.get_cart(session, 101)).is_empty
    assert await stock_of(shop, "TS-09") == 3

    await anna.send_text("/orders")
    assert "Ваши заказы" in anna.last["text"]
    await anna.press(buttons(anna.last)[0])
    assert "Заказ №1001" in anna.last["text"] and "ожидает подтверждения" in anna.last["text"]
    assert shop.emulator.errors == [], [(e.method, e.params) for e in shop.emulator.errors]


async def test_photos_are_uploaded_once_then_sent_by_file_id(
    shop: Shop, catalogue: Catalogue
) -> None:
    for user_id in (201, 202):
        shopper = shop.emulator.user(user_id, "Олег")
        await shopper.send_text("/catalog")
        await shopper.press("📁 Кружки (2)")
        await shopper.press("1 · 490\u00a0₽ · Кружка «Утро»")
        assert shopper.last.get("photo"), "the card is a photo"
        assert "микроволновку" in shopper.last["caption"]
    assert shop.emulator.upload_count == 1
    assert shop.emulator.count("sendPhoto") == 2
    # The upload went as a multipart form with the file; the second card names its file_id.
    photos = [call for call in shop.emulator.calls if call.method == "sendPhoto"]
    assert [call.content_type == "multipart/form-data" for call in photos] == [True, False]
    async with shop.session_factory() as session:
        file_id = await session.scalar(select(ProductImage.telegram_file_id))
    assert file_id is not None and photos[1].params["photo"] == file_id
    assert shop.emulator.errors == [], [(e.method, e.params) for e in shop.emulator.errors]


async def test_deep_link_opens_a_product(shop: Shop, catalogue: Catalogue) -> None:
    ivan = shop.emulator.user(301, "Иван")
    await ivan.send_text("/start p_MUG-1")
    assert ivan.last.get("photo") and "Кружка «Утро»" in ivan.last["caption"]
    await ivan.press("🛒 В корзину")
    assert "🛒 В корзине: 1 · ➕" in buttons(ivan.last)
    await ivan.send_text("/start p_NOPE")
    assert "больше недоступен" in ivan.last["text"]
    await ivan.send_text("/start p_MUG-H")
    assert "больше недоступен" in ivan.last["text"]
    assert shop.emulator.errors == [], [(e.method, e.params) for e in shop.emulator.errors]


def transactions_of(shop: Shop) -> list[list[str]]:
    """The first word of each statement, per committed or rolled-back transaction."""
    assert shop.runtime is not None
    engine = shop.runtime.engine.sync_engine
    done: list[list[str]] = []
    running: dict[int, list[str]] = {}

    def statement(connection: object, _cursor: object, sql: str, *_rest: object) -> None:
        running.setdefault(id(connection), []).append(sql.split()[0].upper())

    def end(connection: object) -> None:
        done.append(running.pop(id(connection), []))

    event.listen(engine, "before_cursor_execute", statement)
    event.listen(engine, "commit", end)
    event.listen(engine, "rollback", end)
    return done


async def test_a_press_in_the_cart_is_one_unit_of_work(shop: Shop, catalogue: Catalogue) -> None:
    """ "+" on one line while another line's stock fell: the change and the cart brought in
    line with the shop commit together, or not at all."""
    olga = shop.emulator.user(402, "Ольга")
    await olga.send_text("/start p_MUG-1")
    await olga.press("🛒 В корзину")
    await olga.send_text("/start p_TS-01")
    await olga.press("🛒 В корзину")
    await olga.press("🛒 В корзине: 1 · ➕")
    await olga.send_text("/cart")
    async with shop.session_factory() as session:
        await session.execute(update(Product).where(Product.sku == "TS-01").values(stock=1))
        await session.commit()

    transactions = transactions_of(shop)
    await olga.press("➕ 1")  # the first line's: the mug
    writes = [t for t in transactions if {"INSERT", "UPDATE", "DELETE"} & set(t)]
    assert len(writes) == 1, transactions
    text = olga.last["text"]
    assert "Футболка 01: осталось только 1 шт., количество уменьшено" in text
    assert "1. Кружка «Утро» × 2 = 980\u00a0₽" in text
    assert buttons(olga.last)[:8] == [
        "➖ 1",
        "1 × 2",
        "➕ 1",
        "✖ 1",
        "➖ 2",
        "2 × 1",
        "➕ 2",
        "✖ 2",
    ]
    async with shop.session_factory() as session:
        lines = dict((await session.execute(select(CartLine.product_id, CartLine.quantity))).all())
    assert sorted(lines.values()) == [1, 2]


async def test_cart_edge_cases(shop: Shop, catalogue: Catalogue) -> None:
    olga = shop.emulator.user(401, "Ольга")
    await olga.send_text("/start p_MUG-1")
    await olga.press("🛒 В корзину")
    await olga.press("🛒 В корзине: 1 · ➕")
    await olga.press("🛒 В корзине: 2 · ➕")
    answer = await olga.press("🛒 В корзине: 3 · ➕")
    assert answer is not None
    assert answer.text == "Больше нет в наличии: в корзине уже 3 шт., это весь остаток."
    await olga.send_text("/start p_TS-01")
    await olga.press("🛒 В корзину")

    async with shop.session_factory() as session:
        await session.execute(update(Product).where(Product.sku == "MUG-1").values(stock=1))
        await session.execute(update(Product).where(Product.sku == "TS-01").values(active=False))
        await session.commit()
    await olga.send_text("/cart")
    text = olga.last["text"]
    assert "Кружка «Утро»: осталось только 1 шт., количество уменьшено" in text
    assert "Футболка 01: больше не продаётся, убрали из корзины" in text
    assert "Итого: 490\u00a0₽" in text

    await olga.press("➖ 1")
    assert "Корзина пуста" in olga.last["text"]
    await olga.send_text("/start p_MUG-1")
    await olga.press("🛒 В корзину")
    await olga.send_text("/cart")
    await olga.press("🧹 Очистить")
    await olga.press("🧹 Да, очистить")
    assert "Корзина пуста" in olga.last["text"]
    assert shop.emulator.errors == [], [(e.method, e.params) for e in shop.emulator.errors]


async def test_a_full_cart_says_so_and_still_fits_one_message(
    shop: Shop, catalogue: Catalogue
) -> None:
    long_name = "Футболка с очень длинным названием, " * 7  # 252 characters
    async with shop.session_factory() as session:
        extra = [
            await make_product(session, f"{long_name}№{n}", sku=f"LONG-{n}", stock=5)
            for n in range(cart.MAX_CART_LINES)
        ]
        await make_user(session, 402)
        for product in extra[:-1]:
            await cart.add(session, 402, product.id)
    vera = shop.emulator.user(402, "Вера")
    await vera.send_text("/start p_MUG-1")
    await vera.press("🛒 В корзину")  # the twentieth line
    await vera.send_text(f"/start p_{extra[-1].sku}")
    answer = await vera.press("🛒 В корзину")
    assert answer is not None and answer.show_alert
    assert answer.text == (
        "В корзине уже столько разных товаров, сколько можно заказать за раз (20). "
        "Оформите заказ или уберите что-нибудь из корзины."
    )

    await vera.send_text("/cart")
    assert vera.last["text"].count("…") == cart.MAX_CART_LINES - 1  # long names are cut
    assert "20. Кружка «Утро» × 1 = 490 ₽" in vera.last["text"]
    await vera.press("✅ Оформить заказ")
    assert shop.emulator.errors == [], [(e.method, e.params) for e in shop.emulator.errors]


async def begin_checkout(shop: Shop, user_id: int, sku: str) -> EmulatedUser:
    """A shopper with one unit of ``sku`` in the cart, in checkout, having given a name."""
    shopper = shop.emulator.user(user_id, "Пётр")
    await shopper.send_text(f"/start p_{sku}")
    await shopper.press("🛒 В корзину")
    await shopper.send_text("/cart")
    await shopper.press("✅ Оформить заказ")
    await shopper.send_text("Пётр")
    return shopper


async def test_checkout_survives_a_restart(shop: Shop, catalogue: Catalogue) -> None:
    petr = await begin_checkout(shop, 501, "TS-02")

    await shop.restart()

    await petr.send_text("+7 900 765 43 21")
    assert "Как вы хотите получить заказ?" in petr.last["text"]
    await petr.press("🏬 Самовывоз")
    await petr.press("Пропустить")
    await petr.press("✅ Подтвердить")
    assert "оформлен" in petr.last["text"]
    assert shop.emulator.errors == [], [(e.method, e.params) for e in shop.emulator.errors]


async def test_cancel_leaves_checkout_and_keeps_the_cart(shop: Shop, catalogue: Catalogue) -> None:
    petr = shop.emulator.user(502, "Пётр")
    await petr.send_text("/start p_TS-03")
    await petr.press("🛒 В корзину")
    await petr.send_text("/cart")
    await petr.press("✅ Оформить заказ")
    await petr.send_text("/cancel")
    assert "Оформление отменено. Корзина сохранена." in petr.last["text"]
    await petr.send_text("Пётр")  # no longer taken for a name: searched for, found nothing
    assert "По запросу «Пётр» я ничего не нашёл" in petr.last["text"]
    async with shop.session_factory() as session:
        assert (await cart.get_cart(session, 502)).count == 1
    assert shop.emulator.errors == [], [(e.method, e.params) for e in shop.emulator.errors]


async def test_double_tap_on_confirm_places_one_order(shop: Shop, catalogue: Catalogue) -> None:
    petr = await check_out(shop, 601, "TS-04", confirm=False)
    summary = petr.last
    await asyncio.gather(
        petr.press("✅ Подтвердить", message=summary),
        petr.press("✅ Подтвердить", message=summary),
    )
    async with shop.session_factory() as session:
        assert await session.scalar(select(func.count()).select_from(Order)) == 1
    assert await stock_of(shop, "TS-04") == 4
    assert shop.emulator.errors == [], [(e.method, e.params) for e in shop.emulator.errors]


async def test_forged_callbacks_cannot_touch_another_shoppers_things(
    shop: Shop, catalogue: Catalogue
) -> None:
    victim = await check_out(shop, 701, "TS-05")
    await victim.send_text("/start p_MUG-1")
    await victim.press("🛒 В корзину")
    async with shop.session_factory() as session:
        order_id = await session.scalar(select(Order.id))
        mug_id = await session.scalar(select(Product.id).where(Product.sku == "MUG-1"))

    attacker = shop.emulator.user(702, "Мэллори")
    await attacker.send_text("/orders")
    bait = attacker.last
    answer = await attacker.press_data(
        OrdersCb(action=OrdersAction.SHOW, order_id=order_id).pack(), message=bait
    )
    assert answer is not None and answer.text == "Заказ не найден."
    assert "Заказ №" not in attacker.last["text"]
    await attacker.press_data(
        CartCb(action=CartAction.REMOVE, product_id=mug_id).pack(), message=bait
    )
    await attacker.press_data(CartCb(action=CartAction.INC, product_id=mug_id).pack(), message=bait)
    answer = await attacker.press_data("c:zz:garbage", message=bait)
    assert answer is not None and "устарела" in answer.text
    async with shop.session_factory() as session:
        lines = (await session.execute(select(CartLine.user_id, CartLine.quantity))).all()
    # The victim's cart is untouched; a "+" for a line the attacker does not have is stale.
    assert lines == [(701, 1)]
    assert shop.emulator.errors == [], [(e.method, e.params) for e in shop.emulator.errors]


async def test_search_and_unknown_text(shop: Shop, catalogue: Catalogue) -> None:
    vera = shop.emulator.user(801, "Вера")
    await vera.send_text("/start")
    await vera.send_text("/search КРУЖКА")
    assert "Найдено по запросу «КРУЖКА»: 2" in vera.last["text"]
    assert buttons(vera.last) == [
        "1 · 490\u00a0₽ · Кружка «Утро»",
        "2 · ⛔ 1\u00a0299\u00a0₽ · Кружка распродана",
    ]
    await vera.press("1 · 490\u00a0₽ · Кружка «Утро»")
    assert vera.last.get("photo")
    await vera.send_text("/search самокат")
    assert "ничего не нашлось" in vera.last["text"]
    await vera.press("🔍 Поиск")
    assert "Что ищем?" in vera.last["text"]
    await vera.send_text("футболка 07")
    assert buttons(vera.last) == ["1 · 1\u00a0299\u00a0₽ · Футболка 07"]
    await vera.send_text("абракадабра")
    assert "я ничего не нашёл" in vera.last["text"]
    assert buttons(vera.last) == ["🛍 Открыть каталог", "Не нашли ответ? Написать менеджеру"]
    await vera.send_text("/help")
    assert "/catalog" in vera.last["text"]
    assert shop.emulator.errors == [], [(e.method, e.params) for e in shop.emulator.errors]


async def test_english_speakers_get_english(shop: Shop, catalogue: Catalogue) -> None:
    john = shop.emulator.user(901, "John", language_code="en")
    await john.send_text("/start")
    assert "Hello, John!" in john.last["text"]
    await john.press("🛍 Catalogue")
    assert "Choose a category" in john.last["text"]
    await john.send_text("/start p_TS-06")
    assert "In stock: 5" in john.last["text"]
    assert shop.emulator.errors == [], [(e.method, e.params) for e in shop.emulator.errors]


async def test_flood_control_is_waited_out(shop: Shop) -> None:
    anna = shop.emulator.user(1001, "Анна")
    shop.emulator.fail_next("sendMessage", error_code=429, retry_after=1)
    await anna.send_text("/start")
    assert "Здравствуйте" in anna.last["text"]
    assert shop.emulator.count("sendMessage") == 2


async def test_a_failing_handler_apologises_and_the_bot_goes_on(
    shop: Shop, catalogue: Catalogue, monkeypatch, caplog
) -> None:
    from shopbot.services import catalogue as catalogue_service

    async def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("database on fire")

    monkeypatch.setattr(catalogue_service, "browse", broken)
    anna = shop.emulator.user(1101, "Анна")
    await anna.send_text("/catalog")
    assert "что-то пошло не так" in anna.last["text"]
    assert any("failed" in record.message for record in caplog.records)
    monkeypatch.undo()
    await anna.send_text("/catalog")
    assert "Выберите категорию" in anna.last["text"]
    assert shop.emulator.errors == [], [(e.method, e.params) for e in shop.emulator.errors]


async def test_checkout_survives_a_restart_with_redis_storage(
    shop_factory: ShopFactory, catalogue: Catalogue
) -> None:
    redis_url = os.environ.get("SHOPBOT_TEST_REDIS_URL")
    if not redis_url:
        pytest.skip("SHOPBOT_TEST_REDIS_URL is not set (CI sets it)")
    redis = Redis.from_url(redis_url)
    shop = await shop_factory(redis_url=redis_url)
    assert isinstance(shop.dispatcher.storage, RedisStorage)
    ours = "fsm:503:503:*"  # this test's shopper's keys (chat, user); others' are left alone
    try:
        petr = await begin_checkout(shop, 503, "TS-07")
        assert [key async for key in redis.scan_iter(ours)]  # the step lives in Redis

        await shop.restart()

        await petr.send_text("+7 900 765 43 21")
        assert "Как вы хотите получить заказ?" in petr.last["text"]
    finally:
        keys = [key async for key in redis.scan_iter(ours)]
        if keys:
            await redis.delete(*keys)
        await redis.aclose()
    assert shop.emulator.errors == []
