"""The chat page's server: static files, live chat events (SSE) and the person's actions.

``GET /events?as=shopper|admin|staff`` streams that person's chat: first a ``reset`` with every
message and the reply keyboard, then ``message`` / ``edit`` / ``delete`` (each with the
current reply keyboard) and ``callback_answer`` events. ``staff`` is the staff group with
topics, where the admin writes: its events also carry the group's topics, and its messages
their topic (the topics' service messages are left out). Actions are POSTs to
``/api/{who}/text|press|keyboard|document`` (in the staff group: text, with its topic, and
press); they return at once, their effects arrive as events. ``/file/{file_id}`` fetches a
file the bot or the person sent, through the Bot API.
"""

from __future__ import annotations

import asyncio
import json
import mimetypes
from collections.abc import AsyncIterator
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp
from aiohttp import web
from aiohttp.typedefs import Handler

from shopbot import jsonsafe
from shopbot.emulators.telegram import EmulatedChat, EmulatedUser, TelegramEmulator
from shopbot.emulators.telegram_files import DOCUMENT_MAX_BYTES
from shopbot.emulators.telegram_format import ApiFailure
from shopbot.emulators.telegram_forum import ForumGroup
from shopbot.i18n import DEFAULT_LANGUAGE

from .texts import (
    BUTTON_GONE,
    FILE_FIRST,
    KEY_GONE,
    MESSAGE_GONE,
    NOT_IN_GROUP,
    TOPIC_FIRST,
    TYPE_FIRST,
    render_page,
    translated,
)
from .views import is_service, keyboard_view, message_view, topic_view

STATIC_DIR = Path(str(files("shopbot.demo") / "static"))
HEARTBEAT = 15.0  # seconds between keep-alive comments on an idle event stream
_SHUTDOWN: dict[str, Any] = {"type": "shutdown"}


@dataclass(frozen=True)
class DemoPeople:
    """The people the page can be: a shopper and the shop's admin, in their private chats
    with the bot, and the admin in the staff group (``staff``) when there is one."""

    shopper: EmulatedUser
    admin: EmulatedUser
    staff: ForumGroup | None = None

    def get(self, who: str) -> EmulatedUser:
        """Who acts: in the staff group, the admin."""
        if who == "shopper":
            return self.shopper
        if who == "admin" or (who == "staff" and self.staff is not None):
            return self.admin
        raise web.HTTPNotFound(text=f"no such person: {who}")

    def chat(self, who: str) -> EmulatedChat:
        """The chat the page shows for ``who``."""
        person = self.get(who)
        return self.staff if who == "staff" and self.staff is not None else person


EMULATOR_KEY = web.AppKey("emulator", TelegramEmulator)
PEOPLE_KEY = web.AppKey("people", DemoPeople)
CLIENT_KEY = web.AppKey("client", aiohttp.ClientSession)
STREAMS_KEY = web.AppKey("streams", set[asyncio.Queue[dict[str, Any]]])
LANGUAGE_KEY = web.AppKey("language", str)


def create_demo_app(
    emulator: TelegramEmulator, people: DemoPeople, language: str = DEFAULT_LANGUAGE
) -> web.Application:
    """The page in ``language`` (its own words; the bot speaks the people's language)."""
    app = web.Application(
        middlewares=[_same_origin_posts], client_max_size=DOCUMENT_MAX_BYTES + 1024 * 1024
    )
    app[EMULATOR_KEY] = emulator
    app[PEOPLE_KEY] = people
    app[LANGUAGE_KEY] = language
    app[STREAMS_KEY] = set()
    app.cleanup_ctx.append(_http_client)
    app.on_shutdown.append(_end_streams)
    app.router.add_get("/", _index)
    app.router.add_static("/static", STATIC_DIR)
    app.router.add_get("/events", _events)
    app.router.add_post("/api/{who}/text", _send_text)
    app.router.add_post("/api/{who}/press", _press)
    app.router.add_post("/api/{who}/keyboard", _keyboard_button)
    app.router.add_post("/api/{who}/document", _send_document)
    app.router.add_get("/file/{file_id}", _file)
    return app


