"""kill -9 after an order is placed but before its payment link is sent: the outbox sends the
link once the process that placed it is gone, exactly once, and pressing Confirm again (or
opening "Мои заказы") offers to pay instead of a dead end."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from shopbot.db import commit_hooks
from shopbot.emulators.yookassa import YooKassaEmulator
from shopbot.models import Order, OrderStatus, OutboxMessage, utcnow
from shopbot.services.notifications import PAYMENT_DUE, order_sender
from shopbot.services.outbox import OutboxDelivery
from tests.bot.conftest import Catalogue, Shop, check_out

SHOPPER = 101


class Killed(BaseException):
    """kill -9: nothing after the point it is raised at runs, not even error handling."""


async def kill_after_the_order_commits(shop: Shop) -> None:
    """Press Confirm in a process that dies right after the order's unit of work commits,
    before anything it recorded is delivered; then start the shop again (the update that
    was being handled is fetched again, as Telegram redelivers unconfirmed updates)."""
    assert shop.runtime is not None and shop.polling is not None

    async def die(_session: AsyncSession, _ids: list[int]) -> None:
        raise Killed

    commit_hooks(shop.runtime.session_factory).deliver = die
    shopper = shop.emulator.user(SHOPPER, "Пётр")
    await shopper.press("✅ Подтвердить", wait=False)
    with pytest.raises(Killed):
        await asyncio.wait_for(shop.polling, 10)
    await shop.runtime.close()
    shop.runtime = shop.polling = None


async def links(shop: Shop) -> list[dict]:
    shopper = shop.emulator.user(SHOPPER, "Пётр")
    return [m for m in shopper.messages if "Товары отложены для вас на" in (m.get("text") or "")]


async def two_minutes_pass(shop: Shop) -> int:
    """The outbox job's pass once the live process's grace for the link is over."""
    assert shop.runtime is not None
    async with shop.session_factory() as session:
        await session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.kind == PAYMENT_DUE)
            .values(available_at=utcnow() - timedelta(seconds=1))
        )
        await session.commit()
    delivery = OutboxDelivery(order_sender(shop.runtime.notifier))
    async with shop.runtime.session_factory() as session:
        return await delivery.deliver_due(session)


async def test_the_link_reaches_the_shopper_after_a_crash_exactly_once(
    yk_shop: Shop, yookassa: YooKassaEmulator, catalogue: Catalogue
) -> None:
    await check_out(yk_shop, SHOPPER, "MUG-1", confirm=False)
    await kill_after_the_order_commits(yk_shop)
    async with yk_shop.session_factory() as session:
        order = await session.scalar(select(Order))
    assert order is not None and order.status is OrderStatus.AWAITING_PAYMENT
    assert yookassa.payments == {} and await links(yk_shop) == []

    await yk_shop.start()
    await yk_shop.emulator.wait_handled()
    # Confirm, fetched again, placed its order already: the update is recorded with what it
    # had yet to do (services.updates, bot.once), so the redelivery does that and places
    # nothing: the link its commit was delivering goes now (not after the outbox's grace),
    # the press is answered and the summary becomes the order's card.
    shopper = yk_shop.emulator.user(SHOPPER, "Пётр")
    (link,) = await links(yk_shop)
    (payment_id,) = yookassa.payments
    assert shopper.button("💳 Оплатить 490\u00a0₽", message=link)["url"].endswith(payment_id)
    answer = list(yk_shop.emulator.callback_answers.values())[-1]
    assert answer.text == "Заказ оформлен"
    card = next(m for m in reversed(shopper.messages) if "Статус:" in (m.get("text") or ""))
    assert "Заказ №1001" in card["text"] and "Статус: ожидает оплаты" in card["text"]
    async with yk_shop.session_factory() as session:
        assert len((await session.scalars(select(Order))).all()) == 1

    assert await two_minutes_pass(yk_shop) == 0  # sent: never again
    assert len(await links(yk_shop)) == 1 and len(yookassa.payments) == 1
    assert yk_shop.emulator.errors == []


async def test_confirm_after_a_stale_checkout_step_offers_to_pay(
    yk_shop: Shop, yookassa: YooKassaEmulator, catalogue: Catalogue
) -> None:
    """Confirm pressed where the checkout step is gone (its order placed) is a stale button,
    and it leads to the pay button; pressing that sends the link of the same payment."""
    await check_out(yk_shop, SHOPPER, "MUG-1", confirm=False)
    shopper = yk_shop.emulator.user(SHOPPER, "Пётр")
    await shopper.press("✅ Подтвердить", wait=False)
    await shopper.press("✅ Подтвердить", wait=False)  # a double tap: handled after the first
    await yk_shop.emulator.wait_handled()

    answer = list(yk_shop.emulator.callback_answers.values())[-1]
    assert answer.text == "Этот заказ уже оформлен."
    card = next(m for m in reversed(shopper.messages) if "Статус:" in (m.get("text") or ""))
    assert "Заказ №1001" in card["text"] and "Статус: ожидает оплаты" in card["text"]
    await shopper.press("💳 Оплатить", message=card)  # the link again, for the same payment
    assert len(await links(yk_shop)) == 2 and len(yookassa.payments) == 1
    assert await two_minutes_pass(yk_shop) == 0
    assert len(await links(yk_shop)) == 2 and len(yookassa.payments) == 1
    assert yk_shop.emulator.errors == []


async def test_my_orders_offer_to_pay_an_unpaid_order(
    yk_shop: Shop, yookassa: YooKassaEmulator, catalogue: Catalogue
) -> None:
    await check_out(yk_shop, SHOPPER, "MUG-1", confirm=False)
    await kill_after_the_order_commits(yk_shop)
    await yk_shop.start()
    await yk_shop.emulator.wait_handled()
    shopper = yk_shop.emulator.user(SHOPPER, "Пётр")

    await shopper.send_text("/orders")
    await shopper.press("💳 Оплатить №1001", message=shopper.last)
    link = (await links(yk_shop))[-1]  # the link again (the redelivery sent it first)
    assert len(yookassa.payments) == 1
    assert shopper.button("🔄 Проверить оплату", message=link)
    assert yk_shop.emulator.errors == []
