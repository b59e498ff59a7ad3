"""YooKassa's API v3 over aiohttp: timeouts on connecting and reading, retries where they are
safe, and no threads.

The official ``yookassa`` SDK is synchronous (``requests``, no timeout at all), so it has to
run in worker threads; a YooKassa that accepts connections and never answers then keeps
each call's thread waiting for good, whatever the caller's own timeout cancelled. This
client keeps the SDK for what it does well: its request models check and serialise what is
sent (``PaymentRequest``, ``RefundRequest``: the ``ValueError`` they raise becomes a
PaymentError before anything is sent) and its response models parse what comes back
(``PaymentResponse``, ``RefundResponse``). The HTTP is its own: Basic auth with the shop id
and secret key, JSON bodies, an ``Idempotence-Key`` on every POST.

A request is retried, with the same idempotence key, after a connection error, a timeout,
an HTTP 5xx or 429 (after ``Retry-After`` when given) and YooKassa's 202 "processing"
(after the ``retry_after`` milliseconds of its body, as the SDK's retry interval does),
a few times within a bounded time. Every request may be retried: GETs change nothing, and
YooKassa answers a repeated POST with the same key with the first one's result. Other 4xx
are refusals and are not retried.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import random
import re
import time
from email.utils import parsedate_to_datetime
from typing import Any

import aiohttp
from yookassa.domain.request.payment_request import PaymentRequest
from yookassa.domain.request.refund_request import RefundRequest
from yookassa.domain.response.payment_response import PaymentResponse
from yookassa.domain.response.refund_response import RefundResponse

from shopbot import jsonsafe, metrics
from shopbot.db import commit_held_here
from shopbot.i18n import N_, Text
from shopbot.payments.base import PaymentError, ProviderUnavailable

logger = logging.getLogger(__name__)

DEFAULT_API_URL = "https://api.yookassa.ru/v3"
CONNECT_TIMEOUT = 5.0  # seconds to get a connection (TCP and TLS)
READ_TIMEOUT = 15.0  # seconds YooKassa may stay silent while answering
DEADLINE = 30.0  # seconds one call may take, its retries and pauses included
ATTEMPTS = 3
BACKOFF = 0.5  # seconds before the first retry, doubling after each; jittered
BACKOFF_MAX = 4.0
PROCESSING_RETRY_AFTER_MS = 1800  # a 202 without retry_after: the SDK's default interval

_OBJECT_IN_PATH = re.compile(r"^(/\w+)/[^/]+")  # /payments/ID/capture: the ID
_OBJECT_ID = re.compile(r"[A-Za-z0-9_-]{1,100}")


class NotFound(PaymentError):
    """YooKassa has no object with this id (HTTP 404)."""

    code = "payment_not_found"


class _Retryable(Exception):
    """An attempt failed in a way that a repeat may not: carries the error to raise when no
    attempt is left, and how long YooKassa asked to wait (None: back off)."""

    def __init__(self, error: ProviderUnavailable, wait: float | None = None) -> None:
        super().__init__(str(error))
        self.error = error
        self.wait = wait


class YooKassaClient:
    """One shop's YooKassa API. One ``aiohttp.ClientSession`` per client, created on first
    use inside the running loop and closed by :meth:`close` (a later call opens a new one).

    Raises NotFound (404), PaymentError (refused: other 4xx, or the SDK's models reject the
    request) and ProviderUnavailable (not reached, timed out, 5xx, 429 or still processing
    after the last attempt, or an answer that cannot be read).
    """

    def __init__(
        self,
        shop_id: str,
        secret_key: str,
        *,
        api_url: str = DEFAULT_API_URL,
        connect_timeout: float = CONNECT_TIMEOUT,
        read_timeout: float = READ_TIMEOUT,
        deadline: float = DEADLINE,
        attempts: int = ATTEMPTS,
        backoff: float = BACKOFF,
        backoff_max: float = BACKOFF_MAX,
    ) -> None:
        if attempts < 1:
            raise ValueError("attempts must be at least 1")
        self.shop_id = shop_id
        self.api_url = api_url.rstrip("/")
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.deadline = deadline
        self.attempts = attempts
        self.backoff = backoff
        self.backoff_max = backoff_max
        token = base64.b64encode(f"{shop_id}:{secret_key}".encode()).decode("ascii")
        self._authorization = f"Basic {token}"  # the secret, encoded: never log it
        self._session: aiohttp.ClientSession | None = None

    def __repr__(self) -> str:
        return f"YooKassaClient(shop_id={self.shop_id!r}, api_url={self.api_url!r})"

    # -- the API ----------------------------------------------------------------------------

    async def create_payment(self, params: dict[str, Any], idempotence_key: str) -> PaymentResponse:
        body = _checked(PaymentRequest, params)
        answer = await self._request("POST", "/payments", body, idempotence_key)
        return _parsed(PaymentResponse, answer)

    async def get_payment(self, payment_id: str) -> PaymentResponse:
        answer = await self._request("GET", f"/payments/{_object_id(payment_id)}")
        return _parsed(PaymentResponse, answer)

    async def capture_payment(self, payment_id: str, idempotence_key: str) -> PaymentResponse:
        """Capture the whole amount of a payment waiting for capture."""
        path = f"/payments/{_object_id(payment_id)}/capture"
        return _parsed(PaymentResponse, await self._request("POST", path, None, idempotence_key))

    async def cancel_payment(self, payment_id: str, idempotence_key: str) -> PaymentResponse:
        path = f"/payments/{_object_id(payment_id)}/cancel"
        return _parsed(PaymentResponse, await self._request("POST", path, None, idempotence_key))

    async def create_refund(self, params: dict[str, Any], idempotence_key: str) -> RefundResponse:
        body = _checked(RefundRequest, params)
        answer = await self._request("POST", "/refunds", body, idempotence_key)
        return _parsed(RefundResponse, answer)

    async def get_refund(self, refund_id: str) -> RefundResponse:
        answer = await self._request("GET", f"/refunds/{_object_id(refund_id)}")
        return _parsed(RefundResponse, answer)

    async def close(self) -> None:
        if self._session is not None:
            session, self._session = self._session, None
            await session.close()

    # -- HTTP -------------------------------------------------------------------------------

    async def _request(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        idempotence_key: str | None = None,
    ) -> dict[str, Any]:
        """The answer's JSON object, after retries (see the module's docstring); timed and
        counted for the metrics by operation (``POST /payments/{id}/capture``)."""
        await commit_held_here()  # no transaction waits on YooKassa (see db.holding_commit)
        operation = method + " " + _OBJECT_IN_PATH.sub(r"\1/{id}", path)
        started = time.perf_counter()
        try:
            return await self._retried(method, path, body, idempotence_key)
        except Exception as exc:
            metrics.PAYMENT_ERRORS.labels("yookassa", operation, type(exc).__name__).inc()
            raise
        finally:
            metrics.PAYMENT_SECONDS.labels("yookassa", operation).observe(
                time.perf_counter() - started
            )

    async def _retried(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None,
        idempotence_key: str | None,
    ) -> dict[str, Any]:
        headers = {"Authorization": self._authorization, "Content-Type": "application/json"}
        if method != "GET":
            if not idempotence_key:
                raise ValueError(f"{method} {path} needs an idempotence key")
            headers["Idempotence-Key"] = idempotence_key
        give_up_at = time.monotonic() + self.deadline
        attempt = 1
        while True:
            try:
                return await self._attempt(method, path, body, headers, give_up_at)
            except _Retryable as failure:
                pause = failure.wait if failure.wait is not None else self._backoff(attempt)
                if attempt >= self.attempts or time.monotonic() + pause >= give_up_at:
                    raise failure.error from failure.__cause__
                logger.warning(
                    "YooKassa %s %s, attempt %d of %d: %s; again in %.2f s",
                    method,
                    path,
                    attempt,
                    self.attempts,
                    failure,
                    pause,
                )
            await asyncio.sleep(pause)
            attempt += 1

    async def _attempt(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None,
        headers: dict[str, str],
        give_up_at: float,
    ) -> dict[str, Any]:
        timeout = aiohttp.ClientTimeout(
            total=max(give_up_at - time.monotonic(), 0.001),
            connect=self.connect_timeout,
            sock_read=self.read_timeout,
        )
        try:
            async with self._http().request(
                method,
                self.api_url + path,
                json=body,
                headers=headers,
                timeout=timeout,
                allow_redirects=False,
            ) as response:
                status = response.status
                retry_after = response.headers.get("Retry-After")
                raw = await response.read()
        except (aiohttp.ClientError, TimeoutError) as exc:
            what = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            error = ProviderUnavailable(
                Text(N_("YooKassa could not be reached: {detail}"), {"detail": what})
            )
            raise _Retryable(error) from exc
        answer = _json_object(raw)
        if status == 200 and answer is not None:
            return answer
        description = _description(answer, status)
        if status == 200:
            raise _Retryable(
                ProviderUnavailable(Text(N_("YooKassa's answer is not a JSON object")))
            )
        if status == 202:
            delay = (answer or {}).get("retry_after", PROCESSING_RETRY_AFTER_MS)
            wait = delay / 1000 if isinstance(delay, int | float) and delay >= 0 else None
            error = ProviderUnavailable(
                Text(
                    N_("YooKassa is still processing the request: {detail}"),
                    {"detail": description},
                )
            )
            raise _Retryable(error, wait)
        if status == 404:
            raise NotFound(Text(N_("YooKassa: {detail}"), {"detail": description}))
        if status == 429 or status >= 500:
            error = ProviderUnavailable(
                Text(
                    N_("YooKassa answered {status}: {detail}"),
                    {"status": str(status), "detail": description},
                )
            )
            raise _Retryable(error, _seconds(retry_after))
        if 400 <= status < 500:
            raise PaymentError(Text(N_("YooKassa: {detail}"), {"detail": description}))
        raise ProviderUnavailable(
            Text(N_("YooKassa answered an unexpected HTTP {status}"), {"status": str(status)})
        )

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession()  # each request brings its own timeout
        return self._session

    def _backoff(self, attempt: int) -> float:
        """The pause after a failed attempt: exponential, jittered into its upper half."""
        ceiling = min(self.backoff_max, self.backoff * 2 ** (attempt - 1))
        return ceiling * random.uniform(0.5, 1.0)


def _checked(model: type[PaymentRequest] | type[RefundRequest], params: dict[str, Any]) -> Any:
    """The request body as the SDK would send it, after the SDK's model checked it."""
    try:
        request = model(params)
        request.validate()
        return dict(request)
    except (ValueError, TypeError) as exc:
        raise PaymentError(
            Text(N_("YooKassa SDK refused the request: {detail}"), {"detail": str(exc)})
        ) from exc


