"""YooKassa notifications through the shop's web server, sent by the emulator over HTTP."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest
from sqlalchemy.ext.asyncio import AsyncSession
from yookassa import Payment as YooPayment
from yookassa import Refund as YooRefund

from shopbot.i18n import render_stored
from shopbot.models import OrderStatus, PaymentStatus
from shopbot.payments.yookassa_api import ATTEMPTS
from shopbot.services import orders
from tests.payments.conftest import (
    Shop,
    StartShop,
    direct_payment,
    place_order,
    sdk,
    status_events,
    status_of,
    stock_of,
)

S = OrderStatus
YOOKASSA_ADDRESS = "77.75.153.10"
FAKE_ID = "2419a771-000f-5000-9000-1edaf29243f2"


async def post(shop: Shop, body: Any, headers: dict[str, str] | None = None) -> int:
    async with (
        aiohttp.ClientSession() as client,
        client.post(shop.webhook_url, data=body, headers=headers) as response,
    ):
        return response.status


async def test_paid_on_yookassa_order_paid_stock_kept_notified_once(
    shop: Shop, session: AsyncSession
) -> None:
    order, product = await place_order(session, stock=5, quantity=2)
    link = await shop.provider.start(session, order)

    await shop.emulator.succeed(link.provider_payment_id)

    assert shop.emulator.notifications[-1]["status"] == 200
    paid = await orders.get_order(session, order.id)
    assert paid.status is S.PAID
    assert paid.paid_at is not None
    assert await stock_of(session, product.id) == 3
    assert shop.notifier.status_changes == [(order.id, S.AWAITING_PAYMENT, S.PAID, None)]
    assert shop.notifier.paid == [order.id]
    events = await orders.events_of(session, order.id)
    paid_event = next(e for e in events if e.to_status == S.PAID)
    assert paid_event.actor == "yookassa:webhook"
    assert paid_event.details["provider_payment_id"] == link.provider_payment_id
    payment_event = next(e for e in events if e.kind == "payment")
    assert payment_event.details["payment_status"] == PaymentStatus.SUCCEEDED


async def test_the_same_notification_ten_times_changes_the_order_once(
    shop: Shop, session: AsyncSession
) -> None:
    order, product = await place_order(session)
    link = await shop.provider.start(session, order)
    await shop.emulator.succeed(link.provider_payment_id)

    statuses = [
        await shop.emulator.notify("payment.succeeded", link.provider_payment_id) for _ in range(10)
    ]

    assert statuses == [200] * 10
    assert await status_events(session, order.id) == [("awaiting_payment", "paid")]
    assert len(shop.notifier.status_changes) == 1
    assert shop.notifier.paid == [order.id]
    assert await stock_of(session, product.id) == 3
    kinds = [event.kind for event in await orders.events_of(session, order.id)]
    assert kinds.count("payment") == 1


async def test_forged_notification_about_an_unknown_payment_changes_nothing(
    shop: Shop, session: AsyncSession
) -> None:
    order, _ = await place_order(session)
    await shop.provider.start(session, order)
    forged = {
        "id": FAKE_ID,
        "status": "succeeded",
        "paid": True,
        "amount": {"value": "2598.00", "currency": "RUB"},
        "metadata": {"order_id": str(order.id)},
    }

    status = await shop.emulator.notify("payment.succeeded", FAKE_ID, obj=forged)

    assert status == 200  # answered, so YooKassa (or whoever) stops retrying
    assert await status_of(session, order.id) is S.AWAITING_PAYMENT
    assert shop.notifier.status_changes == shop.notifier.attention == []


async def test_forged_status_is_not_believed_the_api_says_pending(
    shop: Shop, session: AsyncSession
) -> None:
    order, _ = await place_order(session)
    link = await shop.provider.start(session, order)
    forged = {**shop.emulator.payments[link.provider_payment_id], "status": "succeeded"}
    forged.pop("receipt", None)

    status = await shop.emulator.notify("payment.succeeded", link.provider_payment_id, obj=forged)

    assert status == 200
    assert await status_of(session, order.id) is S.AWAITING_PAYMENT
    assert shop.notifier.status_changes == []
    assert [r["path"] for r in shop.emulator.requests][-1] == (
        f"/v3/payments/{link.provider_payment_id}"
    )


async def test_payment_with_another_amount_is_flagged_never_paid(
    shop: Shop, session: AsyncSession
) -> None:
    """A real payment at YooKassa naming our order, but for less than the order costs."""
    order, _ = await place_order(session)
    await shop.provider.start(session, order)
    cheap = await sdk(shop, YooPayment.create, direct_payment(order, "1.00"), "forged-amount")

    await shop.emulator.succeed(cheap.id)
    await shop.emulator.notify("payment.succeeded", cheap.id)

    flagged = await orders.get_order(session, order.id)
    assert flagged.status is S.AWAITING_PAYMENT
    assert flagged.attention is not None and cheap.id in flagged.attention
    assert shop.notifier.attention == [(order.id, flagged.attention)]  # once, not per delivery
    assert shop.notifier.status_changes == shop.notifier.paid == []


async def test_untrusted_address_is_refused(start_shop: StartShop, session: AsyncSession) -> None:
    shop = await start_shop(yookassa_trusted_networks=["77.75.153.0/25"])
    order, _ = await place_order(session)
    link = await shop.provider.start(session, order)

    await shop.emulator.succeed(link.provider_payment_id)

    assert shop.emulator.notifications[-1]["status"] == 403
    assert await status_of(session, order.id) is S.AWAITING_PAYMENT
    assert shop.notifier.status_changes == []


@pytest.mark.parametrize(
    ("proxies", "forwarded_for", "expected"),
    [
        # Our proxy on 127.0.0.1 saw YooKassa connect: accepted.
        (["127.0.0.1/32"], YOOKASSA_ADDRESS, 200),
        # A client wrote YooKassa's address itself; our proxy appended the real one.
        (["127.0.0.1/32"], f"{YOOKASSA_ADDRESS}, 203.0.113.7", 403),
        # Two proxies of ours in a row: the right-most untrusted hop is YooKassa.
        (["127.0.0.1/32", "10.0.0.0/8"], f"{YOOKASSA_ADDRESS}, 10.1.2.3", 200),
        # No trusted proxy: the header is anyone's to write.
        ([], YOOKASSA_ADDRESS, 403),
        (["127.0.0.1/32"], "not-an-address", 403),
    ],
)
async def test_x_forwarded_for_is_honoured_only_from_a_trusted_proxy(
    start_shop: StartShop,
    session: AsyncSession,
    proxies: list[str],
    forwarded_for: str,
    expected: int,
) -> None:
    shop = await start_shop(yookassa_trusted_networks=["77.75.153.0/25"], trusted_proxies=proxies)
    order, _ = await place_order(session)
    link = await shop.provider.start(session, order)
    await shop.emulator.succeed(link.provider_payment_id, notify=False)

    status = await shop.emulator.notify(
        "payment.succeeded",
        link.provider_payment_id,
        headers={"X-Forwarded-For": forwarded_for},
    )

    assert status == expected
    expected_status = S.PAID if expected == 200 else S.AWAITING_PAYMENT
    assert await status_of(session, order.id) is expected_status


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[]",
        b'{"type": "ping", "event": "payment.succeeded", "object": {"id": "x"}}',
        b'{"type": "notification", "event": "payment.exploded", "object": {"id": "x"}}',
        b'{"type": "notification", "event": "payment.succeeded", "object": {}}',
        b'{"type": "notification", "event": "payment.succeeded", "object": {"id": 5}}',
        b'{"type": "notification", "event": "payment.succeeded", "object": {"id": "../refunds"}}',
        b'{"type": "notification", "event": "payment.succeeded"}',
        b"[" * 50_000,  # nested deeper than the parser goes
        b'{"type": "notification", "event": "payment.succeeded", "object": {"id": "x", "m": '
        + b"[" * 50_000
        + b"]" * 50_000
        + b"}}",
    ],
)
async def test_malformed_bodies_are_400(shop: Shop, body: bytes) -> None:
    assert await post(shop, body, {"Content-Type": "application/json"}) == 400
    assert shop.emulator.requests == []  # nothing was even asked


async def test_cancelled_on_yookassa_keeps_the_order_and_its_stock_for_another_payment(
    shop: Shop, session: AsyncSession
) -> None:
    """The shopper cancels on the payment page (or the bank refuses): the order keeps its
    items until it expires, the shopper is told once, and a new payment can be made."""
    order, product = await place_order(session, stock=5, quantity=2)
    link = await shop.provider.start(session, order)

    await shop.emulator.cancel_by_user(link.provider_payment_id, reason="insufficient_funds")
    assert await shop.emulator.notify("payment.canceled", link.provider_payment_id) == 200

    assert await status_of(session, order.id) is S.AWAITING_PAYMENT
    assert await stock_of(session, product.id) == 3
    assert shop.notifier.failed == [(order.id, "insufficient_funds")]
    assert shop.notifier.status_changes == [] and shop.notifier.paid == []
    again = await shop.provider.start(session, order)
    assert again.provider_payment_id != link.provider_payment_id
    await shop.emulator.succeed(again.provider_payment_id)
    assert await status_of(session, order.id) is S.PAID
    assert await stock_of(session, product.id) == 3


async def test_refund_in_the_dashboard_refunds_the_order(shop: Shop, session: AsyncSession) -> None:
    order, product = await place_order(session, stock=5, quantity=2)
    link = await shop.provider.start(session, order)
    await shop.emulator.succeed(link.provider_payment_id)

    refund = await sdk(
        shop,
        YooRefund.create,
        {
            "payment_id": link.provider_payment_id,
            "amount": {"value": "2598.00", "currency": "RUB"},
        },
    )

    assert shop.emulator.notifications[-1]["event"] == "refund.succeeded"
    assert shop.emulator.notifications[-1]["body"]["object"]["id"] == refund.id
    assert shop.emulator.notifications[-1]["status"] == 200
    assert await status_of(session, order.id) is S.REFUNDED
    assert await stock_of(session, product.id) == 5  # paid, not shipped: back on the shelf
    assert shop.notifier.status_changes[-1] == (order.id, S.PAID, S.REFUNDED, None)


async def test_partial_refund_in_the_dashboard_keeps_the_order_and_tells_the_owner(
    shop: Shop, session: AsyncSession
) -> None:
    """The shop refunds only in full; a part refunded by hand leaves the order paid, and the
    owner is told once, with the amounts, to settle the rest."""
    order, product = await place_order(session)
    link = await shop.provider.start(session, order)
    await shop.emulator.succeed(link.provider_payment_id)

    refund = await sdk(
        shop,
        YooRefund.create,
        {"payment_id": link.provider_payment_id, "amount": {"value": "100.00", "currency": "RUB"}},
    )
    await shop.emulator.notify("refund.succeeded", refund.id)  # YooKassa repeats itself

    assert [n["status"] for n in shop.emulator.notifications[-2:]] == [200, 200]
    flagged = await orders.get_order(session, order.id)
    assert flagged.status is S.PAID
    reason = (
        f"100\u00a0₽ of 2\u00a0598\u00a0₽ refunded at YooKassa "
        f"(payment {link.provider_payment_id}): the order was not changed"
    )
    assert flagged.attention is not None and render_stored(flagged.attention, "en") == reason
    assert render_stored(flagged.attention, "ru") == (
        f"ЮKassa: возвращено 100\u00a0₽ из 2\u00a0598\u00a0₽ "
        f"(платёж {link.provider_payment_id}); заказ не изменён"
    )
    assert shop.notifier.attention == [(order.id, flagged.attention)]
    assert await stock_of(session, product.id) == 3
    event = next(e for e in await orders.events_of(session, order.id) if e.kind == "attention")
    assert event.details["refunded"] == 10000

    # The owner settles it and clears the flag; YooKassa repeating itself does not bring it
    # back.
    assert await orders.clear_attention(session, order.id, actor="admin:1") == flagged.attention
    await shop.emulator.notify("refund.succeeded", refund.id)
    assert (await orders.get_order(session, order.id)).attention is None
    assert len(shop.notifier.attention) == 1

    await sdk(  # the rest, by hand too: now the order is refunded
        shop,
        YooRefund.create,
        {"payment_id": link.provider_payment_id, "amount": {"value": "2498.00", "currency": "RUB"}},
    )
    assert await status_of(session, order.id) is S.REFUNDED
    assert len(shop.notifier.attention) == 1


async def test_unknown_refund_is_ignored(shop: Shop) -> None:
    status = await shop.emulator.notify("refund.succeeded", FAKE_ID, obj={"id": FAKE_ID})

    assert status == 200


async def test_api_down_answers_500_so_yookassa_retries(shop: Shop, session: AsyncSession) -> None:
    order, _ = await place_order(session)
    link = await shop.provider.start(session, order)
    await shop.emulator.succeed(link.provider_payment_id, notify=False)
    shop.emulator.fail_next(f"/payments/{link.provider_payment_id}", status=503, times=ATTEMPTS)

    first = await shop.emulator.notify("payment.succeeded", link.provider_payment_id)
    retry = await shop.emulator.notify("payment.succeeded", link.provider_payment_id)

    assert (first, retry) == (500, 200)
    assert await status_of(session, order.id) is S.PAID
    assert shop.notifier.paid == [order.id]
