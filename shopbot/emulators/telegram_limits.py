"""Telegram's flood control for the Bot API emulator, and the calls a mailing needs.

Telegram lets a bot send about 30 messages a second across chats and about one a second to
one chat, tolerating a short burst; above that it answers 429 "Too Many Requests: retry
after N" with ``parameters.retry_after``. :class:`FloodControl` counts the sending methods
the same way, with token buckets: one for the bot (30/s, a bucket of 30) and one per chat
(1/s after a burst of :data:`CHAT_BURST`: a conversation's few answers at once pass, as
they do on Telegram). Edits, callback answers and the like are not
counted (Telegram limits them separately and far more loosely).

It is off until a test turns it on (``emulator.limits.enforce = True``): the existing
journey tests play one person tapping faster than any person does (a dozen messages to one
chat within a second is normal there), so enforcing the per-chat limit on them would test
the test, not the shop. Mailing tests and ``bench/mailing_bench.py`` turn it on.
:meth:`FloodControl.flood` makes every sending call answer 429 for a while whatever the
rate, as Telegram does to a bot it has flagged.

``copyMessages`` (an album copied with one call, as one) lives with the forums in
:mod:`shopbot.emulators.telegram_forum`; :func:`send_formatted`, :func:`send_photo` and
:func:`send_album` play a user sending formatted text, a photo or an album.
"""

from __future__ import annotations

import contextlib
import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from shopbot.emulators.telegram_format import ApiFailure

if TYPE_CHECKING:
    from shopbot.emulators.telegram import EmulatedUser, TelegramEmulator

BOT_RATE = 30.0  # messages a second across chats
CHAT_RATE = 1.0  # messages a second to one chat
CHAT_BURST = 10  # messages one chat may get at once before the per-chat rate applies
COUNTED = frozenset(
    {
        "sendMessage",
        "sendPhoto",
        "sendVideo",
        "sendDocument",
        "sendMediaGroup",
        "sendInvoice",
        "copyMessage",
        "copyMessages",
    }
)
ALBUM_MAX = 10


@dataclass
class _Bucket:
    """Tokens refilled at ``rate`` a second up to ``capacity``."""

    rate: float
    capacity: float
    tokens: float
    updated: float

    def take(self, now: float, count: int = 1) -> float:
        """Take ``count`` tokens; 0.0 if they were there, else the seconds until they are
        (nothing taken then)."""
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens >= count:
            self.tokens -= count
            return 0.0
        return (count - self.tokens) / self.rate


@dataclass
class FloodControl:
    """Counts the bot's sending calls; see the module's docstring."""

    enforce: bool = False
    bot_rate: float = BOT_RATE
    chat_rate: float = CHAT_RATE
    chat_burst: int = CHAT_BURST
    clock: Callable[[], float] = time.monotonic
    refused: int = 0  # 429s answered
    _bot: _Bucket | None = None
    _chats: dict[int, _Bucket] = field(default_factory=dict)
    _flood_until: float = 0.0
    _flood_retry_after: int = 1

    def flood(self, seconds: float, retry_after: int = 1) -> None:
        """For ``seconds`` from now every sending call answers 429 with ``retry_after``
        (enforced or not)."""
        self._flood_until = self.clock() + seconds
        self._flood_retry_after = retry_after

    def check(self, method: str, values: dict[str, Any]) -> None:
        """Raise Telegram's 429 if this call (its request values) goes over a limit; else
        count it (an album as the messages in it)."""
        if method not in COUNTED:
            return
        chat_id = chat_of(values)
        count = 1
        if method in ("copyMessages", "sendMediaGroup"):
            items = values.get("message_ids" if method == "copyMessages" else "media")
            with contextlib.suppress(ValueError, TypeError):
                count = max(1, len(json.loads(items) if isinstance(items, str) else items))
        now = self.clock()
        if now < self._flood_until:
            self._refuse(self._flood_retry_after)
        if not self.enforce:
            return
        if self._bot is None:
            self._bot = _Bucket(self.bot_rate, self.bot_rate, self.bot_rate, now)
        chat = None
        if chat_id is not None:
            chat = self._chats.get(chat_id)
            if chat is None:
                burst = float(self.chat_burst)
                chat = self._chats[chat_id] = _Bucket(self.chat_rate, burst, burst, now)
            wait = chat.take(now, 1)
            if wait > 0:
                self._refuse(wait)
        wait = self._bot.take(now, count)
        if wait > 0:
            if chat is not None:
                chat.tokens += 1  # refused: the chat's token is given back
            self._refuse(wait)

    def _refuse(self, wait: float) -> None:
        self.refused += 1
        retry_after = max(1, math.ceil(wait))
        raise ApiFailure(
            429, f"Too Many Requests: retry after {retry_after}", retry_after=retry_after
        )


def chat_of(values: dict[str, Any]) -> int | None:
    """The chat a sending call goes to, as the emulator reads ``chat_id`` (None if unreadable:
    the method itself then refuses it)."""
    try:
        return int(str(values.get("chat_id")))
    except ValueError:
        return None


def _photo(emulator: TelegramEmulator) -> list[dict[str, Any]]:
    number = next(emulator._query_ids)
    return [
        {
            "file_id": f"user-photo-{number}",
            "file_unique_id": f"up{number}",
            "width": 800,
            "height": 600,
            "file_size": 40_000,
        }
    ]


async def send_formatted(
    user: EmulatedUser, text: str, entities: list[dict[str, Any]], *, wait: bool = True
) -> dict[str, Any]:
    """The user sends text formatted in their client (bold, links...: ``entities``)."""
    return await user._message_from(user, {"text": text, "entities": entities}, wait)


async def send_photo(
    user: EmulatedUser, caption: str = "", *, media_group_id: str | None = None, wait: bool = True
) -> dict[str, Any]:
    """The user sends a photo (with a plain-text caption)."""
    content: dict[str, Any] = {"photo": _photo(user._emulator)}
    if caption:
        content["caption"] = caption
    if media_group_id is not None:
        content["media_group_id"] = media_group_id
    return await user._message_from(user, content, wait)


async def send_album(
    user: EmulatedUser, captions: list[str], *, wait: bool = True
) -> list[dict[str, Any]]:
    """The user sends an album of photos: one message per photo sharing a media_group_id,
    arriving as separate updates as Telegram delivers them."""
    if not 2 <= len(captions) <= ALBUM_MAX:
        raise ValueError("an album has 2-10 items")
    group = f"album{next(user._emulator._query_ids)}"
    sent = [
        await send_photo(user, caption, media_group_id=group, wait=False) for caption in captions
    ]
    if wait:
        await user._emulator.wait_handled()
    return sent
