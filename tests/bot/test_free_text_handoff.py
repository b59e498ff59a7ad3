"""Asking for a person in plain words ("позовите менеджера") is answered as /support is: the
way to a manager, and the next message goes to the staff; goods named after people are
still searched for."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from tests.bot.conftest import ADMIN, ShopFactory
from tests.bot.test_faq import faq_shop
from tests.factories import make_product

OFFER = "Напишите здесь свой вопрос одним сообщением — я передам его менеджеру."


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
        assert "Связаться с магазином: +7 495 123-45-67" in shopper.last["text"]
    await shopper.send_text("Где забрать заказ в Казани?")  # the offer's answer: relayed
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
