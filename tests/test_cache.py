"""TableCache's loading: one load per key at a time, shared by everyone who asked meanwhile."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from shopbot.cache import TableCache


class Loader:
    """A load that waits until released, counting how often it ran."""

    def __init__(self) -> None:
        self.calls = 0
        self.release = asyncio.Event()
        self.fail_first = False

    async def __call__(self) -> str:
        self.calls += 1
        number = self.calls
        await self.release.wait()
        if self.fail_first and number == 1:
            raise RuntimeError("the database went away")
        return f"value {number}"


async def ask(
    cache: TableCache[str],
    session_factory: async_sessionmaker[AsyncSession],
    loader: Loader,
) -> str:
    async with session_factory() as session:
        return await cache.get(session, "page", loader)


async def started(tasks: list[asyncio.Task[str]]) -> None:
    """Let every task reach the cache (the first one starts the load)."""
    for _ in range(3):
        await asyncio.sleep(0)
    assert not any(task.done() for task in tasks)


async def test_shoppers_asking_at_once_share_one_load(
    engine: AsyncEngine, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    cache: TableCache[str] = TableCache(engine, ["product"])
    loader = Loader()
    tasks = [asyncio.create_task(ask(cache, session_factory, loader)) for _ in range(10)]
    await started(tasks)
    loader.release.set()
    assert await asyncio.gather(*tasks) == ["value 1"] * 10
    assert loader.calls == 1
    assert await ask(cache, session_factory, loader) == "value 1"  # and it was kept
    assert loader.calls == 1


async def test_when_the_shared_load_fails_each_waiting_shopper_loads_again(
    engine: AsyncEngine, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    cache: TableCache[str] = TableCache(engine, ["product"])
    loader = Loader()
    loader.fail_first = True
    first = asyncio.create_task(ask(cache, session_factory, loader))
    others = [asyncio.create_task(ask(cache, session_factory, loader)) for _ in range(3)]
    await started([first, *others])
    loader.release.set()
    with pytest.raises(RuntimeError, match="went away"):
        await first  # only the loader's own caller sees its failure
    values = await asyncio.gather(*others)
    assert all(value.startswith("value ") for value in values)
    assert loader.calls == 4  # the failed load, then one for each of the three


async def test_a_shopper_arriving_after_a_write_does_not_join_an_older_load(
    engine: AsyncEngine, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    cache: TableCache[str] = TableCache(engine, ["product"])
    loader = Loader()
    before = asyncio.create_task(ask(cache, session_factory, loader))
    await started([before])
    cache.clear()  # what a write to the table does once its transaction ends
    after = asyncio.create_task(ask(cache, session_factory, loader))
    await started([before, after])
    loader.release.set()
    assert await before == "value 1"
    assert await after == "value 2"
    assert loader.calls == 2
