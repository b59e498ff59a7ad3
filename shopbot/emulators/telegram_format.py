"""Telegram's checks on what a bot sends: HTML parse mode, message entities, reply markup.

Kept apart from the HTTP emulator because these are pure functions of the request values.
Texts are measured the way the Bot API measures them: limits in characters (code points),
entity offsets and lengths in UTF-16 code units.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlsplit

from shopbot import jsonsafe

CALLBACK_DATA_MAX_BYTES = 64
TEXT_MAX = 4096  # characters of a message's text, after entity parsing
CAPTION_MAX = 1024
# Leading and trailing characters Telegram strips from texts and captions.
_TRIMMED = " \t\n\r\x0b\x0c"
_TAG_ENTITIES = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}
_NAMED_CHARACTERS = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_CHARACTER_REFERENCE = re.compile(r"&(?:#([0-9]{1,8})|#[xX]([0-9a-fA-F]{1,8})|([A-Za-z0-9]+));")
_NAME = re.compile(r"[A-Za-z0-9-]*")
_UNQUOTED_VALUE = re.compile(r"[^\s>]*")
_INLINE_ACTIONS = (
    "url",
    "callback_data",
    "web_app",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
)
_URL_SCHEMES = frozenset({"http", "https", "tg"})


class ApiFailure(Exception):
    """A request Telegram would refuse; rendered as ``{"ok": false, ...}`` with ``status``."""

    def __init__(self, status: int, description: str, *, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.retry_after = retry_after

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "ok": False,
            "error_code": self.status,
            "description": self.description,
        }
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body


def bad_request(reason: str) -> ApiFailure:
    return ApiFailure(400, f"Bad Request: {reason}")


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


@dataclass(frozen=True)
class FormattedText:
    """A text or caption as Telegram stores it, plus the HTML it came from (for a UI)."""

    text: str
    entities: list[dict[str, Any]]
    html: str


def format_text(raw: str, parse_mode: str | None, entities: Any) -> FormattedText:
    """Parse ``raw`` like the Bot API: explicit entities win over ``parse_mode``; then trim.

    ``html`` is the original markup for HTML texts and the escaped text otherwise.
    """
    mode = (parse_mode or "").lower()
    if entities is not None:
        text, found = raw, _checked_entities(entities, raw)
    elif mode == "":
        text, found = raw, []
    elif mode == "html":
        text, found = parse_html(raw)
    elif mode in ("markdown", "markdownv2"):
        raise bad_request(
            f"can't parse entities: parse_mode {parse_mode} is not supported by the emulator, "
            "use HTML"
        )
    else:
        raise bad_request("unsupported parse_mode")
    text, found = _trim(text, found)
    html = raw if mode == "html" and entities is None else _escape(text)
    return FormattedText(text, found, html)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _checked_entities(value: Any, text: str) -> list[dict[str, Any]]:
    if not isinstance(value, list) or not all(
        isinstance(entity, dict)
        and isinstance(entity.get("type"), str)
        and isinstance(entity.get("offset"), int)
        and isinstance(entity.get("length"), int)
        for entity in value
    ):
        raise bad_request("can't parse entities JSON object")
    size = utf16_len(text)
    for entity in value:
        if (
            entity["offset"] < 0
            or entity["length"] < 0
            or entity["offset"] + entity["length"] > size
        ):
            raise bad_request("can't parse entities: entity is out of the text bounds")
    return [dict(entity) for entity in value if entity["length"] > 0]


def _trim(text: str, entities: list[dict[str, Any]]) -> tuple[str, list[dict[str, Any]]]:
    """Strip surrounding whitespace and cut the entities to what is left."""
    left_stripped = text.lstrip(_TRIMMED)
    shift = utf16_len(text) - utf16_len(left_stripped)
    result = left_stripped.rstrip(_TRIMMED)
    size = utf16_len(result)
    trimmed = []
    for entity in entities:
        start = max(entity["offset"] - shift, 0)
        end = min(entity["offset"] + entity["length"] - shift, size)
        if end > start:
            trimmed.append({**entity, "offset": start, "length": end - start})
    return result, trimmed


@dataclass
class _OpenTag:
    name: str
    attributes: dict[str, str]
    start: int  # UTF-16 offset in the parsed text
    language_code: dict[str, Any] | None = None  # a direct <code class="language-x"> child
    language: str | None = None


def _reference(source: str, index: int) -> tuple[str, int]:
    """The character ``&...;`` at ``index`` stands for, and the index after it.

    Raises ``ValueError`` with Telegram's reason; unlike Telegram, which keeps a bare ``&``
    as text, the emulator refuses it so that unescaped user data is caught in tests.
    """
    match = _CHARACTER_REFERENCE.match(source, index)
    if match is None:
        raise ValueError('Unescaped "&"')
    decimal, hexadecimal, name = match.groups()
    if name is not None:
        if name not in _NAMED_CHARACTERS:
            raise ValueError(f'Unsupported HTML entity "&{name};"')
        return _NAMED_CHARACTERS[name], match.end()
    code = int(decimal) if decimal is not None else int(hexadecimal, 16)
    if code == 0 or code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
        raise ValueError("Invalid character reference")
    return chr(code), match.end()


class _HtmlParser:
    """Telegram's HTML subset, with its error messages (byte offsets into the UTF-8 source)."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.position = 0
        self.parts: list[str] = []
        self.length = 0  # of the parsed text, in UTF-16 code units
        self.stack: list[_OpenTag] = []
        self.entities: list[dict[str, Any]] = []

    def fail(self, reason: str, index: int | None = None) -> ApiFailure:
        if index is not None:
            reason = f"{reason} at byte offset {len(self.source[:index].encode('utf-8'))}"
        return bad_request(f"can't parse entities: {reason}")

    def emit(self, text: str) -> None:
        self.parts.append(text)
        self.length += utf16_len(text)

    def parse(self) -> tuple[str, list[dict[str, Any]]]:
        source = self.source
        while self.position < len(source):
            char = source[self.position]
            if char == "&":
                character, self.position = self.reference(self.position)
                self.emit(character)
            elif source.startswith("</", self.position):
                self.end_tag()
            elif char == "<":
                self.start_tag()
            else:
                following = [source.find(mark, self.position) for mark in "<&"]
                end = min((index for index in following if index != -1), default=len(source))
                self.emit(source[self.position : end])
                self.position = end
        if self.stack:
            name = self.stack[-1].name
            raise self.fail(f'Can\'t find end tag corresponding to start tag "{name}"')
        self.entities.sort(key=lambda entity: (entity["offset"], -entity["length"]))
        return "".join(self.parts), self.entities

    def reference(self, index: int) -> tuple[str, int]:
        try:
            return _reference(self.source, index)
        except ValueError as error:
            raise self.fail(str(error), index) from None

    def skip_spaces(self, index: int) -> int:
        while index < len(self.source) and self.source[index].isspace():
            index += 1
        return index

    def name_at(self, index: int) -> tuple[str, int]:
        match = _NAME.match(self.source, index)
        assert match is not None  # the pattern matches the empty string
        return match.group().lower(), match.end()

    def start_tag(self) -> None:
        begin = self.position
        name, index = self.name_at(begin + 1)
        if name not in _TAG_ENTITIES:
            raise self.fail(f'Unsupported start tag "{name}"', begin)
        attributes = self.attributes(name, index, begin)
        if name == "span" and attributes.get("class") != "tg-spoiler":
            raise self.fail('Tag "span" must have class "tg-spoiler"', begin)
        if name == "tg-emoji" and not attributes.get("emoji-id", "").isdigit():
            raise self.fail('Tag "tg-emoji" must have attribute "emoji-id"', begin)
        self.stack.append(_OpenTag(name, attributes, self.length))

    def attributes(self, tag: str, index: int, begin: int) -> dict[str, str]:
        """Read ``name="value"`` pairs up to ``>`` and move past it."""
        source = self.source
        attributes: dict[str, str] = {}
        while True:
            index = self.skip_spaces(index)
            if index >= len(source):
                raise self.fail("Unclosed start tag", begin)
            if source[index] == ">":
                self.position = index + 1
                return attributes
            name, after_name = self.name_at(index)
            if not name:
                raise self.fail(f'Empty attribute name in the tag "{tag}"', index)
            index = self.skip_spaces(after_name)
            value = ""
            if index < len(source) and source[index] == "=":
                index = self.skip_spaces(index + 1)
                if index < len(source) and source[index] in "\"'":
                    end = source.find(source[index], index + 1)
                    if end == -1:
                        raise self.fail("Unclosed start tag", begin)
                    value, index = self.unescape(index + 1, end), end + 1
                else:
                    match = _UNQUOTED_VALUE.match(source, index)
                    assert match is not None
                    value, index = self.unescape(index, match.end()), match.end()
            attributes[name] = value

    def unescape(self, start: int, end: int) -> str:
        """The attribute value ``source[start:end]`` with character references decoded."""
        value: list[str] = []
        index = start
        while index < end:
            if self.source[index] == "&":
                character, index = self.reference(index)
                value.append(character)
            else:
                value.append(self.source[index])
                index += 1
        return "".join(value)

    def end_tag(self) -> None:
        begin = self.position
        name, index = self.name_at(begin + 2)
        index = self.skip_spaces(index)
        if index >= len(self.source) or self.source[index] != ">":
            raise self.fail("Unclosed end tag", begin)
        if not self.stack:
            raise self.fail("Unexpected end tag", begin)
        opened = self.stack.pop()
        if name != opened.name:
            raise self.fail(
                f"Unmatched end tag at byte offset {len(self.source[:begin].encode('utf-8'))}, "
                f'expected "</{opened.name}>", found "</{name}>"'
            )
        self.position = index + 1
        self.close(opened)

    def close(self, opened: _OpenTag) -> None:
        length = self.length - opened.start
        entity: dict[str, Any] = {
            "type": _TAG_ENTITIES[opened.name],
            "offset": opened.start,
            "length": length,
        }
        if opened.name == "a":
            if not opened.attributes.get("href"):
                return
            entity["url"] = opened.attributes["href"]
        elif opened.name == "tg-emoji":
            entity["custom_emoji_id"] = opened.attributes["emoji-id"]
        elif opened.name == "blockquote" and "expandable" in opened.attributes:
            entity["type"] = "expandable_blockquote"
        elif opened.name == "pre" and opened.language_code is not None:
            code = opened.language_code
            if code["offset"] == opened.start and code["length"] == length:
                self.entities.remove(code)
                entity["language"] = opened.language
        if length == 0:
            return
        self.entities.append(entity)
        language = opened.attributes.get("class", "")
        parent = self.stack[-1] if self.stack else None
        in_pre = parent is not None and parent.name == "pre"
        if opened.name == "code" and in_pre and language.startswith("language-"):
            assert parent is not None
            parent.language_code = entity
            parent.language = language.removeprefix("language-")


