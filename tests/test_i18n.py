"""The core's texts: rendered in a language, stored and rendered later."""

from __future__ import annotations

from shopbot.i18n import N_, Text, render_stored
from shopbot.importer.columns import Column


def test_a_text_renders_in_each_language_with_its_values() -> None:
    text = Text(N_("The header has {count} columns; a catalogue has at most {most}."))
    text = Text(text.template, {"count": 1_500_003, "most": 100})
    assert text.render("en") == "The header has 1,500,003 columns; a catalogue has at most 100."
    assert (
        text.render("ru")
        == "Столбцов в заголовке: 1\u00a0500\u00a0003, а в каталоге их не больше 100."
    )
    assert text.render("de") == text.render("ru")  # a language the shop does not speak
    column = Text(
        N_("Column “{column}” is empty; every product needs one."), {"column": Column("price")}
    )
    assert column.render("ru") == "Столбец «Цена» не заполнен, а он нужен каждому товару."


def test_a_stored_text_comes_back_in_the_readers_language() -> None:
    inner = Text(N_("amount {amount}, order total {total}"), {"amount": "1 ₽", "total": "2 ₽"})
    outer = Text(
        N_("payment {payment} does not match the order ({problem}): never paid"),
        {"payment": "p-{1}", "problem": inner},
    )
    stored = outer.encode()
    assert render_stored(stored, "en") == outer.render("en")
    assert render_stored(stored, "ru").startswith("платёж p-{1} не сходится с заказом (сумма 1 ₽")
    assert outer.encode() == stored  # the same reason stores the same string: flagged once


def test_other_stored_strings_show_as_they_are() -> None:
    for stored in ("payment 42 does not match: never paid", "{not json", "5", '{"text": "{x}"}'):
        assert render_stored(stored, "ru") == stored
