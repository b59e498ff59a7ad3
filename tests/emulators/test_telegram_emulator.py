"""The Telegram emulator, driven by a real aiogram ``Bot`` and ``Dispatcher`` over HTTP."""

from __future__ import annotations

import asyncio
import io
import time
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import pytest
from aiogram import Bot, F, Router
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramRetryAfter,
    TelegramUnauthorizedError,
)
from aiogram.filters import Command, CommandObject, CommandStart
from aiogram.types import (
    BotCommand,
    BotCommandScopeAllPrivateChats,
    BufferedInputFile,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    LabeledPrice,
    Message,
    PreCheckoutQuery,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    Update,
)
from PIL import Image

from shopbot.emulators.telegram import EmulatedUser, TelegramEmulator

StartPolling = Callable[[Router], Awaitable[None]]  # the ``start_polling`` fixture


def png(width: int, height: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (200, 120, 40)).save(buffer, "PNG")
    return buffer.getvalue()


def keyboard(*buttons: InlineKeyboardButton) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=[[button] for button in buttons])


async def raw_call(
    emulator: TelegramEmulator, method: str, **params: Any
) -> tuple[int, dict[str, Any]]:
    """Call the API without aiogram (form-encoded, like aiogram's requests)."""
    url = f"{emulator.base_url}/bot{emulator.token}/{method}"
    async with aiohttp.ClientSession() as session, session.post(url, data=params) as response:
        return response.status, await response.json()


async def test_echo_round_trip(telegram: TelegramEmulator, start_polling: StartPolling) -> None:
    router = Router()

    @router.message(CommandStart(deep_link=True))
    async def deep_link(message: Message, command: CommandObject) -> None:
        await message.answer(f"Товар {command.args}")

    @router.message()
    async def echo(message: Message) -> None:
        await message.answer(message.text or "")

    await start_polling(router)
    user = telegram.user(101, "Анна", username="anna")

    sent = await user.send_text("Привет, бот!")
    await user.send_text("/start p_SKU1")

    assert user.texts() == ["Привет, бот!", "Товар p_SKU1"]
    first = user.messages[0]
    assert first["message_id"] == sent["message_id"] + 1
    assert first["from"]["id"] == telegram.bot_user["id"]
    assert first["chat"] == {"id": 101, "type": "private", "first_name": "Анна", "username": "anna"}
    assert telegram.count("sendMessage") == 2
    assert telegram.errors == []


async def test_entities_are_measured_in_utf16(bot: Bot, shopper: EmulatedUser) -> None:
    html = (
        '<b>🛒 Корзина</b>: 2 × <i>чай</i> <a href="https://example.com/?a=1&amp;b=2">оплатить</a>'
        " &lt;3 😀"
    )

    sent = await bot.send_message(shopper.chat_id, html)

    assert sent.text == "🛒 Корзина: 2 × чай оплатить <3 😀"
    entities = [(e.type, e.offset, e.length, e.url) for e in sent.entities or []]
    assert entities == [
        ("bold", 0, 10, None),  # the emoji is two UTF-16 units
        ("italic", 16, 3, None),
        ("text_link", 20, 8, "https://example.com/?a=1&b=2"),
    ]
    assert shopper.last["html_text"] == html
    assert "html_text" not in (sent.model_extra or {})


async def test_html_errors_reach_the_bot(
    telegram: TelegramEmulator, start_polling: StartPolling
) -> None:
    router = Router()

    @router.message()
    async def price(message: Message) -> None:
        try:
            await message.answer("<b>Цена</b> < 100 ₽")
        except TelegramBadRequest as error:
            await message.answer(error.message, parse_mode=None)

    await start_polling(router)
    user = telegram.user(102)

    await user.send_text("цена?")

    assert user.texts() == [
        'Bad Request: can\'t parse entities: Unsupported start tag "" at byte offset 16'
    ]
    assert [(error.method, error.error_code) for error in telegram.errors] == [("sendMessage", 400)]


@pytest.mark.parametrize(
    ("html", "reason"),
    [
        ("<b>жирный", 'Can\'t find end tag corresponding to start tag "b"'),
        ("<p>абзац</p>", 'Unsupported start tag "p" at byte offset 0'),
        ("<b><i>x</b></i>", 'Unmatched end tag at byte offset 7, expected "</i>", found "</b>"'),
        ("чай & кофе", 'Unescaped "&" at byte offset 7'),
        ('<span class="red">x</span>', 'Tag "span" must have class "tg-spoiler"'),
    ],
)
async def test_invalid_html_is_refused(
    bot: Bot, shopper: EmulatedUser, html: str, reason: str
) -> None:
    with pytest.raises(TelegramBadRequest, match="can't parse entities") as caught:
        await bot.send_message(shopper.chat_id, html)
    assert reason in caught.value.message


