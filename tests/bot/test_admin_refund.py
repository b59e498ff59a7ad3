"""Cancelling a paid order from the admin card refunds it through YooKassa (the emulator,
driven by the real SDK) and tells the shopper."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select

from shopbot.emulators.yookassa import YooKassaEmulator
from shopbot.models import Order, OrderStatus, Product
from tests.bot.conftest import Catalogue, Shop, ShopFactory, check_out

ADMIN = 900


@pytest.fixture
async def yookassa() -> AsyncIterator[YooKassaEmulator]:
    emulator = YooKassaEmulator("500100", "live_secret")
    await emulator.start()
    yield emulator
    await emulator.stop()


async def test_cancelling_a_paid_order_refunds_it(
    shop_factory: ShopFactory, yookassa: YooKassaEmulator, catalogue: Catalogue
) -> None:
    shop: Shop = await shop_factory(
        payment_provider="yookassa",
        yookassa_shop_id="500100",
        yookassa_secret_key="live_secret",
        yookassa_api_url=yookassa.api_url,
        yookassa_trusted_networks=["127.0.0.1/32"],
        admin_ids=[ADMIN],
    )
    assert shop.runtime is not None
    yookassa.webhook_url = f"{shop.runtime.web_url}/yookassa/webhook"
    owner = shop.emulator.user(ADMIN, "Хозяйка")
    await owner.send_text("/start")
    anna = await check_out(shop, 101, "MUG-1")
    ((payment_id, _payment),) = yookassa.payments.items()
    await yookassa.succeed(payment_id)
    await shop.emulator.wait_handled()

    await owner.send_text("/orders_admin paid")
    await owner.press(_buttons(owner.last)[0])
    card = owner.last
    assert "Заказ №1001" in card["text"] and "Оплата: ЮKassa" in card["text"]
    assert "ЮKassa (уведомление): статус платежа: прошёл" in card["text"]  # the history
    assert _buttons(card) == ["→ отправлен", "✖ Отменить", "✉ Написать покупателю", "⬅ Все заказы"]
    await owner.press("✖ Отменить", message=card)
    assert "Отменить заказ №1001 и вернуть покупателю 490\u00a0₽?" in owner.last["text"]
    assert yookassa.refunds == {}  # one tap refunds nothing
    answer = await owner.press("✔ Да, отменить и вернуть деньги")
    assert answer is not None and answer.text == "Заказ №1001 теперь: возвращён."
    await shop.emulator.wait_handled()

    async with shop.session_factory() as session:
        order = await session.scalar(select(Order))
        mug = await session.scalar(select(Product).where(Product.sku == "MUG-1"))
    assert order is not None and order.status is OrderStatus.REFUNDED
    assert mug is not None and mug.stock == 3  # back on the shelf
    assert [refund["payment_id"] for refund in yookassa.refunds.values()] == [payment_id]
    assert "Деньги за заказ №1001 (490\u00a0₽) возвращены" in anna.last["text"]


def _buttons(message: dict) -> list[str]:
    markup = message.get("reply_markup") or {}
    return [button["text"] for row in markup.get("inline_keyboard", []) for button in row]
