"""The shopper's Russian: names never forced into a case or a gender, no repeats, no
shop-side wording, pieces as "шт." — through the real dispatcher."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from shopbot.models import Order, Product, utcnow
from shopbot.payments.expiry import expire_orders
from tests.bot.conftest import ADMIN, Catalogue, Shop, ShopFactory, check_out


async def test_the_greeting_leaves_the_shop_name_as_it_is(shop_factory: ShopFactory) -> None:
    shop = await shop_factory(shop_name="Лавка ремёсел")
    anna = shop.emulator.user(901, "Анна")
    await anna.send_text("/start")
    assert anna.last["text"].splitlines()[:2] == [
        "Здравствуйте, Анна! 👋",
        "Вас приветствует «Лавка ремёсел».",  # not "Добро пожаловать в Лавка ремёсел"
    ]


async def test_stock_is_counted_in_pieces(shop: Shop, catalogue: Catalogue) -> None:
    vera = shop.emulator.user(902, "Вера")
    await vera.send_text("/start p_TS-01")
    assert "✅ В наличии: 5 шт." in vera.last["text"]  # not "5 товаров"


async def test_the_payment_offer_says_pay_once(yk_shop: Shop, catalogue: Catalogue) -> None:
    anna = await check_out(yk_shop, 903, "MUG-1")
    assert anna.last["text"] == (
        "🎉 Заказ №1001 на 490\u00a0₽ оформлен.\n"
        "Чтобы завершить покупку, осталось его оплатить.\n"
        "Товары отложены для вас на 60 мин. Если заказ не оплатить за это время, "
        "он будет отменён."
    )


async def test_an_expired_order_is_told_in_the_shoppers_words(
    yk_shop: Shop, catalogue: Catalogue
) -> None:
    anna = await check_out(yk_shop, 904, "MUG-1")
    async with yk_shop.session_factory() as session:
        await session.execute(update(Order).values(expires_at=utcnow() - timedelta(minutes=1)))
        await session.commit()
    runtime = yk_shop.runtime
    assert runtime is not None
    await expire_orders(runtime.session_factory, runtime.provider)
    await yk_shop.emulator.wait_handled()
    # "Товары вернулись в продажу" is the shop's side of it.
    assert "⌛ Заказ №1001 не оплачен вовремя и отменён." in anna.texts()
    await anna.send_text("/orders")
    assert "срок оплаты истёк" in anna.last["reply_markup"]["inline_keyboard"][0][0]["text"]


async def test_a_sold_out_product_needs_no_agreement_with_its_name(
    shop: Shop, catalogue: Catalogue
) -> None:
    """ "Кружка … закончился", "Кружка … убран": the name is set apart, the verb is ours."""
    olga = shop.emulator.user(905, "Ольга")
    await olga.send_text("/start p_MUG-1")
    await olga.press("🛒 В корзину")
    async with shop.session_factory() as session:
        await session.execute(update(Product).where(Product.sku == "MUG-1").values(stock=0))
        await session.commit()
    await olga.send_text("/cart")
    assert "• Кружка «Утро»: нет в наличии, убрали из корзины" in olga.last["text"]


async def test_hiding_a_product_needs_no_agreement_with_its_name(
    shop_factory: ShopFactory, catalogue: Catalogue
) -> None:
    shop = await shop_factory(admin_ids=[ADMIN])
    owner = shop.emulator.user(ADMIN, "Хозяйка")
    await owner.send_text("/hide MUG-1")
    assert owner.last["text"] == "Товар скрыт от покупателей: Кружка «Утро» (MUG-1)."
