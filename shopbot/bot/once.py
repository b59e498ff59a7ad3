"""Each update acts once and says what it has to say, whichever replica dies when.

Telegram sends an update again when its answer was not 2xx in time (a replica killed
mid-update, a late answer). :mod:`shopbot.services.updates` makes the change of such an
update commit once; this module makes its reply and its conversation state follow:

- The update's first unit of work does not commit when it ends (``db.holding_commit``):
  the handler goes on computing its reply, and the commit waits for its first Bot API call
  that needs Telegram's answer (a message sent or edited). Calls that only say "done"
  (answering a button press, deleting a message) wait too, and go out right after the
  commit. The commit records, with the change, those calls and the one that triggered it,
  and the conversation state the update set so far: its ``effects``.
- A redelivery whose change finds the record undoes its own run and does the recorded
  effects instead: the state is set, and the reply sent unless the ledger says it went.
- With Redis, conversation state written during an update is kept back until the update is
  done, then written together with an "update done" mark in one transaction (MULTI): a
  redelivery of a done update is acknowledged at once, and one whose replica died before
  that finds the state the update found, so it takes the same step again rather than the
  next one. The ledger also marks an update whose recorded reply Telegram accepted.

What is left: the few milliseconds between Telegram accepting a reply and the mark that
says so (a redelivery then says it twice), and what an update does after its recorded
reply (a second message, a later state) when its replica dies right then. Without Redis
(one process polling on SQLite) state commits with the change in the database and there is
no ledger: a recorded reply is said again after a crash even if it went out.
"""

from __future__ import annotations

import copy
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Protocol

import aiogram.methods
from aiogram import Bot
from aiogram.client.default import Default
from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.dispatcher.middlewares.base import BaseMiddleware
from aiogram.exceptions import TelegramBadRequest, TelegramForbiddenError
from aiogram.fsm.state import State
from aiogram.fsm.storage.base import StorageKey
from aiogram.fsm.storage.redis import RedisStorage
from aiogram.methods import AnswerCallbackQuery
from aiogram.methods.base import TelegramMethod, TelegramType
from aiogram.types import InputFile, TelegramObject, Update
from pydantic_core import to_jsonable_python
from sqlalchemy.ext.asyncio import AsyncSession

from shopbot import db
from shopbot.bot.middlewares import OUTCOME
from shopbot.services import outbox, updates

log = logging.getLogger(__name__)

LEDGER_TTL = timedelta(days=2)  # as long as handled_update keeps its records
STARTED = "started"
SAID = "said"  # the reply recorded with its change went out
DONE = "done"
# Methods whose effect a person sees: recorded to be done again. Others (getFile, creating a
# forum topic) are not: doing them again would not repeat what the person missed.
SAYING = ("send", "copy", "forward", "edit", "answer", "delete", "setMessageReaction")


Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]


@dataclass
class _StateWrite:
    """What an update set in one conversation's state, not yet written."""

    state: str | None = None
    state_set: bool = False
    data: dict[str, Any] = field(default_factory=dict)
    data_set: bool = False


class OnceRedisStorage(RedisStorage):
    """aiogram's :class:`RedisStorage`, whose writes during an update wait for the update's
    end (reads see them meanwhile), and the ledger of updates said and done."""

    async def set_state(self, key: StorageKey, state: str | State | None = None) -> None:
        once = _active()
        if once is None:
            return await super().set_state(key, state)
        write = once.state_writes.setdefault(key, _StateWrite())
        write.state = state.state if isinstance(state, State) else state
        write.state_set = True

    async def get_state(self, key: StorageKey) -> str | None:
        once = _active()
        write = once.state_writes.get(key) if once is not None else None
        if write is not None and write.state_set:
            return write.state
        return await super().get_state(key)

    async def set_data(self, key: StorageKey, data: Mapping[str, Any]) -> None:
        once = _active()
        if once is None:
            return await super().set_data(key, data)
        write = once.state_writes.setdefault(key, _StateWrite())
        write.data = copy.deepcopy(dict(data))
        write.data_set = True

    async def get_data(self, key: StorageKey) -> dict[str, Any]:
        once = _active()
        write = once.state_writes.get(key) if once is not None else None
        if write is not None and write.data_set:
            return copy.deepcopy(write.data)
        return await super().get_data(key)

    def _ledger_key(self, bot_id: int, update_id: int) -> str:
        return self.key_builder.build(StorageKey(bot_id, 0, 0), f"update:{update_id}")

    async def arrive(self, bot_id: int, update_id: int, session: AsyncSession) -> Arrival:
        key = self._ledger_key(bot_id, update_id)
        if await self.redis.set(key, STARTED, nx=True, ex=LEDGER_TTL):
            return Arrival(first=True)
        value = await self.redis.get(key)
        progress = value.decode() if isinstance(value, bytes) else value
        return Arrival(first=False, done=progress == DONE, said=progress == SAID)

    async def mark_said(self, bot_id: int, update_id: int) -> None:
        await self.redis.set(self._ledger_key(bot_id, update_id), SAID, ex=LEDGER_TTL)

    async def finish(
        self, bot_id: int, update_id: int, writes: Mapping[StorageKey, _StateWrite]
    ) -> None:
        """Write the update's state and mark it done, in one Redis transaction."""
        async with self.redis.pipeline(transaction=True) as pipeline:
            queued = RedisStorage(
                pipeline,  # queues aiogram's own commands for the transaction
                key_builder=self.key_builder,
                state_ttl=self.state_ttl,
                data_ttl=self.data_ttl,
                json_dumps=self.json_dumps,
            )
            for key, write in writes.items():
                if write.state_set:
                    await queued.set_state(key, write.state)
                if write.data_set:
                    await queued.set_data(key, write.data)
            pipeline.set(self._ledger_key(bot_id, update_id), DONE, ex=LEDGER_TTL)
            await pipeline.execute()


