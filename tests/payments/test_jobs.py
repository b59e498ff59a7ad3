"""Order expiry, late payments and the reconciler, against the emulator."""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import timedelta

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from shopbot.db import create_engine, create_session_factory
from shopbot.i18n import render_stored
from shopbot.models import Order, OrderStatus, Payment, PaymentStatus, Product, utcnow
from shopbot.payments.base import RefundResult, RefundStatus
from shopbot.payments.expiry import expire_orders
from shopbot.payments.jobs import BackgroundJobs
from shopbot.payments.reconciler import reconcile_pending
from shopbot.payments.yookassa import YooKassaProvider
from shopbot.payments.yookassa_api import ATTEMPTS
from shopbot.services import orders
from tests.payments.conftest import (
    BOT_USERNAME,
    Shop,
    outbox_of,
    place_order,
    status_events,
    status_of,
    stock_of,
)

S = OrderStatus


async def make_due(session: AsyncSession, order: Order) -> None:
    await session.execute(
        update(Order).where(Order.id == order.id).values(expires_at=utcnow() - timedelta(seconds=1))
    )
    await session.commit()


async def expire_without_cancelling(session: AsyncSession) -> None:
    """Expire as if YooKassa had refused to cancel the payment (or could not be reached)."""
    await orders.expire_due(session, now=utcnow() + timedelta(days=1))


async def payment_status(session: AsyncSession, order_id: int) -> PaymentStatus:
    await session.commit()
    status = await session.scalar(select(Payment.status).where(Payment.order_id == order_id))
    assert status is not None
    return status


async def test_expiry_returns_stock_cancels_the_payment_and_tells_the_shopper(
    shop: Shop, session: AsyncSession
) -> None:
    order, product = await place_order(session, stock=5, quantity=2)
    link = await shop.provider.start(session, order)
    await make_due(session, order)

    expired = await expire_orders(shop.session_factory, shop.provider)

    assert [o.id for o in expired] == [order.id]
    assert await status_of(session, order.id) is S.EXPIRED
    assert await stock_of(session, product.id) == 5
    yookassa_payment = shop.emulator.payments[link.provider_payment_id]
    assert yookassa_payment["status"] == "canceled"
    assert yookassa_payment["cancellation_details"]["party"] == "merchant"
    assert await payment_status(session, order.id) is PaymentStatus.CANCELED
    assert shop.notifier.status_changes == [(order.id, S.AWAITING_PAYMENT, S.EXPIRED, None)]
    # The shop's own cancellation came back as a notification and changed nothing.
    assert shop.emulator.notifications[-1]["event"] == "payment.canceled"
    assert shop.emulator.notifications[-1]["status"] == 200

    assert await expire_orders(shop.session_factory, shop.provider) == []


async def test_paid_at_the_last_moment_is_not_lost_by_expiry(
    shop: Shop, session: AsyncSession
) -> None:
    """The shopper paid just before the deadline and the notification is not in yet: the
    cancel is refused, and the payment is applied as a late payment."""
    order, product = await place_order(session, stock=5, quantity=2)
    link = await shop.provider.start(session, order)
    await shop.emulator.succeed(link.provider_payment_id, notify=False)
    await make_due(session, order)

    await expire_orders(shop.session_factory, shop.provider)

    assert await status_of(session, order.id) is S.PAID
    assert await stock_of(session, product.id) == 3
    assert await status_events(session, order.id) == [
        ("awaiting_payment", "expired"),
        ("expired", "paid"),
    ]
    assert [change[2] for change in shop.notifier.status_changes] == [S.EXPIRED, S.PAID]
    assert shop.notifier.paid == [order.id]


async def test_payment_after_expiry_takes_the_stock_again(
    shop: Shop, session: AsyncSession
) -> None:
    order, product = await place_order(session, stock=5, quantity=2)
    link = await shop.provider.start(session, order)
    await expire_without_cancelling(session)
    assert await stock_of(session, product.id) == 5

    await shop.emulator.succeed(link.provider_payment_id)

    assert await status_of(session, order.id) is S.PAID
    assert await stock_of(session, product.id) == 3
    assert shop.notifier.paid == [order.id]
    assert shop.notifier.attention == []


async def test_payment_after_expiry_without_stock_is_flagged_for_a_refund(
    shop: Shop, session: AsyncSession
) -> None:
    order, product = await place_order(session, stock=2, quantity=2)
    link = await shop.provider.start(session, order)
    await expire_without_cancelling(session)
    await session.execute(update(Product).where(Product.id == product.id).values(stock=1))
    await session.commit()

    await shop.emulator.succeed(link.provider_payment_id)
    await shop.emulator.notify("payment.succeeded", link.provider_payment_id)

    flagged = await orders.get_order(session, order.id)
    assert flagged.status is S.EXPIRED
    assert flagged.attention is not None
    assert render_stored(flagged.attention, "en").startswith("paid after expiry, no stock: refund")
    assert render_stored(flagged.attention, "ru").startswith(
        "оплачен после истечения срока, а товара уже нет: верните деньги"
    )
    assert shop.notifier.attention == [(order.id, flagged.attention)]
    assert shop.notifier.paid == []
    assert await stock_of(session, product.id) == 1
    # The money did arrive: the payment row says so, and the owner can send it back.
    assert await payment_status(session, order.id) is PaymentStatus.SUCCEEDED

    result = await shop.provider.refund(session, flagged, "admin:1")

    assert result.status is RefundStatus.REFUNDED
    assert result.order.status is S.EXPIRED
    assert shop.emulator.payments[link.provider_payment_id]["refunded_amount"]["value"] == "2598.00"
    assert await payment_status(session, order.id) is PaymentStatus.REFUNDED


