"""YooKassa's notifications (HTTP notifications, not signed).

A notification is only a hint that something happened to a payment. It is accepted only
from YooKassa's networks, and then the payment is read back from the API with the shop's
credentials: only the API's data ever reaches the payments service.

Answers: 403 from elsewhere; 400 for a body that is not a notification we handle (nested
too deep to parse included); 200 for
anything handled or safely ignored (YooKassa redelivers for a day until it gets a 200);
500 when the API could not be asked, so YooKassa tries again later.
"""

from __future__ import annotations

import logging
import re
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address
from typing import Any

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shopbot import jsonsafe
from shopbot.config import Settings
from shopbot.payments.base import PaymentError
from shopbot.payments.service import apply_report
from shopbot.payments.yookassa import YooKassaProvider

logger = logging.getLogger(__name__)

WEBHOOK_PATH = "/yookassa/webhook"
EVENTS = frozenset(
    {"payment.succeeded", "payment.waiting_for_capture", "payment.canceled", "refund.succeeded"}
)
# YooKassa ids look like ``2419a771-000f-5000-9000-1edaf29243f2``; this also keeps path
# tricks out of the API URLs built from them.
_OBJECT_ID = re.compile(r"[0-9A-Za-z_-]{1,64}")

Address = IPv4Address | IPv6Address
Network = IPv4Network | IPv6Network


class YooKassaWebhook:
    """The ``POST /yookassa/webhook`` handler (:meth:`handle`)."""

    def __init__(
        self,
        settings: Settings,
        session_factory: async_sessionmaker[AsyncSession],
        provider: YooKassaProvider,
    ) -> None:
        self._settings = settings
        self._session_factory = session_factory
        self._provider = provider

    async def handle(self, request: web.Request) -> web.Response:
        client = client_address(request, self._settings.proxy_networks)
        if client is None or not _within(client, self._settings.trusted_networks):
            logger.warning(
                "YooKassa notification refused from %s (peer %s, X-Forwarded-For %r)",
                client,
                request.remote,
                request.headers.get("X-Forwarded-For"),
            )
            return web.json_response({"error": "forbidden"}, status=403)
        parsed = _parse(await request.read())
        if parsed is None:
            logger.warning("malformed YooKassa notification from %s", client)
            return web.json_response({"error": "not a notification"}, status=400)
        event, object_id = parsed
        try:
            report = await self._provider.notification_report(event, object_id)
            if report is None:
                logger.warning(
                    "YooKassa notification %s about unknown %s: ignored", event, object_id
                )
                return web.json_response({"result": "ignored"})
            async with self._session_factory() as session:
                outcome = await apply_report(
                    session,
                    report,
                    provider=self._provider,
                    actor="yookassa:webhook",
                )
        except PaymentError as exc:  # YooKassa could not be asked (or refused a capture)
            logger.error("YooKassa notification %s %s not processed: %s", event, object_id, exc)
            return web.json_response({"error": "payment provider unavailable"}, status=500)
        logger.info(
            "YooKassa notification %s %s: %s (API status %s)",
            event,
            object_id,
            outcome.result,
            report.status,
        )
        return web.json_response({"result": str(outcome.result)})


def client_address(request: web.Request, proxies: list[Network]) -> Address | None:
    """Who sent the request: the peer, or, when the peer is one of our trusted proxies, the
    right-most address in X-Forwarded-For that is not one of them (anything to its left
    could have been written by the client). None when it cannot be told."""
    remote = _parse_address(request.remote)
    if remote is None or not _within(remote, proxies):
        return remote
    hops = [
        hop.strip()
        for header in request.headers.getall("X-Forwarded-For", [])
        for hop in header.split(",")
    ]
    for hop in reversed(hops):
        address = _parse_address(hop)
        if address is None or not _within(address, proxies):
            return address
    return remote


def _parse_address(value: str | None) -> Address | None:
    if not value:
        return None
    try:
        address = ip_address(value)
    except ValueError:
        return None
    if isinstance(address, IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped  # a dual-stack socket shows IPv4 peers as ::ffff:a.b.c.d
    return address


def _within(address: Address, networks: list[Network]) -> bool:
    return any(address in network for network in networks)


def _parse(raw: bytes) -> tuple[str, str] | None:
    """The event and object id of a notification body; None if it is not one we handle."""
    try:
        body: Any = jsonsafe.loads(raw)
    except ValueError:
        return None
    if not isinstance(body, dict) or body.get("type") != "notification":
        return None
    event = body.get("event")
    obj = body.get("object")
    if event not in EVENTS or not isinstance(obj, dict):
        return None
    object_id = obj.get("id")
    if not isinstance(object_id, str) or not _OBJECT_ID.fullmatch(object_id):
        return None
    return event, object_id