@dataclass(frozen=True)
class Arrival:
    """What the ledger knows of earlier deliveries of an update."""

    first: bool  # none began before
    done: bool = False
    said: bool = False


class Ledger(Protocol):
    async def arrive(self, bot_id: int, update_id: int, session: AsyncSession) -> Arrival: ...

    async def mark_said(self, bot_id: int, update_id: int) -> None: ...

    async def finish(
        self, bot_id: int, update_id: int, writes: Mapping[StorageKey, _StateWrite]
    ) -> None: ...


class ProcessLedger:
    """The ledger without Redis, where one process serves the shop and conversation state
    commits with the changes in the database. The process remembers the updates it began
    (a webhook's late answer brings one again), and after a restart the database tells
    which updates, up to the last one recorded, changed something before the crash."""

    def __init__(self, remember: int = 10_000) -> None:
        self._began: OrderedDict[int, str] = OrderedDict()
        self._remember = remember
        self._horizon: int | None = None

    async def arrive(self, bot_id: int, update_id: int, session: AsyncSession) -> Arrival:
        if self._horizon is None:
            self._horizon = await updates.latest_recorded(session)
        progress = self._began.get(update_id)
        if progress is None:
            self._note(update_id, STARTED)
            return Arrival(first=update_id > self._horizon)
        return Arrival(first=False, done=progress == DONE, said=progress == SAID)

    async def mark_said(self, bot_id: int, update_id: int) -> None:
        self._note(update_id, SAID)

    async def finish(
        self, bot_id: int, update_id: int, writes: Mapping[StorageKey, _StateWrite]
    ) -> None:
        self._note(update_id, DONE)

    def _note(self, update_id: int, progress: str) -> None:
        self._began[update_id] = progress
        self._began.move_to_end(update_id)
        if len(self._began) > self._remember:
            self._began.popitem(last=False)


def _active() -> UpdateOnce | None:
    once = _current.get()
    return once if once is not None and once.open else None


class _NotRecordable(Exception):
    """A call that cannot be stored to be made again (it uploads a file)."""


def _plain(value: Any, bot: Bot) -> Any:
    """A method's dumped parameter with the bot's defaults filled in, ready for JSON."""
    if isinstance(value, Default):
        return _plain(bot.default[value.name], bot)
    if isinstance(value, InputFile):
        raise _NotRecordable
    if isinstance(value, dict):
        plain = {key: _plain(item, bot) for key, item in value.items()}
        return {key: item for key, item in plain.items() if item is not None}
    if isinstance(value, list | tuple):
        return [_plain(item, bot) for item in value]
    return to_jsonable_python(value)


def recorded(method: TelegramMethod[Any], bot: Bot) -> dict[str, Any] | None:
    """The call as JSON to make again, or None for a call not to repeat."""
    if not method.__api_method__.startswith(SAYING):
        return None
    try:
        params = _plain(method.model_dump(warnings=False, exclude_none=True), bot)
    except _NotRecordable:
        log.info("%s uploads a file: not recorded to say again", method.__api_method__)
        return None
    return {"method": type(method).__name__, "params": params}


def rebuilt(call: Mapping[str, Any]) -> TelegramMethod[Any]:
    method_class = getattr(aiogram.methods, call["method"])
    return method_class.model_validate(call["params"])


