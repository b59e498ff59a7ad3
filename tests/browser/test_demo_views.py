"""What the chat page is given to draw: sanitised HTML and plain message views."""

from __future__ import annotations

import pytest

from shopbot.demo.sanitize import sanitize_html
from shopbot.demo.views import keyboard_view, message_view

BOT_ID = 7000000001


KEPT = [
    "<b>Кружка</b> &amp; <i>чай</i>",
    "<strong>a</strong><em>b</em><u>c</u><s>d</s><ins>e</ins><del>f</del>",
    '<span class="tg-spoiler">x</span>',
    '<pre><code class="language-python">1 &lt; 2</code></pre>',
]
LINK = "https://example.com/?a=1&amp;b=&quot;2&quot;"
CHANGED = [
    ("<tg-spoiler>x</tg-spoiler>", '<span class="tg-spoiler">x</span>'),
    ('<span class="other">y</span>', "y"),
    ('<code class="language-x onclick=1">c</code>', "<code>c</code>"),
    ("<blockquote expandable>q</blockquote>", '<blockquote class="expandable">q</blockquote>'),
    ('<tg-emoji emoji-id="5368324170671202286">👍</tg-emoji>', "👍"),
    ("<script>alert(1)</script>", "alert(1)"),
    ('<img src="x" onerror="alert(1)">text', "text"),
    ('<b onclick="alert(1)">bold</b>', "<b>bold</b>"),
    ('<a href="javascript:alert(1)">link</a>', "link"),
    (
        f'<a href="{LINK}">ok</a>',
        f'<a href="{LINK}" target="_blank" rel="noopener noreferrer">ok</a>',
    ),
    ("<b><i>unclosed", "<b><i>unclosed</i></b>"),
    ("<b><i>x</b> y</i>", "<b><i>x</i></b> y"),
]


@pytest.mark.parametrize("source", KEPT)
def test_telegram_html_is_kept(source: str) -> None:
    assert sanitize_html(source) == source


@pytest.mark.parametrize(("source", "expected"), CHANGED)
def test_anything_else_is_dropped(source: str, expected: str) -> None:
    assert sanitize_html(source) == expected


def test_a_bot_photo_with_caption_and_buttons() -> None:
    photo = [
        {"file_id": "small", "width": 90, "height": 90},
        {"file_id": "medium", "width": 800, "height": 800},
        {"file_id": "big/one", "width": 1200, "height": 1200},
    ]
    message = {
        "message_id": 7,
        "from": {"id": BOT_ID},
        "photo": photo,
        "caption": "Кружка",
        "html_text": "<b>Кружка</b><script>x</script>",
        "edit_date": 1,
        "reply_markup": {
            "inline_keyboard": [
                [{"text": "🛒", "callback_data": "cart:add"}, {"text": "Pay", "url": "http://p"}],
                [{"text": "Share", "switch_inline_query": ""}],
            ]
        },
    }
    assert message_view(message, BOT_ID) == {
        "id": 7,
        "outgoing": False,
        "edited": True,
        "html": "<b>Кружка</b>x",
        "buttons": [
            [{"text": "🛒", "data": "cart:add"}, {"text": "Pay", "url": "http://p"}],
            [{"text": "Share"}],
        ],
        "photo": {"url": "/file/medium", "width": 800, "height": 800},
    }


def test_what_the_person_sent_is_escaped() -> None:
    document = {"file_id": "doc", "file_name": "new <1>.csv", "file_size": 64}
    message = {
        "message_id": 3,
        "from": {"id": 5000002},
        "document": document,
        "caption": "/import <b>",
    }
    view = message_view(message, BOT_ID)
    assert view["outgoing"] and view["html"] == "/import &lt;b&gt;"
    assert view["document"] == {
        "name": "new <1>.csv",
        "size": 64,
        "url": "/file/doc?name=new%20%3C1%3E.csv",
    }
    contact = {
        "message_id": 4,
        "from": {"id": 5},
        "contact": {"phone_number": "+7900", "first_name": "Анна"},
    }
    assert message_view(contact, BOT_ID)["contact"] == {"phone": "+7900", "name": "Анна"}


def test_reply_keyboard_rows() -> None:
    markup = {"keyboard": [[{"text": "📱 Номер", "request_contact": True}], [{"text": "Назад"}]]}
    assert keyboard_view(markup) == [
        [{"text": "📱 Номер", "contact": True}],
        [{"text": "Назад", "contact": False}],
    ]
    assert keyboard_view(None) == []
