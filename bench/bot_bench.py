"""How many updates per second does the shop bot handle next to a bare aiogram echo bot?

One run, one Bot API emulator on 127.0.0.1, one freshly migrated SQLite file with a
generated catalogue (5 categories, 200 products, no images):

1. echo: a bare aiogram Dispatcher (one message handler answering the text, one callback
   handler answering the callback) polls the emulator; N shoppers each send M actions
   (texts and button presses, in the shop journey's order) concurrently;
2. calls: the shop's own Bot and session making the shop's Telegram calls and nothing else
   (a message for a text; an edit and a callback answer for a press; a ready-made keyboard
   shaped like a category page) — the most the shop could reach;
3. shop: the real dispatcher (``create_dispatcher``, cash payments) with the same N shoppers
   browsing: /catalog, a category, the next page, a product card, add to cart, /cart;
4. SQL statements per update, counted on the engine (``before_cursor_execute``) while one
   update of each kind is replayed at a time, for several catalogue page sizes, with the
   catalogue cache emptied before each update and again once it holds what they show.

The bots poll with aiogram's defaults (``handle_as_tasks=True``) in a child process, so a
bot has a core to itself as it would with the real Telegram; the emulator and the shoppers
run in this process. Every shopper has one update in flight: it queues an action, waits until
the bot has handled it, then queues the next (buttons are taken from the bot's last message).

Latency of an update runs from the moment its action is queued in the emulator to the moment
the emulator serves the bot's last API call for it: ``answerCallbackQuery`` for a button
press, ``sendMessage`` for a text (every handler exercised here ends with that call). The end
is observed on the emulator's ``subscribe()`` event queue, within one event-loop turn of the
call. Each bot first gets one untimed update per shopper (connections, the user rows). The
shop's latencies are also printed per journey step.

    .venv/bin/python bench/bot_bench.py [--shoppers N] [--actions M] [--show-sql]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import multiprocessing
import random
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from sqlalchemy import event, insert
from sqlalchemy.ext.asyncio import AsyncEngine

from shopbot.bot.callbacks import CatalogAction, CatalogCb
from shopbot.bot.factory import create_bot, create_dispatcher
from shopbot.bot.i18n import create_i18n
from shopbot.bot.notifier import BotNotifier
from shopbot.bot.routers import catalog
from shopbot.config import Settings, load_settings
from shopbot.db import create_engine, create_session_factory, migrate
from shopbot.emulators.telegram import EmulatedUser, TelegramEmulator
from shopbot.models import Category, Product
from shopbot.payments import create_provider
from shopbot.services.catalogue import CatalogueCache
from shopbot.services.text import search_text

TOKEN = "123456:BENCH-token"
CATEGORIES = ["Футболки", "Кружки", "Блокноты", "Постеры", "Значки"]
PRODUCTS = 200
KINDS = ["Футболка", "Кружка", "Блокнот", "Постер", "Значок", "Шоппер"]
THEMES = ["Северное сияние", "Кот-астроном", "Байкал", "Ёжик в тумане", "Берёзы"]
FIRST_ECHO_SHOPPER = 100_000
FIRST_SHOP_SHOPPER = 200_000
FIRST_CALLS_SHOPPER = 300_000
COUNTING_SHOPPER = 400_000
PAGE_SIZES = (4, 8, 16)
ACTION_TIMEOUT = 30.0  # seconds a shopper waits for the bot before the run is declared broken
TRANSACTION_CONTROL = ("BEGIN", "SAVEPOINT", "RELEASE", "ROLLBACK", "COMMIT")

# The journey, step by step: (name, is a button press). Echo shoppers follow the same kinds.
JOURNEY = [
    ("/catalog", False),
    ("category", True),
    ("next page", True),
    ("product", True),
    ("add to cart", True),
    ("/cart", False),
]


# ------------------------------------------------------------------ the catalogue


async def build_database(database_url: str) -> None:
    """Migrate a fresh file and fill it: 5 categories of 40 active products each."""
    engine = create_engine(database_url)
    try:
        await migrate(engine)
        rng = random.Random(1)
        async with engine.begin() as connection:
            category_ids = [
                await connection.scalar(
                    insert(Category)
                    .values(name=name, path=name, position=position)
                    .returning(Category.id)
                )
                for position, name in enumerate(CATEGORIES)
            ]
            rows = []
            for number in range(1, PRODUCTS + 1):
                sku = f"SKU-{number:04d}"
                name = f"{rng.choice(KINDS)} «{rng.choice(THEMES)}», арт. {number}"
                description = "Хлопок 100%. Упаковано в крафтовую коробку."
                rows.append(
                    {
                        "sku": sku,
                        "name": name,
                        "description": description,
                        "price": rng.randrange(290, 5000) * 100,
                        "stock": 100_000,
                        "active": True,
                        "category_id": category_ids[number % len(category_ids)],
                        "search_text": search_text(sku, name, description),
                    }
                )
            await connection.execute(insert(Product), rows)
    finally:
        await engine.dispose()


# ------------------------------------------------------------------------ the bots


def shop_settings(base_url: str, database_url: str, media_dir: Path) -> Settings:
    return load_settings(
        bot_token=TOKEN,
        telegram_api_url=base_url,
        database_url=database_url,
        media_dir=media_dir,
        admin_ids=[],
        payment_provider="cash",
        shop_name="Лавка",
        _env_file=None,
    )


async def create_shop(settings: Settings, engine: AsyncEngine) -> tuple[Bot, Dispatcher]:
    """The shop's bot and dispatcher as ``shopbot run`` builds them (no web server, no jobs)."""
    session_factory = create_session_factory(engine)
    bot = create_bot(settings)
    me = await bot.get_me()
    notifier = BotNotifier(bot, settings, session_factory, create_i18n(settings.default_language))
    dispatcher = create_dispatcher(
        settings,
        engine,
        session_factory,
        payment_provider=create_provider(settings, bot_username=me.username or ""),
        notifier=notifier,
    )
    return bot, dispatcher


