"""Support: telling a question about the shopper's orders from any other."""

from __future__ import annotations

from shopbot.search.analysis import keys, words

# "где мой заказ", "статус заказа", "when will my order arrive": an order word and a word of
# asking after it, in any of their forms.
_ORDER_WORDS = frozenset({"заказ", "order", "посылка"})
_ASKING_WORDS = frozenset(
    {"где", "статус", "когда", "мой", "прийти", "доставить", "отследить", "where", "status", "my"}
)


def asks_about_orders(text: str) -> bool:
    """Does ``text`` ask where the shopper's order is?"""
    forms = [keys(word) for word in words(text)]
    return any(form & _ORDER_WORDS for form in forms) and any(
        form & _ASKING_WORDS for form in forms
    )
