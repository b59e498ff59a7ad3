"""What a message asks for besides goods: "позовите менеджера", "хочу поговорить с
человеком", "talk to a human" ask for a person.

A message asks for a person when it names one (менеджер, человек, оператор, manager, human…)
and every other word is a word of asking for them (позвать, поговорить, связаться, живой,
talk, speak…) or says nothing of its own ("хочу", "с", "please"), in any of their forms:
"футболка «Человек-паук»" names goods, so it stays a search.
"""

from __future__ import annotations

from shopbot.search.analysis import is_stop_word, keys, words

_PERSON = frozenset(
    {"менеджер", "человек", "оператор", "консультант", "продавец", "сотрудник",
     "администратор", "поддержка", "manager", "human", "person", "operator", "agent",
     "someone", "somebody", "staff", "support"}
)  # fmt: skip
_ASKING = frozenset(
    {"позвать", "звать", "поговорить", "говорить", "связаться", "связь", "соединить",
     "переключить", "дать", "позвонить", "написать", "общаться", "пообщаться", "живой",
     "настоящий", "talk", "speak", "call", "connect", "contact", "get", "real",
     "live", "chat", "can", "could", "may", "let", "would", "like", "wish"}
)  # fmt: skip


def asks_for_a_person(text: str) -> bool:
    """Does ``text`` ask to talk to someone at the shop?"""
    named = False
    for word in words(text):
        forms = keys(word)
        if forms & _PERSON:
            named = True
        elif not forms & _ASKING and not is_stop_word(word):
            return False
    return named
