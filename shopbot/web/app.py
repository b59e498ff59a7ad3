"""The web application: ``GET /healthz``, ``GET /readyz``, ``GET /metrics`` and, with
YooKassa, ``POST /yookassa/webhook``."""

from __future__ import annotations

import asyncio
import hmac
import logging
from collections.abc import Awaitable, Callable, Mapping

from aiohttp import web
from alembic.script import ScriptDirectory
from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shopbot import metrics
from shopbot.config import Settings
from shopbot.db import alembic_config, current_revision
from shopbot.payments.base import PaymentProvider
from shopbot.payments.yookassa import YooKassaProvider
from shopbot.web.limits import ClientLimits, LimitedSite
from shopbot.web.yookassa import WEBHOOK_PATH, YooKassaWebhook

logger = logging.getLogger(__name__)

HEALTH_TIMEOUT = 5  # seconds
LIMITS = web.AppKey("limits", ClientLimits)


class NotReady(Exception):
    """A readiness check's finding, shown in ``/readyz``'s body (a string or a mapping)."""

    def __init__(self, detail: object) -> None:
        super().__init__(detail)
        self.detail = detail


ReadinessCheck = Callable[[], Awaitable[object]]


def create_web_app(
    settings: Settings,
    session_factory: async_sessionmaker[AsyncSession],
    provider: PaymentProvider,
    *,
    redis: Redis | None = None,
    readiness: Mapping[str, ReadinessCheck] | None = None,
) -> web.Application:
    """The shop's web app; the bot layer may add routes of its own before starting it.
    ``/healthz`` checks the database, and ``redis`` when given; ``/readyz`` also that the
    schema is at the code's revision, and the ``readiness`` checks the composition root
    adds (Telegram, the background jobs): each raises :class:`NotReady`, or anything else
    for "unavailable"."""
    limits = ClientLimits(settings.web_read_timeout, settings.web_max_connections)
    app = web.Application(middlewares=[limits.middleware])
    app[LIMITS] = limits

    async def database() -> None:
        async with session_factory() as session:
            await session.execute(text("SELECT 1"))

    checks: dict[str, Callable[[], Awaitable[object]]] = {"database": database}
    if redis is not None:
        checks["redis"] = redis.ping

    async def healthz(_request: web.Request) -> web.Response:
        results = await asyncio.gather(*(_check(name, check) for name, check in checks.items()))
        healthy = all(results)
        body = {"status": "ok" if healthy else "error"}
        for name, ok in zip(checks, results, strict=True):
            body[name] = "ok" if ok else "unavailable"
        return web.json_response(body, status=200 if healthy else 503)

    app.router.add_get("/healthz", healthz)

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()

    async def migrations() -> None:
        revision = await current_revision(session_factory.kw["bind"])
        if revision != head:
            raise NotReady(f"database at {revision}, the code expects {head}: run shopbot migrate")

    ready_checks = {**checks, "migrations": migrations, **(readiness or {})}

    async def readyz(_request: web.Request) -> web.Response:
        findings = await asyncio.gather(
            *(_finding(name, check) for name, check in ready_checks.items())
        )
        ready = all(finding == "ok" for finding in findings)
        body: dict[str, object] = {"status": "ok" if ready else "error"}
        body.update(zip(ready_checks, findings, strict=True))
        return web.json_response(body, status=200 if ready else 503)

    app.router.add_get("/readyz", readyz)

    async def metrics_page(request: web.Request) -> web.Response:
        if settings.metrics_token is not None:
            expected = f"Bearer {settings.metrics_token.get_secret_value()}"
            given = request.headers.get("Authorization", "")
            if not hmac.compare_digest(given.encode(), expected.encode()):
                raise web.HTTPUnauthorized(headers={"WWW-Authenticate": "Bearer"})
        async with session_factory() as session:
            await metrics.observe_database(session, session_factory.kw["bind"])
        body, content_type = metrics.exposition()
        return web.Response(body=body, headers={"Content-Type": content_type})

    app.router.add_get("/metrics", metrics_page)
    if isinstance(provider, YooKassaProvider):
        webhook = YooKassaWebhook(settings, session_factory, provider)
        app.router.add_post(WEBHOOK_PATH, webhook.handle)
    return app


async def _check(name: str, check: Callable[[], Awaitable[object]]) -> bool:
    try:
        async with asyncio.timeout(HEALTH_TIMEOUT):
            await check()
    except Exception as exc:
        logger.warning("health check: %s is unavailable: %r", name, exc)
        return False
    return True


async def _finding(name: str, check: ReadinessCheck) -> object:
    """``"ok"``, what :class:`NotReady` says, or ``"unavailable"``."""
    try:
        async with asyncio.timeout(HEALTH_TIMEOUT):
            await check()
    except NotReady as finding:
        logger.warning("not ready: %s: %s", name, finding.detail)
        return finding.detail
    except Exception as exc:
        logger.warning("not ready: %s is unavailable: %r", name, exc)
        return "unavailable"
    return "ok"


async def start_web(app: web.Application, host: str, port: int) -> web.AppRunner:
    """Serve ``app`` (from :func:`create_web_app`) on ``host:port`` (port 0 picks a free one:
    see ``runner.addresses``) within its limits; stop it with ``await runner.cleanup()``."""
    limits = app[LIMITS]
    runner = web.AppRunner(app, keepalive_timeout=limits.read_timeout)
    await runner.setup()
    await LimitedSite(runner, host, port, limits).start()
    return runner