@web.middleware
async def _same_origin_posts(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Other web sites may not act in the chat (the browser sends their Origin)."""
    origin = request.headers.get("Origin")
    if request.method == "POST" and origin is not None and origin != f"http://{request.host}":
        raise web.HTTPForbidden(text="cross-origin request refused")
    return await handler(request)


async def _http_client(app: web.Application) -> AsyncIterator[None]:
    async with aiohttp.ClientSession() as client:
        app[CLIENT_KEY] = client
        yield


async def _end_streams(app: web.Application) -> None:
    for queue in app[STREAMS_KEY]:
        queue.put_nowait(_SHUTDOWN)


async def _index(request: web.Request) -> web.Response:
    page = render_page((STATIC_DIR / "index.html").read_text("utf-8"), request.app[LANGUAGE_KEY])
    return web.Response(
        text=page, content_type="text/html", charset="utf-8", headers={"Cache-Control": "no-cache"}
    )


# ------------------------------------------------------------------------------ events


async def _events(request: web.Request) -> web.StreamResponse:
    emulator = request.app[EMULATOR_KEY]
    person = request.app[PEOPLE_KEY].chat(request.query.get("as", "shopper"))
    bot_id = emulator.bot_user["id"]
    queue = emulator.subscribe()
    # Taken before any await, so no event falls between the snapshot and the stream.
    snapshot = {
        "type": "reset",
        "messages": [
            message_view(message, bot_id)
            for message in person.history.values()
            if not is_service(message)
        ],
        "keyboard": keyboard_view(person.reply_keyboard),
        **_topics(person),
    }
    streams = request.app[STREAMS_KEY]
    streams.add(queue)
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/event-stream",
            "Cache-Control": "no-cache",
            "X-Accel-Buffering": "no",
        }
    )
    try:
        await response.prepare(request)
        await _write_event(response, snapshot)
        while True:
            try:
                event = await asyncio.wait_for(queue.get(), HEARTBEAT)
            except TimeoutError:
                await response.write(b": keep-alive\n\n")
                continue
            if event is _SHUTDOWN:
                break
            if event["chat_id"] != person.chat_id:
                continue
            if event["type"] != "callback_answer" and is_service(event["message"]):
                # A topic made, renamed, closed or reopened: the page redraws its topics.
                await _write_event(response, {"type": "topics", **_topics(person)})
                continue
            await _write_event(response, _page_event(event, person, bot_id))
    except ConnectionResetError:
        pass  # the page was closed or switched person
    finally:
        streams.discard(queue)
        emulator.unsubscribe(queue)
    return response


def _page_event(event: dict[str, Any], person: EmulatedChat, bot_id: int) -> dict[str, Any]:
    if event["type"] == "callback_answer":
        return {"type": "callback_answer", "answer": event["answer"]}
    return {
        "type": event["type"],
        "message": message_view(event["message"], bot_id),
        "keyboard": keyboard_view(person.reply_keyboard),
    }


def _topics(chat: EmulatedChat) -> dict[str, Any]:
    """``{"topics": [...]}`` for the staff group, nothing for a private chat."""
    if not isinstance(chat, ForumGroup):
        return {}
    return {"topics": [topic_view(topic) for topic in chat.topics.values()]}


async def _write_event(response: web.StreamResponse, payload: dict[str, Any]) -> None:
    data = json.dumps(payload, ensure_ascii=False)
    await response.write(f"data: {data}\n\n".encode())


# ----------------------------------------------------------------------------- actions


async def _json_body(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json(loads=jsonsafe.loads)
    except ValueError:
        raise _bad("the body must be JSON") from None
    if not isinstance(body, dict):
        raise _bad("the body must be a JSON object")
    return body


def _refused(request: web.Request, reason: str) -> web.HTTPException:
    """A refused action, said in the page's language (the page shows it as a toast)."""
    return _bad(translated(reason, request.app[LANGUAGE_KEY]))


def _bad(reason: str) -> web.HTTPException:
    return web.HTTPBadRequest(
        text=json.dumps({"error": reason}, ensure_ascii=False), content_type="application/json"
    )


async def _send_text(request: web.Request) -> web.Response:
    """A text in the person's chat; in the staff group, in the topic ``thread``."""
    who = request.match_info["who"]
    people = request.app[PEOPLE_KEY]
    person = people.get(who)
    body = await _json_body(request)
    text = body.get("text")
    if not isinstance(text, str) or not text.strip():
        raise _refused(request, TYPE_FIRST)
    chat = people.chat(who)
    if isinstance(chat, ForumGroup):
        thread = body.get("thread")
        if not isinstance(thread, int) or thread not in chat.topics:
            raise _refused(request, TOPIC_FIRST)
        await chat.send_text(person, text, thread=thread, wait=False)
    else:
        await person.send_text(text, wait=False)
    return web.json_response({"ok": True})


async def _press(request: web.Request) -> web.Response:
    """An inline button with callback data, pressed on the message that carries it."""
    who = request.match_info["who"]
    person = request.app[PEOPLE_KEY].get(who)
    chat = request.app[PEOPLE_KEY].chat(who)
    body = await _json_body(request)
    message_id, data = body.get("message_id"), body.get("data")
    message = chat.history.get(message_id) if isinstance(message_id, int) else None
    if message is None:
        raise _refused(request, MESSAGE_GONE)
    buttons = message.get("reply_markup", {}).get("inline_keyboard", [])
    if not isinstance(data, str) or not any(
        button.get("callback_data") == data for row in buttons for button in row
    ):
        raise _refused(request, BUTTON_GONE)
    if isinstance(chat, ForumGroup):
        await chat.press_data(person, data, message=message, wait=False)
    else:
        await person.press_data(data, message=message, wait=False)
    return web.json_response({"ok": True})


def _private(request: web.Request) -> EmulatedUser:
    """The person of a private chat's action (the staff group has no keyboard or files)."""
    who = request.match_info["who"]
    person = request.app[PEOPLE_KEY].get(who)
    if request.app[PEOPLE_KEY].chat(who) is not person:
        raise _refused(request, NOT_IN_GROUP)
    return person


async def _keyboard_button(request: web.Request) -> web.Response:
    """A reply-keyboard button: its text is sent, or the person's contact for "share contact"."""
    person = _private(request)
    label = (await _json_body(request)).get("text")
    keyboard = person.reply_keyboard or {}
    rows = keyboard.get("keyboard", [])
    button = next((button for row in rows for button in row if button["text"] == label), None)
    if button is None:
        raise _refused(request, KEY_GONE)
    if keyboard.get("one_time_keyboard"):
        person.reply_keyboard = None  # Telegram hides a one-time keyboard once it is used
    if button.get("request_contact"):
        await person.share_contact(wait=False)
    else:
        await person.send_text(button["text"], wait=False)
    return web.json_response({"ok": True})


async def _send_document(request: web.Request) -> web.Response:
    """A file from the page's file picker, with an optional caption (``/import`` for CSVs)."""
    person = _private(request)
    form = await request.post()
    upload, caption = form.get("file"), form.get("caption")
    if not isinstance(upload, web.FileField):
        raise _refused(request, FILE_FIRST)
    filename = upload.filename or "file"
    mime_type = mimetypes.guess_type(filename)[0] or upload.content_type
    try:
        await person.send_document(
            filename,
            upload.file.read(),
            caption=caption.strip() if isinstance(caption, str) else None,
            mime_type=mime_type,
            wait=False,
        )
    except ApiFailure as failure:
        raise _bad(failure.description) from None
    return web.json_response({"ok": True})


# ------------------------------------------------------------------------------- files


async def _file(request: web.Request) -> web.Response:
    """A file of the chat, fetched like any Bot API client: ``getFile``, then the download."""
    emulator = request.app[EMULATOR_KEY]
    client = request.app[CLIENT_KEY]
    api = f"{emulator.base_url}/bot{emulator.token}"
    async with client.get(f"{api}/getFile", params={"file_id": request.match_info["file_id"]}) as r:
        answer = await r.json()
    if not answer.get("ok"):
        raise web.HTTPNotFound(text="no such file")
    path = answer["result"]["file_path"]
    async with client.get(f"{emulator.base_url}/file/bot{emulator.token}/{path}") as download:
        if download.status != 200:
            raise web.HTTPNotFound(text="no such file")
        content = await download.read()
    headers = {"Cache-Control": "private, max-age=3600"}
    name = request.query.get("name")
    if name:
        headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(name)}"
    content_type = mimetypes.guess_type(name or path)[0] or "application/octet-stream"
    return web.Response(body=content, content_type=content_type, headers=headers)
