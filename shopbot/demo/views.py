"""Chat messages as the page draws them: plain JSON built from the emulator's messages."""

from __future__ import annotations

import html
from typing import Any
from urllib.parse import quote

from shopbot.demo.sanitize import sanitize_html
from shopbot.emulators.telegram_forum import Topic

# The photo size the page asks for: big enough for a phone, small enough to load fast.
PHOTO_WIDTH = 800


def file_url(file_id: str, name: str | None = None) -> str:
    url = f"/file/{quote(file_id, safe='')}"
    return f"{url}?name={quote(name, safe='')}" if name else url


def message_view(message: dict[str, Any], bot_id: int) -> dict[str, Any]:
    """``{id, outgoing, edited, html, photo?, document?, contact?, thread?, buttons}``.

    ``html`` is the text or caption, sanitised bot HTML or escaped user text; ``buttons`` the
    inline keyboard's rows of ``{text, data?, url?}``; ``thread`` the topic of a message in
    the staff group.
    """
    if "html_text" in message:
        text_html = sanitize_html(message["html_text"])
    else:
        text_html = html.escape(message.get("text") or message.get("caption") or "", quote=False)
    view: dict[str, Any] = {
        "id": message["message_id"],
        "outgoing": message["from"]["id"] != bot_id,
        "edited": "edit_date" in message,
        "html": text_html,
        "buttons": [
            [_button_view(button) for button in row]
            for row in message.get("reply_markup", {}).get("inline_keyboard", [])
        ],
    }
    if "message_thread_id" in message:
        view["thread"] = message["message_thread_id"]
    if message.get("photo"):
        sizes = message["photo"]
        fitting = [size for size in sizes if size["width"] <= PHOTO_WIDTH]
        chosen = fitting[-1] if fitting else sizes[0]
        view["photo"] = {
            "url": file_url(chosen["file_id"]),
            "width": chosen["width"],
            "height": chosen["height"],
        }
    if "document" in message:
        document = message["document"]
        name = document.get("file_name") or "file"
        view["document"] = {
            "name": name,
            "size": document.get("file_size", 0),
            "url": file_url(document["file_id"], name),
        }
    if "contact" in message:
        contact = message["contact"]
        view["contact"] = {
            "phone": contact["phone_number"],
            "name": " ".join(filter(None, [contact.get("first_name"), contact.get("last_name")])),
        }
    return view


def is_service(message: dict[str, Any]) -> bool:
    """A topic's service message (made, renamed, closed, reopened): shown as the topic list."""
    return any(key.startswith("forum_topic_") for key in message)


def topic_view(topic: Topic) -> dict[str, Any]:
    return {"id": topic.message_thread_id, "name": topic.name, "closed": topic.closed}


def keyboard_view(markup: dict[str, Any] | None) -> list[list[dict[str, Any]]]:
    """The reply keyboard's rows of ``{text, contact}``; empty when there is none."""
    if markup is None:
        return []
    return [
        [{"text": button["text"], "contact": bool(button.get("request_contact"))} for button in row]
        for row in markup.get("keyboard", [])
    ]


def _button_view(button: dict[str, Any]) -> dict[str, Any]:
    view: dict[str, Any] = {"text": button["text"]}
    if "callback_data" in button:
        view["data"] = button["callback_data"]
    elif "url" in button:
        view["url"] = button["url"]
    elif "web_app" in button:
        view["web_app"] = button["web_app"]["url"]
    return view
