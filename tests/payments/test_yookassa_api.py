"""The async YooKassa client against the emulator over real HTTP: round trips, the faults it
retries (5xx, 429, 202, dropped connections, stalls) and those it must not (4xx), timeouts,
and no threads."""

from __future__ import annotations

import asyncio
import base64
import logging
import math
import os
import threading
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from shopbot.emulators.yookassa import YooKassaEmulator
from shopbot.models import Payment
from shopbot.payments.base import PaymentError, ProviderUnavailable
from shopbot.payments.yookassa import YooKassaProvider, idempotence_key
from shopbot.payments.yookassa_api import NotFound, YooKassaClient
from tests.payments.conftest import BOT_USERNAME, SECRET, SHOP_ID, USER_ID, StartShop, place_order

READ_TIMEOUT = 0.3
DEADLINE = 1.0


def payment_params(value: str = "1299.00", *, capture: bool = True) -> dict[str, Any]:
    return {
        "amount": {"value": value, "currency": "RUB"},
        "confirmation": {"type": "redirect", "return_url": "https://t.me/shopbot_test_bot"},
        "capture": capture,
        "description": "Заказ №1001",
        "metadata": {"order_id": "7"},
    }


def fast_client(api_url: str, **overrides: Any) -> YooKassaClient:
    """A client with timeouts short enough for tests (the defaults are seconds long)."""
    options: dict[str, Any] = {
        "api_url": api_url,
        "connect_timeout": 0.5,
        "read_timeout": READ_TIMEOUT,
        "deadline": DEADLINE,
        "backoff": 0.02,
        "backoff_max": 0.1,
    }
    options.update(overrides)
    return YooKassaClient(SHOP_ID, SECRET, **options)


@pytest.fixture
async def yookassa() -> AsyncIterator[YooKassaEmulator]:
    emulator = YooKassaEmulator(SHOP_ID, SECRET)
    await emulator.start()
    yield emulator
    await emulator.stop()


@pytest.fixture
async def client(yookassa: YooKassaEmulator) -> AsyncIterator[YooKassaClient]:
    client = fast_client(yookassa.api_url)
    yield client
    await client.close()


def api_calls(emulator: YooKassaEmulator, method: str, path: str) -> list[dict[str, Any]]:
    return [r for r in emulator.requests if (r["method"], r["path"]) == (method, path)]


# -- round trips -------------------------------------------------------------------------------


async def test_create_and_get_a_payment(client: YooKassaClient, yookassa: YooKassaEmulator) -> None:
    created = await client.create_payment(payment_params(), "key-create-1")

    (request,) = yookassa.requests
    assert request["auth_ok"] is True
    assert request["idempotence_key"] == "key-create-1"
    assert request["json"]["amount"] == {"value": "1299.00", "currency": "RUB"}
    assert request["json"]["metadata"] == {"order_id": "7"}
    assert created.status == "pending"
    assert created.amount.value == 1299
    assert created.confirmation.confirmation_url.endswith(f"/checkout/{created.id}")

    found = await client.get_payment(created.id)
    assert (found.id, found.status, found.metadata) == (created.id, "pending", {"order_id": "7"})
    again = await client.create_payment(payment_params(), "key-create-1")
    assert again.id == created.id and list(yookassa.payments) == [created.id]


async def test_capture_a_payment_waiting_for_capture(
    client: YooKassaClient, yookassa: YooKassaEmulator
) -> None:
    created = await client.create_payment(payment_params(capture=False), "key-two-stage")
    await yookassa.succeed(created.id, notify=False)
    assert (await client.get_payment(created.id)).status == "waiting_for_capture"

    captured = await client.capture_payment(created.id, f"capture-{created.id}")

    assert captured.status == "succeeded"
    (capture,) = api_calls(yookassa, "POST", f"/v3/payments/{created.id}/capture")
    assert capture["idempotence_key"] == f"capture-{created.id}"
    assert capture["json"] is None


async def test_cancel_a_payment(client: YooKassaClient, yookassa: YooKassaEmulator) -> None:
    created = await client.create_payment(payment_params(), "key-cancel")

    canceled = await client.cancel_payment(created.id, f"cancel-{created.id}")

    assert canceled.status == "canceled"
    assert canceled.cancellation_details.reason == "canceled_by_merchant"
    with pytest.raises(PaymentError, match="only pending") as refused:
        await client.cancel_payment(created.id, f"cancel-again-{created.id}")
    assert not isinstance(refused.value, ProviderUnavailable)


