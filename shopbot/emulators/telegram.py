"""A fake Telegram Bot API served over real HTTP, for the shop's tests and the browser demo.

Point a real aiogram ``Bot`` at it::

    api = TelegramAPIServer.from_base(emulator.base_url)
    bot = Bot(token, session=AiohttpSession(api=api))

Method URLs are ``{base}/bot{token}/{Method}`` (names case-insensitive, like Telegram's) and
file downloads ``{base}/file/bot{token}/{file_path}``. Requests are validated the way
Telegram validates them and answered with Telegram's JSON, error descriptions and HTTP
statuses, so the shop's error handling runs against realistic failures.

People are played by :class:`EmulatedUser`: each action becomes an update the bot fetches
with ``getUpdates`` long polling — or, once ``setWebhook`` was called, that the emulator
POSTs to the webhook (with the secret token header, up to ``max_connections`` at a time but
one per chat, in order, again until answered 2xx, while ``getUpdates`` gets 409) — and by
default waits until the bot has handled it (see :meth:`TelegramEmulator.wait_handled`), so
a test can read the bot's answer right after.
A private chat's id is the user's id. Groups and supergroups (:class:`EmulatedGroup`, a
negative id) have the bot as a member until it is removed; users write and press buttons
there, and with privacy mode on (Telegram's default for bots) the bot gets only commands.
With ``inline_mode`` on (BotFather's /setinline) users type ``@bot words`` in any chat
(:meth:`EmulatedUser.inline_query`), the bot answers with ``answerInlineQuery`` and the user
may send one of the results (:meth:`EmulatedUser.choose_result`), which the bot hears of as
``chosen_inline_result`` when ``inline_feedback`` is on (BotFather's /setinlinefeedback).
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import itertools
import json
import mimetypes
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

from shopbot import jsonsafe
from shopbot.emulators.telegram_files import DOCUMENT_MAX_BYTES, DOWNLOAD_MAX_BYTES, FileStore
from shopbot.emulators.telegram_format import (
    CAPTION_MAX,
    TEXT_MAX,
    ApiFailure,
    FormattedText,
    ReplyMarkup,
    bad_request,
    format_text,
    parse_reply_markup,
    utf16_len,
)
from shopbot.emulators.telegram_inline import (
    INLINE_QUERY_MAX,
    InlineAnswer,
    chosen_content,
    next_offset,
    parse_button,
    parse_results,
)
from shopbot.emulators.telegram_limits import FloodControl
from shopbot.emulators.telegram_webapp import WebApps

CALLBACK_ANSWER_MAX = 200
# How long the bot must stay silent before wait_handled() trusts it is done.
QUIET_PERIOD = 0.05
NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly "
    "the same as a current content and reply markup of the message"
)
WEBHOOK_ACTIVE = (
    "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to "
    "delete the webhook first"
)
_SECRET_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,256}")
WEBHOOK_TIMEOUT = 60.0  # seconds Telegram waits for a webhook's answer
WEBHOOK_RETRY_PAUSE = 0.2  # seconds before a failed delivery is tried again (Telegram: longer)
REDELIVERABLE = 1000  # updates kept for redeliver()
QUERY_TOO_OLD = "query is too old and response timeout expired or query ID is invalid"
CONFLICT = (
    "Conflict: terminated by other getUpdates request; make sure that only one bot instance "
    "is running"
)
CHAT_ACTIONS = frozenset(
    {
        "typing", "upload_photo", "record_video", "upload_video", "record_voice",
        "upload_voice", "upload_document", "choose_sticker", "find_location",
        "record_video_note", "upload_video_note",
    }
)  # fmt: skip
COMMAND_SCOPES = frozenset(
    {
        "default", "all_private_chats", "all_group_chats", "all_chat_administrators", "chat",
        "chat_administrators", "chat_member",
    }
)  # fmt: skip
_DEFAULT_DESCRIPTIONS = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden: bot was blocked by the user",
    404: "Not Found",
    409: "Conflict",
    500: "Internal Server Error",
    502: "Bad Gateway",
}
_COMMAND = re.compile(r"[a-z0-9_]{1,32}")
_LANGUAGE = re.compile(r"[a-z]{2}")
_CURRENCY = re.compile(r"[A-Z]{3}")
_LEADING_COMMAND = re.compile(r"/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{3,32})?")
# Message fields a copy keeps (reply markup, replies and service content are not copied).
_COPIED_FIELDS = (
    "text", "entities", "photo", "document", "caption", "caption_entities", "contact",
    "voice", "video", "audio", "animation", "video_note", "sticker", "location", "venue",
)  # fmt: skip
_MEDIA_FIELDS = ("photo", "document", "voice", "video", "audio", "animation")
_CHAT_KEYS = frozenset({"first_name", "last_name", "username"})
# Not part of what Telegram compares when it decides whether an edit changes anything.
_UNCOMPARED_FIELDS = frozenset({"date", "edit_date", "html_text"})


@dataclass
class Webhook:
    """What ``setWebhook`` set, and its last failed delivery (as ``getWebhookInfo`` says)."""

    url: str
    secret_token: str | None
    max_connections: int
    last_error_date: int | None = None
    last_error_message: str | None = None


@dataclass(frozen=True)
class WebhookDelivery:
    """One POST of an update to the webhook: the HTTP status (``None``: no answer) and how
    long the answer took."""

    update_id: int
    status: int | None
    seconds: float


@dataclass(frozen=True)
class ApiCall:
    """One request the bot made, its values as received.

    Form values are strings, nested objects JSON strings; a JSON body gives native values.
    Uploaded files are listed in ``files`` and referenced from ``params`` as
    ``attach://<field>``.
    """

    method: str
    params: dict[str, Any]
    files: dict[str, str] = field(default_factory=dict)  # multipart field -> file name
    content_type: str = ""  # of the request body; empty when it had none


@dataclass(frozen=True)
class ApiError:
    """One request answered with ``ok: false``; ``injected`` when made by ``fail_next``."""

    method: str
    error_code: int
    description: str
    params: dict[str, Any]
    injected: bool = False


@dataclass(frozen=True)
class CallbackAnswer:
    """What the bot answered to a button press (``answerCallbackQuery``)."""

    text: str | None
    show_alert: bool
    url: str | None
    cache_time: int


@dataclass(frozen=True)
class _Upload:
    filename: str
    content: bytes
    content_type: str


class _InjectedFailure(ApiFailure):
    """A failure scheduled by ``fail_next`` rather than caused by the request."""


@dataclass
class _Injection:
    failure: _InjectedFailure
    remaining: int


@dataclass
class _Poll:
    terminated: bool = False


class _Params:
    """Request values read the Bot API way: strings from forms, native values from JSON."""

    def __init__(self, values: dict[str, Any], uploads: dict[str, _Upload]) -> None:
        self.values = values
        self.uploads = uploads

    def given(self, name: str) -> bool:
        return self.values.get(name) not in (None, "")

    def text(self, name: str) -> str | None:
        value = self.values.get(name)
        if value is None or isinstance(value, str):
            return value
        return json.dumps(value)

    def integer(self, name: str) -> int | None:
        """``None`` when absent; like Telegram, a malformed number reads as 0."""
        value = self.values.get(name)
        if value is None or value == "":
            return None
        if isinstance(value, int):
            return int(value)
        try:
            return int(str(value))
        except ValueError:
            return 0

    def flag(self, name: str) -> bool:
        value = self.values.get(name)
        return value is True or (isinstance(value, str) and value.lower() in ("true", "1"))

    def json(self, name: str) -> Any:
        value = self.values.get(name)
        if not isinstance(value, str):
            return value
        try:
            return jsonsafe.loads(value)
        except ValueError:
            raise bad_request(f"can't parse {name} JSON object") from None

    def file(self, name: str) -> _Upload | str | None:
        """A file sent as a multipart field of that name, ``attach://<field>`` or a file_id."""
        if name in self.uploads:
            return self.uploads[name]
        return self.resolve(self.values.get(name))

    def resolve(self, value: Any) -> _Upload | str | None:
        if not isinstance(value, str) or not value:
            return None
        if value.startswith("attach://"):
            upload = self.uploads.get(value.removeprefix("attach://"))
            if upload is None:
                raise bad_request("wrong file identifier/HTTP URL specified")
            return upload
        return value