async def test_text_limits(bot: Bot, shopper: EmulatedUser) -> None:
    with pytest.raises(TelegramBadRequest, match="message text is empty"):
        await bot.send_message(shopper.chat_id, "<b> </b>\n")
    with pytest.raises(TelegramBadRequest, match="message is too long"):
        await bot.send_message(shopper.chat_id, "я" * 4097)

    sent = await bot.send_message(shopper.chat_id, "<i>" + "я" * 4096 + "</i>")
    assert len(sent.text or "") == 4096


async def test_identical_edit_is_not_modified(
    bot: Bot, shopper: EmulatedUser, telegram: TelegramEmulator
) -> None:
    markup = keyboard(InlineKeyboardButton(text="Обновить", callback_data="refresh"))
    sent = await bot.send_message(shopper.chat_id, "<b>Каталог</b>", reply_markup=markup)

    with pytest.raises(TelegramBadRequest, match="message is not modified: specified new"):
        await bot.edit_message_text(
            "<strong>Каталог</strong>",  # same entities, so the same content
            chat_id=shopper.chat_id,
            message_id=sent.message_id,
            reply_markup=markup,
        )
    edited = await bot.edit_message_text(
        "<b>Каталог</b>", chat_id=shopper.chat_id, message_id=sent.message_id
    )

    assert isinstance(edited, Message)
    assert edited.reply_markup is None  # an edit without markup removes the keyboard
    assert edited.edit_date is not None
    assert "reply_markup" not in shopper.last
    with pytest.raises(TelegramBadRequest, match="message to edit not found"):
        await bot.edit_message_text("x", chat_id=shopper.chat_id, message_id=999)
    with pytest.raises(TelegramBadRequest, match="message to delete not found"):
        await bot.delete_message(shopper.chat_id, 999)
    assert [error.error_code for error in telegram.errors] == [400, 400, 400]


async def test_inline_buttons_are_validated(bot: Bot, shopper: EmulatedUser) -> None:
    ok = keyboard(InlineKeyboardButton(text="Купить", callback_data="b" * 64))
    await bot.send_message(shopper.chat_id, "64 байта", reply_markup=ok)

    cyrillic = keyboard(InlineKeyboardButton(text="Купить", callback_data="я" * 33))  # 66 B
    with pytest.raises(TelegramBadRequest, match="BUTTON_DATA_INVALID"):
        await bot.send_message(shopper.chat_id, "66 байт", reply_markup=cyrillic)
    no_action = keyboard(InlineKeyboardButton(text="Просто текст"))
    with pytest.raises(TelegramBadRequest, match="Text buttons are unallowed"):
        await bot.send_message(shopper.chat_id, "кнопка", reply_markup=no_action)
    bad_url = keyboard(InlineKeyboardButton(text="Сайт", url="example.com"))
    with pytest.raises(TelegramBadRequest, match="Wrong HTTP URL"):
        await bot.send_message(shopper.chat_id, "ссылка", reply_markup=bad_url)

    def grid(buttons: int) -> InlineKeyboardMarkup:
        row = [InlineKeyboardButton(text=str(n), callback_data=str(n)) for n in range(buttons)]
        return InlineKeyboardMarkup(
            inline_keyboard=[row[at : at + 4] for at in range(0, buttons, 4)]
        )

    await bot.send_message(shopper.chat_id, "сто кнопок", reply_markup=grid(100))
    with pytest.raises(TelegramBadRequest, match="reply markup is too long"):
        await bot.send_message(shopper.chat_id, "сто одна", reply_markup=grid(101))