async def test_refund_a_payment(client: YooKassaClient, yookassa: YooKassaEmulator) -> None:
    created = await client.create_payment(payment_params("500.00"), "key-refund")
    await yookassa.succeed(created.id, notify=False)
    params = {
        "payment_id": created.id,
        "amount": {"value": "200.00", "currency": "RUB"},
        "description": "Возврат по заказу №1001",
    }

    refund = await client.create_refund(params, f"refund-{created.id}")

    assert (refund.payment_id, refund.status, refund.amount.value) == (created.id, "succeeded", 200)
    (request,) = api_calls(yookassa, "POST", "/v3/refunds")
    assert request["idempotence_key"] == f"refund-{created.id}"
    assert request["json"]["payment_id"] == created.id
    found = await client.get_refund(refund.id)
    assert (found.id, found.status, found.cancellation_details) == (refund.id, "succeeded", None)
    payment = await client.get_payment(created.id)
    assert payment.refunded_amount.value == 200


async def test_unknown_objects_are_not_found(
    client: YooKassaClient, yookassa: YooKassaEmulator
) -> None:
    with pytest.raises(NotFound):
        await client.get_payment("2419a771-000f-5000-9000-1edaf29243f2")
    with pytest.raises(NotFound):
        await client.get_refund("2419a771-0015-5000-9000-1edaf29243f2")
    assert [r["status"] for r in yookassa.requests] == [404, 404]

    # An id that is no id (they come in unsigned notifications) is not put into a path.
    with pytest.raises(NotFound):
        await client.get_payment("../refunds/x")
    assert len(yookassa.requests) == 2


async def test_the_sdk_models_refuse_a_bad_request_before_anything_is_sent(
    client: YooKassaClient, yookassa: YooKassaEmulator
) -> None:
    with pytest.raises(PaymentError, match="SDK refused") as zero:
        await client.create_payment(payment_params("0.00"), "key-zero")
    with pytest.raises(PaymentError, match="SDK refused"):
        await client.create_refund({"amount": {"value": "1.00", "currency": "RUB"}}, "key-r")

    assert not isinstance(zero.value, ProviderUnavailable)
    assert yookassa.requests == []


async def test_close_ends_the_session_and_a_later_call_opens_another(
    client: YooKassaClient,
) -> None:
    created = await client.create_payment(payment_params(), "key-close")
    await client.close()

    assert (await client.get_payment(created.id)).id == created.id


# -- faults: what is retried and what is not ----------------------------------------------------


async def test_a_5xx_is_retried_with_the_same_idempotence_key(
    client: YooKassaClient, yookassa: YooKassaEmulator
) -> None:
    yookassa.fail_next("/payments", status=500)
    yookassa.fail_next("/payments", status=503)

    created = await client.create_payment(payment_params(), "key-5xx")

    creates = api_calls(yookassa, "POST", "/v3/payments")
    assert [r["status"] for r in creates] == [500, 503, 200]
    assert {r["idempotence_key"] for r in creates} == {"key-5xx"}
    assert list(yookassa.payments) == [created.id]


async def test_a_5xx_on_every_attempt_is_provider_unavailable(
    client: YooKassaClient, yookassa: YooKassaEmulator
) -> None:
    yookassa.fail_next("/payments/", status=500, times=client.attempts)
    created_id = "2419a771-000f-5000-9000-1edaf29243f2"

    with pytest.raises(ProviderUnavailable, match="500"):
        await client.get_payment(created_id)

    assert [r["status"] for r in yookassa.requests] == [500] * client.attempts


@pytest.mark.parametrize("status", [400, 401, 403])
async def test_a_4xx_is_refused_at_once(
    client: YooKassaClient, yookassa: YooKassaEmulator, status: int
) -> None:
    yookassa.fail_next("/payments", status=status)

    with pytest.raises(PaymentError, match="Injected failure") as refused:
        await client.create_payment(payment_params(), "key-4xx")

    assert not isinstance(refused.value, ProviderUnavailable)
    assert [r["status"] for r in yookassa.requests] == [status]
    assert yookassa.payments == {}


async def test_the_api_s_own_refusal_is_not_retried(yookassa: YooKassaEmulator) -> None:
    yookassa.require_receipt = True
    client = fast_client(yookassa.api_url)
    wrong_secret = YooKassaClient(SHOP_ID, "wrong", api_url=yookassa.api_url)
    try:
        with pytest.raises(PaymentError, match="Receipt is missing"):
            await client.create_payment(payment_params(), "key-no-receipt")
        with pytest.raises(PaymentError, match="Login or password is incorrect"):
            await wrong_secret.get_payment("2419a771-000f-5000-9000-1edaf29243f2")
    finally:
        await client.close()
        await wrong_secret.close()

    assert [r["status"] for r in yookassa.requests] == [400, 401]