async def test_lost_notification_is_caught_by_the_reconciler(
    shop: Shop, session: AsyncSession
) -> None:
    order, product = await place_order(session, stock=5, quantity=2)
    link = await shop.provider.start(session, order)
    await shop.emulator.succeed(link.provider_payment_id, notify=False)

    checked = await reconcile_pending(shop.session_factory, shop.provider)

    assert checked == 1
    assert await status_of(session, order.id) is S.PAID
    assert await stock_of(session, product.id) == 3
    assert shop.notifier.paid == [order.id]
    events = await orders.events_of(session, order.id)
    assert next(e for e in events if e.to_status == S.PAID).actor == "yookassa:refresh"
    # Nothing is open any more: the next pass asks YooKassa nothing.
    requests_before = len(shop.emulator.requests)
    assert await reconcile_pending(shop.session_factory, shop.provider) == 0
    assert len(shop.emulator.requests) == requests_before


async def refund_held_by_yookassa(
    shop: Shop, session: AsyncSession
) -> tuple[Order, Product, RefundResult]:
    """A paid YooKassa order, refunded from the admin card; YooKassa keeps the refund pending."""
    order, product = await place_order(session, stock=5, quantity=2)
    link = await shop.provider.start(session, order)
    await shop.emulator.succeed(link.provider_payment_id)
    shop.emulator.hold_refunds = True
    result = await shop.provider.refund(session, order, "admin:1")
    return order, product, result


async def test_a_pending_refund_whose_notification_is_lost_is_followed_up(
    shop: Shop, session: AsyncSession
) -> None:
    order, product, result = await refund_held_by_yookassa(shop, session)
    assert result.status is RefundStatus.PENDING and result.order.status is S.PAID
    assert result.refund_id is not None

    # Still pending at YooKassa: asked about, nothing changes.
    assert await reconcile_pending(shop.session_factory, shop.provider) == 1
    assert await status_of(session, order.id) is S.PAID

    await shop.emulator.settle_refund(result.refund_id, notify=False)  # the webhook is lost
    assert await reconcile_pending(shop.session_factory, shop.provider) == 1

    assert await status_of(session, order.id) is S.REFUNDED
    assert await stock_of(session, product.id) == 5
    assert shop.notifier.status_changes[-1] == (order.id, S.PAID, S.REFUNDED, None)
    settled = [e for e in await orders.events_of(session, order.id) if e.kind == "refund_settled"]
    assert [e.details for e in settled] == [
        {"refund_id": result.refund_id, "refund_status": "succeeded"}
    ]
    # Settled: the next pass asks YooKassa nothing.
    requests_before = len(shop.emulator.requests)
    assert await reconcile_pending(shop.session_factory, shop.provider) == 0
    assert len(shop.emulator.requests) == requests_before


async def test_a_refund_yookassa_cancels_flags_the_order_once(
    shop: Shop, session: AsyncSession
) -> None:
    order, _, result = await refund_held_by_yookassa(shop, session)
    assert result.refund_id is not None

    await shop.emulator.settle_refund(result.refund_id, succeed=False)  # no notification
    await reconcile_pending(shop.session_factory, shop.provider)
    await reconcile_pending(shop.session_factory, shop.provider)

    await session.commit()  # a fresh snapshot
    flagged = await orders.get_order(session, order.id)
    assert flagged.status is S.PAID
    reason = (
        f"refund {result.refund_id} was cancelled by YooKassa (general_decline): "
        "the money did not go back to the shopper"
    )
    assert flagged.attention is not None and render_stored(flagged.attention, "en") == reason
    assert shop.notifier.attention == [(order.id, flagged.attention)]
    # The money is still there to refund: the owner can try again.
    shop.emulator.hold_refunds = False
    again = await shop.provider.refund(session, order, "admin:1")
    assert again.status is RefundStatus.REFUNDED and again.order.status is S.REFUNDED


async def test_reconciler_cancels_payments_left_open_by_a_failed_expiry(
    shop: Shop, session: AsyncSession
) -> None:
    order, _ = await place_order(session)
    link = await shop.provider.start(session, order)
    await expire_without_cancelling(session)

    await reconcile_pending(shop.session_factory, shop.provider)

    assert shop.emulator.payments[link.provider_payment_id]["status"] == "canceled"
    assert await payment_status(session, order.id) is PaymentStatus.CANCELED
    assert await status_of(session, order.id) is S.EXPIRED


