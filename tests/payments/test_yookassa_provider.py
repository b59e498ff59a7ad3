"""The YooKassa provider against the emulator, through the real SDK."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta

import pytest
from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from yookassa import Payment as YooPayment

from shopbot.models import Order, OrderStatus, Payment, PaymentStatus, utcnow
from shopbot.payments import create_provider
from shopbot.payments.base import (
    NotPayable,
    PaymentError,
    PaymentLink,
    ProviderUnavailable,
    RefundStatus,
)
from shopbot.payments.cash import CashProvider
from shopbot.payments.telegram import TelegramProvider
from shopbot.payments.yookassa import YooKassaProvider, idempotence_key
from shopbot.payments.yookassa_api import ATTEMPTS
from shopbot.services import orders
from tests.payments.conftest import (
    BOT_USERNAME,
    USER_ID,
    Shop,
    StartShop,
    direct_payment,
    make_settings,
    place_order,
    sdk,
    status_of,
)

S = OrderStatus


async def payments_of(session: AsyncSession, order_id: int) -> list[Payment]:
    await session.commit()
    return list(
        await session.scalars(
            select(Payment)
            .where(Payment.order_id == order_id)
            .order_by(Payment.id)
            .execution_options(populate_existing=True)
        )
    )


def create_requests(shop: Shop) -> list[dict]:
    return [
        r for r in shop.emulator.requests if (r["method"], r["path"]) == ("POST", "/v3/payments")
    ]


async def test_start_creates_the_payment_as_yookassa_wants_it(
    shop: Shop, session: AsyncSession
) -> None:
    order, _ = await place_order(session, quantity=2, price=129900)

    link = await shop.provider.start(session, order)

    assert link.amount == order.total == 259800
    (request,) = create_requests(shop)
    body = request["json"]
    assert body["amount"] == {"value": "2598.00", "currency": "RUB"}
    assert body["capture"] is True
    assert body["confirmation"] == {
        "type": "redirect",
        "return_url": f"https://t.me/{BOT_USERNAME}",
    }
    assert body["description"] == f"Заказ №{order.number}"
    assert body["metadata"]["order_id"] == str(order.id)
    assert "receipt" not in body
    (payment,) = await payments_of(session, order.id)
    assert request["idempotence_key"] == payment.idempotence_key == idempotence_key(order, 1)
    assert payment.provider_payment_id == link.provider_payment_id
    assert payment.confirmation_url == link.url
    assert payment.status is PaymentStatus.PENDING
    assert payment.amount == order.total
    assert shop.emulator.payments[link.provider_payment_id]["status"] == "pending"
    kinds = [event.kind for event in await orders.events_of(session, order.id)]
    assert kinds == ["placed", "payment_created"]


async def test_start_again_reuses_the_pending_payment(shop: Shop, session: AsyncSession) -> None:
    order, _ = await place_order(session)

    first = await shop.provider.start(session, order)
    again = await shop.provider.start(session, order)

    assert again == first
    assert len(create_requests(shop)) == 1
    assert len(await payments_of(session, order.id)) == 1


async def test_a_failed_create_is_retried_with_the_same_idempotence_key(
    shop: Shop, session: AsyncSession
) -> None:
    order, _ = await place_order(session)
    shop.emulator.fail_next("/payments", status=500, times=ATTEMPTS)

    with pytest.raises(ProviderUnavailable):
        await shop.provider.start(session, order)
    link = await shop.provider.start(session, order)

    keys = [request["idempotence_key"] for request in create_requests(shop)]
    assert [r["status"] for r in create_requests(shop)] == [500] * ATTEMPTS + [200]
    assert set(keys) == {idempotence_key(order, 1)}
    assert list(shop.emulator.payments) == [link.provider_payment_id]
    assert len(await payments_of(session, order.id)) == 1


async def test_concurrent_starts_share_one_payment(
    shop: Shop, session_factory, session: AsyncSession
) -> None:
    order, _ = await place_order(session)

    async def tap():
        async with session_factory() as own:
            return await shop.provider.start(own, order)

    links = await asyncio.gather(*(tap() for _ in range(5)))

    assert len({link.provider_payment_id for link in links}) == 1
    assert len(shop.emulator.payments) == 1
    assert len(await payments_of(session, order.id)) == 1


async def test_a_start_deciding_while_another_records_its_attempt_shares_it(
    shop: Shop, session_factory, session: AsyncSession
) -> None:
    """One start reads the order's payments (none yet); before it goes on, another start
    records its attempt and creates the payment. The first must not make a second attempt
    (it did on PostgreSQL: it counted the attempts after the other committed). Under the
    order's row lock the other start waits instead; the first goes on after a second."""
    order, _ = await place_order(session)
    counting, other_done = asyncio.Event(), asyncio.Event()

    async def paused_start() -> PaymentLink:
        async with session_factory() as own:
            scalar = own.scalar

            async def scalar_after_the_other(statement, *args, **kwargs):
                if "count(" in str(statement) and "FROM payment" in str(statement):
                    counting.set()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(other_done.wait(), 1.0)
                return await scalar(statement, *args, **kwargs)

            own.scalar = scalar_after_the_other  # type: ignore[method-assign]
            return await shop.provider.start(own, order)

    async def other_start() -> PaymentLink:
        await counting.wait()  # the paused start has read the latest payment: none
        try:
            async with session_factory() as own:
                return await shop.provider.start(own, order)
        finally:
            other_done.set()

    first, second = await asyncio.gather(paused_start(), other_start())

    assert first.provider_payment_id == second.provider_payment_id
    assert len(shop.emulator.payments) == 1
    assert len(await payments_of(session, order.id)) == 1