async def test_photo_is_uploaded_once_then_reused(
    bot: Bot, shopper: EmulatedUser, telegram: TelegramEmulator
) -> None:
    first = await bot.send_photo(
        shopper.chat_id, BufferedInputFile(png(640, 480), "tea.png"), caption="<b>Чай</b>"
    )
    assert first.photo is not None
    second = await bot.send_photo(shopper.chat_id, first.photo[-1].file_id)

    assert telegram.upload_count == 1
    assert [(size.width, size.height) for size in first.photo] == [
        (90, 68),
        (320, 240),
        (640, 480),
    ]
    assert first.caption == "Чай"
    assert second.photo == first.photo
    with pytest.raises(TelegramBadRequest, match="there is no text in the message to edit"):
        await bot.edit_message_text("x", chat_id=shopper.chat_id, message_id=first.message_id)
    await bot.edit_message_caption(
        chat_id=shopper.chat_id, message_id=first.message_id, caption="Чай <i>улун</i>"
    )
    assert shopper.texts() == ["Чай улун", ""]


@pytest.mark.parametrize(
    ("photo", "reason"),
    [
        (BufferedInputFile(b"not an image", "x.png"), "IMAGE_PROCESS_FAILED"),
        (BufferedInputFile(png(100, 2500), "tall.png"), "PHOTO_INVALID_DIMENSIONS"),
        ("AgACAgIAAxkBAAIunknown", "wrong file identifier/HTTP URL specified"),
    ],
)
async def test_bad_photos_are_refused(
    bot: Bot, shopper: EmulatedUser, telegram: TelegramEmulator, photo: Any, reason: str
) -> None:
    with pytest.raises(TelegramBadRequest, match=reason):
        await bot.send_photo(shopper.chat_id, photo)
    assert telegram.upload_count == 0


async def test_user_document_download_round_trip(
    telegram: TelegramEmulator, start_polling: StartPolling
) -> None:
    router = Router()

    @router.message(F.document)
    async def import_file(message: Message, bot: Bot) -> None:
        assert message.document is not None
        file = await bot.get_file(message.document.file_id)
        assert file.file_path is not None
        data = await bot.download_file(file.file_path)
        assert isinstance(data, io.BytesIO)
        rows = data.getvalue().decode().splitlines()
        await message.answer(f"{message.document.file_name}: {len(rows) - 1} товара")

    await start_polling(router)
    user = telegram.user(103)

    await user.send_document("stock.csv", b"sku;qty\nTEA1;5\nCUP2;7\n", caption="остатки")

    assert user.texts() == ["stock.csv: 2 товара"]
    assert telegram.count("getFile") == 1
    assert telegram.errors == []


async def test_press_returns_the_callback_answer(
    telegram: TelegramEmulator, start_polling: StartPolling, bot: Bot
) -> None:
    site = InlineKeyboardButton(text="Сайт", url="https://example.com/shop")
    router = Router()

    @router.message(CommandStart())
    async def catalogue(message: Message) -> None:
        tea = InlineKeyboardButton(text="Чай", callback_data="product:1")
        await message.answer("Каталог", reply_markup=keyboard(tea, site))

    @router.callback_query(F.data == "product:1")
    async def product(callback: CallbackQuery) -> None:
        assert isinstance(callback.message, Message)
        await callback.message.edit_text("Чай — 300 ₽", reply_markup=keyboard(site))
        await callback.answer("Открыто")

    @router.callback_query()
    async def stale(callback: CallbackQuery) -> None:
        await callback.answer("Кнопка устарела", show_alert=True)

    await start_polling(router)
    user = telegram.user(104)
    await user.send_text("/start")

    answer = await user.press("Чай")

    assert answer is not None
    assert (answer.text, answer.show_alert) == ("Открыто", False)
    assert user.texts() == ["Чай — 300 ₽"]
    forged = await user.press_data("admin:delete_all", message=user.last)
    assert forged is not None
    assert (forged.text, forged.show_alert) == ("Кнопка устарела", True)
    assert user.button("Сайт")["url"] == "https://example.com/shop"
    with pytest.raises(ValueError, match="sends no callback"):
        await user.press("Сайт")
    with pytest.raises(AssertionError, match="no button 'Корзина'"):
        await user.press("Корзина")
    with pytest.raises(TelegramBadRequest, match="query is too old"):
        await bot.answer_callback_query(next(iter(telegram.callback_answers)), text="ещё раз")


