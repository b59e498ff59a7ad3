"""``shopbot run`` with the usual limit of 1,024 file descriptors against 1,200 clients that
send half a request and then nothing: the web server keeps answering, drops them after its
read timeout, and its log stays small."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from shopbot.emulators.telegram import TelegramEmulator
from tests.bot.conftest import TOKEN

DESCRIPTORS = 1024
READ_TIMEOUT = 5  # seconds (WEB_READ_TIMEOUT; 10 by default)
CHILD = (
    "import resource, sys\n"
    f"resource.setrlimit(resource.RLIMIT_NOFILE, ({DESCRIPTORS}, {DESCRIPTORS}))\n"
    "from shopbot.cli import main\n"
    "sys.exit(main(['run']))\n"
)
HALF_HEAD = b"GET /healthz HTTP/1.1\r\nHost: shop\r\nX-Slow: "
HALF_BODY = b"POST /healthz HTTP/1.1\r\nHost: shop\r\nContent-Length: 1000\r\n\r\n{"


@dataclass
class RunningShop:
    process: asyncio.subprocess.Process
    log: Path
    port: int

    def output(self) -> str:
        return self.log.read_text(errors="replace")


@asynccontextmanager
async def shop_with_few_descriptors(
    emulator: TelegramEmulator, tmp_path: Path, **settings: str
) -> AsyncIterator[RunningShop]:
    """``shopbot run`` in a child process limited to 1,024 descriptors, output to a file."""
    env = {
        **os.environ,
        "BOT_TOKEN": TOKEN,
        "TELEGRAM_API_URL": emulator.base_url,
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'run.db'}",
        "MEDIA_DIR": str(tmp_path / "media"),
        "WEB_PORT": "0",
        "WEB_READ_TIMEOUT": str(READ_TIMEOUT),
        **settings,
    }
    env.pop("SHOPBOT_TEST_DATABASE_URL", None)
    log = tmp_path / "shopbot.log"
    with log.open("wb") as output:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-c", CHILD, cwd=tmp_path, env=env, stdout=output, stderr=output
        )
    try:
        async with asyncio.timeout(60):
            while not (started := re.search(r"web http://127\.0\.0\.1:(\d+)", log.read_text())):
                assert process.returncode is None, log.read_text()
                await asyncio.sleep(0.1)
        yield RunningShop(process, log, int(started.group(1)))
        process.send_signal(signal.SIGTERM)
        async with asyncio.timeout(30):
            assert await process.wait() == 0, log.read_text()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


async def half_sent(port: int, request: bytes) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(request)
    await writer.drain()
    return reader, writer


async def closed_by_server(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, started: float
) -> float:
    """Seconds until the server closed the connection (an end of file or a reset)."""
    try:
        await reader.read()
    except ConnectionError:
        pass
    finally:
        writer.close()
    return time.monotonic() - started


async def healthz(port: int) -> float:
    """Milliseconds for a ``GET /healthz`` on a new connection; 5 s at most."""
    started = time.monotonic()
    async with (
        asyncio.timeout(5),
        aiohttp.ClientSession() as client,
        client.get(f"http://127.0.0.1:{port}/healthz") as response,
    ):
        assert response.status == 200
    return (time.monotonic() - started) * 1000


async def attack(port: int) -> list[asyncio.Task[float]]:
    """1,100 half-sent request heads and 100 half-sent bodies; a task per connection that
    ends when the server closes it."""
    started = time.monotonic()
    async with asyncio.timeout(60):
        connections = await asyncio.gather(
            *(half_sent(port, HALF_HEAD) for _ in range(1100)),
            *(half_sent(port, HALF_BODY) for _ in range(100)),
        )
    return [asyncio.create_task(closed_by_server(*ends, started)) for ends in connections]


async def test_half_sent_requests_beyond_the_descriptor_limit_leave_healthz_answering(
    emulator: TelegramEmulator, tmp_path: Path
) -> None:
    async with shop_with_few_descriptors(emulator, tmp_path) as shop:
        connections = await attack(shop.port)
        answers = [await healthz(shop.port)]  # a new connection each time
        async with asyncio.timeout(READ_TIMEOUT + 60):
            while not all(task.done() for task in connections):
                answers.append(await healthz(shop.port))
                await asyncio.sleep(0.2)
        closed_after = sorted([await task for task in connections])
        output = shop.output()

    print(
        f"1,200 half-sent requests, nofile {DESCRIPTORS}: {len(answers)} /healthz answers "
        f"while they hung, slowest {max(answers):.0f} ms; all closed within "
        f"{closed_after[-1]:.1f} s (read timeout {READ_TIMEOUT} s); "
        f"{len(output.splitlines())} log lines"
    )
    assert "out of system resource" not in output
    assert 1 <= output.count("connection limit reached") <= 2  # once per 10 s at most
    # A line per /healthz and per dropped body ("POST /healthz ... 408"), little else.
    assert len(output.splitlines()) < 20 + len(answers) + 100, output[-3000:]
    assert "Traceback" not in output


async def test_out_of_descriptors_the_failed_accept_is_logged_once_in_a_while(
    emulator: TelegramEmulator, tmp_path: Path
) -> None:
    """A connection limit set above the descriptor limit: accept() fails, asyncio reports it
    on every try (thousands of times a second), the log keeps one report per 10 s."""
    async with shop_with_few_descriptors(emulator, tmp_path, WEB_MAX_CONNECTIONS="5000") as shop:
        started = time.monotonic()
        connections = await attack(shop.port)
        async with asyncio.timeout(READ_TIMEOUT + 60):
            closed_after = sorted(await asyncio.gather(*connections))
        duration = time.monotonic() - started
        await healthz(shop.port)  # serving again once the slow clients were dropped
        output = shop.output()

    reports = output.count("socket.accept() out of system resource")
    print(
        f"accept() out of descriptors for ~{closed_after[-1]:.0f} s: {reports} report(s), "
        f"{len(output.encode()) / 1000:.0f} kB of log"
    )
    assert 1 <= reports <= duration // 10 + 1
    assert len(output.encode()) < 100_000
