"""Telegram updates handled once: a redelivered update does not act twice.

Telegram sends an update again when the bot's answer to it was late, failed or lost (a
webhook answered non-2xx, a replica that died mid-update, a poller killed before it
confirmed its offset). An update is recorded as handled in the transaction of its first
unit of work, so the record commits with its changes or not at all: a redelivery of an
update whose changes committed finds the record when it tries to change something again,
and that unit is undone and the record's effects done instead of acting again; one whose handling
died before committing anything is handled afresh. Two replicas given the same update at
once both try to record it, and the primary key lets only one commit. What a redelivered
update does before its first change (reading, answering) it does again.

An update that changes nothing (browsing the catalogue) is not recorded: handling it again
only shows the same page again, and recording every one would make every update a write.

The record also keeps the update's ``effects``: what it had yet to do when its change
committed (the reply it computed, the conversation state it set; see
:mod:`shopbot.bot.once`), so a redelivery after a crash does that instead of saying nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import partial
from typing import Any

from sqlalchemy import delete, func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from shopbot.db import unit_of_work, write_with_next_unit
from shopbot.models import HandledUpdate, utcnow


class UpdateHandledAlready(Exception):
    """Another delivery of this update committed its changes first."""

    def __init__(self, update_id: int) -> None:
        super().__init__(f"update {update_id} was handled already")
        self.update_id = update_id


Effects = dict[str, Any]


def handling(
    session: AsyncSession, update_id: int, effects: Callable[[], Effects | None] = lambda: None
) -> None:
    """The update ``session`` serves is recorded with its first unit of work's changes, and
    with ``effects()`` as they are when that unit commits."""
    write_with_next_unit(session, partial(_record, update_id=update_id, effects=effects))


async def _record(
    session: AsyncSession, *, update_id: int, effects: Callable[[], Effects | None]
) -> None:
    try:
        await session.execute(
            insert(HandledUpdate).values(
                update_id=update_id, handled_at=utcnow(), effects=effects()
            )
        )
    except IntegrityError:
        raise UpdateHandledAlready(update_id) from None


async def recorded_effects(session: AsyncSession, update_id: int) -> Effects | None:
    """What the delivery of ``update_id`` whose change committed had yet to do then (``{}``
    for nothing); None when no delivery of it committed a change."""
    row = (
        await session.execute(
            select(HandledUpdate.effects).where(HandledUpdate.update_id == update_id)
        )
    ).first()
    return None if row is None else (row.effects or {})


async def latest_recorded(session: AsyncSession) -> int:
    """The highest update id recorded (0 for none): after a restart, only an update up to
    it can be a redelivery of one that changed something."""
    return await session.scalar(select(func.max(HandledUpdate.update_id))) or 0


async def forget_before(session: AsyncSession, moment: datetime) -> int:
    """Drop the records of updates handled before ``moment``; how many went. Takes the
    write lock only when there is something to drop."""
    old = select(HandledUpdate.update_id).where(HandledUpdate.handled_at < moment).limit(1)
    if await session.scalar(old) is None:
        return 0
    async with unit_of_work(session):
        result = await session.execute(
            delete(HandledUpdate).where(HandledUpdate.handled_at < moment)
        )
    return result.rowcount or 0
