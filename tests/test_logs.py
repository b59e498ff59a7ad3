"""Logging: the filter that keeps an error repeated in a loop to one line now and then, the
JSON format of `shopbot run`, secrets kept out of every line."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
import sys
from pathlib import Path

from shopbot.logs import TEXT_FORMAT, JsonFormatter, RateLimitFilter, RedactingFormatter


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


async def test_shopbot_run_with_log_format_json_writes_json_lines(tmp_path: Path) -> None:
    with socket.socket() as probe:  # a port nothing listens on: Telegram is unreachable
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    token = "123456:log-format-secret"
    env = {
        **os.environ,
        "BOT_TOKEN": token,
        "TELEGRAM_API_URL": f"http://127.0.0.1:{closed}",
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'shop.db'}",
        "MEDIA_DIR": str(tmp_path / "media"),
        "WEB_PORT": "0",
        "LOG_FORMAT": "json",
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "shopbot",
        "run",
        cwd=tmp_path,
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert process.stderr is not None
        line = await asyncio.wait_for(process.stderr.readline(), 60)
    finally:
        process.terminate()
        await process.wait()

    entry = json.loads(line)
    assert (entry["level"], entry["logger"]) == ("WARNING", "shopbot.app")
    assert "is not reachable" in entry["message"]
    assert {"time", "replica"} <= set(entry)
    assert token not in line.decode()


def test_a_secret_in_a_log_line_is_replaced_whatever_the_format() -> None:
    secret = "123456:very-secret"
    failure = record("could not call https://api.telegram.org/bot%s/getMe", secret)
    for inner in (JsonFormatter(), logging.Formatter(TEXT_FORMAT)):
        line = RedactingFormatter(inner, [secret, "very"]).format(failure)
        assert secret not in line and "very" not in line
        assert "/bot***/getMe" in line
