"""Building the aiogram Bot and Dispatcher for the shop."""

from __future__ import annotations

import logging

from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.exceptions import TelegramAPIError
from aiogram.fsm.storage.base import BaseEventIsolation, BaseStorage
from aiogram.fsm.storage.memory import SimpleEventIsolation
from aiogram.types import BotCommandScopeDefault, ErrorEvent
from aiogram.utils.i18n import gettext as _
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shopbot.bot.clock import ShopClockMiddleware
from shopbot.bot.commands import shopper_commands
from shopbot.bot.i18n import LANGUAGES, ShopI18nMiddleware, create_i18n
from shopbot.bot.middlewares import (
    DbSessionMiddleware,
    KeepResponseTypes,
    LateCallbackAnswerMiddleware,
    ObservedUpdateMiddleware,
    PlainTextMiddleware,
    RetryAfterMiddleware,
    ShopperMiddleware,
    TelegramMetricsMiddleware,
)
from shopbot.bot.once import (
    CommitBeforeSaying,
    OnceRedisStorage,
    ProcessLedger,
    UpdateOnceMiddleware,
)
from shopbot.bot.routers import build_root_router
from shopbot.bot.storage import DatabaseStorage
from shopbot.config import Settings
from shopbot.db import commit_hooks
from shopbot.errors import StartupError
from shopbot.i18n import Text
from shopbot.payments.base import PaymentProvider
from shopbot.search import SearchEngine
from shopbot.search.meaning import (
    FAQ,
    Embedder,
    MeaningIndex,
    MeaningUnavailable,
    create_embedder,
)
from shopbot.services.assistant import NO_OPENAI, ShopAssistant, create_assistant
from shopbot.services.catalogue import CatalogueCache
from shopbot.services.faq import MEANING_CLOSE
from shopbot.services.users import UserDirectory

log = logging.getLogger(__name__)


def create_bot(settings: Settings) -> Bot:
    assert settings.bot_token is not None
    api = (
        TelegramAPIServer.from_base(settings.telegram_api_url)
        if settings.telegram_api_url
        else None
    )
    session = AiohttpSession(api=api) if api else AiohttpSession()
    session.middleware(CommitBeforeSaying())  # outermost: once per call, not per retry
    session.middleware(KeepResponseTypes())
    session.middleware(LateCallbackAnswerMiddleware())
    session.middleware(RetryAfterMiddleware())
    session.middleware(TelegramMetricsMiddleware())  # inside the retries: counts each attempt
    return Bot(
        settings.bot_token.get_secret_value(),
        session=session,
        default=DefaultBotProperties(parse_mode=ParseMode.HTML, link_preview_is_disabled=True),
    )


def create_storage(
    session_factory: async_sessionmaker[AsyncSession], redis: Redis | None
) -> tuple[BaseStorage, BaseEventIsolation]:
    """FSM state in the shop's database, or in Redis (with cross-process isolation, and
    written when each update is done: :class:`shopbot.bot.once.OnceRedisStorage`)."""
    if redis is not None:
        from shopbot.bot.isolation import LeasedRedisIsolation

        return OnceRedisStorage(redis), LeasedRedisIsolation(redis)
    return DatabaseStorage(session_factory), SimpleEventIsolation()


def create_dispatcher(
    settings: Settings,
    session_factory: async_sessionmaker[AsyncSession],
    *,
    payment_provider: PaymentProvider,
    redis: Redis | None = None,
) -> Dispatcher:
    """The dispatcher; handlers get ``settings``, ``payment_provider``, ``catalogue_cache``
    and ``search_engine`` (by meaning too when the settings turn it on: ``embedder``, and
    ``faq_meaning`` for typed questions). FSM
    state lives in ``redis`` when given (closed with the storage), else in the database."""
    storage, isolation = create_storage(session_factory, redis)
    hooks = commit_hooks(session_factory)
    embedder = _embedder(settings)
    meaning = faq_meaning = None
    if embedder is not None:
        meaning = MeaningIndex(embedder, hooks, max_age=settings.catalogue_cache_seconds)
        faq_meaning = meaning.sibling(FAQ, floor=MEANING_CLOSE)
    dispatcher = Dispatcher(
        storage=storage,
        events_isolation=isolation,
        settings=settings,
        payment_provider=payment_provider,
        catalogue_cache=CatalogueCache(hooks, max_age=settings.catalogue_cache_seconds),
        search_engine=SearchEngine(
            hooks, max_age=settings.catalogue_cache_seconds, meaning=meaning
        ),
        assistant=None,
        embedder=embedder,
        faq_meaning=faq_meaning,
    )
    if embedder is not None:
        dispatcher.shutdown.register(embedder.close)
    if settings.llm_api_url:
        assistant = _assistant(settings)
        dispatcher["assistant"] = assistant
        dispatcher.shutdown.register(assistant.close)
    dispatcher.update.outer_middleware(ObservedUpdateMiddleware())
    dispatcher.update.outer_middleware(PlainTextMiddleware())
    dispatcher.update.outer_middleware(ShopClockMiddleware(settings.shop_timezone))
    dispatcher.update.outer_middleware(DbSessionMiddleware(session_factory))
    # The user row is kept current before the update is served once: that write is the same
    # whatever delivery makes it, so it is not the update's change (a redelivered /start of
    # a new shopper shows the product rather than replaying half of its answer).
    dispatcher.update.outer_middleware(ShopperMiddleware(UserDirectory(hooks), settings.admin_ids))
    ledger = storage if isinstance(storage, OnceRedisStorage) else ProcessLedger()
    dispatcher.update.outer_middleware(UpdateOnceMiddleware(ledger))
    ShopI18nMiddleware(create_i18n(settings.default_language)).setup(dispatcher)
    dispatcher.include_router(build_root_router())
    dispatcher.errors.register(apologise)
    return dispatcher


def _embedder(settings: Settings) -> Embedder | None:
    try:
        return create_embedder(settings)
    except MeaningUnavailable as exc:
        raise StartupError(exc.text) from None


def _assistant(settings: Settings) -> ShopAssistant:
    try:
        return create_assistant(
            str(settings.llm_api_url),
            settings.llm_api_key.get_secret_value() if settings.llm_api_key else None,
            settings.llm_model,
            timeout=settings.llm_timeout,
        )
    except ImportError:
        raise StartupError(Text(NO_OPENAI)) from None


async def apologise(event: ErrorEvent) -> bool:
    """Log the failure with its update id, tell the shopper, keep serving everyone else."""
    update = event.update
    log.error("update %s failed", update.update_id, exc_info=event.exception)
    text = _("Sorry, something went wrong on our side. Please try again.")
    try:
        if update.callback_query is not None:
            await update.callback_query.answer(text, show_alert=True)
        elif update.message is not None:
            await update.message.answer(text)
    except TelegramAPIError:
        log.warning("could not apologise for update %s", update.update_id)
    return True


async def register_commands(bot: Bot) -> None:
    """The command menu in Russian and English."""
    i18n = create_i18n()
    for language in LANGUAGES:
        with i18n.context(), i18n.use_locale(language):
            commands = shopper_commands()
        await bot.set_my_commands(
            commands,
            scope=BotCommandScopeDefault(),
            language_code=None if language == "ru" else language,
        )
