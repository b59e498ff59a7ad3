"""The in-memory word index of the active products, and how a query is matched against it.

Each product's name, SKU, the owner's keywords, category path and description are cut into
words and each word into keys (:func:`shopbot.search.analysis.keys`); ``postings[key]`` maps
the products with that key to the weight of the best field it occurs in. A query is cut into
chunks (the words between spaces); every chunk must match a product for the product to be
found (the others are "close matches"). A chunk matches through the best of its readings (as
typed, other layout, transliteration, synonyms), each word of the reading through keys of
the vocabulary: the same key, a derived word (a common stem: "заварка" ~ "заварочный"), a
compound ending in it ("термокружка" for "кружка"), or, when none of those exists, a
vocabulary key a typo or two away ("футбллка"), found with rapidfuzz.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache

from rapidfuzz import process
from rapidfuzz.distance import OSA

from shopbot.search.analysis import Reading, Synonyms, keys, readings, words
from shopbot.services.text import fold

NAME, SKU, KEYWORDS, CATEGORY, DESCRIPTION = 3.0, 3.0, 2.5, 2.0, 1.0
NAME_LEVEL = 2.0  # a match in a field this heavy or heavier is a "name" match

EXACT, COMPOUND, STEM = 1.0, 0.7, 0.6
TYPO = {1: 0.6, 2: 0.45}  # by edit distance
MAX_CHUNKS = 8  # words of a query looked at; a longer text is no product query anyway
READING_SLACK = 0.2  # readings this much worse than the best one are not used
STEM_MIN = 5  # letters a stem shares at least
COMPOUND_REST = 3  # letters a compound has before the word it ends with, at least


@dataclass(frozen=True)
class Texts:
    """What of a product is searched (its terms are made from these)."""

    sku: str
    name: str
    description: str
    category: str  # the category path, "" if none
    keywords: str  # the owner's words for it (the CSV's ``keywords``)


@dataclass(frozen=True)
class Document:
    """What the index keeps of one active product besides its terms: what a result shows
    and what ranks it."""

    id: int
    sku: str
    name: str
    price: int
    stock: int
    position: int | None = None  # the owner's place for it in lists
    name_key: bytes = b""  # the name's natural sort key (№2 before №10)
    sale_price: int | None = None  # a sale, priced when shown (shopbot.services.pricing)
    sale_until: datetime | None = None
    source: str = ""  # the digest of the texts its terms were made from


Terms = dict[str, float]  # index key -> weight of the heaviest field it occurs in


Groups = list[tuple[float, tuple[str, ...]]]  # the keys of each weight, sorted, heaviest first


def analyse(texts: Texts) -> Terms:
    """Every key of the product's texts with the weight of the heaviest field it occurs in."""
    return terms_of(analyse_groups(texts))


def analyse_groups(texts: Texts) -> Groups:
    """The product's keys by the weight of the heaviest field each occurs in (each key in
    one group only, each group sorted).

    An import analyses thousands of products whose categories, descriptions and keywords
    repeat: those fields' keys come sorted from a cache by their text, so a product costs a
    pass over them rather than set algebra and a sort of its own."""
    sku_words = words(texts.sku)
    # The SKU whole too ("tsh-001"), unless it holds a space: a query's chunks never do.
    whole = fold(texts.sku).split()
    sku = _keys_of_words((*sku_words, "".join(sku_words), *whole[: len(whole) == 1]))
    fields = (
        (SKU, sorted(sku)),
        (NAME, sorted(_keys_of_words(words(texts.name)))),  # names seldom repeat: no cache
        (KEYWORDS, _text_keys(texts.keywords)),
        (CATEGORY, _text_keys(texts.category)),
        (DESCRIPTION, _text_keys(texts.description)),
    )
    groups: Groups = []
    taken: set[str] = set()
    for weight, field_keys in fields:
        fresh = [key for key in field_keys if key not in taken]
        if not fresh:
            continue
        taken.update(fresh)
        if groups and groups[-1][0] == weight:  # SKU and name weigh the same
            groups[-1] = (weight, tuple(sorted((*groups[-1][1], *fresh))))
        else:
            groups.append((weight, tuple(fresh)))
    return groups


def terms_of(groups: Groups) -> Terms:
    terms: Terms = {}
    for weight, group in groups:
        terms.update(dict.fromkeys(group, weight))
    return terms


@lru_cache(maxsize=20_000)
def _text_keys(text: str) -> tuple[str, ...]:
    """The keys of a field's words, sorted (category paths and stock phrases repeat:
    cached)."""
    return tuple(sorted(_keys_of_words(words(text))))


