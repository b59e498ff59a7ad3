"""CatalogueCache: browsing served from memory, never showing a change made in this process
late, and picking up other processes' changes after ``max_age``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from shopbot.db import commit_hooks, create_engine, create_session_factory
from shopbot.importer import ImportOptions, import_catalog
from shopbot.models import DeliveryMethod, Product
from shopbot.services import admin, cart, orders, stock
from shopbot.services.catalogue import CATALOGUE, CatalogueCache, CategoryView, ProductDetail
from shopbot.services.orders import Checkout
from tests.factories import make_category, make_product, make_user


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Selects:
    """Counts the SELECTs an engine runs."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.count = 0
        event.listen(engine.sync_engine, "before_cursor_execute", self._record)

    def _record(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            self.count += 1


@pytest.fixture
def clock() -> Clock:
    return Clock()


class Shopper:
    """Reads through the cache the way handlers do: a new session for every update."""

    def __init__(
        self, cache: CatalogueCache, session_factory: async_sessionmaker[AsyncSession]
    ) -> None:
        self.cache = cache
        self.session_factory = session_factory

    async def browse(self, category_id: int | None, page: int = 0) -> CategoryView:
        async with self.session_factory() as session:
            return await self.cache.browse(session, category_id, page, 8)

    async def product(self, product_id: int) -> ProductDetail:
        async with self.session_factory() as session:
            product = await self.cache.product(session, product_id)
        assert product is not None
        return product


@pytest.fixture
def cache(session_factory: async_sessionmaker[AsyncSession], clock: Clock) -> CatalogueCache:
    return CatalogueCache(commit_hooks(session_factory), max_age=2.0, clock=clock)


@pytest.fixture
def shopper(cache: CatalogueCache, session_factory: async_sessionmaker[AsyncSession]) -> Shopper:
    return Shopper(cache, session_factory)


@pytest.fixture
async def other_process(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Sessions on a second engine: writes the cache's engine never sees (like the CLI's)."""
    engine = create_engine(database_url)
    yield create_session_factory(engine)
    await engine.dispose()


async def test_repeated_browsing_is_served_from_memory(
    engine: AsyncEngine, session: AsyncSession, shopper: Shopper
) -> None:
    shirts = await make_category(session, "Футболки")
    product = await make_product(session, "Футболка «Байкал»", category=shirts)
    selects = Selects(engine)

    first = await shopper.browse(shirts.id)
    card = await shopper.product(product.id)
    assert selects.count == 3  # the tree, the page, the product with its first image

    assert await shopper.browse(shirts.id) == first
    assert await shopper.product(product.id) == card
    assert selects.count == 3
    assert card.name == "Футболка «Байкал»" and card.images == ()
    assert [item.name for item in first.products.items] == ["Футболка «Байкал»"]
    assert first.category is not None and first.category.name == "Футболки"


async def test_writes_in_this_process_show_at_once(
    session: AsyncSession, session_factory: async_sessionmaker[AsyncSession], shopper: Shopper
) -> None:
    shirts = await make_category(session, "Футболки")
    product = await make_product(session, "Футболка", category=shirts, price=129900, stock=5)
    await shopper.browse(shirts.id)
    await shopper.product(product.id)

    await admin.set_price(session, product.sku, 99900, actor="admin:1")
    assert (await shopper.product(product.id)).price == 99900

    await stock.set_stock(session, product.sku, 0, actor="admin:1")
    page = await shopper.browse(shirts.id)
    assert [item.stock for item in page.products.items] == [0]

    # An order taking stock is a write like any other.
    await stock.set_stock(session, product.sku, 5, actor="admin:1")
    await make_user(session, 501)
    async with session_factory() as shopper_session:
        await cart.add(shopper_session, 501, product.id, 2)
        await orders.place_order(
            shopper_session,
            501,
            Checkout("Анна", "+79990000000", DeliveryMethod.PICKUP),
            token="t-1",
            payment_provider="cash",
            payment_timeout=None,
        )
    assert (await shopper.product(product.id)).stock == 3


async def test_other_processes_writes_show_after_max_age(
    session: AsyncSession,
    shopper: Shopper,
    clock: Clock,
    other_process: async_sessionmaker[AsyncSession],
) -> None:
    product = await make_product(session, "Кружка", price=49000)
    assert (await shopper.product(product.id)).price == 49000

    async with other_process() as elsewhere:
        await elsewhere.execute(update(Product).where(Product.id == product.id).values(price=1))
        await elsewhere.commit()

    clock.now += 1.9
    assert (await shopper.product(product.id)).price == 49000
    clock.now += 0.2
    assert (await shopper.product(product.id)).price == 1


async def test_a_load_overlapping_a_write_is_not_kept(
    engine: AsyncEngine,
    session: AsyncSession,
    session_factory: async_sessionmaker[AsyncSession],
    shopper: Shopper,
) -> None:
    product = await make_product(session, "Блокнот", price=30000)
    overlapped = []

    def write_lands_meanwhile(*_args: Any) -> None:
        if not overlapped:
            overlapped.append(True)
            # what a unit of work committing a catalogue change during the load does
            commit_hooks(session_factory).announce({CATALOGUE})

    event.listen(engine.sync_engine, "before_cursor_execute", write_lands_meanwhile)
    await shopper.product(product.id)
    event.remove(engine.sync_engine, "before_cursor_execute", write_lands_meanwhile)

    selects = Selects(engine)
    await shopper.product(product.id)
    assert selects.count == 1, "the overlapped load was not trusted"


async def test_a_load_in_an_older_transaction_is_not_kept(
    engine: AsyncEngine,
    session: AsyncSession,
    session_factory: async_sessionmaker[AsyncSession],
    cache: CatalogueCache,
    shopper: Shopper,
) -> None:
    """Its snapshot may predate a write that has already emptied the cache."""
    product = await make_product(session, "Постер")
    async with session_factory() as handler_session:
        await handler_session.get(Product, product.id)  # a transaction is open now
        await cache.product(handler_session, product.id)
    selects = Selects(engine)
    await shopper.product(product.id)
    assert selects.count == 1


async def test_max_age_zero_turns_caching_off(
    engine: AsyncEngine, session: AsyncSession, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    shopper = Shopper(CatalogueCache(commit_hooks(session_factory), max_age=0), session_factory)
    product = await make_product(session, "Значок")
    selects = Selects(engine)
    await shopper.product(product.id)
    await shopper.product(product.id)
    assert selects.count == 2


async def test_a_missing_category_or_product(shopper: Shopper, cache: CatalogueCache) -> None:
    with pytest.raises(LookupError):
        await shopper.browse(999)
    async with shopper.session_factory() as session:
        assert await cache.product(session, 999) is None


async def test_an_import_in_this_process_shows_its_prices_at_once(
    session: AsyncSession,
    session_factory: async_sessionmaker[AsyncSession],
    shopper: Shopper,
    media_dir: Path,
) -> None:
    """The importer writes with its own bulk statements; its unit of work still says it
    changed the catalogue, so the cache cannot keep serving the old price."""
    product = await make_product(session, "Кружка", sku="MUG-9", price=129900)
    assert (await shopper.product(product.id)).price == 129900
    data = "sku;name;price;stock\nMUG-9;Кружка;999;4\n".encode()
    report = await import_catalog(session_factory, data, ImportOptions(media_dir=media_dir))
    assert not report.errors
    assert (await shopper.product(product.id)).price == 99900
