"""A redelivered update, at whichever replica, does again what its first delivery did.

Conversation state lives in Redis and commits step by step, not with the database: a
checkout step writes the next state, then sends the next question. A replica killed in
between leaves the state moved on and the question unsent; Telegram's redelivery of the
update then met the new state (a second press of "Check out" was taken for a double tap, a
typed name for a wrong phone number) and the shopper was stuck. So each update's state is
noted in Redis as it arrives, before anything changes it: a redelivery of an update that
never finished starts from that state again and asks the same question; one of an update
that finished (its answer to Telegram was lost) is acknowledged without acting. The
database's handled-once record (:mod:`shopbot.services.updates`) still keeps a change that
committed from being made twice.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from aiogram import BaseMiddleware
from aiogram.fsm.context import FSMContext
from aiogram.types import TelegramObject, Update
from redis.asyncio import Redis

from shopbot.bot.middlewares import OUTCOME, Handler

log = logging.getLogger(__name__)

KEPT_SECONDS = 3600  # Telegram redelivers within minutes; an hour of notes is plenty
DONE = "done"


class ReplayedStateMiddleware(BaseMiddleware):
    """Notes the conversation state each update arrives with (``SET NX``), restores it for a
    redelivery of an unfinished update, skips a redelivery of a finished one. Runs inside
    the per-shopper lock, so the shopper's previous update has finished."""

    def __init__(self, redis: Redis) -> None:
        self.redis = redis

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        assert isinstance(event, Update)
        state: FSMContext | None = data.get("state")
        if state is None:  # no chat and user to keep state for
            return await handler(event, data)
        key = f"shopbot:update:{data['bot'].id}:{event.update_id}"
        arrived = {"state": data.get("raw_state"), "data": await state.get_data()}
        noted = await self.redis.set(key, json.dumps(arrived), nx=True, ex=KEPT_SECONDS)
        if not noted:
            earlier = await self.redis.get(key)
            first = json.loads(earlier) if earlier else arrived
            if first == DONE:
                log.info("update %s was handled already: acknowledged again", event.update_id)
                data[OUTCOME] = "duplicate"
                return None
            log.info("update %s came again unfinished: handled from its state", event.update_id)
            await state.set_state(first["state"])
            await state.set_data(first["data"])
            data["raw_state"] = first["state"]
        result = await handler(event, data)
        await self.redis.set(key, json.dumps(DONE), ex=KEPT_SECONDS)
        return result
