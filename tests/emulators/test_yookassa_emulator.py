"""The YooKassa emulator, driven through the official (synchronous) ``yookassa`` SDK.

The SDK runs in a worker thread (``asyncio.to_thread``) while the emulator serves from the
test's event loop. ``Configuration`` is global, so every test configures it afresh.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator, Awaitable, Callable
from decimal import Decimal
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from yookassa import Configuration, Payment, Refund
from yookassa.domain.exceptions import (
    BadRequestError,
    InternalServerError,
    NotFoundError,
    UnauthorizedError,
)

from shopbot.emulators.yookassa import YooKassaEmulator

SHOP_ID = "654321"
SECRET = "test_secret_key"
RETURN_URL = "https://t.me/shopbot_test_bot"

StartEmulator = Callable[..., Awaitable[YooKassaEmulator]]


class Webhook:
    """A tiny shop-side webhook that records every notification body."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.url = ""
        self.runner = web.AppRunner(web.Application(), access_log=None)
        self.runner.app.router.add_post("/yookassa", self._receive)

    async def _receive(self, request: web.Request) -> web.Response:
        self.bodies.append(await request.json())
        return web.Response(text="ok")

    async def start(self) -> None:
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", 0).start()
        self.url = f"http://127.0.0.1:{self.runner.addresses[0][1]}/yookassa"


@pytest.fixture
async def webhook() -> AsyncIterator[Webhook]:
    hook = Webhook()
    await hook.start()
    yield hook
    await hook.runner.cleanup()


@pytest.fixture
async def start_emulator(webhook: Webhook) -> AsyncIterator[StartEmulator]:
    """Start an emulator (webhook wired by default) and point the SDK at it."""
    started: list[YooKassaEmulator] = []

    async def start(**options: Any) -> YooKassaEmulator:
        options.setdefault("webhook_url", webhook.url)
        emulator = YooKassaEmulator(SHOP_ID, SECRET, **options)
        await emulator.start()
        started.append(emulator)
        Configuration.configure(SHOP_ID, SECRET, api_url=emulator.api_url)
        return emulator

    yield start
    for emulator in started:
        await emulator.stop()


@pytest.fixture
async def emulator(start_emulator: StartEmulator) -> YooKassaEmulator:
    return await start_emulator()


def payment_params(**overrides: Any) -> dict[str, Any]:
    params: dict[str, Any] = {
        "amount": {"value": "1299.00", "currency": "RUB"},
        "capture": True,
        "confirmation": {"type": "redirect", "return_url": RETURN_URL},
        "description": "Заказ №42",
        "metadata": {"order_id": "42"},
    }
    params.update(overrides)
    return params


def receipt(*items: tuple[str, str, int]) -> dict[str, Any]:
    return {
        "customer": {"email": "buyer@example.com"},
        "items": [
            {
                "description": name,
                "quantity": quantity,
                "amount": {"value": price, "currency": "RUB"},
                "vat_code": 1,
                "payment_subject": "commodity",
                "payment_mode": "full_payment",
            }
            for name, price, quantity in items
        ],
    }


async def create_payment(key: str | None = None, **overrides: Any) -> Any:
    return await asyncio.to_thread(Payment.create, payment_params(**overrides), key)


async def raw_post(
    emulator: YooKassaEmulator, path: str, body: Any, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, Any]]:
    """POST to the API without the SDK (which would validate or reshape the body first)."""
    credentials = base64.b64encode(f"{SHOP_ID}:{SECRET}".encode()).decode()
    headers = {"Authorization": f"Basic {credentials}", **(headers or {})}
    async with (
        aiohttp.ClientSession() as session,
        session.post(emulator.api_url + path, json=body, headers=headers) as response,
    ):
        return response.status, await response.json()


async def test_api_url_mirrors_the_real_v3_root(emulator: YooKassaEmulator) -> None:
    assert Configuration.api_url.endswith("/v3")  # the SDK default ends the same way
    assert emulator.api_url == emulator.base_url + "/v3"


async def test_create_and_get_payment(emulator: YooKassaEmulator) -> None:
    created = await create_payment()

    assert created.status == "pending"
    assert created.paid is False
    assert created.amount.value == Decimal("1299.00")
    assert created.confirmation.confirmation_url == f"{emulator.base_url}/checkout/{created.id}"
    assert created.metadata == {"order_id": "42", "cms_name": "yookassa_sdk_python"}
    assert created.recipient.account_id == SHOP_ID
    assert created.test is True

    found = await asyncio.to_thread(Payment.find_one, created.id)
    assert found.id == created.id
    assert found.description == "Заказ №42"

    first = emulator.requests[0]
    assert (first["method"], first["path"], first["auth_ok"], first["status"]) == (
        "POST",
        "/v3/payments",
        True,
        200,
    )
    assert first["idempotence_key"]
    assert first["json"]["amount"] == {"value": "1299.00", "currency": "RUB"}


