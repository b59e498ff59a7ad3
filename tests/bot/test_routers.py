"""The router tree's shape: what aiogram would run outside the event loop."""

from __future__ import annotations

from collections.abc import Iterator

from aiogram import F, Router
from aiogram.dispatcher.event.handler import CallableObject

from shopbot.bot.routers import build_root_router
from shopbot.bot.routers.filters import Magic


def callables(router: Router) -> Iterator[tuple[str, CallableObject]]:
    """Every handler and filter in ``router`` and below it, with where it is registered."""
    for name, observer in router.observers.items():
        where = f"{router.name}.{name}"
        for root_filter in observer._handler.filters or []:
            yield f"{where} (router filter)", root_filter
        for handler in observer.handlers:
            yield f"{where} {handler.callback!r}", handler
            for handler_filter in handler.filters or []:
                yield f"{where} filter of {handler.callback!r}", handler_filter
    for child in router.sub_routers:
        yield from callables(child)


def test_nothing_in_the_router_tree_runs_in_a_worker_thread() -> None:
    """aiogram hands a sync handler or filter to ``asyncio.to_thread`` on every check; a bare
    ``F.text.in_(...)`` or a bare ``State`` cost a thread trip per update that reached it."""
    found = list(callables(build_root_router()))
    assert len(found) > 50  # the walk reaches the whole tree
    in_threads = [where for where, item in found if not item.awaitable]
    assert in_threads == []


def test_the_walk_would_see_a_bare_magic_filter() -> None:
    router = Router(name="probe")

    async def handler() -> None:
        return None

    router.message.register(handler, F.contact)
    router.callback_query.register(handler, Magic(F.data))
    awaitable = {where: item.awaitable for where, item in callables(router)}
    assert awaitable[f"probe.message filter of {handler!r}"] is False
    assert awaitable[f"probe.callback_query filter of {handler!r}"] is True
