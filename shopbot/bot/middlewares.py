"""Per-update plumbing: people's text cleaned of control characters, one database session
per update, the shopper's user row, and a bot-session middleware that waits out Telegram's
flood control."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TypeVar

from aiogram import BaseMiddleware, Bot
from aiogram import exceptions as tg
from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.dispatcher.middlewares.user_context import (
    EVENT_CHAT_KEY,
    EVENT_CONTEXT_KEY,
    EVENT_FROM_USER_KEY,
    UserContextMiddleware,
)
from aiogram.exceptions import TelegramAPIError, TelegramNetworkError, TelegramRetryAfter
from aiogram.methods import AnswerCallbackQuery, TelegramMethod
from aiogram.methods.base import Response, TelegramType
from aiogram.types import MessageEntity, TelegramObject, Update, User
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shopbot import metrics
from shopbot.bot.i18n import language_of
from shopbot.bot.storage import serving_update
from shopbot.logs import bound
from shopbot.services.text import CONTROLS, strip_controls
from shopbot.services.users import Profile, UserDirectory

log = logging.getLogger(__name__)

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]
T = TypeVar("T")
OUTCOME = "shopbot_outcome"  # in a handler's data: how the update ended, for the metrics
_ERROR_CODES: list[tuple[type[TelegramAPIError], str]] = [
    (tg.TelegramMigrateToChat, "400"),
    (tg.TelegramBadRequest, "400"),
    (tg.TelegramUnauthorizedError, "401"),
    (tg.TelegramForbiddenError, "403"),
    (tg.TelegramNotFound, "404"),
    (tg.TelegramConflictError, "409"),
    (tg.TelegramEntityTooLarge, "413"),
    (tg.TelegramServerError, "5xx"),
    (tg.RestartingTelegram, "5xx"),
]
# What people do not type: the bot's own keyboards (on the message of a button pressed).
_NOT_TYPED = frozenset({"reply_markup"})
# Text fields whose entities count UTF-16 positions in them.
_ENTITIES_OF = {"text": "entities", "caption": "caption_entities"}


class ObservedUpdateMiddleware(BaseMiddleware):
    """The outermost of the shop's: binds the update's id and sender to the log lines written
    while it is handled, and counts it (by type and outcome: handled, duplicate, failed) with
    its handling time."""

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        assert isinstance(event, Update)
        kind = event.event_type
        user: User | None = data.get(EVENT_FROM_USER_KEY)
        fields: dict[str, Any] = {"update_id": event.update_id}
        if user is not None:
            fields["user_id"] = user.id
        data[OUTCOME] = "handled"
        started = time.perf_counter()
        with bound(**fields):
            try:
                return await handler(event, data)
            except Exception:
                data[OUTCOME] = "failed"
                raise
            finally:
                metrics.UPDATE_SECONDS.labels(kind).observe(time.perf_counter() - started)
                metrics.UPDATES.labels(kind, data[OUTCOME]).inc()


class PlainTextMiddleware(BaseMiddleware):
    """Cleans every string of an update of control characters (tab and newline kept) before
    anything reads it: typed text, names, contacts, callback data, the sender's profile. A
    NUL in a name made an order impossible on PostgreSQL, which cannot store one. The one
    place where people's text enters the shop (CSV files have their own in the importer).

    Runs after aiogram's own outer middlewares, so the user and chat it put in ``data`` are
    replaced by the cleaned ones."""

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        cleaned = without_controls(event)
        if cleaned is not event and isinstance(cleaned, Update):
            context = UserContextMiddleware.resolve_event_context(event=cleaned)
            data[EVENT_CONTEXT_KEY] = context
            if context.user is not None:
                data[EVENT_FROM_USER_KEY] = context.user
            if context.chat is not None:
                data[EVENT_CHAT_KEY] = context.chat
        return await handler(cleaned, data)


def without_controls(value: T) -> T:
    """``value`` with control characters removed from every string in it; the same object
    when there was none (Telegram objects are frozen: changed ones are copied)."""
    if isinstance(value, str):
        return strip_controls(value) if CONTROLS.search(value) else value  # type: ignore[return-value]
    if isinstance(value, list):
        items = [without_controls(item) for item in value]
        changed = any(new is not old for new, old in zip(items, value, strict=True))
        return items if changed else value  # type: ignore[return-value]
    if not isinstance(value, TelegramObject):
        return value
    changes: dict[str, Any] = {}
    for name in (*type(value).model_fields, *(value.model_extra or {})):
        field = getattr(value, name)
        if field is None or name in _NOT_TYPED:
            continue
        cleaned = without_controls(field)
        if cleaned is not field:
            changes[name] = cleaned
    if not changes:
        return value
    for text_field, entities_field in _ENTITIES_OF.items():
        entities = changes.get(entities_field, getattr(value, entities_field, None))
        if text_field in changes and entities:
            changes[entities_field] = _moved(getattr(value, text_field), entities)
    return value.model_copy(update=changes)  # type: ignore[return-value]


def _moved(original: str, entities: list[MessageEntity]) -> list[MessageEntity]:
    """The entities of ``original`` (UTF-16 offsets) placed on its cleaned text; those
    covering only control characters are dropped."""
    positions = [0]  # cleaned UTF-16 position at each UTF-16 position of the original
    for char in original:
        step = 0 if CONTROLS.fullmatch(char) else 1
        for _unit in range(2 if ord(char) > 0xFFFF else 1):  # astral characters count 2
            positions.append(positions[-1] + step)
    moved = []
    for entity in entities:
        start = positions[min(entity.offset, len(positions) - 1)]
        end = positions[min(entity.offset + entity.length, len(positions) - 1)]
        if end > start:
            moved.append(entity.model_copy(update={"offset": start, "length": end - start}))
    return moved


class DbSessionMiddleware(BaseMiddleware):
    """Gives the handler ``session``, the update's one database connection (FSM state goes
    through it too). Handlers write only inside units of work (``db.unit_of_work``), which
    commit; reads left open are ended when the update is done."""

    def __init__(self, session_factory: async_sessionmaker[AsyncSession]) -> None:
        self.session_factory = session_factory

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        async with self.session_factory() as session:
            with serving_update(session):
                data["session"] = session
                return await handler(event, data)


class ShopperMiddleware(BaseMiddleware):
    """Keeps the user row current (nothing to do for a known, unchanged user) and tells
    handlers whether the user is an admin."""

    def __init__(self, users: UserDirectory, admin_ids: list[int]) -> None:
        self.users = users
        self.admin_ids = set(admin_ids)

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        user: User | None = data.get("event_from_user")
        if user is not None and not user.is_bot:
            profile = Profile(
                id=user.id,
                first_name=user.first_name,
                last_name=user.last_name,
                username=user.username,
                language=language_of(user),
            )
            await self.users.ensure(data["session"], profile)
        data["is_admin"] = user is not None and user.id in self.admin_ids
        return await handler(event, data)


_CALLER_HANDLES_FLOOD: ContextVar[bool] = ContextVar("caller_handles_flood", default=False)


@contextmanager
def handling_flood_control() -> Iterator[None]:
    """Requests made inside this block get Telegram's 429 at once, unretried: a bulk sender
    pauses all its sends for the ``retry_after`` rather than have one request sleep."""
    token = _CALLER_HANDLES_FLOOD.set(True)
    try:
        yield
    finally:
        _CALLER_HANDLES_FLOOD.reset(token)


def flood_handled_by_caller() -> bool:
    """Is this request made inside :func:`handling_flood_control` (a bulk send)?"""
    return _CALLER_HANDLES_FLOOD.get()


class RetryAfterMiddleware(BaseRequestMiddleware):
    """Retries a request after Telegram's ``retry_after`` (aiogram does not by itself),
    except inside :func:`handling_flood_control`."""

    def __init__(self, attempts: int = 3, max_wait: float = 60.0) -> None:
        self.attempts = attempts
        self.max_wait = max_wait

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        if _CALLER_HANDLES_FLOOD.get():
            return await make_request(bot, method)
        for attempt in range(1, self.attempts + 1):
            try:
                return await make_request(bot, method)
            except TelegramRetryAfter as exc:
                if attempt == self.attempts or exc.retry_after > self.max_wait:
                    raise
                log.warning(
                    "flood control on %s: retrying in %s s", method.__api_method__, exc.retry_after
                )
                await asyncio.sleep(exc.retry_after)
        raise AssertionError("unreachable")


# Telegram's words for an answer to a button press it no longer takes: answered already, or
# pressed too long ago.
_QUERY_GONE = ("query is too old", "query id is invalid")


class LateCallbackAnswerMiddleware(BaseRequestMiddleware):
    """An answer to a button press that Telegram refuses as too old is logged and taken as
    given. It only stops the button's spinner, and a redelivered press meets this refusal
    whenever the first delivery answered it before its replica died: raised, it failed the
    update and lost the reply that was still to come (the checkout's first question)."""

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Any:
        try:
            return await make_request(bot, method)
        except tg.TelegramBadRequest as exc:
            if not isinstance(method, AnswerCallbackQuery) or not any(
                words in exc.message.lower() for words in _QUERY_GONE
            ):
                raise
            log.info(
                "the button press %s was answered already or is too old", method.callback_query_id
            )
            return True


class TelegramMetricsMiddleware(BaseRequestMiddleware):
    """Counts Bot API calls by method, and failed ones by method and error code (the HTTP
    status Telegram answered with, 429 for flood control; ``network`` when unreachable)."""

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        name = method.__api_method__
        metrics.TELEGRAM_REQUESTS.labels(name).inc()
        try:
            return await make_request(bot, method)
        except TelegramNetworkError:
            metrics.TELEGRAM_ERRORS.labels(name, "network").inc()
            raise
        except TelegramRetryAfter:
            metrics.TELEGRAM_ERRORS.labels(name, "429").inc()
            raise
        except TelegramAPIError as exc:
            metrics.TELEGRAM_ERRORS.labels(name, _error_code(exc)).inc()
            raise


def _error_code(exc: TelegramAPIError) -> str:
    """The HTTP status of aiogram's exception class (400, 401, 403, 404, 409, 413, 5xx)."""
    for kind, code in _ERROR_CODES:
        if isinstance(exc, kind):
            return code
    return "other"


class KeepResponseTypes(BaseRequestMiddleware):
    """Holds every ``Response[T]`` aiogram parses API answers with.

    pydantic caches parametrised generics only weakly; without a strong reference the class
    is garbage-collected and rebuilt again and again, which cost a quarter of the shop's
    CPU per update in profiles (bench/bot_bench.py).
    """

    def __init__(self) -> None:
        self._types: dict[object, type] = {}

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        returning = method.__returning__
        if returning not in self._types:
            self._types[returning] = Response[returning]  # type: ignore[valid-type]
        return await make_request(bot, method)