async def test_same_idempotence_key_replays_the_same_payment(emulator: YooKassaEmulator) -> None:
    first = await create_payment("order-42")
    second = await create_payment("order-42")

    assert second.id == first.id
    assert list(emulator.payments) == [first.id]

    with pytest.raises(BadRequestError) as caught:
        await create_payment("order-42", description="Другой заказ")
    assert caught.value.content["code"] == "invalid_request"
    assert caught.value.content["parameter"] == "Idempotence-Key"


async def test_wrong_credentials_are_refused(emulator: YooKassaEmulator) -> None:
    Configuration.configure(SHOP_ID, "wrong", api_url=emulator.api_url)

    with pytest.raises(UnauthorizedError) as caught:
        await create_payment()

    assert caught.value.content["type"] == "error"
    assert caught.value.content["code"] == "invalid_credentials"
    assert emulator.requests[-1]["auth_ok"] is False
    assert emulator.payments == {}


async def test_unknown_payment_is_not_found(emulator: YooKassaEmulator) -> None:
    with pytest.raises(NotFoundError) as caught:
        await asyncio.to_thread(Payment.find_one, "no-such-payment")
    assert caught.value.content["code"] == "not_found"


async def test_receipt_is_checked_and_stored(emulator: YooKassaEmulator) -> None:
    good = receipt(("Кружка", "450.00", 2), ("Доставка", "399.00", 1))
    created = await create_payment(receipt=good)

    stored = emulator.payments[created.id]
    assert stored["receipt"]["customer"] == {"email": "buyer@example.com"}
    assert stored["receipt_registration"] == "pending"
    assert emulator.requests[-1]["json"]["receipt"]["items"][0]["quantity"] == "2.0"  # SDK quirk
    found = await asyncio.to_thread(Payment.find_one, created.id)
    assert found.receipt_registration == "pending"

    with pytest.raises(BadRequestError) as caught:
        await create_payment(receipt=receipt(("Кружка", "450.00", 2)))
    assert caught.value.content["parameter"] == "receipt"
    assert "900.00" in caught.value.content["description"]
    assert len(emulator.payments) == 1


async def test_required_receipt_may_not_be_missing(start_emulator: StartEmulator) -> None:
    await start_emulator(require_receipt=True)

    with pytest.raises(BadRequestError) as caught:
        await create_payment()

    assert caught.value.content["description"] == "Receipt is missing or illegal"
    assert caught.value.content["parameter"] == "receipt"


@pytest.mark.parametrize(
    ("body", "parameter"),
    [
        (payment_params(amount={"value": "10.999", "currency": "RUB"}), "amount.value"),
        (payment_params(amount={"value": 10, "currency": "RUB"}), "amount.value"),
        (payment_params(amount={"value": "0.00", "currency": "RUB"}), "amount.value"),
        (payment_params(amount={"value": "10.00", "currency": "USD"}), "amount.currency"),
        (payment_params(description="x" * 129), "description"),
        (payment_params(metadata={"order": {"id": 1}}), "metadata"),
        (payment_params(confirmation={"type": "redirect"}), "confirmation.return_url"),
        (payment_params(confirmation={"type": "embedded"}), "confirmation.type"),
        (
            payment_params(amount={"value": "10.00", "currency": "RUB"}, receipt={"items": []}),
            "receipt.customer",
        ),
        (
            payment_params(
                amount={"value": "10.00", "currency": "RUB"},
                receipt={**receipt(("Чай", "10.00", 1)), "customer": {"phone": "+7900"}},
            ),
            "receipt.customer.phone",
        ),
    ],
)
async def test_invalid_payment_requests_name_the_parameter(
    emulator: YooKassaEmulator, body: dict[str, Any], parameter: str
) -> None:
    status, error = await raw_post(emulator, "/payments", body, {"Idempotence-Key": "k"})

    assert status == 400
    assert (error["type"], error["code"], error["parameter"]) == (
        "error",
        "invalid_request",
        parameter,
    )
    assert emulator.payments == {}


async def test_idempotence_key_is_required(emulator: YooKassaEmulator) -> None:
    status, error = await raw_post(emulator, "/payments", payment_params())

    assert status == 400
    assert error["parameter"] == "Idempotence-Key"


async def test_two_stage_payment_capture(emulator: YooKassaEmulator, webhook: Webhook) -> None:
    created = await create_payment(capture=False)
    waiting = await emulator.succeed(created.id)
    assert waiting["status"] == "waiting_for_capture"
    assert waiting["paid"] is True

    captured = await asyncio.to_thread(Payment.capture, created.id)

    assert captured.status == "succeeded"
    assert captured.payment_method.title == "Bank card *4444"
    assert captured.income_amount.value == Decimal("1299.00")
    assert [body["event"] for body in webhook.bodies] == [
        "payment.waiting_for_capture",
        "payment.succeeded",
    ]


