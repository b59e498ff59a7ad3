"""Inline mode in the Telegram emulator: inline queries reach a real aiogram dispatcher,
``answerInlineQuery`` is checked as Telegram checks it, and a chosen result becomes a
message sent via the bot."""

from __future__ import annotations

import io
from typing import Any

import pytest
from aiogram import Bot, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import (
    BufferedInputFile,
    ChosenInlineResult,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InlineQuery,
    InlineQueryResultArticle,
    InlineQueryResultCachedPhoto,
    InlineQueryResultPhoto,
    InlineQueryResultsButton,
    InputTextMessageContent,
)
from PIL import Image

from shopbot.emulators.telegram import EmulatedUser, TelegramEmulator
from tests.emulators.conftest import StartPolling


def article(result_id: str, title: str = "Футболка", **extra: Any) -> InlineQueryResultArticle:
    return InlineQueryResultArticle(
        id=result_id,
        title=title,
        input_message_content=InputTextMessageContent(message_text=f"<b>{title}</b>"),
        **extra,
    )


def jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (10, 120, 200)).save(buffer, "JPEG")
    return buffer.getvalue()


@pytest.fixture
def inline(telegram: TelegramEmulator) -> TelegramEmulator:
    telegram.inline_mode = True
    return telegram


async def test_get_me_reports_inline_mode(telegram: TelegramEmulator, bot: Bot) -> None:
    assert (await bot.get_me()).supports_inline_queries is False
    telegram.inline_mode = True
    assert (await bot.get_me()).supports_inline_queries is True


async def test_a_query_is_answered_and_pages_through_next_offset(
    inline: TelegramEmulator, start_polling: StartPolling
) -> None:
    router = Router()
    seen: list[tuple[str, str, str | None]] = []

    @router.inline_query()
    async def answer(query: InlineQuery) -> None:
        seen.append((query.query, query.offset, query.chat_type))
        start = int(query.offset or 0)
        results = [article(f"r{n}", f"Товар {n}") for n in range(start, start + 2)]
        await query.answer(results, cache_time=5, is_personal=True, next_offset=str(start + 2))

    await start_polling(router)
    user = inline.user(301, "Анна")

    first = await user.inline_query("футболка", chat_type="private")
    assert first is not None
    second = await user.inline_query("футболка", offset=first.next_offset)

    assert seen == [("футболка", "", "private"), ("футболка", "2", "sender")]
    assert [r["title"] for r in first.results] == ["Товар 0", "Товар 1"]
    assert second is not None and [r["id"] for r in second.results] == ["r2", "r3"]
    assert (first.cache_time, first.is_personal, first.next_offset) == (5, True, "2")
    assert first.query == "футболка"
    # Inline use does not open the private chat: the bot may still not write first.
    assert user.started is False


async def test_no_inline_mode_no_queries(telegram: TelegramEmulator) -> None:
    with pytest.raises(AssertionError, match="no inline mode"):
        await telegram.user(302).inline_query("чай")


@pytest.mark.parametrize(
    ("results", "reason"),
    [
        ([article(f"r{n}") for n in range(51)], "RESULTS_TOO_MUCH"),
        ([article("same"), article("same")], "RESULT_ID_DUPLICATE"),
        ([article("x" * 65)], "RESULT_ID_INVALID"),
        ([article("r1", thumbnail_url="not a url")], "WEBDOCUMENT_URL_INVALID"),
        (
            [
                InlineQueryResultPhoto(
                    id="p1", photo_url="https://shop.example/1.jpg", thumbnail_url=""
                )
            ],
            "PHOTO_THUMB_URL_EMPTY",
        ),
        (
            [InlineQueryResultCachedPhoto(id="p1", photo_file_id="unknown")],
            "wrong file identifier/HTTP URL specified",
        ),
        (
            [InlineQueryResultCachedPhoto(id="p1", photo_file_id="x", caption="я" * 1025)],
            "MEDIA_CAPTION_TOO_LONG",
        ),
    ],
)
async def test_invalid_answers_are_refused(
    inline: TelegramEmulator, start_polling: StartPolling, results: list[Any], reason: str
) -> None:
    router = Router()
    errors: list[str] = []

    @router.inline_query()
    async def answer(query: InlineQuery) -> None:
        try:
            await query.answer(results)
        except TelegramBadRequest as error:
            errors.append(error.message)

    await start_polling(router)

    answer_seen = await inline.user(303).inline_query("чай")

    assert answer_seen is None
    assert errors == [f"Bad Request: {reason}"]


