"""Composition root: settings → database → bot, dispatcher, payment provider, web server and
background jobs, all in one process and one event loop."""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import signal
import socket
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass

from aiogram import Bot, Dispatcher
from aiogram.exceptions import (
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.types import User
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from shopbot.bot.factory import create_bot, create_dispatcher, register_commands
from shopbot.bot.followups import followup_senders
from shopbot.bot.i18n import create_i18n
from shopbot.bot.mailing_sender import ConversationPace, MailingSender
from shopbot.bot.miniapp import invoice_links, miniapp_senders, set_menu_button
from shopbot.bot.notifier import BotNotifier
from shopbot.bot.support_desk import SupportDesk
from shopbot.bot.webhook import serve_webhook, set_webhook, webhook_url
from shopbot.config import Settings
from shopbot.db import commit_hooks, create_engine, create_session_factory, migrate
from shopbot.errors import StartupError
from shopbot.i18n import N_, Text
from shopbot.importer.exclusive import clear_leftovers
from shopbot.payments import create_provider
from shopbot.payments.base import PaymentProvider
from shopbot.payments.jobs import BackgroundJobs
from shopbot.redis_client import check_redis, create_redis
from shopbot.replicas import (
    ChangeFeed,
    change_channel,
    check_scale_out,
    check_schema_current,
)
from shopbot.search.meaning import (
    VECTOR_INTERVAL,
    MeaningUnavailable,
    VectorPass,
    check_installed,
)
from shopbot.services.marketing import marketing_senders
from shopbot.services.notifications import order_sender
from shopbot.services.outbox import OutboxDelivery, Sender, routed
from shopbot.services.restock import restock_senders
from shopbot.services.send_rate import create_send_rate
from shopbot.web import create_web_app, start_web
from shopbot.web.app import NotReady
from shopbot.web.miniapp import MiniApp

log = logging.getLogger(__name__)

TELEGRAM_RETRY_CAP = 60.0  # seconds between attempts to reach Telegram, at most
MAILING_INTERVAL = 2.0  # seconds between passes of the mailing job (a due campaign starts)


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
    support_desk: SupportDesk
    change_feed: ChangeFeed | None = None

    @property
    def web_url(self) -> str:
        host, port = self.web_runner.addresses[0][:2]
        return f"http://{host}:{port}"

    async def close(self) -> None:
        await self.jobs.stop()
        await self.web_runner.cleanup()
        if self.change_feed is not None:
            await self.change_feed.stop()
        await self.dispatcher.storage.close()
        await self.bot.session.close()
        await self.provider.close()
        await self.engine.dispose()


async def start_shop(settings: Settings) -> ShopRuntime:
    """Check what can be checked locally (the settings for replicas, the web port, Redis),
    migrate (replicas only check that ``shopbot migrate`` did), reach Telegram (retrying
    while it is unreachable), build everything, register the command menu, start the web
    server and jobs. :class:`StartupError`, one line, when the shop cannot start; whatever
    was opened by then is closed again."""
    check_scale_out(settings)
    try:
        check_installed(settings)
    except MeaningUnavailable as exc:
        raise StartupError(exc.text) from None
    check_port_free(settings.web_host, settings.web_port)
    if settings.redis_url:
        await check_redis(settings.redis_url)
    async with AsyncExitStack() as opened:
        redis = create_redis(settings.redis_url) if settings.redis_url else None
        if redis is not None:
            opened.push_async_callback(redis.aclose)
        engine = create_engine(settings.database_url)
        opened.push_async_callback(engine.dispose)
        if settings.replicas > 1:
            await check_schema_current(engine)
        else:
            await migrate(engine)
        session_factory = create_session_factory(engine)
        change_feed = None
        if redis is not None:
            change_feed = ChangeFeed(
                redis, commit_hooks(session_factory), change_channel(settings.database_url)
            )
            await change_feed.start()
            opened.push_async_callback(change_feed.stop)
        await clear_leftovers(session_factory, settings.media_dir)
        bot = create_bot(settings)
        opened.push_async_callback(bot.session.close)
        me = await reach_telegram(bot, settings.telegram_api_url or "api.telegram.org")
        provider = create_provider(settings, bot_username=me.username or "")
        opened.push_async_callback(provider.close)
        notifier = BotNotifier(
            bot, settings, session_factory, create_i18n(settings.default_language), provider
        )
        support_desk = SupportDesk(bot, settings, create_i18n(settings.default_language))
        await support_desk.check()
        delivery = OutboxDelivery(outbox_sender(notifier, support_desk))
        commit_hooks(session_factory).deliver = delivery.deliver
        dispatcher = create_dispatcher(
            settings, session_factory, payment_provider=provider, redis=redis
        )
        opened.push_async_callback(dispatcher.storage.close)
        dispatcher["support_desk"] = support_desk
        dispatcher.startup.register(support_desk.awake)
        dispatcher.shutdown.register(support_desk.asleep)
        await register_commands(bot)
        await set_menu_button(bot, settings, notifier.i18n)
        send_rate = create_send_rate(settings.mailing_rate, redis)
        bot.session.middleware(ConversationPace(send_rate))
        mailing_sender = MailingSender(
            bot, settings, session_factory, create_i18n(settings.default_language), send_rate
        )
        more_jobs = [("send mailings", mailing_sender.run_pass, MAILING_INTERVAL)]
        if dispatcher["embedder"] is not None:
            vectors = VectorPass(session_factory, dispatcher["embedder"])
            more_jobs.append(("compute meaning vectors", vectors.run_pass, VECTOR_INTERVAL))
        jobs = BackgroundJobs(settings, session_factory, provider, delivery, more_jobs)
        commit_hooks(session_factory).deliver_later = jobs.deliver_later
        readiness = {"telegram": bot.get_me, "jobs": jobs_keep_up(jobs)}
        web_app = create_web_app(
            settings, session_factory, provider, redis=redis, readiness=readiness
        )
        MiniApp(
            settings,
            session_factory,
            provider,
            dispatcher["catalogue_cache"],
            dispatcher["search_engine"],
            invoice_links(bot, settings, notifier.i18n),
        ).add_routes(web_app)
        if settings.telegram_webhook_url:
            serve_webhook(web_app, dispatcher, bot, settings)
        try:
            web_runner = await start_web(web_app, settings.web_host, settings.web_port)
        except OSError as exc:
            raise StartupError(_port_problem(settings.web_host, settings.web_port, exc)) from None
        opened.push_async_callback(web_runner.cleanup)
        await support_desk.awake()  # a webhook's updates come from now on
        jobs.start()
        opened.pop_all()  # from here on, ShopRuntime.close() closes it all
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
        support_desk,
        change_feed,
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


def jobs_keep_up(jobs: BackgroundJobs) -> Callable[[], Awaitable[None]]:
    """``/readyz``'s check of the background jobs: each job that is not keeping up, and why."""

    async def check() -> None:
        if problems := jobs.problems():
            raise NotReady(problems)

    return check


def outbox_sender(notifier: BotNotifier, support_desk: SupportDesk | None = None) -> Sender:
    """Every message of the outbox, each kind delivered by its area's notifier (the support
    conversations' by ``support_desk``)."""
    senders = {
        **marketing_senders(notifier),
        **followup_senders(notifier, support_desk),
        **restock_senders(notifier),
        **miniapp_senders(notifier),
    }
    if support_desk is not None:
        senders = {**senders, **support_desk.senders()}
    return routed(senders, order_sender(notifier))


def check_port_free(host: str, port: int) -> None:
    """:class:`StartupError` if ``host:port`` cannot be listened on (busy, not this machine's
    address, a privileged port), found before anything else is contacted."""
    if port == 0:
        return
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
        for family, kind, proto, _name, address in infos:
            with socket.socket(family, kind, proto) as probe:
                # As asyncio's server does, so a port in TIME_WAIT counts as free.
                probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                probe.bind(address)
    except OSError as exc:
        raise StartupError(_port_problem(host, port, exc)) from None


def _port_problem(host: str, port: int, exc: OSError) -> Text:
    reason = os.strerror(exc.errno) if exc.errno else str(exc)
    return Text(  # the port as text: a number would get its digits grouped
        N_("cannot listen on {host}:{port} (WEB_HOST, WEB_PORT): {reason}"),
        {"host": host, "port": str(port), "reason": reason},
    )


async def reach_telegram(bot: Bot, where: str) -> User:
    """``getMe``, retried with a growing pause (one log line per failed attempt) while
    Telegram cannot be reached; :class:`StartupError` when it refuses the token."""
    pause = 1.0
    while True:
        try:
            return await bot.get_me()
        except TelegramUnauthorizedError:
            refused = N_("Telegram refused BOT_TOKEN: check it with @BotFather")
            raise StartupError(Text(refused)) from None
        except (TelegramNetworkError, TelegramServerError, TelegramRetryAfter) as exc:
            if isinstance(exc, TelegramRetryAfter):
                pause = max(pause, float(exc.retry_after))
            log.warning(
                "Telegram at %s is not reachable (%s); trying again in %.0f s",
                where,
                " ".join(str(exc).split()),
                pause,
            )
        await asyncio.sleep(pause)
        pause = min(pause * 2, TELEGRAM_RETRY_CAP)


def settle_heap() -> None:
    """Collect, then freeze what start-up left alive (modules, aiogram's models, the
    dispatcher) out of the garbage collector's sight. A full collection walks every tracked
    object: about 300,000 after start-up, 180–270 ms per full pass in the open-loop bench
    (4 passes in 24 s at 100 updates/s, each stalling every update in flight), 8–11 ms once
    frozen. For long-running processes only: what is frozen is never collected."""
    gc.collect()
    gc.freeze()


async def run_bot(settings: Settings) -> None:
    """Poll Telegram, or serve its webhook (``TELEGRAM_WEBHOOK_URL``), until Ctrl-C /
    SIGTERM; in-flight updates finish, then all closes."""
    runtime = await start_shop(settings)
    settle_heap()
    try:
        if settings.telegram_webhook_url:
            await set_webhook(runtime.bot, runtime.dispatcher, settings)
            log.info("receiving updates by webhook at %s", webhook_url(settings))
            await _until_stopped()
        else:
            await runtime.dispatcher.start_polling(
                runtime.bot, handle_signals=True, close_bot_session=False
            )
    finally:
        await runtime.close()


async def _until_stopped() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signal_number in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signal_number, stop.set)
    try:
        await stop.wait()
    finally:
        for signal_number in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signal_number)
