"""Logging helpers (standard library only: the CLI installs them before heavy imports): the
JSON format, secrets kept out of every line, a rate limit for errors repeated in a loop."""

from __future__ import annotations

import json
import logging
import os
import socket
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

# What the log lines of the current task are about (``update_id``, ``user_id``): bound by the
# bot's update middleware, read by the JSON formatter.
_BOUND: ContextVar[dict[str, Any] | None] = ContextVar("shopbot_log_fields", default=None)

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class RateLimitFilter(logging.Filter):
    """Let through one record whose message starts with ``prefix`` per ``interval`` seconds.

    The next record let through says how many were dropped since the previous one; records
    with other messages always pass. For errors that repeat as fast as they can be logged
    (asyncio's "socket.accept() out of system resource" when descriptors run out).
    """

    def __init__(
        self,
        prefix: str,
        interval: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self.prefix = prefix
        self.interval = interval
        self._clock = clock
        self._next: float | None = None
        self._dropped = 0

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if not message.startswith(self.prefix):
            return True
        now = self._clock()
        if self._next is not None and now < self._next:
            self._dropped += 1
            return False
        if self._dropped:
            record.msg = (
                f"{message}\n({self._dropped} more like it since the last one were not logged)"
            )
            record.args = None
            self._dropped = 0
        self._next = now + self.interval
        return True


@contextmanager
def bound(**fields: Any) -> Iterator[None]:
    """Add ``fields`` to every JSON log line written inside the block (this task only)."""
    token = _BOUND.set({**(_BOUND.get() or {}), **fields})
    try:
        yield
    finally:
        _BOUND.reset(token)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC, ISO 8601), level, logger, message, the replica
    (host and process id), the fields bound where the record was made (:func:`bound`), and
    the traceback if any."""

    def __init__(self) -> None:
        super().__init__()
        self.replica = f"{socket.gethostname()}/{os.getpid()}"

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "replica": self.replica,
        }
        entry.update(_BOUND.get() or {})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


class RedactingFormatter(logging.Formatter):
    """Wraps a formatter: every secret in a finished line becomes ``***`` (a token in a URL
    a library logs, a key in a traceback)."""

    def __init__(self, inner: logging.Formatter, secrets: Iterable[str]) -> None:
        super().__init__()
        self.inner = inner
        # Longest first, so a secret containing another is hidden whole.
        self.secrets = sorted({secret for secret in secrets if secret}, key=len, reverse=True)

    def format(self, record: logging.LogRecord) -> str:
        line = self.inner.format(record)
        for secret in self.secrets:
            line = line.replace(secret, "***")
        return line


def configure_logging(log_format: str, secrets: Iterable[str]) -> None:
    """Give the root logger's handlers the ``text`` or ``json`` format, secrets hidden."""
    inner = JsonFormatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT)
    formatter = RedactingFormatter(inner, secrets)
    for handler in logging.getLogger().handlers:
        handler.setFormatter(formatter)