def _parsed(model: type[PaymentResponse] | type[RefundResponse], answer: dict[str, Any]) -> Any:
    try:
        return model(answer)
    except (ValueError, TypeError, KeyError) as exc:
        raise ProviderUnavailable(
            Text(N_("YooKassa's answer could not be read: {detail}"), {"detail": str(exc)})
        ) from exc


def _object_id(value: str) -> str:
    """A payment or refund id fit for a URL path; any other value names no object (ids in
    notifications are not to be trusted, and must not walk to another path)."""
    if not isinstance(value, str) or not _OBJECT_ID.fullmatch(value):
        raise NotFound(f"YooKassa: {value!r} is not an object id")
    return value


def _json_object(raw: bytes) -> dict[str, Any] | None:
    try:
        value = jsonsafe.loads(raw)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _description(answer: dict[str, Any] | None, status: int) -> str:
    """YooKassa's error description (its code when there is none)."""
    answer = answer or {}
    return str(answer.get("description") or answer.get("code") or f"HTTP {status}")


def _seconds(retry_after: str | None) -> float | None:
    """A Retry-After header in seconds: a number of them, or an HTTP date."""
    if retry_after is None:
        return None
    try:
        return max(0.0, float(retry_after))
    except ValueError:
        pass
    try:
        moment = parsedate_to_datetime(retry_after)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        return None
    return max(0.0, moment.timestamp() - time.time())