async def test_reply_keyboard_shares_the_contact(
    telegram: TelegramEmulator, start_polling: StartPolling
) -> None:
    router = Router()

    @router.message(CommandStart())
    async def ask_phone(message: Message) -> None:
        button = KeyboardButton(text="📱 Отправить телефон", request_contact=True)
        markup = ReplyKeyboardMarkup(keyboard=[[button]], resize_keyboard=True)
        await message.answer("Поделитесь телефоном", reply_markup=markup)

    @router.message(F.contact)
    async def got_phone(message: Message) -> None:
        assert message.contact is not None and message.from_user is not None
        whose = "ваш" if message.contact.user_id == message.from_user.id else "чужой"
        text = f"Телефон {message.contact.phone_number} {whose}"
        await message.answer(text, reply_markup=ReplyKeyboardRemove())

    await start_polling(router)
    user = telegram.user(105)
    await user.send_text("/start")
    assert user.reply_keyboard is not None
    assert user.button("📱 Отправить телефон")["request_contact"] is True

    assert await user.press("📱 Отправить телефон") is None

    assert user.last["text"] == "Телефон +79001234567 ваш"
    assert user.reply_keyboard is None
    await user.share_contact("+79990000000", own=False)
    assert user.last["text"] == "Телефон +79990000000 чужой"


async def test_injected_flood_control(
    bot: Bot, shopper: EmulatedUser, telegram: TelegramEmulator
) -> None:
    telegram.fail_next("sendMessage", retry_after=3)

    with pytest.raises(TelegramRetryAfter) as caught:
        await bot.send_message(shopper.chat_id, "Заказ принят")
    await bot.send_message(shopper.chat_id, "Заказ принят")

    assert caught.value.retry_after == 3
    assert "Too Many Requests: retry after 3" in caught.value.message
    assert shopper.texts() == ["Заказ принят"]
    assert [(e.method, e.error_code, e.injected) for e in telegram.errors] == [
        ("sendMessage", 429, True)
    ]


async def test_wait_handled_covers_background_work(
    telegram: TelegramEmulator, start_polling: StartPolling
) -> None:
    router = Router()
    background: set[asyncio.Task[None]] = set()

    @router.message()
    async def accept(message: Message) -> None:
        async def confirm_later() -> None:
            await asyncio.sleep(0.02)
            await message.answer("готово")

        task = asyncio.create_task(confirm_later())
        background.add(task)
        task.add_done_callback(background.discard)
        await message.answer("принято")

    await start_polling(router)
    users = [telegram.user(200 + number) for number in range(3)]

    await users[0].send_text("заказ")
    assert users[0].texts() == ["принято", "готово"]

    for user in users[1:]:
        await user.send_text("заказ", wait=False)
    await telegram.wait_handled()
    assert [user.texts() for user in users[1:]] == [["принято", "готово"]] * 2


async def test_wait_handled_times_out_without_a_bot(telegram: TelegramEmulator) -> None:
    user = telegram.user(106)
    await user.send_text("есть кто?", wait=False)

    pending = rf"pending update ids \[{telegram.last_update_id}\]"
    with pytest.raises(AssertionError, match=pending):
        await telegram.wait_handled(timeout=0.1)


async def test_invoice_pre_checkout_and_payment(
    telegram: TelegramEmulator, start_polling: StartPolling, bot: Bot
) -> None:
    router = Router()

    @router.message(Command("buy"))
    async def buy(message: Message) -> None:
        await message.answer_invoice(
            title="Чай улун",
            description="250 г, Фуцзянь",
            payload="order:42",
            currency="RUB",
            prices=[LabeledPrice(label="Чай", amount=45000)],
            provider_token="381764678:TEST:100",
        )

    @router.pre_checkout_query()
    async def check(query: PreCheckoutQuery) -> None:
        known = query.invoice_payload == "order:42"
        await query.answer(ok=known, error_message=None if known else "Заказ не найден")

    @router.message(F.successful_payment)
    async def paid(message: Message) -> None:
        assert message.successful_payment is not None
        await message.answer(f"Оплачено {message.successful_payment.total_amount // 100} ₽")

    await start_polling(router)
    user = telegram.user(107)
    await user.send_text("/buy")
    assert user.last["invoice"]["total_amount"] == 45000

    assert await user.pay_invoice() is True
    assert user.last["text"] == "Оплачено 450 ₽"

    await bot.send_invoice(
        user.chat_id,
        title="Старый заказ",
        description="уже отменён",
        payload="order:1",
        currency="RUB",
        prices=[LabeledPrice(label="Чай", amount=10000)],
        provider_token="381764678:TEST:100",
    )
    assert await user.pay_invoice() is False
    assert telegram.count("answerPreCheckoutQuery") == 2
    assert telegram.errors == []


