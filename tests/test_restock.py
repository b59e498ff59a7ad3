"""The favourites' watch (``restock.watch_favourites``) on its own: once per return to
stock, also with two passes at once (two replicas), only to subscribers, not for a product
hidden by the owner, in the unit of work that claims the return."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shopbot.models import Favourite, OutboxMessage, Product, User, utcnow
from shopbot.services import restock
from tests.factories import make_product, make_user

Factory = async_sessionmaker[AsyncSession]


async def keep(session: AsyncSession, user_id: int, product_id: int, *, consent: bool) -> None:
    await make_user(session, user_id)
    await session.execute(update(User).where(User.id == user_id).values(marketing_consent=consent))
    await session.execute(insert(Favourite).values(user_id=user_id, product_id=product_id))
    await session.commit()


async def set_product(session: AsyncSession, product_id: int, **values: object) -> None:
    await session.execute(update(Product).where(Product.id == product_id).values(**values))
    await session.commit()


async def messages(session: AsyncSession) -> list[dict]:
    await session.rollback()
    return list(
        await session.scalars(
            select(OutboxMessage.payload).where(OutboxMessage.kind == restock.BACK_IN_STOCK)
        )
    )


async def pass_of(factory: Factory) -> int:
    async with factory() as session:
        return await restock.watch_favourites(session)


async def test_two_passes_at_once_tell_a_return_once(
    session_factory: Factory, session: AsyncSession
) -> None:
    mug = await make_product(session, "Кружка", stock=0)
    await keep(session, 1, mug.id, consent=True)
    await keep(session, 2, mug.id, consent=False)
    assert await pass_of(session_factory) == 0
    await set_product(session, mug.id, stock=4)
    told = await asyncio.gather(*(pass_of(session_factory) for _ in range(4)))
    assert sorted(told) == [0, 0, 0, 1]
    assert await messages(session) == [{"user_id": 1, "product_id": mug.id}]


async def test_a_hidden_product_back_in_stock_waits_until_it_is_shown(
    session_factory: Factory, session: AsyncSession
) -> None:
    mug = await make_product(session, "Кружка", stock=0)
    await keep(session, 1, mug.id, consent=True)
    await pass_of(session_factory)
    await set_product(session, mug.id, stock=2, active=False)
    assert await pass_of(session_factory) == 0
    await set_product(session, mug.id, active=True)
    assert await pass_of(session_factory) == 1


async def test_the_watch_leaves_what_shoppers_see_and_the_search_index_alone(
    session_factory: Factory, session: AsyncSession
) -> None:
    mug = await make_product(session, "Кружка", stock=0)
    await keep(session, 1, mug.id, consent=True)
    state = select(Product.sold_out_seen, Product.updated_at).where(Product.id == mug.id)
    seen, before = (await session.execute(state)).one()
    assert not seen
    await session.rollback()
    await pass_of(session_factory)
    seen, after = (await session.execute(state)).one()
    assert seen and after == before  # updated_at is what the search index watches


async def test_a_favourite_on_sale_is_told_once_per_sale(
    session_factory: Factory, session: AsyncSession
) -> None:
    mug = await make_product(session, "Кружка", price=59000, stock=4)
    await keep(session, 1, mug.id, consent=True)
    await keep(session, 2, mug.id, consent=False)
    assert await pass_of(session_factory) == 0
    tomorrow = utcnow() + timedelta(days=1)
    await set_product(session, mug.id, sale_price=49000, sale_until=tomorrow)
    told = await asyncio.gather(*(pass_of(session_factory) for _ in range(4)))
    assert sorted(told) == [0, 0, 0, 1]
    assert await pass_of(session_factory) == 0  # told already
    await set_product(session, mug.id, sale_price=None, sale_until=None)
    assert await pass_of(session_factory) == 0  # the sale is over: nothing to tell...
    await set_product(session, mug.id, sale_price=45000, sale_until=None)
    assert await pass_of(session_factory) == 1  # ...and the next sale is told again
    await session.rollback()
    sent = list(
        await session.scalars(
            select(OutboxMessage.payload).where(OutboxMessage.kind == restock.ON_SALE)
        )
    )
    assert sent == [{"user_id": 1, "product_id": mug.id}] * 2
    assert await messages(session) == []  # no "back in stock": it never sold out
