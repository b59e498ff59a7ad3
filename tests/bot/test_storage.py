from aiogram.fsm.storage.base import StorageKey
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shopbot.bot.storage import DatabaseStorage
from shopbot.models import FsmState


async def test_state_and_data_persist_and_clear(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    key = StorageKey(bot_id=1, chat_id=10, user_id=10)
    other = StorageKey(bot_id=1, chat_id=11, user_id=11)
    storage = DatabaseStorage(session_factory)
    await storage.set_state(key, "CheckoutForm:phone")
    await storage.set_data(key, {"name": "Анна", "token": "t"})
    await storage.set_state(other, "SearchForm:query")

    reopened = DatabaseStorage(session_factory)  # as after a restart
    assert await reopened.get_state(key) == "CheckoutForm:phone"
    assert await reopened.get_data(key) == {"name": "Анна", "token": "t"}
    assert await reopened.get_state(StorageKey(bot_id=1, chat_id=99, user_id=99)) is None

    await reopened.set_state(key, None)
    await reopened.set_data(key, {})
    assert await reopened.get_state(key) is None and await reopened.get_data(key) == {}
    async with session_factory() as session:
        assert await session.scalar(select(func.count()).select_from(FsmState)) == 1
