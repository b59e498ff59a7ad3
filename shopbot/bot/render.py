"""Turning shop data into Telegram messages within Telegram's limits (HTML escaped,
caption <= 1024 and text <= 4096 characters after entity parsing, a callback answer <= 200).

One way of cutting serves every message: **only text a person typed is ever shortened, and
it is shortened before it is escaped.** A message is built with :func:`compose` from parts:
our own markup and fixed wording (``str``, HTML, kept whole) and what the owner or a
shopper typed (:class:`Typed`, plain text, escaped here). When the whole is over the limit,
the typed pieces are cut, longest first, to one common length (the largest that fits), each
on a word boundary with an ellipsis. So:

* an entity such as ``&amp;`` is never split and no tag is left open, because markup is
  never cut;
* the lines that make a message what it is — the total, the headings, the order number,
  the Confirm context — are always there, because they are fixed parts;
* short typed pieces (a name, a phone) stay whole while a long address or comment gives
  way; for normal inputs nothing is cut and a message looks as it always did.

Lengths are counted as Telegram does after entity parsing (tags removed, an entity is one
character), in UTF-16 code units: an emoji outside the BMP counts twice, which is never
less than Telegram's count.

:func:`clip` is the same cut for HTML that is already rendered, where which text was typed
is no longer known (a message put together from rendered pieces just before sending): every
run of text between tags counts as cuttable, the markup is kept, so the result stays valid
HTML within the limit. The renderers never need it; it is the guard at the send call.
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from html import escape, unescape
from html.parser import HTMLParser

CAPTION_LIMIT = 1024
TEXT_LIMIT = 4096
ANSWER_LIMIT = 200  # answerCallbackQuery text (plain text, no parse mode)

_ELLIPSIS = "…"


@dataclass(frozen=True)
class Typed:
    """Text the owner or a shopper typed: escaped by :func:`compose`, cut when over the limit.

    ``most`` is the piece's own length cap (a cart line's product name), applied first.
    """

    text: str
    most: int | None = None


Part = str | Typed
Line = Part | Sequence[Part]


def length(text: str) -> int:
    """The length of plain text as counted against a limit (UTF-16 code units)."""
    return len(text.encode("utf-16-le")) // 2


def _prefix(text: str, units: int) -> str:
    """The longest start of ``text`` at most ``units`` long, never splitting a character."""
    if len(text) == length(text):  # all in the BMP: one unit per character
        return text[: max(units, 0)]
    used = 0
    for index, char in enumerate(text):
        used += 2 if ord(char) > 0xFFFF else 1
        if used > units:
            return text[:index]
    return text


def _head(text: str, units: int, breaks: Sequence[str] = (" ",)) -> str:
    """The start of ``text`` at most ``units`` long, ending at the first of ``breaks``
    found in its last 40 % (the end of a paragraph, a line, a sentence with its full stop,
    a word), else where the room ends (never inside a character)."""
    head = _prefix(text, units)
    for mark in breaks:
        at = head.rfind(mark)
        if at > units * 0.6:
            return head[: at + len(mark.rstrip())]
    return head


def cut(text: str, limit: int) -> str:
    """Shorten plain text to ``limit`` characters on a word boundary, with an ellipsis."""
    if length(text) <= limit:
        return text
    if limit <= 0:
        return ""
    return _head(text, limit - 1).rstrip(" ,.;:") + _ELLIPSIS


# Where a long text is best split: between paragraphs, lines, sentences, words.
_SPLITS = ("\n\n", "\n", ". ", "! ", "? ", " ")


def split(text: str, limit: int) -> list[str]:
    """Plain text in pieces of at most ``limit`` characters, none lost, each ending where
    :func:`cut` would cut (but at the best boundary: a paragraph first). Split before it is
    escaped, so no entity is split and no tag left open; each piece is escaped whole."""
    pieces: list[str] = []
    rest = text.strip()
    while length(rest) > limit:
        head = _head(rest, limit, _SPLITS) or rest[0]
        pieces.append(head.rstrip())
        rest = rest[len(head) :].lstrip()
    if rest:
        pieces.append(rest)
    return pieces


def fill(template: str, **values: object) -> list[Part]:
    """A translated template split at its ``{placeholders}`` into message parts.

    The template's own text is fixed HTML; a :class:`Typed` value stays a typed part, a
    list of parts goes in as those parts, any other value is formatted as ``str.format``
    would and kept as fixed HTML (a price, a number, a translated label: the caller escapes
    it if it needs escaping).
    """
    formatter = string.Formatter()
    parts: list[Part] = []
    for literal, field, spec, conversion in formatter.parse(template):
        if literal:
            parts.append(literal)
        if field is None:
            continue
        value = values[field]
        if isinstance(value, Typed):
            parts.append(value)
            continue
        if isinstance(value, list):
            parts.extend(value)
            continue
        if conversion:
            value = formatter.convert_field(value, conversion)
        parts.append(format(value, spec or ""))
    return parts


def compose(limit: int, lines: Iterable[Line], *, html: bool = True) -> str:
    """The ``lines`` (each a part or a sequence of parts) joined by newlines, within
    ``limit``: typed parts are escaped, and cut as the module docstring says when needed.

    ``html=False`` builds plain text (a callback answer): nothing is escaped or parsed.
    Should the fixed parts alone be over the limit (a list longer than any the shop makes),
    the rendered message goes through :func:`clip`, so the result always fits.
    """
    parts: list[Part] = []
    for number, line in enumerate(lines):
        if number:
            parts.append("\n")
        if isinstance(line, (str, Typed)):
            parts.append(line)
        else:
            parts.extend(line)
    typed = [
        cut(part.text, part.most) if part.most is not None else part.text
        for part in parts
        if isinstance(part, Typed)
    ]
    fixed = "".join(part for part in parts if isinstance(part, str))
    fixed_length = visible_length(fixed) if html else length(fixed)
    room = limit - fixed_length
    if room >= 0:
        typed = _shared(typed, room)
    pieces = iter(typed)
    text = "".join(
        part if isinstance(part, str) else _escaped(next(pieces), html) for part in parts
    )
    if room < 0:
        return clip(text, limit) if html else cut(text, limit)
    return text


def _escaped(text: str, html: bool) -> str:
    return escape(text, quote=False) if html else text


def _shared(texts: list[str], room: int) -> list[str]:
    """``texts`` cut to the largest common length at which together they fit in ``room``."""
    lengths = [length(text) for text in texts]
    if sum(lengths) <= room:
        return texts
    low, high = 0, max(lengths)  # sum(min(n, low)) <= room < sum(min(n, high))
    while high - low > 1:
        middle = (low + high) // 2
        if sum(min(n, middle) for n in lengths) <= room:
            low = middle
        else:
            high = middle
    return [cut(text, low) for text in texts]


# A tag, with quoted attribute values that may hold ">"; everything between tags is text.
_TAG = re.compile(r"""<(?:[^>"']|"[^"]*"|'[^']*')*>""")


def clip(html_text: str, limit: int) -> str:
    """Rendered HTML within ``limit`` visible characters, tags kept and text runs cut.

    For a message already rendered (so which text was typed is unknown): each run of text
    between tags counts as typed, the longest runs give way first, entities are decoded
    before the cut and escaped after it, and no tag is dropped, so none is left open.
    """
    if visible_length(html_text) <= limit:
        return html_text
    parts: list[Part] = []
    position = 0
    for tag in _TAG.finditer(html_text):
        if tag.start() > position:
            parts.append(Typed(unescape(html_text[position : tag.start()])))
        parts.append(tag.group())
        position = tag.end()
    if position < len(html_text):
        parts.append(Typed(unescape(html_text[position:])))
    return compose(limit, [parts])


class _VisibleText(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.count = 0

    def handle_data(self, data: str) -> None:
        self.count += length(data)


def visible_length(html_text: str) -> int:
    """Characters Telegram counts for our own simple HTML (tags removed, entities as one)."""
    counter = _VisibleText()
    counter.feed(html_text)
    counter.close()
    return counter.count


def fit(head_html: str, body: str, limit: int, tail_html: str = "") -> str:
    """``head`` + escaped ``body`` + ``tail`` within ``limit`` visible characters: only the
    owner's free text (``body``) is cut, before escaping (:func:`compose` with one part)."""
    return compose(limit, [[head_html, Typed(body), tail_html]])


def h(text: str) -> str:
    """Escape text typed by a person (owner or shopper) for HTML parse mode."""
    return escape(text, quote=False)