async def _read_request(
    request: web.Request,
) -> tuple[dict[str, Any], dict[str, _Upload], ApiFailure | None]:
    """Query, form, multipart or JSON values; a body that can't be read yields a failure."""
    values: dict[str, Any] = dict(request.query)
    uploads: dict[str, _Upload] = {}
    if not request.body_exists:
        return values, uploads, None
    try:
        if request.content_type == "application/json":
            body = await request.json(loads=jsonsafe.loads)
            if not isinstance(body, dict):
                return values, uploads, bad_request("can't parse request JSON object")
            values.update(body)
            return values, uploads, None
        form = await request.post()
    except web.HTTPRequestEntityTooLarge:
        return values, uploads, ApiFailure(413, "Request Entity Too Large")
    except ValueError:
        return values, uploads, bad_request("can't parse request JSON object")
    for key, value in form.items():
        if isinstance(value, web.FileField):
            uploads[key] = _Upload(value.filename, value.file.read(), value.content_type)
        else:
            values[key] = value
    return values, uploads, None


def _public(message: dict[str, Any]) -> dict[str, Any]:
    """A stored message as the Bot API shows it (without the emulator's ``html_text``)."""
    return {key: copy.deepcopy(value) for key, value in message.items() if key != "html_text"}


def _text_fields(text: FormattedText) -> dict[str, Any]:
    fields: dict[str, Any] = {"text": text.text, "html_text": text.html}
    if text.entities:
        fields["entities"] = text.entities
    return fields


def copied_content(original: dict[str, Any]) -> dict[str, Any]:
    """What a copy of ``original`` shows (empty: a message that cannot be copied, such as a
    service message); no buttons, no reply, no album (``copyMessages`` keeps those)."""
    content = {name: original[name] for name in _COPIED_FIELDS if name in original}
    if content and "html_text" in original:
        content["html_text"] = original["html_text"]
    return content


def _caption_fields(caption: FormattedText) -> dict[str, Any]:
    if not caption.text:
        return {}
    fields: dict[str, Any] = {"caption": caption.text, "html_text": caption.html}
    if caption.entities:
        fields["caption_entities"] = caption.entities
    return fields


def _webhook_queue(update: dict[str, Any]) -> int:
    """The queue an update waits in for webhook delivery: its chat's (a button's message's
    chat for a press), or its sender's for one without a chat (a private chat's id is its
    user's, so both are one queue). Telegram's Bot API server sends one update of a queue at
    a time (its WebhookActor): a person's next message is not sent while the one before it
    goes unanswered (a replica died with it), so it cannot overtake that one's redelivery.
    That Telegram queues a press with its chat's messages is this emulator's assumption."""
    for payload in update.values():
        if not isinstance(payload, dict):
            continue
        chat = payload.get("chat") or (payload.get("message") or {}).get("chat")
        if chat:
            return int(chat["id"])
        if payload.get("from"):
            return int(payload["from"]["id"])
    return -int(update["update_id"]) - 2**53  # a queue of its own


def _compared(message: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in message.items() if key not in _UNCOMPARED_FIELDS}


