"""Turning text into the keys the index is built from and queried with.

A word's keys are its folded form and every normal form pymorphy3 gives it (all parses, not
only the likeliest: "стали" is both стать and сталь, and the index cannot tell which was
meant), so any form of a word shares a key with the others. The query side adds readings a
shopper did not mean to type: the other keyboard layout, Latin transliteration, synonyms.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

import pymorphy3

from shopbot.search.synonyms import SYNONYMS
from shopbot.services.text import fold

# Letters (any script) and digits; "кот-астроном" and "tsh-001" are two words each.
_WORD = re.compile(r"[^\W_]+")
_CYRILLIC = re.compile("[а-яё]")
_LATIN = re.compile("[a-z]")

# Words that carry no meaning of their own in a shop query.
_STOP_POS = frozenset({"PREP", "CONJ", "PRCL", "INTJ"})
_ENGLISH_STOP = frozenset(
    {"a", "an", "the", "for", "of", "with", "and", "or", "in", "on", "to", "i", "me", "you",
     "want", "need", "buy", "please", "show", "have", "do", "any", "some"}
)  # fmt: skip
# What a shopper says around the goods ("хочу купить футболку"), by normal form.
_FILLER = frozenset(
    {"купить", "покупать", "хотеть", "нужный", "нужно", "надо", "искать", "найти", "показать",
     "посмотреть", "есть", "быть", "иметься", "продавать", "продаваться", "заказать", "я",
     "вы", "мы", "мне", "мой", "ваш", "какой", "пожалуйста", "ли", "что", "где", "можно"}
)  # fmt: skip

# Same keys, two layouts: what "aen,jkrf" was meant to be ("футболка"), and the reverse.
_QWERTY = "`qwertyuiop[]asdfghjkl;'zxcvbnm,./"
_JCUKEN = "ёйцукенгшщзхъфывапролджэячсмитьбю."
_TO_CYRILLIC = str.maketrans(_QWERTY, _JCUKEN)
_TO_LATIN = str.maketrans(_JCUKEN[:-1], _QWERTY[:-1])

# Latin transliteration as people type it (several systems at once), longest first.
_TRANSLIT = sorted(
    {
        "shch": "щ", "sch": "щ", "zh": "ж", "kh": "х", "ch": "ч", "sh": "ш", "ts": "ц",
        "yu": "ю", "ju": "ю", "ya": "я", "ja": "я", "yo": "ё", "jo": "ё", "ye": "е",
        "iy": "ий", "yy": "ый", "a": "а", "b": "б", "c": "к", "d": "д", "e": "е", "f": "ф",
        "g": "г", "h": "х", "i": "и", "j": "й", "k": "к", "l": "л", "m": "м", "n": "н",
        "o": "о", "p": "п", "q": "к", "r": "р", "s": "с", "t": "т", "u": "у", "v": "в",
        "w": "в", "x": "кс", "y": "ы", "z": "з", "'": "ь",
    }.items(),
    key=lambda pair: -len(pair[0]),
)  # fmt: skip

_morph: pymorphy3.MorphAnalyzer | None = None


def _analyzer() -> pymorphy3.MorphAnalyzer:
    global _morph
    if _morph is None:
        _morph = pymorphy3.MorphAnalyzer(lang="ru")
    return _morph


def words(text: str) -> list[str]:
    """The folded words of ``text``."""
    return _WORD.findall(fold(text))


def keys(word: str) -> frozenset[str]:
    """A folded word's index keys: itself and its normal forms (Russian words only)."""
    if not _CYRILLIC.search(word):
        return frozenset((word,))
    return _russian_keys(word)


@lru_cache(maxsize=200_000)
def _russian_keys(word: str) -> frozenset[str]:
    """Parsed once per word (the cost of indexing); numbers and SKUs, each new in an import,
    stay out of the cache."""
    forms = {fold(parse.normal_form) for parse in _analyzer().parse(word)}
    forms.add(word)
    return frozenset(forms)


@lru_cache(maxsize=50_000)
def content_words(text: str) -> list[str]:
    """The words of ``text`` that are not stop words."""
    return [word for word in words(text) if not is_stop_word(word)]


def is_stop_word(word: str) -> bool:
    """A preposition, conjunction, particle, interjection ("для", "и", "for") or a word
    said around the goods ("купить", "хочу")."""
    if _LATIN.search(word):
        return word in _ENGLISH_STOP
    if not _CYRILLIC.search(word):
        return False
    best = _analyzer().parse(word)[0]
    return (best.tag.POS in _STOP_POS and best.score >= 0.5) or fold(best.normal_form) in _FILLER


def transliterate(text: str) -> str:
    """Latin letters read as Russian ones: "futbolka" → "футболка"."""
    out: list[str] = []
    i = 0
    while i < len(text):
        for latin, cyrillic in _TRANSLIT:
            if text.startswith(latin, i):
                out.append(cyrillic)
                i += len(latin)
                break
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


@dataclass(frozen=True)
class Reading:
    """One way to understand a chunk of the query: its meaningful words, and how far it is
    from what was typed (0 as typed, higher for layout, transliteration, synonyms)."""

    words: tuple[str, ...]
    penalty: float
    guessed: bool = False  # another layout or transliteration, not the words typed


Synonyms = Mapping[str, tuple[str, ...]]


def readings(chunk: str, shop_synonyms: Synonyms | None = None) -> list[Reading]:
    """The ways to read one whitespace-separated chunk of a folded query, as typed first;
    none for a chunk of stop words only ("для"). ``shop_synonyms``: the owner's, beside the
    built-in ones (see :func:`synonyms`)."""
    found: list[Reading] = []
    seen: set[tuple[str, ...]] = set()

    def add(text: str, penalty: float, guessed: bool) -> None:
        meaningful = tuple(word for word in _WORD.findall(text) if not is_stop_word(word))
        if meaningful and meaningful not in seen:
            seen.add(meaningful)
            found.append(Reading(meaningful, penalty, guessed))

    def add_with_synonyms(text: str, penalty: float, guessed: bool) -> None:
        add(text, penalty, guessed)
        for synonym in synonyms(text.strip(".,!?;:«»\"'()"), shop_synonyms):
            add(synonym, penalty + 0.05, guessed)

    add_with_synonyms(chunk, 0.0, False)
    if not found:
        return []
    if _LATIN.search(chunk):
        add_with_synonyms(chunk.translate(_TO_CYRILLIC), 0.1, True)
        add(transliterate(chunk), 0.15, True)
    if _CYRILLIC.search(chunk):
        add_with_synonyms(chunk.translate(_TO_LATIN), 0.1, True)
    return found


def synonyms(word: str, shop_synonyms: Synonyms | None = None) -> tuple[str, ...]:
    """The catalogue's words for ``word``: by the word as typed, any of its normal forms,
    or an English plural's singular ("mugs"); from the built-in list and the owner's
    (``shop_synonyms``, keyed like the index: every key of the owner's word)."""
    forms = set(keys(word)) if _WORD.fullmatch(word) else {word}
    if _LATIN.search(word) and word.endswith("s"):
        forms.add(word[:-1])
    found = [synonym for form in sorted(forms) for synonym in SYNONYMS.get(form, ())]
    if shop_synonyms:
        found += [synonym for form in sorted(forms) for synonym in shop_synonyms.get(form, ())]
    return tuple(found)