async def echo_text(message: Message) -> None:
    await message.answer(message.text or "?")


async def echo_callback(query: CallbackQuery) -> None:
    await query.answer()


def create_echo(base_url: str) -> tuple[Bot, Dispatcher]:
    bot = Bot(TOKEN, session=AiohttpSession(api=TelegramAPIServer.from_base(base_url)))
    dispatcher = Dispatcher()
    dispatcher.message.register(echo_text)
    dispatcher.callback_query.register(echo_callback)
    return bot, dispatcher


class CallsOnly:
    """The shop's Telegram calls and nothing else: the ceiling for the shop's rate.

    The shop's own bot (its session, JSON bodies, default parse mode) answers a text with a
    message and a button press with an edit and a callback answer, as the shop does, under
    one ready-made keyboard shaped like a category page (categories, eight products, the
    pager, add to cart). No database, no rendering, no middlewares.
    """

    def __init__(self) -> None:
        def button(text: str, **fields: Any) -> list[InlineKeyboardButton]:
            return [InlineKeyboardButton(text=text, callback_data=CatalogCb(**fields).pack())]

        rows = [
            button(f"📁 {name} (40)", action=CatalogAction.LIST, category_id=1)
            for name in CATEGORIES
        ]
        rows += [
            button(
                f"Футболка «Байкал», арт. {n} — 1 299 ₽", action=CatalogAction.PRODUCT, product_id=n
            )
            for n in range(1, 9)
        ]
        rows.append(button("▶", action=CatalogAction.LIST, category_id=1, page=1))
        rows.append(button("🛒 В корзину", action=CatalogAction.ADD, product_id=1))
        self.markup = InlineKeyboardMarkup(inline_keyboard=rows)
        self.screens = 0

    def text(self) -> str:
        self.screens += 1  # an edit must change something, or Telegram refuses it
        return f"📁 <b>Футболки</b> — 40 товаров\nэкран {self.screens}"

    async def on_text(self, message: Message) -> None:
        await message.answer(self.text(), reply_markup=self.markup)

    async def on_press(self, query: CallbackQuery) -> None:
        assert isinstance(query.message, Message)
        await query.message.edit_text(self.text(), reply_markup=self.markup)
        await query.answer()


