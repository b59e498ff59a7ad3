"""Prometheus metrics, served at ``GET /metrics`` (:mod:`shopbot.web.app`).

Counters and histograms are counted where things happen (the bot's middlewares, the
YooKassa client, the job passes); what the database knows (orders and payments by status,
the outbox) and the connection pool are read at scrape time, so every replica reports the
same database figures. Each replica serves its own process's counters: scrape each one
(Prometheus adds them up), or set ``PROMETHEUS_MULTIPROC_DIR`` for several processes behind
one port (prometheus-client's multiprocess mode).
"""

from __future__ import annotations

import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client import REGISTRY as _DEFAULT
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from shopbot.models import Order, OutboxMessage, Payment

UPDATES = Counter(
    "shopbot_updates", "Telegram updates handled, by type and outcome", ["type", "outcome"]
)
UPDATE_SECONDS = Histogram("shopbot_update_seconds", "time to handle an update, by type", ["type"])
TELEGRAM_REQUESTS = Counter("shopbot_telegram_requests", "Bot API calls, by method", ["method"])
TELEGRAM_ERRORS = Counter(
    "shopbot_telegram_errors",
    "Bot API calls that failed, by method and error code (429: flood control)",
    ["method", "code"],
)
PAYMENT_SECONDS = Histogram(
    "shopbot_payment_provider_seconds",
    "time of a payment provider call (retries included), by provider and operation",
    ["provider", "operation"],
)
PAYMENT_ERRORS = Counter(
    "shopbot_payment_provider_errors",
    "payment provider calls that failed, by provider, operation and error",
    ["provider", "operation", "error"],
)
MAILING_DELIVERIES = Counter(
    "shopbot_mailing_deliveries",
    "mailing sends by outcome: sent, unreachable, failed, retried (429, 5xx, network)",
    ["outcome"],
)
MAILING_FLOOD_WAITS = Counter(
    "shopbot_mailing_flood_waits", "429s met by mailings (each pauses every bulk send)"
)
JOB_SECONDS = Histogram(
    "shopbot_job_pass_seconds", "time of a background job's pass, by job", ["job"]
)
JOB_LAST_SUCCESS = Gauge(
    "shopbot_job_last_success_timestamp_seconds",
    "when a background job's pass last succeeded in this process",
    ["job"],
    multiprocess_mode="max",
)
ORDERS = Gauge("shopbot_orders", "orders by status", ["status"], multiprocess_mode="mostrecent")
PAYMENTS = Gauge(
    "shopbot_payments", "payments by status", ["status"], multiprocess_mode="mostrecent"
)
OUTBOX = Gauge(
    "shopbot_outbox_messages",
    "messages of the outbox: pending, sent, failed (given up)",
    ["state"],
    multiprocess_mode="mostrecent",
)
DB_POOL_IN_USE = Gauge(
    "shopbot_db_pool_connections_in_use",
    "database connections checked out of this process's pool",
    multiprocess_mode="livesum",
)


async def observe_database(session: AsyncSession, engine: AsyncEngine) -> None:
    """Read what the database knows into the gauges (three grouped counts)."""
    for gauge, column in ((ORDERS, Order.status), (PAYMENTS, Payment.status)):
        rows = await session.execute(select(column, func.count()).group_by(column))
        gauge.clear()
        for status, count in rows:
            gauge.labels(str(status)).set(count)
    sent = OutboxMessage.sent_at.is_not(None)
    failed = OutboxMessage.given_up_at.is_not(None)
    counts = (
        await session.execute(
            select(
                func.count().filter(sent),
                func.count().filter(failed),
                func.count().filter(~sent & ~failed),
            )
        )
    ).one()
    for state, count in zip(("sent", "failed", "pending"), counts, strict=True):
        OUTBOX.labels(state).set(count)
    checked_out = getattr(engine.pool, "checkedout", None)
    DB_POOL_IN_USE.set(checked_out() if checked_out is not None else 0)


def exposition() -> tuple[bytes, str]:
    """The metrics in Prometheus's text format, and its content type."""
    if "PROMETHEUS_MULTIPROC_DIR" in os.environ:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(_DEFAULT), CONTENT_TYPE_LATEST
