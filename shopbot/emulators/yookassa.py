"""A fake YooKassa API v3 served over real HTTP, with a checkout page for the browser demo.

Point the official SDK at it with ``Configuration.configure(shop_id, secret_key,
api_url=emulator.api_url)``: like the real ``https://api.yookassa.ru/v3`` the API lives under
``/v3`` and the SDK appends ``/payments``, ``/refunds``... to it. Requests are checked the way
YooKassa checks them (Basic auth, idempotence keys, amounts, 54-FZ receipts) and answered with
YooKassa's JSON objects and error objects, so the shop's error handling is exercised too.

Faults for the client's sake: :meth:`YooKassaEmulator.fail_next` (error statuses, 5xx and
429 included), :meth:`YooKassaEmulator.processing_next` (YooKassa's 202 "processing"),
:meth:`YooKassaEmulator.drop_next` (the connection closed without an answer) and
:meth:`YooKassaEmulator.stall` (requests accepted and then answered late, or never).

The shopper's side is driven either from tests (:meth:`YooKassaEmulator.succeed`,
:meth:`YooKassaEmulator.cancel_by_user`) or from a browser through ``/checkout/{id}``, the
``confirmation_url`` of every payment. State changes are announced to ``webhook_url`` as
YooKassa notifications.
"""

from __future__ import annotations

import asyncio
import base64
import copy
import hmac
import html
import json
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

import aiohttp
from aiohttp import web
from aiohttp.typedefs import Handler

from shopbot import jsonsafe

API_PREFIX = "/v3"
CURRENCY = "RUB"
GATEWAY_ID = "100700"
DESCRIPTION_MAX = 128
REFUND_DESCRIPTION_MAX = 250
IDEMPOTENCE_KEY_MAX = 64
METADATA_MAX_KEYS = 16
METADATA_KEY_MAX = 32
METADATA_VALUE_MAX = 512
WAITING_FOR_CAPTURE_TTL = timedelta(days=7)
NOTIFICATION_TIMEOUT = aiohttp.ClientTimeout(total=10)

# Values YooKassa accepts in receipt items (FFD 1.05 and 1.2).
PAYMENT_SUBJECTS = frozenset(
    {
        "commodity", "excise", "job", "service", "payment", "casino", "gambling_bet",
        "gambling_prize", "lottery", "lottery_prize", "intellectual_activity",
        "agent_commission", "property_right", "non_operating_gain", "insurance_premium",
        "sales_tax", "resort_fee", "composite", "another", "marked", "non_marked",
        "marked_excise", "non_marked_excise", "fine", "tax", "lien", "cost",
        "agent_withdrawals", "pension_insurance_without_payouts",
        "pension_insurance_with_payouts", "health_insurance_without_payouts",
        "health_insurance_with_payouts", "health_insurance",
    }
)  # fmt: skip
PAYMENT_MODES = frozenset(
    {
        "full_prepayment", "partial_prepayment", "advance", "full_payment",
        "partial_payment", "credit", "credit_payment",
    }
)  # fmt: skip
VAT_CODES = range(1, 11)

_AMOUNT_VALUE = re.compile(r"\d+(\.\d{1,2})?")
_PHONE = re.compile(r"\d{11,15}")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_ERROR_CODES = {
    400: "invalid_request",
    401: "invalid_credentials",
    403: "forbidden",
    404: "not_found",
    429: "too_many_requests",
}

_Events = list[tuple[str, dict[str, Any]]]
_Operation = Callable[[Any], tuple[dict[str, Any], _Events]]


class _ApiError(Exception):
    """An API failure, rendered as YooKassa's error object."""

    def __init__(
        self, status: int, description: str, parameter: str | None = None, code: str | None = None
    ) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameter = parameter
        self.code = code or _ERROR_CODES.get(status, "internal_server_error")
        self.headers: dict[str, str] = {}

    def response(self) -> web.Response:
        body: dict[str, Any] = {
            "type": "error",
            "id": str(uuid.uuid4()),
            "code": self.code,
            "description": self.description,
        }
        if self.parameter is not None:
            body["parameter"] = self.parameter
        return web.json_response(body, status=self.status, headers=self.headers)


class _Processing(_ApiError):
    """YooKassa's HTTP 202: the request is being processed, repeat it after ``retry_after``
    milliseconds with the same idempotence key."""

    def __init__(self, retry_after_ms: int) -> None:
        super().__init__(202, "Request accepted for processing", code="processing")
        self.retry_after_ms = retry_after_ms

    def response(self) -> web.Response:
        body = {
            "type": "processing",
            "id": str(uuid.uuid4()),
            "description": self.description,
            "retry_after": self.retry_after_ms,
        }
        return web.json_response(body, status=202)