def create_calls_only(settings: Settings) -> tuple[Bot, Dispatcher]:
    calls = CallsOnly()
    dispatcher = Dispatcher()
    dispatcher.message.register(calls.on_text)
    dispatcher.callback_query.register(calls.on_press)
    return create_bot(settings), dispatcher


def serve_bot(kind: str, pipe: Connection) -> None:
    """Child process: wait for where to connect, poll the emulator until told to stop, and
    report the process's CPU time when asked."""
    logging.basicConfig(
        level=logging.WARNING, format="bot: %(levelname)s %(name)s %(message)s", force=True
    )
    try:
        base_url, database_url, media_dir = pipe.recv()
    except EOFError:
        return  # the run ended before this bot's turn
    asyncio.run(_serve_bot(kind, base_url, database_url, Path(media_dir), pipe))


async def _serve_bot(
    kind: str, base_url: str, database_url: str, media_dir: Path, pipe: Connection
) -> None:
    engine: AsyncEngine | None = None
    if kind == "echo":
        bot, dispatcher = create_echo(base_url)
    elif kind == "calls":
        bot, dispatcher = create_calls_only(shop_settings(base_url, database_url, media_dir))
    else:
        engine = create_engine(database_url)
        settings = shop_settings(base_url, database_url, media_dir)
        bot, dispatcher = await create_shop(settings, engine)
    polling = asyncio.create_task(
        dispatcher.start_polling(bot, handle_signals=False, polling_timeout=1)
    )
    pipe.send("ready")
    try:
        while (command := await asyncio.to_thread(pipe.recv)) != "stop":
            assert command == "cpu", command
            pipe.send(time.process_time())
    finally:
        await dispatcher.stop_polling()
        await polling
        await dispatcher.storage.close()
        if engine is not None:
            await engine.dispose()


class BotProcess:
    """A bot polling the emulator from a child process.

    The process is forked before this one starts its event loop or any thread (so it
    inherits the imported modules and nothing else) and waits to be told where to connect.
    """

    def __init__(self, kind: str) -> None:
        context = multiprocessing.get_context("fork")
        self.pipe, child_end = context.Pipe()
        self.process = context.Process(target=serve_bot, args=(kind, child_end), daemon=True)
        self.process.start()
        child_end.close()

    async def start(self, base_url: str, database_url: str, media_dir: Path) -> None:
        self.pipe.send((base_url, database_url, str(media_dir)))
        if await asyncio.to_thread(self.pipe.recv) != "ready":
            raise SystemExit("the bot process did not start")

    async def cpu_time(self) -> float:
        self.pipe.send("cpu")
        return float(await asyncio.to_thread(self.pipe.recv))

    async def stop(self) -> None:
        if self.process.is_alive():
            self.pipe.send("stop")
        await asyncio.to_thread(self.process.join, 30)
        if self.process.exitcode != 0:
            raise SystemExit(f"the bot process failed (exit code {self.process.exitcode})")


# --------------------------------------------------------------------- shoppers


class Watcher:
    """Tells each shopper when the bot made the last API call for its pending update."""

    def __init__(self, emulator: TelegramEmulator) -> None:
        self.emulator = emulator
        self.bot_id = emulator.bot_user["id"]
        self.events = emulator.subscribe()
        self.pending: dict[int, tuple[bool, asyncio.Future[float]]] = {}
        self.task = asyncio.create_task(self._watch())

    def expect(self, chat_id: int, press: bool) -> asyncio.Future[float]:
        """A future set to the time of the bot's answerCallbackQuery (press) or sendMessage."""
        done = asyncio.get_running_loop().create_future()
        self.pending[chat_id] = (press, done)
        return done

    async def _watch(self) -> None:
        while True:
            item = await self.events.get()
            now = time.perf_counter()
            waiting = self.pending.get(item["chat_id"])
            if waiting is None:
                continue
            press, done = waiting
            final = (
                item["type"] == "callback_answer"
                if press
                else item["type"] == "message" and item["message"]["from"]["id"] == self.bot_id
            )
            if final:
                del self.pending[item["chat_id"]]
                done.set_result(now)

    async def close(self) -> None:
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)
        self.emulator.unsubscribe(self.events)


