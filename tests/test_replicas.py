"""Several replicas: settings that would let them disagree stop start-up in one line, a
replica refuses a database behind its code, and a change committed through one replica
empties the others' caches at once (not after CATALOGUE_CACHE_SECONDS)."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

import pytest
from alembic.script import ScriptDirectory
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from shopbot.app import start_shop
from shopbot.config import load_settings
from shopbot.db import alembic_config, commit_hooks, create_engine, create_session_factory, migrate
from shopbot.errors import StartupError
from shopbot.i18n import set_language
from shopbot.replicas import ChangeFeed, change_channel, check_scale_out, check_schema_current
from shopbot.services import admin, users
from shopbot.services.catalogue import CatalogueCache
from shopbot.services.users import Profile, UserDirectory
from tests.conftest import reset_postgres
from tests.factories import make_product

TOKEN = "123456:replicas"
POSTGRES = "postgresql+asyncpg://shop@db.example/shop"
REDIS_URL = os.environ.get("SHOPBOT_TEST_REDIS_URL")
needs_redis = pytest.mark.skipif(not REDIS_URL, reason="SHOPBOT_TEST_REDIS_URL is not set")


def _problem(**settings: object) -> str:
    with pytest.raises(StartupError) as raised:
        check_scale_out(load_settings(_env_file=None, bot_token=TOKEN, **settings))
    return str(raised.value)


def test_settings_that_would_let_replicas_disagree_stop_start_up_in_one_line() -> None:
    set_language("en")
    assert _problem(replicas=3, database_url=POSTGRES) == (
        "REPLICAS=3 needs REDIS_URL: conversation state and each shopper's order of updates "
        "must be shared by the replicas"
    )
    assert _problem(replicas=2, redis_url="redis://r") == (
        "REPLICAS=2 needs PostgreSQL (DATABASE_URL): one SQLite file serves one process"
    )
    webhook = {"telegram_webhook_url": "https://shop.example", "telegram_webhook_secret": "s"}
    assert _problem(database_url=POSTGRES, **webhook).startswith(
        "webhook mode on PostgreSQL needs REDIS_URL"
    )
    set_language("ru")
    assert _problem(replicas=3, database_url=POSTGRES).startswith(
        "REPLICAS=3 требует REDIS_URL: состояние диалогов"
    )
    # What one process needs is left alone: polling, webhook mode on SQLite, Redis given.
    for fine in (
        {},
        webhook,
        {"database_url": POSTGRES, "redis_url": "redis://r", "replicas": 3, **webhook},
    ):
        check_scale_out(load_settings(_env_file=None, bot_token=TOKEN, **fine))


async def test_start_up_stops_before_contacting_anything() -> None:
    settings = load_settings(
        _env_file=None,
        bot_token=TOKEN,
        replicas=2,
        database_url=POSTGRES,  # nothing listens there: the check comes first
        telegram_api_url="http://127.0.0.1:9",
        web_port=0,
    )
    set_language("en")
    with pytest.raises(StartupError, match="REPLICAS=2 needs REDIS_URL"):
        await start_shop(settings)


@pytest.fixture
async def bare_engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    """An engine on an empty database (no tables, no revision)."""
    if database_url.startswith("postgresql"):
        await reset_postgres(database_url)
    engine = create_engine(database_url)
    yield engine
    await engine.dispose()


async def test_a_replica_refuses_a_database_behind_its_code(bare_engine: AsyncEngine) -> None:
    set_language("en")
    scripts = ScriptDirectory.from_config(alembic_config())
    head = scripts.get_current_head()
    previous = scripts.get_revision(head).down_revision
    assert isinstance(previous, str)

    with pytest.raises(StartupError) as empty:
        await check_schema_current(bare_engine)
    assert str(empty.value) == (
        f"the database is at revision none (empty), this shopbot needs {head}: run "
        "`shopbot migrate` once, then start the replicas"
    )
    await migrate(bare_engine, previous)
    set_language("ru")
    with pytest.raises(StartupError) as behind:
        await check_schema_current(bare_engine)
    assert str(behind.value).startswith(f"база данных в версии {previous}, а этому shopbot")
    assert "`shopbot migrate`" in str(behind.value)

    await migrate(bare_engine)
    await check_schema_current(bare_engine)  # at head: starts


def test_each_shop_has_a_channel_of_its_own_without_its_password() -> None:
    first = change_channel("postgresql+asyncpg://shop:secret@db:5432/shop")
    assert first == change_channel("postgresql+asyncpg://shop:other@db:5432/shop")
    assert first != change_channel("postgresql+asyncpg://shop:secret@db:5432/another_shop")
    assert "secret" not in first and first.startswith("shopbot:changes:")


@dataclass
class Replica:
    """What one ``shopbot run`` process keeps in memory, on an engine of its own."""

    engine: AsyncEngine
    session_factory: async_sessionmaker[AsyncSession]
    catalogue: CatalogueCache
    directory: UserDirectory
    feed: ChangeFeed

    async def price_shown(self, product_id: int) -> int:
        async with self.session_factory() as session:
            detail = await self.catalogue.product(session, product_id)
        assert detail is not None
        return detail.price


@pytest.fixture
async def replicas(
    database_url: str, engine: AsyncEngine
) -> AsyncIterator[Callable[[], Awaitable[Replica]]]:
    assert REDIS_URL is not None
    channel = f"shopbot:changes:test-{uuid.uuid4().hex}"  # no other test's changes
    opened: list[tuple[Redis, Replica]] = []

    async def make() -> Replica:
        own_engine = create_engine(database_url)
        session_factory = create_session_factory(own_engine)
        hooks = commit_hooks(session_factory)
        redis = Redis.from_url(REDIS_URL)
        feed = ChangeFeed(redis, hooks, channel)
        await feed.start()
        # An hour: a change seen sooner came through the feed, not by the cache ageing.
        replica = Replica(
            own_engine,
            session_factory,
            CatalogueCache(hooks, max_age=3600),
            UserDirectory(hooks),
            feed,
        )
        opened.append((redis, replica))
        return replica

    yield make
    for redis, replica in opened:
        await replica.feed.stop()
        await redis.aclose()
        await replica.engine.dispose()


async def until(condition: Callable[[], Awaitable[bool]]) -> bool:
    """Whether ``condition`` holds within 2 s (the other replica hears of it asynchronously)."""
    for _ in range(200):
        if await condition():
            return True
        await asyncio.sleep(0.01)
    return False


@needs_redis
async def test_a_price_changed_through_one_replica_is_not_served_stale_by_another(
    replicas: Callable[[], Awaitable[Replica]], session: AsyncSession
) -> None:
    product = await make_product(session, "Кружка", price=49000, sku="MUG-1")
    await session.commit()
    one, other = await replicas(), await replicas()
    assert await other.price_shown(product.id) == 49000  # now cached in the other replica

    async with one.session_factory() as admin_session:
        await admin.set_price(admin_session, "MUG-1", 59000, actor="owner")

    async def other_shows_new_price() -> bool:
        return await other.price_shown(product.id) == 59000

    assert await until(other_shows_new_price)

    # Without the feed the other replica would have kept the old price for its hour.
    await other.feed.stop()
    async with one.session_factory() as admin_session:
        await admin.set_price(admin_session, "MUG-1", 69000, actor="owner")
    await asyncio.sleep(0.2)
    assert await other.price_shown(product.id) == 59000
    assert await one.price_shown(product.id) == 69000


@needs_redis
async def test_a_user_blocked_through_one_replica_is_checked_again_by_another(
    replicas: Callable[[], Awaitable[Replica]],
) -> None:
    one, other = await replicas(), await replicas()
    anna = Profile(701, "Анна")
    async with other.session_factory() as session:
        await other.directory.ensure(session, anna)  # the other replica remembers her

    async with one.session_factory() as session:
        await users.mark_blocked(session, 701)  # a message to her was refused

    async def unblocked_by_her_next_update() -> bool:
        async with other.session_factory() as session:
            await other.directory.ensure(session, anna)
            user = await session.get(users.User, 701, populate_existing=True)
            return user is not None and not user.is_blocked

    assert await until(unblocked_by_her_next_update)