async def test_receipts_are_accepted_by_a_shop_that_requires_them(
    start_shop: StartShop, session: AsyncSession
) -> None:
    shop = await start_shop(require_receipt=True, yookassa_receipts=True, yookassa_vat_code=4)
    order, _ = await place_order(session, quantity=3, price=33333)

    link = await shop.provider.start(session, order)

    receipt = shop.emulator.payments[link.provider_payment_id]["receipt"]
    assert receipt["customer"] == {"phone": "79001234567"}
    assert [(i["description"], i["amount"]["value"], i["vat_code"]) for i in receipt["items"]] == [
        ("Футболка", "333.33", 4)
    ]


async def test_without_a_receipt_a_receipt_shop_refuses_and_nothing_is_paid(
    start_shop: StartShop, session: AsyncSession
) -> None:
    shop = await start_shop(require_receipt=True)
    order, _ = await place_order(session)

    with pytest.raises(PaymentError, match="Receipt is missing") as caught:
        await shop.provider.start(session, order)

    assert not isinstance(caught.value, ProviderUnavailable)
    assert shop.emulator.payments == {}


async def test_unreachable_api_is_provider_unavailable(session: AsyncSession) -> None:
    provider = YooKassaProvider(
        make_settings(yookassa_api_url="http://127.0.0.1:9/v3"), bot_username=BOT_USERNAME
    )
    order, _ = await place_order(session)

    with pytest.raises(ProviderUnavailable):
        await provider.start(session, order)
    await provider.close()


async def test_only_orders_awaiting_payment_can_be_paid(shop: Shop, session: AsyncSession) -> None:
    order, _ = await place_order(session)
    overdue, _ = await place_order(session, user_id=USER_ID + 1)
    await orders.transition(session, order.id, S.CANCELLED, actor="test")
    await session.execute(
        update(Order).where(Order.id == overdue.id).values(expires_at=utcnow() - timedelta(1))
    )
    await session.commit()

    for unpayable in (order, overdue):
        with pytest.raises(NotPayable):
            await shop.provider.start(session, unpayable)
    assert shop.emulator.payments == {}


async def test_refund_through_yookassa(shop: Shop, session: AsyncSession) -> None:
    order, _ = await place_order(session)
    link = await shop.provider.start(session, order)
    await shop.emulator.succeed(link.provider_payment_id)
    assert await status_of(session, order.id) is S.PAID

    result = await shop.provider.refund(session, order, "admin:1")

    assert result.status is RefundStatus.REFUNDED
    assert result.order.status is S.REFUNDED
    refund = shop.emulator.refunds[result.refund_id]
    assert refund["amount"] == {"value": "2598.00", "currency": "RUB"}
    (payment,) = await payments_of(session, order.id)
    assert payment.status is PaymentStatus.REFUNDED
    refunded = [c for c in shop.notifier.status_changes if c[2] is S.REFUNDED]
    assert refunded == [(order.id, S.PAID, S.REFUNDED, None)]
    # Nothing is left to refund: YooKassa is not asked again.
    with pytest.raises(PaymentError, match="no YooKassa payment to refund"):
        await shop.provider.refund(session, order, "admin:1")
    assert len(shop.emulator.refunds) == 1


async def test_refund_with_receipts_sends_a_refund_receipt(
    start_shop: StartShop, session: AsyncSession
) -> None:
    shop = await start_shop(require_receipt=True, yookassa_receipts=True)
    order, _ = await place_order(session)
    link = await shop.provider.start(session, order)
    await shop.emulator.succeed(link.provider_payment_id)

    result = await shop.provider.refund(session, order, "admin:1")

    assert result.status is RefundStatus.REFUNDED
    assert shop.emulator.refunds[result.refund_id]["receipt"]["customer"]["phone"] == "79001234567"


async def test_two_stage_payment_is_captured(shop: Shop, session: AsyncSession) -> None:
    """A payment authorised but not captured (waiting_for_capture) is captured, then paid."""
    order, _ = await place_order(session)
    params = direct_payment(order, "2598.00", capture=False)
    created = await sdk(shop, YooPayment.create, params, "two-stage")
    async with shop.session_factory() as own:
        await own.execute(
            insert(Payment).values(
                order_id=order.id,
                provider="yookassa",
                provider_payment_id=created.id,
                status=PaymentStatus.PENDING,
                amount=order.total,
                idempotence_key="two-stage",
            )
        )
        await own.commit()

    await shop.emulator.succeed(created.id)

    assert shop.emulator.payments[created.id]["status"] == "succeeded"
    assert await status_of(session, order.id) is S.PAID
    assert shop.notifier.paid == [order.id]


def test_create_provider_follows_the_setting() -> None:
    assert isinstance(create_provider(make_settings(), bot_username=BOT_USERNAME), YooKassaProvider)
    telegram = create_provider(
        make_settings(payment_provider="telegram", telegram_provider_token="381764678:TEST"),
        bot_username="b",
    )
    assert isinstance(telegram, TelegramProvider)
    cash = create_provider(make_settings(payment_provider="cash"), bot_username="b")
    assert isinstance(cash, CashProvider)
