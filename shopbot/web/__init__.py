"""The aiohttp server inside the bot's process: health check and payment webhooks."""

from shopbot.web.app import create_web_app, start_web

__all__ = ["create_web_app", "start_web"]