class UpdateOnce:
    """One delivery of one update: its held change, the calls waiting for its commit, the
    conversation state it set."""

    def __init__(self, update: Update, session: AsyncSession, bot: Bot, ledger: Ledger) -> None:
        self.update = update
        self.update_id = update.update_id
        self.session = session
        self.bot = bot
        self.ledger = ledger
        self.open = True
        self.waiting: list[TelegramMethod[Any]] = []  # "done" calls made while holding
        self.calls: list[dict[str, Any]] = []  # what the commit records to say again
        self.state_writes: dict[StorageKey, _StateWrite] = {}

    def effects(self) -> updates.Effects | None:
        state = [
            {
                "key": to_jsonable_python(key),
                **({"state": write.state} if write.state_set else {}),
                **({"data": write.data} if write.data_set else {}),
            }
            for key, write in self.state_writes.items()
        ]
        outbox = list(db.changes_of(self.session).outbox_ids) if db.in_unit(self.session) else []
        if not self.calls and not state and not outbox:
            return None
        return {"calls": self.calls, "state": state, "outbox": outbox}

    async def commit(self, trigger: TelegramMethod[Any] | None = None) -> None:
        """Commit the held change with what the update has to say (the waiting calls and
        ``trigger``, the call that needs Telegram's answer), then send the waiting calls."""
        for method in [*self.waiting, *([trigger] if trigger is not None else [])]:
            call = recorded(method, self.bot)
            if call is not None:
                self.calls.append(call)
        await db.commit_held(self.session)
        waiting, self.waiting = self.waiting, []
        for method in waiting:
            await _say(self.bot, method)
        if trigger is None and self.calls:
            await self._mark_said()

    async def _mark_said(self) -> None:
        await self.ledger.mark_said(self.bot.id, self.update_id)

    async def finish(self) -> None:
        """The handler is done: commit what it holds, write its state, mark it done."""
        if db.holds(self.session) or self.waiting:
            await self.commit()
        await self.ledger.finish(self.bot.id, self.update_id, self.state_writes)

    async def replay(self, *, said: bool) -> None:
        """An earlier delivery's change committed: undo this one's (if it made one), do what
        that one recorded (its reply only if it did not go out)."""
        await db.rollback_held(self.session)
        self.waiting.clear()
        effects = await updates.recorded_effects(self.session, self.update_id) or {}
        await db.end_reading(self.session)
        if effects.get("outbox"):  # what its commit was delivering when it died goes now
            await outbox.reclaim(self.session, effects["outbox"])
            await db.deliver_outbox(self.session, effects["outbox"])
        if not said:
            calls = [rebuilt(call) for call in effects.get("calls", ())]
            query = self.update.callback_query
            if query is not None and not any(isinstance(c, AnswerCallbackQuery) for c in calls):
                calls.append(AnswerCallbackQuery(callback_query_id=query.id))  # it answered later
            for method in calls:
                await _say(self.bot, method)
        writes = {
            StorageKey(**entry["key"]): _StateWrite(
                state=entry.get("state"),
                state_set="state" in entry,
                data=entry.get("data", {}),
                data_set="data" in entry,
            )
            for entry in effects.get("state", ())
        }
        await self.ledger.finish(self.bot.id, self.update_id, writes)


_current: ContextVar[UpdateOnce | None] = ContextVar("update_once", default=None)


async def _say(bot: Bot, method: TelegramMethod[Any]) -> None:
    """Make a call whose answer nobody waits for: a refusal (the button's query expired, the
    message is unchanged, the person blocked the bot) is logged, not raised."""
    try:
        await bot(method)
    except (TelegramBadRequest, TelegramForbiddenError) as exc:
        log.info("%s refused: %s", method.__api_method__, exc.message)


class CommitBeforeSaying(BaseRequestMiddleware):
    """While an update holds its change, a call that needs Telegram's answer commits the
    change first (recording the call with it); a call that only says "done" waits for that
    commit and is answered True meanwhile."""

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Any:
        once = _active()
        if once is None or not db.holds(once.session):
            return await make_request(bot, method)
        if method.__returning__ is bool and method.__api_method__.startswith(SAYING):
            once.waiting.append(method)
            return True
        await once.commit(trigger=method)
        result = await make_request(bot, method)
        if once.calls:
            await once._mark_said()
        return result


class UpdateOnceMiddleware(BaseMiddleware):
    """Serves each update as :class:`UpdateOnce` (see the module's doc). Runs inside the
    per-shopper isolation, so a redelivery waits for the first delivery of the same
    person's update, and inside the update's database session."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        assert isinstance(event, Update)
        bot: Bot = data["bot"]
        session: AsyncSession = data["session"]
        arrival = await self.ledger.arrive(bot.id, event.update_id, session)
        if arrival.done:
            return self._again(event, data)
        once = UpdateOnce(event, session, bot, self.ledger)
        if (
            not arrival.first
            and await updates.recorded_effects(session, event.update_id) is not None
        ):
            await once.replay(said=arrival.said)
            return self._again(event, data)
        updates.handling(session, event.update_id, once.effects)
        token = _current.set(once)
        try:
            with db.holding_commit(session):
                try:
                    result = await handler(event, data)
                    await once.finish()
                except updates.UpdateHandledAlready:
                    await once.replay(said=False)
                    return self._again(event, data)
                except Exception:
                    await _finish_failed(once)
                    raise
                except BaseException:  # cancelled, shutting down: unanswered, it comes again
                    await db.rollback_held(session)
                    raise
                return result
        finally:
            once.open = False
            _current.reset(token)

    def _again(self, event: Update, data: dict[str, Any]) -> None:
        log.info("update %s was handled already: acknowledged again", event.update_id)
        data[OUTCOME] = "duplicate"


async def _finish_failed(once: UpdateOnce) -> None:
    """A handler failed after its change: the change stands (as if it had committed when its
    unit ended), and what it had said so far goes out."""
    try:
        await once.finish()
    except updates.UpdateHandledAlready:
        await once.replay(said=False)
