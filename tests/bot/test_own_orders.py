"""A shopper's own orders: cancelling one not yet shipped (a paid one through a refund at
YooKassa, asked first with the amount) and writing to the shop about it — through the real
dispatcher, the Bot API emulator and the YooKassa emulator."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select

from shopbot.bot.callbacks import CancelOrderCb
from shopbot.emulators.telegram import EmulatedUser
from shopbot.emulators.yookassa import YooKassaEmulator
from shopbot.models import Order, OrderEvent, OrderStatus, Payment, PaymentStatus
from tests.bot.conftest import ADMIN, Catalogue, Shop, ShopFactory, buttons, check_out, product
from tests.bot.test_shopper_flows import MENU, menu_of

RUB = "\u00a0₽"


@pytest.fixture
async def yookassa() -> AsyncIterator[YooKassaEmulator]:
    emulator = YooKassaEmulator("500100", "live_secret")
    await emulator.start()
    yield emulator
    await emulator.stop()


async def yookassa_shop(shop_factory: ShopFactory, yookassa: YooKassaEmulator) -> Shop:
    shop = await shop_factory(
        payment_provider="yookassa",
        yookassa_shop_id="500100",
        yookassa_secret_key="live_secret",
        yookassa_api_url=yookassa.api_url,
        yookassa_trusted_networks=["127.0.0.1/32"],
        admin_ids=[ADMIN],
    )
    assert shop.runtime is not None
    yookassa.webhook_url = f"{shop.runtime.web_url}/yookassa/webhook"
    await shop.emulator.user(ADMIN, "Хозяйка").send_text("/start")
    return shop


async def open_order(shopper: EmulatedUser) -> dict:
    await shopper.send_text("/orders")
    await shopper.press(buttons(shopper.last)[0])
    return shopper.last


async def the_order(shop: Shop) -> Order:
    async with shop.session_factory() as session:
        order = await session.scalar(select(Order))
        assert order is not None
        return order


async def test_a_shopper_cancels_an_unconfirmed_cash_order(
    admin_shop: Shop, catalogue: Catalogue
) -> None:
    owner = admin_shop.emulator.user(ADMIN, "Хозяйка")
    petr = await check_out(admin_shop, 101, "MUG-1")
    assert (await product(admin_shop, "MUG-1")).stock == 2
    card = await open_order(petr)
    assert buttons(card) == ["✖ Отменить заказ", "💬 Связаться с магазином", "⬅ Все заказы"]

    await petr.press("✖ Отменить заказ", message=card)
    assert "Вы уверены, что хотите отменить заказ №1001?" in petr.last["text"]
    assert buttons(petr.last) == ["✖ Да, отменить заказ", "⬅ Нет, оставить"]
    assert (await the_order(admin_shop)).status is OrderStatus.AWAITING_CONFIRMATION
    await petr.press("⬅ Нет, оставить")
    assert "Вы уверены" not in petr.last["text"] and "✖ Отменить заказ" in buttons(petr.last)
    await petr.press("✖ Отменить заказ")
    confirm = petr.last
    # Someone else's Yes, or one claiming a status that cannot be cancelled, does nothing.
    order_id = (await the_order(admin_shop)).id
    mallory = admin_shop.emulator.user(102, "Мэллори")
    await mallory.send_text("/orders")
    forged = CancelOrderCb(order_id=order_id, expect=OrderStatus.AWAITING_CONFIRMATION)
    answer = await mallory.press_data(forged.pack(), message=mallory.last)
    assert answer is not None and answer.text == "Заказ не найден."
    shipped = CancelOrderCb(order_id=order_id, expect=OrderStatus.SHIPPED)
    answer = await petr.press_data(shipped.pack(), message=confirm)
    assert answer is not None and "уже нельзя отменить" in answer.text
    assert (await the_order(admin_shop)).status is OrderStatus.AWAITING_CONFIRMATION
    assert "✖ Отменить заказ" in buttons(petr.history[confirm["message_id"]])  # the card again
    await petr.press("✖ Отменить заказ", message=confirm)
    confirm = petr.history[confirm["message_id"]]
    answer = await petr.press("✖ Да, отменить заказ", message=confirm)
    assert answer is not None and answer.text == "Заказ №1001 отменён."

    card = petr.history[card["message_id"]]
    assert "Статус: отменён" in card["text"]
    assert buttons(card) == [
        "🛒 Вернуть товары в корзину",
        "💬 Связаться с магазином",
        "⬅ Все заказы",
    ]
    assert (await product(admin_shop, "MUG-1")).stock == 3
    async with admin_shop.session_factory() as session:
        event = await session.scalar(select(OrderEvent).where(OrderEvent.to_status == "cancelled"))
    assert event is not None and event.actor == "user:101"
    # The staff had been sent the cash order: they hear it is off.
    assert "✖ Покупатель отменил заказ №1001. Его товары вернулись в продажу." in owner.last["text"]

    # The old Yes again changes nothing.
    answer = await petr.press_data(
        confirm["reply_markup"]["inline_keyboard"][0][0]["callback_data"], message=confirm
    )
    assert answer is not None and "уже нельзя отменить" in answer.text
    assert (await product(admin_shop, "MUG-1")).stock == 3
    assert admin_shop.emulator.errors == [], [
        (e.method, e.params) for e in admin_shop.emulator.errors
    ]


async def test_a_paid_order_is_cancelled_by_a_refund_asked_first(
    shop_factory: ShopFactory, yookassa: YooKassaEmulator, catalogue: Catalogue
) -> None:
    shop = await yookassa_shop(shop_factory, yookassa)
    owner = shop.emulator.user(ADMIN, "Хозяйка")
    anna = await check_out(shop, 101, "MUG-1")
    ((payment_id, _payment),) = yookassa.payments.items()
    await yookassa.succeed(payment_id)
    await shop.emulator.wait_handled()
    assert (await the_order(shop)).status is OrderStatus.PAID

    card = await open_order(anna)
    await anna.press("✖ Отменить заказ", message=card)
    question = anna.last["text"]
    assert f"Вы уверены, что хотите отменить заказ №1001? Мы вернём 490{RUB}" in question
    assert yookassa.refunds == {}  # one tap refunds nothing
    await anna.press("✖ Да, отменить заказ")
    await shop.emulator.wait_handled()

    order = await the_order(shop)
    assert order.status is OrderStatus.REFUNDED
    assert [refund["payment_id"] for refund in yookassa.refunds.values()] == [payment_id]
    assert (await product(shop, "MUG-1")).stock == 3
    assert f"Деньги за заказ №1001 (490{RUB}) возвращены" in "\n".join(anna.texts())
    assert "✖ Покупатель отменил заказ №1001. Деньги вернулись покупателю" in owner.last["text"]
    assert shop.emulator.errors == [], [(e.method, e.params) for e in shop.emulator.errors]


async def test_a_refund_that_fails_cancels_nothing(
    shop_factory: ShopFactory, yookassa: YooKassaEmulator, catalogue: Catalogue
) -> None:
    shop = await yookassa_shop(shop_factory, yookassa)
    anna = await check_out(shop, 101, "MUG-1")
    ((payment_id, _payment),) = yookassa.payments.items()
    await yookassa.succeed(payment_id)
    await shop.emulator.wait_handled()
    card = await open_order(anna)
    await anna.press("✖ Отменить заказ", message=card)
    yookassa.fail_next("/refunds", 400)
    answer = await anna.press("✖ Да, отменить заказ")
    assert answer is not None and "заказ не отменён" in answer.text
    assert (await the_order(shop)).status is OrderStatus.PAID
    assert "Статус: оплачен" in anna.history[card["message_id"]]["text"]
    assert shop.emulator.errors == [], [(e.method, e.params) for e in shop.emulator.errors]


async def test_an_unpaid_order_cancelled_cancels_its_payment(
    shop_factory: ShopFactory, yookassa: YooKassaEmulator, catalogue: Catalogue
) -> None:
    shop = await yookassa_shop(shop_factory, yookassa)
    anna = await check_out(shop, 101, "MUG-1")
    ((payment_id, _payment),) = yookassa.payments.items()
    card = await open_order(anna)
    await anna.press("✖ Отменить заказ", message=card)
    await anna.press("✖ Да, отменить заказ")
    await shop.emulator.wait_handled()
    assert (await the_order(shop)).status is OrderStatus.CANCELLED
    assert yookassa.payments[payment_id]["status"] == "canceled"
    async with shop.session_factory() as session:
        assert await session.scalar(select(Payment.status)) is PaymentStatus.CANCELED
    assert (await product(shop, "MUG-1")).stock == 3
    # The staff never heard of an unpaid online order: nothing for them.
    assert not any("отменил" in text for text in shop.emulator.user(ADMIN, "Хозяйка").texts())
    assert shop.emulator.errors == [], [(e.method, e.params) for e in shop.emulator.errors]


async def test_contact_the_shop_from_an_order(
    shop_factory: ShopFactory, catalogue: Catalogue
) -> None:
    shop = await shop_factory(admin_ids=[ADMIN], shop_contact="+7 495 123-45-67")
    owner = shop.emulator.user(ADMIN, "Хозяйка")
    await owner.send_text("/start")
    petr = await check_out(shop, 101, "MUG-1")
    card = await open_order(petr)
    await petr.press("💬 Связаться с магазином", message=card)
    prompt = petr.last["text"]
    assert "Связаться с магазином: +7 495 123-45-67" in prompt
    assert "что передать магазину по заказу №1001" in prompt
    assert menu_of(petr) == MENU
    await petr.send_text("Можно забрать <завтра> после 18:00?")
    assert petr.last["text"] == "✅ Сообщение отправлено. Магазин свяжется с вами."
    relayed = owner.last
    assert relayed["text"].startswith("💬 Покупатель пишет о заказе №1001:")
    assert "Можно забрать <завтра> после 18:00?" in relayed["text"]
    assert "Покупатель: Пётр" in relayed["text"]
    # One message only: what is typed next is not relayed.
    await petr.send_text("спасибо")
    assert "я ничего не нашёл" in petr.last["text"]
    assert owner.last == relayed

    # A picture or a message too long is asked again; /cancel leaves the prompt.
    await petr.press("💬 Связаться с магазином", message=card)
    await petr.send_document("photo.jpg", b"\xff\xd8", mime_type="image/jpeg")
    assert "напишите сообщение текстом" in petr.last["text"]
    await petr.send_text("очень " * 400)
    assert "Сообщение слишком длинное" in petr.last["text"]
    assert owner.last == relayed
    await petr.send_text("/cancel")
    assert petr.last["text"] == "Отменено."
    await petr.send_text("привет")
    assert owner.last == relayed
    assert shop.emulator.errors == [], [(e.method, e.params) for e in shop.emulator.errors]


async def test_a_refund_still_pending_says_so_and_offers_no_second_cancel(
    shop_factory: ShopFactory, yookassa: YooKassaEmulator, catalogue: Catalogue
) -> None:
    shop = await yookassa_shop(shop_factory, yookassa)
    anna = await check_out(shop, 101, "MUG-1")
    ((payment_id, _payment),) = yookassa.payments.items()
    await yookassa.succeed(payment_id)
    await shop.emulator.wait_handled()
    yookassa.hold_refunds = True
    card = await open_order(anna)
    await anna.press("✖ Отменить заказ", message=card)
    answer = await anna.press("✖ Да, отменить заказ")
    assert answer is not None and f"Возврат 490{RUB} по заказу №1001 оформлен" in answer.text
    shown = anna.history[card["message_id"]]
    assert "Обычно банк зачисляет деньги" in shown["text"]
    assert "✖ Отменить заказ" not in buttons(shown)
    assert (await the_order(shop)).status is OrderStatus.PAID  # until YooKassa confirms
    ((refund_id, _refund),) = yookassa.refunds.items()
    await yookassa.settle_refund(refund_id)
    await shop.emulator.wait_handled()
    assert (await the_order(shop)).status is OrderStatus.REFUNDED
    assert f"Деньги за заказ №1001 (490{RUB}) возвращены" in anna.last["text"]
    assert shop.emulator.errors == [], [(e.method, e.params) for e in shop.emulator.errors]
