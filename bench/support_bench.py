"""How fast do support conversations relay, and do they keep their order under load?

One process: the Bot API emulator on 127.0.0.1 with a staff forum group, the shop as
``shopbot run`` builds it (``start_shop``, polling with aiogram's defaults, each update a task
of its own) on a fresh SQLite file (or ``--database-url``). N shoppers each hand off (subject
"something else") and then send M texts as fast as the bot takes them, all shoppers at once;
then a manager answers each shopper M times in their topic, also all at once.

Latency runs from the moment a message is queued in the emulator to the moment its copy
appears on the other side (the emulator's ``subscribe()`` events); throughput is messages
relayed per second over the whole burst. The order of the copies in every topic and chat is
checked against the order sent.

    .venv/bin/python bench/support_bench.py [--shoppers 20] [--messages 10]
        [--database-url postgresql+asyncpg://USER@HOST/bench_support]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import tempfile
import time
from pathlib import Path

from shopbot.app import start_shop
from shopbot.config import load_settings
from shopbot.emulators.telegram import EmulatedUser, TelegramEmulator
from shopbot.emulators.telegram_forum import forum

TOKEN = "123456:SUPPORT-bench"
STAFF = -1009000000001
ADMIN = 900


class Arrivals:
    """When each text shows up as a bot message in a chat (by the text, unique per run)."""

    def __init__(self, emulator: TelegramEmulator) -> None:
        self.seen: dict[str, float] = {}
        self.order: dict[int, list[str]] = {}  # chat (topic for the forum) -> texts in order
        self._queue = emulator.subscribe()
        self._bot_id = emulator.bot_user["id"]
        self._wanted = 0
        self._enough = asyncio.Event()
        self._task = asyncio.create_task(self._watch())

    async def _watch(self) -> None:
        while True:
            event = await self._queue.get()
            message = event["message"]
            if event["type"] != "message" or message["from"]["id"] != self._bot_id:
                continue
            text = message.get("text", "")
            if text.startswith(("s", "m")) and "-" in text:
                self.seen[text] = time.perf_counter()
                place = message.get("message_thread_id") or event["chat_id"]
                self.order.setdefault(place, []).append(text)
                if len(self.seen) >= self._wanted:
                    self._enough.set()

    async def until(self, count: int, seconds: float) -> None:
        """Wait until ``count`` texts arrived (or ``seconds`` passed: the rest are lost)."""
        self._wanted = count
        self._enough.clear()
        if len(self.seen) >= count:
            return
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self._enough.wait()

    async def close(self) -> None:
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task


async def answered(person: EmulatedUser, start: str) -> None:
    """Wait for the bot's answer (polling as tasks, the bot may answer after the emulator
    saw the update acknowledged)."""
    async with asyncio.timeout(30):
        while not any(text.startswith(start) for text in person.texts()):  # noqa: ASYNC110
            await asyncio.sleep(0.01)


def report(label: str, sent: dict[str, float], arrivals: Arrivals, took: float) -> None:
    delays = sorted(arrivals.seen[text] - at for text, at in sent.items() if text in arrivals.seen)
    lost = len(sent) - len(delays)
    if not delays:
        print(f"{label}: nothing arrived ({lost} lost)")
        return
    p95 = delays[max(0, round(len(delays) * 0.95) - 1)]
    print(
        f"{label}: {len(delays)} relayed in {took:.2f} s = {len(delays) / took:.0f}/s; latency "
        f"p50 {statistics.median(delays) * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms, "
        f"max {delays[-1] * 1000:.0f} ms; lost {lost}"
    )


async def run(shoppers: int, messages: int, database_url: str | None) -> None:
    emulator = TelegramEmulator(TOKEN)
    await emulator.start()
    staff = forum(emulator, STAFF, "Поддержка")
    owner = emulator.user(ADMIN, "Хозяйка")
    staff.join(owner, "creator")
    with tempfile.TemporaryDirectory() as folder:
        url = database_url or f"sqlite+aiosqlite:///{Path(folder) / 'support.db'}"
        settings = load_settings(
            bot_token=TOKEN,
            telegram_api_url=emulator.base_url,
            database_url=url,
            media_dir=Path(folder) / "media",
            admin_ids=[ADMIN],
            support_chat_id=STAFF,
            payment_provider="cash",
            web_port=0,
            reconcile_interval=3600,
            _env_file=None,
        )
        runtime = await start_shop(settings)
        polling = asyncio.create_task(
            runtime.dispatcher.start_polling(
                runtime.bot, handle_signals=False, polling_timeout=1, close_bot_session=False
            )
        )
        try:
            people = [
                emulator.user(1000 + index, f"Покупатель {index}") for index in range(shoppers)
            ]
            for person in people:
                await person.send_text("/support")
                await answered(person, "О чём ваш вопрос?")
                await person.press("💬 Другое")
                await answered(person, "💬 Вы пишете менеджеру")
            await emulator.wait_handled(60)
            arrivals = Arrivals(emulator)
            sent: dict[str, float] = {}

            async def shopper_burst(index: int) -> None:
                for number in range(messages):
                    text = f"s{index}-{number}"
                    sent[text] = time.perf_counter()
                    await people[index].send_text(text, wait=False)
                    await asyncio.sleep(0)

            started = time.perf_counter()
            await asyncio.gather(*(shopper_burst(index) for index in range(shoppers)))
            await arrivals.until(len(sent), 120)
            report("shoppers → topics", sent, arrivals, time.perf_counter() - started)

            threads = {
                person.id: thread for thread, person in zip(staff.topics, people, strict=True)
            }
            replies: dict[str, float] = {}

            async def staff_burst(index: int) -> None:
                for number in range(messages):
                    text = f"m{index}-{number}"
                    replies[text] = time.perf_counter()
                    await staff.send_text(owner, text, thread=threads[people[index].id], wait=False)
                    await asyncio.sleep(0)

            started = time.perf_counter()
            await asyncio.gather(*(staff_burst(index) for index in range(shoppers)))
            await arrivals.until(len(sent) + len(replies), 120)
            report("staff → shoppers", replies, arrivals, time.perf_counter() - started)
            in_order = all(
                texts == sorted(texts, key=lambda text: int(text.rsplit("-", 1)[1]))
                for texts in arrivals.order.values()
            )
            print(f"every topic and chat in the order sent: {in_order}")
            await arrivals.close()
        finally:
            await runtime.dispatcher.stop_polling()
            await polling
            await runtime.close()
            await emulator.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shoppers", type=int, default=20)
    parser.add_argument("--messages", type=int, default=10)
    parser.add_argument("--database-url", default=None)
    arguments = parser.parse_args()
    asyncio.run(run(arguments.shoppers, arguments.messages, arguments.database_url))


if __name__ == "__main__":
    main()
