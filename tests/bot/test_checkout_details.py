"""Checkout and cart details a shopper meets: double taps, fast taps, clearing the cart,
the address step, and delivery options with prices."""

from __future__ import annotations

import asyncio
import csv
import io
import json

from sqlalchemy import func, select

from shopbot.emulators.telegram import EmulatedUser
from shopbot.emulators.yookassa import YooKassaEmulator
from shopbot.models import DeliveryMethod, Order, OrderStatus, Product
from shopbot.services import cart
from shopbot.services.delivery import DeliveryOption
from tests.bot.conftest import ADMIN, Catalogue, Shop, ShopFactory, buttons
from tests.bot.test_journey import begin_checkout
from tests.factories import make_user


async def test_a_too_long_address_is_called_too_long(shop: Shop, catalogue: Catalogue) -> None:
    petr = await begin_checkout(shop, 701, "TS-01")
    await petr.send_text("+7 900 765 43 21")
    await petr.press("🚚 Курьером")
    await petr.send_text("Москва, ул. Ленина, д. 1, " + "к" * 480)
    assert petr.last["text"] == (
        "Адрес слишком длинный: можно не больше 500 символов (сейчас 506). "
        "Сократите его, пожалуйста."
    )
    await petr.send_text("Мск")
    assert petr.last["text"] == "Введите полный адрес (город, улица, дом)."
    await petr.send_text("Москва, ул. Ленина, д. 1")
    assert petr.last["text"] == "Комментарий для магазина? Напишите его или пропустите."
    assert shop.emulator.errors == [], [(e.method, e.params) for e in shop.emulator.errors]


async def test_checkout_pressed_twice_asks_once(shop: Shop, catalogue: Catalogue) -> None:
    petr = shop.emulator.user(702, "Пётр")
    await petr.send_text("/start p_TS-01")
    await petr.press("🛒 В корзину")
    await petr.send_text("/cart")
    cart_message = petr.last
    await petr.press("✅ Оформить заказ", message=cart_message)
    answer = await petr.press("✅ Оформить заказ", message=cart_message)
    assert answer is not None and not answer.show_alert
    assert answer.text == "Заказ уже оформляется — ответьте, пожалуйста, на вопрос ниже."
    await asyncio.gather(
        petr.press("✅ Оформить заказ", message=cart_message),
        petr.press("✅ Оформить заказ", message=cart_message),
    )
    prompts = [text for text in petr.texts() if "На какое имя оформить заказ?" in text]
    assert len(prompts) == 1
    await petr.send_text("Пётр")
    await petr.press("✅ Оформить заказ", message=cart_message)  # still the same checkout
    assert petr.last["text"].startswith("Ваш номер телефона?")

    await petr.send_text("/cart")  # a fresh cart message: checkout starts over from it
    await petr.press("✅ Оформить заказ")
    assert "На какое имя оформить заказ?" in petr.last["text"]
    assert shop.emulator.errors == [], [(e.method, e.params) for e in shop.emulator.errors]


async def test_clearing_the_cart_asks_first(shop: Shop, catalogue: Catalogue) -> None:
    olga = shop.emulator.user(703, "Ольга")
    await olga.send_text("/start p_TS-01")
    await olga.press("🛒 В корзину")
    await olga.send_text("/start p_MUG-1")
    await olga.press("🛒 В корзину")
    await olga.send_text("/cart")
    sent = len(olga.messages)
    await olga.press("🧹 Очистить")
    assert olga.last["text"] == "🧹 Очистить корзину? Сейчас в ней 2 товара на 1\u00a0789\u00a0₽."
    assert buttons(olga.last) == ["🧹 Да, очистить", "Нет"]
    await olga.press("Нет")
    assert "Итого: 1\u00a0789\u00a0₽" in olga.last["text"]
    async with shop.session_factory() as session:
        assert (await cart.get_cart(session, 703)).count == 2
    await olga.press("🧹 Очистить")
    answer = await olga.press("🧹 Да, очистить")
    assert answer is not None and answer.text == "Корзина очищена"
    assert "Корзина пуста" in olga.last["text"]
    assert len(olga.messages) == sent  # all in the cart's own message
    async with shop.session_factory() as session:
        assert (await cart.get_cart(session, 703)).is_empty
    assert shop.emulator.errors == [], [(e.method, e.params) for e in shop.emulator.errors]


