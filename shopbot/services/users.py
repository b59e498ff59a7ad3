"""Shoppers and staff as the shop knows them (a Telegram user id is the key)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from shopbot.cache import TableCache
from shopbot.db import CommitHooks, changed, unit_of_work, upsert
from shopbot.models import User

USERS = "users"  # the topic of change of the users table


@dataclass(frozen=True)
class Profile:
    """What Telegram tells us about a person on every update."""

    id: int
    first_name: str
    last_name: str | None = None
    username: str | None = None
    language: str = "ru"


async def ensure_user(session: AsyncSession, profile: Profile) -> User:
    """Return the user, creating or refreshing the row only when something changed.

    Most updates come from known, unchanged users: they cost one primary-key read and no write.
    """
    user = await session.get(User, profile.id)
    if user is not None and (
        user.first_name,
        user.last_name,
        user.username,
        user.language,
        user.is_blocked,
    ) == (profile.first_name, profile.last_name, profile.username, profile.language, False):
        return user
    values = {
        "first_name": profile.first_name,
        "last_name": profile.last_name,
        "username": profile.username,
        "language": profile.language,
        "is_blocked": False,
    }
    async with unit_of_work(session):
        statement = upsert(session, User).values(id=profile.id, **values)
        await session.execute(
            statement.on_conflict_do_update(index_elements=[User.id], set_=values)
        )
        changed(session, USERS)
    user = await session.get(User, profile.id, populate_existing=True)
    assert user is not None
    return user


class UserDirectory:
    """Keeps user rows current without touching the database on every update.

    Remembers the profile last confirmed stored (and not blocked) for each user: an update
    from such a user costs no statement. Any change to users committed in this process —
    a new user, a changed name, the blocked flag set after Telegram refused a message —
    makes everyone be checked once more.
    """

    def __init__(self, hooks: CommitHooks, max_entries: int = 100_000) -> None:
        self._stored: TableCache[Profile] = TableCache(hooks, USERS, max_entries=max_entries)

    async def ensure(self, session: AsyncSession, profile: Profile) -> None:
        async def store() -> Profile:
            await ensure_user(session, profile)
            return profile

        if await self._stored.get(session, profile.id, store) != profile:
            await ensure_user(session, profile)  # changed since it was remembered


async def save_phone(session: AsyncSession, user_id: int, phone: str) -> None:
    async with unit_of_work(session):
        await session.execute(update(User).where(User.id == user_id).values(phone=phone))
        changed(session, USERS)


async def mark_blocked(session: AsyncSession, user_id: int) -> None:
    """The user blocked the bot: stop messaging them until they write again."""
    async with unit_of_work(session):
        await session.execute(update(User).where(User.id == user_id).values(is_blocked=True))
        changed(session, USERS)