async def test_a_429_waits_as_long_as_retry_after_says(yookassa: YooKassaEmulator) -> None:
    client = fast_client(yookassa.api_url, deadline=3.0)
    yookassa.fail_next("/payments", status=429, retry_after=1)
    started = time.monotonic()
    try:
        await client.create_payment(payment_params(), "key-429")
    finally:
        await client.close()

    assert time.monotonic() - started >= 1.0  # the client's own backoff is 0.1 s at most
    assert [r["status"] for r in yookassa.requests] == [429, 200]


async def test_a_retry_after_beyond_the_deadline_gives_up_at_once(
    client: YooKassaClient, yookassa: YooKassaEmulator
) -> None:
    yookassa.fail_next("/payments", status=429, retry_after=60)
    started = time.monotonic()

    with pytest.raises(ProviderUnavailable, match="429"):
        await client.create_payment(payment_params(), "key-429-long")

    assert time.monotonic() - started < DEADLINE
    assert len(yookassa.requests) == 1


async def test_processing_202_is_asked_again_after_its_retry_after(
    client: YooKassaClient, yookassa: YooKassaEmulator
) -> None:
    yookassa.processing_next("/payments", retry_after_ms=300)
    started = time.monotonic()

    created = await client.create_payment(payment_params(), "key-202")

    assert time.monotonic() - started >= 0.3
    creates = api_calls(yookassa, "POST", "/v3/payments")
    assert [(r["status"], r["idempotence_key"]) for r in creates] == [
        (202, "key-202"),
        (200, "key-202"),
    ]
    assert list(yookassa.payments) == [created.id]


async def test_still_processing_after_the_last_attempt_is_provider_unavailable(
    client: YooKassaClient, yookassa: YooKassaEmulator
) -> None:
    yookassa.processing_next("/payments", times=client.attempts, retry_after_ms=10)

    with pytest.raises(ProviderUnavailable, match="processing"):
        await client.create_payment(payment_params(), "key-202-forever")

    assert yookassa.payments == {}


async def test_a_dropped_connection_is_retried(
    client: YooKassaClient, yookassa: YooKassaEmulator
) -> None:
    yookassa.drop_next("/payments")

    created = await client.create_payment(payment_params(), "key-drop")

    assert [r["status"] for r in yookassa.requests] == [0, 200]
    assert list(yookassa.payments) == [created.id]


async def test_an_answer_lost_after_the_payment_was_made_gets_the_same_payment(
    client: YooKassaClient, yookassa: YooKassaEmulator
) -> None:
    yookassa.drop_next("/payments", processed=True)

    created = await client.create_payment(payment_params(), "key-lost-answer")

    assert [r["status"] for r in yookassa.requests] == [0, 200]
    assert list(yookassa.payments) == [created.id]  # made by the first request, replayed


async def test_unreachable_is_provider_unavailable() -> None:
    client = fast_client("http://127.0.0.1:9/v3")
    try:
        with pytest.raises(ProviderUnavailable, match="could not be reached"):
            await client.get_payment("2419a771-000f-5000-9000-1edaf29243f2")
    finally:
        await client.close()


# -- stalls and timeouts ------------------------------------------------------------------------


async def test_a_stall_times_out_within_the_deadline(
    client: YooKassaClient, yookassa: YooKassaEmulator
) -> None:
    created = await client.create_payment(payment_params(), "key-before-stall")
    yookassa.stall("/payments/")
    started = time.monotonic()

    with pytest.raises(ProviderUnavailable, match="could not be reached"):
        await client.get_payment(created.id)

    elapsed = time.monotonic() - started
    assert READ_TIMEOUT <= elapsed < DEADLINE + 0.3
    assert yookassa.held >= 1  # swallowed, never answered
    yookassa.unstall()
    assert (await client.get_payment(created.id)).id == created.id


async def test_a_slow_answer_within_the_read_timeout_is_waited_for(
    client: YooKassaClient, yookassa: YooKassaEmulator
) -> None:
    yookassa.stall("/payments", seconds=READ_TIMEOUT / 3)

    created = await client.create_payment(payment_params(), "key-slow")

    assert [r["status"] for r in yookassa.requests] == [200]
    assert list(yookassa.payments) == [created.id]


async def test_an_answer_slower_than_the_read_timeout_is_retried(
    yookassa: YooKassaEmulator,
) -> None:
    client = fast_client(yookassa.api_url, read_timeout=0.2, deadline=3.0, attempts=2)
    yookassa.stall("/payments", seconds=0.4)
    try:
        with pytest.raises(ProviderUnavailable):
            await client.create_payment(payment_params(), "key-too-slow")
        await asyncio.sleep(0.4)  # the stalled requests are answered into closed sockets
        yookassa.unstall()
        created = await client.create_payment(payment_params(), "key-too-slow")
    finally:
        await client.close()

    # Processed late by the emulator, as YooKassa would: the key still gets one payment.
    assert list(yookassa.payments) == [created.id]
    assert {r["idempotence_key"] for r in yookassa.requests} == {"key-too-slow"}


