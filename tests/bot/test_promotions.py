"""Promotions end to end through the real dispatcher and the Bot API emulator: a sale set by
the owner shows crossed out and ends on time, promo codes applied at checkout or by a deep
link (each refusal answered in the shopper's language), discounts in YooKassa receipts and
Telegram invoices, the owner's /promo, and none of it for a non-admin."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from shopbot.bot.routers.admin.promo import AdminPromoCb, PromoAdminAction
from shopbot.emulators.yookassa import YooKassaEmulator
from shopbot.models import Order, OrderStatus, PromoCode, PromoKind
from shopbot.money import format_price
from shopbot.services import admin, cart, orders, pricing, promo
from shopbot.services.promo import Terms
from tests.bot.conftest import (
    ADMIN,
    YK_ADMIN,
    Catalogue,
    Shop,
    ShopFactory,
    buttons,
    check_out,
    poll_as_tasks,
    product,
    until,
)
from tests.factories import make_product, make_user

# 12:00 in Moscow, the shop's clock.
START = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
UNKNOWN = "Такой команды нет."


@pytest.fixture
def clock() -> Iterator[list[datetime]]:
    now = [START]
    pricing.set_clock(lambda: now[0])
    yield now
    pricing.set_clock(None)


def crossed(old: int, new: int) -> str:
    return f"<s>{format_price(old)}</s> {format_price(new)}"


async def make_code(shop: Shop, code: str, kind: PromoKind, amount: int, **rules: object) -> None:
    async with shop.session_factory() as session:
        await promo.create(session, Terms(code, kind, amount, **rules), actor="test")  # type: ignore[arg-type]


async def placed(shop: Shop) -> Order:
    async with shop.session_factory() as session:
        order = await session.scalar(select(Order).order_by(Order.id.desc()).limit(1))
        assert order is not None
        return order


async def test_a_sale_shows_crossed_out_and_ends_on_time(
    admin_shop: Shop, catalogue: Catalogue, clock: list[datetime]
) -> None:
    owner = admin_shop.emulator.user(ADMIN, "Хозяйка")
    anna = admin_shop.emulator.user(101, "Анна")
    await anna.send_text("/catalog")
    assert "🔥 Акции" not in buttons(anna.last)  # nothing on sale: no entry

    await owner.send_text("/sale TS-01 999 до 03.12.2026 18:00")
    assert owner.last["html_text"] == (
        "🔥 TS-01 «Футболка 01» по акции: " + crossed(129900, 99900) + ", до 03.12.2026 18:00."
    )
    await owner.send_text("/sale")
    assert "Сейчас по акции</b> — 1" in owner.last["html_text"]

    await anna.send_text("/catalog")
    assert buttons(anna.last)[0] == "🔥 Акции"
    await anna.press("🔥 Акции")
    assert "Акции</b> — 1 товар" in anna.last["html_text"]
    assert crossed(129900, 99900) in anna.last["html_text"]
    assert buttons(anna.last)[0] == "1 · 🔥 999\u00a0₽ · Футболка 01"
    await anna.press("1 · 🔥 999\u00a0₽ · Футболка 01")
    card = anna.last["html_text"]
    assert f"Цена: <b>{crossed(129900, 99900)}</b>" in card
    assert "🔥 Акция до 03.12.2026 18:00" in card
    await anna.press("🛒 В корзину")
    await anna.send_text("/cart")
    assert crossed(129900, 99900) in anna.last["html_text"]
    assert "Итого: <b>999\u00a0₽</b>" in anna.last["html_text"]
    await anna.send_text("/search футболка 01")
    assert crossed(129900, 99900) in anna.last["html_text"]  # search results too

    clock[0] = datetime(2026, 12, 3, 15, 0, tzinfo=UTC)  # 18:00 in Moscow: the sale is over
    await anna.send_text("/cart")
    assert "<s>" not in anna.last["html_text"]
    assert "Итого: <b>1\u00a0299\u00a0₽</b>" in anna.last["html_text"]
    await anna.send_text("/catalog")
    assert "🔥 Акции" not in buttons(anna.last)
    await anna.send_text("/start p_TS-01")  # the card was cached while on sale
    assert "Цена: <b>1\u00a0299\u00a0₽</b>" in anna.last["html_text"]
    assert admin_shop.emulator.errors == []


async def test_an_order_keeps_the_sale_price_it_was_placed_at(
    admin_shop: Shop, catalogue: Catalogue, clock: list[datetime]
) -> None:
    owner = admin_shop.emulator.user(ADMIN, "Хозяйка")
    await owner.send_text("/sale MUG-1 390")  # until taken off
    assert "пока вы её не отмените" in owner.last["text"]
    await check_out(admin_shop, 102, "MUG-1")
    order = await placed(admin_shop)
    assert (order.total, order.lines[0].unit_price) == (39000, 39000)
    await owner.send_text("/sale MUG-1 off")
    assert (
        owner.last["text"]
        == "Акция на MUG-1 «Кружка «Утро»» завершена: снова продаётся по 490\u00a0₽."
    )
    async with admin_shop.session_factory() as session:
        kept = await session.get(Order, order.id)
        assert kept is not None and kept.lines[0].unit_price == 39000
    assert (await product(admin_shop, "MUG-1")).sale_price is None


async def test_a_sale_ending_between_the_summary_and_confirm_shows_the_new_total(
    admin_shop: Shop, catalogue: Catalogue, clock: list[datetime]
) -> None:
    """The shopper is never charged other than the summary said: at Confirm a total that
    changed since (the sale ended at 18:00) places nothing and shows the new summary."""
    owner = admin_shop.emulator.user(ADMIN, "Хозяйка")
    await owner.send_text("/sale MUG-1 390 до 03.12.2026 18:00")
    petr = await check_out(admin_shop, 103, "MUG-1", confirm=False)
    assert "390\u00a0₽" in petr.last["text"]
    clock[0] = datetime(2026, 12, 3, 15, 1, tzinfo=UTC)  # 18:01 in Moscow: the sale is over
    answer = await petr.press("✅ Подтвердить")
    assert answer is not None and answer.show_alert
    assert answer.text == (
        "Сумма заказа теперь 490\u00a0₽: цены изменились после этой сводки. Проверьте её, "
        "пожалуйста."
    )
    async with admin_shop.session_factory() as session:
        assert await session.scalar(select(func.count()).select_from(Order)) == 0
    assert "490\u00a0₽" in petr.last["text"] and "390\u00a0₽" not in petr.last["text"]
    await petr.press("✅ Подтвердить")
    order = await placed(admin_shop)
    assert order.total == 49000


async def test_the_owner_refuses_a_sale_above_the_price_or_already_over(
    admin_shop: Shop, catalogue: Catalogue, clock: list[datetime]
) -> None:
    owner = admin_shop.emulator.user(ADMIN, "Хозяйка")
    await owner.send_text("/sale TS-01 1500")
    assert owner.last["text"] == "Цена по акции должна быть ниже обычной (1\u00a0299\u00a0₽)."
    await owner.send_text("/sale TS-01 999 до 02.12.2026")
    assert "Это время уже прошло" in owner.last["text"]
    await owner.send_text("/sale TS-01 999 до 32.12.2026")
    assert "не дата вида" in owner.last["text"]
    await owner.send_text("/sale NOPE 999")
    assert owner.last["text"] == "Нет товара с артикулом NOPE."
    await owner.send_text("/sale TS-01")
    assert owner.last["text"].startswith("Как писать: /sale")
    assert (await product(admin_shop, "TS-01")).sale_price is None


async def test_a_code_typed_at_checkout_is_on_the_summary_the_order_and_the_receipt(
    yk_shop: Shop, yookassa: YooKassaEmulator, catalogue: Catalogue, clock: list[datetime]
) -> None:
    await make_code(yk_shop, "SPRING", PromoKind.PERCENT, 10)
    petr = await check_out(yk_shop, 103, "MUG-1", confirm=False)
    assert "🎟 Есть промокод?" in buttons(petr.last)
    await petr.press("🎟 Есть промокод?")
    assert petr.last["text"].startswith("🎟 Введите промокод")
    await petr.send_text("spring")
    assert petr.messages[-2]["text"] == "✅ Промокод SPRING применён: −49\u00a0₽."
    summary = petr.last["html_text"]
    assert "🎟 Промокод SPRING: −49\u00a0₽" in summary
    assert "Итого: <b>441\u00a0₽</b>" in summary
    assert "✖ Убрать промокод" in buttons(petr.last)
    await petr.press("✅ Подтвердить")
    order = await placed(yk_shop)
    assert (order.subtotal, order.discount, order.total) == (49000, 4900, 44100)
    assert (order.promo_code, order.lines[0].discount) == ("SPRING", 4900)
    ((payment_id, payment),) = yookassa.payments.items()
    assert payment["amount"]["value"] == "441.00"
    assert [(i["amount"]["value"], i["quantity"]) for i in payment["receipt"]["items"]] == [
        ("441.00", "1.0")
    ]
    await yookassa.succeed(payment_id)
    await yk_shop.emulator.wait_handled()
    assert (await placed(yk_shop)).status is OrderStatus.PAID
    await petr.send_text("/orders")
    await petr.press(f"№{order.number} · 441\u00a0₽ · оплачен")
    assert "🎟 Промокод SPRING: −49\u00a0₽" in petr.last["html_text"]

    # Refunded from the owner's card: what was paid goes back, with the same receipt.
    owner = yk_shop.emulator.user(YK_ADMIN, "Хозяйка")
    await owner.send_text("/orders_admin paid")
    await owner.press(buttons(owner.last)[0])
    await owner.press("✖ Отменить")
    assert "вернуть покупателю 441\u00a0₽?" in owner.last["text"]
    await owner.press("✔ Да, отменить и вернуть деньги")
    await yk_shop.emulator.wait_handled()
    (refund,) = yookassa.refunds.values()
    assert refund["amount"]["value"] == "441.00"
    assert [i["amount"]["value"] for i in refund["receipt"]["items"]] == ["441.00"]
    assert (await placed(yk_shop)).status is OrderStatus.REFUNDED
    async with yk_shop.session_factory() as session:  # the refunded order gave its use back
        assert await session.scalar(select(PromoCode.uses)) == 0
    assert yk_shop.emulator.errors == []


async def test_odd_amounts_split_into_receipt_items_that_add_up(
    yk_shop: Shop, yookassa: YooKassaEmulator, catalogue: Catalogue, clock: list[datetime]
) -> None:
    """10 % of 3 × 333,33 ₽: 899,99 ₽ paid, as 2 × 300,00 ₽ + 1 × 299,99 ₽."""
    mug = await product(yk_shop, "MUG-1")
    async with yk_shop.session_factory() as session:
        await admin.set_price(session, "MUG-1", 33333, actor="test")
    await make_code(yk_shop, "ODD", PromoKind.PERCENT, 10)
    petr = yk_shop.emulator.user(104, "Пётр")
    await petr.send_text("/start promo_ODD")
    assert "Промокод ODD сохранён" in petr.last["text"]
    await petr.send_text("/start p_MUG-1")
    await petr.press("🛒 В корзину")
    await petr.press("🛒 В корзине: 1 · ➕")
    await petr.press("🛒 В корзине: 2 · ➕")
    await petr.send_text("/cart")
    await petr.press("✅ Оформить заказ")
    await petr.send_text("Пётр")
    await petr.send_text("8 (900) 765-43-21")
    await petr.press("🏬 Самовывоз")
    await petr.press("Пропустить")
    assert "🎟 Промокод ODD: −100\u00a0₽" in petr.last["html_text"]  # kept from the link
    assert "Итого: <b>899,99\u00a0₽</b>" in petr.last["html_text"]
    await petr.press("✅ Подтвердить")
    ((_payment_id, payment),) = yookassa.payments.items()
    assert payment["amount"]["value"] == "899.99"
    assert [(i["amount"]["value"], i["quantity"]) for i in payment["receipt"]["items"]] == [
        ("300.00", "2.0"),
        ("299.99", "1.0"),
    ]
    assert mug.id == (await placed(yk_shop)).lines[0].product_id
    assert yk_shop.emulator.errors == []


async def test_each_refused_code_gets_its_own_answer(
    shop: Shop, catalogue: Catalogue, clock: list[datetime]
) -> None:
    await make_code(shop, "OFF", PromoKind.PERCENT, 10)
    async with shop.session_factory() as session:
        off = await session.scalar(select(PromoCode.id).where(PromoCode.code == "OFF"))
        assert off is not None
        await promo.deactivate(session, off)
    await make_code(shop, "LATER", PromoKind.PERCENT, 10, starts_at=START + timedelta(days=1))
    await make_code(shop, "OLD", PromoKind.PERCENT, 10, ends_at=START)
    await make_code(shop, "MIN", PromoKind.FIXED, 50000, min_total=200000)
    await make_code(shop, "FULL", PromoKind.PERCENT, 10, max_uses=1)
    await make_code(shop, "ONCE", PromoKind.PERCENT, 10, once_per_shopper=True)
    await make_code(shop, "FIRST", PromoKind.PERCENT, 10, first_order_only=True)
    await make_code(shop, "SHIRTS", PromoKind.PERCENT, 10, category="Футболки")
    # Another shopper's order takes FULL's only use; this shopper's first order uses ONCE.
    await check_out(shop, 105, "MUG-1", confirm=False)
    await shop.emulator.user(105, "Пётр").press("🎟 Есть промокод?")
    await shop.emulator.user(105, "Пётр").send_text("FULL")
    await shop.emulator.user(105, "Пётр").press("✅ Подтвердить")
    petr = await check_out(shop, 106, "MUG-1", confirm=False)
    await petr.press("🎟 Есть промокод?")
    await petr.send_text("ONCE")
    await petr.press("✅ Подтвердить")
    assert (await placed(shop)).promo_code == "ONCE"

    petr = await check_out(shop, 106, "MUG-1", confirm=False)
    await petr.press("🎟 Есть промокод?")
    answers = {
        "NOPE": "Промокода NOPE нет. Проверьте, правильно ли он написан.",
        "OFF": "Промокод OFF больше не действует.",
        "LATER": "Промокод LATER начнёт действовать 04.12.2026 12:00.",
        "OLD": "Промокод OLD не подходит: код истёк.",
        "MIN": "Промокод MIN не подходит: минимальная сумма заказа 2\u00a0000\u00a0₽ (товары, "
        "без доставки).",
        "FULL": "Промокод FULL не подходит: его лимит применений исчерпан.",
        "ONCE": "Промокод ONCE не подходит: код уже использован, а он действует один раз на "
        "покупателя.",
        "FIRST": "Промокод FIRST действует только на первый заказ.",
        "SHIRTS": "Промокод SHIRTS действует на товары из раздела «Одежда / Футболки», а их "
        "в корзине нет.",
        "two words": "Промокод — одно слово, не длиннее 32 символов. Введите его ещё раз.",
    }
    for code, answer in answers.items():
        await petr.send_text(code)
        assert petr.last["text"] == answer, code
        assert buttons(petr.last) == ["⬅ К заказу без кода"]
    await petr.press("⬅ К заказу без кода")
    assert "Промокод" not in petr.last["text"]
    await petr.press("✅ Подтвердить")
    assert (await placed(shop)).discount == 0

    english = shop.emulator.user(107, "Ann", language_code="en")
    await english.send_text("/start promo_OLD")
    assert english.last["text"].startswith("🎟 Promo code OLD is saved")
    await english.send_text("/start p_TS-02")
    await english.press("🛒 Add to cart")
    await english.send_text("/cart")
    await english.press("✅ Check out")
    await english.send_text("Ann")
    await english.send_text("+7 900 765-43-21")
    await english.press("🏬 Pickup")
    await english.press("Skip")
    assert english.last["text"].startswith("The promo code OLD does not apply: it has expired.")
    assert shop.emulator.errors == []


async def test_a_code_that_stops_applying_before_confirm_is_refused_then(
    shop: Shop, catalogue: Catalogue, clock: list[datetime]
) -> None:
    await make_code(shop, "SOON", PromoKind.FIXED, 10000, ends_at=START + timedelta(minutes=5))
    petr = await check_out(shop, 108, "MUG-1", confirm=False)
    await petr.press("🎟 Есть промокод?")
    await petr.send_text("SOON")
    assert "Итого: <b>390\u00a0₽</b>" in petr.last["html_text"]
    clock[0] = START + timedelta(minutes=5)
    answer = await petr.press("✅ Подтвердить")
    assert answer is not None and answer.text == "Промокод SOON не подходит: код истёк."
    assert "Итого: <b>490\u00a0₽</b>" in petr.last["html_text"]  # the summary, without it
    await petr.press("✅ Подтвердить")
    order = await placed(shop)
    assert (order.total, order.discount, order.promo_code) == (49000, 0, None)
    assert shop.emulator.errors == []


async def test_the_telegram_invoice_charges_the_discounted_lines(
    shop_factory: ShopFactory, catalogue: Catalogue, clock: list[datetime]
) -> None:
    shop = await shop_factory(payment_provider="telegram", telegram_provider_token="381764678:TEST")
    await make_code(shop, "TG", PromoKind.FIXED, 9000)
    anna = await check_out(shop, 109, "MUG-1", confirm=False)
    await anna.press("🎟 Есть промокод?")
    await anna.send_text("TG")
    await anna.press("✅ Подтвердить")
    invoice = anna.last
    assert invoice["invoice"]["total_amount"] == 40000
    prices = json.loads(
        next(call for call in shop.emulator.calls if call.method == "sendInvoice").params["prices"]
    )
    assert prices == [{"label": "Кружка «Утро» × 1", "amount": 40000}]
    assert await anna.pay_invoice(invoice) is True
    assert (await placed(shop)).status is OrderStatus.PAID
    assert shop.emulator.errors == []


async def test_the_owner_makes_lists_and_switches_off_codes(
    admin_shop: Shop, catalogue: Catalogue, clock: list[datetime]
) -> None:
    owner = admin_shop.emulator.user(ADMIN, "Хозяйка")
    await owner.send_text("/promo")
    assert owner.last["text"].startswith("🎟 Промокодов пока нет.")
    await owner.send_text(
        '/promo new WEAR 10% min=2000 until=31.12.2026 uses=10 once first category="Одежда"'
    )
    assert owner.last["html_text"].startswith(
        "✅ Промокод <b>WEAR</b> создан: 10% · от 2\u00a0000\u00a0₽ · по 31.12.2026 · "
        "один раз на покупателя · только первый заказ · раздел «Одежда»."
    )
    async with admin_shop.session_factory() as session:
        wear = await session.scalar(select(PromoCode).where(PromoCode.code == "WEAR"))
    assert wear is not None
    assert wear.ends_at == datetime(2026, 12, 31, 21, 0, tzinfo=UTC)  # midnight in Moscow
    assert (wear.min_total, wear.max_uses, wear.once_per_shopper) == (200000, 10, True)
    await owner.send_text("/promo new WEAR 500")
    assert owner.last["text"] == "Код WEAR уже есть: выберите другое название."
    await owner.send_text("/promo new CASH 500 soon")
    assert owner.last["text"].startswith("Не знаю условия «soon».")
    await owner.send_text("/promo new BAD 0%")
    assert owner.last["text"].startswith("«0%» — не скидка")
    await owner.send_text('/promo new SHOES 5% category="Обувь"')
    assert owner.last["text"] == "Нет раздела «Обувь»."

    # With buttons: the name, the discount, the rules ticked, then Create.
    await owner.send_text("/promo")
    await owner.press("➕ Новый промокод")
    await owner.send_text("ZIMA")
    await owner.send_text("300")
    await owner.press("☐ только первый заказ")
    assert "☑ только первый заказ" in buttons(owner.last)
    await owner.press("✅ Создать")
    assert owner.last["html_text"].startswith(
        "✅ Промокод <b>ZIMA</b> создан: 300\u00a0₽ · только первый заказ."
    )

    # A shopper's paid order counts for the code's uses and revenue.
    anna = await check_out(admin_shop, 110, "TS-01", confirm=False)
    await anna.press("🎟 Есть промокод?")
    await anna.send_text("ZIMA")
    await anna.press("✅ Подтвердить")
    await admin_shop.emulator.wait_handled()
    # The staff's card of the new order names the code and its discount.
    assert any("🎟 Промокод ZIMA: −300\u00a0₽" in text for text in owner.texts())
    async with admin_shop.session_factory() as session:
        order = await placed(admin_shop)
        await orders.transition(session, order.id, OrderStatus.CONFIRMED, actor="admin:900")
    await owner.send_text("/promo")
    listing = owner.last["html_text"]
    assert "1. <b>ZIMA</b> — 300\u00a0₽ · только первый заказ" in listing
    assert "применений: 1 · заказов: 1, выручка 999\u00a0₽" in listing
    assert "применений: 0 из 10" in listing
    await owner.press("✖ 1 · выключить ZIMA")
    assert "<b>ZIMA</b> (выключен)" in owner.last["html_text"]
    assert "✖ 1 · выключить ZIMA" not in buttons(owner.last)
    forged = AdminPromoCb(action=PromoAdminAction.OFF, promo_id=wear.id).pack()
    await owner.press_data(forged, message=owner.last)
    answer = await owner.press_data(forged, message=owner.last)
    assert answer is not None and answer.text == "Этот промокод уже выключен или удалён."
    await owner.send_text("/promo off wear")
    assert owner.last["text"] == "Нет действующего промокода WEAR."
    assert admin_shop.emulator.errors == []


async def test_a_non_admin_can_use_none_of_the_owners_promotions(
    admin_shop: Shop, catalogue: Catalogue, clock: list[datetime]
) -> None:
    await make_code(admin_shop, "KEEP", PromoKind.PERCENT, 10)
    anna = admin_shop.emulator.user(111, "Анна")
    for command in ("/sale TS-01 1", "/sale TS-01 off", "/sale", "/promo", "/promo new X 99%"):
        await anna.send_text(command)
        assert anna.last["text"].startswith(UNKNOWN), command
    async with admin_shop.session_factory() as session:
        keep = await session.scalar(select(PromoCode).where(PromoCode.code == "KEEP"))
        assert keep is not None
        count = len(await promo.list_codes(session))
    forged = AdminPromoCb(action=PromoAdminAction.OFF, promo_id=keep.id).pack()
    await anna.press_data(forged, message=anna.last)
    async with admin_shop.session_factory() as session:
        assert len(await promo.list_codes(session)) == count
        still = await session.scalar(select(PromoCode.active).where(PromoCode.id == keep.id))
    assert still is True
    assert (await product(admin_shop, "TS-01")).sale_price is None
    assert admin_shop.emulator.errors == []


async def test_fifty_shoppers_confirming_at_once_get_ten_uses_of_a_code(
    shop: Shop, session: AsyncSession
) -> None:
    """Through the dispatcher, each update a task of its own as ``shopbot run`` polls: 50
    summaries with the code applied, 50 Confirms pressed together, 10 uses."""
    mug = await make_product(session, "Кружка", sku="RACE-MUG", price=33333, stock=500)
    await make_code(shop, "TEN", PromoKind.PERCENT, 10, max_uses=10)
    await session.commit()  # end the read begun before the code was written (SQLite's WAL)
    ids = range(40_001, 40_051)
    shoppers = []
    for user_id in ids:
        await make_user(session, user_id, "Покупатель")
        await cart.set_quantity(session, user_id, mug.id, 3)
        shopper = shop.emulator.user(user_id, "Покупатель")
        await shopper.send_text("/cart")
        await shopper.press("✅ Оформить заказ")
        await shopper.send_text("Покупатель")
        await shopper.send_text("+7 900 765-43-21")
        await shopper.press("🏬 Самовывоз")
        await shopper.press("Пропустить")
        await shopper.press("🎟 Есть промокод?")
        await shopper.send_text("TEN")
        assert "Итого: <b>899,99\u00a0₽</b>" in shopper.last["html_text"]
        shoppers.append(shopper)
    answered = len(shop.emulator.callback_answers)
    await poll_as_tasks(shop)
    for shopper in shoppers:
        await shopper.press("✅ Подтвердить", wait=False)
    await until(lambda: len(shop.emulator.callback_answers) >= answered + 50, 120)
    await shop.emulator.wait_handled(timeout=120)

    answers = list(shop.emulator.callback_answers.values())[answered:]
    refused = [
        a for a in answers if a.text == "Промокод TEN не подходит: его лимит применений исчерпан."
    ]
    async with shop.session_factory() as own:
        with_code = await own.scalar(
            select(func.count()).select_from(Order).where(Order.promo_code == "TEN")
        )
        placed_orders = await own.scalar(select(func.count()).select_from(Order))
        uses = await own.scalar(select(PromoCode.uses).where(PromoCode.code == "TEN"))
    assert (with_code, uses, len(refused), placed_orders) == (10, 10, 40, 10)
    assert shop.emulator.errors == []
