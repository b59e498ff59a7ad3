"""Search by meaning through the real dispatcher and the shop's own background pass, against
the fake embeddings API (``tests.search.fake_embeddings``)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from shopbot.models import MeaningVector, Product
from shopbot.services.variants import listed
from tests.bot.conftest import Catalogue, ShopFactory, buttons
from tests.factories import make_product
from tests.search.fake_embeddings import FakeEmbeddings, serve_fake_embeddings


@pytest.fixture
async def fake() -> AsyncIterator[FakeEmbeddings]:
    async with serve_fake_embeddings() as served:
        yield served


async def vectors_computed(session: AsyncSession) -> None:
    """Wait (a bounded while) for the shop's background pass to embed every product."""
    products = await session.scalar(select(func.count()).select_from(Product).where(listed()))
    for _ in range(200):
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
