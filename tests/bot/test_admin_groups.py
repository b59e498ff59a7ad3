"""Admin commands in group chats: an admin's commands work in their private chat; in the
staff group (ADMIN_CHAT_ID) all but the personal ones (``/export_orders`` gets a hint and no
file); in any other group nobody gets anything from them, admin or shopper."""

from __future__ import annotations

import pytest
from aiogram.filters import Command
from sqlalchemy import select

from shopbot.bot.routers import admin
from shopbot.emulators.telegram import EmulatedGroup, EmulatedUser, TelegramEmulator
from shopbot.models import Product
from tests.bot.conftest import Catalogue, Shop, ShopFactory, check_out

ADMIN = 900
STAFF = -1001000000001
CHATTER = -1002000000002
HINT = "Эта команда работает только в личном чате со мной: в ней данные покупателей."
EVERY_COMMAND = [f"/{name}" for name in admin.COMMANDS] + [
    "/stock TS-01 7",
    "/price TS-01 1",
    "/hide TS-01",
    "/export_orders 7",
    "/stats@shopbot_test_bot",
]


@pytest.fixture
async def staff_shop(
    shop_factory: ShopFactory, catalogue: Catalogue, emulator: TelegramEmulator
) -> Shop:
    emulator.group(STAFF, "Персонал")  # before the start: the shop looks at it then
    shop = await shop_factory(admin_ids=[ADMIN], admin_chat_id=STAFF)
    await shop.emulator.user(ADMIN, "Хозяйка").send_text("/start")
    await check_out(shop, 101, "TS-01")  # a cash order: its alert goes to the staff group
    return shop


async def stock_and_price(shop: Shop, sku: str) -> tuple[int, int, bool]:
    async with shop.session_factory() as session:
        found = await session.scalar(select(Product).where(Product.sku == sku))
    assert found is not None
    return found.stock, found.price, found.active


def documents(chat: EmulatedGroup | EmulatedUser) -> list[dict]:
    return [message for message in chat.messages if "document" in message]


async def test_in_another_group_nobody_gets_anything(staff_shop: Shop) -> None:
    chatter = staff_shop.emulator.group(CHATTER, "Болталка")
    owner = staff_shop.emulator.user(ADMIN, "Хозяйка")
    shopper = staff_shop.emulator.user(102, "Борис")
    before = await stock_and_price(staff_shop, "TS-01")
    for person in (owner, shopper):
        for command in EVERY_COMMAND:
            await chatter.send_text(person, command)
    assert chatter.messages == []
    assert await stock_and_price(staff_shop, "TS-01") == before
    assert shopper.messages == []  # nothing went to a private chat instead
    assert staff_shop.emulator.errors == []


async def test_a_shopper_in_the_staff_group_gets_nothing(staff_shop: Shop) -> None:
    staff = staff_shop.emulator.group(STAFF, "Персонал")
    alerts = len(staff.messages)
    shopper = staff_shop.emulator.user(102, "Борис")
    before = await stock_and_price(staff_shop, "TS-01")
    for command in EVERY_COMMAND:
        await staff.send_text(shopper, command)
    assert len(staff.messages) == alerts
    assert await stock_and_price(staff_shop, "TS-01") == before


async def test_the_staff_group_gets_the_non_personal_commands_only(staff_shop: Shop) -> None:
    staff = staff_shop.emulator.group(STAFF, "Персонал")
    owner = staff_shop.emulator.user(ADMIN, "Хозяйка")
    assert any("Новый заказ" in text for text in staff.texts())  # the alert is there

    await staff.send_text(owner, "/stats")
    assert "Продажи" in staff.last["text"]
    await staff.send_text(owner, "/stock TS-01 7")
    assert (await stock_and_price(staff_shop, "TS-01"))[0] == 7
    await staff.send_text(owner, "/product TS-01")
    await staff.press(owner, "+1", message=staff.last)
    assert (await stock_and_price(staff_shop, "TS-01"))[0] == 8
    await staff.send_text(owner, "/export")
    assert [d["document"]["file_name"] for d in documents(staff)][-1].endswith(".csv")
    exported = len(documents(staff))

    for command in ("/export_orders", "/export_orders 7", "/export_orders@shopbot_test_bot"):
        await staff.send_text(owner, command)
        assert staff.last["text"] == HINT
    assert len(documents(staff)) == exported  # no customers' details in the group

    shopper = staff_shop.emulator.user(102, "Борис")
    answer = await staff.press(shopper, "+1")  # staff buttons are for admins only
    assert answer is not None and "устарела" in (answer.text or "")
    assert (await stock_and_price(staff_shop, "TS-01"))[0] == 8
    assert staff_shop.emulator.errors == []


async def test_in_a_private_chat_the_admin_gets_everything(staff_shop: Shop) -> None:
    owner = staff_shop.emulator.user(ADMIN, "Хозяйка")
    await owner.send_text("/export_orders")
    (export,) = documents(owner)
    assert export["document"]["file_name"].startswith("orders-30d-")


async def test_admin_help_in_the_staff_group_sets_the_menu_for_the_admin_alone(
    staff_shop: Shop,
) -> None:
    staff = staff_shop.emulator.group(STAFF, "Персонал")
    await staff.send_text(staff_shop.emulator.user(ADMIN, "Хозяйка"), "/admin")
    assert ("chat:" + str(STAFF), "") not in staff_shop.emulator.commands
    menu = staff_shop.emulator.commands[(f"chat_member:{STAFF}:{ADMIN}", "")]
    assert "stats" in [item["command"] for item in menu]


def test_every_admin_command_is_listed() -> None:
    registered = {
        command
        for observer in (admin.create_router().message,)
        for handler in observer.handlers
        for filter_ in handler.filters or []
        if isinstance(filter_.callback, Command)
        for command in filter_.callback.commands
    }
    assert registered == set(admin.COMMANDS)
