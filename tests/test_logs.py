"""The log filter that keeps an error repeated in a loop to one line now and then."""

from __future__ import annotations

import logging

from shopbot.logs import RateLimitFilter


def record(message: str, *args: object) -> logging.LogRecord:
    return logging.LogRecord("asyncio", logging.ERROR, __file__, 1, message, args, None)


def test_one_record_per_interval_then_the_count_of_those_dropped() -> None:
    now = [100.0]
    limit = RateLimitFilter("socket.accept() out of system resource", 10, clock=lambda: now[0])
    failed = "socket.accept() out of system resource\nsocket: %s"

    assert limit.filter(record(failed, "fd=6"))
    passed = []
    for _ in range(5000):  # as fast as asyncio retries
        now[0] += 0.001
        passed.append(limit.filter(record(failed, "fd=6")))
    assert not any(passed)
    assert limit.filter(record("health check: the database is unavailable"))  # others pass

    now[0] = 110.5
    summary = record(failed, "fd=6")
    assert limit.filter(summary)
    assert summary.getMessage() == (
        "socket.accept() out of system resource\nsocket: fd=6\n"
        "(5000 more like it since the last one were not logged)"
    )
    now[0] = 121.0
    quiet = record(failed, "fd=6")
    assert limit.filter(quiet) and quiet.getMessage().endswith("fd=6")
