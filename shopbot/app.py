"""Composition root: settings → database → bot, dispatcher (and, later, web server and jobs)."""

from __future__ import annotations

import logging

from shopbot.bot.factory import create_bot, create_dispatcher, register_commands
from shopbot.config import Settings
from shopbot.db import create_engine, create_session_factory, migrate

log = logging.getLogger(__name__)


def _where(settings: Settings) -> str:
    database = settings.database_url.split("@")[-1]
    return f"Telegram at {settings.telegram_api_url or 'api.telegram.org'}, database {database}"


async def run_bot(settings: Settings) -> None:
    """Migrate, then poll Telegram until Ctrl-C / SIGTERM; in-flight updates finish first."""
    engine = create_engine(settings.database_url)
    await migrate(engine)
    session_factory = create_session_factory(engine)
    bot = create_bot(settings)
    dispatcher = create_dispatcher(settings, session_factory)
    try:
        me = await bot.get_me()
        await register_commands(bot)
        log.info("shopbot @%s started: %s", me.username, _where(settings))
        await dispatcher.start_polling(bot, handle_signals=True, close_bot_session=True)
    finally:
        await dispatcher.storage.close()
        await engine.dispose()
