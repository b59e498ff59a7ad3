"""The pace of everything the bot sends in bulk (mailings first): below Telegram's limits by
construction, not by sleeps after the fact.

Each bulk message reserves a slot before it is sent (:meth:`SendRate.reserve`): the bot's
next slot comes ``1 / MAILING_RATE`` seconds after the previous one, the chat's one second
after that chat's previous one, and none before a pause Telegram asked for with its 429
(:meth:`SendRate.pause`, "retry after N": every bulk sender waits, not just the one
refused). A reservation is one step (the generic cell rate algorithm, keeping only the next
free time), so senders in one process — or, with ``REDIS_URL``, in every replica, through
one Lua script on Redis's clock — get distinct slots without polling or locks: N replicas
together stay under the per-bot limit.

Shoppers' own conversations never reserve: they are answered at once, in the head-room
Telegram leaves above ``MAILING_RATE`` (25 of its ~30 messages a second by default).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol

from redis.asyncio import Redis

CHAT_INTERVAL = 1.0  # seconds between two bulk messages to one chat
_KEY = "shopbot:send_rate"


class SendRate(Protocol):
    async def reserve(self, chat_id: int, messages: int = 1) -> float:
        """Take the next slot for ``messages`` messages to ``chat_id``; the seconds to wait
        before sending (0 when it is now)."""

    async def note(self, chat_id: int) -> None:
        """A message that did not wait (a shopper's answer) is being sent to ``chat_id``:
        it takes the bot's next slot, and the chat gets no bulk message for a second."""

    async def pause(self, seconds: float) -> None:
        """Telegram answered 429: no bulk message before ``seconds`` from now."""

    async def paused_for(self) -> float:
        """Seconds left of a pause (0 if none): a sender that waited for its slot while a
        pause began reserves again."""


class LocalSendRate:
    """The slots of one process (no ``REDIS_URL``: one process serves the shop)."""

    def __init__(self, rate: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._interval = 1.0 / rate
        self._clock = clock
        self._next = 0.0
        self._pause_until = 0.0
        self._chats: dict[int, float] = {}

    async def reserve(self, chat_id: int, messages: int = 1) -> float:
        now = self._clock()
        if len(self._chats) > 10_000:  # forget chats whose next slot has passed
            self._chats = {chat: at for chat, at in self._chats.items() if at > now}
        start = max(now, self._next, self._pause_until, self._chats.get(chat_id, 0.0))
        self._next = start + self._interval * messages
        self._chats[chat_id] = start + CHAT_INTERVAL
        return start - now

    async def note(self, chat_id: int) -> None:
        now = self._clock()
        self._next = max(now, self._next) + self._interval
        self._chats[chat_id] = max(self._chats.get(chat_id, 0.0), now + CHAT_INTERVAL)

    async def pause(self, seconds: float) -> None:
        self._pause_until = max(self._pause_until, self._clock() + seconds)

    async def paused_for(self) -> float:
        return max(0.0, self._pause_until - self._clock())


# KEYS: the bot's next slot, the chat's, the pause; ARGV: interval µs × messages, chat µs.
# Times are Redis's own clock in microseconds, so every replica reads one clock.
_RESERVE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local start = now
for _, key in ipairs(KEYS) do
  local at = tonumber(redis.call('GET', key) or '0')
  if at > start then start = at end
end
local interval = tonumber(ARGV[1])
local chat = tonumber(ARGV[2])
local keep = math.ceil((start - now + math.max(interval, chat)) / 1000) + 1000
redis.call('SET', KEYS[1], start + interval, 'PX', keep)
redis.call('SET', KEYS[2], start + chat, 'PX', keep)
return start - now
"""
# KEYS: the bot's next slot, the chat's; ARGV: interval µs, chat µs.
_NOTE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local at = tonumber(redis.call('GET', KEYS[1]) or '0')
if now > at then at = now end
local interval = tonumber(ARGV[1])
redis.call('SET', KEYS[1], at + interval, 'PX', math.ceil((at - now + interval) / 1000) + 1000)
local chat = tonumber(redis.call('GET', KEYS[2]) or '0')
local quiet = tonumber(ARGV[2])
if now + quiet > chat then
  redis.call('SET', KEYS[2], now + quiet, 'PX', math.ceil(quiet / 1000) + 1000)
end
return 0
"""
_PAUSE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local until_at = now + tonumber(ARGV[1])
local at = tonumber(redis.call('GET', KEYS[1]) or '0')
if until_at > at then
  redis.call('SET', KEYS[1], until_at, 'PX', math.ceil(tonumber(ARGV[1]) / 1000) + 1000)
end
return 0
"""
_PAUSED_FOR = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local at = tonumber(redis.call('GET', KEYS[1]) or '0')
if at > now then return at - now end
return 0
"""
_MICRO = 1_000_000


class RedisSendRate:
    """The slots of every replica sharing ``redis`` (``REDIS_URL``)."""

    def __init__(self, redis: Redis, rate: float, *, prefix: str = _KEY) -> None:
        self._interval = round(_MICRO / rate)
        self._bot = f"{prefix}:bot"
        self._pause = f"{prefix}:pause"
        self._prefix = prefix
        self._reserve = redis.register_script(_RESERVE)
        self._note = redis.register_script(_NOTE)
        self._pause_script = redis.register_script(_PAUSE)
        self._paused_for = redis.register_script(_PAUSED_FOR)

    async def reserve(self, chat_id: int, messages: int = 1) -> float:
        keys = [self._bot, f"{self._prefix}:chat:{chat_id}", self._pause]
        wait = await self._reserve(
            keys=keys, args=[self._interval * messages, round(CHAT_INTERVAL * _MICRO)]
        )
        return int(wait) / _MICRO

    async def note(self, chat_id: int) -> None:
        keys = [self._bot, f"{self._prefix}:chat:{chat_id}"]
        await self._note(keys=keys, args=[self._interval, round(CHAT_INTERVAL * _MICRO)])

    async def pause(self, seconds: float) -> None:
        await self._pause_script(keys=[self._pause], args=[round(seconds * _MICRO)])

    async def paused_for(self) -> float:
        return int(await self._paused_for(keys=[self._pause])) / _MICRO


def create_send_rate(rate: float, redis: Redis | None) -> SendRate:
    """Shared through Redis when the shop has one, else this process's own."""
    return RedisSendRate(redis, rate) if redis is not None else LocalSendRate(rate)