async def test_no_thread_is_used(
    client: YooKassaClient, yookassa: YooKassaEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    loop = asyncio.get_running_loop()
    offloaded: list[Any] = []

    def run_in_executor(executor: Any, func: Any, *args: Any) -> Any:
        offloaded.append(func)
        raise AssertionError(f"{func!r} was sent to a thread")

    monkeypatch.setattr(loop, "run_in_executor", run_in_executor)
    threads = threading.active_count()

    created = await client.create_payment(payment_params(), "key-threads")
    await client.get_payment(created.id)
    yookassa.stall("/cancel")
    for _ in range(3):
        with pytest.raises(ProviderUnavailable):
            await client.cancel_payment(created.id, f"cancel-{created.id}")
    yookassa.unstall()
    await client.cancel_payment(created.id, f"cancel-{created.id}")

    assert offloaded == []
    assert threading.active_count() == threads


async def test_the_secret_is_never_logged(
    client: YooKassaClient, yookassa: YooKassaEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    yookassa.fail_next("/payments", status=500)
    yookassa.drop_next("/payments")

    await client.create_payment(payment_params(), "key-logged")

    token = base64.b64encode(f"{SHOP_ID}:{SECRET}".encode()).decode()
    assert "again in" in caplog.text  # the retries were logged
    assert SECRET not in caplog.text and token not in caplog.text
    assert SECRET not in repr(client) and token not in repr(client)


# -- the bug: a stalled YooKassa, then payment starts after it recovered ----------------------


async def test_after_a_stall_eight_payment_starts_all_succeed(
    start_shop: StartShop, session: AsyncSession
) -> None:
    """A YooKassa that accepts connections and never answers used to leave a thread behind
    per payment start; once they filled the default executor, no start succeeded after
    YooKassa recovered. Here as many starts as that executor has threads, and more, stall
    and fail in time; then eight starts succeed on the first try."""
    shop = await start_shop()
    emulator = shop.emulator
    provider = YooKassaProvider(
        shop.settings, bot_username=BOT_USERNAME, client=fast_client(emulator.api_url)
    )
    orders = [(await place_order(session, user_id=USER_ID + n))[0] for n in range(8)]

    async def start(order_index: int) -> Any:
        async with shop.session_factory() as own:
            return await provider.start(own, orders[order_index])

    emulator.stall("/payments")
    executor_threads = min(32, (os.cpu_count() or 1) + 4)  # ThreadPoolExecutor's default
    try:
        for _ in range(math.ceil((executor_threads + 1) / len(orders))):
            started = time.monotonic()
            failed = await asyncio.gather(*map(start, range(8)), return_exceptions=True)
            assert time.monotonic() - started < DEADLINE + 1.0
            assert all(isinstance(outcome, ProviderUnavailable) for outcome in failed), failed
        assert emulator.held > executor_threads
        assert emulator.payments == {}

        emulator.unstall()
        links = await asyncio.gather(*map(start, range(8)))
    finally:
        await provider.close()

    assert emulator.held > executor_threads  # the swallowed requests are still unanswered
    assert {link.provider_payment_id for link in links} == set(emulator.payments)
    assert len(emulator.payments) == 8
    answered = [r for r in emulator.requests if r["status"] == 200]
    assert sorted(r["idempotence_key"] for r in answered) == sorted(
        idempotence_key(order, 1) for order in orders
    )
    await session.commit()
    recorded = await session.scalars(select(Payment.provider_payment_id))
    assert set(recorded) == set(emulator.payments)


async def test_calls_are_timed_and_failures_counted_by_operation(
    client: YooKassaClient, yookassa: YooKassaEmulator
) -> None:
    def sample(name: str, **labels: str) -> float:
        return REGISTRY.get_sample_value(name, {"provider": "yookassa", **labels}) or 0.0

    get = {"operation": "GET /payments/{id}"}
    create = {"operation": "POST /payments"}
    failed = {**get, "error": "ProviderUnavailable"}
    before = [
        sample("shopbot_payment_provider_seconds_count", **create),
        sample("shopbot_payment_provider_seconds_count", **get),
        sample("shopbot_payment_provider_errors_total", **failed),
    ]
    created = await client.create_payment(payment_params(), "key-metrics-1")
    yookassa.fail_next("/payments/", status=500, times=client.attempts)
    with pytest.raises(ProviderUnavailable):
        await client.get_payment(created.id)

    after = [
        sample("shopbot_payment_provider_seconds_count", **create),
        sample("shopbot_payment_provider_seconds_count", **get),
        sample("shopbot_payment_provider_errors_total", **failed),
    ]
    assert [b - a for a, b in zip(before, after, strict=True)] == [1, 1, 1]