def _keys_of_words(field_words: Iterable[str]) -> set[str]:
    found: set[str] = set()
    for word in set(field_words):
        found |= keys(word)
    return found


@dataclass(frozen=True)
class Candidate:
    """How well a vocabulary key matches a query word, and the lightest field it counts in
    (a compound only in names: "термокружки" in a sticker pack's description is no mug)."""

    quality: float
    lightest: float


@dataclass
class Found:
    """Products matching every chunk of a query, best first, and those matching some."""

    ids: list[int]
    close: list[int]
    # With no full match: some word of the query matched a product's name (or SKU, keywords,
    # category): it names goods of the shop, but not as asked ("красная футболка").
    named: bool = False


@dataclass
class _Vocabulary:
    """Lookups derived from the index's keys, rebuilt when the set of keys changes."""

    by_prefix: dict[str, list[str]] = field(default_factory=dict)
    by_suffix: dict[str, list[str]] = field(default_factory=dict)
    fuzzy: list[str] = field(default_factory=list)  # keys a typo may stand for

    @classmethod
    def of(cls, postings: dict[str, dict[int, float]]) -> _Vocabulary:
        vocabulary = cls()
        for key, posting in postings.items():
            if not key.isalpha():
                continue
            # Typos are forgiven in what names goods (a description's "придёт" is no
            # "привет"): words of names, SKUs and categories.
            if len(key) >= 4 and max(posting.values()) >= NAME_LEVEL:
                vocabulary.fuzzy.append(key)
            if len(key) >= STEM_MIN:
                vocabulary.by_prefix.setdefault(key[:STEM_MIN], []).append(key)
            for start in range(COMPOUND_REST, len(key) - STEM_MIN + 1):
                vocabulary.by_suffix.setdefault(key[start:], []).append(key)
        return vocabulary


