"""The labelled query set (``tests/data/search/queries.csv``) and how a search scores on it.

Each query lists the SKUs a shopper expects to find (none: the shop does not sell it) and
the SKUs that may also be shown without being wrong (a gift set holding a mug, for "mug").
"""

from __future__ import annotations

import csv
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

QUERIES = Path(__file__).parent.parent / "data" / "search" / "queries.csv"
# Queries of meaning, not words ("тёплое на зиму"), for search by meaning; written before
# its floor was tuned.
MEANING_QUERIES = QUERIES.with_name("meaning.csv")
TOP = 5


@dataclass(frozen=True)
class Labelled:
    query: str
    expected: frozenset[str]
    acceptable: frozenset[str]
    kind: str


@dataclass
class Scores:
    recall: float  # mean share of the expected SKUs in the top 5, over queries with some
    precision: float  # mean share of the top 5 that is expected or acceptable, same queries
    mrr: float  # mean reciprocal rank of the first expected SKU
    nothing: float  # share of "the shop does not sell it" queries answered with nothing
    misses: list[tuple[str, list[str]]]  # queries not fully answered, with what was found


def load(path: Path = QUERIES) -> list[Labelled]:
    with path.open(encoding="utf-8", newline="") as file:
        return [
            Labelled(
                row["query"],
                frozenset(row["expected"].split()),
                frozenset(row["acceptable"].split()),
                row["kind"],
            )
            for row in csv.DictReader(file)
        ]


async def evaluate(search: Callable[[str], Awaitable[list[str]]], path: Path = QUERIES) -> Scores:
    """Run every labelled query of ``path`` through ``search`` (query → SKUs, best first)."""
    recall: list[float] = []
    precision: list[float] = []
    ranks: list[float] = []
    nothing: list[bool] = []
    misses: list[tuple[str, list[str]]] = []
    for item in load(path):
        found = (await search(item.query))[:TOP]
        if not item.expected:
            nothing.append(not found)
            if found:
                misses.append((item.query, found))
            continue
        hits = [sku for sku in found if sku in item.expected]
        recall.append(len(hits) / min(len(item.expected), TOP))
        good = item.expected | item.acceptable
        precision.append(sum(sku in good for sku in found) / len(found) if found else 0.0)
        first = next((rank for rank, sku in enumerate(found, 1) if sku in item.expected), None)
        ranks.append(1 / first if first else 0.0)
        if recall[-1] < 1 or precision[-1] < 1:
            misses.append((item.query, found))
    return Scores(
        recall=sum(recall) / len(recall),
        precision=sum(precision) / len(precision),
        mrr=sum(ranks) / len(ranks),
        nothing=sum(nothing) / len(nothing),
        misses=misses,
    )


# Questions typed to the bot over the sample FAQ (``catalog/faq.csv``): paraphrases in
# other words, English ones, and questions it does not answer; written before the FAQ's
# meaning layer was tuned. The expected and acceptable entries are named by their question,
# several of them separated by " | ".
FAQ_QUERIES = QUERIES.with_name("faq_queries.csv")


@dataclass(frozen=True)
class FaqLabelled:
    query: str
    right: frozenset[str]  # the expected and acceptable entries' questions (none: no answer)
    kind: str


@dataclass(frozen=True)
class FaqScores:
    answered: float  # share of the answerable queries answered with a right entry
    wrong: float  # share of all queries answered with a wrong entry (the worst outcome)
    offered: float  # share of the answerable queries with a right entry answered or offered
    nothing: float  # share of the unanswerable queries left without an answer
    misses: list[tuple[str, str | None]]  # queries not answered right, with the answer given


def load_faq(path: Path = FAQ_QUERIES) -> list[FaqLabelled]:
    with path.open(encoding="utf-8", newline="") as file:
        return [
            FaqLabelled(
                row["query"],
                frozenset(
                    question
                    for column in ("expected", "acceptable")
                    for question in row[column].split(" | ")
                    if question
                ),
                row["kind"],
            )
            for row in csv.DictReader(file)
        ]


async def evaluate_faq(
    match: Callable[[str], Awaitable[tuple[str | None, list[str]]]], path: Path = FAQ_QUERIES
) -> FaqScores:
    """Run every labelled question through ``match`` (text → the question of the entry
    answered, or None, and the questions offered loosely)."""
    answered: list[bool] = []
    offered: list[bool] = []
    nothing: list[bool] = []
    wrong = 0
    misses: list[tuple[str, str | None]] = []
    items = load_faq(path)
    for item in items:
        confident, close = await match(item.query)
        if item.right:
            answered.append(confident in item.right)
            offered.append(answered[-1] or any(question in item.right for question in close))
        else:
            nothing.append(confident is None)
        if confident is not None and confident not in item.right:
            wrong += 1
        if confident not in item.right if item.right else confident is not None:
            misses.append((item.query, confident))
    return FaqScores(
        answered=sum(answered) / len(answered),
        wrong=wrong / len(items),
        offered=sum(offered) / len(offered),
        nothing=sum(nothing) / len(nothing),
        misses=misses,
    )
