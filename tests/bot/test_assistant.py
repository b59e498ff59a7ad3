"""Questions answered by the owner's LLM through the real dispatcher, against a fake
OpenAI-compatible server of the test's own (the ``openai`` package's client talks to it over
HTTP): grounded in the shop's facts, distrusted, and never in the way when it fails."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web

from shopbot.services.assistant import (
    Grounding,
    OrderFact,
    ProductFact,
    checked,
    is_question,
)
from tests.bot.conftest import Catalogue, Shop, ShopFactory, buttons, check_out

Reply = Callable[[dict[str, Any]], Any]  # the request's JSON -> the answer's text (or raises)


@dataclass
class FakeLLM:
    """``POST /v1/chat/completions``: answers with what ``reply`` gives for each request."""

    reply: Reply = lambda _request: "NO_ANSWER"
    requests: list[dict[str, Any]] = field(default_factory=list)
    status: int = 200
    delay: float = 0.0
    url: str = ""

    async def completions(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.requests.append(body)
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.status != 200:
            return web.json_response({"error": {"message": "overloaded"}}, status=self.status)
        return web.json_response(
            {
                "id": "chatcmpl-1",
                "object": "chat.completion",
                "created": 1,
                "model": body["model"],
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": self.reply(body)},
                        "finish_reason": "stop",
                    }
                ],
                "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
            }
        )

    def prompt(self, number: int = -1) -> str:
        return self.requests[number]["messages"][-1]["content"]


@pytest.fixture
async def llm() -> AsyncIterator[FakeLLM]:
    fake = FakeLLM()
    app = web.Application()
    app.router.add_post("/v1/chat/completions", fake.completions)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    fake.url = f"http://127.0.0.1:{port}/v1"
    yield fake
    await runner.cleanup()


@pytest.fixture
async def llm_shop(shop_factory: ShopFactory, llm: FakeLLM, catalogue: Catalogue) -> Shop:
    return await shop_factory(
        llm_api_url=llm.url, llm_api_key="sk-test", llm_model="shop-model", llm_timeout=1
    )


QUESTION = "а кружка «Утро» выдержит посудомойку?"


async def test_a_question_is_answered_from_the_shops_facts_with_a_real_card(
    llm_shop: Shop, llm: FakeLLM
) -> None:
    llm.reply = lambda _request: "Да, [MUG-1] можно мыть в посудомойке, она стоит 490 ₽."
    vera = llm_shop.emulator.user(811, "Вера")
    await vera.send_text("/start")
    await vera.send_text(QUESTION)

    assert "Да, Кружка «Утро» можно мыть в посудомойке, она стоит 490 ₽." in vera.last["text"]
    assert "Автоматический ответ" in vera.last["text"]
    assert buttons(vera.last) == [
        "490\u00a0₽ · Кружка «Утро»",
        "Не нашли ответ? Написать менеджеру",
    ]
    await vera.press("490\u00a0₽ · Кружка «Утро»")
    assert vera.last.get("photo") and "Кружка «Утро»" in vera.last["caption"]

    (request,) = llm.requests
    assert request["model"] == "shop-model"
    facts = llm.prompt()
    assert "[MUG-1] Кружка «Утро»" in facts and "посудомойку & микроволновку" in facts
    assert "MUG-H" not in facts  # a hidden product is never shown to the model
    assert "Russian" in request["messages"][0]["content"]
    assert llm_shop.emulator.count("sendChatAction") == 1
    assert llm_shop.emulator.errors == []


async def test_the_model_sees_the_askers_orders_and_nobody_elses(
    llm_shop: Shop, llm: FakeLLM
) -> None:
    petr = await check_out(llm_shop, 812, "TS-01")
    await check_out(llm_shop, 813, "MUG-1")
    petr_order = next(t for t in petr.texts() if "Заказ №" in t).split("Заказ №")[1].split()[0]
    llm.reply = lambda _request: "Вы покупали у нас футболку."

    await petr.send_text("что я у вас покупал раньше?")

    facts = llm.prompt()
    assert f"order {petr_order}" in facts
    assert facts.count("- order ") == 1  # only Пётр's own order, not the other shopper's
    assert "Вы покупали у нас футболку." in petr.last["text"]


@pytest.mark.parametrize(
    "reply",
    [
        "Да, [MUG-9] тоже подойдёт.",  # a product it was not shown
        "Да, [MUG-1] сейчас со скидкой всего за 99 ₽.",  # a price it made up
        "NO_ANSWER",  # it does not know
        "",  # it said nothing
    ],
)
async def test_an_answer_breaking_a_rule_gives_the_usual_answer(
    llm_shop: Shop, llm: FakeLLM, reply: str
) -> None:
    llm.reply = lambda _request: reply
    vera = llm_shop.emulator.user(814, "Вера")
    await vera.send_text("/start")
    await vera.send_text(QUESTION)
    assert len(llm.requests) == 1
    assert "Автоматический ответ" not in vera.last["text"]
    assert "Кружка «Утро»" in json.dumps(vera.last, ensure_ascii=False)  # search's own answer
    assert "99 ₽" not in vera.last["text"] and "MUG-9" not in vera.last["text"]


@pytest.mark.parametrize("failure", ["slow", "error"])
async def test_a_slow_or_failing_model_is_not_in_the_way(
    llm_shop: Shop, llm: FakeLLM, failure: str
) -> None:
    if failure == "slow":
        llm.delay = 5  # the shop waits LLM_TIMEOUT, 1 s: had it waited, the answer would be used
    else:
        llm.status = 500
    llm.reply = lambda _request: "Да, [MUG-1] подойдёт."
    vera = llm_shop.emulator.user(815, "Вера")
    await vera.send_text("/start")
    await vera.send_text(QUESTION)
    assert len(llm.requests) == 1  # no retries: a shopper is waiting
    assert "Автоматический ответ" not in vera.last["text"]
    assert "Кружка «Утро»" in json.dumps(vera.last, ensure_ascii=False)


async def test_a_product_typed_to_search_is_not_asked_about(llm_shop: Shop, llm: FakeLLM) -> None:
    vera = llm_shop.emulator.user(816, "Вера")
    await vera.send_text("/start")
    await vera.send_text("кружки")
    assert "Найдено" in vera.last["text"]
    await vera.send_text("спасибо")
    assert llm.requests == []


async def test_without_an_llm_a_question_gets_the_usual_answer(
    shop: Shop, catalogue: Catalogue
) -> None:
    vera = shop.emulator.user(817, "Вера")
    await vera.send_text("/start")
    await vera.send_text(QUESTION)
    assert "Кружка «Утро»" in json.dumps(vera.last, ensure_ascii=False)
    assert "Автоматический ответ" not in vera.last["text"]


@pytest.mark.parametrize(
    ("text", "question"),
    [
        ("а эта футболка садится после стирки?", True),
        ("Как ухаживать за кружкой", True),
        ("есть ли доставка в Казань", True),
        ("does the mug fit a dishwasher", True),
        ("кружка", False),
        ("футболка белая L", False),
        ("", False),
    ],
)
def test_what_counts_as_a_question(text: str, question: bool) -> None:
    assert is_question(text) is question


MUG = ProductFact(1, "MUG-1", "Кружка «Утро»", "Кружки", 49000, 3, "")
SHIRT = ProductFact(2, "TS-01", "Футболка", "Одежда", 129950, 5, "")
GROUNDING = Grounding("?", "ru", [MUG, SHIRT], [], [OrderFact("1004", "paid", 259900, "")])


@pytest.mark.parametrize(
    ("reply", "text", "named"),
    [
        ("[MUG-1] и [ts-01] есть.", "Кружка «Утро» и Футболка есть.", [MUG, SHIRT]),
        ("Футболка стоит 1 299,50 ₽, кружка — 490 руб.", None, []),
        ("Ваш заказ на 2\u00a0599\u00a0₽ оплачен.", None, []),
        ("Кружка стоит 500 ₽.", "reject", []),
        ("[MUG-1]" + "!" * 1600, "reject", []),
    ],
)
def test_an_answer_names_known_products_and_sums_only(
    reply: str, text: str | None, named: list[ProductFact]
) -> None:
    answer = checked(reply, GROUNDING)
    if text == "reject":
        assert answer is None
        return
    assert answer is not None
    assert answer.text == (text or reply)
    assert answer.products == named
