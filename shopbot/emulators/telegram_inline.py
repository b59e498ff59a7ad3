"""Inline mode for the Telegram emulator: ``answerInlineQuery`` checked the way Telegram
checks it, and the message a chosen result becomes.

Covered result types are the ones a shop lists products with: ``article`` (a text message,
optionally with a thumbnail URL) and ``photo`` (by ``photo_url`` with its thumbnail, or a
cached ``photo_file_id``). Others are refused as Telegram refuses an unknown type.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from shopbot import jsonsafe
from shopbot.emulators.telegram_format import (
    CAPTION_MAX,
    TEXT_MAX,
    FormattedText,
    bad_request,
    format_text,
    parse_reply_markup,
    valid_url,
)

RESULTS_MAX = 50
RESULT_ID_MAX_BYTES = 64
NEXT_OFFSET_MAX_BYTES = 64
INLINE_QUERY_MAX = 256  # characters a user can type after the bot's username
RESULT_TYPES = frozenset({"article", "photo"})


@dataclass(frozen=True)
class InlineAnswer:
    """What the bot answered to an inline query (``answerInlineQuery``), results as sent."""

    query: str  # what the user had typed
    results: list[dict[str, Any]]
    cache_time: int
    is_personal: bool
    next_offset: str
    button: dict[str, Any] | None = None  # shown above the results (InlineQueryResultsButton)


PhotoSizes = Callable[[str], list[dict[str, Any]] | None]  # a cached photo's sizes, or None


def parse_results(value: Any, photo_sizes: PhotoSizes) -> list[dict[str, Any]]:
    """The validated results of an ``answerInlineQuery``, or ``ApiFailure``; texts and
    captions are held to the limits of sent messages."""
    if isinstance(value, str):
        try:
            value = jsonsafe.loads(value)
        except ValueError:
            raise bad_request("can't parse inline query results JSON object") from None
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise bad_request("can't parse inline query results JSON object")
    if len(value) > RESULTS_MAX:
        raise bad_request("RESULTS_TOO_MUCH")
    seen: set[str] = set()
    for result in value:
        result_id = result.get("id")
        if (
            not isinstance(result_id, str)
            or not 1 <= len(result_id.encode("utf-8")) <= RESULT_ID_MAX_BYTES
        ):
            raise bad_request("RESULT_ID_INVALID")
        if result_id in seen:
            raise bad_request("RESULT_ID_DUPLICATE")
        seen.add(result_id)
        kind = result.get("type")
        if kind not in RESULT_TYPES:
            raise bad_request("RESULT_TYPE_INVALID")
        if result.get("reply_markup") is not None:
            markup = parse_reply_markup(result["reply_markup"])
            if markup is None or markup.kind != "inline":
                raise bad_request("REPLY_MARKUP_INVALID")
        if kind == "article":
            _check_article(result)
        else:
            _check_photo(result, photo_sizes)
    return value


def _check_article(result: dict[str, Any]) -> None:
    title = result.get("title")
    if not isinstance(title, str) or not title.strip():
        raise bad_request("RESULT_TITLE_EMPTY")
    content = result.get("input_message_content")
    if not isinstance(content, dict) or not isinstance(content.get("message_text"), str):
        raise bad_request("MESSAGE_EMPTY")
    if len(_text(content).text) > TEXT_MAX:
        raise bad_request("MESSAGE_TOO_LONG")
    for name in ("url", "thumbnail_url"):
        if result.get(name) is not None and not valid_url(result[name]):
            raise bad_request("WEBDOCUMENT_URL_INVALID")


def _check_photo(result: dict[str, Any], photo_sizes: PhotoSizes) -> None:
    if len(_caption(result).text) > CAPTION_MAX:
        raise bad_request("MEDIA_CAPTION_TOO_LONG")
    file_id, url = result.get("photo_file_id"), result.get("photo_url")
    if (file_id is None) == (url is None):
        raise bad_request("PHOTO_INVALID")
    if file_id is not None:
        if not isinstance(file_id, str) or photo_sizes(file_id) is None:
            raise bad_request("wrong file identifier/HTTP URL specified")
        return
    if not valid_url(url):
        raise bad_request("WEBDOCUMENT_URL_INVALID")
    thumbnail = result.get("thumbnail_url")
    if not thumbnail:
        raise bad_request("PHOTO_THUMB_URL_EMPTY")
    if not valid_url(thumbnail):
        raise bad_request("WEBDOCUMENT_URL_INVALID")


_START_PARAMETER = re.compile(r"[A-Za-z0-9_-]{1,64}")


def parse_button(value: Any) -> dict[str, Any] | None:
    """The ``button`` of an answer: a text and a ``start_parameter`` (or a ``web_app``)."""
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = jsonsafe.loads(value)
        except ValueError:
            raise bad_request("can't parse inline query results button JSON object") from None
    if not isinstance(value, dict) or not isinstance(value.get("text"), str):
        raise bad_request("can't parse inline query results button JSON object")
    if not value["text"].strip():
        raise bad_request("BUTTON_TEXT_INVALID")
    start, web_app = value.get("start_parameter"), value.get("web_app")
    if (start is None) == (web_app is None):
        raise bad_request("BUTTON_TYPE_INVALID")
    if start is not None and not (isinstance(start, str) and _START_PARAMETER.fullmatch(start)):
        raise bad_request("START_PARAM_INVALID")
    return value


def next_offset(value: str | None) -> str:
    if value is not None and len(value.encode("utf-8")) > NEXT_OFFSET_MAX_BYTES:
        raise bad_request("NEXT_OFFSET_INVALID")
    return value or ""


def _text(content: dict[str, Any]) -> FormattedText:
    return format_text(content["message_text"], content.get("parse_mode"), content.get("entities"))


def _caption(result: dict[str, Any]) -> FormattedText:
    raw = result.get("caption")
    return format_text(
        raw if isinstance(raw, str) else "",
        result.get("parse_mode"),
        result.get("caption_entities"),
    )


def chosen_content(result: dict[str, Any], photo_sizes: PhotoSizes) -> dict[str, Any]:
    """The content of the message a chosen result sends (before ``from``, ``chat``...).

    A photo given by URL becomes a photo Telegram downloaded: the emulator does not fetch
    it, and gives it one placeholder size pointing at the URL.
    """
    content = result.get("input_message_content")
    if isinstance(content, dict):
        formatted = _text(content)
        fields: dict[str, Any] = {"text": formatted.text, "html_text": formatted.html}
        if formatted.entities:
            fields["entities"] = formatted.entities
    else:
        if result.get("photo_file_id") is not None:
            sizes = photo_sizes(result["photo_file_id"])
            assert sizes is not None  # checked when answered
        else:
            sizes = [{"file_id": f"url:{result['photo_url']}", "width": 0, "height": 0}]
        fields = {"photo": sizes}
        formatted = _caption(result)
        if formatted.text:
            fields.update(caption=formatted.text, html_text=formatted.html)
            if formatted.entities:
                fields["caption_entities"] = formatted.entities
    if result.get("reply_markup") is not None:
        markup = parse_reply_markup(result["reply_markup"])
        if markup is not None:
            fields["reply_markup"] = markup.data
    return fields