def parse_html(source: str) -> tuple[str, list[dict[str, Any]]]:
    """Plain text and entities of a ``parse_mode=HTML`` text, or ``ApiFailure``."""
    return _HtmlParser(source).parse()


@dataclass(frozen=True)
class ReplyMarkup:
    """A validated ``reply_markup``: an inline keyboard or an effect on the reply keyboard."""

    kind: Literal["inline", "keyboard", "remove", "force_reply"]
    data: dict[str, Any]


INLINE_BUTTONS_MAX = 100  # per message; more is refused as "reply markup is too long"


def parse_reply_markup(value: Any) -> ReplyMarkup | None:
    """Validate a ``reply_markup``; an inline keyboard without buttons counts as none."""
    markup = _json_object(value)
    if "inline_keyboard" in markup:
        rows = _rows(markup["inline_keyboard"], "inline_keyboard", "InlineKeyboardMarkup")
        checked = [[_inline_button(button) for button in row] for row in rows if row]
        if sum(map(len, checked)) > INLINE_BUTTONS_MAX:
            raise bad_request("reply markup is too long")
        return ReplyMarkup("inline", {"inline_keyboard": checked}) if checked else None
    if "keyboard" in markup:
        rows = _rows(markup["keyboard"], "keyboard", "ReplyKeyboardMarkup")
        keyboard = [[_keyboard_button(button) for button in row] for row in rows if row]
        if not keyboard:
            raise bad_request("keyboard must be non-empty")
        return ReplyMarkup("keyboard", {**markup, "keyboard": keyboard})
    if markup.get("remove_keyboard") is True:
        return ReplyMarkup("remove", markup)
    if markup.get("force_reply") is True:
        return ReplyMarkup("force_reply", markup)
    raise bad_request("can't parse reply keyboard markup JSON object")


