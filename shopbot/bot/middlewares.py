"""Per-update plumbing: one database session per update, the shopper's user row, and a
bot-session middleware that waits out Telegram's flood control."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware, Bot
from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.exceptions import TelegramRetryAfter
from aiogram.methods import TelegramMethod
from aiogram.methods.base import Response, TelegramType
from aiogram.types import TelegramObject, User
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shopbot.bot.i18n import language_of
from shopbot.bot.storage import serving_update
from shopbot.services.users import Profile, UserDirectory

log = logging.getLogger(__name__)

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]


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


class RetryAfterMiddleware(BaseRequestMiddleware):
    """Retries a request after Telegram's ``retry_after`` (aiogram does not by itself)."""

    def __init__(self, attempts: int = 3, max_wait: float = 60.0) -> None:
        self.attempts = attempts
        self.max_wait = max_wait

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
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
