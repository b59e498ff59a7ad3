"""Turning shop data into Telegram messages within Telegram's limits (HTML escaped,
caption <= 1024 and text <= 4096 characters after entity parsing)."""

from __future__ import annotations

from html import escape
from html.parser import HTMLParser

CAPTION_LIMIT = 1024
TEXT_LIMIT = 4096


def cut(text: str, limit: int) -> str:
    """Shorten plain text to ``limit`` characters on a word boundary, with an ellipsis."""
    if len(text) <= limit:
        return text
    head = text[: limit - 1]
    space = head.rfind(" ")
    if space > limit * 0.6:
        head = head[:space]
    return head.rstrip(" ,.;:") + "…"


def fit(head_html: str, body: str, limit: int, tail_html: str = "") -> str:
    """``head`` + escaped ``body`` + ``tail`` within ``limit`` visible characters.

    Only the owner's free text (``body``) is cut, before escaping, so an entity like
    ``&amp;`` is never split and the markup stays valid.
    """
    fixed = visible_length(head_html) + visible_length(tail_html)
    room = max(limit - fixed, 0)
    return head_html + escape(cut(body, room), quote=False) + tail_html


class _VisibleText(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.count = 0

    def handle_data(self, data: str) -> None:
        # Telegram measures in UTF-16 code units (an emoji outside the BMP counts twice).
        self.count += len(data.encode("utf-16-le")) // 2


def visible_length(html_text: str) -> int:
    """Characters Telegram counts for our own simple HTML (tags removed, entities as one)."""
    counter = _VisibleText()
    counter.feed(html_text)
    counter.close()
    return counter.count


def h(text: str) -> str:
    """Escape text typed by a person (owner or shopper) for HTML parse mode."""
    return escape(text, quote=False)