async def test_unknown_and_blocked_chats(
    bot: Bot, shopper: EmulatedUser, telegram: TelegramEmulator
) -> None:
    telegram.user(555)  # exists, but never wrote to the bot

    with pytest.raises(TelegramBadRequest, match="chat not found"):
        await bot.send_message(999, "привет")
    with pytest.raises(TelegramBadRequest, match="chat not found"):
        await bot.send_message(555, "привет")
    shopper.block_bot()
    with pytest.raises(TelegramForbiddenError, match="bot was blocked by the user"):
        await bot.send_message(shopper.chat_id, "привет")

    await shopper.send_text("/start", wait=False)  # "Restart" unblocks
    await bot.send_message(shopper.chat_id, "С возвращением")
    assert shopper.texts() == ["С возвращением"]


async def test_wrong_token_and_unknown_method(telegram: TelegramEmulator, bot: Bot) -> None:
    stranger = Bot("123:wrong", session=bot.session)
    with pytest.raises(TelegramUnauthorizedError):
        await stranger.get_me()

    status, body = await raw_call(telegram, "sendSticker", chat_id="1")

    assert (status, body["ok"], body["error_code"]) == (404, False, 404)
    assert body["description"].startswith("Not Found")
    assert [(e.method, e.error_code) for e in telegram.errors] == [
        ("getMe", 401),
        ("sendSticker", 404),
    ]


async def test_long_polling_wakes_up_for_a_new_update(telegram: TelegramEmulator) -> None:
    status, body = await raw_call(telegram, "getUpdates", timeout="0")
    assert (status, body) == (200, {"ok": True, "result": []})

    started = time.monotonic()
    poll = asyncio.create_task(raw_call(telegram, "getUpdates", timeout="5"))
    await asyncio.sleep(0.05)
    await telegram.user(108).send_text("привет", wait=False)
    status, body = await poll

    assert time.monotonic() - started < 1
    assert [update["message"]["text"] for update in body["result"]] == ["привет"]
    update_id = body["result"][0]["update_id"]
    await raw_call(telegram, "getUpdates", offset=str(update_id + 1))
    await telegram.wait_handled(timeout=1)


async def test_updates_parse_in_aiogram(
    telegram: TelegramEmulator, bot: Bot, shopper: EmulatedUser
) -> None:
    sent = await bot.send_message(
        shopper.chat_id,
        "Меню",
        reply_markup=keyboard(InlineKeyboardButton(text="Чай", callback_data="tea")),
    )
    await shopper.share_contact(wait=False)
    await shopper.send_document("a.csv", b"x;y\n", wait=False)
    await shopper.press("Чай", wait=False)

    status, body = await raw_call(telegram, "getUpdates")
    updates = [Update.model_validate(raw, context={"bot": bot}) for raw in body["result"]]

    assert status == 200
    assert [update.event_type for update in updates] == [
        "message",
        "message",
        "message",
        "callback_query",
    ]
    assert updates[0].message is not None and updates[0].message.text == "/start"
    assert updates[1].message is not None and updates[1].message.contact is not None
    assert updates[2].message is not None and updates[2].message.document is not None
    callback = updates[3].callback_query
    assert callback is not None and callback.data == "tea"
    assert isinstance(callback.message, Message)
    assert callback.message.message_id == sent.message_id


async def test_commands_copy_chat_action_and_events(
    bot: Bot, shopper: EmulatedUser, telegram: TelegramEmulator
) -> None:
    events = telegram.subscribe()
    await bot.set_my_commands([BotCommand(command="start", description="Каталог")])
    await bot.set_my_commands(
        [BotCommand(command="cart", description="Корзина")],
        scope=BotCommandScopeAllPrivateChats(),
        language_code="ru",
    )
    with pytest.raises(TelegramBadRequest, match="BOT_COMMAND_INVALID"):
        await bot.set_my_commands([BotCommand(command="Старт", description="x")])

    assert telegram.commands == {
        ("default", ""): [{"command": "start", "description": "Каталог"}],
        ("all_private_chats", "ru"): [{"command": "cart", "description": "Корзина"}],
    }
    assert [command.command for command in await bot.get_my_commands()] == ["start"]

    assert await bot.send_chat_action(shopper.chat_id, "typing") is True
    copied = await bot.copy_message(shopper.chat_id, shopper.chat_id, 1)
    await bot.delete_message(shopper.chat_id, copied.message_id)

    kinds = []
    while not events.empty():
        event = events.get_nowait()
        kinds.append((event["type"], event["message"].get("text")))
    assert kinds == [("message", "/start"), ("delete", "/start")]
    telegram.unsubscribe(events)


