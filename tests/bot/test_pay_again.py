"""A failed or cancelled payment has a way back: the order keeps its items and can be paid
again (one payment attempt at a time), and once it is cancelled or expired its items go back
in the cart at today's prices and stock, with what changed said."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from sqlalchemy import select, update

from shopbot.emulators.yookassa import YooKassaEmulator
from shopbot.models import CartLine, Order, OrderStatus, Product, utcnow
from shopbot.payments.expiry import expire_orders
from tests.bot.conftest import Catalogue, Shop, check_out


def buttons(message: dict[str, Any]) -> list[str]:
    rows = (message.get("reply_markup") or {}).get("inline_keyboard", [])
    return [button["text"] for row in rows for button in row]


async def stock_of(shop: Shop, sku: str) -> int:
    async with shop.session_factory() as session:
        return await session.scalar(select(Product.stock).where(Product.sku == sku)) or 0


async def status(shop: Shop) -> OrderStatus:
    async with shop.session_factory() as session:
        order = await session.scalar(select(Order))
        assert order is not None
        return order.status


async def test_a_cancelled_payment_keeps_the_order_and_it_can_be_paid_again(
    yk_shop: Shop, yookassa: YooKassaEmulator, catalogue: Catalogue
) -> None:
    anna = await check_out(yk_shop, 101, "MUG-1")
    link = anna.last
    (first,) = yookassa.payments

    await yookassa.cancel_by_user(first)  # "Отменить" on the payment page
    await yk_shop.emulator.wait_handled()

    assert await status(yk_shop) is OrderStatus.AWAITING_PAYMENT
    assert await stock_of(yk_shop, "MUG-1") == 2  # still held for the order
    told = anna.last
    assert told["text"].startswith("⚠ Оплата заказа №1001 на 490\u00a0₽ не прошла.")
    assert "Товары отложены для вас ещё на 60 мин." in told["text"]
    assert buttons(told) == ["💳 Оплатить снова"]
    link = anna.history[link["message_id"]]  # the dead link is gone from the old message
    assert buttons(link) == ["💳 Оплатить снова"] and "не прошла" in link["text"]

    # Two taps, on the notice and on the old message: one new payment attempt, not two.
    await asyncio.gather(
        anna.press("💳 Оплатить снова", message=told),
        anna.press("💳 Оплатить снова", message=link),
    )
    await yk_shop.emulator.wait_handled()
    assert len(yookassa.payments) == 2
    second = next(payment_id for payment_id in yookassa.payments if payment_id != first)
    offer = anna.last
    assert anna.button("💳 Оплатить 490\u00a0₽", message=offer)["url"].endswith(second)

    await yookassa.succeed(second)
    await yk_shop.emulator.wait_handled()
    assert await status(yk_shop) is OrderStatus.PAID
    assert "оплачен, спасибо" in anna.last["text"]
    assert "💳 Оплатить снова" not in buttons(anna.history[told["message_id"]])

    # The failure's message retried late, once the order is paid: nothing new is sent.
    sent = len(anna.messages)
    async with yk_shop.session_factory() as session:
        order = await session.scalar(select(Order))
    assert order is not None and yk_shop.runtime is not None
    await yk_shop.runtime.notifier.payment_failed(order, "insufficient_funds")
    assert len(anna.messages) == sent
    # (its edits find the messages as they are: Telegram's "not modified", no failure)
    assert all("message is not modified" in e.description for e in yk_shop.emulator.errors)


async def test_an_expired_order_puts_its_items_back_in_the_cart_saying_what_changed(
    yk_shop: Shop, yookassa: YooKassaEmulator, catalogue: Catalogue
) -> None:
    anna = yk_shop.emulator.user(102, "Анна")
    for sku in ("TS-01", "TS-02"):
        await anna.send_text(f"/start p_{sku}")
        await anna.press("🛒 В корзину")
    await anna.press("🛒 В корзине: 1 · ➕")  # two of TS-02
    anna = await check_out(yk_shop, 102, "MUG-1")
    async with yk_shop.session_factory() as session:
        await session.execute(update(Order).values(expires_at=utcnow() - timedelta(minutes=1)))
        await session.commit()
    assert yk_shop.runtime is not None
    await expire_orders(yk_shop.runtime.session_factory, yk_shop.runtime.provider)
    await yk_shop.emulator.wait_handled()
    # Meanwhile the shop changed: a price and the stock of TS-02, TS-01 hidden.
    async with yk_shop.session_factory() as session:
        await session.execute(
            update(Product).where(Product.sku == "TS-02").values(price=139900, stock=1)
        )
        await session.execute(update(Product).where(Product.sku == "TS-01").values(active=False))
        await session.commit()

    card = next(m for m in anna.messages if "📦 Заказ №1001" in (m.get("text") or ""))
    card = anna.history[card["message_id"]]
    assert "Статус: срок оплаты истёк" in card["text"]
    assert buttons(card) == ["🛒 Вернуть товары в корзину", "💬 Связаться с магазином"]
    await anna.press("🛒 Вернуть товары в корзину", message=card)

    cart = anna.last["text"]
    assert "🛒 Товары из заказа №1001 — в корзине, по сегодняшним ценам." in cart
    assert "• Футболка 01: больше не продаётся" in cart
    assert "• Футболка 02: в наличии только 1 шт. из 2" in cart
    assert "• Футболка 02: цена изменилась, 1\u00a0299\u00a0₽ → 1\u00a0399\u00a0₽" in cart
    assert "Кружка «Утро»:" not in cart  # unchanged: not mentioned
    assert "✅ Оформить заказ" in buttons(anna.last)

    async def cart_lines() -> dict[int, int]:
        async with yk_shop.session_factory() as session:
            rows = await session.execute(select(CartLine.product_id, CartLine.quantity))
            return {product_id: quantity for product_id, quantity in rows}

    once = await cart_lines()
    assert sorted(once.values()) == [1, 1]
    await anna.press("🛒 Вернуть товары в корзину", message=card)  # again: nothing doubles
    assert await cart_lines() == once
    assert yk_shop.emulator.errors == []


async def test_a_paid_order_cannot_be_put_back_in_the_cart_from_an_old_button(
    yk_shop: Shop, yookassa: YooKassaEmulator, catalogue: Catalogue
) -> None:
    """A forged or stale "put back" on an order that is not cancelled or expired changes
    nothing in the cart."""
    anna = await check_out(yk_shop, 103, "MUG-1")
    (payment_id,) = yookassa.payments
    await yookassa.succeed(payment_id)
    await yk_shop.emulator.wait_handled()
    async with yk_shop.session_factory() as session:
        order = await session.scalar(select(Order))
    assert order is not None

    answer = await anna.press_data(f"r:b:{order.id}:0", message=anna.last)

    assert answer is not None and "оплачен" in (answer.text or "")
    async with yk_shop.session_factory() as session:
        assert await session.scalar(select(CartLine.product_id)) is None
    assert yk_shop.emulator.errors == []
