"""The shop's clock for whatever the bot renders, set per update and per notification as
the language is (a context variable: text functions take no zone argument, as they take no
language one). Unset, rendering a time fails loudly rather than showing another zone."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime, tzinfo
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject

from shopbot.times import FULL, shown

_zone: ContextVar[tzinfo] = ContextVar("shop_zone")


@contextmanager
def shop_clock(zone: tzinfo) -> Iterator[None]:
    """Render times on ``zone`` (``SHOP_TIMEZONE``) inside this block."""
    token = _zone.set(zone)
    try:
        yield
    finally:
        _zone.reset(token)


def when(moment: datetime, layout: str = FULL) -> str:
    """``moment`` on the shop's clock (see :func:`shopbot.times.shown`)."""
    return shown(moment, _zone.get(), layout)


class ShopClockMiddleware(BaseMiddleware):
    """Every update is rendered on the shop's clock."""

    def __init__(self, zone: tzinfo) -> None:
        self.zone = zone

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        with shop_clock(self.zone):
            return await handler(event, data)