@dataclass
class _Injection:
    """A fault for the next ``remaining`` API requests whose path contains ``path_contains``:
    an error ``status`` (``retry_after``: the Retry-After header, seconds), a 202
    ``processing`` answer (``retry_after``: the body's, milliseconds), or a closed connection
    before (``drop``) or after (``drop_after``) the request is carried out."""

    path_contains: str
    remaining: int
    kind: Literal["error", "processing", "drop", "drop_after"] = "error"
    status: int = 500
    retry_after: int | None = None


@dataclass(frozen=True)
class _Stall:
    path_contains: str
    seconds: float | None  # None: never answered


@dataclass(frozen=True)
class _Replay:
    fingerprint: tuple[str, str, str]
    text: str


@dataclass(frozen=True)
class _Checkout:
    """What the API does not echo back but the emulator needs later."""

    capture: bool
    return_url: str


class YooKassaEmulator:
    """An in-process YooKassa: state in plain dicts, an aiohttp app serving API and checkout.

    ``payments`` / ``refunds`` hold the objects as the API shows them, plus the validated
    ``receipt`` (kept for inspection; the API never returns it). ``requests`` records every
    API call as ``{method, path, idempotence_key, json, auth_ok, status}`` with the full path
    (``/v3/payments``); ``notifications`` records ``{url, event, body, status}``, status 0
    when the webhook could not be reached.
    """

    def __init__(
        self,
        shop_id: str = "123456",
        secret_key: str = "test_secret",
        *,
        webhook_url: str | None = None,
        require_receipt: bool = False,
        public_base_url: str | None = None,
    ) -> None:
        self.shop_id = shop_id
        self.secret_key = secret_key
        self.webhook_url = webhook_url
        self.require_receipt = require_receipt
        self.public_base_url = public_base_url.rstrip("/") if public_base_url else None
        # Refunds succeed at once, as most card refunds do; True keeps new ones ``pending``
        # until settle_refund() (YooKassa sends no notification when one is cancelled).
        self.hold_refunds = False
        self.payments: dict[str, dict[str, Any]] = {}
        self.refunds: dict[str, dict[str, Any]] = {}
        self.requests: list[dict[str, Any]] = []
        self.notifications: list[dict[str, Any]] = []
        self._checkouts: dict[str, _Checkout] = {}
        self._replays: dict[str, _Replay] = {}
        self._injections: list[_Injection] = []
        self._stalls: list[_Stall] = []
        self._held = 0
        self._stopping = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self._base_url: str | None = None
        self.app = web.Application(middlewares=[self._api_middleware])
        self.app.add_routes(
            [
                web.post(f"{API_PREFIX}/payments", self._create_payment),
                web.get(f"{API_PREFIX}/payments/{{payment_id}}", self._get_payment),
                web.post(f"{API_PREFIX}/payments/{{payment_id}}/capture", self._capture_payment),
                web.post(f"{API_PREFIX}/payments/{{payment_id}}/cancel", self._cancel_payment),
                web.post(f"{API_PREFIX}/refunds", self._create_refund),
                web.get(f"{API_PREFIX}/refunds/{{refund_id}}", self._get_refund),
                web.get("/checkout/{payment_id}", self._checkout_page),
                web.post("/checkout/{payment_id}/pay", self._checkout_pay),
                web.post("/checkout/{payment_id}/cancel", self._checkout_cancel),
            ]
        )

    # -- lifecycle -------------------------------------------------------------------------

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        """Serve on ``host:port``; port 0 picks a free one (see :attr:`base_url`)."""
        self._stopping = asyncio.Event()
        self._runner = web.AppRunner(self.app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, host, port).start()
        bound_port = self._runner.addresses[0][1]
        self._base_url = f"http://{host}:{bound_port}"

    async def stop(self) -> None:
        """Stop serving; requests still held by a stall are dropped without an answer."""
        self._stopping.set()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
            self._base_url = None

    @property
    def base_url(self) -> str:
        if self._base_url is None:
            raise RuntimeError("the emulator is not started")
        return self._base_url

    @property
    def api_url(self) -> str:
        """The value for ``Configuration.configure(api_url=...)``, like the real ``.../v3``."""
        return self.base_url + API_PREFIX

    # -- the shopper's side and test controls ---------------------------------------------

    async def succeed(self, payment_id: str, *, notify: bool = True) -> dict[str, Any]:
        """The shopper paid: ``succeeded``, or ``waiting_for_capture`` when capture is false.

        Raises KeyError for an unknown payment and ValueError unless it is pending.
        """
        payment = self._pending(payment_id)
        now = _now()
        payment["paid"] = True
        payment["payment_method"] = {
            "type": "bank_card",
            "id": payment_id,
            "saved": False,
            "title": "Bank card *4444",
            "card": {
                "first6": "555555",
                "last4": "4444",
                "expiry_month": "12",
                "expiry_year": "2030",
                "card_type": "MasterCard",
                "issuer_country": "RU",
            },
        }
        if self._checkouts[payment_id].capture:
            _mark_captured(payment, now)
            event = "payment.succeeded"
        else:
            payment["status"] = "waiting_for_capture"
            payment["expires_at"] = _iso(now + WAITING_FOR_CAPTURE_TTL)
            event = "payment.waiting_for_capture"
        public = _public(payment)
        if notify:
            await self._announce(event, public)
        return public

    async def cancel_by_user(
        self, payment_id: str, *, notify: bool = True, reason: str = "canceled_by_user"
    ) -> dict[str, Any]:
        """The shopper gave up on the checkout page: ``canceled`` on YooKassa's side."""
        payment = self._pending(payment_id)
        _mark_canceled(payment, party="yoo_money", reason=reason)
        public = _public(payment)
        if notify:
            await self._announce("payment.canceled", public)
        return public

    async def notify(
        self,
        event: str,
        payment_id: str,
        *,
        obj: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> int:
        """POST a notification about a payment (a refund for ``refund.*`` events) to the webhook.

        ``obj`` replaces the object to forge notifications. Returns the webhook's HTTP status,
        0 when it could not be reached.
        """
        if self.webhook_url is None:
            raise RuntimeError("webhook_url is not set")
        if obj is None:
            store = self.refunds if event.startswith("refund.") else self.payments
            obj = _public(store[payment_id])
        return await self._post_notification(self.webhook_url, event, obj, headers)

    async def settle_refund(
        self, refund_id: str, *, succeed: bool = True, notify: bool = True
    ) -> dict[str, Any]:
        """A held refund ends: ``succeeded`` (the money goes back; ``refund.succeeded`` is
        sent unless ``notify`` is false) or ``canceled`` (YooKassa notifies nobody)."""
        refund = self.refunds[refund_id]
        if refund["status"] != "pending":
            raise ValueError(f"refund {refund_id} is {refund['status']}, not pending")
        if succeed:
            refund["status"] = "succeeded"
            payment = self.payments[refund["payment_id"]]
            refunded = _refunded(payment) + Decimal(refund["amount"]["value"])
            payment["refunded_amount"] = _money(refunded)
            payment["refundable"] = refunded < Decimal(payment["amount"]["value"])
        else:
            refund["status"] = "canceled"
            refund["cancellation_details"] = {"party": "yoo_money", "reason": "general_decline"}
        public = _public(refund)
        if succeed and notify:
            await self._announce("refund.succeeded", public)
        return public

    def fail_next(
        self,
        path_contains: str,
        status: int = 500,
        times: int = 1,
        *,
        retry_after: int | None = None,
    ) -> None:
        """Answer the next ``times`` API requests whose path contains ``path_contains`` with
        ``status`` (and YooKassa's error object) without processing them; ``retry_after``
        adds a ``Retry-After`` header (seconds), as a 429 or 503 may carry."""
        if times < 1 or status < 400:
            raise ValueError("times must be at least 1 and status an error status (>= 400)")
        self._injections.append(_Injection(path_contains, times, "error", status, retry_after))

    def processing_next(
        self, path_contains: str, times: int = 1, *, retry_after_ms: int = 100
    ) -> None:
        """Answer the next ``times`` matching API requests with YooKassa's HTTP 202: accepted,
        not processed yet, repeat it (same idempotence key) after ``retry_after`` ms, which
        the answer's body says. Nothing is processed."""
        if times < 1 or retry_after_ms < 0:
            raise ValueError("times must be at least 1 and retry_after_ms not negative")
        self._injections.append(_Injection(path_contains, times, "processing", 202, retry_after_ms))

    def drop_next(self, path_contains: str, times: int = 1, *, processed: bool = False) -> None:
        """Close the connection of the next ``times`` matching API requests without an
        answer. With ``processed`` each is carried out first (a payment is created, say)
        and only the answer is lost; else it never reaches the API. Recorded with status 0."""
        if times < 1:
            raise ValueError("times must be at least 1")
        self._injections.append(
            _Injection(path_contains, times, "drop_after" if processed else "drop")
        )

    def stall(self, path_contains: str = "", *, seconds: float | None = None) -> None:
        """From now on, accept and read API requests whose path contains ``path_contains``
        but answer them only ``seconds`` later (then they are processed as usual), or with
        ``None`` never: the connection stays open and silent until the client gives up or
        the emulator stops. On until :meth:`unstall`; see :attr:`held`."""
        if seconds is not None and seconds < 0:
            raise ValueError("seconds must not be negative")
        self._stalls.append(_Stall(path_contains, seconds))

    def unstall(self) -> None:
        """Answer new requests at once again. Requests already held stay held, as a
        YooKassa that recovers does not answer the requests it swallowed meanwhile."""
        self._stalls.clear()

    @property
    def held(self) -> int:
        """How many API requests a stall holds unanswered right now."""
        return self._held

    # -- plumbing --------------------------------------------------------------------------

    @web.middleware
    async def _api_middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """Record, authenticate and fail API requests; render every API failure as JSON."""
        if not request.path.startswith(API_PREFIX + "/"):
            return await handler(request)
        entry: dict[str, Any] = {
            "method": request.method,
            "path": request.path,
            "idempotence_key": request.headers.get("Idempotence-Key"),
            "json": None,
            "auth_ok": self._authorized(request),
            "status": None,
        }
        self.requests.append(entry)
        unreadable: _ApiError | None = None
        try:
            entry["json"] = _parse_json(await request.read())
        except _ApiError as error:
            unreadable = error
        stall = next((s for s in self._stalls if s.path_contains in request.path), None)
        if stall is not None and not await self._hold(stall):
            return _drop(request, entry)
        injection = self._take_injection(request.path)
        if injection is not None and injection.kind == "drop":
            return _drop(request, entry)
        try:
            if injection is not None and injection.kind in ("error", "processing"):
                raise _injected_error(injection)
            if not entry["auth_ok"]:
                raise _ApiError(401, "Login or password is incorrect: check shopId and secret key")
            if unreadable is not None:
                raise unreadable
            response = await handler(request)
        except _ApiError as error:
            response = error.response()
        except web.HTTPNotFound:
            response = _ApiError(404, f"Resource {request.path} is not found").response()
        except web.HTTPMethodNotAllowed:
            response = _ApiError(
                405, f"Method {request.method} is not allowed here", code="invalid_request"
            ).response()
        if injection is not None and injection.kind == "drop_after":
            return _drop(request, entry)
        entry["status"] = response.status
        return response

    async def _hold(self, stall: _Stall) -> bool:
        """Wait out a stall; False when the emulator stops first (nothing gets answered)."""
        self._held += 1
        try:
            async with asyncio.timeout(stall.seconds):
                await self._stopping.wait()
        except TimeoutError:
            return True
        finally:
            self._held -= 1
        return False

    def _authorized(self, request: web.Request) -> bool:
        scheme, _, credentials = request.headers.get("Authorization", "").partition(" ")
        expected = base64.b64encode(f"{self.shop_id}:{self.secret_key}".encode())
        return scheme.lower() == "basic" and hmac.compare_digest(
            credentials.strip().encode(), expected
        )

    def _take_injection(self, path: str) -> _Injection | None:
        for injection in self._injections:
            if injection.path_contains in path:
                injection.remaining -= 1
                if injection.remaining == 0:
                    self._injections.remove(injection)
                return injection
        return None

    async def _idempotent(self, request: web.Request, operation: _Operation) -> web.Response:
        """Run a POST once per Idempotence-Key; a repeat with the same request replays the
        stored answer, a repeat with another request is refused. Failures are not stored, so
        a retry with the same key after an error is processed anew."""
        key = request.headers.get("Idempotence-Key", "")
        if not key:
            raise _ApiError(400, "Idempotence-Key header is missing", "Idempotence-Key")
        if len(key) > IDEMPOTENCE_KEY_MAX:
            raise _ApiError(
                400, f"Idempotence-Key is longer than {IDEMPOTENCE_KEY_MAX}", "Idempotence-Key"
            )
        body = _parse_json(await request.read())  # checked by the middleware already
        fingerprint = (request.method, request.path, json.dumps(body, sort_keys=True))
        replay = self._replays.get(key)
        if replay is not None:
            if replay.fingerprint != fingerprint:
                raise _ApiError(
                    400,
                    "Idempotence-Key was already used with different request parameters",
                    "Idempotence-Key",
                )
            return web.json_response(text=replay.text)
        payload, events = operation(body)
        text = json.dumps(payload)
        self._replays[key] = _Replay(fingerprint, text)
        for event, obj in events:
            await self._announce(event, obj)
        return web.json_response(text=text)

    async def _announce(self, event: str, obj: dict[str, Any]) -> None:
        if self.webhook_url is not None:
            await self._post_notification(self.webhook_url, event, obj, None)

    async def _post_notification(
        self, url: str, event: str, obj: dict[str, Any], headers: dict[str, str] | None
    ) -> int:
        body = {"type": "notification", "event": event, "object": copy.deepcopy(obj)}
        try:
            async with (
                aiohttp.ClientSession(timeout=NOTIFICATION_TIMEOUT) as session,
                session.post(url, json=body, headers=headers) as response,
            ):
                await response.read()
                status = response.status
        except (aiohttp.ClientError, OSError, TimeoutError):
            status = 0
        self.notifications.append({"url": url, "event": event, "body": body, "status": status})
        return status

    def _pending(self, payment_id: str) -> dict[str, Any]:
        payment = self.payments[payment_id]
        if payment["status"] != "pending":
            raise ValueError(f"payment {payment_id} is {payment['status']}, not pending")
        return payment

    def _payment_or_404(self, payment_id: str) -> dict[str, Any]:
        payment = self.payments.get(payment_id)
        if payment is None:
            raise _ApiError(404, f"Payment {payment_id} is not found")
        return payment

    def _confirmation_root(self, request: web.Request) -> str:
        return self.public_base_url or self._base_url or str(request.url.origin())

    # -- API: payments ---------------------------------------------------------------------

    async def _create_payment(self, request: web.Request) -> web.Response:
        root = self._confirmation_root(request)
        return await self._idempotent(request, lambda body: self._new_payment(body, root))

    def _new_payment(self, body: Any, root: str) -> tuple[dict[str, Any], _Events]:
        body = _require_object(body, "request body")
        amount = _amount(body.get("amount"), "amount")
        description = body.get("description")
        if description is not None and (
            not isinstance(description, str) or len(description) > DESCRIPTION_MAX
        ):
            raise _ApiError(
                400, f"description must be a string of up to {DESCRIPTION_MAX}", "description"
            )
        metadata = _metadata(body.get("metadata"))
        return_url = _redirect_return_url(body.get("confirmation"))
        capture = body.get("capture", False)
        if not isinstance(capture, bool):
            raise _ApiError(400, "capture must be a boolean", "capture")
        receipt = body.get("receipt")
        if receipt is not None or self.require_receipt:
            receipt = _receipt(receipt, amount)

        payment_id = _new_id("000f")
        payment: dict[str, Any] = {
            "id": payment_id,
            "status": "pending",
            "paid": False,
            "amount": _money(amount),
        }
        if description is not None:
            payment["description"] = description
        payment.update(
            {
                "metadata": metadata,
                "recipient": {"account_id": self.shop_id, "gateway_id": GATEWAY_ID},
                "created_at": _iso(_now()),
                "confirmation": {
                    "type": "redirect",
                    "confirmation_url": f"{root}/checkout/{payment_id}",
                },
                "test": True,
                "refundable": False,
            }
        )
        if receipt is not None:
            payment["receipt_registration"] = "pending"
            payment["receipt"] = receipt
        self.payments[payment_id] = payment
        self._checkouts[payment_id] = _Checkout(capture=capture, return_url=return_url)
        return _public(payment), []

    async def _get_payment(self, request: web.Request) -> web.Response:
        return web.json_response(_public(self._payment_or_404(request.match_info["payment_id"])))

    async def _capture_payment(self, request: web.Request) -> web.Response:
        payment_id = request.match_info["payment_id"]
        return await self._idempotent(request, lambda body: self._capture(payment_id, body))

    def _capture(self, payment_id: str, body: Any) -> tuple[dict[str, Any], _Events]:
        payment = self._payment_or_404(payment_id)
        if payment["status"] != "waiting_for_capture":
            raise _ApiError(
                400,
                f"Payment {payment_id} is {payment['status']}; "
                "only waiting_for_capture payments can be captured",
            )
        if body is not None and _require_object(body, "request body").get("amount") is not None:
            captured = _amount(body["amount"], "amount")
            if captured > Decimal(payment["amount"]["value"]):
                raise _ApiError(400, "Capture amount exceeds the payment amount", "amount.value")
            payment["amount"] = _money(captured)
        _mark_captured(payment, _now())
        public = _public(payment)
        return public, [("payment.succeeded", public)]

    async def _cancel_payment(self, request: web.Request) -> web.Response:
        payment_id = request.match_info["payment_id"]
        return await self._idempotent(request, lambda _body: self._cancel(payment_id))

    def _cancel(self, payment_id: str) -> tuple[dict[str, Any], _Events]:
        payment = self._payment_or_404(payment_id)
        if payment["status"] not in ("pending", "waiting_for_capture"):
            raise _ApiError(
                400,
                f"Payment {payment_id} is {payment['status']}; "
                "only pending or waiting_for_capture payments can be canceled",
            )
        _mark_canceled(payment, party="merchant", reason="canceled_by_merchant")
        public = _public(payment)
        return public, [("payment.canceled", public)]

    # -- API: refunds ----------------------------------------------------------------------

    async def _create_refund(self, request: web.Request) -> web.Response:
        return await self._idempotent(request, self._new_refund)

    def _new_refund(self, body: Any) -> tuple[dict[str, Any], _Events]:
        body = _require_object(body, "request body")
        payment_id = body.get("payment_id")
        if not isinstance(payment_id, str) or payment_id not in self.payments:
            raise _ApiError(400, "payment_id must be the id of an existing payment", "payment_id")
        payment = self.payments[payment_id]
        if payment["status"] != "succeeded":
            raise _ApiError(
                400,
                f"Payment {payment_id} is {payment['status']}; only succeeded payments "
                "can be refunded",
                "payment_id",
            )
        amount = _amount(body.get("amount"), "amount")
        refunded = _refunded(payment)
        held = sum(
            (
                Decimal(refund["amount"]["value"])
                for refund in self.refunds.values()
                if refund["payment_id"] == payment_id and refund["status"] == "pending"
            ),
            Decimal(0),
        )
        available = Decimal(payment["amount"]["value"]) - refunded - held
        if amount > available:
            raise _ApiError(
                400,
                f"Refund amount {amount} exceeds the amount available for refund ({available})",
                "amount.value",
            )
        description = body.get("description")
        if description is not None and (
            not isinstance(description, str) or len(description) > REFUND_DESCRIPTION_MAX
        ):
            raise _ApiError(
                400,
                f"description must be a string of up to {REFUND_DESCRIPTION_MAX}",
                "description",
            )
        receipt = body.get("receipt")
        if receipt is not None or self.require_receipt:
            receipt = _receipt(receipt, amount)

        refund: dict[str, Any] = {
            "id": _new_id("0015"),
            "payment_id": payment_id,
            "status": "pending" if self.hold_refunds else "succeeded",
            "created_at": _iso(_now()),
            "amount": _money(amount),
        }
        if description is not None:
            refund["description"] = description
        if receipt is not None:
            refund["receipt_registration"] = "succeeded"
            refund["receipt"] = receipt
        self.refunds[refund["id"]] = refund
        public = _public(refund)
        if self.hold_refunds:
            return public, []
        payment["refunded_amount"] = _money(refunded + amount)
        payment["refundable"] = amount < available
        return public, [("refund.succeeded", public)]

    async def _get_refund(self, request: web.Request) -> web.Response:
        refund_id = request.match_info["refund_id"]
        refund = self.refunds.get(refund_id)
        if refund is None:
            raise _ApiError(404, f"Refund {refund_id} is not found")
        return web.json_response(_public(refund))

    # -- checkout pages --------------------------------------------------------------------

    async def _checkout_page(self, request: web.Request) -> web.Response:
        payment_id = request.match_info["payment_id"]
        payment = self.payments.get(payment_id)
        if payment is None:
            return _missing_payment_page()
        if payment["status"] != "pending":
            return self._status_page(payment)
        description = html.escape(payment.get("description", ""))
        body = f"""
<p class="shop">Магазин {html.escape(self.shop_id)}</p>
<p class="what">{description}</p>
<p class="amount">{_format_rub(payment["amount"]["value"])}</p>
<p class="hint">Тестовый режим: деньги не списываются. Карта 5555 5555 5555 4444.</p>
<form method="post" action="{html.escape(payment_id)}/pay">
  <button class="pay" type="submit">Оплатить</button>
</form>
<form method="post" action="{html.escape(payment_id)}/cancel">
  <button class="cancel" type="submit">Отменить</button>
</form>"""
        return _html("Оплата заказа", body)

    async def _checkout_pay(self, request: web.Request) -> web.Response:
        payment = self.payments.get(request.match_info["payment_id"])
        if payment is None:
            return _missing_payment_page()
        if payment["status"] == "pending":
            await self.succeed(payment["id"])
        return self._status_page(payment)

    async def _checkout_cancel(self, request: web.Request) -> web.Response:
        payment = self.payments.get(request.match_info["payment_id"])
        if payment is None:
            return _missing_payment_page()
        if payment["status"] == "pending":
            await self.cancel_by_user(payment["id"])
        return self._status_page(payment)

    def _status_page(self, payment: dict[str, Any]) -> web.Response:
        titles = {
            "succeeded": "Платёж оплачен",
            "waiting_for_capture": "Платёж оплачен и ждёт подтверждения магазина",
            "canceled": "Платёж отменён",
        }
        title = titles[payment["status"]]
        return_url = html.escape(self._checkouts[payment["id"]].return_url)
        body = f"""
<p class="amount">{_format_rub(payment["amount"]["value"])}</p>
<a class="back" href="{return_url}">Вернуться в магазин</a>"""
        return _html(title, body)


def _injected_error(injection: _Injection) -> _ApiError:
    if injection.kind == "processing":
        return _Processing(injection.retry_after or 0)
    error = _ApiError(injection.status, "Injected failure (emulator fail_next)")
    if injection.retry_after is not None:
        error.headers["Retry-After"] = str(injection.retry_after)
    return error


def _drop(request: web.Request, entry: dict[str, Any]) -> web.Response:
    """Close the connection without an answer (the response returned is never sent)."""
    entry["status"] = 0
    if request.transport is not None:
        request.transport.close()
    return web.Response(status=500)


# -- validation ----------------------------------------------------------------------------


def _require_object(value: Any, parameter: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _ApiError(400, f"{parameter} must be a JSON object", parameter)
    return value


def _parse_json(raw: bytes) -> Any:
    if not raw:
        return None
    try:
        return jsonsafe.loads(raw)
    except ValueError as error:
        raise _ApiError(400, "Request body is not valid JSON") from error


def _amount(value: Any, parameter: str, *, allow_zero: bool = False) -> Decimal:
    """Check an amount object; its value must be a string with at most two decimals."""
    amount = _require_object(value, parameter)
    raw = amount.get("value")
    if not isinstance(raw, str) or not _AMOUNT_VALUE.fullmatch(raw):
        raise _ApiError(
            400,
            'Amount value must be a string with a dot and up to 2 decimals, e.g. "10.00"',
            f"{parameter}.value",
        )
    decimal = Decimal(raw)
    if decimal == 0 and not allow_zero:
        raise _ApiError(400, "Amount value must be greater than 0", f"{parameter}.value")
    if amount.get("currency") != CURRENCY:
        raise _ApiError(400, f"Only {CURRENCY} is supported", f"{parameter}.currency")
    return decimal


def _metadata(value: Any) -> dict[str, str]:
    if value is None:
        return {}
    metadata = _require_object(value, "metadata")
    if len(metadata) > METADATA_MAX_KEYS:
        raise _ApiError(400, f"metadata may hold at most {METADATA_MAX_KEYS} keys", "metadata")
    for key, item in metadata.items():
        if (
            len(key) > METADATA_KEY_MAX
            or not isinstance(item, str)
            or len(item) > METADATA_VALUE_MAX
        ):
            raise _ApiError(
                400,
                f"metadata must map keys of up to {METADATA_KEY_MAX} characters to strings "
                f"of up to {METADATA_VALUE_MAX}; {key!r} does not",
                "metadata",
            )
    return dict(metadata)


def _redirect_return_url(value: Any) -> str:
    confirmation = _require_object(value, "confirmation")
    if confirmation.get("type") != "redirect":
        raise _ApiError(
            400, "The emulator supports only the redirect confirmation", "confirmation.type"
        )
    return_url = confirmation.get("return_url")
    if not isinstance(return_url, str) or not return_url:
        raise _ApiError(
            400, "return_url is required for the redirect confirmation", "confirmation.return_url"
        )
    return return_url


def _receipt(value: Any, total: Decimal) -> dict[str, Any]:
    """Check a 54-FZ receipt against the amount it must add up to; return a copy to store."""
    if not isinstance(value, dict):
        raise _ApiError(400, "Receipt is missing or illegal", "receipt")
    customer = value.get("customer") or {}
    if not isinstance(customer, dict):
        raise _ApiError(400, "receipt.customer must be a JSON object", "receipt.customer")
    # Receipts of the old format carry the contacts on the receipt itself.
    email = customer.get("email", value.get("email"))
    phone = customer.get("phone", value.get("phone"))
    if email is None and phone is None:
        raise _ApiError(400, "Receipt customer needs an email or a phone", "receipt.customer")
    if email is not None and (not isinstance(email, str) or not _EMAIL.fullmatch(email)):
        raise _ApiError(400, "Receipt customer email is invalid", "receipt.customer.email")
    if phone is not None and (not isinstance(phone, str) or not _PHONE.fullmatch(phone)):
        raise _ApiError(
            400,
            "Receipt customer phone must be 11 to 15 digits (ITU-T E.164 without +)",
            "receipt.customer.phone",
        )
    items = value.get("items")
    if not isinstance(items, list) or not items:
        raise _ApiError(400, "Receipt needs at least one item", "receipt.items")
    items_total = sum(
        (_receipt_item(item, f"receipt.items[{index}]") for index, item in enumerate(items)),
        Decimal(0),
    )
    if items_total != total:
        raise _ApiError(
            400,
            f"Receipt items add up to {_plain(items_total)} (price * quantity), "
            f"but the amount is {_plain(total)}",
            "receipt",
        )
    return copy.deepcopy(value)


def _receipt_item(value: Any, parameter: str) -> Decimal:
    """Check one receipt item; return its price times quantity."""
    item = _require_object(value, parameter)
    description = item.get("description")
    if not isinstance(description, str) or not 1 <= len(description) <= DESCRIPTION_MAX:
        raise _ApiError(
            400,
            f"Item description must be 1 to {DESCRIPTION_MAX} characters",
            f"{parameter}.description",
        )
    quantity = _quantity(item.get("quantity"), f"{parameter}.quantity")
    price = _amount(item.get("amount"), f"{parameter}.amount", allow_zero=True)
    vat_code = item.get("vat_code")
    if isinstance(vat_code, bool) or not isinstance(vat_code, int) or vat_code not in VAT_CODES:
        raise _ApiError(
            400,
            f"vat_code must be an integer from {VAT_CODES.start} to {VAT_CODES.stop - 1}",
            f"{parameter}.vat_code",
        )
    if item.get("payment_subject") not in PAYMENT_SUBJECTS:
        raise _ApiError(
            400, "payment_subject is missing or unknown", f"{parameter}.payment_subject"
        )
    if item.get("payment_mode") not in PAYMENT_MODES:
        raise _ApiError(400, "payment_mode is missing or unknown", f"{parameter}.payment_mode")
    return price * quantity


def _quantity(value: Any, parameter: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise _ApiError(400, "Item quantity must be a positive number", parameter)
    try:
        quantity = Decimal(str(value))
    except InvalidOperation as error:
        raise _ApiError(400, "Item quantity must be a positive number", parameter) from error
    if not quantity.is_finite() or quantity <= 0:
        raise _ApiError(400, "Item quantity must be a positive number", parameter)
    return quantity


# -- helpers ---------------------------------------------------------------------------------


def _mark_captured(payment: dict[str, Any], now: datetime) -> None:
    payment["status"] = "succeeded"
    payment["captured_at"] = _iso(now)
    payment["income_amount"] = dict(payment["amount"])
    payment["refundable"] = True
    payment.pop("expires_at", None)
    if "receipt_registration" in payment:
        payment["receipt_registration"] = "succeeded"


def _mark_canceled(payment: dict[str, Any], *, party: str, reason: str) -> None:
    payment["status"] = "canceled"
    payment["paid"] = False
    payment["refundable"] = False
    payment["cancellation_details"] = {"party": party, "reason": reason}
    payment.pop("expires_at", None)
    if "receipt_registration" in payment:
        payment["receipt_registration"] = "canceled"


def _refunded(payment: dict[str, Any]) -> Decimal:
    return Decimal(payment.get("refunded_amount", {}).get("value", "0"))


def _public(obj: dict[str, Any]) -> dict[str, Any]:
    """The object as the API shows it: a copy without the stored receipt."""
    return {key: copy.deepcopy(value) for key, value in obj.items() if key != "receipt"}


def _plain(value: Decimal) -> str:
    """A sum for messages: kopecks shown always, finer fractions only when present."""
    return f"{value:.2f}" if value == value.quantize(Decimal("0.01")) else f"{value:f}"


def _money(value: Decimal) -> dict[str, str]:
    return {"value": f"{value:.2f}", "currency": CURRENCY}


def _new_id(kind: str) -> str:
    """An id shaped like YooKassa's (``2419a771-000f-5000-9000-1edaf29243f2``)."""
    digits = uuid.uuid4().hex
    return f"{digits[:8]}-{kind}-5000-{digits[8:12]}-{digits[12:24]}"


def _now() -> datetime:
    return datetime.now(UTC)


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _format_rub(value: str) -> str:
    """``"1299.00"`` -> ``"1 299,00 ₽"``."""
    whole, fraction = f"{Decimal(value):.2f}".split(".")
    return f"{int(whole):,}".replace(",", " ") + f",{fraction} ₽"


def _missing_payment_page() -> web.Response:
    return _html("Платёж не найден", "<p>Такого платежа нет.</p>", status=404)


def _html(title: str, body: str, *, status: int = 200) -> web.Response:
    page = f"""<!doctype html>
<html lang="ru">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)} — ЮKassa (эмулятор)</title>
<style>
  body {{ margin: 0; background: #f2f3f5; color: #1a1a1a;
         font: 16px/1.4 -apple-system, "Segoe UI", Roboto, Arial, sans-serif; }}
  main {{ max-width: 420px; margin: 48px auto; background: #fff; border-radius: 16px;
         padding: 28px 32px; box-shadow: 0 4px 24px rgba(0, 0, 0, .08); }}
  .brand {{ font-weight: 700; color: #0070f0; margin: 0 0 20px; }}
  h1 {{ font-size: 20px; margin: 0 0 12px; }}
  .shop {{ color: #6b6f76; margin: 0; }}
  .what {{ margin: 4px 0 16px; }}
  .amount {{ font-size: 32px; font-weight: 700; margin: 8px 0 16px; white-space: nowrap; }}
  .hint {{ color: #6b6f76; font-size: 13px; }}
  form {{ margin: 12px 0 0; }}
  button {{ width: 100%; padding: 14px; border: 0; border-radius: 10px; font-size: 16px;
           cursor: pointer; }}
  .pay {{ background: #0070f0; color: #fff; }}
  .cancel {{ background: #eceef1; color: #1a1a1a; }}
  .back {{ display: inline-block; margin-top: 16px; color: #0070f0; }}
</style>
</head>
<body>
<main>
<p class="brand">ЮKassa · тестовый платёж</p>
<h1>{html.escape(title)}</h1>
{body}
</main>
</body>
</html>
"""
    return web.Response(text=page, content_type="text/html", status=status)
