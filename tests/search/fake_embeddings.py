"""A fake OpenAI-compatible embeddings API of the tests' own (``POST /v1/embeddings``), served
over real HTTP to the ``openai`` package's client: a text's vector counts the stems of a few
"concepts" it holds, so the tests know which texts are alike in meaning."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

CONCEPTS = (
    ("тёпл", "тепл", "зим", "шерст", "футер", "warm", "winter"),  # warmth
    ("подар", "сертификат", "gift", "present"),  # gifts
    ("кофе", "чай", "coffee", "tea"),  # drinks
    ("достав", "посыл", "почт", "курьер", "delivery", "parcel"),  # delivery
)
OTHER = 64  # dimensions of "anything else": each text has a little of one, by its hash
OTHER_WEIGHT = 0.05


def vector(text: str) -> list[float]:
    """The concepts' counts, and a little of a dimension of the text's own (so texts of no
    concept are not alike, and no vector is all zeros)."""
    folded = text.lower()
    other = [0.0] * OTHER
    other[hashlib.blake2b(folded.encode(), digest_size=4).digest()[0] % OTHER] = OTHER_WEIGHT
    return [float(sum(folded.count(stem) for stem in stems)) for stems in CONCEPTS] + other


@dataclass
class FakeEmbeddings:
    url: str = ""
    requests: list[dict[str, Any]] = field(default_factory=list)
    status: int = 200
    delay: float = 0.0

    def texts(self) -> list[str]:
        """Every text embedded so far, in order."""
        return [text for request in self.requests for text in request["input"]]

    async def embeddings(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.requests.append(body)
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.status != 200:
            return web.json_response({"error": {"message": "overloaded"}}, status=self.status)
        inputs = body["input"] if isinstance(body["input"], list) else [body["input"]]
        return web.json_response(
            {
                "object": "list",
                "model": body["model"],
                "data": [
                    {"object": "embedding", "index": index, "embedding": vector(text)}
                    for index, text in enumerate(inputs)
                ],
                "usage": {"prompt_tokens": 1, "total_tokens": 1},
            }
        )


@asynccontextmanager
async def serve_fake_embeddings() -> AsyncIterator[FakeEmbeddings]:
    fake = FakeEmbeddings()
    app = web.Application()
    app.router.add_post("/v1/embeddings", fake.embeddings)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    fake.url = f"http://127.0.0.1:{runner.addresses[0][1]}/v1"
    try:
        yield fake
    finally:
        await runner.cleanup()
