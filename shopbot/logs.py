"""Logging helpers (standard library only: the CLI installs them before heavy imports)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable


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
