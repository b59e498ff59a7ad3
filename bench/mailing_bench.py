"""A mailing's delivery rate, and how fast browsing shoppers are answered while it runs.

One run: a Bot API emulator on 127.0.0.1 enforcing Telegram's flood control (30
messages/s per bot, 1/s per chat after a burst), a fresh SQLite file with a small catalogue
(``shopbot import``: 3 categories, 60 products) and ``--subscribers`` shoppers who agreed to
news, and ``shopbot run`` (polling, as in production) in a child process with the default
``MAILING_RATE`` (25/s).

1. baseline: ``--shoppers`` shoppers browse for ``--seconds`` seconds, no campaign: each
   sends /catalog, waits for the answer, presses the first category, waits for the answer
   to the press, pauses ``--pause`` seconds (a person's pace: Telegram allows
   a chat about one message a second), and again;
2. campaign: the owner's post goes to every subscriber (a campaign made as ``/mailing``
   makes it, started at once) while the same shoppers browse the same way until it is done.

Latency of an action runs from queueing it in the emulator to the bot's answer as the
emulator serves it (the list's ``sendMessage`` for /catalog, ``answerCallbackQuery`` for a
press), observed on the emulator's event queue. The campaign's rate is its deliveries over
the time from its first to its last delivery. The target: shoppers' p50 < 100 ms during the
campaign. 429s the emulator answered are counted.

    .venv/bin/python bench/mailing_bench.py [--subscribers 500] [--shoppers 5]
        [--seconds 10] [--pause 1.0]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import func, insert, select

from shopbot.db import create_engine, create_session_factory, migrate, unit_of_work
from shopbot.emulators.telegram import EmulatedUser, TelegramEmulator
from shopbot.emulators.telegram_limits import send_formatted
from shopbot.models import ConsentSource, MailingRecipient, MailingStatus, User, utcnow
from shopbot.services import mailings

TOKEN = "123456:BENCH-token"
OWNER = 900
SHOPPERS_FROM = 50_000
SUBSCRIBERS_FROM = 100_000


class Answers:
    """The bot's answers per chat, from the emulator's event queue."""

    def __init__(self, emulator: TelegramEmulator) -> None:
        self._events = emulator.subscribe()
        self._waiting: dict[int, tuple[str, asyncio.Future[None]]] = {}
        self._task = asyncio.create_task(self._route())

    def expect(self, chat_id: int, kind: str) -> asyncio.Future[None]:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting[chat_id] = (kind, future)
        return future

    async def _route(self) -> None:
        while True:
            event = await self._events.get()
            waiting = self._waiting.get(event["chat_id"])
            if waiting is None or waiting[0] != event["type"]:
                continue
            message = event.get("message") or {}
            if event["type"] == "message" and message.get("from", {}).get("is_bot") is not True:
                continue
            del self._waiting[event["chat_id"]]
            if not waiting[1].done():
                waiting[1].set_result(None)

    def close(self) -> None:
        self._task.cancel()


async def browse(
    shopper: EmulatedUser, answers: Answers, until: asyncio.Event, pause: float
) -> list[float]:
    """/catalog, then the first category, again and again: the latency of each."""
    latencies: list[float] = []
    while not until.is_set():
        answered = answers.expect(shopper.id, "message")
        started = time.perf_counter()
        await shopper.send_text("/catalog", wait=False)
        await asyncio.wait_for(answered, 30)
        latencies.append(time.perf_counter() - started)
        first = shopper.last["reply_markup"]["inline_keyboard"][0][0]["text"]
        answered = answers.expect(shopper.id, "callback_answer")
        started = time.perf_counter()
        await shopper.press(first, wait=False)
        await asyncio.wait_for(answered, 30)
        latencies.append(time.perf_counter() - started)
        await asyncio.sleep(pause)
    return latencies


def summary(latencies: list[float]) -> str:
    ms = sorted(value * 1000 for value in latencies)
    if not ms:
        return "no actions"
    p95 = ms[min(len(ms) - 1, int(len(ms) * 0.95))]
    return (
        f"{len(ms)} actions, p50 {statistics.median(ms):.1f} ms, p95 {p95:.1f} ms, "
        f"max {ms[-1]:.1f} ms"
    )


async def prepare(folder: Path, database_url: str, subscribers: int, env: dict[str, str]) -> None:
    lines = ["sku,name,price,stock,category"]
    for category in ("Футболки", "Кружки", "Носки"):
        lines += [f"{category[:2]}-{n},{category} {n},{490 + n},50,{category}" for n in range(20)]
    (folder / "catalogue.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    imported = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "shopbot",
        "import",
        "catalogue.csv",
        cwd=folder,
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
    )
    assert await imported.wait() == 0, "the catalogue import failed"
    engine = create_engine(database_url)
    await migrate(engine)
    now = utcnow()
    async with create_session_factory(engine)() as session, unit_of_work(session):
        await session.execute(
            insert(User),
            [
                {
                    "id": SUBSCRIBERS_FROM + number,
                    "first_name": "Подписчик",
                    "language": "ru",
                    "created_at": now,
                    "is_blocked": False,
                    "marketing_consent": True,
                    "marketing_consent_at": now,
                    "marketing_consent_source": ConsentSource.COMMAND,
                }
                for number in range(subscribers)
            ],
        )
    await engine.dispose()


async def run(args: argparse.Namespace) -> None:
    emulator = TelegramEmulator(TOKEN)
    emulator.limits.enforce = True
    await emulator.start()
    folder = Path(tempfile.mkdtemp(prefix="shopbot-mailing-bench-"))
    database_url = f"sqlite+aiosqlite:///{folder / 'shop.db'}"
    env = {
        **os.environ,
        "BOT_TOKEN": TOKEN,
        "TELEGRAM_API_URL": emulator.base_url,
        "DATABASE_URL": database_url,
        "MEDIA_DIR": str(folder / "media"),
        "WEB_PORT": "0",
        "ADMIN_IDS": str(OWNER),
    }
    await prepare(folder, database_url, args.subscribers, env)
    for number in range(args.subscribers):
        emulator.user(SUBSCRIBERS_FROM + number).started = True
    log = (folder / "bot.log").open("wb")
    bot = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "shopbot", "run", cwd=folder, env=env, stdout=log, stderr=log
    )
    answers = Answers(emulator)
    engine = create_engine(database_url)
    session_factory = create_session_factory(engine)
    try:
        shoppers = [emulator.user(SHOPPERS_FROM + n) for n in range(args.shoppers)]
        for shopper in shoppers:  # one untimed action each: the bot has started, rows exist
            answered = answers.expect(shopper.id, "message")
            await shopper.send_text("/start", wait=False)
            await asyncio.wait_for(answered, 60)

        stop = asyncio.Event()
        browsing = [browse(shopper, answers, stop, args.pause) for shopper in shoppers]
        tasks = [asyncio.create_task(task) for task in browsing]
        await asyncio.sleep(args.seconds)
        stop.set()
        baseline = [value for latencies in await asyncio.gather(*tasks) for value in latencies]

        owner = emulator.user(OWNER, "Хозяйка")
        owner.started = True
        draft = await send_formatted(owner, "🔥 Распродажа до воскресенья", [], wait=False)
        async with session_factory() as session:
            mailing_id = await mailings.create(
                session,
                owner_id=OWNER,
                source_chat_id=OWNER,
                message_ids=[draft["message_id"]],
                buttons=[],
                audience=mailings.Audience(mailings.AudienceKind.ALL),
            )
        refused_before = emulator.limits.refused
        stop = asyncio.Event()
        tasks = [
            asyncio.create_task(browse(shopper, answers, stop, args.pause)) for shopper in shoppers
        ]
        async with session_factory() as session:
            while await mailings.status_of(session, mailing_id) is not MailingStatus.DONE:
                await asyncio.sleep(0.2)
                await session.commit()
            first, last, sent = (
                await session.execute(
                    select(
                        func.min(MailingRecipient.sent_at),
                        func.max(MailingRecipient.sent_at),
                        func.count(MailingRecipient.sent_at),
                    ).where(MailingRecipient.mailing_id == mailing_id)
                )
            ).one()
        stop.set()
        during = [value for latencies in await asyncio.gather(*tasks) for value in latencies]
    finally:
        answers.close()
        bot.terminate()
        await bot.wait()
        log.close()
        await engine.dispose()
        await emulator.stop()

    seconds = (last - first).total_seconds()
    rate = (sent - 1) / seconds if seconds > 0 else float("nan")
    print(f"subscribers {args.subscribers}, shoppers browsing {args.shoppers}")
    print(f"shoppers, no campaign:     {summary(baseline)}")
    print(f"shoppers, during campaign: {summary(during)}")
    print(f"campaign: {sent} delivered in {seconds:.1f} s: {rate:.1f} messages/s")
    refused = emulator.limits.refused - refused_before
    print(f"429s answered by the emulator during the campaign: {refused}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--subscribers", type=int, default=500)
    parser.add_argument("--shoppers", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--pause", type=float, default=1.0)
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