class Index:
    """Active products by key, changed one product at a time (:meth:`put`, :meth:`remove`)."""

    def __init__(self) -> None:
        self.documents: dict[int, Document] = {}
        self._analysed: dict[int, Terms] = {}
        self._postings: dict[str, dict[int, float]] = {}
        self._vocabulary: _Vocabulary | None = _Vocabulary()
        self._candidates: dict[str, dict[str, Candidate]] = {}
        self.shop_synonyms: Synonyms = {}

    def set_synonyms(self, shop_synonyms: Synonyms) -> None:
        """The owner's synonyms (``/synonyms``), by every key of each word."""
        self.shop_synonyms = shop_synonyms

    def put(self, document: Document, terms: Terms | None) -> None:
        """Add a product or bring it up to date; ``terms`` None: its texts are the same as
        when it was put last (only what it shows and ranks by changed)."""
        if terms is not None:
            self._remove_terms(document.id)
            self._analysed[document.id] = terms
            for key, weight in terms.items():
                posting = self._postings.get(key)
                if posting is None:
                    posting = self._postings[key] = {}
                    self._vocabulary_changed()
                posting[document.id] = weight
        self.documents[document.id] = document

    def remove(self, product_id: int) -> None:
        """Forget a product (hidden, deactivated or gone); nothing if it is not here."""
        self._remove_terms(product_id)
        self.documents.pop(product_id, None)

    def prepare(self) -> None:
        """Build what queries look words up in now rather than in the first query after a
        change."""
        self._vocab()

    def _remove_terms(self, product_id: int) -> None:
        for key in self._analysed.pop(product_id, {}):
            posting = self._postings[key]
            del posting[product_id]
            if not posting:
                del self._postings[key]
                self._vocabulary_changed()

    def _vocabulary_changed(self) -> None:
        self._vocabulary = None
        self._candidates.clear()

    def _vocab(self) -> _Vocabulary:
        if self._vocabulary is None:
            self._vocabulary = _Vocabulary.of(self._postings)
        return self._vocabulary

    def candidates(self, word: str) -> dict[str, Candidate]:
        """The vocabulary keys a query word matches, each with the quality of the match."""
        cached = self._candidates.get(word)
        if cached is not None:
            return cached
        found: dict[str, Candidate] = {}

        def offer(key: str, quality: float, lightest: float = DESCRIPTION) -> None:
            if key not in found or found[key].quality < quality:
                found[key] = Candidate(quality, lightest)

        vocabulary = self._vocab()
        for key in keys(word):
            if key in self._postings:
                offer(key, EXACT)
            if not key.isalpha() or len(key) < STEM_MIN:
                continue
            for other in vocabulary.by_prefix.get(key[:STEM_MIN], ()):
                if _common_prefix(key, other) >= max(STEM_MIN, min(len(key), len(other)) - 3):
                    offer(other, STEM)
            for other in vocabulary.by_suffix.get(key, ()):
                offer(other, COMPOUND, NAME_LEVEL)
        if all(c.quality < EXACT for c in found.values()) and word.isalpha() and len(word) >= 4:
            limit = 2 if len(word) >= 8 else 1
            for other, distance, _ in process.extract(
                word, vocabulary.fuzzy, scorer=OSA.distance, score_cutoff=limit, limit=5
            ):
                offer(other, TYPO[int(distance)])
        if len(self._candidates) > 50_000:
            self._candidates.clear()
        self._candidates[word] = found
        return found

    def _chunk_scores(self, chunk: str) -> dict[int, tuple[float, float]]:
        """Products matching a chunk: (score, weight of the best field) each, through the
        readings that match best (a synonym's exact match beats a typo of what was typed:
        "майка" is a T-shirt, not "марка")."""
        options: list[tuple[float, Reading]] = []
        for reading in readings(chunk, self.shop_synonyms):
            if reading.guessed and options and options[0][0] >= EXACT:
                break  # every word typed is known: no need to guess (nor pay for typos)
            options.append((self._quality(reading), reading))
        top = max((quality for quality, _ in options), default=0.0)
        best: dict[int, tuple[float, float]] = {}
        for quality, reading in options:
            if quality <= 0.0 or quality < top - READING_SLACK:
                continue
            for product_id, scored in self._reading_scores(reading).items():
                if scored > best.get(product_id, (0.0, 0.0)):
                    best[product_id] = scored
        return best

    def _quality(self, reading: Reading) -> float:
        """How well the reading's weakest word matches anything at all (0: not at all)."""
        return (1.0 - reading.penalty) * min(
            max((c.quality for c in self.candidates(word).values()), default=0.0)
            for word in reading.words
        )

    def _reading_scores(self, reading: Reading) -> dict[int, tuple[float, float]]:
        """Products matching every word of the reading: summed score, lightest best field."""
        total: dict[int, tuple[float, float]] | None = None
        for word in reading.words:
            scores: dict[int, tuple[float, float]] = {}
            for key, candidate in self.candidates(word).items():
                value = candidate.quality * (1.0 - reading.penalty)
                for product_id, weight in self._postings[key].items():
                    if weight < candidate.lightest:
                        continue
                    scored = (value * weight, weight)
                    if scored > scores.get(product_id, (0.0, 0.0)):
                        scores[product_id] = scored
            if total is None:
                total = scores
            else:
                total = {
                    product_id: (score + scores[product_id][0], min(weight, scores[product_id][1]))
                    for product_id, (score, weight) in total.items()
                    if product_id in scores
                }
            if not total:
                return {}
        return (total or {}) if len(reading.words) == 1 else _averaged(total or {}, reading)

    def search(self, query: str, close_limit: int = 3) -> Found:
        """Products matching every chunk of ``query``, best first; if there are none, up to
        ``close_limit`` of those matching the most chunks."""
        pieces = [chunk for chunk in fold(query).split() if readings(chunk, self.shop_synonyms)][
            :MAX_CHUNKS
        ]
        if not pieces:
            return Found([], [])
        matched: dict[int, list[tuple[float, float]]] = {}
        for chunk in pieces:
            for product_id, scored in self._chunk_scores(chunk).items():
                matched.setdefault(product_id, []).append(scored)

        def rank(product_id: int) -> tuple[int, bool, float, bool, int, bytes]:
            """Names before descriptions, in stock before sold out, closer matches first,
            then the shop's own order: the owner's position, then the name, naturally."""
            scored = matched[product_id]
            document = self.documents[product_id]
            tier = 0 if min(weight for _, weight in scored) >= NAME_LEVEL else 1
            return (
                tier,
                document.stock <= 0,
                -round(sum(s for s, _ in scored), 6),
                document.position is None,
                document.position or 0,
                document.name_key,
            )

        full = [pid for pid, scored in matched.items() if len(scored) == len(pieces)]
        if full:
            return Found(sorted(full, key=rank), [])
        close = heapq.nsmallest(
            close_limit, matched, key=lambda pid: (-len(matched[pid]), *rank(pid))
        )
        named = any(weight >= NAME_LEVEL for scored in matched.values() for _, weight in scored)
        return Found([], close, named)


def _averaged(
    total: dict[int, tuple[float, float]], reading: Reading
) -> dict[int, tuple[float, float]]:
    """A chunk of several words ("кот-астроном") weighs as much as a chunk of one."""
    count = len(reading.words)
    return {pid: (score / count, weight) for pid, (score, weight) in total.items()}


def _common_prefix(a: str, b: str) -> int:
    length = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        length += 1
    return length
