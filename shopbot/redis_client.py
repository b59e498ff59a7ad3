"""The Redis client behind conversation state and per-shopper locks when REDIS_URL is set."""

from __future__ import annotations

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import EqualJitterBackoff

CONNECT_TIMEOUT = 2.0  # seconds, per attempt


def create_redis(url: str) -> Redis:
    """A client that rides out a Redis restart or failover.

    A command that meets a connection error or a timeout reconnects and is tried again, nine
    times, after jittered pauses that double from 0.1–0.2 s up to 1–2 s (6.5–13 s in all
    when Redis refuses connections); only then does the error reach the update, which gets
    the apology. Once Redis is back, the next command simply connects again.
    """
    return Redis.from_url(
        url,
        socket_connect_timeout=CONNECT_TIMEOUT,
        retry=Retry(EqualJitterBackoff(cap=2.0, base=0.1), retries=9),
    )