class TelegramEmulator:
    """An in-process Bot API for one bot: state in plain dicts, an aiohttp app serving it.

    Inspect what the bot did through ``calls`` (every request, ``getUpdates`` included),
    ``errors`` (every ``ok: false`` answer, injected ones flagged; failed downloads appear as
    method ``"file"``), ``upload_count``, ``commands`` (keyed by scope type — ``"chat:<id>"``
    for chat scopes — and language), ``callback_answers`` (by query id) and the chats of
    :meth:`user`. ``base_url`` is set by :meth:`start`; ``app`` may be served elsewhere.
    Mini Apps (menu button, ``web_app`` buttons, signed ``initData``, invoice links) are
    ``web_apps`` (:mod:`shopbot.emulators.telegram_webapp`); ``test_environment`` plays
    Telegram's test server, where a Mini App may be served over plain http.
    """

    def __init__(
        self,
        token: str,
        *,
        bot_id: int = 7000000001,
        bot_username: str = "shopbot_test_bot",
        bot_first_name: str = "Shop",
        inline_mode: bool = False,
        inline_feedback: bool = False,
        test_environment: bool = False,
    ) -> None:
        self.token = token
        self.inline_mode = inline_mode
        self.inline_feedback = inline_feedback
        self.bot_user: dict[str, Any] = {
            "id": bot_id,
            "is_bot": True,
            "first_name": bot_first_name,
            "username": bot_username,
        }
        self.base_url = ""
        self.calls: list[ApiCall] = []
        self.errors: list[ApiError] = []
        self.upload_count = 0
        self.commands: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self.callback_answers: dict[str, CallbackAnswer] = {}
        self.inline_answers: dict[str, InlineAnswer] = {}
        self._open_inline_queries: dict[str, str] = {}  # query id -> the query typed
        self._files = FileStore()
        self._users: dict[int, EmulatedUser] = {}
        self._chats: dict[int, EmulatedChat] = {}  # private chats and groups, by chat id
        self._updates: list[dict[str, Any]] = []
        # Telegram's update ids "start from a certain positive number": each emulator its own,
        # so the records of updates handled (kept in a shared Redis) never meet another's.
        self._update_ids = itertools.count(secrets.randbelow(2**30) + 1)
        self._query_ids = itertools.count(1)
        self._allowed_updates: frozenset[str] | None = None
        self._recent_updates: dict[int, dict[str, Any]] = {}  # for redeliver()
        self.webhook: Webhook | None = None
        self.webhook_deliveries: list[WebhookDelivery] = []
        self._webhook_task: asyncio.Task[None] | None = None
        self._open_callbacks: dict[str, tuple[int, int]] = {}  # query id -> chat, message
        self._open_checkouts: set[str] = set()
        self._checkout_answers: dict[str, bool] = {}
        self._invoices: dict[tuple[int, int], dict[str, Any]] = {}  # chat, message -> details
        self._injections: dict[str, list[_Injection]] = {}
        self._delays: dict[str, list[float]] = {}
        self.limits = FloodControl()  # Telegram's flood control, off until enforced
        self._subscribers: list[asyncio.Queue[dict[str, Any]]] = []
        self._in_flight = 0
        self._last_activity = 0.0
        self._changed = asyncio.Event()
        self._poll: _Poll | None = None
        self._closing = False
        self._runner: web.AppRunner | None = None
        self._methods: dict[str, Callable[[_Params], Any]] = {
            "getMe": self._get_me,
            "setWebhook": self._set_webhook,
            "deleteWebhook": self._delete_webhook,
            "getWebhookInfo": self._get_webhook_info,
            "setMyCommands": self._set_my_commands,
            "getMyCommands": self._get_my_commands,
            "deleteMyCommands": self._delete_my_commands,
            "sendMessage": self._send_message,
            "sendPhoto": self._send_photo,
            "sendDocument": self._send_document,
            "editMessageText": self._edit_message_text,
            "editMessageCaption": self._edit_message_caption,
            "editMessageMedia": self._edit_message_media,
            "editMessageReplyMarkup": self._edit_message_reply_markup,
            "deleteMessage": self._delete_message,
            "answerCallbackQuery": self._answer_callback_query,
            "getFile": self._get_file,
            "sendChatAction": self._send_chat_action,
            "copyMessage": self._copy_message,
            "sendInvoice": self._send_invoice,
            "answerPreCheckoutQuery": self._answer_pre_checkout_query,
            "answerInlineQuery": self._answer_inline_query,
        }
        # Forums and topics live in a module of their own, built on this one.
        from shopbot.emulators.telegram_forum import forum_methods

        self._methods.update(forum_methods(self))
        self.web_apps = WebApps(self, test_environment=test_environment)
        self._methods.update(self.web_apps.methods())
        self._method_names = {name.lower(): name for name in [*self._methods, "getUpdates"]}
        self.app = web.Application(client_max_size=DOCUMENT_MAX_BYTES + 1024 * 1024)
        self.app.router.add_route("*", "/bot{token}/{method}", self._handle_method)
        self.app.router.add_get("/file/bot{token}/{path:.+}", self._handle_download)
        self.app.on_shutdown.append(self._on_shutdown)

    # ----------------------------------------------------------------- serving

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        """Serve the app on its own runner; port 0 picks a free port (see ``base_url``)."""
        self._closing = False
        self._runner = web.AppRunner(
            self.app, access_log=None, handler_cancellation=True, shutdown_timeout=1.0
        )
        await self._runner.setup()
        await web.TCPSite(self._runner, host, port).start()
        self.base_url = f"http://{host}:{self._runner.addresses[0][1]}"

    async def stop(self) -> None:
        """End pending long polls (answered ``[]``), stop webhook deliveries and serving."""
        self._closing = True
        self._notify()
        await self._stop_webhook_delivery()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _on_shutdown(self, _app: web.Application) -> None:
        self._closing = True
        self._notify()

    # -------------------------------------------------------------- test API

    def user(
        self,
        user_id: int,
        first_name: str = "Иван",
        *,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str = "ru",
    ) -> EmulatedUser:
        """The user with this id (created on first use; later calls return the same one)."""
        if user_id not in self._users:
            if user_id <= 0:
                raise ValueError("user ids are positive (negative chat ids are groups)")
            self._users[user_id] = self._chats[user_id] = EmulatedUser(
                self, user_id, first_name, last_name, username, language_code
            )
        return self._users[user_id]

    def group(
        self, chat_id: int, title: str = "Group", *, supergroup: bool = True
    ) -> EmulatedGroup:
        """The group with this (negative) id, the bot a member of it (created on first use;
        later calls return the same one)."""
        if chat_id not in self._chats:
            if chat_id >= 0:
                raise ValueError("group chat ids are negative")
            self._chats[chat_id] = EmulatedGroup(self, chat_id, title, supergroup=supergroup)
        group = self._chats[chat_id]
        if not isinstance(group, EmulatedGroup):
            raise AssertionError(f"chat {chat_id} is not a group")
        return group

    def count(self, method: str) -> int:
        return sum(1 for call in self.calls if call.method == method)

    def fail_next(
        self,
        method: str,
        *,
        error_code: int = 429,
        description: str | None = None,
        retry_after: int | None = 1,
        times: int = 1,
    ) -> None:
        """Answer the next ``times`` calls of ``method`` with this error instead of running it.

        The description defaults to Telegram's for the code ("Too Many Requests: retry
        after N" for 429); ``retry_after`` is only sent with 429, as Telegram does.
        """
        name = self._method_names.get(method.lower())
        if name is None:
            raise ValueError(f"the emulator has no Bot API method {method!r}")
        if description is None:
            description = (
                f"Too Many Requests: retry after {retry_after}"
                if error_code == 429
                else _DEFAULT_DESCRIPTIONS.get(error_code, "Error")
            )
        failure = _InjectedFailure(
            error_code, description, retry_after=retry_after if error_code == 429 else None
        )
        self._injections.setdefault(name, []).append(_Injection(failure, times))

    def delay_next(self, method: str, seconds: float) -> None:
        """Make the next call of ``method`` take ``seconds`` before it runs (a slow Telegram;
        a bot caught in the middle of an update)."""
        name = self._method_names.get(method.lower())
        if name is None:
            raise ValueError(f"the emulator has no Bot API method {method!r}")
        self._delays.setdefault(name, []).append(seconds)

    @property
    def last_update_id(self) -> int:
        """The id of the newest update people made."""
        return max(self._recent_updates)

    async def wait_handled(self, timeout: float = 10.0) -> None:  # noqa: ASYNC109 (public API)
        """Wait until the bot acknowledged every update and then stayed quiet a moment.

        An update counts as handled once a ``getUpdates`` call confirms it with a higher
        offset — with ``handle_as_tasks=False`` that happens after its handler returned. The
        bot must then make no API call for ``QUIET_PERIOD`` so work it left to background
        tasks lands too.
        """
        deadline = time.monotonic() + timeout
        while True:
            now = time.monotonic()
            quiet_left = self._last_activity + QUIET_PERIOD - now
            if not self._updates and not self._in_flight and quiet_left <= 0:
                return
            if now >= deadline:
                pending = [update["update_id"] for update in self._updates]
                raise AssertionError(
                    f"the bot did not finish within {timeout} s: pending update ids {pending}, "
                    f"{self._in_flight} API call(s) in progress (is the dispatcher polling?)"
                )
            busy = self._updates or self._in_flight
            await self._wait_change(deadline - now if busy else min(quiet_left, deadline - now))

    def subscribe(self) -> asyncio.Queue[dict[str, Any]]:
        """A queue of live events for a UI.

        ``{"type": "message" | "edit" | "delete", "chat_id", "message"}`` (user and bot
        messages, ``html_text`` included) and ``{"type": "callback_answer", "chat_id",
        "message", "answer"}``.
        """
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._subscribers.append(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue[dict[str, Any]]) -> None:
        with contextlib.suppress(ValueError):
            self._subscribers.remove(queue)

    def add_file(self, content: bytes, filename: str, mime_type: str) -> dict[str, Any]:
        """Store a file as if a user uploaded it; returns its ``Document``."""
        return self._files.add_document(content, filename, mime_type)

    # ------------------------------------------------------------- internals

    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    async def _wait_change(self, seconds: float) -> None:
        """Sleep until the state changes (an update, a call, an acknowledgement) or ``seconds``."""
        event = self._changed
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), seconds)

    def _touch(self) -> None:
        self._last_activity = time.monotonic()
        self._notify()

    def _emit(self, event: dict[str, Any]) -> None:
        for queue in self._subscribers:
            queue.put_nowait(copy.deepcopy(event))

    def _publish(self, kind: str, chat_id: int, message: dict[str, Any]) -> None:
        self._emit({"type": kind, "chat_id": chat_id, "message": message})

    def _new_query_id(self) -> str:
        return f"{self.bot_user['id']}{next(self._query_ids):08d}"

    def _enqueue(
        self, chat: EmulatedChat, kind: str, payload: dict[str, Any], *, starts: bool = True
    ) -> bool:
        """Queue an update unless the bot's ``allowed_updates`` excludes it (then dropped).

        ``starts``: the update opens the private chat (inline queries do not: a user who
        only used the bot inline still cannot be written to).
        """
        if starts and isinstance(chat, EmulatedUser):
            chat.started = True
            chat.blocked = False
        if self._allowed_updates is not None and kind not in self._allowed_updates:
            return False
        update = {"update_id": next(self._update_ids), kind: payload}
        self._updates.append(update)
        self._recent_updates[update["update_id"]] = copy.deepcopy(update)
        if len(self._recent_updates) > REDELIVERABLE:
            del self._recent_updates[next(iter(self._recent_updates))]
        self._notify()
        return True

    async def _deliver(
        self,
        chat: EmulatedChat,
        kind: str,
        payload: dict[str, Any],
        wait: bool,
        *,
        starts: bool = True,
    ) -> None:
        if self._enqueue(chat, kind, payload, starts=starts) and wait:
            await self.wait_handled()

    def _acknowledge(self, offset: int) -> None:
        before = len(self._updates)
        if offset < 0:
            self._updates = self._updates[offset:]
        elif offset > 0:
            self._updates = [update for update in self._updates if update["update_id"] >= offset]
        if len(self._updates) != before:
            self._touch()

    def _user_message(
        self, chat: EmulatedChat, sender: EmulatedUser, content: dict[str, Any]
    ) -> dict[str, Any]:
        message = {
            "message_id": next(chat._message_ids),
            "from": sender.as_user(),
            "chat": chat.as_chat(),
            "date": int(time.time()),
            **content,
        }
        chat.history[message["message_id"]] = message
        self._publish("message", chat.chat_id, message)
        return _public(message)

    def _bot_message(
        self,
        user: EmulatedChat,
        content: dict[str, Any],
        markup: ReplyMarkup | None,
        reply_to: dict[str, Any] | None,
        p: _Params,
    ) -> dict[str, Any]:
        thread = user.thread_fields(p)
        message: dict[str, Any] = {
            "message_id": next(user._message_ids),
            "from": dict(self.bot_user),
            "chat": user.as_chat(),
            "date": int(time.time()),
            **thread,
        }
        if reply_to is not None:
            message["reply_to_message"] = {
                key: value for key, value in _public(reply_to).items() if key != "reply_to_message"
            }
        message.update(copy.deepcopy(content))
        if p.flag("protect_content"):
            message["has_protected_content"] = True
        if markup is not None and markup.kind == "inline":
            message["reply_markup"] = markup.data
        elif markup is not None and markup.kind == "keyboard":
            user.reply_keyboard = markup.data
        elif markup is not None and markup.kind == "remove":
            user.reply_keyboard = None
        user.history[message["message_id"]] = message
        self._publish("message", user.chat_id, message)
        return _public(message)

    # ------------------------------------------------------------------ HTTP

    async def _handle_method(self, request: web.Request) -> web.Response:
        requested = request.match_info["method"]
        method = self._method_names.get(requested.lower(), requested)
        polling = method == "getUpdates"
        if not polling:
            self._in_flight += 1
            self._touch()
        try:
            values, uploads, unreadable = await _read_request(request)
            files = {name: upload.filename for name, upload in uploads.items()}
            content_type = request.content_type if request.body_exists else ""
            self.calls.append(ApiCall(method, values, files, content_type))
            try:
                if unreadable is not None:
                    raise unreadable
                result = await self._call(request, method, _Params(values, uploads))
            except ApiFailure as failure:
                injected = isinstance(failure, _InjectedFailure)
                self.errors.append(
                    ApiError(method, failure.status, failure.description, values, injected)
                )
                return web.json_response(failure.body(), status=failure.status)
            return web.json_response({"ok": True, "result": result})
        finally:
            if not polling:
                self._in_flight -= 1
                self._touch()

    async def _call(self, request: web.Request, method: str, p: _Params) -> Any:
        if request.match_info["token"] != self.token:
            raise ApiFailure(401, "Unauthorized")
        if method.lower() not in self._method_names:
            raise ApiFailure(404, "Not Found: method not found")
        delays = self._delays.get(method)
        if delays:
            await asyncio.sleep(delays.pop(0))
        injections = self._injections.get(method)
        if injections:
            injection = injections[0]
            injection.remaining -= 1
            if injection.remaining <= 0:
                injections.pop(0)
            raise injection.failure
        self.limits.check(method, p.values)
        if method == "getUpdates":
            return await self._get_updates(p, request)
        return self._methods[method](p)

    async def _handle_download(self, request: web.Request) -> web.Response:
        self._in_flight += 1
        self._touch()
        try:
            path = request.match_info["path"]
            stored = self._files.by_path(path)
            if request.match_info["token"] != self.token or stored is None:
                self.errors.append(ApiError("file", 404, "Not Found", {"file_path": path}))
                body = {"ok": False, "error_code": 404, "description": "Not Found"}
                return web.json_response(body, status=404)
            return web.Response(body=stored.content, content_type="application/octet-stream")
        finally:
            self._in_flight -= 1
            self._touch()

    # --------------------------------------------------------------- updates

    async def _get_updates(self, p: _Params, request: web.Request) -> list[dict[str, Any]]:
        if self.webhook is not None:
            raise ApiFailure(409, WEBHOOK_ACTIVE)
        offset = p.integer("offset") or 0
        limit = min(max(p.integer("limit") or 100, 1), 100)
        timeout = max(p.integer("timeout") or 0, 0)
        allowed = p.json("allowed_updates")
        if allowed is not None:
            if not isinstance(allowed, list):
                raise bad_request("can't parse allowed_updates JSON object")
            self._allowed_updates = frozenset(allowed) or None
        self._acknowledge(offset)
        if self._poll is not None:
            self._poll.terminated = True
        poll = self._poll = _Poll()
        self._notify()
        deadline = time.monotonic() + timeout
        try:
            while True:
                if poll.terminated:
                    if request.transport is None or request.transport.is_closing():
                        return []  # the client is gone; nobody to tell
                    raise ApiFailure(409, CONFLICT)
                left = deadline - time.monotonic()
                if self._updates or self._closing or left <= 0:
                    return copy.deepcopy(self._updates[:limit])
                await self._wait_change(left)
        finally:
            if self._poll is poll:
                self._poll = None

    # ------------------------------------------------------- request helpers

    def _chat(self, p: _Params, name: str = "chat_id") -> EmulatedChat:
        """The chat ``name`` refers to: private chats that never wrote to the bot are
        unknown, groups the bot is not in refuse it."""
        if not p.given(name):
            raise bad_request(f"{name} is empty")
        chat = self._chats.get(p.integer(name) or 0)
        if chat is None or (isinstance(chat, EmulatedUser) and not chat.started):
            raise bad_request("chat not found")
        if isinstance(chat, EmulatedGroup) and not chat.bot_is_member:
            kind = "supergroup" if chat.supergroup else "group"
            raise ApiFailure(403, f"Forbidden: bot is not a member of the {kind} chat")
        return chat

    def _recipient(self, p: _Params) -> EmulatedChat:
        chat = self._chat(p)
        if isinstance(chat, EmulatedUser) and chat.blocked:
            raise ApiFailure(403, "Forbidden: bot was blocked by the user")
        return chat

    def _message(self, user: EmulatedChat, p: _Params, not_found: str) -> dict[str, Any]:
        message_id = p.integer("message_id")
        if message_id is None:
            raise bad_request("message identifier is not specified")
        message = user.history.get(message_id)
        if message is None:
            raise bad_request(not_found)
        return message

    def _editable(self, p: _Params) -> tuple[EmulatedChat, dict[str, Any]]:
        if p.given("inline_message_id") and not p.given("chat_id"):
            raise bad_request("MESSAGE_ID_INVALID")  # inline messages are not kept for edits
        user = self._chat(p)
        message = self._message(user, p, "message to edit not found")
        if message["from"]["id"] != self.bot_user["id"]:
            raise bad_request("message can't be edited")
        return user, message

    def _reply_target(self, user: EmulatedChat, p: _Params) -> dict[str, Any] | None:
        parameters = p.json("reply_parameters")
        if parameters is None:
            message_id = p.integer("reply_to_message_id")
            allow_missing = p.flag("allow_sending_without_reply")
        elif isinstance(parameters, dict):
            message_id = parameters.get("message_id")
            allow_missing = bool(parameters.get("allow_sending_without_reply"))
        else:
            raise bad_request("can't parse reply parameters JSON object")
        if not message_id:
            return None
        target = user.history.get(message_id) if isinstance(message_id, int) else None
        if target is None and not allow_missing:
            raise bad_request("message to be replied not found")
        return target

    def _markup(self, p: _Params, *, inline_only: bool = False) -> ReplyMarkup | None:
        value = p.values.get("reply_markup")
        if value is None:
            return None
        markup = parse_reply_markup(value)
        if inline_only and markup is not None and markup.kind != "inline":
            raise bad_request("inline keyboard expected")
        if markup is not None:
            self.web_apps.check_buttons(markup, p.integer("chat_id"))
        return markup

    def _text(self, p: _Params) -> FormattedText:
        text = format_text(p.text("text") or "", p.text("parse_mode"), p.json("entities"))
        if not text.text:
            raise bad_request("message text is empty")
        if len(text.text) > TEXT_MAX:
            raise bad_request("message is too long")
        return text

    def _caption(self, raw: Any, parse_mode: Any, entities: Any) -> FormattedText:
        caption = format_text(
            raw if isinstance(raw, str) else "",
            parse_mode if isinstance(parse_mode, str) else None,
            entities,
        )
        if len(caption.text) > CAPTION_MAX:
            raise bad_request("message caption is too long")
        return caption

    def _photo(self, source: _Upload | str | None) -> list[dict[str, Any]]:
        if source is None:
            raise bad_request("there is no photo in the request")
        if isinstance(source, _Upload):
            sizes = self._files.add_photo(source.content)
            self.upload_count += 1
            return sizes
        sizes = self._files.photo(source)
        if sizes is None:
            known = self._files.get(source) is not None
            raise bad_request(
                "type of file mismatch" if known else "wrong file identifier/HTTP URL specified"
            )
        return sizes

    def _document(self, source: _Upload | str | None) -> dict[str, Any]:
        if source is None:
            raise bad_request("there is no document in the request")
        if isinstance(source, _Upload):
            mime_type = mimetypes.guess_type(source.filename)[0] or source.content_type
            document = self._files.add_document(source.content, source.filename, mime_type)
            self.upload_count += 1
            return document
        document = self._files.document(source)
        if document is None:
            known = self._files.get(source) is not None
            raise bad_request(
                "type of file mismatch" if known else "wrong file identifier/HTTP URL specified"
            )
        return document

    def _apply_edit(
        self,
        user: EmulatedChat,
        message: dict[str, Any],
        fields: dict[str, Any],
        replaced: tuple[str, ...],
        markup: ReplyMarkup | None,
    ) -> dict[str, Any]:
        """Replace ``replaced`` by ``fields`` and the inline keyboard by ``markup`` (or none)."""
        dropped = {*replaced, "reply_markup"}
        edited = {key: value for key, value in message.items() if key not in dropped}
        edited.update(fields)
        if markup is not None:
            edited["reply_markup"] = markup.data
        if _compared(edited) == _compared(message):
            raise bad_request(NOT_MODIFIED)
        edited["edit_date"] = int(time.time())
        user.history[message["message_id"]] = edited
        self._publish("edit", user.chat_id, edited)
        return _public(edited)

    # --------------------------------------------------------------- methods

    def _get_me(self, _p: _Params) -> dict[str, Any]:
        return {
            **self.bot_user,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": self.inline_mode,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    def _set_webhook(self, p: _Params) -> bool:
        url = p.text("url") or ""
        if not url:  # Telegram: an empty URL removes the webhook
            return self._delete_webhook(p)
        if not re.fullmatch(r"https?://[^/\s]+(/\S*)?", url):
            raise bad_request("bad webhook: Failed to resolve host: Name or service not known")
        secret = p.text("secret_token")
        if secret is not None and not _SECRET_TOKEN.fullmatch(secret):
            raise bad_request("bad webhook: secret token contains unallowed characters")
        max_connections = p.integer("max_connections") or 40
        if not 1 <= max_connections <= 100:
            raise bad_request("bad webhook: max_connections must be between 1 and 100")
        allowed = p.json("allowed_updates")
        if allowed is not None:
            if not isinstance(allowed, list):
                raise bad_request("can't parse allowed_updates JSON object")
            self._allowed_updates = frozenset(allowed) or None
        if p.flag("drop_pending_updates"):
            self._updates.clear()
        if self._poll is not None:
            self._poll.terminated = True
        self.webhook = Webhook(url, secret, max_connections)
        if self._webhook_task is None or self._webhook_task.done():
            self._webhook_task = asyncio.create_task(self._deliver_by_webhook())
        self._touch()
        return True

    def _delete_webhook(self, p: _Params) -> bool:
        self.webhook = None  # the delivery task sees it and ends
        if p.flag("drop_pending_updates"):
            self._updates.clear()
        self._touch()
        return True

    def _get_webhook_info(self, _p: _Params) -> dict[str, Any]:
        info: dict[str, Any] = {
            "url": self.webhook.url if self.webhook else "",
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }
        if self.webhook is not None:
            info["max_connections"] = self.webhook.max_connections
            if self._allowed_updates is not None:
                info["allowed_updates"] = sorted(self._allowed_updates)
            if self.webhook.last_error_message:
                info["last_error_date"] = self.webhook.last_error_date
                info["last_error_message"] = self.webhook.last_error_message
        return info

    # ------------------------------------------------------------- webhook

    def redeliver(self, update_id: int) -> None:
        """Send an update the bot already acknowledged once more, as Telegram does when it
        did not get the answer (a timeout, a lost connection)."""
        self._updates.append(copy.deepcopy(self._recent_updates[update_id]))
        self._notify()

    async def _deliver_by_webhook(self) -> None:
        """POST pending updates to the webhook, up to its ``max_connections`` at a time, each
        removed from the queue only once answered 2xx; a failure is tried again later. As
        Telegram's Bot API server does, one update of a chat at a time, in order: the next
        waits until the one before it was answered 2xx (see :func:`_webhook_queue`)."""
        sending: dict[int, asyncio.Task[None]] = {}  # by position-independent update id
        async with aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=WEBHOOK_TIMEOUT)
        ) as client:
            try:
                while self.webhook is not None and not self._closing:
                    webhook = self.webhook
                    reached: set[int] = set()  # queues whose first pending update was seen
                    for update in list(self._updates):
                        if len(sending) >= webhook.max_connections:
                            break
                        queue = _webhook_queue(update)
                        if queue in reached:  # an earlier update of its chat is not answered
                            continue
                        reached.add(queue)
                        key = id(update)
                        if key not in sending:
                            sending[key] = asyncio.create_task(
                                self._post_update(client, webhook, update)
                            )
                            sending[key].add_done_callback(
                                lambda _task, key=key: sending.pop(key, None)
                            )
                    await self._wait_change(1.0)
            finally:
                for task in list(sending.values()):
                    task.cancel()
                await asyncio.gather(*sending.values(), return_exceptions=True)

    async def _post_update(
        self, client: aiohttp.ClientSession, webhook: Webhook, update: dict[str, Any]
    ) -> None:
        headers = {"Content-Type": "application/json"}
        if webhook.secret_token is not None:
            headers["X-Telegram-Bot-Api-Secret-Token"] = webhook.secret_token
        started = time.monotonic()
        try:
            async with client.post(webhook.url, data=json.dumps(update), headers=headers) as got:
                await got.read()
                status, error = got.status, None if got.status < 300 else f"HTTP {got.status}"
        except (aiohttp.ClientError, TimeoutError) as exc:
            status, error = None, f"Connection failed: {type(exc).__name__}"
        self.webhook_deliveries.append(
            WebhookDelivery(update["update_id"], status, time.monotonic() - started)
        )
        if error is None:
            with contextlib.suppress(ValueError):
                self._updates.remove(update)
            self._touch()
            return
        webhook.last_error_date = int(time.time())
        webhook.last_error_message = error
        await asyncio.sleep(WEBHOOK_RETRY_PAUSE)
        self._notify()

    async def _stop_webhook_delivery(self) -> None:
        task, self._webhook_task = self._webhook_task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def _commands_key(self, p: _Params) -> tuple[str, str]:
        scope = p.json("scope") or {"type": "default"}
        if not isinstance(scope, dict) or scope.get("type") not in COMMAND_SCOPES:
            raise bad_request("unsupported bot command scope type")
        kind = scope["type"]
        if kind in ("chat", "chat_administrators"):
            kind = f"{kind}:{scope.get('chat_id')}"
        elif kind == "chat_member":
            kind = f"chat_member:{scope.get('chat_id')}:{scope.get('user_id')}"
        language = p.text("language_code") or ""
        if language and not _LANGUAGE.fullmatch(language):
            raise bad_request("invalid language code specified")
        return kind, language

    def _set_my_commands(self, p: _Params) -> bool:
        commands = p.json("commands")
        if not isinstance(commands, list) or not all(isinstance(item, dict) for item in commands):
            raise bad_request("can't parse commands JSON object")
        for item in commands:
            if not isinstance(item.get("command"), str) or not _COMMAND.fullmatch(item["command"]):
                raise bad_request("BOT_COMMAND_INVALID")
            description = item.get("description")
            if not isinstance(description, str) or not 1 <= len(description.strip()) <= 256:
                raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
        key = self._commands_key(p)
        if commands:
            self.commands[key] = [
                {"command": item["command"], "description": item["description"]}
                for item in commands
            ]
        else:
            self.commands.pop(key, None)
        return True

    def _get_my_commands(self, p: _Params) -> list[dict[str, Any]]:
        return copy.deepcopy(self.commands.get(self._commands_key(p), []))

    def _delete_my_commands(self, p: _Params) -> bool:
        self.commands.pop(self._commands_key(p), None)
        return True

    def _send_message(self, p: _Params) -> dict[str, Any]:
        text = self._text(p)
        markup = self._markup(p)
        user = self._recipient(p)
        reply_to = self._reply_target(user, p)
        return self._bot_message(user, _text_fields(text), markup, reply_to, p)

    def _send_photo(self, p: _Params) -> dict[str, Any]:
        caption = self._caption(p.text("caption"), p.text("parse_mode"), p.json("caption_entities"))
        markup = self._markup(p)
        user = self._recipient(p)
        reply_to = self._reply_target(user, p)
        content = {"photo": self._photo(p.file("photo")), **_caption_fields(caption)}
        if p.flag("has_spoiler"):
            content["has_media_spoiler"] = True
        if p.flag("show_caption_above_media"):
            content["show_caption_above_media"] = True
        return self._bot_message(user, content, markup, reply_to, p)

    def _send_document(self, p: _Params) -> dict[str, Any]:
        caption = self._caption(p.text("caption"), p.text("parse_mode"), p.json("caption_entities"))
        markup = self._markup(p)
        user = self._recipient(p)
        reply_to = self._reply_target(user, p)
        content = {"document": self._document(p.file("document")), **_caption_fields(caption)}
        return self._bot_message(user, content, markup, reply_to, p)

    def _edit_message_text(self, p: _Params) -> dict[str, Any]:
        text = self._text(p)
        markup = self._markup(p, inline_only=True)
        user, message = self._editable(p)
        if "text" not in message:
            raise bad_request("there is no text in the message to edit")
        replaced = ("text", "entities", "html_text")
        return self._apply_edit(user, message, _text_fields(text), replaced, markup)

    def _edit_message_caption(self, p: _Params) -> dict[str, Any]:
        caption = self._caption(p.text("caption"), p.text("parse_mode"), p.json("caption_entities"))
        markup = self._markup(p, inline_only=True)
        user, message = self._editable(p)
        if not any(name in message for name in _MEDIA_FIELDS):
            raise bad_request("there is no caption in the message to edit")
        replaced = ("caption", "caption_entities", "html_text")
        return self._apply_edit(user, message, _caption_fields(caption), replaced, markup)

    def _edit_message_media(self, p: _Params) -> dict[str, Any]:
        media = p.json("media")
        if not isinstance(media, dict):
            raise bad_request("can't parse InputMedia JSON object")
        caption = self._caption(
            media.get("caption"), media.get("parse_mode"), media.get("caption_entities")
        )
        markup = self._markup(p, inline_only=True)
        user, message = self._editable(p)
        if not any(name in message for name in _MEDIA_FIELDS):
            raise bad_request("there is no media in the message to edit")
        source = p.resolve(media.get("media"))
        if media.get("type") == "photo":
            fields: dict[str, Any] = {"photo": self._photo(source)}
        elif media.get("type") == "document":
            fields = {"document": self._document(source)}
        else:
            raise bad_request(f"media type {media.get('type')!r} is not supported by the emulator")
        fields.update(_caption_fields(caption))
        replaced = (*_MEDIA_FIELDS, "caption", "caption_entities", "html_text", "has_media_spoiler")
        return self._apply_edit(user, message, fields, replaced, markup)

    def _edit_message_reply_markup(self, p: _Params) -> dict[str, Any]:
        markup = self._markup(p, inline_only=True)
        user, message = self._editable(p)
        return self._apply_edit(user, message, {}, (), markup)

    def _delete_message(self, p: _Params) -> bool:
        user = self._chat(p)
        message = self._message(user, p, "message to delete not found")
        del user.history[message["message_id"]]
        self._publish("delete", user.chat_id, message)
        return True

    def _answer_callback_query(self, p: _Params) -> bool:
        text = p.text("text")
        if text is not None and len(text) > CALLBACK_ANSWER_MAX:
            raise bad_request("MESSAGE_TOO_LONG")
        query_id = p.text("callback_query_id") or ""
        pressed = self._open_callbacks.pop(query_id, None)
        if pressed is None:
            raise bad_request(QUERY_TOO_OLD)
        answer = CallbackAnswer(
            text=text or None,
            show_alert=p.flag("show_alert"),
            url=p.text("url"),
            cache_time=p.integer("cache_time") or 0,
        )
        self.callback_answers[query_id] = answer
        chat_id, message_id = pressed
        user = self._chats[chat_id]
        self._emit(
            {
                "type": "callback_answer",
                "chat_id": chat_id,
                "message": user.history.get(message_id),
                "answer": asdict(answer),
            }
        )
        return True

    def _get_file(self, p: _Params) -> dict[str, Any]:
        stored = self._files.get(p.text("file_id") or "")
        if stored is None:
            raise bad_request("wrong file_id or the file is temporarily unavailable")
        if len(stored.content) > DOWNLOAD_MAX_BYTES:
            raise bad_request("file is too big")
        return stored.as_file()

    def _send_chat_action(self, p: _Params) -> bool:
        if p.text("action") not in CHAT_ACTIONS:
            raise bad_request("wrong parameter action in request")
        self._recipient(p)
        return True

    def _copy_message(self, p: _Params) -> dict[str, Any]:
        markup = self._markup(p)
        source = self._chat(p, "from_chat_id")
        original = self._message(source, p, "message to copy not found")
        user = self._recipient(p)
        reply_to = self._reply_target(user, p)
        content = copied_content(original)
        if not content:
            raise bad_request("message can't be copied")
        if p.values.get("caption") is not None and any(name in content for name in _MEDIA_FIELDS):
            caption = self._caption(
                p.text("caption"), p.text("parse_mode"), p.json("caption_entities")
            )
            for name in ("caption", "caption_entities", "html_text"):
                content.pop(name, None)
            content.update(_caption_fields(caption))
        message = self._bot_message(user, content, markup, reply_to, p)
        return {"message_id": message["message_id"]}

    def _send_invoice(self, p: _Params) -> dict[str, Any]:
        invoice, details = self.checked_invoice(p)
        markup = self._markup(p, inline_only=True)
        user = self._recipient(p)
        reply_to = self._reply_target(user, p)
        message = self._bot_message(user, {"invoice": invoice}, markup, reply_to, p)
        self._invoices[(user.chat_id, message["message_id"])] = details
        return message

    def checked_invoice(self, p: _Params) -> tuple[dict[str, Any], dict[str, Any]]:
        """An invoice's fields checked as Telegram checks them (``sendInvoice``,
        ``createInvoiceLink``): the invoice as shown, and what paying it reports."""
        title, description = p.text("title") or "", p.text("description") or ""
        payload, currency = p.text("payload") or "", p.text("currency") or ""
        if not 1 <= len(title) <= 32:
            raise bad_request("invoice title must be 1-32 characters long")
        if not 1 <= len(description) <= 255:
            raise bad_request("invoice description must be 1-255 characters long")
        if not 1 <= len(payload.encode("utf-8")) <= 128:
            raise bad_request("INVOICE_PAYLOAD_INVALID")
        if not _CURRENCY.fullmatch(currency):
            raise bad_request("CURRENCY_INVALID")
        prices = p.json("prices")
        if (
            not isinstance(prices, list)
            or not prices
            or not all(
                isinstance(price, dict)
                and isinstance(price.get("label"), str)
                and price["label"]
                and isinstance(price.get("amount"), int)
                for price in prices
            )
        ):
            raise bad_request("can't parse prices JSON object")
        total = sum(price["amount"] for price in prices)
        stars = currency == "XTR"
        if total <= 0 or (stars and len(prices) != 1):
            raise bad_request("CURRENCY_TOTAL_AMOUNT_INVALID")
        if stars == bool(p.text("provider_token")):
            raise bad_request("PAYMENT_PROVIDER_INVALID")
        invoice = {
            "title": title,
            "description": description,
            "start_parameter": p.text("start_parameter") or "",
            "currency": currency,
            "total_amount": total,
        }
        return invoice, {"currency": currency, "total_amount": total, "invoice_payload": payload}

    def _answer_inline_query(self, p: _Params) -> bool:
        query_id = p.text("inline_query_id") or ""
        results = parse_results(p.values.get("results"), self._files.photo)
        offset = next_offset(p.text("next_offset"))
        button = parse_button(p.values.get("button"))
        cache_time = p.integer("cache_time")
        if cache_time is not None and cache_time < 0:
            raise bad_request("CACHE_TIME_INVALID")
        typed = self._open_inline_queries.pop(query_id, None)
        if typed is None:
            raise bad_request(QUERY_TOO_OLD)
        self.inline_answers[query_id] = InlineAnswer(
            query=typed,
            results=results,
            cache_time=300 if cache_time is None else cache_time,  # Telegram's default
            is_personal=p.flag("is_personal"),
            next_offset=offset,
            button=button,
        )
        return True

    def _answer_pre_checkout_query(self, p: _Params) -> bool:
        query_id = p.text("pre_checkout_query_id") or ""
        if query_id not in self._open_checkouts:
            raise bad_request(QUERY_TOO_OLD)
        self._open_checkouts.discard(query_id)
        self._checkout_answers[query_id] = p.flag("ok")
        return True


