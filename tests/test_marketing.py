"""Consent to advertising in the core: asked in the unit of work that places an order (or
not at all), answers as guarded changes with their log, concurrent answers counted once."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shopbot.db import unit_of_work
from shopbot.errors import OutOfStock
from shopbot.models import (
    ConsentEvent,
    ConsentSource,
    DeliveryMethod,
    OutboxMessage,
    Product,
    User,
)
from shopbot.services import cart, marketing, orders
from shopbot.services.marketing import CONSENT_QUESTION
from shopbot.services.orders import Checkout
from tests.factories import make_product, make_user

CHECKOUT = Checkout("Анна", "+79001234567", DeliveryMethod.PICKUP, None)


async def place(session: AsyncSession, user_id: int, token: str) -> None:
    await orders.place_order(
        session, user_id, CHECKOUT, token=token, payment_provider="cash", payment_timeout=None
    )


async def asked(session: AsyncSession, user_id: int) -> tuple[bool, int]:
    """Whether the user is marked asked, and how many questions the outbox holds."""
    user = await session.get(User, user_id, populate_existing=True)
    assert user is not None
    count = await session.scalar(select(func.count()).where(OutboxMessage.kind == CONSENT_QUESTION))
    return user.consent_asked_at is not None, count or 0


async def test_the_question_is_recorded_with_the_first_order_placed(session: AsyncSession) -> None:
    await make_user(session, 1)
    mug = await make_product(session, "Кружка", stock=2)
    await cart.set_quantity(session, 1, mug.id, 1)
    async with unit_of_work(session):  # sold out meanwhile: the order fails
        await session.execute(update(Product).where(Product.id == mug.id).values(stock=0))
    with pytest.raises(OutOfStock):
        await place(session, 1, "t-1")
    assert await asked(session, 1) == (False, 0)

    async with unit_of_work(session):
        await session.execute(update(Product).where(Product.id == mug.id).values(stock=2))
    await place(session, 1, "t-1")
    assert await asked(session, 1) == (True, 1)
    await cart.set_quantity(session, 1, mug.id, 1)
    await place(session, 1, "t-2")
    assert await asked(session, 1) == (True, 1)  # once in a lifetime


async def test_concurrent_answers_change_consent_once(
    session: AsyncSession, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    await make_user(session, 2)

    async def tap() -> bool:
        async with session_factory() as own:
            return await marketing.subscribe(own, 2, ConsentSource.MENU)

    assert sorted(await asyncio.gather(*(tap() for _ in range(8)))) == [False] * 7 + [True]
    assert await marketing.unsubscribe(session, 2, ConsentSource.COMMAND)
    assert not await marketing.unsubscribe(session, 2, ConsentSource.COMMAND)
    rows = await session.execute(
        select(ConsentEvent.granted, ConsentEvent.source).order_by(ConsentEvent.id)
    )
    assert [tuple(row) for row in rows] == [
        (True, ConsentSource.MENU),
        (False, ConsentSource.COMMAND),
    ]
    consent = await marketing.consent_of(session, 2)
    assert (consent.granted, consent.source) == (False, ConsentSource.COMMAND)
    assert await marketing.advertising_audience(session) == []
