"""Webhook mode: Telegram posts each update to ``POST /telegram/webhook`` on the shop's web
server instead of the bot polling for it.

aiogram's own request handler checks the secret token (401 without the right
``X-Telegram-Bot-Api-Secret-Token``, nothing handled) and, with ``handle_in_background``
off, answers only once the update's handling finished: its changes are committed before
Telegram hears 2xx, a pre-checkout query is answered before its update is, and an update
whose replica died is sent again by Telegram. A redelivery of an update whose changes did
commit is recognised and acknowledged without acting again (:mod:`shopbot.services.updates`).
An update taking longer than aiogram's 55 s is acknowledged and finishes in the background.
"""

from __future__ import annotations

from aiogram import Bot, Dispatcher
from aiogram.webhook.aiohttp_server import SimpleRequestHandler
from aiohttp import web

from shopbot.config import Settings

WEBHOOK_PATH = "/telegram/webhook"


def webhook_url(settings: Settings) -> str:
    assert settings.telegram_webhook_url is not None
    return settings.telegram_webhook_url + WEBHOOK_PATH


def serve_webhook(
    app: web.Application, dispatcher: Dispatcher, bot: Bot, settings: Settings
) -> None:
    """Add the webhook route to the shop's web app (before it starts)."""
    assert settings.telegram_webhook_secret is not None
    SimpleRequestHandler(
        dispatcher,
        bot,
        handle_in_background=False,
        secret_token=settings.telegram_webhook_secret.get_secret_value(),
    ).register(app, path=WEBHOOK_PATH)


async def set_webhook(bot: Bot, dispatcher: Dispatcher, settings: Settings) -> None:
    """Point Telegram at this shop: the secret, the update kinds the handlers use, and how
    many requests may be open at once. Left in place on shutdown: other replicas serve on."""
    assert settings.telegram_webhook_secret is not None
    await bot.set_webhook(
        webhook_url(settings),
        secret_token=settings.telegram_webhook_secret.get_secret_value(),
        allowed_updates=dispatcher.resolve_used_update_types(),
        max_connections=settings.telegram_webhook_max_connections,
    )