def catalog_buttons(message: dict[str, Any]) -> list[tuple[CatalogCb, str, str]]:
    """(parsed data, raw data, label) of the catalogue buttons on a bot message."""
    prefix = CatalogCb.__prefix__ + ":"
    return [
        (CatalogCb.unpack(button["callback_data"]), button["callback_data"], button["text"])
        for row in message.get("reply_markup", {}).get("inline_keyboard", [])
        for button in row
        if button.get("callback_data", "").startswith(prefix)
    ]


def choose_button(step: str, message: dict[str, Any], rng: random.Random) -> str:
    """The callback data a browsing shopper presses at this step of the journey."""
    buttons = catalog_buttons(message)
    if step == "category":
        options = [raw for cb, raw, _ in buttons if cb.action is CatalogAction.LIST]
    elif step == "next page":
        options = [raw for _, raw, label in buttons if label == "▶"]
    elif step == "product":
        options = [raw for cb, raw, _ in buttons if cb.action is CatalogAction.PRODUCT]
    else:
        adds = {CatalogAction.ADD, CatalogAction.INC}
        options = [raw for cb, raw, _ in buttons if cb.action in adds]
    if not options:
        raise SystemExit(f"no button for {step!r} on the bot's message: {message.get('text')!r}")
    return rng.choice(options)


# An action: read the chat, pick what to do, and return the (not yet started) coroutine that
# queues the update, so that the clock starts when the update is queued.
Act = Callable[[EmulatedUser, str, random.Random], Awaitable[object]]


def shop_act(user: EmulatedUser, step: str, rng: random.Random) -> Awaitable[object]:
    if step.startswith("/"):
        return user.send_text(step, wait=False)
    message = user.last
    return user.press_data(choose_button(step, message, rng), message=message, wait=False)


def echo_act(user: EmulatedUser, step: str, _rng: random.Random) -> Awaitable[object]:
    if step.startswith("/"):
        return user.send_text(step, wait=False)
    return user.press_data("echo", message=user.last, wait=False)


async def timed(
    watcher: Watcher, user: EmulatedUser, press: bool, action: Awaitable[object]
) -> float:
    """Queue one update and wait for the bot to finish it; its latency in seconds."""
    started = time.perf_counter()
    finished = watcher.expect(user.chat_id, press)
    await action
    try:
        return await asyncio.wait_for(finished, ACTION_TIMEOUT) - started
    except TimeoutError:
        raise SystemExit(f"shopper {user.id}: no answer within {ACTION_TIMEOUT} s") from None


async def shop_around(
    watcher: Watcher, user: EmulatedUser, act: Act, actions: int, seed: int
) -> list[tuple[str, float]]:
    """(journey step, latency) of each action of one shopper."""
    rng = random.Random(seed)
    latencies = []
    for number in range(actions):
        step, press = JOURNEY[number % len(JOURNEY)]
        latencies.append((step, await timed(watcher, user, press, act(user, step, rng))))
    return latencies


@dataclass(frozen=True)
class Result:
    label: str
    updates: int
    seconds: float
    latencies: list[tuple[str, float]]  # (journey step, seconds)
    bot_cpu: float

    @property
    def rate(self) -> float:
        return self.updates / self.seconds

    def percentile(self, q: int, step: str | None = None) -> float:
        """The q-th percentile latency in ms, of every update or of one journey step's."""
        chosen = [seconds for name, seconds in self.latencies if step in (None, name)]
        return statistics.quantiles(chosen, n=100, method="inclusive")[q - 1] * 1000


