"""Composition root: settings → database → bot, dispatcher, payment provider, web server and
background jobs, all in one process and one event loop."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from aiogram import Bot, Dispatcher
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from shopbot.bot.factory import create_bot, create_dispatcher, register_commands
from shopbot.bot.i18n import create_i18n
from shopbot.bot.notifier import BotNotifier
from shopbot.config import Settings
from shopbot.db import commit_hooks, create_engine, create_session_factory, migrate
from shopbot.importer.exclusive import clear_leftovers
from shopbot.payments import create_provider
from shopbot.payments.base import PaymentProvider
from shopbot.payments.jobs import BackgroundJobs
from shopbot.redis_client import check_redis, create_redis
from shopbot.services.notifications import order_sender
from shopbot.services.outbox import OutboxDelivery
from shopbot.web import create_web_app, start_web

log = logging.getLogger(__name__)


@dataclass
class ShopRuntime:
    """A started shop minus the polling loop (``run_bot`` polls; tests and the demo too)."""

    settings: Settings
    engine: AsyncEngine
    session_factory: async_sessionmaker[AsyncSession]
    bot: Bot
    dispatcher: Dispatcher
    provider: PaymentProvider
    notifier: BotNotifier
    jobs: BackgroundJobs
    web_runner: web.AppRunner

    @property
    def web_url(self) -> str:
        host, port = self.web_runner.addresses[0][:2]
        return f"http://{host}:{port}"

    async def close(self) -> None:
        await self.jobs.stop()
        await self.web_runner.cleanup()
        await self.dispatcher.storage.close()
        await self.bot.session.close()
        await self.provider.close()
        await self.engine.dispose()


async def start_shop(settings: Settings) -> ShopRuntime:
    """Check Redis (when set), migrate, build everything, register the command menu, start
    the web server and jobs. :class:`StartupError` when Redis does not answer."""
    if settings.redis_url:
        await check_redis(settings.redis_url)
    redis = create_redis(settings.redis_url) if settings.redis_url else None
    engine = create_engine(settings.database_url)
    await migrate(engine)
    session_factory = create_session_factory(engine)
    await clear_leftovers(session_factory, settings.media_dir)
    bot = create_bot(settings)
    me = await bot.get_me()
    provider = create_provider(settings, bot_username=me.username or "")
    notifier = BotNotifier(bot, settings, session_factory, create_i18n(settings.default_language))
    delivery = OutboxDelivery(order_sender(notifier))
    commit_hooks(session_factory).deliver = delivery.deliver
    dispatcher = create_dispatcher(
        settings, session_factory, payment_provider=provider, redis=redis
    )
    await register_commands(bot)
    web_runner = await start_web(
        create_web_app(settings, session_factory, provider, redis=redis),
        settings.web_host,
        settings.web_port,
    )
    jobs = BackgroundJobs(settings, session_factory, provider, delivery)
    jobs.start()
    runtime = ShopRuntime(
        settings,
        engine,
        session_factory,
        bot,
        dispatcher,
        provider,
        notifier,
        jobs,
        web_runner,
    )
    log.info(
        "shopbot @%s started: Telegram at %s, database %s, payments %s, web %s",
        me.username,
        settings.telegram_api_url or "api.telegram.org",
        settings.database_url.split("@")[-1],
        provider.name,
        runtime.web_url,
    )
    return runtime


async def run_bot(settings: Settings) -> None:
    """Poll Telegram until Ctrl-C / SIGTERM; in-flight updates finish, then all closes."""
    runtime = await start_shop(settings)
    try:
        await runtime.dispatcher.start_polling(
            runtime.bot, handle_signals=True, close_bot_session=False
        )
    finally:
        await runtime.close()