async def test_fast_taps_on_add_show_the_count_and_stop_at_stock(
    shop: Shop, catalogue: Catalogue
) -> None:
    """Taps quicker than the card's edits reach the phone all carry "В корзину" (the
    button the shopper still sees): each adds one, the card shows the count at once, and
    the tap beyond stock says there is no more."""
    olga = shop.emulator.user(704, "Ольга")
    await olga.send_text("/start p_TS-01")  # five in stock
    card = olga.last
    add = olga.button("🛒 В корзину", message=card)["callback_data"]
    answers = [await olga.press_data(add, message=card) for _ in range(6)]
    assert "🛒 В корзине: 5 · ➕" in buttons(olga.last)
    assert [answer.text for answer in answers if answer is not None][-1] == (
        "Больше нет в наличии: в корзине уже 5 шт., это весь остаток."
    )
    async with shop.session_factory() as session:
        assert (await cart.get_cart(session, 704)).count == 5
    answer = await olga.press("🛒 В корзине: 5 · ➕")
    assert answer is not None and answer.text.startswith("Больше нет в наличии")
    await olga.press("➖")
    assert "🛒 В корзине: 4 · ➕" in buttons(olga.last)
    await olga.press("✅ К корзине")
    assert "Футболка 01 × 4" in olga.last["text"]
    await olga.press("➕ 1")
    answer = await olga.press("➕ 1")  # in the cart too
    assert answer is not None
    assert answer.text == "Больше нет в наличии: в корзине уже 5 шт., это весь остаток."
    assert shop.emulator.errors == [], [(e.method, e.params) for e in shop.emulator.errors]


OPTIONS = json.dumps(
    [
        {
            "id": "pokrovka",
            "kind": "pickup",
            "name": "Магазин на Покровке",
            "address": "Москва, ул. Покровка, 12",
            "hours": "ежедневно 10:00–21:00",
        },
        {"id": "courier", "kind": "courier", "price": 350, "free_from": "3 000"},
    ],
    ensure_ascii=False,
)


async def to_delivery_step(shop: Shop, user_id: int, sku: str, units: int) -> EmulatedUser:
    shopper = shop.emulator.user(user_id, "Пётр")
    async with shop.session_factory() as session:
        await make_user(session, user_id)
        product = await session.scalar(select(Product).where(Product.sku == sku))
        assert product is not None
        await cart.add(session, user_id, product.id, units)
    await shopper.send_text("/cart")
    await shopper.press("✅ Оформить заказ")
    await shopper.send_text("Пётр")
    await shopper.send_text("+7 900 765 43 21")
    return shopper


async def placed_order(shop: Shop) -> Order:
    async with shop.session_factory() as session:
        order = await session.scalar(select(Order).order_by(Order.id.desc()))
        assert order is not None
        return order


