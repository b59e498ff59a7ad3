"""Mini Apps for the Telegram emulator: the chat menu button, ``web_app`` buttons, the
``initData`` Telegram signs when a person opens a Mini App, and invoice links.

- ``setChatMenuButton`` / ``getChatMenuButton``: a menu button of type ``commands``,
  ``default`` or ``web_app`` (text and an https URL), for one private chat or as the default.
- ``web_app`` inline buttons must carry an https URL (plain http only in Telegram's test
  environment, which the demo plays), and only private chats take them.
- :meth:`WebApps.open` is a person opening a Mini App the bot offered them (the menu button,
  or a ``web_app`` button in their chat): it returns ``initData`` signed as Telegram signs it
  (``hash`` = HMAC-SHA256 of the sorted fields, keyed by HMAC-SHA256("WebAppData", token)).
- ``createInvoiceLink`` checks the invoice as ``sendInvoice`` does and returns a
  ``https://t.me/$slug`` link; :meth:`WebApps.pay_invoice_link` pays it as the person
  (the bot gets the pre-checkout query, then the successful payment in the private chat).
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import secrets
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode, urlsplit

from shopbot.emulators.telegram_format import ApiFailure, ReplyMarkup, bad_request

if TYPE_CHECKING:
    from shopbot.emulators.telegram import EmulatedUser, TelegramEmulator

MENU_BUTTON_TYPES = frozenset({"commands", "default", "web_app"})
MENU_TEXT_MAX = 64
INVOICE_LINK_PREFIX = "https://t.me/$"
WEB_APP_VERSION = "8.0"
_DEFAULT_MENU: dict[str, Any] = {"type": "default"}


def sign_init_data(token: str, fields: dict[str, str]) -> str:
    """``fields`` as Telegram's ``initData`` query string, with the ``hash`` made with
    ``token`` (another bot's token gives init data this bot must refuse)."""
    check_string = "\n".join(f"{key}={value}" for key, value in sorted(fields.items()))
    secret = hmac.new(b"WebAppData", token.encode(), hashlib.sha256).digest()
    digest = hmac.new(secret, check_string.encode(), hashlib.sha256).hexdigest()
    return urlencode({**fields, "hash": digest}, quote_via=quote)


def init_data_fields(
    user: dict[str, Any], *, auth_date: int | None = None, chat_instance: str | None = None
) -> dict[str, str]:
    """The fields Telegram puts in the init data of a Mini App opened from a private chat."""
    return {
        "query_id": "AAH" + secrets.token_urlsafe(12),
        "user": json.dumps({**user, "allows_write_to_pm": True}, separators=(",", ":")),
        "chat_instance": chat_instance or str(secrets.randbelow(10**18)),
        "chat_type": "sender",
        "auth_date": str(int(time.time()) if auth_date is None else auth_date),
    }


class WebApps:
    """The emulator's Mini App state: menu buttons (``None`` key: the default) and the
    invoice links made, by slug."""

    def __init__(self, emulator: TelegramEmulator, *, test_environment: bool = False) -> None:
        self._emulator = emulator
        self.test_environment = test_environment
        self.menu_buttons: dict[int | None, dict[str, Any]] = {}
        self.invoice_links: dict[str, dict[str, Any]] = {}
        self._slugs = itertools.count(1)

    def methods(self) -> dict[str, Any]:
        return {
            "setChatMenuButton": self._set_chat_menu_button,
            "getChatMenuButton": self._get_chat_menu_button,
            "createInvoiceLink": self._create_invoice_link,
        }

    # ------------------------------------------------------------------ checks

    def url_allowed(self, url: Any) -> bool:
        if not isinstance(url, str):
            return False
        parts = urlsplit(url)
        schemes = {"https", "http"} if self.test_environment else {"https"}
        return parts.scheme.lower() in schemes and bool(parts.hostname)

    def check_buttons(self, markup: ReplyMarkup, chat_id: int | None) -> None:
        """Every ``web_app`` button of an inline keyboard opens an https page, in a private
        chat (a group's id is negative)."""
        if markup.kind != "inline":
            return
        for row in markup.data["inline_keyboard"]:
            for button in row:
                if "web_app" not in button:
                    continue
                if chat_id is not None and chat_id < 0:
                    raise bad_request("BUTTON_TYPE_INVALID")
                self._check_web_app(button["web_app"], "inline keyboard button Web App URL")

    def _check_web_app(self, info: Any, what: str) -> str:
        url = info.get("url") if isinstance(info, dict) else None
        if not self.url_allowed(url):
            raise bad_request(f"{what} '{url}' is invalid: Only HTTPS links are allowed")
        return url

    # ------------------------------------------------------------------ methods

    def _set_chat_menu_button(self, p: Any) -> bool:
        chat_id = self._private_chat(p)
        button = p.json("menu_button")
        if button is None:
            self.menu_buttons.pop(chat_id, None)
            return True
        if not isinstance(button, dict) or button.get("type") not in MENU_BUTTON_TYPES:
            raise bad_request("can't parse menu button JSON object")
        if button["type"] != "web_app":
            self.menu_buttons[chat_id] = {"type": button["type"]}
            return True
        text = button.get("text")
        if not isinstance(text, str) or not text.strip() or len(text) > MENU_TEXT_MAX:
            raise bad_request("BUTTON_TEXT_INVALID")
        url = self._check_web_app(button.get("web_app"), "menu button Web App URL")
        self.menu_buttons[chat_id] = {"type": "web_app", "text": text, "web_app": {"url": url}}
        return True

    def _get_chat_menu_button(self, p: Any) -> dict[str, Any]:
        chat_id = self._private_chat(p)
        return self.menu_button(chat_id)

    def menu_button(self, chat_id: int | None) -> dict[str, Any]:
        """The menu button a chat shows: its own, else the default."""
        return self.menu_buttons.get(chat_id) or self.menu_buttons.get(None) or _DEFAULT_MENU

    def _private_chat(self, p: Any) -> int | None:
        if not p.given("chat_id"):
            return None
        chat = self._emulator._chat(p)
        if chat.chat_id < 0:
            raise bad_request("chat not found")  # menu buttons are for private chats
        return int(chat.chat_id)

    def _create_invoice_link(self, p: Any) -> str:
        _invoice, details = self._emulator.checked_invoice(p)
        slug = f"emulated-invoice-{next(self._slugs)}"
        self.invoice_links[slug] = details
        return INVOICE_LINK_PREFIX + slug

    # ------------------------------------------------------------------ people

    def offered_urls(self, user: EmulatedUser) -> set[str]:
        """The Mini Apps the bot offers this person: the menu button's, the buttons'."""
        urls = set()
        menu = self.menu_button(user.chat_id)
        if menu.get("type") == "web_app":
            urls.add(menu["web_app"]["url"])
        for message in user.history.values():
            for row in (message.get("reply_markup") or {}).get("inline_keyboard", []):
                urls.update(button["web_app"]["url"] for button in row if "web_app" in button)
        return urls

    def open(self, user: EmulatedUser, url: str, *, auth_date: int | None = None) -> str:
        """``user`` opens the Mini App at ``url`` (one the bot offered them): its signed
        ``initData``. ``ValueError`` for a URL the bot did not offer."""
        if url not in self.offered_urls(user):
            raise ValueError(f"the bot offers no Mini App at {url}")
        fields = init_data_fields(user.as_user(), auth_date=auth_date)
        return sign_init_data(self._emulator.token, fields)

    def launch_url(self, user: EmulatedUser, url: str, theme: dict[str, str]) -> str:
        """The address a Telegram client loads in its web view: the page with
        ``tgWebAppData`` (the init data), version, platform and theme in the fragment."""
        fragment = urlencode(
            {
                "tgWebAppData": self.open(user, url),
                "tgWebAppVersion": WEB_APP_VERSION,
                "tgWebAppPlatform": "web",
                "tgWebAppThemeParams": json.dumps(theme, separators=(",", ":")),
            },
            quote_via=quote,
        )
        return f"{url}#{fragment}"

    async def pay_invoice_link(self, user: EmulatedUser, link: str) -> bool:
        """``user`` pays the invoice of ``link`` (``openInvoice`` in the Mini App): True
        once paid, False when the bot refused the checkout."""
        slug = link.removeprefix(INVOICE_LINK_PREFIX)
        details = self.invoice_links.get(slug) if link.startswith(INVOICE_LINK_PREFIX) else None
        if details is None:
            raise ApiFailure(400, "Bad Request: invoice not found")
        return await user.pay(details)
