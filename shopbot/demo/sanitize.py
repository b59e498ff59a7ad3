"""Bot HTML made safe for the chat page: only what Telegram's HTML parse mode renders.

Telegram shows ``b strong i em u ins s strike del code pre blockquote a tg-spoiler``,
``span class="tg-spoiler"``, ``tg-emoji`` and ``code class="language-…"``; anything else is
dropped (its text kept, escaped). Links keep only web, ``tg:`` and ``mailto:`` addresses and
open in a new tab. Tags left open are closed, so the result nests correctly.
"""

from __future__ import annotations

import html
from html.parser import HTMLParser

_PLAIN_TAGS = frozenset({"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "pre"})
_LINK_SCHEMES = ("http://", "https://", "tg://", "mailto:")


def sanitize_html(source: str) -> str:
    """``source`` (Telegram HTML) reduced to Telegram's tags; all text escaped."""
    parser = _Sanitizer()
    parser.feed(source)
    parser.close()
    return parser.result()


def _opening(tag: str, attrs: dict[str, str | None]) -> tuple[str, str] | None:
    """(output tag name, its opening markup) for an allowed tag, None to drop the tag."""
    if tag in _PLAIN_TAGS:
        return tag, f"<{tag}>"
    if tag == "tg-spoiler" or (tag == "span" and attrs.get("class") == "tg-spoiler"):
        return "span", '<span class="tg-spoiler">'
    if tag == "blockquote":
        expandable = ' class="expandable"' if "expandable" in attrs else ""
        return "blockquote", f"<blockquote{expandable}>"
    if tag == "code":
        language = attrs.get("class") or ""
        if language.startswith("language-") and language[9:].replace("-", "").isalnum():
            return "code", f'<code class="{html.escape(language)}">'
        return "code", "<code>"
    if tag == "a":
        href = (attrs.get("href") or "").strip()
        if not href.lower().startswith(_LINK_SCHEMES):
            return None
        escaped = html.escape(href, quote=True)
        return "a", f'<a href="{escaped}" target="_blank" rel="noopener noreferrer">'
    return None


class _Sanitizer(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self._out: list[str] = []
        # (source tag, output tag or None when dropped), innermost last
        self._open: list[tuple[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        opening = _opening(tag, dict(attrs))
        if opening is None:
            self._open.append((tag, None))
            return
        self._open.append((tag, opening[0]))
        self._out.append(opening[1])

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        """Self-closing tags have no place in Telegram's HTML: nothing to show."""

    def handle_endtag(self, tag: str) -> None:
        for index in range(len(self._open) - 1, -1, -1):
            if self._open[index][0] == tag:
                self._close_from(index)
                return

    def handle_data(self, data: str) -> None:
        self._out.append(html.escape(data, quote=False))

    def result(self) -> str:
        self._close_from(0)
        return "".join(self._out)

    def _close_from(self, index: int) -> None:
        while len(self._open) > index:
            _source, output = self._open.pop()
            if output is not None:
                self._out.append(f"</{output}>")
