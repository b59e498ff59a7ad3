"""The chat messages that describe an order (its card, its payment link), remembered so
that they can be edited when the order changes instead of going stale."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from shopbot.db import unit_of_work, upsert
from shopbot.models import OrderMessage, OrderMessageKind

# Messages of one order kept: an order's card opened again and again from the list is edited
# in place (one row), but each "pay again" sends a message; older ones are let go.
KEPT_PER_ORDER = 10


async def remember(
    session: AsyncSession, order_id: int, chat_id: int, message_id: int, kind: OrderMessageKind
) -> None:
    """This message now shows the order (a message that showed another order before, edited
    into this one, now follows this one)."""
    async with unit_of_work(session):
        await session.execute(
            delete(OrderMessage).where(
                OrderMessage.chat_id == chat_id,
                OrderMessage.message_id == message_id,
                OrderMessage.order_id != order_id,
            )
        )
        await session.execute(
            upsert(session, OrderMessage)
            .values(order_id=order_id, chat_id=chat_id, message_id=message_id, kind=kind)
            .on_conflict_do_update(
                index_elements=[OrderMessage.chat_id, OrderMessage.message_id],
                set_={"kind": kind},
            )
        )
        old = select(OrderMessage.id).where(OrderMessage.order_id == order_id)
        keep = old.order_by(OrderMessage.id.desc()).limit(KEPT_PER_ORDER)
        await session.execute(
            delete(OrderMessage).where(
                OrderMessage.order_id == order_id, OrderMessage.id.not_in(keep.scalar_subquery())
            )
        )


async def of_order(session: AsyncSession, order_id: int) -> list[OrderMessage]:
    return list(
        await session.scalars(
            select(OrderMessage).where(OrderMessage.order_id == order_id).order_by(OrderMessage.id)
        )
    )


async def release(session: AsyncSession, chat_id: int, message_id: int) -> None:
    """This message shows something else now (an order's card turned back into the list)."""
    async with unit_of_work(session):
        await session.execute(
            delete(OrderMessage).where(
                OrderMessage.chat_id == chat_id, OrderMessage.message_id == message_id
            )
        )


async def forget(session: AsyncSession, ids: Sequence[int]) -> None:
    """These messages are gone (deleted, too old to edit): stop following them."""
    if not ids:
        return
    async with unit_of_work(session):
        await session.execute(delete(OrderMessage).where(OrderMessage.id.in_(ids)))