class EmulatedChat:
    """A chat with the bot in it: every message of the chat by id, and the reply keyboard
    the bot showed last."""

    def __init__(self, emulator: TelegramEmulator, chat_id: int) -> None:
        self._emulator = emulator
        self.chat_id = chat_id
        self.reply_keyboard: dict[str, Any] | None = None
        self.history: dict[int, dict[str, Any]] = {}  # every message of the chat, by id
        self._message_ids = itertools.count(1)

    def as_chat(self) -> dict[str, Any]:
        raise NotImplementedError

    def thread_fields(self, p: _Params) -> dict[str, Any]:
        """The topic fields of a bot message sent here (forums have topics: see
        ``telegram_forum``); elsewhere ``message_thread_id`` is ignored."""
        return {}

    # ------------------------------------------------------------ inspection

    @property
    def messages(self) -> list[dict[str, Any]]:
        """The bot's messages in this chat, oldest first, as they are now (with html_text)."""
        bot_id = self._emulator.bot_user["id"]
        return [
            copy.deepcopy(message)
            for message in self.history.values()
            if message["from"]["id"] == bot_id
        ]

    @property
    def last(self) -> dict[str, Any]:
        messages = self.messages
        if not messages:
            raise AssertionError(f"the bot has sent nothing to chat {self.chat_id}")
        return messages[-1]

    def texts(self) -> list[str]:
        """Text or caption of each bot message ("" for messages with neither)."""
        return [message.get("text", message.get("caption", "")) for message in self.messages]

    def button(self, label: str, *, message: dict[str, Any] | None = None) -> dict[str, Any]:
        """The inline button (newest first) or reply-keyboard button with this text."""
        found = self._inline_button(label, message)
        if found is not None:
            return copy.deepcopy(found[1])
        keyboard_button = self._keyboard_button(label) if message is None else None
        if keyboard_button is None:
            raise AssertionError(self._missing_button(label))
        return copy.deepcopy(keyboard_button)

    # ------------------------------------------------------------- internals

    async def _message_from(
        self, sender: EmulatedUser, content: dict[str, Any], wait: bool
    ) -> dict[str, Any]:
        message = self._emulator._user_message(self, sender, content)
        await self._emulator._deliver(self, "message", message, wait)
        return message

    async def _callback_from(
        self, sender: EmulatedUser, message: dict[str, Any], data: str, wait: bool
    ) -> CallbackAnswer | None:
        emulator = self._emulator
        query_id = emulator._new_query_id()
        emulator._open_callbacks[query_id] = (self.chat_id, message["message_id"])
        query = {
            "id": query_id,
            "from": sender.as_user(),
            "message": _public(message),
            "chat_instance": f"{emulator.bot_user['id']}{self.chat_id}",
            "data": data,
        }
        await emulator._deliver(self, "callback_query", query, wait)
        return emulator.callback_answers.get(query_id) if wait else None

    async def _press_from(
        self, sender: EmulatedUser, label: str, message: dict[str, Any] | None, wait: bool
    ) -> CallbackAnswer | None:
        found = self._inline_button(label, message)
        if found is None:
            raise AssertionError(self._missing_button(label))
        target, button = found
        if "callback_data" not in button:
            raise ValueError(
                f"button {label!r} sends no callback ({button}); inspect it with "
                f"button({label!r}) instead"
            )
        return await self._callback_from(sender, target, button["callback_data"], wait)

    def _inline_button(
        self, label: str, message: dict[str, Any] | None
    ) -> tuple[dict[str, Any], dict[str, Any]] | None:
        if message is not None:
            current = self.history.get(message["message_id"])
            if current is None:
                raise AssertionError(f"message {message['message_id']} is no longer in the chat")
            candidates = [current]
        else:
            candidates = list(reversed(self.history.values()))
        for candidate in candidates:
            for row in candidate.get("reply_markup", {}).get("inline_keyboard", []):
                for button in row:
                    if button["text"] == label:
                        return candidate, button
        return None

    def _keyboard_button(self, label: str) -> dict[str, Any] | None:
        rows = self.reply_keyboard["keyboard"] if self.reply_keyboard is not None else []
        return next((button for row in rows for button in row if button["text"] == label), None)

    def _missing_button(self, label: str) -> str:
        inline = [
            button["text"]
            for message in self.history.values()
            for row in message.get("reply_markup", {}).get("inline_keyboard", [])
            for button in row
        ]
        rows = self.reply_keyboard["keyboard"] if self.reply_keyboard is not None else []
        keyboard = [button["text"] for row in rows for button in row]
        return (
            f"no button {label!r} in chat {self.chat_id}; inline buttons: {inline}, "
            f"reply keyboard: {keyboard}"
        )


