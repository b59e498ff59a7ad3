"""Answers in plain words to questions the FAQ and the search cannot answer directly ("а эта
футболка садится после стирки?"), from the owner's own LLM: any OpenAI-compatible chat
endpoint (``LLM_API_URL``, ``LLM_API_KEY``, ``LLM_MODEL``) through the ``openai`` package's
async client, installed with ``shopbot[llm]``.

The model is grounded, and distrusted:

- it sees only what is retrieved for the question: the products the shop's own search finds
  (name, SKU, category, price, stock, description), the closest FAQ entries and the asking
  shopper's own latest orders — never another shopper's data, never a tool: it cannot change
  a cart or an order;
- it names products by their SKU in square brackets; every SKU it names must be one it was
  shown, and is turned back into the product's name and a real card under the answer;
- every sum of money it writes must be a price or an order total it was shown;
- it answers ``NO_ANSWER`` when the facts do not hold the answer.

An answer that breaks a rule, a timeout, an error or a refusal gives ``None``: the bot then
answers as it does without an LLM (close matches, the search, a person). Retrieval reads the
database first (:func:`ground`); the model is asked afterwards (:meth:`ShopAssistant.answer`),
so no database connection waits on it.
"""

from __future__ import annotations

import asyncio
import logging
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from shopbot.i18n import N_
from shopbot.models import Category, Product
from shopbot.money import format_price
from shopbot.search import SearchEngine
from shopbot.search.meaning import MeaningIndex
from shopbot.services import faq
from shopbot.services.orders import format_number, orders_of_user

if TYPE_CHECKING:
    from openai import AsyncOpenAI

logger = logging.getLogger(__name__)

PRODUCTS_SHOWN = 5
ORDERS_SHOWN = 3
DESCRIPTION_SHOWN = 600  # characters of each product's description the model sees
ANSWER_LIMIT = 1500  # characters of an answer; a longer one is refused
NO_ANSWER = "NO_ANSWER"
_SKU_REFERENCE = re.compile(r"\[([^\[\]\s]{1,64})\]")
# "1 299 ₽", "1299,00 руб.", "590 rub", "₽590": a sum as the model may write one.
_MONEY = re.compile(
    r"(?:₽\s*(\d[\d\s\u00a0]*(?:[.,]\d{1,2})?))|(\d[\d\s\u00a0]*(?:[.,]\d{1,2})?)\s*(?:₽|руб|р\.|rub|RUB)",
    re.IGNORECASE,
)
_LANGUAGES = {"ru": "Russian", "en": "English"}


@dataclass(frozen=True)
class ProductFact:
    id: int
    sku: str
    name: str
    category: str
    price: int  # kopecks
    stock: int
    description: str


@dataclass(frozen=True)
class OrderFact:
    number: str
    status: str
    total: int  # kopecks
    placed: str  # the date, ISO


@dataclass(frozen=True)
class Grounding:
    """Everything the model may know for one question."""

    question: str
    language: str
    products: list[ProductFact]
    faq: list[tuple[str, str]]  # question, answer
    orders: list[OrderFact]


@dataclass(frozen=True)
class AssistantAnswer:
    text: str  # plain text, SKUs replaced by the products' names
    products: list[ProductFact]  # the products it names, in the order named


async def ground(
    session: AsyncSession,
    search_engine: SearchEngine,
    user_id: int,
    question: str,
    language: str,
    *,
    faq_meaning: MeaningIndex | None = None,
) -> Grounding:
    """Read what the model may see for ``question`` asked by ``user_id`` (the FAQ entries by
    meaning too with ``faq_meaning``)."""
    found = await search_engine.search(session, question, 0, PRODUCTS_SHOWN)
    summaries = found.page.items or found.close[:PRODUCTS_SHOWN]
    products: list[ProductFact] = []
    if summaries:
        rows = await session.execute(
            select(Product, Category.path)
            .outerjoin(Category, Product.category_id == Category.id)
            .where(Product.id.in_([summary.id for summary in summaries]), Product.active)
        )
        by_id = {
            product.id: ProductFact(
                product.id,
                product.sku,
                product.name,
                path or "",
                product.price,
                product.stock,
                (product.description or "")[:DESCRIPTION_SHOWN],
            )
            for product, path in rows
        }
        products = [by_id[summary.id] for summary in summaries if summary.id in by_id]
    matched = await faq.match_question(session, question, meaning=faq_meaning)
    entries = ([matched.confident] if matched.confident else []) + matched.close
    orders, _total = await orders_of_user(session, user_id, limit=ORDERS_SHOWN)
    return Grounding(
        question,
        language,
        products,
        [(entry.question, entry.answer) for entry in entries],
        [
            OrderFact(
                order.number or format_number(order.id),
                str(order.status),
                order.total,
                order.created_at.date().isoformat(),
            )
            for order in orders
        ],
    )


# The first word of a question ("а эта футболка садится после стирки?" ends with its mark).
_QUESTION_WORDS = frozenset(
    {"как", "какой", "какая", "какое", "какие", "каким", "какого", "сколько", "почему",
     "зачем", "можно", "есть", "где", "когда", "куда", "откуда", "что", "чем", "кто", "ли",
     "подойдёт", "подойдет", "подскажите", "how", "what", "which", "can", "could", "do",
     "does", "is", "are", "where", "when", "why", "will", "would", "should"}
)  # fmt: skip