async def test_cancel(emulator: YooKassaEmulator, webhook: Webhook) -> None:
    created = await create_payment()

    canceled = await asyncio.to_thread(Payment.cancel, created.id)

    assert canceled.status == "canceled"
    assert canceled.cancellation_details.party == "merchant"
    assert canceled.cancellation_details.reason == "canceled_by_merchant"
    assert webhook.bodies[-1]["event"] == "payment.canceled"
    with pytest.raises(BadRequestError):
        await asyncio.to_thread(Payment.cancel, created.id)
    with pytest.raises(BadRequestError):
        await asyncio.to_thread(Payment.capture, created.id)


async def test_refund(emulator: YooKassaEmulator, webhook: Webhook) -> None:
    created = await create_payment()
    await emulator.succeed(created.id)

    refund = await asyncio.to_thread(
        Refund.create,
        {"payment_id": created.id, "amount": {"value": "299.00", "currency": "RUB"}},
    )

    assert refund.status == "succeeded"
    assert refund.payment_id == created.id
    assert emulator.payments[created.id]["refunded_amount"] == {
        "value": "299.00",
        "currency": "RUB",
    }
    assert webhook.bodies[-1]["event"] == "refund.succeeded"
    assert webhook.bodies[-1]["object"]["id"] == refund.id
    found = await asyncio.to_thread(Refund.find_one, refund.id)
    assert found.amount.value == Decimal("299.00")

    with pytest.raises(BadRequestError) as caught:
        await asyncio.to_thread(
            Refund.create,
            {"payment_id": created.id, "amount": {"value": "1000.01", "currency": "RUB"}},
        )
    assert caught.value.content["parameter"] == "amount.value"

    pending = await create_payment()
    with pytest.raises(BadRequestError):
        await asyncio.to_thread(
            Refund.create,
            {"payment_id": pending.id, "amount": {"value": "1.00", "currency": "RUB"}},
        )


async def test_checkout_page_pay_notifies_the_shop(
    emulator: YooKassaEmulator, webhook: Webhook
) -> None:
    created = await create_payment()
    url = created.confirmation.confirmation_url

    async with aiohttp.ClientSession() as browser:
        async with browser.get(url) as response:
            page = await response.text()
        assert response.content_type == "text/html"
        assert "1 299,00 ₽" in page
        assert "Заказ №42" in page
        assert "Оплатить" in page
        assert "Отменить" in page

        async with browser.post(f"{url}/pay") as response:
            result = await response.text()
        assert RETURN_URL in result
        assert "Платёж оплачен" in result

        async with browser.get(url) as response:
            again = await response.text()
        assert "Платёж оплачен" in again
        assert "Оплатить" not in again

    assert emulator.payments[created.id]["status"] == "succeeded"
    assert webhook.bodies == [emulator.notifications[0]["body"]]
    assert webhook.bodies[0]["type"] == "notification"
    assert webhook.bodies[0]["event"] == "payment.succeeded"
    assert webhook.bodies[0]["object"]["id"] == created.id
    assert webhook.bodies[0]["object"]["paid"] is True
    assert emulator.notifications[0]["status"] == 200


async def test_checkout_page_cancel(emulator: YooKassaEmulator, webhook: Webhook) -> None:
    created = await create_payment()

    async with (
        aiohttp.ClientSession() as browser,
        browser.post(f"{created.confirmation.confirmation_url}/cancel") as response,
    ):
        result = await response.text()

    assert "Платёж отменён" in result
    assert emulator.payments[created.id]["cancellation_details"] == {
        "party": "yoo_money",
        "reason": "canceled_by_user",
    }
    assert webhook.bodies[-1]["event"] == "payment.canceled"


async def test_forged_notification_carries_the_given_object(
    emulator: YooKassaEmulator, webhook: Webhook
) -> None:
    created = await create_payment()
    forged = {"id": created.id, "status": "succeeded", "paid": True}

    status = await emulator.notify("payment.succeeded", created.id, obj=forged)

    assert status == 200
    assert webhook.bodies == [
        {"type": "notification", "event": "payment.succeeded", "object": forged}
    ]
    assert emulator.payments[created.id]["status"] == "pending"


async def test_unreachable_webhook_is_recorded_not_raised(
    start_emulator: StartEmulator,
) -> None:
    emulator = await start_emulator(webhook_url="http://127.0.0.1:9/down")
    created = await create_payment()

    await emulator.succeed(created.id)

    assert emulator.payments[created.id]["status"] == "succeeded"
    assert emulator.notifications[-1]["status"] == 0


async def test_fail_next_injects_api_errors(emulator: YooKassaEmulator) -> None:
    emulator.fail_next("/payments", status=500)

    with pytest.raises(InternalServerError) as caught:
        await create_payment("retry-me")
    assert caught.value.content["code"] == "internal_server_error"

    created = await create_payment("retry-me")
    assert list(emulator.payments) == [created.id]
    assert [entry["status"] for entry in emulator.requests] == [500, 200]
