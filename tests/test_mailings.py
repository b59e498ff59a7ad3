"""Mailing audiences (always within consent and reachability), the campaign's guarded status
changes, and the recipient rows' attempts, retries and interrupted sends."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from shopbot.db import unit_of_work
from shopbot.models import (
    CartLine,
    ConsentSource,
    DeliveryMethod,
    MailingEvent,
    MailingRecipient,
    MailingStatus,
    Order,
    OrderLine,
    OrderStatus,
    RecipientStatus,
    User,
    utcnow,
)
from shopbot.services import mailings
from shopbot.services.mailings import Audience, AudienceKind
from tests.factories import make_category, make_product

SUBSCRIBED, REFUSED, BLOCKED, ENGLISH, BUYER, OLD_BUYER, CARTED = range(1, 8)


async def _order(
    session: AsyncSession, user_id: int, product_id: int, *, days_ago: int, status: OrderStatus
) -> None:
    at = utcnow() - timedelta(days=days_ago)
    order_id = await session.scalar(
        insert(Order)
        .values(
            user_id=user_id,
            checkout_token=f"t{user_id}-{days_ago}",
            status=status,
            subtotal=1000,
            total=1000,
            contact_name="Покупатель",
            contact_phone="+79001234567",
            delivery_method=DeliveryMethod.PICKUP,
            created_at=at,
        )
        .returning(Order.id)
    )
    await session.execute(
        insert(OrderLine).values(
            order_id=order_id, product_id=product_id, sku="X", name="X", unit_price=1000, quantity=1
        )
    )


@pytest.fixture
async def shop(session: AsyncSession) -> dict[str, int]:
    clothes = await make_category(session, "Одежда")
    shirts = await make_category(session, "Футболки", clothes)
    mugs = await make_category(session, "Кружки")
    shirt = await make_product(session, "Футболка", category=shirts)
    mug = await make_product(session, "Кружка", category=mugs)
    now = utcnow()

    def user(user_id: int, *, consent: bool | None = True, **values: object) -> dict:
        return {
            "id": user_id,
            "first_name": "Покупатель",
            "language": "ru",
            "created_at": now,
            "is_blocked": False,
            "marketing_consent": consent,
            "marketing_consent_at": now,
            "marketing_consent_source": ConsentSource.COMMAND,
            **values,
        }

    async with unit_of_work(session):
        await session.execute(
            insert(User),
            [
                user(SUBSCRIBED),
                user(REFUSED, consent=False),
                user(BLOCKED, is_blocked=True),
                user(ENGLISH, language="en"),
                user(BUYER),
                user(OLD_BUYER),
                user(CARTED),
            ],
        )
        await _order(session, BUYER, shirt.id, days_ago=2, status=OrderStatus.PAID)
        await _order(session, OLD_BUYER, mug.id, days_ago=40, status=OrderStatus.DELIVERED)
        await _order(session, REFUSED, shirt.id, days_ago=1, status=OrderStatus.PAID)
        await _order(session, SUBSCRIBED, mug.id, days_ago=1, status=OrderStatus.CANCELLED)
        await session.execute(
            insert(CartLine).values(user_id=CARTED, product_id=mug.id, quantity=1)
        )
    return {"clothes": clothes.id, "shirts": shirts.id, "mug": mug.id}


async def _who(session: AsyncSession, audience: Audience) -> set[int]:
    condition = mailings.audience_condition(audience, utcnow())
    return set(await session.scalars(select(User.id).where(condition)))


async def test_every_audience_is_within_consent_and_reachability(
    session: AsyncSession, shop: dict[str, int]
) -> None:
    everyone = {SUBSCRIBED, ENGLISH, BUYER, OLD_BUYER, CARTED}
    assert await _who(session, Audience(AudienceKind.ALL)) == everyone
    assert await mailings.audience_size(session, Audience(AudienceKind.ALL)) == 5
    assert await _who(session, Audience(AudienceKind.LANGUAGE, "en")) == {ENGLISH}
    # Bought from a category counts its subcategories; a refusing buyer is never in it.
    assert await _who(session, Audience(AudienceKind.CATEGORY, shop["clothes"])) == {BUYER}
    # A cancelled order is no purchase.
    assert await _who(session, Audience(AudienceKind.PRODUCT, shop["mug"])) == {OLD_BUYER}
    assert await _who(session, Audience(AudienceKind.CART)) == {CARTED}
    # Placed no order in 30 days (a cancelled one is still an order placed).
    assert await _who(session, Audience(AudienceKind.INACTIVE, 30)) == {
        ENGLISH,
        OLD_BUYER,
        CARTED,
    }
    assert await _who(session, Audience(AudienceKind.NEVER_ORDERED)) == {ENGLISH, CARTED}


async def test_status_changes_are_guarded_and_logged(
    session: AsyncSession, shop: dict[str, int]
) -> None:
    mailing_id = await mailings.create(
        session,
        owner_id=SUBSCRIBED,
        source_chat_id=SUBSCRIBED,
        message_ids=[1],
        buttons=[],
        audience=Audience(AudienceKind.ALL),
    )
    assert not await mailings.change_status(session, mailing_id, MailingStatus.PAUSED, "admin:1")
    assert await mailings.start_due(session) == [mailing_id]
    assert await mailings.start_due(session) == []  # started once
    assert await mailings.change_status(session, mailing_id, MailingStatus.PAUSED, "admin:1")
    assert await mailings.change_status(session, mailing_id, MailingStatus.SENDING, "admin:1")
    assert await mailings.change_status(session, mailing_id, MailingStatus.CANCELLED, "admin:1")
    assert not await mailings.change_status(session, mailing_id, MailingStatus.SENDING, "admin:1")
    events = (
        await session.execute(
            select(MailingEvent.from_status, MailingEvent.to_status).order_by(MailingEvent.id)
        )
    ).all()
    assert [tuple(event) for event in events] == [
        (None, "scheduled"),
        ("scheduled", "sending"),
        ("sending", "paused"),
        ("paused", "sending"),
        ("sending", "cancelled"),
    ]
    figures = await mailings.figures(session, mailing_id)
    assert figures is not None and (figures.total, figures.pending) == (5, 5)


async def test_retries_back_off_a_429_costs_no_attempt_and_a_dead_claim_is_not_resent(
    session: AsyncSession, shop: dict[str, int]
) -> None:
    mailing_id = await mailings.create(
        session,
        owner_id=SUBSCRIBED,
        source_chat_id=SUBSCRIBED,
        message_ids=[1],
        buttons=[],
        audience=Audience(AudienceKind.LANGUAGE, "en"),
    )
    await mailings.start_due(session)
    ((recipient_id, user_id),) = await mailings.next_pending(session, mailing_id, 10)
    assert user_id == ENGLISH
    for _attempt in range(3):  # the pace's 429s: never an attempt of the recipient's
        assert await mailings.claim(session, recipient_id)
        assert await mailings.retry_later(session, recipient_id, "429", after=0, counts=False)
    for attempt in range(1, mailings.MAX_ATTEMPTS):
        assert await mailings.claim(session, recipient_id)
        assert await mailings.retry_later(session, recipient_id, "502", after=None, counts=True)
        row = await session.get(MailingRecipient, recipient_id, populate_existing=True)
        assert row is not None and row.attempts == attempt
        assert row.available_at is not None and row.available_at > utcnow()
        async with unit_of_work(session):
            await session.execute(
                update(MailingRecipient).values(available_at=utcnow() - timedelta(seconds=1))
            )
    assert await mailings.claim(session, recipient_id)
    assert not await mailings.retry_later(session, recipient_id, "502", after=None, counts=True)
    row = await session.get(MailingRecipient, recipient_id, populate_existing=True)
    assert row is not None and row.status is RecipientStatus.FAILED
    assert row.error == f"gave up after {mailings.MAX_ATTEMPTS} attempts: 502"

    other = await mailings.create(
        session,
        owner_id=SUBSCRIBED,
        source_chat_id=SUBSCRIBED,
        message_ids=[1],
        buttons=[],
        audience=Audience(AudienceKind.CART),
    )
    await mailings.start_due(session)
    ((claimed, _user),) = await mailings.next_pending(session, other, 10)
    assert await mailings.claim(session, claimed)
    assert not await mailings.claim(session, claimed)  # taken: nobody sends it twice
    # The process died with the claim: the next pass counts it failed, sends nothing.
    assert await mailings.settle_interrupted(session) == 1
    assert await mailings.next_pending(session, other, 10) == []
    assert not await mailings.has_pending(session, other)