async def test_delivery_options_with_prices_go_into_the_order(
    shop_factory: ShopFactory, catalogue: Catalogue
) -> None:
    shop = await shop_factory(delivery_options=OPTIONS, admin_ids=[ADMIN])
    owner = shop.emulator.user(ADMIN, "Хозяйка")
    await owner.send_text("/start")
    petr = await to_delivery_step(shop, 705, "TS-01", 1)  # 1 299 ₽, below the threshold
    assert petr.last["text"] == (
        "Как вы хотите получить заказ?\n\n"
        "🏬 Магазин на Покровке — бесплатно\n"
        "Москва, ул. Покровка, 12 · ежедневно 10:00–21:00\n"
        "🚚 Доставка курьером — 350\u00a0₽, бесплатно от 3\u00a0000\u00a0₽"
    )
    assert buttons(petr.last) == ["🏬 Магазин на Покровке — бесплатно", "🚚 Курьером — 350\u00a0₽"]
    await petr.press("🚚 Курьером — 350\u00a0₽")
    assert petr.messages[-2]["text"] == "Доставка: курьер — 350\u00a0₽"
    await petr.send_text("Москва, ул. Ленина, д. 1")
    await petr.press("Пропустить")
    summary = petr.last["text"]
    assert "Доставка: курьер — 350\u00a0₽\nАдрес: Москва, ул. Ленина, д. 1" in summary
    assert summary.endswith(
        "Итого: 1\u00a0649\u00a0₽ (товары 1\u00a0299\u00a0₽ + доставка 350\u00a0₽)"
    )
    await petr.press("✅ Подтвердить")
    card = petr.messages[-2]["text"]
    assert "Итого: 1\u00a0649\u00a0₽ (товары 1\u00a0299\u00a0₽ + доставка 350\u00a0₽)" in card
    assert "Доставка: курьер — 350\u00a0₽" in card
    assert "Заказ №1001 на 1\u00a0649\u00a0₽ оформлен" in petr.last["text"]
    order = await placed_order(shop)
    assert (order.subtotal, order.delivery_price, order.total) == (129900, 35000, 164900)
    assert (order.delivery_option, order.pickup_point) == (None, None)

    alert = next(text for text in owner.texts() if "№1001" in text)
    assert "Доставка: курьер — 350\u00a0₽" in alert
    assert "Итого: 1\u00a0649\u00a0₽ (товары 1\u00a0299\u00a0₽ + доставка 350\u00a0₽)" in alert
    await owner.send_text("/export_orders 7")
    data = await shop.bot.download(owner.last["document"]["file_id"])
    assert data is not None
    rows = list(csv.reader(io.StringIO(data.getvalue().decode("utf-8-sig")), delimiter=";"))
    row = dict(zip(rows[0], rows[1], strict=True))
    assert (row["Доставка"], row["Стоимость доставки"]) == ("курьер", "350,00")
    assert row["Сумма заказа"] == "1649,00"
    assert shop.emulator.errors == [], [(e.method, e.params) for e in shop.emulator.errors]


async def test_free_delivery_above_the_threshold_and_pickup_points(
    shop_factory: ShopFactory, catalogue: Catalogue
) -> None:
    shop = await shop_factory(delivery_options=OPTIONS)
    anna = await to_delivery_step(shop, 706, "TS-02", 3)  # 3 897 ₽: courier is free
    assert (
        "🚚 Доставка курьером — бесплатно (для заказов от 3\u00a0000\u00a0₽)" in anna.last["text"]
    )
    await anna.press("🚚 Курьером — бесплатно")
    await anna.send_text("Москва, ул. Ленина, д. 1")
    await anna.press("Пропустить")
    summary = anna.last["text"]
    assert "Доставка: курьер — бесплатно (для заказов от 3\u00a0000\u00a0₽)" in summary
    assert summary.endswith("Итого: 3\u00a0897\u00a0₽")
    await anna.press("✅ Подтвердить")
    order = await placed_order(shop)
    assert (order.delivery_price, order.total) == (0, 389700)

    ivan = await to_delivery_step(shop, 707, "TS-03", 1)
    await ivan.press("🏬 Магазин на Покровке — бесплатно")
    assert ivan.messages[-2]["text"] == (
        "Доставка: Магазин на Покровке — бесплатно\n"
        "Пункт выдачи: Москва, ул. Покровка, 12 · ежедневно 10:00–21:00"
    )
    await ivan.press("Пропустить")
    assert "Пункт выдачи: Москва, ул. Покровка, 12 · ежедневно 10:00–21:00" in ivan.last["text"]
    await ivan.press("✅ Подтвердить")
    order = await placed_order(shop)
    assert order.delivery_method is DeliveryMethod.PICKUP
    assert order.delivery_option == "Магазин на Покровке"
    assert order.pickup_point == "Москва, ул. Покровка, 12 · ежедневно 10:00–21:00"
    assert (order.delivery_price, order.delivery_address) == (0, None)
    card = ivan.messages[-2]["text"]
    assert "Доставка: Магазин на Покровке\nПункт выдачи: Москва, ул. Покровка, 12" in card
    assert shop.emulator.errors == [], [(e.method, e.params) for e in shop.emulator.errors]


