"""The owner's screens, issue 11 items 16–18: guard rails on prices and cancellations, SKUs
whatever their case, and no technical words — through the real dispatcher."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import func, select, update

from shopbot.emulators.telegram import EmulatedUser
from shopbot.emulators.yookassa import YooKassaEmulator
from shopbot.models import DeliveryMethod, Order, OrderStatus, Product, User
from shopbot.services import cart, orders
from shopbot.services.orders import Checkout
from tests.bot.conftest import ADMIN, Catalogue, Shop, ShopFactory, buttons, check_out, product
from tests.factories import make_user


def now(user: EmulatedUser, message: dict) -> dict:
    """The message as it is now (after edits)."""
    return next(m for m in user.messages if m["message_id"] == message["message_id"])


async def order_status(shop: Shop, order_id: int) -> OrderStatus:
    async with shop.session_factory() as session:
        return (await orders.get_order(session, order_id)).status


async def place_cash_order(shop: Shop, user_id: int, sku: str, quantity: int = 1) -> Order:
    async with shop.session_factory() as session:
        if await session.get(User, user_id) is None:
            await make_user(session, user_id)
        found = await session.scalar(select(Product).where(Product.sku == sku))
        assert found is not None
        await cart.set_quantity(session, user_id, found.id, quantity)
        return await orders.place_order(
            session,
            user_id,
            Checkout("Анна", "+79001234567", DeliveryMethod.COURIER, "Москва, ул. Ленина, 1"),
            token=f"t-{user_id}-{sku}",
            payment_provider="cash",
            payment_timeout=None,
        )


async def test_admin_commands_match_skus_whatever_their_case(
    admin_shop: Shop, catalogue: Catalogue
) -> None:
    owner = admin_shop.emulator.user(ADMIN, "Хозяйка")
    await owner.send_text("/stock ts-01 +5")
    assert owner.last["text"] == "Футболка 01 (TS-01): остаток 5 → 10"
    await owner.send_text("/price Ts-01 1 399")
    assert owner.last["text"].startswith("Футболка 01 (TS-01): цена")
    await owner.send_text("/hide ts-01")
    assert owner.last["text"] == "Товар скрыт от покупателей: Футболка 01 (TS-01)."
    await owner.send_text("/product mug-1")
    assert "Артикул: MUG-1" in owner.last["text"]
    found = await product(admin_shop, "TS-01")
    assert (found.stock, found.price, found.active) == (10, 139900, False)
    assert admin_shop.emulator.errors == []


async def test_unusual_prices_are_confirmed_and_impossible_ones_refused(
    admin_shop: Shop, catalogue: Catalogue
) -> None:
    owner = admin_shop.emulator.user(ADMIN, "Хозяйка")
    await owner.send_text("/price TS-01 0")
    question = owner.last
    assert (
        "Поставить новую цену 0\u00a0₽? Товар: Футболка 01 (TS-01), сейчас цена 1\u00a0299\u00a0₽."
        in (question["text"])
    )
    assert "Товар станет бесплатным." in question["text"]
    assert buttons(question) == ["Да, поставить 0\u00a0₽", "Отмена"]
    assert (await product(admin_shop, "TS-01")).price == 129900  # nothing yet

    await owner.send_text("/price TS-01 15 000")  # more than ten times 1 299 ₽
    tenfold = owner.last
    assert "больше чем в десять раз" in tenfold["text"]
    await owner.press("Отмена", message=tenfold)
    assert owner.last["text"] == "Цена не изменилась."
    assert (await product(admin_shop, "TS-01")).price == 129900

    await owner.press("Да, поставить 0\u00a0₽", message=question)
    assert now(owner, question)["text"] == "Футболка 01 (TS-01): цена 1\u00a0299\u00a0₽ → 0\u00a0₽"
    assert (await product(admin_shop, "TS-01")).price == 0
    # The same button again (or after another change) does nothing: it names the old price.
    await owner.send_text("/price TS-01 100")  # from 0: no ratio to speak of
    assert (await product(admin_shop, "TS-01")).price == 10000
    await owner.press_data(
        question["reply_markup"]["inline_keyboard"][0][0]["callback_data"], message=question
    )
    assert "тем временем изменилась на 100\u00a0₽" in now(owner, question)["text"]
    assert (await product(admin_shop, "TS-01")).price == 10000

    await owner.send_text("/price TS-01 99 999 999 999")
    assert owner.last["text"] == "Отказано: цена может быть не больше 10\u00a0000\u00a0000\u00a0₽."
    await owner.send_text("/price TS-01 120")  # an ordinary change needs no question
    assert owner.last["text"].endswith("цена 100\u00a0₽ → 120\u00a0₽")
    assert (await product(admin_shop, "TS-01")).price == 12000
    assert admin_shop.emulator.errors == []


async def test_cancelling_from_the_admin_card_asks_and_tells_the_shopper_why(
    admin_shop: Shop, catalogue: Catalogue
) -> None:
    owner = admin_shop.emulator.user(ADMIN, "Хозяйка")
    anna = admin_shop.emulator.user(101, "Анна")
    await anna.send_text("/start")
    first = await place_cash_order(admin_shop, 101, "MUG-1")
    await place_cash_order(admin_shop, 101, "TS-02", 2)

    await owner.send_text("/orders_admin")
    await owner.press(buttons(owner.last)[1])  # №1001
    await owner.press("✖ Отменить")
    assert "Отменить заказ №1001? Товары из него вернутся в продажу." in owner.last["text"]
    assert buttons(owner.last) == ["✔ Да, отменить", "⬅ Нет"]
    await owner.press("⬅ Нет")
    assert (await order_status(admin_shop, first.id)) is OrderStatus.AWAITING_CONFIRMATION

    await owner.press("✖ Отменить")
    await owner.press("✔ Да, отменить")
    assert "Напишите одним сообщением причину отмены заказа №1001" in owner.last["text"]
    assert buttons(owner.last) == ["Отменить без причины", "⬅ Не отменять"]
    assert (await order_status(admin_shop, first.id)) is OrderStatus.AWAITING_CONFIRMATION
    await owner.send_text("x" * 501)
    assert "не больше 500" in owner.last["text"]
    await owner.send_text("Кружка разбилась при упаковке <извините>")
    assert (await order_status(admin_shop, first.id)) is OrderStatus.CANCELLED
    assert "Заказ №1001 теперь: отменён." in owner.last["text"]
    assert "Заказ №1001 — отменён" in owner.messages[-2]["text"]
    assert anna.last["text"] == (
        "✖ Заказ №1001 отменён.\nСообщение магазина: Кружка разбилась при упаковке <извините>"
    )

    # Without a reason: the usual message.
    await owner.send_text("/orders_admin")
    await owner.press(buttons(owner.last)[0])  # №1002
    await owner.press("✖ Отменить")
    await owner.press("✔ Да, отменить")
    await owner.press("Отменить без причины")
    assert anna.last["text"] == "✖ Заказ №1002 отменён."
    assert (await product(admin_shop, "TS-02")).stock == 5
    # A text now is not taken for a reason any more.
    await owner.send_text("ещё что-то")
    assert "Заказ" not in owner.last["text"]
    assert admin_shop.emulator.errors == []


@pytest.fixture
async def yookassa() -> AsyncIterator[YooKassaEmulator]:
    emulator = YooKassaEmulator("500100", "live_secret")
    await emulator.start()
    yield emulator
    await emulator.stop()


@pytest.fixture
async def yk_shop(shop_factory: ShopFactory, yookassa: YooKassaEmulator) -> Shop:
    shop = await shop_factory(
        payment_provider="yookassa",
        yookassa_shop_id="500100",
        yookassa_secret_key="live_secret",
        yookassa_api_url=yookassa.api_url,
        yookassa_trusted_networks=["127.0.0.1/32"],
        admin_ids=[ADMIN],
    )
    assert shop.runtime is not None
    yookassa.webhook_url = f"{shop.runtime.web_url}/yookassa/webhook"
    await shop.emulator.user(ADMIN, "Хозяйка").send_text("/start")
    return shop


async def test_prices_and_orders_stay_within_what_yookassa_takes_in_one_payment(
    yk_shop: Shop, yookassa: YooKassaEmulator, catalogue: Catalogue
) -> None:
    owner = yk_shop.emulator.user(ADMIN, "Хозяйка")
    await owner.send_text("/price MUG-1 350 000,01")
    assert owner.last["text"] == (
        "Отказано: ЮKassa принимает не больше 350\u00a0000\u00a0₽ одним платежом, так что "
        "заплатить 350\u00a0000,01\u00a0₽ за этот товар никто не сможет."
    )
    assert (await product(yk_shop, "MUG-1")).price != 35000001

    # A cart can still add up to more (two units, or a price set before the limit was).
    async with yk_shop.session_factory() as session:
        await session.execute(
            update(Product).where(Product.sku == "MUG-1").values(price=400_000_00)
        )
        await session.commit()
    shopper = await check_out(yk_shop, 101, "MUG-1")
    assert shopper.last["text"] == (
        "Заказ на 400\u00a0000\u00a0₽ — это больше, чем можно оплатить одним платежом "
        "(350\u00a0000\u00a0₽). Уберите часть товаров из корзины или оформите несколько заказов."
    )
    async with yk_shop.session_factory() as session:
        assert await session.scalar(select(func.count()).select_from(Order)) == 0
    assert yookassa.payments == {}
    assert (await product(yk_shop, "MUG-1")).stock == 3
    assert yk_shop.emulator.errors == []


async def test_the_owner_reads_no_codes_on_an_order_card(
    yk_shop: Shop, yookassa: YooKassaEmulator, catalogue: Catalogue
) -> None:
    await check_out(yk_shop, 101, "MUG-1")
    ((payment_id, _payment),) = yookassa.payments.items()
    await yookassa.succeed(payment_id)
    await yk_shop.emulator.wait_handled()
    owner = yk_shop.emulator.user(ADMIN, "Хозяйка")
    await owner.send_text("/orders_admin оплачен")
    assert "Заказы «оплачен»</b>: 1" in owner.last["html_text"]
    await owner.press(buttons(owner.last)[0])
    card = owner.last["text"]
    assert "Оплата: ЮKassa" in card
    assert " Пётр: оформлен" in card  # user:101, the shopper, by name
    assert "ЮKassa (уведомление): " in card
    assert "статус платежа: прошёл" in card
    for code in ("yookassa", "user:", "succeeded", "webhook"):
        assert code not in card, code
    card_message = owner.last
    await owner.press("→ отправлен", message=card_message)
    assert "Хозяйка: оплачен → отправлен" in now(owner, card_message)["text"]
    assert yk_shop.emulator.errors == []


async def test_orders_admin_takes_status_words_and_the_csv_is_in_russian(
    admin_shop: Shop, catalogue: Catalogue
) -> None:
    owner = admin_shop.emulator.user(ADMIN, "Хозяйка")
    await place_cash_order(admin_shop, 101, "MUG-1")
    for words in ("ожидает подтверждения", "Ожидает  подтверждения", "awaiting_confirmation"):
        await owner.send_text(f"/orders_admin {words}")
        assert "Заказы «ожидает подтверждения»</b>: 1" in owner.last["html_text"], words
    await owner.send_text("/orders_admin отправлен")
    assert owner.last["text"] == "Заказов не найдено."
    await owner.send_text("/orders_admin пропал")
    assert "ожидает оплаты, ожидает подтверждения, оплачен" in owner.last["text"]

    await owner.press(buttons(await owner_orders(owner))[0])
    assert "Оплата: наличными при получении" in owner.last["text"]

    await owner.send_text("/export_orders 7")
    data = await admin_shop.bot.download(owner.last["document"]["file_id"])
    assert data is not None
    rows = list(csv.reader(io.StringIO(data.getvalue().decode("utf-8-sig")), delimiter=";"))
    assert rows[0] == [
        "Заказ",
        "Оформлен",
        "Статус",
        "Имя",
        "Телефон",
        "Доставка",
        "Стоимость доставки",
        "Адрес",
        "Комментарий",
        "Оплата",
        "Артикул",
        "Товар",
        "Количество",
        "Цена",
        "Сумма по строке",
        "Скидка по строке",
        "Сумма заказа",
    ]
    row = dict(zip(rows[0], rows[1], strict=True))
    assert row["Скидка по строке"] == "0,00"
    assert row["Статус"] == "ожидает подтверждения"
    assert (row["Доставка"], row["Оплата"]) == ("курьер", "наличными при получении")
    assert row["Телефон"] == '="+79001234567"'  # Excel shows +79001234567, as text
    assert admin_shop.emulator.errors == []


async def owner_orders(owner: EmulatedUser) -> dict:
    await owner.send_text("/orders_admin")
    return owner.last