def _json_object(value: Any) -> dict[str, Any]:
    if isinstance(value, str):
        try:
            value = jsonsafe.loads(value)
        except ValueError:
            raise bad_request("can't parse reply keyboard markup JSON object") from None
    if not isinstance(value, dict):
        raise bad_request("can't parse reply keyboard markup JSON object")
    return value


def _rows(value: Any, name: str, kind: str) -> list[list[Any]]:
    if not isinstance(value, list) or not all(isinstance(row, list) for row in value):
        raise bad_request(f'field "{name}" of the {kind} should be an Array of Arrays')
    return value


def _inline_button(button: Any) -> dict[str, Any]:
    if not isinstance(button, dict):
        raise bad_request(
            "can't parse inline keyboard button: InlineKeyboardButton must be an Object"
        )
    _button_text(button, "inline keyboard")
    actions = [name for name in _INLINE_ACTIONS if button.get(name) is not None]
    if not actions:
        raise bad_request(
            "can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard"
        )
    if len(actions) > 1:
        raise bad_request(
            "can't parse inline keyboard button: exactly one of the optional fields must be "
            f"used, found {', '.join(actions)}"
        )
    data = button.get("callback_data")
    if data is not None and (
        not isinstance(data, str) or not 1 <= len(data.encode("utf-8")) <= CALLBACK_DATA_MAX_BYTES
    ):
        raise bad_request("BUTTON_DATA_INVALID")
    url = button.get("url")
    if url is not None and not valid_url(url):
        raise bad_request(f"inline keyboard button URL '{url}' is invalid: Wrong HTTP URL")
    return button


def valid_url(url: Any) -> bool:
    if not isinstance(url, str):
        return False
    parts = urlsplit(url)
    return parts.scheme.lower() in _URL_SCHEMES and bool(parts.netloc)


def _keyboard_button(button: Any) -> dict[str, Any]:
    if isinstance(button, str):
        button = {"text": button}
    if not isinstance(button, dict):
        raise bad_request(
            "can't parse keyboard button: KeyboardButton must be a String or an Object"
        )
    _button_text(button, "keyboard")
    return button


def _button_text(button: dict[str, Any], keyboard: str) -> None:
    text = button.get("text")
    if not isinstance(text, str):
        raise bad_request(f'can\'t parse {keyboard} button: Field "text" must be of type String')
    if not text.strip():
        raise bad_request("BUTTON_TEXT_INVALID")
