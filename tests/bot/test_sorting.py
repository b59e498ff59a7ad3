"""Issue 11 item 6: product lists in natural order (№2 before №10), what is in stock before
what is sold out, and the owner's ``position`` first — in categories, search results and
the owner's low-stock list, through the real dispatcher."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from shopbot.bot.callbacks import CatalogAction, CatalogCb
from shopbot.bot.routers.admin.callbacks import AdminProductCb
from shopbot.models import Category, Product
from tests.bot.conftest import ADMIN, Shop
from tests.factories import make_category, make_product

# (number, stock, position): sold out №2 and №5; the owner put №19 first, and №5 too
# (but it is sold out).
NOTEBOOKS = [(1, 4, None), (2, 0, None), (3, 2, None), (5, 0, 1), (10, 3, None), (19, 9, 1)]
SHOWN = ["№19", "№1", "№3", "№10", "№5", "№2"]


async def notebooks(session: AsyncSession) -> int:
    category = await make_category(session, "Тетради")
    for number, stock, position in NOTEBOOKS:
        await make_product(
            session, f"Тетрадь №{number}", sku=f"N-{number}", stock=stock, category=category
        )
        if position is not None:
            await session.execute(
                update(Product).where(Product.sku == f"N-{number}").values(position=position)
            )
    await session.commit()
    return category.id


async def listed(shop: Shop, message: dict, callback: type[CatalogCb | AdminProductCb]) -> list:
    """The product names of a message's buttons, top to bottom (whatever the labels say)."""
    ids = [
        callback.unpack(button["callback_data"]).product_id
        for row in message["reply_markup"]["inline_keyboard"]
        for button in row
        if button.get("callback_data", "").startswith(callback.__prefix__ + ":")
    ]
    async with shop.session_factory() as session:
        names = dict((await session.execute(select(Product.id, Product.name))).all())
    return [names[product_id].removeprefix("Тетрадь ") for product_id in ids if product_id]


async def test_categories_and_search_list_in_stock_positioned_then_natural(
    shop: Shop, session: AsyncSession
) -> None:
    category_id = await notebooks(session)
    shopper = shop.emulator.user(101, "Пётр")
    await shopper.send_text("/catalog")
    opened = CatalogCb(action=CatalogAction.LIST, category_id=category_id).pack()
    await shopper.press_data(opened, message=shopper.last)
    assert await listed(shop, shopper.last, CatalogCb) == SHOWN

    await shopper.send_text("/search тетрадь")
    assert await listed(shop, shopper.last, CatalogCb) == SHOWN
    assert shop.emulator.errors == []


async def test_the_owners_low_stock_list_is_in_the_shops_order(
    admin_shop: Shop, session: AsyncSession
) -> None:
    await notebooks(session)
    owner = admin_shop.emulator.user(ADMIN, "Хозяйка")
    await owner.send_text("/stock")
    # Fewest first (threshold 3), then as the shop lists them.
    assert await listed(admin_shop, owner.last, AdminProductCb) == ["№5", "№2", "№3", "№10"]
    assert admin_shop.emulator.errors == []


async def test_categories_are_in_natural_order(shop: Shop, session: AsyncSession) -> None:
    for name in ("Серия 10", "Серия 2", "серия 1"):
        await make_product(session, "Тетрадь", category=await make_category(session, name))
    shopper = shop.emulator.user(101, "Пётр")
    await shopper.send_text("/catalog")
    opened = [
        CatalogCb.unpack(button["callback_data"]).category_id
        for row in shopper.last["reply_markup"]["inline_keyboard"]
        for button in row
        if button["callback_data"].startswith(CatalogCb.__prefix__ + ":")  # not ♥ Favourites
    ]
    async with shop.session_factory() as session:
        names = dict((await session.execute(select(Category.id, Category.name))).all())
    assert [names[category_id] for category_id in opened] == ["серия 1", "Серия 2", "Серия 10"]
