"""The owner's synonyms: "толстовка = худи" makes a search for either word find both.

A pair is kept as the owner typed it (folded); the index looks each word up by all its keys
(:func:`~shopbot.search.analysis.keys`: the word and every normal form pymorphy3 gives
it), as it looks up the catalogue's words, so any form typed finds the other word. A change
is one unit of work that declares the catalogue changed: this process's index takes it at
the next search, other processes' within ``CATALOGUE_CACHE_SECONDS``.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from shopbot.db import changed, unit_of_work, upsert
from shopbot.models import SearchSynonym
from shopbot.search.analysis import Synonyms, keys, words
from shopbot.services.catalogue import CATALOGUE
from shopbot.services.text import fold

MAX_WORD = 64
MAX_SYNONYMS = 500  # pairs a shop keeps, at most


class BadSynonym(ValueError):
    """Not a synonym: a side empty or too long, the same word twice, or too many kept."""


@dataclass(frozen=True)
class SynonymPair:
    first: str
    second: str


def _clean(word: str) -> str:
    cleaned = " ".join(fold(word).split())
    if not words(cleaned) or len(cleaned) > MAX_WORD:
        raise BadSynonym(word)
    return cleaned


def _keys_of(text: str) -> set[str]:
    return {key for word in words(text) for key in keys(word)}


async def add_synonym(session: AsyncSession, one: str, other: str, *, actor: str) -> bool:
    """Make ``one`` and ``other`` mean the same; False when they already did."""
    first, second = sorted((_clean(one), _clean(other)))
    if _keys_of(first) & _keys_of(second):
        raise BadSynonym(one)  # forms of the same word: search finds them already
    mine, theirs = _keys_of(first), _keys_of(second)
    async with unit_of_work(session):
        kept = (await session.execute(select(SearchSynonym.first, SearchSynonym.second))).all()
        for old_first, old_second in kept:  # the same pair in other forms ("лонгсливы")
            old = (_keys_of(old_first), _keys_of(old_second))
            if (mine & old[0] and theirs & old[1]) or (mine & old[1] and theirs & old[0]):
                return False
        if len(kept) >= MAX_SYNONYMS:
            raise BadSynonym(one)
        statement = upsert(session, SearchSynonym).values(first=first, second=second, actor=actor)
        result = await session.execute(
            statement.on_conflict_do_nothing(index_elements=["first", "second"])
        )
        added = bool(result.rowcount)
        if added:
            changed(session, CATALOGUE)
    return added


async def remove_synonyms(session: AsyncSession, word: str) -> int:
    """Forget every pair with ``word`` (any form of it) on either side; how many went."""
    wanted = _keys_of(_clean(word))
    async with unit_of_work(session):
        pairs = await session.execute(
            select(SearchSynonym.id, SearchSynonym.first, SearchSynonym.second)
        )
        gone = [
            pair_id
            for pair_id, first, second in pairs
            if wanted & (_keys_of(first) | _keys_of(second))
        ]
        if gone:
            await session.execute(delete(SearchSynonym).where(SearchSynonym.id.in_(gone)))
            changed(session, CATALOGUE)
    return len(gone)


async def list_synonyms(session: AsyncSession) -> list[SynonymPair]:
    rows = await session.execute(
        select(SearchSynonym.first, SearchSynonym.second).order_by(
            SearchSynonym.first, SearchSynonym.second
        )
    )
    return [SynonymPair(first, second) for first, second in rows]


async def load_synonyms(session: AsyncSession) -> Synonyms:
    """Each word's synonyms by every key of the word, both ways."""
    found: dict[str, tuple[str, ...]] = {}
    for first, second in await session.execute(
        select(SearchSynonym.first, SearchSynonym.second).order_by(SearchSynonym.id)
    ):
        for word, means in ((first, second), (second, first)):
            for key in _keys_of(word):
                found[key] = (*found.get(key, ()), means)
    return found
