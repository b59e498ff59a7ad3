"""Mini Apps in the Telegram emulator: the menu button and ``web_app`` buttons checked as
Telegram checks them, init data signed as Telegram signs it (aiogram's own check accepts
it, and refuses it with another token), invoice links paid as the person."""

from __future__ import annotations

import time
from urllib.parse import parse_qs, urlsplit

import pytest
from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    LabeledPrice,
    MenuButtonCommands,
    MenuButtonDefault,
    MenuButtonWebApp,
    Message,
    PreCheckoutQuery,
    WebAppInfo,
)
from aiogram.utils.web_app import check_webapp_signature, safe_parse_webapp_init_data

from shopbot.emulators.telegram import EmulatedUser, TelegramEmulator
from tests.emulators.conftest import TOKEN, StartPolling

APP = "https://shop.example.com/app/"


def shop_button(url: str = APP) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text="🛍", web_app=WebAppInfo(url=url))]]
    )


async def test_the_menu_button_is_set_read_and_checked(
    telegram: TelegramEmulator, bot: Bot, shopper: EmulatedUser
) -> None:
    assert isinstance(await bot.get_chat_menu_button(), MenuButtonDefault)
    await bot.set_chat_menu_button(
        menu_button=MenuButtonWebApp(text="🛍 Магазин", web_app=WebAppInfo(url=APP))
    )
    button = await bot.get_chat_menu_button(chat_id=shopper.chat_id)  # the default shows
    assert isinstance(button, MenuButtonWebApp) and button.web_app.url == APP
    await bot.set_chat_menu_button(chat_id=shopper.chat_id, menu_button=MenuButtonCommands())
    assert isinstance(await bot.get_chat_menu_button(chat_id=shopper.chat_id), MenuButtonCommands)
    assert telegram.web_apps.menu_button(None)["text"] == "🛍 Магазин"
    for url in ("http://shop.example.com/app/", "ftp://shop.example.com/", "app/"):
        with pytest.raises(TelegramBadRequest, match="Only HTTPS links are allowed"):
            await bot.set_chat_menu_button(
                menu_button=MenuButtonWebApp(text="🛍", web_app=WebAppInfo(url=url))
            )
    with pytest.raises(TelegramBadRequest, match="BUTTON_TEXT_INVALID"):
        await bot.set_chat_menu_button(
            menu_button=MenuButtonWebApp(text=" ", web_app=WebAppInfo(url=APP))
        )
    with pytest.raises(TelegramBadRequest, match="chat not found"):
        await bot.set_chat_menu_button(chat_id=123, menu_button=MenuButtonCommands())


async def test_web_app_buttons_need_https_except_in_the_test_environment(
    telegram: TelegramEmulator, bot: Bot, shopper: EmulatedUser
) -> None:
    with pytest.raises(TelegramBadRequest, match=r"Web App URL .* Only HTTPS links are allowed"):
        await bot.send_message(shopper.chat_id, "x", reply_markup=shop_button("http://a.b/"))
    telegram.web_apps.test_environment = True
    await bot.send_message(shopper.chat_id, "x", reply_markup=shop_button("http://127.0.0.1/"))
    assert "http://127.0.0.1/" in telegram.web_apps.offered_urls(shopper)
    group = telegram.group(-1001, "Покупатели")
    with pytest.raises(TelegramBadRequest, match="BUTTON_TYPE_INVALID"):
        await bot.send_message(group.chat_id, "x", reply_markup=shop_button())


async def test_init_data_is_signed_as_telegram_signs_it(
    telegram: TelegramEmulator, bot: Bot, shopper: EmulatedUser
) -> None:
    with pytest.raises(ValueError, match="offers no Mini App"):
        telegram.web_apps.open(shopper, APP)  # not offered yet
    await bot.send_message(shopper.chat_id, "Магазин", reply_markup=shop_button())
    init_data = telegram.web_apps.open(shopper, APP)
    data = safe_parse_webapp_init_data(TOKEN, init_data)
    assert data.user is not None and data.user.id == shopper.id
    assert data.user.language_code == shopper.language_code
    assert abs(data.auth_date.timestamp() - time.time()) < 5
    assert not check_webapp_signature("123:another-bot", init_data)
    assert not check_webapp_signature(TOKEN, init_data.replace("auth_date=", "auth_date=1"))

    launch = telegram.web_apps.launch_url(shopper, APP, {"bg_color": "#212121"})
    fragment = parse_qs(urlsplit(launch).fragment)
    assert launch.startswith(APP + "#")
    assert check_webapp_signature(TOKEN, fragment["tgWebAppData"][0])
    assert fragment["tgWebAppThemeParams"] == ['{"bg_color":"#212121"}']


async def test_an_invoice_link_is_checked_and_paid_as_the_person(
    telegram: TelegramEmulator, bot: Bot, shopper: EmulatedUser, start_polling: StartPolling
) -> None:
    paid: list[str] = []
    router = Router()

    @router.pre_checkout_query()
    async def confirm(query: PreCheckoutQuery) -> None:
        await query.answer(ok=query.invoice_payload == "order:1")

    @router.message(F.successful_payment)
    async def done(message: Message) -> None:
        assert message.successful_payment is not None
        paid.append(message.successful_payment.invoice_payload)

    await start_polling(router)
    fields = {
        "title": "Заказ №1001",
        "description": "Кружка × 1",
        "provider_token": "123:TEST:provider",
        "currency": "RUB",
        "prices": [LabeledPrice(label="Кружка × 1", amount=59000)],
    }
    link = await bot.create_invoice_link(payload="order:1", **fields)
    assert link.startswith("https://t.me/$")
    assert await telegram.web_apps.pay_invoice_link(shopper, link)
    assert paid == ["order:1"]
    refused = await bot.create_invoice_link(payload="order:2", **fields)
    assert not await telegram.web_apps.pay_invoice_link(shopper, refused)
    with pytest.raises(TelegramBadRequest, match="title"):
        await bot.create_invoice_link(payload="x", **{**fields, "title": ""})
