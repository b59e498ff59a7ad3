"""A shop as production runs it, on this machine: ``shopbot run`` replicas in webhook mode on
PostgreSQL and Redis behind nginx (Debian's package, the project's own site from
``deploy/nginx`` with its TLS part swapped for plain HTTP on a loopback port), Telegram and
YooKassa played by the project's emulators in this process. Or, for comparison, one
``shopbot run`` polling on SQLite. Shoppers make whole journeys to paid orders.

Used by ``tests/deploy/test_replicas.py`` and ``bench/scale_bench.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import re
import shutil
import signal
import socket
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from redis.asyncio import Redis
from sqlalchemy import text

from shopbot.db import create_engine
from shopbot.emulators.telegram import EmulatedUser, TelegramEmulator
from shopbot.emulators.yookassa import YooKassaEmulator

ROOT = Path(__file__).resolve().parents[2]
SITE = ROOT / "deploy" / "nginx" / "shopbot.conf"
SECRET = "cluster-webhook-secret"
YOOKASSA_SHOP_ID = "500100"
YOOKASSA_SECRET = "cluster_secret"
STEP_TIMEOUT = 60.0  # seconds a shopper waits for the bot's answer to one action
# Seconds a replica may take to serve: importing aiogram alone costs 7 s of CPU, and three
# replicas start at once on two cores shared with the tests.
START_TIMEOUT = 180.0
PRODUCTS = 20
STOCK = 1000


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def plain_http_site(site: str, port: int) -> str:
    """The project's nginx site with its TLS part swapped for plain HTTP on 127.0.0.1:port:
    the port-80 redirect and the ``ssl_`` lines dropped, the https listener moved."""
    site = re.sub(
        r"# begin plain-http redirect.*?# end plain-http redirect\n", "", site, flags=re.S
    )
    site = re.sub(r"^\s*listen \[::\]:443 ssl http2;\n", "", site, flags=re.M)
    site = site.replace("listen 443 ssl http2;", f"listen 127.0.0.1:{port};")
    return re.sub(r"^\s*ssl_\w+ .*;\n", "", site, flags=re.M)


def nginx_config(folder: Path, replica_ports: list[int]) -> Path:
    """A whole nginx configuration under ``folder`` serving the site; returns its path."""
    upstream = "\n".join(
        f"    server 127.0.0.1:{port} max_fails=1 fail_timeout=5s;" for port in replica_ports
    )
    (folder / "shopbot-upstream.conf").write_text(
        f"upstream shopbot_replicas {{\n{upstream}\n    keepalive 16;\n}}\n"
    )
    temp = "\n".join(
        f"    {kind}_temp_path {folder / kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    user = "user root;\n" if os.geteuid() == 0 else ""
    main = folder / "nginx.conf"
    main.write_text(
        f"{user}daemon off;\nworker_processes 1;\npid {folder / 'nginx.pid'};\n"
        f"error_log {folder / 'error.log'} warn;\n"
        "events { worker_connections 1024; }\n"
        "http {\n"
        "    log_format upstreams '$status|$upstream_addr|$upstream_status';\n"
        f"    access_log {folder / 'access.log'} upstreams;\n"
        f"{temp}\n"
        "    include site.conf;\n"
        "}\n"
    )
    return main


@dataclass
class Replica:
    port: int
    process: asyncio.subprocess.Process | None = None
    output: list[str] = field(default_factory=list)
    reader: asyncio.Task[None] | None = None
    cpu_before: float = 0.0
    cpu_spent: float = 0.0  # CPU seconds of earlier lives (before a kill)


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a running process (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Cluster:
    """``replicas`` webhook replicas behind nginx on ``database_url`` (PostgreSQL) and
    ``redis_url``; ``replicas=0``: one polling process (``database_url`` then SQLite)."""

    def __init__(
        self,
        folder: Path,
        *,
        replicas: int,
        database_url: str,
        redis_url: str | None,
        reconcile_interval: int = 2,
    ) -> None:
        self.folder = folder
        self.database_url = database_url
        self.redis_url = redis_url
        self.reconcile_interval = reconcile_interval
        # A bot of its own: its Redis keys (state, locks) are nobody else's.
        self.token = f"{random.randint(10**8, 10**9)}:cluster"
        self.emulator = TelegramEmulator(self.token)
        self.yookassa = YooKassaEmulator(YOOKASSA_SHOP_ID, YOOKASSA_SECRET)
        self.webhook = replicas > 0
        self.replicas = [Replica(free_port()) for _ in range(max(replicas, 1))]
        self.nginx_port = free_port()
        self.nginx: asyncio.subprocess.Process | None = None

    @property
    def front_url(self) -> str:
        if self.webhook:
            return f"http://127.0.0.1:{self.nginx_port}"
        return f"http://127.0.0.1:{self.replicas[0].port}"

    def env(self, replica: Replica | None = None) -> dict[str, str]:
        env = {name: os.environ[name] for name in ("PATH", "HOME", "LANG") if name in os.environ}
        env.update(
            SHOPBOT_LANGUAGE="en",
            BOT_TOKEN=self.token,
            TELEGRAM_API_URL=self.emulator.base_url,
            DATABASE_URL=self.database_url,
            MEDIA_DIR=str(self.folder / "media"),
            PAYMENT_PROVIDER="yookassa",
            YOOKASSA_SHOP_ID=YOOKASSA_SHOP_ID,
            YOOKASSA_SECRET_KEY=YOOKASSA_SECRET,
            YOOKASSA_API_URL=self.yookassa.api_url,
            YOOKASSA_TRUSTED_NETWORKS="127.0.0.1/32",
            TRUSTED_PROXIES="127.0.0.1/32",
            RECONCILE_INTERVAL=str(self.reconcile_interval),
            WEB_HOST="127.0.0.1",
        )
        if self.redis_url:
            env["REDIS_URL"] = self.redis_url
        if self.webhook:
            env.update(
                TELEGRAM_WEBHOOK_URL=self.front_url,
                TELEGRAM_WEBHOOK_SECRET=SECRET,
                REPLICAS=str(len(self.replicas)),
            )
        if replica is not None:
            env["WEB_PORT"] = str(replica.port)
        return env

    # ------------------------------------------------------------ lifecycle

    async def start(self, catalogue_csv: str) -> None:
        await self.emulator.start()
        await self.yookassa.start()
        self.yookassa.webhook_url = f"{self.front_url}/yookassa/webhook"
        await self._fresh_database()
        await self._shopbot_once("migrate")
        (self.folder / "catalogue.csv").write_text(catalogue_csv)
        await self._shopbot_once("import", "catalogue.csv")
        if self.webhook:
            await self._start_nginx()
        await asyncio.gather(*(self.start_replica(index) for index in range(len(self.replicas))))

    async def forget(self, user_ids: list[int]) -> None:
        """Drop these shoppers' keys from Redis (conversation state, locks)."""
        if not self.redis_url:
            return
        redis = Redis.from_url(self.redis_url)
        try:
            for user_id in user_ids:
                keys = [key async for key in redis.scan_iter(f"fsm:{user_id}:{user_id}:*")]
                if keys:
                    await redis.delete(*keys)
        finally:
            await redis.aclose()

    async def stop(self) -> None:
        for replica in self.replicas:
            await self._end(replica, signal.SIGTERM)
        if self.nginx is not None and self.nginx.returncode is None:
            self.nginx.send_signal(signal.SIGQUIT)
            await self.nginx.wait()
        await self.emulator.stop()
        await self.yookassa.stop()
        for index, replica in enumerate(self.replicas):  # for a look after a failure
            (self.folder / f"replica-{index}.log").write_text("".join(replica.output))

    async def start_replica(self, index: int) -> None:
        """``shopbot run`` for replica ``index``, once it serves (webhook set, or polling)."""
        replica = self.replicas[index]
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "shopbot",
            "run",
            cwd=self.folder,
            env=self.env(replica),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        replica.process = process
        started = asyncio.get_running_loop().create_future()
        replica.reader = asyncio.create_task(self._read(replica, process, started))
        try:
            async with asyncio.timeout(START_TIMEOUT):
                await started
        except TimeoutError:
            raise AssertionError("a replica did not start:\n" + "".join(replica.output)) from None
        replica.cpu_before = cpu_seconds(process.pid)

    async def kill(self, index: int) -> None:
        """SIGKILL: no update in flight finishes, nothing is closed."""
        await self._end(self.replicas[index], signal.SIGKILL)

    async def _end(self, replica: Replica, how: signal.Signals) -> None:
        process = replica.process
        if process is None or process.returncode is not None:
            return
        with contextlib.suppress(FileNotFoundError):
            replica.cpu_spent += cpu_seconds(process.pid) - replica.cpu_before
        process.send_signal(how)
        await process.wait()
        if replica.reader is not None:
            await replica.reader

    async def _read(
        self,
        replica: Replica,
        process: asyncio.subprocess.Process,
        started: asyncio.Future[None],
    ) -> None:
        assert process.stdout is not None
        ready = "receiving updates by webhook at" if self.webhook else "Start polling"
        async for line in process.stdout:
            decoded = line.decode(errors="replace")
            replica.output.append(decoded)
            if ready in decoded and not started.done():
                started.set_result(None)

    def replica_cpu(self) -> float:
        """CPU seconds every replica used since it started serving (all its lives)."""
        total = 0.0
        for replica in self.replicas:
            total += replica.cpu_spent
            if replica.process is not None and replica.process.returncode is None:
                total += cpu_seconds(replica.process.pid) - replica.cpu_before
        return total

    def nginx_cpu(self) -> float:
        if self.nginx is None:
            return 0.0
        pids = [self.nginx.pid]
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                with contextlib.suppress(OSError, IndexError):
                    stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                    if int(stat[1]) == self.nginx.pid:
                        pids.append(int(entry.name))
        return sum(cpu_seconds(pid) for pid in pids)

    def upstreams(self) -> dict[str, int]:
        """Webhook requests nginx passed on, by the replica address that answered last (a
        request the killed replica refused went on to the next: "a, b" in the log)."""
        counts: dict[str, int] = {}
        for line in (self.folder / "access.log").read_text().splitlines():
            status, addresses, _statuses = line.split("|")
            last = addresses.split(",")[-1].strip()
            counts[f"{status} {last}"] = counts.get(f"{status} {last}", 0) + 1
        return counts

    async def _fresh_database(self) -> None:
        if not self.database_url.startswith("postgresql"):
            return
        engine = create_engine(self.database_url, pool_size=1, max_overflow=0)
        async with engine.begin() as connection:
            await connection.execute(text("DROP SCHEMA public CASCADE"))
            await connection.execute(text("CREATE SCHEMA public"))
        await engine.dispose()

    async def _shopbot_once(self, *arguments: str) -> None:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "shopbot",
            *arguments,
            cwd=self.folder,
            env=self.env(),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        output, _ = await process.communicate()
        assert process.returncode == 0, output.decode()

    async def _start_nginx(self) -> None:
        nginx = shutil.which("nginx") or "/usr/sbin/nginx"
        (self.folder / "site.conf").write_text(plain_http_site(SITE.read_text(), self.nginx_port))
        config = nginx_config(self.folder, [replica.port for replica in self.replicas])
        self.nginx = await asyncio.create_subprocess_exec(
            nginx, "-p", str(self.folder), "-c", str(config), stderr=asyncio.subprocess.PIPE
        )
        for _ in range(100):
            with contextlib.suppress(OSError):
                _reader, writer = await asyncio.open_connection("127.0.0.1", self.nginx_port)
                writer.close()
                return
            if self.nginx.returncode is not None:
                break
            await asyncio.sleep(0.05)
        assert self.nginx.stderr is not None
        raise AssertionError("nginx did not start: " + (await self.nginx.stderr.read()).decode())