async def measure(
    label: str,
    bot: BotProcess,
    emulator: TelegramEmulator,
    act: Act,
    first_id: int,
    args: argparse.Namespace,
) -> Result:
    watcher = Watcher(emulator)
    try:
        await bot.start(emulator.base_url, args.database_url, args.media_dir)
        users = [emulator.user(first_id + number) for number in range(args.shoppers)]
        # Untimed: one /catalog each (the bot connects, the shop creates the user rows).
        await asyncio.gather(
            *(timed(watcher, user, False, user.send_text("/catalog", wait=False)) for user in users)
        )
        cpu_before = await bot.cpu_time()
        started = time.perf_counter()
        runs = await asyncio.gather(
            *(
                shop_around(watcher, user, act, args.actions, seed)
                for seed, user in enumerate(users)
            )
        )
        seconds = time.perf_counter() - started
        cpu = await bot.cpu_time() - cpu_before
    finally:
        await watcher.close()
        await bot.stop()
    if emulator.errors:
        raise SystemExit(f"{label}: the emulator answered errors: {emulator.errors[:3]}")
    latencies = [latency for run in runs for latency in run]
    return Result(label, len(latencies), seconds, latencies, cpu)


# ------------------------------------------------------------ SQL per update


class StatementCounter:
    """Every statement the engine sends to the database, in order."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.statements: list[str] = []
        event.listen(engine.sync_engine, "before_cursor_execute", self._record)

    def _record(self, *args: Any) -> None:
        self.statements.append(args[2])  # (connection, cursor, statement, ...)

    def take(self) -> list[str]:
        taken, self.statements = self.statements, []
        return taken


@dataclass(frozen=True)
class Count:
    kind: str
    page_size: int
    warm: bool  # the catalogue cache already held what the update showed
    queries: list[str]  # everything but transaction control
    transaction_control: int


async def count_statements(
    emulator: TelegramEmulator, database_url: str, media_dir: Path
) -> list[Count]:
    """Replay one update of each kind at a time on an in-process shop; count its statements."""
    engine = create_engine(database_url)
    counter = StatementCounter(engine)
    settings = shop_settings(emulator.base_url, database_url, media_dir)
    bot, dispatcher = await create_shop(settings, engine)
    polling = asyncio.create_task(
        dispatcher.start_polling(
            bot, handle_as_tasks=False, handle_signals=False, polling_timeout=1
        )
    )
    user = emulator.user(COUNTING_SHOPPER)
    cache: CatalogueCache = dispatcher["catalogue_cache"]
    counts = []
    try:
        await user.send_text("/catalog")  # first contact: creates the user row (not counted)
        for page_size in PAGE_SIZES:
            catalog.PAGE_SIZE = page_size
            # Cold: the cache emptied before each update. Warm: the same choices again,
            # after a pass that fills the cache.
            for warm, counted in ((False, True), (True, False), (True, True)):
                rng = random.Random(page_size)
                for step, _press in JOURNEY:
                    if not warm:
                        cache.clear()
                    counter.take()
                    if step.startswith("/"):
                        await user.send_text(step)
                    else:
                        message = user.last
                        await user.press_data(choose_button(step, message, rng), message=message)
                    statements = counter.take()
                    if not counted:
                        continue
                    queries = [sql for sql in statements if not sql.startswith(TRANSACTION_CONTROL)]
                    control = len(statements) - len(queries)
                    counts.append(Count(step, page_size, warm, queries, control))
    finally:
        await dispatcher.stop_polling()
        await polling
        await dispatcher.storage.close()
        await engine.dispose()
    if emulator.errors:
        raise SystemExit(f"SQL count: the emulator answered errors: {emulator.errors[:3]}")
    return counts


# ---------------------------------------------------------------------- report


def print_throughput(results: list[Result], shoppers: int, actions: int) -> None:
    echo, calls, shop = results
    print(f"\n{shoppers} shoppers x {actions} actions, one update in flight per shopper")
    print(
        f"{'bot':<7}{'updates':>9}{'seconds':>9}{'updates/s':>11}{'p50 ms':>9}{'p99 ms':>9}", end=""
    )
    print(f"{'bot CPU ms/update':>19}")
    for result in results:
        print(
            f"{result.label:<7}{result.updates:>9}{result.seconds:>9.2f}{result.rate:>11.1f}"
            f"{result.percentile(50):>9.1f}{result.percentile(99):>9.1f}"
            f"{result.bot_cpu * 1000 / result.updates:>19.2f}"
        )
    ratio = shop.rate / echo.rate
    verdict = "ok" if ratio >= 0.5 else "BELOW TARGET"
    print(f"shop/echo rate: {ratio:.2f} (target >= 0.50: {verdict})")
    print(
        f"calls/echo rate: {calls.rate / echo.rate:.2f} (the most the shop could reach, "
        "making its Telegram calls and nothing else)"
    )
    print(f"shop/calls rate: {shop.rate / calls.rate:.2f}")
    print("shop latency by step (ms):")
    for step, _press in JOURNEY:
        print(
            f"  {step:<12} p50 {shop.percentile(50, step):>7.1f}"
            f"  p90 {shop.percentile(90, step):>7.1f}  p99 {shop.percentile(99, step):>7.1f}"
        )


def print_counts(counts: list[Count], show_sql: bool) -> None:
    print("\nSQL statements per update (transaction control — BEGIN, SAVEPOINT — in brackets)")
    print("empty: the catalogue cache emptied before each update (the first visit of a page)")
    print("warm: the same updates again, once the cache holds what they show")
    print(f"{'update':<14}" + "".join(f"{f'page size {size}':>15}" for size in PAGE_SIZES))
    for warm in (False, True):
        print("catalogue cache " + ("warm" if warm else "empty"))
        for step, _press in JOURNEY:
            row = [count for count in counts if count.kind == step and count.warm == warm]
            cells = "".join(
                f"{f'{len(count.queries)} ({count.transaction_control})':>15}" for count in row
            )
            print(f"  {step:<12}{cells}")
    browsing = [count for count in counts if count.kind in {"/catalog", "category", "next page"}]
    worst = max(len(count.queries) for count in browsing)
    print(f"catalogue browsing: at most {worst} statements (target <= 3)")
    if show_sql:
        for count in counts:
            if count.page_size == PAGE_SIZES[0] and not count.warm:
                print(f"\n-- {count.kind}")
                for sql in count.queries:
                    print("   " + " ".join(sql.split()))


async def run(args: argparse.Namespace, bots: dict[str, BotProcess]) -> None:
    await build_database(args.database_url)
    emulator = TelegramEmulator(TOKEN)
    await emulator.start()
    try:
        results = [
            await measure("echo", bots["echo"], emulator, echo_act, FIRST_ECHO_SHOPPER, args),
            await measure("calls", bots["calls"], emulator, shop_act, FIRST_CALLS_SHOPPER, args),
            await measure("shop", bots["shop"], emulator, shop_act, FIRST_SHOP_SHOPPER, args),
        ]
        counts = await count_statements(emulator, args.database_url, args.media_dir)
    finally:
        await emulator.stop()
    print_throughput(results, args.shoppers, args.actions)
    print_counts(counts, args.show_sql)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shoppers", type=int, default=50, help="concurrent shoppers")
    parser.add_argument("--actions", type=int, default=30, help="timed actions per shopper")
    parser.add_argument("--show-sql", action="store_true", help="print the counted statements")
    args = parser.parse_args()
    if args.shoppers < 1 or args.actions < 1 or args.shoppers * args.actions < 2:
        parser.error("at least one shopper, one action and two updates in all")
    logging.basicConfig(level=logging.WARNING)
    bots = {kind: BotProcess(kind) for kind in ("echo", "calls", "shop")}
    with tempfile.TemporaryDirectory(prefix="shopbot-bot-bench-") as folder:
        args.database_url = f"sqlite+aiosqlite:///{Path(folder) / 'shop.db'}"
        args.media_dir = Path(folder) / "media"
        asyncio.run(run(args, bots))


if __name__ == "__main__":
    main()