async def test_a_group_chat(telegram: TelegramEmulator, start_polling: StartPolling) -> None:
    router = Router()
    seen: list[tuple[str, int, int, str]] = []

    @router.message(Command("ping"))
    async def ping(message: Message) -> None:
        assert message.from_user is not None
        seen.append((message.chat.type, message.chat.id, message.from_user.id, message.text or ""))
        await message.answer(
            "pong",
            reply_markup=keyboard(InlineKeyboardButton(text="Ещё", callback_data="again")),
        )

    @router.message()
    async def anything(message: Message) -> None:
        seen.append((message.chat.type, message.chat.id, 0, message.text or ""))

    @router.callback_query(F.data == "again")
    async def again(query: CallbackQuery) -> None:
        assert isinstance(query.message, Message)
        seen.append((query.message.chat.type, query.message.chat.id, query.from_user.id, "again"))
        await query.answer("ok")

    await start_polling(router)
    group = telegram.group(-1001234567890, "Склад")
    anna = telegram.user(101, "Анна")

    await group.send_text(anna, "просто текст")  # privacy mode: the bot does not get it
    await group.send_text(anna, "/ping@shopbot_test_bot")
    answer = await group.press(anna, "Ещё")

    assert seen == [
        ("supergroup", -1001234567890, 101, "/ping@shopbot_test_bot"),
        ("supergroup", -1001234567890, 101, "again"),
    ]
    assert group.texts() == ["pong"]
    assert group.last["chat"] == {"id": -1001234567890, "type": "supergroup", "title": "Склад"}
    assert answer is not None and answer.text == "ok"
    assert anna.messages == [] and not anna.started  # a group message opens no private chat

    group.privacy_mode = False
    await group.send_text(anna, "без привилегий")
    assert seen[-1] == ("supergroup", -1001234567890, 0, "без привилегий")


async def test_a_group_without_the_bot_refuses_its_messages(
    telegram: TelegramEmulator, bot: Bot
) -> None:
    group = telegram.group(-100500, "Бывшая группа", supergroup=False)
    await bot.send_message(group.chat_id, "привет")
    group.remove_bot()
    with pytest.raises(TelegramForbiddenError, match="bot is not a member of the group chat"):
        await bot.send_message(group.chat_id, "ещё раз")
    with pytest.raises(TelegramBadRequest, match="chat not found"):
        await bot.send_message(-100501, "никому")
    assert group.texts() == ["привет"]
    with pytest.raises(ValueError):
        telegram.group(5)
    with pytest.raises(ValueError):
        telegram.user(-5)


async def test_webhook_sends_one_update_of_a_chat_at_a_time_in_order(
    telegram: TelegramEmulator, bot: Bot
) -> None:
    """Like Telegram's Bot API server: a chat's next update waits until the one before it
    was answered 2xx (here after a 500 and a retry), while another chat's goes meanwhile."""
    posted: list[tuple[int, str]] = []
    first_refused = asyncio.Event()

    async def webhook(request: aiohttp.web.Request) -> aiohttp.web.Response:
        update = await request.json()
        posted.append((update["message"]["chat"]["id"], update["message"]["text"]))
        if update["message"]["text"] == "one" and not first_refused.is_set():
            first_refused.set()
            return aiohttp.web.Response(status=500)
        return aiohttp.web.Response()

    app = aiohttp.web.Application()
    app.router.add_post("/hook", webhook)
    runner = aiohttp.web.AppRunner(app)
    await runner.setup()
    site = aiohttp.web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        await bot.set_webhook(f"http://127.0.0.1:{port}/hook", max_connections=10)
        anna, boris = telegram.user(501, "Анна"), telegram.user(502, "Борис")
        await anna.send_text("one", wait=False)
        await anna.send_text("two", wait=False)
        await boris.send_text("hello", wait=False)
        await telegram.wait_handled()
    finally:
        await runner.cleanup()
    anna_posts = [text for chat, text in posted if chat == 501]
    assert anna_posts == ["one", "one", "two"]  # "two" not before "one" was taken
    assert posted.index((502, "hello")) < posted.index((501, "two"))  # Boris did not wait