def catalogue_csv() -> str:
    rows = [f"SKU-{n:02d},Товар {n:02d},{100 + n}0,{STOCK}" for n in range(1, PRODUCTS + 1)]
    return "sku,name,price,stock\n" + "\n".join(rows) + "\n"


# ------------------------------------------------------------------ shoppers


class ChatWatch:
    """Wakes the shoppers whose chat changed (the emulator's event queue, routed by chat)
    and keeps, per chat, the text of every message the bot sent, as it was sent (later
    edits do not change what was said)."""

    def __init__(self, emulator: TelegramEmulator) -> None:
        self._queue = emulator.subscribe()
        self._emulator = emulator
        self._changed: dict[int, asyncio.Event] = {}
        self.sent: dict[int, list[str]] = {}
        self._task = asyncio.create_task(self._route())

    def event(self, chat_id: int) -> asyncio.Event:
        return self._changed.setdefault(chat_id, asyncio.Event())

    def said(self, chat_id: int, words: str) -> int:
        """How many messages the bot sent to the chat with ``words`` in them."""
        return sum(words in sent for sent in self.sent.get(chat_id, ()))

    async def _route(self) -> None:
        bot = self._emulator.bot_user["id"]
        while True:
            event = await self._queue.get()
            message = event["message"]
            if event["type"] == "message" and message["from"]["id"] == bot:
                content = message.get("text", message.get("caption", ""))
                self.sent.setdefault(event["chat_id"], []).append(content)
            waiter = self._changed.get(event["chat_id"])
            if waiter is not None:
                waiter.set()

    async def close(self) -> None:
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._emulator.unsubscribe(self._queue)


