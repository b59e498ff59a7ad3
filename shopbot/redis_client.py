"""The Redis client behind conversation state and per-shopper locks when REDIS_URL is set."""

from __future__ import annotations

import os

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import EqualJitterBackoff
from redis.exceptions import RedisError

from shopbot.errors import StartupError
from shopbot.i18n import N_, Text

CONNECT_TIMEOUT = 2.0  # seconds, per attempt
START_TIMEOUT = 5.0  # seconds for the check at start-up


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


async def check_redis(url: str) -> None:
    """Ping Redis once, without retries; :class:`StartupError` (one line) if it fails."""
    probe = Redis.from_url(url, socket_connect_timeout=START_TIMEOUT, socket_timeout=START_TIMEOUT)
    try:
        await probe.ping()
    except (RedisError, OSError) as exc:
        problem = N_("cannot reach Redis at {where} (REDIS_URL): {reason}")
        where, reason = _where(probe), _reason(exc)
        raise StartupError(Text(problem, {"where": where, "reason": reason})) from None
    finally:
        await probe.aclose()


def _reason(exc: BaseException) -> str:
    """The system's words for a socket error ("Connection refused", not redis-py's "Error
    111 connecting to … Connect call failed (…)"); redis-py's for the rest (a password)."""
    cause = exc if isinstance(exc, OSError) else exc.__context__
    if isinstance(cause, OSError) and cause.errno:
        return os.strerror(cause.errno)
    return " ".join(str(exc).split()) or type(exc).__name__


def _where(redis: Redis) -> str:
    """host:port/db or the socket path, without credentials."""
    kwargs = redis.connection_pool.connection_kwargs
    if "path" in kwargs:
        return str(kwargs["path"])
    return f"{kwargs.get('host', 'localhost')}:{kwargs.get('port', 6379)}/{kwargs.get('db', 0)}"
