"""TableCache: values kept until a unit of work commits a change to their topic, or for
``max_age``; a load that a committed change overlapped is not kept."""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shopbot.cache import TableCache
from shopbot.db import changed, commit_hooks, unit_of_work
from shopbot.models import Product
from tests.factories import make_product


class Loader:
    def __init__(self) -> None:
        self.calls = 0
        self.during = None

    async def __call__(self) -> str:
        self.calls += 1
        if self.during is not None:
            await self.during()
        return f"value {self.calls}"


async def ask(
    cache: TableCache[str], sessions: async_sessionmaker[AsyncSession], loader: Loader
) -> str:
    async with sessions() as session:
        return await cache.get(session, "page", loader)


async def write_price(sessions: async_sessionmaker[AsyncSession], product_id: int) -> None:
    async with sessions() as session, unit_of_work(session):
        await session.execute(update(Product).where(Product.id == product_id).values(price=1))
        changed(session, "catalogue")


async def test_kept_until_a_unit_of_work_commits_a_change_to_its_topic(
    session: AsyncSession, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    product = await make_product(session)
    hooks = commit_hooks(session_factory)
    cache: TableCache[str] = TableCache(hooks, "catalogue")
    other: TableCache[str] = TableCache(hooks, "users")
    loader, other_loader = Loader(), Loader()
    assert await ask(cache, session_factory, loader) == "value 1"
    assert await ask(other, session_factory, other_loader) == "value 1"
    assert await ask(cache, session_factory, loader) == "value 1"
    assert loader.calls == 1

    await write_price(session_factory, product.id)
    assert await ask(cache, session_factory, loader) == "value 2"
    assert await ask(other, session_factory, other_loader) == "value 1"  # another topic


async def test_a_rolled_back_unit_keeps_the_cache(
    session: AsyncSession, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    product = await make_product(session)
    cache: TableCache[str] = TableCache(commit_hooks(session_factory), "catalogue")
    loader = Loader()
    await ask(cache, session_factory, loader)
    try:
        async with session_factory() as other, unit_of_work(other):
            await other.execute(update(Product).where(Product.id == product.id).values(price=1))
            changed(other, "catalogue")
            raise RuntimeError("the use case failed")
    except RuntimeError:
        pass
    assert await ask(cache, session_factory, loader) == "value 1"
    assert loader.calls == 1


async def test_a_load_overlapped_by_a_committed_change_is_not_kept(
    session: AsyncSession, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    product = await make_product(session)
    cache: TableCache[str] = TableCache(commit_hooks(session_factory), "catalogue")
    loader = Loader()

    async def change_commits_meanwhile() -> None:
        loader.during = None
        await write_price(session_factory, product.id)

    loader.during = change_commits_meanwhile
    assert await ask(cache, session_factory, loader) == "value 1"
    assert await ask(cache, session_factory, loader) == "value 2"  # loaded again
    assert await ask(cache, session_factory, loader) == "value 2"  # and now kept


async def test_entries_expire_after_max_age(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    now = [0.0]
    cache: TableCache[str] = TableCache(
        commit_hooks(session_factory), "catalogue", max_age=2.0, clock=lambda: now[0]
    )
    loader = Loader()
    await ask(cache, session_factory, loader)
    now[0] = 1.9
    assert await ask(cache, session_factory, loader) == "value 1"
    now[0] = 2.1
    assert await ask(cache, session_factory, loader) == "value 2"
