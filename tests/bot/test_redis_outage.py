"""Conversation state in Redis (``REDIS_URL``) while Redis goes away and comes back.

The shop talks to a redis-server of the test's own through a TCP proxy the test can cut
(every connection dropped, new ones accepted and closed at once) and restore.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import aiohttp
import pytest

from tests.bot.conftest import Catalogue, ShopFactory
from tests.bot.test_journey import begin_checkout

APOLOGY = "Извините, у нас что-то пошло не так. Попробуйте ещё раз."


async def until(condition: Callable[[], object], timeout: float = 30) -> None:  # noqa: ASYNC109
    async with asyncio.timeout(timeout):
        while True:
            if condition():
                return
            await asyncio.sleep(0.01)


@pytest.fixture
async def redis_socket() -> AsyncIterator[Path]:
    """A redis-server of this test's own, on a Unix socket."""
    assert shutil.which("redis-server"), (
        "these tests need redis-server (apt-get install redis-server)"
    )
    directory = Path(tempfile.mkdtemp(prefix="shopbot-redis-"))
    socket = directory / "redis.sock"
    process = await asyncio.create_subprocess_exec(
        "redis-server",
        *("--port", "0", "--unixsocket", str(socket), "--dir", str(directory)),
        *("--save", "", "--appendonly", "no"),
        stdout=asyncio.subprocess.DEVNULL,
    )
    try:
        await until(socket.exists)
        yield socket
    finally:
        process.terminate()
        await process.wait()
        shutil.rmtree(directory)


class RedisLine:
    """A TCP proxy to Redis that can be cut and restored."""

    def __init__(self, socket: Path) -> None:
        self.socket = socket
        self.cut_off = False
        self.turned_away = 0  # connections accepted and closed while cut
        self._open: set[asyncio.StreamWriter] = set()
        self._server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"redis://127.0.0.1:{self._server.sockets[0].getsockname()[1]}/0"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)

    async def stop(self) -> None:
        assert self._server is not None
        self.cut()
        self._server.close()
        await self._server.wait_closed()

    def cut(self) -> None:
        self.cut_off = True
        for writer in self._open:
            writer.transport.abort()

    def restore(self) -> None:
        self.cut_off = False

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.cut_off:
            self.turned_away += 1
            writer.transport.abort()
            return
        upstream_reader, upstream_writer = await asyncio.open_unix_connection(self.socket)
        self._open |= {writer, upstream_writer}
        try:
            await asyncio.gather(_pipe(reader, upstream_writer), _pipe(upstream_reader, writer))
        finally:
            self._open -= {writer, upstream_writer}
            writer.transport.abort()
            upstream_writer.transport.abort()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(ConnectionError):
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    writer.transport.abort()


@pytest.fixture
async def redis_line(redis_socket: Path) -> AsyncIterator[RedisLine]:
    line = RedisLine(redis_socket)
    await line.start()
    yield line
    await line.stop()


async def healthz(base_url: str) -> tuple[int, dict]:
    async with (
        asyncio.timeout(30),
        aiohttp.ClientSession() as client,
        client.get(f"{base_url}/healthz") as response,
    ):
        return response.status, await response.json()


async def test_a_checkout_step_waits_out_a_redis_outage_instead_of_apologising(
    shop_factory: ShopFactory, catalogue: Catalogue, redis_line: RedisLine
) -> None:
    shop = await shop_factory(redis_url=redis_line.url)
    petr = await begin_checkout(shop, 601, "TS-02")  # the checkout step lives in Redis

    redis_line.cut()
    await petr.send_text("+7 900 765 43 21", wait=False)
    await until(lambda: redis_line.turned_away)  # the bot met the outage...
    redis_line.restore()  # ...and Redis is back before its retries ran out
    await shop.emulator.wait_handled(timeout=30)

    assert "Как вы хотите получить заказ?" in petr.last["text"]
    assert APOLOGY not in petr.texts()
    await petr.press("🏬 Самовывоз")
    await petr.press("Пропустить")
    await petr.press("✅ Подтвердить")
    assert "оформлен" in petr.last["text"]
    assert shop.emulator.errors == []


async def test_a_long_outage_apologises_then_the_bot_serves_again_without_a_restart(
    shop_factory: ShopFactory, redis_line: RedisLine
) -> None:
    shop = await shop_factory(redis_url=redis_line.url)
    anna = shop.emulator.user(602, "Анна")
    await anna.send_text("/start")

    redis_line.cut()
    started = time.monotonic()
    await anna.send_text("/help", wait=False)
    await shop.emulator.wait_handled(timeout=60)
    waited = time.monotonic() - started
    assert anna.last["text"] == APOLOGY
    print(f"Redis down: the update waited {waited:.1f} s, then the apology")

    redis_line.restore()
    await anna.send_text("/start")
    assert "Здравствуйте, Анна!" in anna.last["text"]


async def test_healthz_reports_redis_down_and_back(
    shop_factory: ShopFactory, redis_line: RedisLine
) -> None:
    shop = await shop_factory(redis_url=redis_line.url)
    assert shop.runtime is not None
    url = shop.runtime.web_url
    assert await healthz(url) == (200, {"status": "ok", "database": "ok", "redis": "ok"})

    redis_line.cut()
    down = await healthz(url)
    redis_line.restore()
    back = await healthz(url)

    assert down == (503, {"status": "error", "database": "ok", "redis": "unavailable"})
    assert back == (200, {"status": "ok", "database": "ok", "redis": "ok"})