async def test_next_offset_is_at_most_64_bytes(
    inline: TelegramEmulator, start_polling: StartPolling
) -> None:
    router = Router()
    errors: list[str] = []

    @router.inline_query()
    async def answer(query: InlineQuery) -> None:
        try:
            await query.answer([article("r1")], next_offset="9" * 65)
        except TelegramBadRequest as error:
            errors.append(error.message)

    await start_polling(router)
    await inline.user(304).inline_query("чай")

    assert errors == ["Bad Request: NEXT_OFFSET_INVALID"]


async def test_a_query_is_answered_once(inline: TelegramEmulator, bot: Bot) -> None:
    user = inline.user(305)
    await user.inline_query("чай", wait=False)
    update = await bot.get_updates()
    query_id = update[0].inline_query.id  # type: ignore[union-attr]

    assert await bot.answer_inline_query(query_id, [article("r1")]) is True
    with pytest.raises(TelegramBadRequest, match="query is too old"):
        await bot.answer_inline_query(query_id, [article("r1")])


async def test_a_chosen_result_is_sent_via_the_bot_with_its_buttons(
    inline: TelegramEmulator, bot: Bot, shopper: EmulatedUser, start_polling: StartPolling
) -> None:
    inline.inline_feedback = True
    photo = await bot.send_photo(shopper.chat_id, BufferedInputFile(jpeg(), "t.jpg"))
    file_id = photo.photo[-1].file_id  # type: ignore[index]
    router = Router()
    chosen: list[tuple[str, str, str | None]] = []
    link = "https://t.me/shopbot_test_bot?start=p_TS-1"

    @router.inline_query()
    async def answer(query: InlineQuery) -> None:
        markup = InlineKeyboardMarkup(
            inline_keyboard=[[InlineKeyboardButton(text="Открыть", url=link)]]
        )
        await query.answer(
            [
                InlineQueryResultCachedPhoto(
                    id="TS-1", photo_file_id=file_id, caption="<b>Футболка</b>", reply_markup=markup
                ),
                article("TS-2"),
            ]
        )

    @router.chosen_inline_result()
    async def picked(result: ChosenInlineResult) -> None:
        chosen.append((result.result_id, result.query, result.inline_message_id))

    await start_polling(router)
    friend = inline.user(306, "Олег")
    answer_seen = await friend.inline_query("футболка")
    assert answer_seen is not None

    message = await friend.choose_result(answer_seen, "TS-1")

    assert message["via_bot"]["username"] == "shopbot_test_bot"
    assert message["from"]["id"] == 306
    assert message["caption"] == "Футболка"
    assert message["photo"][-1]["file_id"] == file_id
    assert friend.button("Открыть")["url"] == link
    assert chosen == [("TS-1", "футболка", f"306_{message['message_id']}")]


@pytest.mark.parametrize(
    ("button", "reason"),
    [
        (InlineQueryResultsButton(text="В магазин", start_parameter="a b"), "START_PARAM_INVALID"),
        (InlineQueryResultsButton(text=" ", start_parameter="shop"), "BUTTON_TEXT_INVALID"),
        (InlineQueryResultsButton(text="В магазин"), "BUTTON_TYPE_INVALID"),
    ],
)
async def test_the_button_above_results_is_checked(
    inline: TelegramEmulator,
    start_polling: StartPolling,
    button: InlineQueryResultsButton,
    reason: str,
) -> None:
    router = Router()
    errors: list[str] = []

    @router.inline_query()
    async def answer(query: InlineQuery) -> None:
        try:
            await query.answer([], button=button)
        except TelegramBadRequest as error:
            errors.append(error.message)
            await query.answer(
                [], button=InlineQueryResultsButton(text="В магазин", start_parameter="shop")
            )

    await start_polling(router)
    answered = await inline.user(307).inline_query("")

    assert errors == [f"Bad Request: {reason}"]
    assert answered is not None
    assert answered.button == {"text": "В магазин", "start_parameter": "shop"}