def _buttons(message: dict[str, Any]) -> list[dict[str, Any]]:
    markup = message.get("reply_markup") or {}
    return [button for row in markup.get("inline_keyboard", []) for button in row]


def _has(message: dict[str, Any], words: str) -> bool:
    content = message.get("text", message.get("caption", ""))
    return words in content or any(words in button["text"] for button in _buttons(message))


@dataclass
class Journey:
    """One shopper's way to a paid order (or, for ``pays=False``, to an unpaid one)."""

    user: EmulatedUser
    sku: str
    name: str
    phone: str
    comment: str
    pays: bool = True
    lost_notification: bool = False  # paid, but YooKassa's notification never arrives
    latencies: list[float] = field(default_factory=list)
    updates: list[int] = field(default_factory=list)  # the ids of this shopper's updates
    payment_id: str | None = None
    stuck: str | None = None  # the step that got no answer

    async def act(
        self, watch: ChatWatch, action: Callable[[], Any], answered: Callable[[int], bool]
    ) -> None:
        """Do ``action``, then wait for the bot's answer: ``answered(mark)`` with ``mark``
        the newest message id before the action."""
        mark = max(self.user.history, default=0)
        changed = watch.event(self.user.chat_id)
        changed.clear()
        started = time.perf_counter()
        await action()  # queues the update without yielding: the newest update is this one
        update_id = self.user._emulator.last_update_id
        self.updates.append(update_id)
        deadline = started + STEP_TIMEOUT
        while not answered(mark):
            left = deadline - time.perf_counter()
            if left <= 0:
                raise TimeoutError(update_id)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(left):
                    await changed.wait()
            changed.clear()
        self.latencies.append(time.perf_counter() - started)

    def new(self, mark: int, words: str) -> bool:
        """A bot message newer than ``mark`` shows ``words``."""
        bot = self.user._emulator.bot_user["id"]
        return any(
            message_id > mark and message["from"]["id"] == bot and _has(message, words)
            for message_id, message in self.user.history.items()
        )

    def shown(self, words: str) -> bool:
        """Some bot message shows ``words`` now (an edit counts)."""
        return any(_has(message, words) for message in self.user.messages)

    async def run(self, watch: ChatWatch, yookassa: YooKassaEmulator) -> None:
        user = self.user
        steps: list[tuple[str, Callable[[], Any], Callable[[int], bool]]] = [
            (
                "open the product",
                lambda: user.send_text(f"/start p_{self.sku}", wait=False),
                lambda mark: self.new(mark, "🛒 В корзину"),
            ),
            (
                "add to cart",
                lambda: user.press("🛒 В корзину", wait=False),
                lambda _mark: self.shown("🛒 В корзине: 1"),
            ),
            (
                "open the cart",
                lambda: user.send_text("/cart", wait=False),
                lambda mark: self.new(mark, "✅ Оформить заказ"),
            ),
            (
                "check out",
                lambda: user.press("✅ Оформить заказ", wait=False),
                lambda mark: self.new(mark, "На какое имя оформить заказ?"),
            ),
            (
                "give the name",
                lambda: user.send_text(self.name, wait=False),
                lambda mark: self.new(mark, "Ваш номер телефона?"),
            ),
            (
                "give the phone",
                lambda: user.send_text(self.phone, wait=False),
                lambda mark: self.new(mark, "Как вы хотите получить заказ?"),
            ),
            (
                "choose pickup",
                lambda: user.press("🏬 Самовывоз", wait=False),
                lambda mark: self.new(mark, "Пропустить"),
            ),
            (
                "write a comment",
                lambda: user.send_text(self.comment, wait=False),
                lambda mark: self.new(mark, "Проверьте заказ"),
            ),
            (
                "confirm",
                lambda: user.press("✅ Подтвердить", wait=False),
                lambda mark: self.new(mark, "Товары отложены для вас"),
            ),
        ]
        if self.pays:
            steps.append(("pay", lambda: self._pay(yookassa), self._paid))
        for name, action, answered in steps:
            try:
                await self.act(watch, action, answered)
            except TimeoutError as timeout:
                self.stuck = f"{name}: no answer to update {timeout}; last said {user.texts()[-2:]}"
                return

    async def _pay(self, yookassa: YooKassaEmulator) -> None:
        link = next(
            button["url"]
            for message in reversed(self.user.messages)
            for button in _buttons(message)
            if button["text"].startswith("💳 Оплатить") and "url" in button
        )
        self.payment_id = link.rsplit("/", 1)[-1]
        await yookassa.succeed(self.payment_id, notify=not self.lost_notification)

    def _paid(self, mark: int) -> bool:
        return self.new(mark, "✅ Оплата получена")


def journeys(
    emulator: TelegramEmulator, shoppers: int, *, everyone_pays: bool = False
) -> list[Journey]:
    """``shoppers`` journeys: unless ``everyone_pays``, every tenth shopper does not pay (the
    order expires) and every tenth other one pays but its notification is lost (the
    reconciler finds the payment).
    The user ids are new each time: the shop's Redis keys are per chat and user."""
    first_id = random.randrange(10**9, 2 * 10**9, 10_000)
    made = []
    for n in range(shoppers):
        user = emulator.user(first_id + n, f"Покупатель{n}")
        made.append(
            Journey(
                user,
                sku=f"SKU-{n % PRODUCTS + 1:02d}",
                name=f"Покупатель {n}",
                phone=f"+7 900 {n // 10000:03d}-{n % 10000 // 100:02d}-{n % 100:02d}",
                comment=f"Заказ покупателя {n}",
                pays=everyone_pays or n % 10 != 9,
                lost_notification=not everyone_pays and n % 10 == 4,
            )
        )
    return made


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]