async def test_delivery_is_paid_for_with_yookassa_and_on_the_receipt(
    shop_factory: ShopFactory, catalogue: Catalogue
) -> None:
    yookassa = YooKassaEmulator("500100", "live_secret", require_receipt=True)
    await yookassa.start()
    try:
        shop = await shop_factory(
            delivery_options=OPTIONS,
            payment_provider="yookassa",
            yookassa_shop_id="500100",
            yookassa_secret_key="live_secret",
            yookassa_api_url=yookassa.api_url,
            yookassa_receipts=True,
            yookassa_trusted_networks=["127.0.0.1/32"],
        )
        petr = await to_delivery_step(shop, 708, "MUG-1", 1)  # 490 ₽
        await petr.press("🚚 Курьером — 350\u00a0₽")
        await petr.send_text("Москва, ул. Ленина, д. 1")
        await petr.press("Пропустить")
        await petr.press("✅ Подтвердить")
        petr.button("💳 Оплатить 840\u00a0₽", message=petr.last)
        ((_payment_id, payment),) = yookassa.payments.items()
        assert payment["amount"] == {"value": "840.00", "currency": "RUB"}
        items = [
            (item["description"], item["amount"]["value"], item["payment_subject"])
            for item in payment["receipt"]["items"]
        ]
        assert items == [
            ("Кружка «Утро»", "490.00", "commodity"),
            ("Доставка", "350.00", "service"),
        ]
    finally:
        await yookassa.stop()
    assert shop.emulator.errors == [], [(e.method, e.params) for e in shop.emulator.errors]


async def test_the_telegram_invoice_has_a_delivery_line(
    shop_factory: ShopFactory, catalogue: Catalogue
) -> None:
    shop = await shop_factory(
        delivery_options=OPTIONS,
        payment_provider="telegram",
        telegram_provider_token="381764678:TEST",
    )
    petr = await to_delivery_step(shop, 709, "MUG-1", 2)  # 980 ₽
    await petr.press("🚚 Курьером — 350\u00a0₽")
    await petr.send_text("Москва, ул. Ленина, д. 1")
    await petr.press("Пропустить")
    await petr.press("✅ Подтвердить")
    invoice = petr.last
    assert invoice["invoice"]["total_amount"] == 133000
    assert await petr.pay_invoice(invoice) is True
    order = await placed_order(shop)
    assert order.status is OrderStatus.PAID and order.total == 133000
    prices = json.loads(
        next(call for call in shop.emulator.calls if call.method == "sendInvoice").params["prices"]
    )
    assert prices == [
        {"label": "Кружка «Утро» × 2", "amount": 98000},
        {"label": "Доставка", "amount": 35000},
    ]
    assert shop.emulator.errors == [], [(e.method, e.params) for e in shop.emulator.errors]


async def test_an_option_the_shop_stopped_offering_is_asked_again(
    shop_factory: ShopFactory, catalogue: Catalogue
) -> None:
    shop = await shop_factory(delivery_options=OPTIONS)
    petr = await to_delivery_step(shop, 710, "TS-04", 1)
    await petr.press("🚚 Курьером — 350\u00a0₽")
    await petr.send_text("Москва, ул. Ленина, д. 1")
    anna = await to_delivery_step(shop, 711, "TS-05", 1)
    await anna.press("🚚 Курьером — 350\u00a0₽")
    await anna.send_text("Москва, ул. Ленина, д. 2")
    await anna.press("Пропустить")  # at the summary
    # The owner drops the courier and restarts the shop in the middle of these checkouts.
    pickup_only = [DeliveryOption(id="pokrovka", kind=DeliveryMethod.PICKUP, name="Покровка")]
    shop.settings = shop.settings.model_copy(update={"delivery_options": pickup_only})
    await shop.restart()
    gone = "Этот способ получения заказа больше недоступен. Выберите, пожалуйста, другой."
    await anna.press("✅ Подтвердить")
    assert anna.messages[-2]["text"] == gone and buttons(anna.last) == ["🏬 Покровка"]
    await petr.press("Пропустить")
    assert petr.messages[-2]["text"] == gone and buttons(petr.last) == ["🏬 Покровка"]
    await petr.press("🏬 Покровка")
    await petr.press("Пропустить")
    await petr.press("✅ Подтвердить")
    order = await placed_order(shop)
    assert (order.delivery_method, order.delivery_option) == (DeliveryMethod.PICKUP, "Покровка")
    assert (order.delivery_address, order.delivery_price) == (None, 0)
    async with shop.session_factory() as session:
        assert await session.scalar(select(func.count()).select_from(Order)) == 1
    assert shop.emulator.errors == [], [(e.method, e.params) for e in shop.emulator.errors]
