"""100 shoppers starting checkout at once, with handlers as tasks as ``shopbot run`` polls:
every update holds at most one pooled connection (its own, shared with the FSM storage), so
none waits for the pool and every shopper gets the name prompt."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from shopbot.emulators.telegram import EmulatedUser
from shopbot.services import cart
from tests.bot.conftest import Shop, poll_as_tasks, until
from tests.factories import make_product, make_user

SHOPPERS = 100
CHECKOUT = "✅ Оформить заказ"
APOLOGY = "Извините, у нас что-то пошло не так"
NAME_PROMPT = "Оформление заказа. /cancel — выйти на любом шаге."


def buttons(messages: list[dict[str, Any]]) -> set[str]:
    return {
        button["text"]
        for message in messages
        for row in message.get("reply_markup", {}).get("inline_keyboard", [])
        for button in row
    }


def prompted(shoppers: list[EmulatedUser]) -> int:
    return sum(NAME_PROMPT in shopper.last.get("text", "") for shopper in shoppers)


def apologies(shop: Shop) -> int:
    answers = shop.emulator.callback_answers.values()
    return sum(APOLOGY in (answer.text or "") for answer in answers)


class CheckoutsPerTask:
    """Connections each asyncio task holds from the engine's pool at once, at most."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._pool = engine.sync_engine.pool
        self._held: Counter[asyncio.Task[Any] | None] = Counter()
        self.most: Counter[asyncio.Task[Any] | None] = Counter()
        event.listen(self._pool, "checkout", self._checkout)
        event.listen(self._pool, "checkin", self._checkin)

    def close(self) -> None:
        event.remove(self._pool, "checkout", self._checkout)
        event.remove(self._pool, "checkin", self._checkin)

    def _checkout(self, _dbapi: Any, record: Any, _proxy: Any) -> None:
        task = asyncio.current_task()
        record.info["checked_out_by"] = task
        self._held[task] += 1
        self.most[task] = max(self.most[task], self._held[task])

    def _checkin(self, _dbapi: Any, record: Any) -> None:
        task = record.info.pop("checked_out_by", None)
        if self._held[task] > 0:
            self._held[task] -= 1


async def test_a_hundred_shoppers_start_checkout_together(
    shop: Shop, session: AsyncSession, caplog: pytest.LogCaptureFixture
) -> None:
    product = await make_product(session, "Футболка", stock=SHOPPERS * 2)
    ids = range(30_001, 30_001 + SHOPPERS)
    for user_id in ids:
        await make_user(session, user_id, "Покупатель")
        await cart.set_quantity(session, user_id, product.id, 1)
    shoppers = [shop.emulator.user(user_id, "Покупатель") for user_id in ids]
    await poll_as_tasks(shop)
    for shopper in shoppers:
        await shopper.send_text("/cart", wait=False)
    await until(lambda: all(CHECKOUT in buttons(shopper.messages) for shopper in shoppers), 120)

    assert shop.runtime is not None
    checkouts = CheckoutsPerTask(shop.runtime.engine)
    started = time.monotonic()
    try:
        for shopper in shoppers:
            await shopper.press(CHECKOUT, wait=False)
        # Every shopper ends with the name prompt, or with an apology (a failed update).
        await until(lambda: prompted(shoppers) + apologies(shop) == SHOPPERS, 120)
        await shop.emulator.wait_handled(timeout=120)
    finally:
        checkouts.close()
    elapsed = time.monotonic() - started
    # Updates only: a background job's pass holds its lock's connection beside its work's.
    per_update = [
        held
        for task, held in checkouts.most.items()
        if task is None or "BackgroundJobs" not in task.get_coro().__qualname__
    ]

    timeouts = sum(
        record.exc_info is not None and "QueuePool limit" in str(record.exc_info[1])
        for record in caplog.records
    )
    logging.getLogger(__name__).warning(
        "%s shoppers pressed checkout: %s name prompts in %.1f s, at most %s connection(s) "
        "per update, %s pool timeouts",
        SHOPPERS,
        prompted(shoppers),
        elapsed,
        max(per_update),
        timeouts,
    )
    assert prompted(shoppers) == SHOPPERS
    assert max(per_update) == 1, "an update held two pooled connections at once"
    assert shop.emulator.errors == []
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
