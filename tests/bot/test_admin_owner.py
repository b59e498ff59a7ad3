"""The owner's screens, issue 11 items 16–18: guard rails on prices and cancellations, SKUs
whatever their case, and no technical words — through the real dispatcher."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from shopbot.models import Product
from tests.bot.conftest import Catalogue, Shop, ShopFactory

ADMIN = 900


def buttons(message: dict) -> list[str]:
    markup = message.get("reply_markup") or {}
    return [button["text"] for row in markup.get("inline_keyboard", []) for button in row]


@pytest.fixture
async def admin_shop(shop_factory: ShopFactory) -> Shop:
    shop = await shop_factory(admin_ids=[ADMIN])
    await shop.emulator.user(ADMIN, "Хозяйка").send_text("/start")
    return shop


async def product(shop: Shop, sku: str) -> Product:
    async with shop.session_factory() as session:
        found = await session.scalar(select(Product).where(Product.sku == sku))
        assert found is not None
        return found


async def test_admin_commands_match_skus_whatever_their_case(
    admin_shop: Shop, catalogue: Catalogue
) -> None:
    owner = admin_shop.emulator.user(ADMIN, "Хозяйка")
    await owner.send_text("/stock ts-01 +5")
    assert owner.last["text"] == "Футболка 01 (TS-01): остаток 5 → 10"
    await owner.send_text("/price Ts-01 1 399")
    assert owner.last["text"].startswith("Футболка 01 (TS-01): цена")
    await owner.send_text("/hide ts-01")
    assert owner.last["text"] == "Футболка 01 (TS-01) скрыт от покупателей."
    await owner.send_text("/product mug-1")
    assert "Артикул: MUG-1" in owner.last["text"]
    found = await product(admin_shop, "TS-01")
    assert (found.stock, found.price, found.active) == (10, 139900, False)
    assert admin_shop.emulator.errors == []
