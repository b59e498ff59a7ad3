"""The chat page as Telegram's web view: the person opens a Mini App the bot offers (the menu
button, a ``web_app`` button) with init data the emulator signs, and pays its invoice links.

``GET /api/{who}/menu`` is the person's menu button; ``POST /api/{who}/webapp`` with
``{url, theme}`` answers the address to load in the web view (the page with ``tgWebAppData``
and the theme in its fragment), refused for a URL the bot did not offer; ``POST
/api/{who}/invoice`` with ``{slug}`` pays an invoice link as the person, answering
``{"status": "paid" | "failed"}`` as Telegram's ``invoice_closed`` does.
"""

from __future__ import annotations

import re

from aiohttp import web

from shopbot.emulators.telegram_webapp import INVOICE_LINK_PREFIX

from .texts import APP_GONE, INVOICE_GONE
from .web import EMULATOR_KEY, PEOPLE_KEY, _json_body, _refused

_THEME_KEY = re.compile(r"[a-z_]{1,32}")
_COLOUR = re.compile(r"#[0-9a-fA-F]{6}")


def add_webapp_routes(app: web.Application) -> None:
    app.router.add_get("/api/{who}/menu", _menu)
    app.router.add_post("/api/{who}/webapp", _open)
    app.router.add_post("/api/{who}/invoice", _pay_invoice)


async def _menu(request: web.Request) -> web.Response:
    person = request.app[PEOPLE_KEY].get(request.match_info["who"])
    return web.json_response(request.app[EMULATOR_KEY].web_apps.menu_button(person.chat_id))


async def _open(request: web.Request) -> web.Response:
    person = request.app[PEOPLE_KEY].get(request.match_info["who"])
    body = await _json_body(request)
    url, theme = body.get("url"), body.get("theme")
    if not isinstance(theme, dict) or not all(
        isinstance(key, str)
        and _THEME_KEY.fullmatch(key)
        and isinstance(value, str)
        and _COLOUR.fullmatch(value)
        for key, value in theme.items()
    ):
        theme = {}
    web_apps = request.app[EMULATOR_KEY].web_apps
    if not isinstance(url, str) or url not in web_apps.offered_urls(person):
        raise _refused(request, APP_GONE)
    return web.json_response({"url": web_apps.launch_url(person, url, theme)})


async def _pay_invoice(request: web.Request) -> web.Response:
    person = request.app[PEOPLE_KEY].get(request.match_info["who"])
    slug = (await _json_body(request)).get("slug")
    web_apps = request.app[EMULATOR_KEY].web_apps
    if not isinstance(slug, str) or slug not in web_apps.invoice_links:
        raise _refused(request, INVOICE_GONE)
    paid = await web_apps.pay_invoice_link(person, INVOICE_LINK_PREFIX + slug)
    return web.json_response({"status": "paid" if paid else "failed"})
