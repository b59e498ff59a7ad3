"""Asking for a person in plain words ("позовите менеджера") is answered as /support is: the
subject of the question, then the conversation with the staff; goods named after people are
still searched for."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from tests.bot.conftest import ADMIN, ShopFactory
from tests.bot.test_faq import faq_shop
from tests.factories import make_product

OFFER = "О чём ваш вопрос?"


async def test_asking_for_a_person_offers_the_manager(shop_factory: ShopFactory) -> None:
    shop = await faq_shop(shop_factory)
    owner = shop.emulator.user(ADMIN, "Хозяйка")
    phrases = (
        "позовите менеджера",
        "Хочу поговорить с человеком!",
        "соедините с оператором, пожалуйста",
        "talk to a human",
    )
    for user_id, phrase in enumerate(phrases, 131):
        shopper = shop.emulator.user(user_id, "Глеб")
        await shopper.send_text(phrase)
        assert OFFER in shopper.last["text"], phrase
    await shopper.press("💬 Другое")
    await shopper.send_text("Где забрать заказ в Казани?")  # now with a person: relayed
    await shop.emulator.wait_handled()
    assert "Где забрать заказ в Казани?" in owner.last["text"]
    assert shop.emulator.errors == [], [(e.method, e.params) for e in shop.emulator.errors]


async def test_goods_named_after_a_person_are_searched_for(
    shop_factory: ShopFactory, session: AsyncSession
) -> None:
    shop = await shop_factory(admin_ids=[ADMIN], shop_contact="@lavka_help")
    await make_product(session, "Футболка «Человек-паук»", sku="TS-SPIDER")
    dina = shop.emulator.user(141, "Дина")
    await dina.send_text("футболка человек-паук")
    assert "Футболка «Человек-паук»" in dina.last["text"]
    assert OFFER not in dina.last["text"]