async def test_reconciler_stops_when_yookassa_is_down(shop: Shop, session: AsyncSession) -> None:
    order, _ = await place_order(session)
    await shop.provider.start(session, order)
    shop.emulator.fail_next("/payments/", status=500, times=ATTEMPTS)

    assert await reconcile_pending(shop.session_factory, shop.provider) == 0
    assert await status_of(session, order.id) is S.AWAITING_PAYMENT


async def test_refresh_is_the_check_payment_button(shop: Shop, session: AsyncSession) -> None:
    order, _ = await place_order(session)
    link = await shop.provider.start(session, order)
    assert (await shop.provider.refresh(session, order)).status is (S.AWAITING_PAYMENT)
    await shop.emulator.succeed(link.provider_payment_id, notify=False)

    refreshed = await shop.provider.refresh(session, order)

    assert refreshed.status is S.PAID
    assert shop.notifier.paid == [order.id]


class FlakyProvider(YooKassaProvider):
    """Fails its first refresh with an unexpected error."""

    failed = False

    async def refresh(self, session: AsyncSession, order: Order) -> Order:
        if not self.failed:
            self.failed = True
            raise RuntimeError("unexpected")
        return await super().refresh(session, order)


async def test_background_jobs_survive_a_failing_pass(
    shop: Shop, session: AsyncSession, caplog: pytest.LogCaptureFixture
) -> None:
    paid_order, _ = await place_order(session, stock=5, quantity=1)
    link = await shop.provider.start(session, paid_order)
    await shop.emulator.succeed(link.provider_payment_id, notify=False)
    provider = FlakyProvider(shop.settings, bot_username=BOT_USERNAME)
    jobs = BackgroundJobs(shop.settings, shop.session_factory, provider, outbox_of(shop))

    with caplog.at_level(logging.ERROR, logger="shopbot.payments.jobs"):
        jobs.start()
        try:
            await shop.notifier.wait_until(lambda: shop.notifier.paid)
        finally:
            await jobs.stop()

    assert provider.failed
    assert "reconcile payments" in caplog.text
    assert await status_of(session, paid_order.id) is S.PAID
    assert shop.notifier.paid == [paid_order.id]


async def test_background_jobs_expire_orders_and_stop_cleanly(
    shop: Shop, session: AsyncSession
) -> None:
    order, product = await place_order(session, stock=5, quantity=2)
    await shop.provider.start(session, order)
    await make_due(session, order)
    jobs = BackgroundJobs(shop.settings, shop.session_factory, shop.provider, outbox_of(shop))

    jobs.start()
    with pytest.raises(RuntimeError):
        jobs.start()
    try:
        await shop.notifier.wait_until(lambda: shop.notifier.status_changes)
    finally:
        await jobs.stop()

    assert shop.notifier.status_changes == [(order.id, S.AWAITING_PAYMENT, S.EXPIRED, None)]
    assert await stock_of(session, product.id) == 5
    await jobs.stop()  # stopping twice is harmless
    expiry = {"job": "expire orders"}
    assert (REGISTRY.get_sample_value("shopbot_job_pass_seconds_count", expiry) or 0) >= 1
    last = REGISTRY.get_sample_value("shopbot_job_last_success_timestamp_seconds", expiry)
    assert last is not None and abs(last - time.time()) < 60


async def test_a_job_pass_runs_in_one_replica_at_a_time(shop: Shop, database_url: str) -> None:
    """Two shops on one PostgreSQL database: while one runs a pass of a job, the other skips
    that job's pass (other jobs go on); the lock is free again once the pass ends, even one
    cut short."""
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite serves a shop from one process: job passes take no lock")
    other = create_engine(database_url)
    replicas = [
        BackgroundJobs(shop.settings, shop.session_factory, shop.provider, outbox_of(shop)),
        BackgroundJobs(
            shop.settings, create_session_factory(other), shop.provider, outbox_of(shop)
        ),
    ]
    running: list[int] = []
    entered = asyncio.Event()
    finish = asyncio.Event()

    async def slow_pass() -> None:
        running.append(len(running))
        entered.set()
        await finish.wait()

    async def quick_pass() -> None:
        running.append(len(running))

    try:
        first = asyncio.create_task(replicas[0].run_pass("expire orders", slow_pass))
        await entered.wait()
        assert await replicas[1].run_pass("expire orders", quick_pass) is False
        assert await replicas[1].run_pass("reconcile payments", quick_pass) is True
        finish.set()
        assert await first is True
        assert await replicas[1].run_pass("expire orders", quick_pass) is True
        assert running == [0, 1, 2]

        entered.clear()
        finish.clear()
        cut_short = asyncio.create_task(replicas[1].run_pass("expire orders", slow_pass))
        await entered.wait()
        assert await replicas[0].run_pass("expire orders", quick_pass) is False
        cut_short.cancel()
        await asyncio.gather(cut_short, return_exceptions=True)
        assert await replicas[0].run_pass("expire orders", quick_pass) is True
    finally:
        await other.dispose()
