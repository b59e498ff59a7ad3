"""Issue 11 item 4: every time shown, to the shopper, to the owner and in the orders CSV,
is on the shop's clock (``SHOP_TIMEZONE``) — through the real dispatcher."""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select

from shopbot.models import Order
from tests.bot.conftest import ADMIN, Catalogue, ShopFactory, buttons, check_out

VLADIVOSTOK = ZoneInfo("Asia/Vladivostok")  # UTC+10: neither UTC nor Moscow


async def test_shopper_owner_and_export_read_the_same_time(
    shop_factory: ShopFactory, catalogue: Catalogue
) -> None:
    shop = await shop_factory(admin_ids=[ADMIN], shop_timezone="Asia/Vladivostok")
    owner = shop.emulator.user(ADMIN, "Хозяйка")
    await owner.send_text("/start")
    shopper = await check_out(shop, 101, "MUG-1")
    async with shop.session_factory() as session:
        order = await session.scalar(select(Order))
        assert order is not None
    local = order.created_at.astimezone(VLADIVOSTOK)
    placed = f"Оформлен: {local:%d.%m.%Y %H:%M}"

    card = next(m for m in shopper.messages if "Оформлен:" in m.get("text", ""))
    assert placed in card["text"]
    await shopper.send_text("/orders")
    await shopper.press(buttons(shopper.last)[0])
    assert placed in shopper.last["text"]

    alert = next(m for m in owner.messages if "Новый заказ" in m.get("text", ""))
    assert placed in alert["text"]
    # The order's history, without the year, on the same clock.
    assert f"• {local:%d.%m %H:%M} Пётр: оформлен" in alert["text"]

    await owner.send_text("/export_orders 7")
    today = datetime.now(VLADIVOSTOK)
    named = {f"orders-7d-{day:%Y-%m-%d}.csv" for day in (local, today)}  # past midnight
    assert owner.last["document"]["file_name"] in named
    data = await shop.bot.download(owner.last["document"]["file_id"])
    assert data is not None
    rows = list(csv.reader(io.StringIO(data.getvalue().decode("utf-8-sig")), delimiter=";"))
    assert dict(zip(rows[0], rows[1], strict=True))["Оформлен"] == f"{local:%d.%m.%Y %H:%M}"
    assert shop.emulator.errors == []


async def test_the_default_clock_is_moscow(shop_factory: ShopFactory, catalogue: Catalogue) -> None:
    """Before, the shopper read UTC (01:16) where the owner read Moscow time (04:16)."""
    shop = await shop_factory()
    shopper = await check_out(shop, 101, "MUG-1")
    async with shop.session_factory() as session:
        order = await session.scalar(select(Order))
        assert order is not None
    local = order.created_at.astimezone(ZoneInfo("Europe/Moscow"))
    card = next(m for m in shopper.messages if "Оформлен:" in m.get("text", ""))
    shown = re.search(r"Оформлен: (\S+ \S+)", card["text"])
    assert shown is not None and shown[1] == f"{local:%d.%m.%Y %H:%M}"
