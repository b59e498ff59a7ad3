"""Paying for orders end to end: the real bot on the Bot API emulator, the real yookassa SDK
on the fake YooKassa, notifications over HTTP to the shop's own webhook server."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from shopbot.emulators.yookassa import YooKassaEmulator
from shopbot.models import Order, OrderStatus, Product, utcnow
from shopbot.payments.expiry import expire_orders
from tests.bot.conftest import YK_ADMIN as ADMIN
from tests.bot.conftest import Catalogue, Shop, ShopFactory, check_out


async def order_in_db(shop: Shop) -> Order:
    async with shop.session_factory() as session:
        order = await session.scalar(select(Order))
        assert order is not None
        return order


async def stock_of(shop: Shop, sku: str) -> int:
    async with shop.session_factory() as session:
        return await session.scalar(select(Product.stock).where(Product.sku == sku))


async def test_pay_through_yookassa_marks_the_order_paid_and_tells_everyone(
    yk_shop: Shop, yookassa: YooKassaEmulator, catalogue: Catalogue
) -> None:
    anna = await check_out(yk_shop, 101, "MUG-1")
    offer = anna.last
    assert "Товары отложены для вас на 60 мин." in offer["text"]
    pay = anna.button("💳 Оплатить 490\u00a0₽", message=offer)
    assert pay["url"].startswith(yookassa.base_url + "/checkout/")
    ((payment_id, payment),) = yookassa.payments.items()
    assert payment["amount"] == {"value": "490.00", "currency": "RUB"}
    receipt = payment["receipt"]
    assert receipt["customer"] == {"phone": "79007654321"}
    assert [(i["description"], i["amount"]["value"]) for i in receipt["items"]] == [
        ("Кружка «Утро»", "490.00")
    ]

    await yookassa.succeed(payment_id)
    await yk_shop.emulator.wait_handled()

    order = await order_in_db(yk_shop)
    assert order.status is OrderStatus.PAID
    assert "Оплата получена: 490\u00a0₽. Заказ №1001 оплачен" in anna.last["text"]
    admin = yk_shop.emulator.user(ADMIN, "Хозяйка")
    alert = next(text for text in admin.texts() if "💰 Новый оплаченный заказ" in text)
    assert "№1001" in alert and "+79007654321" in alert and "Кружка «Утро»" in alert
    low = admin.last["text"]
    assert "📉" in low and "Кружка «Утро» (MUG-1): осталось 2 шт." in low
    assert await stock_of(yk_shop, "MUG-1") == 2

    # YooKassa redelivers: nothing changes, nobody is told twice.
    for _ in range(3):
        assert await yookassa.notify("payment.succeeded", payment_id) == 200
    await yk_shop.emulator.wait_handled()
    paid_messages = [t for t in anna.texts() if "оплачен, спасибо" in t]
    assert len(paid_messages) == 1
    assert yk_shop.emulator.errors == []


async def test_check_payment_picks_up_a_lost_notification(
    yk_shop: Shop, yookassa: YooKassaEmulator, catalogue: Catalogue
) -> None:
    anna = await check_out(yk_shop, 102, "MUG-1")
    answer = await anna.press("🔄 Проверить оплату")
    assert answer is not None and "Оплата пока не поступила" in answer.text
    (payment_id,) = yookassa.payments
    await yookassa.succeed(payment_id, notify=False)
    answer = await anna.press("🔄 Проверить оплату")
    assert answer is not None and "Заказ №1001 оплачен" in answer.text
    assert (await order_in_db(yk_shop)).status is OrderStatus.PAID
    assert yk_shop.emulator.errors == []


async def test_forged_notification_changes_nothing(
    yk_shop: Shop, yookassa: YooKassaEmulator, catalogue: Catalogue
) -> None:
    await check_out(yk_shop, 103, "MUG-1")
    ((payment_id, payment),) = yookassa.payments.items()
    forged = {**payment, "status": "succeeded", "paid": True}
    assert await yookassa.notify("payment.succeeded", payment_id, obj=forged) == 200
    assert (await order_in_db(yk_shop)).status is OrderStatus.AWAITING_PAYMENT
    assert yk_shop.emulator.errors == []


async def test_unpaid_order_expires_and_returns_stock(
    yk_shop: Shop, yookassa: YooKassaEmulator, catalogue: Catalogue
) -> None:
    anna = await check_out(yk_shop, 104, "MUG-1")
    assert await stock_of(yk_shop, "MUG-1") == 2
    async with yk_shop.session_factory() as session:
        await session.execute(update(Order).values(expires_at=utcnow() - timedelta(minutes=1)))
        await session.commit()
    runtime = yk_shop.runtime
    assert runtime is not None
    await expire_orders(runtime.session_factory, runtime.provider)
    await yk_shop.emulator.wait_handled()
    assert (await order_in_db(yk_shop)).status is OrderStatus.EXPIRED
    assert await stock_of(yk_shop, "MUG-1") == 3
    assert "не оплачен вовремя и отменён" in anna.last["text"]
    (payment,) = yookassa.payments.values()
    assert payment["status"] == "canceled"
    assert yk_shop.emulator.errors == []


async def test_telegram_invoice_is_paid_after_a_rechecked_pre_checkout(
    shop_factory: ShopFactory, catalogue: Catalogue
) -> None:
    shop = await shop_factory(payment_provider="telegram", telegram_provider_token="381764678:TEST")
    anna = await check_out(shop, 105, "MUG-1")
    invoice = anna.last
    assert invoice["invoice"]["total_amount"] == 49000
    assert invoice["invoice"]["currency"] == "RUB"
    assert await anna.pay_invoice(invoice) is True
    assert (await order_in_db(shop)).status is OrderStatus.PAID
    assert "Заказ №1001 оплачен" in anna.last["text"]
    # Paying the same invoice again is refused at pre-checkout: the order is no longer unpaid.
    assert await anna.pay_invoice(invoice) is False
    assert shop.emulator.errors == []


async def test_cash_order_goes_to_the_shop_for_confirmation(
    shop_factory: ShopFactory, catalogue: Catalogue
) -> None:
    shop = await shop_factory(payment_provider="cash", admin_ids=[ADMIN])
    await shop.emulator.user(ADMIN, "Хозяйка").send_text("/start")
    anna = await check_out(shop, 106, "MUG-1")
    assert "Магазин свяжется с вами для подтверждения" in anna.last["text"]
    admin = shop.emulator.user(ADMIN, "Хозяйка")
    alert = next(text for text in admin.texts() if "🆕 Новый заказ с оплатой при получении" in text)
    assert "№1001" in alert and "+79007654321" in alert
    assert (await order_in_db(shop)).status is OrderStatus.AWAITING_CONFIRMATION
    assert shop.emulator.errors == []