class EmulatedGroup(EmulatedChat):
    """A group (or supergroup) with the bot as a member; users write and press there.

    With ``privacy_mode`` on (Telegram's default for bots) only commands reach the bot;
    other messages stay in the chat's history. After :meth:`remove_bot` the bot's calls
    for this chat are refused (403), as Telegram refuses them.
    """

    def __init__(
        self, emulator: TelegramEmulator, chat_id: int, title: str, *, supergroup: bool
    ) -> None:
        super().__init__(emulator, chat_id)
        self.title = title
        self.supergroup = supergroup
        self.privacy_mode = True
        self.bot_is_member = True

    def as_chat(self) -> dict[str, Any]:
        kind = "supergroup" if self.supergroup else "group"
        return {"id": self.chat_id, "type": kind, "title": self.title}

    async def send_text(
        self, sender: EmulatedUser, text: str, *, wait: bool = True
    ) -> dict[str, Any]:
        """``sender`` writes in the group; a leading ``/command`` (``/command@bot`` too)
        gets its ``bot_command`` entity. Without privacy mode, or for a command, the bot
        gets the message."""
        content = _typed(text)
        if self.privacy_mode and "entities" not in content:
            return self._emulator._user_message(self, sender, content)
        return await self._message_from(sender, content, wait)

    async def press(
        self,
        sender: EmulatedUser,
        label: str,
        *,
        message: dict[str, Any] | None = None,
        wait: bool = True,
    ) -> CallbackAnswer | None:
        """``sender`` presses an inline button of the bot's in the group."""
        return await self._press_from(sender, label, message, wait)

    async def press_data(
        self,
        sender: EmulatedUser,
        callback_data: str,
        *,
        message: dict[str, Any],
        wait: bool = True,
    ) -> CallbackAnswer | None:
        """A callback query with arbitrary data from ``message`` (forged presses)."""
        current = self.history.get(message["message_id"], message)
        return await self._callback_from(sender, current, callback_data, wait)

    def remove_bot(self) -> None:
        self.bot_is_member = False


