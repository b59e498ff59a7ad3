"""The Mini App's words: each in Russian and English, and the page uses only known ones."""

from __future__ import annotations

import re

from shopbot.web.miniapp import STATIC_DIR
from shopbot.web.miniapp_texts import PAGE_TEXTS, page_texts

SCRIPT = (STATIC_DIR / "app.js").read_text("utf-8")
PAGE = (STATIC_DIR / "index.html").read_text("utf-8")


def test_every_word_of_the_app_is_translated() -> None:
    russian, english = page_texts("ru"), page_texts("en")
    assert english == PAGE_TEXTS
    assert [key for key in PAGE_TEXTS if russian[key] == english[key]] == []
    # The placeholders survive translation: the page fills them in.
    for key, text in PAGE_TEXTS.items():
        assert set(re.findall(r"\{\w+\}", russian[key])) == set(re.findall(r"\{\w+\}", text))


def test_the_app_uses_only_known_words_and_writes_none_itself() -> None:
    used = set(re.findall(r"\bT\.(\w+)", SCRIPT))
    # Keys looked up by value: a cart line's issue, a delivery option's kind.
    used |= {"unavailable", "out_of_stock", "pickup", "courier"}
    assert used - PAGE_TEXTS.keys() == set()
    assert PAGE_TEXTS.keys() - used == set()  # no word sent that the page never shows
    words = re.sub(r"<[^>]*>", " ", PAGE)
    assert [word for word in words.split() if re.search(r"[^\W\d_]", word)] == ["shop"]
