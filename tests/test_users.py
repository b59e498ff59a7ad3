"""UserDirectory: user rows kept current, with no statement for a known, unchanged user."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from shopbot.db import commit_hooks
from shopbot.models import User
from shopbot.services.users import Profile, UserDirectory, mark_blocked


class Statements:
    """The queries an engine runs (transaction control left out)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.seen: list[str] = []
        event.listen(engine.sync_engine, "before_cursor_execute", self._record)

    def _record(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        verb = statement.split()[0].upper()
        if verb in {"SELECT", "INSERT", "UPDATE", "DELETE"}:
            self.seen.append(verb)

    def take(self) -> list[str]:
        seen, self.seen = self.seen, []
        return seen


async def test_known_unchanged_users_cost_nothing_and_changes_are_stored(
    engine: AsyncEngine, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    users = UserDirectory(commit_hooks(session_factory))
    statements = Statements(engine)

    async def update_from(profile: Profile) -> tuple[User, list[str]]:
        """What one update does to the user row: the row after it, and the statements."""
        statements.take()
        async with session_factory() as session:
            await users.ensure(session, profile)
            await session.commit()
        used = statements.take()
        async with session_factory() as session:
            user = await session.get(User, profile.id)
        assert user is not None
        return user, used

    anna = Profile(id=7, first_name="Анна", username="anna", language="ru")
    _, used = await update_from(anna)
    assert "INSERT" in used  # first contact: the row is created
    _, used = await update_from(anna)
    assert used == ["SELECT"]  # read once, unchanged: remembered from now on
    _, used = await update_from(anna)
    assert used == []

    renamed = Profile(id=7, first_name="Аня", username="anna", language="en")
    user, used = await update_from(renamed)
    assert (user.first_name, user.language) == ("Аня", "en")
    assert "INSERT" in used

    async with session_factory() as session:
        await mark_blocked(session, 7)
    user, _ = await update_from(renamed)
    assert not user.is_blocked, "writing to the bot again clears the flag"
    await update_from(renamed)
    _, used = await update_from(renamed)
    assert used == []
