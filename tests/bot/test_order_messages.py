"""Messages that describe an order follow its status: after payment, cancellation or expiry
the order's card and its payment message are edited in place, their buttons matching what
can still be done; a message the shopper deleted is let go without a fuss."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import func, select, update

from shopbot.emulators.telegram import EmulatedUser
from shopbot.emulators.yookassa import YooKassaEmulator
from shopbot.models import Order, OrderMessage, utcnow
from shopbot.payments.expiry import expire_orders
from tests.bot.conftest import Catalogue, Shop, check_out


def buttons(message: dict[str, Any]) -> list[str]:
    rows = (message.get("reply_markup") or {}).get("inline_keyboard", [])
    return [button["text"] for row in rows for button in row]


def order_messages(shopper: EmulatedUser) -> tuple[dict[str, Any], dict[str, Any]]:
    """The order's card (the summary turned card at Confirm) and its payment message."""
    card = next(m for m in shopper.messages if "📦 Заказ №1001" in (m.get("text") or ""))
    payment = next(
        m
        for m in shopper.messages
        if "Заказ №1001" in (m.get("text") or "") and m["message_id"] > card["message_id"]
    )
    return shopper.history[card["message_id"]], shopper.history[payment["message_id"]]


async def followed(shop: Shop) -> int:
    async with shop.session_factory() as session:
        return await session.scalar(select(func.count()).select_from(OrderMessage)) or 0


async def expire(shop: Shop) -> None:
    assert shop.runtime is not None
    async with shop.session_factory() as session:
        await session.execute(update(Order).values(expires_at=utcnow() - timedelta(minutes=1)))
        await session.commit()
    await expire_orders(shop.runtime.session_factory, shop.runtime.provider)
    await shop.emulator.wait_handled()


async def test_after_payment_the_order_messages_say_paid_and_offer_no_payment(
    yk_shop: Shop, yookassa: YooKassaEmulator, catalogue: Catalogue
) -> None:
    anna = await check_out(yk_shop, 101, "MUG-1")
    card, payment = order_messages(anna)
    assert "Статус: ожидает оплаты" in card["text"]
    assert buttons(payment) == ["💳 Оплатить 490\u00a0₽", "🔄 Проверить оплату"]

    (payment_id,) = yookassa.payments
    await yookassa.succeed(payment_id)
    await yk_shop.emulator.wait_handled()

    card, payment = order_messages(anna)
    assert "Статус: оплачен" in card["text"] and "ожидает оплаты" not in card["text"]
    assert buttons(card) == ["✖ Отменить заказ", "💬 Связаться с магазином"]  # no payment
    assert payment["text"] == "🧾 Заказ №1001 на 490\u00a0₽: оплачен."
    assert buttons(payment) == []
    assert "Заказ №1001 оплачен, спасибо" in anna.last["text"]  # and the shopper is told
    assert yk_shop.emulator.errors == []


async def test_after_expiry_the_order_messages_say_so(
    yk_shop: Shop, yookassa: YooKassaEmulator, catalogue: Catalogue
) -> None:
    anna = await check_out(yk_shop, 102, "MUG-1")
    await anna.send_text("/orders")
    await anna.press("№1001 · 490\u00a0₽ · ожидает оплаты")
    listed = anna.last
    assert buttons(listed) == [
        "💳 Оплатить",
        "🔄 Проверить оплату",
        "✖ Отменить заказ",
        "💬 Связаться с магазином",
        "⬅ Все заказы",
    ]

    await expire(yk_shop)

    card, payment = order_messages(anna)
    assert "Статус: срок оплаты истёк" in card["text"]
    assert "🔄 Проверить оплату" not in buttons(card)
    assert payment["text"] == "🧾 Заказ №1001 на 490\u00a0₽: срок оплаты истёк."
    assert "💳 Оплатить 490\u00a0₽" not in buttons(payment)
    listed = anna.history[listed["message_id"]]
    assert "Статус: срок оплаты истёк" in listed["text"]
    assert buttons(listed)[-1] == "⬅ Все заказы" and "💳 Оплатить" not in buttons(listed)
    assert yk_shop.emulator.errors == []


async def test_a_deleted_order_message_is_let_go_and_the_shopper_still_told(
    yk_shop: Shop, yookassa: YooKassaEmulator, catalogue: Catalogue
) -> None:
    anna = await check_out(yk_shop, 103, "MUG-1")
    assert await followed(yk_shop) == 2
    yk_shop.emulator.fail_next(
        "editMessageText", error_code=400, description="Bad Request: message to edit not found"
    )

    await expire(yk_shop)

    assert "не оплачен вовремя и отменён" in anna.last["text"]
    assert await followed(yk_shop) == 1  # the one that could not be edited is let go
    card, _payment = order_messages(anna)  # the payment message was the first to be edited
    assert "Статус: срок оплаты истёк" in card["text"]
    assert [error.injected for error in yk_shop.emulator.errors] == [True]


async def test_an_order_message_already_up_to_date_is_left_as_it_is(
    yk_shop: Shop, yookassa: YooKassaEmulator, catalogue: Catalogue
) -> None:
    """The same change told twice (a retried outbox message): Telegram's "message is not
    modified" for the edits is no failure, and nothing is given up."""
    anna = await check_out(yk_shop, 104, "MUG-1")
    await expire(yk_shop)
    assert yk_shop.runtime is not None
    async with yk_shop.session_factory() as session:
        order = await session.scalar(select(Order))
    assert order is not None
    edits = yk_shop.emulator.count("editMessageText")

    await yk_shop.runtime.notifier.order_status_changed(order, order.status)

    assert yk_shop.emulator.count("editMessageText") == edits + 2
    assert [e.description for e in yk_shop.emulator.errors] == [
        "Bad Request: message is not modified: specified new message content and reply "
        "markup are exactly the same as a current content and reply markup of the message"
    ] * 2
    assert await followed(yk_shop) == 2
    assert "не оплачен вовремя и отменён" in anna.last["text"]


async def test_a_card_turned_back_into_the_list_is_not_edited_into_the_card_again(
    yk_shop: Shop, yookassa: YooKassaEmulator, catalogue: Catalogue
) -> None:
    anna = await check_out(yk_shop, 105, "MUG-1")
    await anna.send_text("/orders")
    await anna.press("№1001 · 490\u00a0₽ · ожидает оплаты")
    await anna.press("⬅ Все заказы")
    listed = anna.last

    await expire(yk_shop)

    listed = anna.history[listed["message_id"]]
    assert "Ваши заказы" in listed["text"] and "📦 Заказ №1001" not in listed["text"]
    assert yk_shop.emulator.errors == []