class EmulatedUser(EmulatedChat):
    """A person chatting with the bot in a private chat, driven from tests or the demo.

    Actions (``send_text``, ``press``...) queue an update and, unless ``wait=False``, return
    once the bot has handled it. Acting also undoes :meth:`block_bot`, as Telegram's
    "Restart" does.
    """

    def __init__(
        self,
        emulator: TelegramEmulator,
        user_id: int,
        first_name: str,
        last_name: str | None,
        username: str | None,
        language_code: str,
    ) -> None:
        super().__init__(emulator, user_id)
        self.id = user_id
        self.first_name = first_name
        self.last_name = last_name
        self.username = username
        self.language_code = language_code
        self.started = False  # has written to the bot, so the bot may message this chat
        self.blocked = False

    def as_user(self) -> dict[str, Any]:
        user: dict[str, Any] = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        if self.last_name:
            user["last_name"] = self.last_name
        if self.username:
            user["username"] = self.username
        user["language_code"] = self.language_code
        return user

    def as_chat(self) -> dict[str, Any]:
        chat: dict[str, Any] = {"id": self.chat_id, "type": "private"}
        chat.update({key: value for key, value in self.as_user().items() if key in _CHAT_KEYS})
        return chat

    # --------------------------------------------------------------- actions

    async def send_text(self, text: str, *, wait: bool = True) -> dict[str, Any]:
        """Write a message; a leading ``/command`` gets its ``bot_command`` entity."""
        return await self._send(_typed(text), wait)

    async def send_content(self, content: dict[str, Any], *, wait: bool = True) -> dict[str, Any]:
        """Send a message of any kind (``telegram_forum.Media`` makes photos, voice...)."""
        return await self._send(content, wait)

    async def share_contact(
        self, phone: str = "+79001234567", *, own: bool = True, wait: bool = True
    ) -> dict[str, Any]:
        """Send a contact: one's own (with ``user_id``) or someone else's."""
        contact: dict[str, Any] = {"phone_number": phone}
        if own:
            contact["first_name"] = self.first_name
            if self.last_name:
                contact["last_name"] = self.last_name
            contact["user_id"] = self.id
        else:
            contact["first_name"] = "Мария"
        return await self._send({"contact": contact}, wait)

    async def send_document(
        self,
        filename: str,
        content: bytes,
        *,
        caption: str | None = None,
        mime_type: str = "text/csv",
        wait: bool = True,
    ) -> dict[str, Any]:
        document = self._emulator.add_file(content, filename, mime_type)
        fields: dict[str, Any] = {"document": document}
        if caption:
            fields["caption"] = caption
        return await self._send(fields, wait)

    async def press(
        self, label: str, *, message: dict[str, Any] | None = None, wait: bool = True
    ) -> CallbackAnswer | None:
        """Press a button by its visible text.

        Inline buttons are looked up on ``message`` or else on the newest bot message that
        has one with this text; the bot's ``answerCallbackQuery`` is returned (``None`` if it
        never answered or ``wait=False``). Without such an inline button a reply-keyboard
        button is pressed: its text (or, for ``request_contact``, the contact) is sent and
        ``None`` returned. URL and other non-callback buttons raise ``ValueError``.
        """
        if self._inline_button(label, message) is None and message is None:
            keyboard_button = self._keyboard_button(label)
            if keyboard_button is not None:
                await self._press_keyboard_button(keyboard_button, wait)
                return None
        return await self._press_from(self, label, message, wait)

    async def press_data(
        self, callback_data: str, *, message: dict[str, Any], wait: bool = True
    ) -> CallbackAnswer | None:
        """Send a callback query with arbitrary data from ``message`` (forged presses)."""
        current = self.history.get(message["message_id"], message)
        return await self._callback_from(self, current, callback_data, wait)

    async def pay_invoice(
        self, message: dict[str, Any] | None = None, *, order_info: dict[str, Any] | None = None
    ) -> bool:
        """Pay an invoice (default: the newest): the bot gets a ``pre_checkout_query``.

        When the bot confirms it (``ok=True``), a ``successful_payment`` message follows and
        ``True`` is returned; a refusal or no answer returns ``False``.
        """
        invoice_message = self._invoice_message(message)
        details = self._emulator._invoices[(self.chat_id, invoice_message["message_id"])]
        return await self.pay(details, order_info=order_info)

    async def pay(
        self, details: dict[str, Any], *, order_info: dict[str, Any] | None = None
    ) -> bool:
        """Pay an invoice whose ``details`` (currency, total, payload) the bot made, from a
        message or a link (:meth:`TelegramEmulator.pay_invoice_link`), as
        :meth:`pay_invoice` says."""
        emulator = self._emulator
        query_id = emulator._new_query_id()
        query: dict[str, Any] = {"id": query_id, "from": self.as_user(), **details}
        if order_info is not None:
            query["order_info"] = order_info
        emulator._open_checkouts.add(query_id)
        await emulator._deliver(self, "pre_checkout_query", query, wait=True)
        emulator._open_checkouts.discard(query_id)
        if not emulator._checkout_answers.get(query_id, False):
            return False
        payment: dict[str, Any] = {
            **details,
            "telegram_payment_charge_id": f"tg_charge_{query_id}",
            "provider_payment_charge_id": f"provider_charge_{query_id}",
        }
        if order_info is not None:
            payment["order_info"] = order_info
        await self._send({"successful_payment": payment}, wait=True)
        return True

    async def inline_query(
        self, query: str, *, offset: str = "", chat_type: str = "sender", wait: bool = True
    ) -> InlineAnswer | None:
        """Type ``@bot query`` in a chat (``chat_type`` as Telegram reports it: ``sender``
        for the chat with the bot, ``private``, ``group``...); ``offset`` asks for the page
        a previous answer's ``next_offset`` named. Returns the bot's answer (``None``
        without one or with ``wait=False``)."""
        emulator = self._emulator
        if not emulator.inline_mode:
            raise AssertionError("the bot has no inline mode (TelegramEmulator(inline_mode=True))")
        query_id = emulator._new_query_id()
        emulator._open_inline_queries[query_id] = query
        payload = {
            "id": query_id,
            "from": self.as_user(),
            "query": query[:INLINE_QUERY_MAX],
            "offset": offset,
            "chat_type": chat_type,
        }
        await emulator._deliver(self, "inline_query", payload, wait, starts=False)
        if not wait:
            return None
        emulator._open_inline_queries.pop(query_id, None)  # unanswered: too old now
        return emulator.inline_answers.get(query_id)

    async def choose_result(
        self,
        answer: InlineAnswer,
        result_id: str,
        *,
        chat: EmulatedChat | None = None,
        wait: bool = True,
    ) -> dict[str, Any]:
        """Send the result ``result_id`` of ``answer`` into ``chat`` (default: this
        user's chat with the bot): a message from the user ``via_bot``, its buttons the
        result's. With ``inline_feedback`` the bot gets a ``chosen_inline_result``."""
        emulator = self._emulator
        result = next((item for item in answer.results if item["id"] == result_id), None)
        if result is None:
            raise AssertionError(f"no result {result_id!r} in the answer")
        target = self if chat is None else chat
        content = chosen_content(result, emulator._files.photo)
        content["via_bot"] = dict(emulator.bot_user)
        message = emulator._user_message(target, self, content)
        if emulator.inline_feedback:
            chosen: dict[str, Any] = {
                "result_id": result_id,
                "from": self.as_user(),
                "query": answer.query,
            }
            if "reply_markup" in content:
                chosen["inline_message_id"] = f"{target.chat_id}_{message['message_id']}"
            await emulator._deliver(self, "chosen_inline_result", chosen, wait, starts=False)
        return message

    def block_bot(self) -> None:
        """From now on the bot's messages to this chat fail with 403 until the user acts."""
        self.blocked = True

    # ------------------------------------------------------------- internals

    async def _send(self, content: dict[str, Any], wait: bool) -> dict[str, Any]:
        return await self._message_from(self, content, wait)

    async def _press_keyboard_button(self, button: dict[str, Any], wait: bool) -> None:
        if self.reply_keyboard is not None and self.reply_keyboard.get("one_time_keyboard"):
            self.reply_keyboard = None
        if button.get("request_contact"):
            await self.share_contact(wait=wait)
        else:
            await self.send_text(button["text"], wait=wait)

    def _invoice_message(self, message: dict[str, Any] | None) -> dict[str, Any]:
        if message is not None:
            current = self.history.get(message["message_id"])
            if current is None or "invoice" not in current:
                raise AssertionError(f"message {message['message_id']} is not an invoice")
            return current
        for candidate in reversed(self.history.values()):
            if "invoice" in candidate:
                return candidate
        raise AssertionError(f"the bot has sent no invoice to chat {self.chat_id}")


def _typed(text: str) -> dict[str, Any]:
    """A message's content as a client sends typed text: a leading ``/command`` gets its
    ``bot_command`` entity."""
    if not text.strip():
        raise ValueError("Telegram does not let users send empty messages")
    content: dict[str, Any] = {"text": text}
    command = _LEADING_COMMAND.match(text)
    if command is not None:
        length = utf16_len(command.group())
        content["entities"] = [{"type": "bot_command", "offset": 0, "length": length}]
    return content
