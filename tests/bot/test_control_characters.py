"""Control characters people type (a NUL, an escape, C1 controls) are gone before the shop
reads the text: an order with them in the name, the address and the comment is placed, also
on PostgreSQL, which cannot store a NUL; tab and newline stay."""

from __future__ import annotations

from aiogram.types import Update
from sqlalchemy import select

from shopbot.bot.middlewares import without_controls
from shopbot.models import Order, User
from tests.bot.conftest import Catalogue, Shop


async def test_an_order_with_control_characters_in_what_was_typed(
    shop: Shop, catalogue: Catalogue
) -> None:
    shopper = shop.emulator.user(301, "Пётр\x00", last_name="Ива\x1bнов")
    await shopper.send_text("/start p_MUG-1")
    await shopper.press("🛒 В корзину")
    await shopper.send_text("/cart")
    await shopper.press("✅ Оформить заказ")
    await shopper.send_text("Пётр\x00 Иванов\x85")
    await shopper.send_text("8 (900) 765-43-21\x00")
    await shopper.press("🚚 Курьером")
    await shopper.send_text("Москва,\x00 ул. Ленина,\x7f 1")
    await shopper.send_text("Позвоните\x00\x1b заранее\r\nпожалуйста,\tспасибо\x9f")
    assert "Пётр Иванов" in shopper.last["text"]
    await shopper.press("✅ Подтвердить")

    async with shop.session_factory() as session:
        order = await session.scalar(select(Order))
        user = await session.get(User, 301)
    assert order is not None and user is not None
    assert order.contact_name == "Пётр Иванов"
    assert order.contact_phone == "+79007654321"
    assert order.delivery_address == "Москва, ул. Ленина, 1"
    assert order.comment == "Позвоните заранее\nпожалуйста,\tспасибо"
    assert (user.first_name, user.last_name) == ("Пётр", "Иванов")
    assert "🎉 Заказ №1001" in shopper.last["text"]
    assert shop.emulator.errors == []


async def test_a_forged_import_token_with_a_nul_is_an_out_of_date_button(shop: Shop) -> None:
    admin = shop.emulator.user(302, "Анна")
    await admin.send_text("/start")
    answer = await admin.press_data("ai:y:\x00token", message=admin.last)
    assert answer is not None and answer.text == "Эта кнопка устарела. Откройте меню заново."
    assert shop.emulator.errors == []


def test_entities_keep_pointing_at_their_text() -> None:
    update = Update.model_validate(
        {
            "update_id": 1,
            "message": {
                "message_id": 1,
                "date": 0,
                "chat": {"id": 1, "type": "private", "first_name": "\x00"},
                "from": {"id": 1, "is_bot": False, "first_name": "Ан\x00на"},
                "text": "/start\x00 p_\x01X 😀\x02b\x03",
                "entities": [
                    {"type": "bot_command", "offset": 0, "length": 7},
                    {"type": "bold", "offset": 10, "length": 5},  # \x01X 😀
                    {"type": "italic", "offset": 17, "length": 1},  # only \x03
                ],
            },
        }
    )
    cleaned = without_controls(update)
    message = cleaned.message
    assert message is not None and message.from_user is not None and message.entities
    assert message.text == "/start p_X 😀b"
    assert [(e.type, e.offset, e.length) for e in message.entities] == [
        ("bot_command", 0, 6),
        ("bold", 9, 4),
    ]
    assert message.from_user.first_name == "Анна"
    assert message.chat.first_name == ""


def test_an_update_without_control_characters_is_left_as_it_is() -> None:
    update = Update.model_validate(
        {
            "update_id": 1,
            "message": {
                "message_id": 1,
                "date": 0,
                "chat": {"id": 1, "type": "private"},
                "from": {"id": 1, "is_bot": False, "first_name": "Анна"},
                "text": "Строка\nвторая\tс табуляцией 😀",
            },
        }
    )
    assert without_controls(update) is update