def is_question(text: str) -> bool:
    """Text worth asking the model about: a question, not a product name typed to search."""
    words = re.findall(r"\w+", text.casefold())
    if not words:
        return False
    return (
        text.rstrip().endswith("?")
        or words[0] in _QUESTION_WORDS
        or (words[0] == "а" and len(words) > 1 and words[1] in _QUESTION_WORDS)
    )


class ShopAssistant:
    def __init__(self, client: AsyncOpenAI, model: str, *, timeout: float) -> None:
        self._client = client
        self._model = model
        self._timeout = timeout

    async def close(self) -> None:
        await self._client.close()

    async def answer(self, grounding: Grounding) -> AssistantAnswer | None:
        """The model's answer if it keeps every rule; ``None`` otherwise (see the module)."""
        if not grounding.products and not grounding.faq and not grounding.orders:
            return None  # nothing to ground an answer in
        try:
            async with asyncio.timeout(self._timeout):
                completion = await self._client.chat.completions.create(
                    model=self._model,
                    temperature=0,
                    max_tokens=500,
                    messages=[
                        {"role": "system", "content": _instructions(grounding.language)},
                        {"role": "user", "content": _facts(grounding)},
                    ],
                )
        except TimeoutError:
            logger.warning("the LLM did not answer within %s s", self._timeout)
            return None
        except Exception as exc:  # the openai client's errors, and whatever a proxy answers
            logger.warning("the LLM failed: %s", " ".join(str(exc).split())[:300])
            return None
        choices = getattr(completion, "choices", None) or []
        content = choices[0].message.content if choices and choices[0].message else None
        return checked(content or "", grounding)


def checked(reply: str, grounding: Grounding) -> AssistantAnswer | None:
    """``reply`` as an answer, if it keeps the rules: known SKUs only, known sums only."""
    reply = reply.strip()
    if not reply or NO_ANSWER in reply or len(reply) > ANSWER_LIMIT:
        return None
    by_sku = {product.sku.casefold(): product for product in grounding.products}
    named: list[ProductFact] = []
    for reference in _SKU_REFERENCE.findall(reply):
        product = by_sku.get(reference.casefold())
        if product is None:
            logger.info("the LLM named a product it was not shown: %r", reference)
            return None
        if product not in named:
            named.append(product)
    known_sums = {product.price for product in grounding.products} | {
        order.total for order in grounding.orders
    }
    for match in _MONEY.finditer(reply):
        written = _kopecks(match.group(1) or match.group(2))
        if written not in known_sums:
            logger.info("the LLM wrote a sum it was not shown: %r", match.group(0))
            return None
    text = _SKU_REFERENCE.sub(lambda m: by_sku[m.group(1).casefold()].name, reply)
    return AssistantAnswer(text, named)


def _kopecks(written: str) -> int | None:
    digits = re.sub(r"[\s\u00a0]", "", written).replace(",", ".")
    try:
        return round(float(digits) * 100)
    except ValueError:
        return None


def _instructions(language: str) -> str:
    return (
        "You answer a shopper's question in a shop's chat. Use ONLY the facts in the "
        "shopper's message: the shop's products, its FAQ, the shopper's own orders. "
        f"Answer in {_LANGUAGES.get(language, 'Russian')}, briefly (at most 5 sentences), in "
        "plain text without markup. Name a product only by its SKU in square brackets, like "
        "[SKU-1]; never name products that are not listed. Do not state prices or sums unless "
        "copied exactly from the facts. Never promise to change a cart or an order. If the "
        f"facts do not answer the question, reply with exactly {NO_ANSWER}."
    )


def _facts(grounding: Grounding) -> str:
    lines = ["Products:"]
    lines += [
        f"- [{p.sku}] {p.name}; category: {p.category or '-'}; price: {format_price(p.price)}; "
        f"in stock: {p.stock}; description: {p.description or '-'}"
        for p in grounding.products
    ] or ["- none found"]
    lines.append("FAQ:")
    lines += [f"- Q: {q}\n  A: {a}" for q, a in grounding.faq] or ["- none"]
    lines.append("The shopper's orders:")
    lines += [
        f"- order {o.number} of {o.placed}: status {o.status}, total {format_price(o.total)}"
        for o in grounding.orders
    ] or ["- none"]
    lines.append(f"The shopper's question: {grounding.question}")
    return "\n".join(lines)


NO_OPENAI = N_(
    "LLM_API_URL is set, but the openai package is not installed: pip install 'shopbot[llm]'"
)


def create_assistant(
    api_url: str, api_key: str | None, model: str, *, timeout: float
) -> ShopAssistant:
    """The assistant over the endpoint ``api_url`` (the ``openai`` package: ``shopbot[llm]``).
    No retries: a shopper is waiting, and the bot has an answer without the model."""
    from openai import AsyncOpenAI

    client = AsyncOpenAI(
        base_url=api_url, api_key=api_key or "none", timeout=timeout, max_retries=0
    )
    return ShopAssistant(client, model, timeout=timeout)
