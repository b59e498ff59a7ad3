"""The owner's admin commands end to end: the real dispatcher on the Bot API emulator, the
real importer and database."""

from __future__ import annotations

import os
import time

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shopbot.bot.routers.admin.callbacks import AdminProductCb, ProductAction
from shopbot.models import (
    DeliveryMethod,
    Order,
    OrderStatus,
    OutboxMessage,
    Product,
    StockEvent,
)
from shopbot.services import cart, orders
from shopbot.services.marketing import CONSENT_QUESTION
from shopbot.services.orders import Checkout
from tests.bot.conftest import ADMIN, Catalogue, Shop, buttons, product
from tests.factories import make_user

UNKNOWN = "Такой команды нет."


async def downloaded(shop: Shop, message: dict) -> bytes:
    buffer = await shop.bot.download(message["document"]["file_id"])
    assert buffer is not None
    return buffer.getvalue()


async def place_cash_order(
    shop: Shop,
    user_id: int,
    sku: str,
    quantity: int = 1,
    *,
    sessions: async_sessionmaker[AsyncSession] | None = None,
) -> Order:
    async with (sessions or shop.session_factory)() as session:
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


async def test_a_non_admin_gets_no_admin_command_and_changes_nothing(
    admin_shop: Shop, catalogue: Catalogue
) -> None:
    anna = admin_shop.emulator.user(101, "Анна")
    before = await product(admin_shop, "TS-01")
    for command in (
        "/admin",
        "/stock",
        "/stock TS-01 0",
        "/price TS-01 1",
        "/hide TS-01",
        "/show MUG-H",
        "/product TS-01",
        "/import",
        "/export",
        "/export_orders",
        "/orders_admin",
        "/stats",
        "/subscribers",
    ):
        await anna.send_text(command)
        assert anna.last["text"].startswith(UNKNOWN), command
    await anna.send_document("c.csv", b"sku,name,price\nTS-01,X,1\n", caption="/import")
    assert anna.last["text"].startswith("Извините, файлы и картинки я не принимаю.")
    forged = AdminProductCb(action=ProductAction.ADJUST, product_id=before.id, delta=-1).pack()
    answer = await anna.press_data(forged, message=anna.last)
    assert answer is not None and "устарела" in answer.text
    after = await product(admin_shop, "TS-01")
    assert (after.stock, after.price, after.active, after.name) == (5, 129900, True, before.name)
    assert not (await product(admin_shop, "MUG-H")).active
    assert all("document" not in message for message in anna.messages)
    assert admin_shop.emulator.errors == []


async def test_admin_menu_and_stock_commands(admin_shop: Shop, catalogue: Catalogue) -> None:
    owner = admin_shop.emulator.user(ADMIN, "Хозяйка")
    await owner.send_text("/admin")
    assert "/stock АРТИКУЛ N" in owner.last["text"]
    assert "📉 Мало на складе" in buttons(owner.last)
    # The admin's own command menu now lists the admin commands; shoppers' menu does not.
    own_menu = [c["command"] for c in admin_shop.emulator.commands[(f"chat:{ADMIN}", "")]]
    assert own_menu[:2] == ["start", "catalog"] and "stock" in own_menu
    assert "stock" not in [c["command"] for c in admin_shop.emulator.commands[("default", "")]]

    await owner.send_text("/stock")
    assert "Мало на складе</b> (≤ 3): 2" in owner.last["html_text"]
    assert buttons(owner.last) == ["MUG-0 · Кружка распродана — 0", "MUG-1 · Кружка «Утро» — 3"]

    await owner.send_text("/stock TS-01 8")
    assert owner.last["text"] == "Футболка 01 (TS-01): остаток 5 → 8"
    await owner.send_text("/stock TS-01 +2")
    assert "остаток 8 → 10" in owner.last["text"]
    await owner.send_text("/stock TS-01 -3")
    assert "остаток 10 → 7" in owner.last["text"]
    await owner.send_text("/stock TS-01 -20")
    assert owner.last["text"].startswith("Отказано: у TS-01 в продаже 7")
    for bad in ("/stock TS-01 abc", "/stock TS-01", "/stock TS-01 1.5"):
        await owner.send_text(bad)
        assert owner.last["text"].startswith("Как использовать: /stock"), bad
    await owner.send_text("/stock NOPE 1")
    assert owner.last["text"] == "Нет товара с артикулом NOPE."
    assert (await product(admin_shop, "TS-01")).stock == 7

    # Units held by an unpaid order are shown beside the stock for sale.
    async with admin_shop.session_factory() as session:
        await make_user(session, 101)
    await place_cash_order(admin_shop, 101, "TS-01", 2)
    await owner.send_text("/stock TS-01 +1")
    assert owner.last["text"] == ("Футболка 01 (TS-01): остаток 5 → 6\nВ неоплаченных заказах: 2")
    async with admin_shop.session_factory() as session:
        actors = set(await session.scalars(select(StockEvent.actor)))
    assert actors == {f"admin:{ADMIN}"}


async def test_price_hide_show_and_product_card(admin_shop: Shop, catalogue: Catalogue) -> None:
    owner = admin_shop.emulator.user(ADMIN, "Хозяйка")
    await owner.send_text("/price TS-01 1 499,50")
    assert (
        owner.last["text"] == "Футболка 01 (TS-01): цена 1\u00a0299\u00a0₽ → 1\u00a0499,50\u00a0₽"
    )
    for bad in ("/price TS-01 abc", "/price TS-01", "/price"):
        await owner.send_text(bad)
        assert owner.last["text"].startswith("Как использовать: /price"), bad
    await owner.send_text("/hide TS-01")
    assert owner.last["text"] == "Товар скрыт от покупателей: Футболка 01 (TS-01)."
    assert not (await product(admin_shop, "TS-01")).active
    await owner.send_text("/show MUG-H")
    assert owner.last["text"] == "Товар снова виден покупателям: Кружка скрытая (MUG-H)."
    await owner.send_text("/show MUG-H")
    assert owner.last["text"].endswith("(Так уже было.)")
    await owner.send_text("/hide")
    assert owner.last["text"].startswith("Как использовать: /hide")

    await owner.send_text("/product MUG-1")
    card = owner.last
    assert "<b>Кружка «Утро»</b>" in card["html_text"] and "Артикул: MUG-1" in card["text"]
    assert buttons(card) == ["-10", "-1", "+1", "+10", "🙈 Скрыть", "🔄"]
    answer = await owner.press("+10", message=card)
    assert answer is not None and answer.text == "Остаток 3 → 13"
    answer = await owner.press("-10", message=card)
    answer = await owner.press("-10", message=card)
    assert answer is not None and answer.show_alert and "только 3" in answer.text
    await owner.press("🙈 Скрыть", message=card)
    assert "🙈 Скрыт от покупателей" in owner.last["text"]
    assert "👁 Показать" in buttons(owner.last)
    assert "Хозяйка: скрыт" in owner.last["text"]
    assert "Хозяйка: остаток 13 → 3" in owner.last["text"]
    found = await product(admin_shop, "MUG-1")
    assert (found.stock, found.active) == (3, False)
    await owner.send_text("/product NOPE")
    assert owner.last["text"] == "Нет товара с артикулом NOPE."
    assert admin_shop.emulator.errors == []


GOOD_CSV = (
    "sku;name;price;stock;category\n"
    "TS-01;Футболка 01;1 399,00;5;Одежда / Футболки\n"
    "NEW-1;Новинка;990;7;Новое\n"
).encode()
BAD_CSV = "sku,name,price,stock\nTS-01,Футболка,abc,5\nNEW-2,,10,x\n".encode()


async def test_import_in_the_chat_dry_run_then_apply(
    admin_shop: Shop, catalogue: Catalogue
) -> None:
    owner = admin_shop.emulator.user(ADMIN, "Хозяйка")
    pending = admin_shop.settings.media_dir / "import" / "pending"
    pending.mkdir(parents=True)
    forgotten = pending / "0123456789abcdef.csv"  # checked two days ago, never applied
    forgotten.write_bytes(GOOD_CSV)
    two_days_ago = time.time() - 2 * 24 * 3600
    os.utime(forgotten, (two_days_ago, two_days_ago))

    await owner.send_document("catalogue.csv", GOOD_CSV, caption="/import")
    summary = owner.last
    assert not forgotten.exists()
    assert "Проверено строк: 2." in summary["text"]
    assert "новые товары: 1" in summary["text"] and "изменённые: 1" in summary["text"]
    assert buttons(summary) == ["✅ Применить", "✖ Отменить"]
    assert (await product(admin_shop, "TS-01")).price == 129900  # a dry run writes nothing

    await owner.press("✅ Применить", message=summary)
    assert "Импорт выполнен (строк: 2)" in owner.last["text"]
    assert (await product(admin_shop, "TS-01")).price == 139900
    assert (await product(admin_shop, "NEW-1")).stock == 7
    answer = await owner.press_data(
        summary["reply_markup"]["inline_keyboard"][0][0]["callback_data"], message=summary
    )
    assert answer is not None and "уже применён" in answer.text

    # /import first, then the file; Cancel leaves everything as it was.
    await owner.send_text("/import")
    assert "Пришлите каталог файлом CSV" in owner.last["text"]
    await owner.send_document("again.csv", GOOD_CSV.replace(b"990", b"999"))
    await owner.press("✖ Отменить")
    assert owner.last["text"] == "Импорт отменён. Ничего не изменилось."
    assert (await product(admin_shop, "NEW-1")).price == 99000
    assert list((admin_shop.settings.media_dir / "import" / "pending").iterdir()) == []


async def test_import_errors_come_back_with_lines_and_change_nothing(
    admin_shop: Shop, catalogue: Catalogue
) -> None:
    owner = admin_shop.emulator.user(ADMIN, "Хозяйка")
    await owner.send_document("bad.csv", BAD_CSV, caption="/import")
    text = owner.last["text"]
    assert text.startswith("❌ В файле 3 ошибки. Ничего не изменилось.")
    assert "строка 2, Цена: «abc» — не цена" in text and "строка 3, Наименование" in text
    assert "строка 3, Остаток: «x» — не целое число." in text
    assert (await product(admin_shop, "TS-01")).price == 129900

    many = "sku,name,price\n" + "".join(f"E-{n},Товар,abc\n" for n in range(25))
    await owner.send_document("many.csv", many.encode(), caption="/import")
    listing = owner.last
    assert listing["document"]["file_name"] == "import-errors.txt"
    content = (await downloaded(admin_shop, listing)).decode()
    assert content.count("\n") == 25 and content.startswith("строка 2, Цена:")
    assert "В файле 25 ошибок" in owner.texts()[-2]

    await owner.send_document(
        "photo.jpg", b"\xff\xd8\xff", caption="/import", mime_type="image/jpeg"
    )
    assert owner.last["text"].startswith("Это не файл CSV.")
    downloads_before = len([c for c in admin_shop.emulator.calls if c.method == "getFile"])
    await owner.send_document("huge.csv", b"x" * (6 * 1024 * 1024), caption="/import")
    assert owner.last["text"] == "Файл весит 6.0 МБ, а импорт принимает не больше 5 МБ."
    assert len([c for c in admin_shop.emulator.calls if c.method == "getFile"]) == downloads_before
    async with admin_shop.session_factory() as session:
        assert await session.scalar(select(Product).where(Product.sku == "E-1")) is None


async def test_a_five_megabyte_file_of_errors_gets_a_short_answer(
    admin_shop: Shop, catalogue: Catalogue
) -> None:
    """It grew the bot to 976 MB, and Telegram refused its 50 MB list of errors."""
    row = "E-{n:07d},Товар,abc,x,,,,maybe\n"  # three errors a row
    rows = (5 * 1024 * 1024 - 100) // len(row.format(n=0).encode())
    data = (
        "sku,name,price,stock,category,description,image,active\n"
        + "".join(row.format(n=n) for n in range(rows))
    ).encode()
    owner = admin_shop.emulator.user(ADMIN, "Хозяйка")

    await owner.send_document("errors.csv", data, caption="/import")

    assert owner.texts()[-2].startswith(f"❌ В файле {3 * rows} ошибок. Ничего не изменилось.")
    assert "Первые 1000 — в приложенном файле." in owner.texts()[-2]
    listing = (await downloaded(admin_shop, owner.last)).decode().splitlines()
    assert len(listing) == 1001 and listing[0].startswith("строка 2, Цена:")
    assert listing[-1] == f"… и ещё {3 * rows - 1000} ошибок, не показаны."
    assert admin_shop.emulator.errors == []


async def test_export_then_import_changes_nothing(admin_shop: Shop, catalogue: Catalogue) -> None:
    owner = admin_shop.emulator.user(ADMIN, "Хозяйка")
    await owner.send_text("/export")
    exported = owner.last
    assert exported["document"]["file_name"].startswith("catalogue-")
    data = await downloaded(admin_shop, exported)
    assert data.startswith("\ufeffАртикул;Наименование;Цена".encode())  # no import yet: ru
    await owner.send_document("catalogue.csv", data, caption="/import")
    text = owner.last["text"]
    assert "новые товары: 0" in text and "изменённые: 0" in text
    assert "без изменений: 15" in text

    async with admin_shop.session_factory() as session:
        await make_user(session, 101)
    await place_cash_order(admin_shop, 101, "MUG-1", 2)
    await owner.send_text("/export_orders 7")
    orders_file = await downloaded(admin_shop, owner.last)
    assert orders_file.decode("utf-8-sig").startswith("Заказ;Оформлен;Статус")
    assert "1001;" in orders_file.decode("utf-8-sig")
    await owner.send_text("/export_orders abc")
    assert owner.last["text"].startswith("Как использовать: /export_orders")


async def test_an_export_sent_back_after_a_sale_keeps_the_sale(
    admin_shop: Shop, catalogue: Catalogue
) -> None:
    """The export's caption invites sending it back: units sold in between stay sold."""
    owner = admin_shop.emulator.user(ADMIN, "Хозяйка")
    await owner.send_text("/export")
    assert "за вычетом того, что закажут после этой выгрузки" in owner.last["caption"]
    data = await downloaded(admin_shop, owner.last)
    async with admin_shop.session_factory() as session:
        await make_user(session, 101)
    await place_cash_order(admin_shop, 101, "MUG-1", 3)  # all three held by the order
    assert (await product(admin_shop, "MUG-1")).stock == 0

    await owner.send_document("catalogue.csv", data, caption="/import")
    assert "изменённые: 0" in owner.last["text"] and "без изменений: 15" in owner.last["text"]
    await owner.press("✅ Применить", message=owner.last)

    assert (await product(admin_shop, "MUG-1")).stock == 0


async def test_orders_admin_moves_an_order_and_tells_the_shopper(
    admin_shop: Shop, catalogue: Catalogue
) -> None:
    owner = admin_shop.emulator.user(ADMIN, "Хозяйка")
    anna = admin_shop.emulator.user(101, "Анна")
    await anna.send_text("/start")
    first = await place_cash_order(admin_shop, 101, "MUG-1", 1)
    await place_cash_order(admin_shop, 101, "TS-02", 2)

    await owner.send_text("/orders_admin")
    assert "Все заказы</b>: 2" in owner.last["html_text"]
    assert buttons(owner.last)[0].startswith("№1002")
    await owner.send_text("/orders_admin awaiting_confirmation")
    assert "ожидает подтверждения" in owner.last["text"]
    await owner.send_text("/orders_admin nonsense")
    assert owner.last["text"].startswith("Как использовать: /orders_admin")
    await owner.send_text("/orders_admin shipped")
    assert owner.last["text"] == "Заказов не найдено."

    await owner.send_text("/orders_admin")
    await owner.press(buttons(owner.last)[1])
    card = owner.last
    assert "Заказ №1001" in card["text"] and "+79001234567" in card["text"]
    assert "Москва, ул. Ленина, 1" in card["text"] and "Кружка «Утро» (MUG-1) × 1" in card["text"]
    assert buttons(card) == ["→ подтверждён", "✖ Отменить", "✉ Написать покупателю", "⬅ Все заказы"]
    answer = await owner.press("→ подтверждён", message=card)
    assert answer is not None and answer.text == "Заказ №1001 теперь: подтверждён."
    assert "№1001" in anna.last["text"] and "подтверждён" in anna.last["text"]
    assert buttons(owner.last) == [
        "→ отправлен",
        "✖ Отменить",
        "✉ Написать покупателю",
        "⬅ Все заказы",
    ]
    assert "Хозяйка: ожидает подтверждения → подтверждён" in owner.last["text"]

    stale = owner.last["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
    await owner.press("→ отправлен")
    await owner.press("→ доставлен")
    answer = await owner.press_data(stale, message=owner.last)
    assert answer is not None and "уже в статусе «доставлен»" in answer.text
    async with admin_shop.session_factory() as session:
        events = await orders.events_of(session, first.id)
        assert (await orders.get_order(session, first.id)).status is OrderStatus.DELIVERED
    assert [e.actor for e in events if e.kind == "status"] == [f"admin:{ADMIN}"] * 3

    # Cancelling an unpaid cash order returns its stock.
    await owner.send_text("/orders_admin")
    await owner.press(buttons(owner.last)[0])
    await owner.press("✖ Отменить")
    await owner.press("✔ Да, отменить")
    await owner.press("Отменить без причины")
    assert (await product(admin_shop, "TS-02")).stock == 5
    assert "№1002" in anna.last["text"] and "отмен" in anna.last["text"]
    assert admin_shop.emulator.errors == []


async def test_the_owner_marks_a_flagged_order_handled(
    admin_shop: Shop, catalogue: Catalogue
) -> None:
    owner = admin_shop.emulator.user(ADMIN, "Хозяйка")
    anna = admin_shop.emulator.user(101, "Анна")
    await anna.send_text("/start")
    order = await place_cash_order(admin_shop, 101, "MUG-1", 1)
    reason = "payment 42 does not match the order: never paid"
    async with admin_shop.session_factory() as session:
        await orders.flag_for_attention(session, order.id, reason, actor="yookassa:webhook")

    await owner.send_text("/orders_admin")
    assert buttons(owner.last)[0].startswith("⚠ №1001")
    await owner.press(buttons(owner.last)[0])
    card = owner.last
    assert f"⚠ Требует внимания: {reason}" in card["text"]
    assert buttons(card) == [
        "→ подтверждён",
        "✖ Отменить",
        "✔ Разобрано",
        "✉ Написать покупателю",
        "⬅ Все заказы",
    ]
    handled = card["reply_markup"]["inline_keyboard"][1][0]["callback_data"]

    # Not for shoppers: a forged press is a stale button to them and clears nothing.
    answer = await anna.press_data(handled, message=anna.last)
    assert answer is not None and "устарела" in answer.text

    answer = await owner.press("✔ Разобрано", message=card)
    assert answer is not None and answer.text == "Отмечено как разобранное."
    assert "Требует внимания" not in owner.last["text"]
    assert buttons(owner.last) == [
        "→ подтверждён",
        "✖ Отменить",
        "✉ Написать покупателю",
        "⬅ Все заказы",
    ]
    assert "Хозяйка: отмечен как разобранный" in owner.last["text"]
    answer = await owner.press_data(handled, message=card)  # the old card, pressed again
    assert answer is not None and answer.text == "Уже разобрано."
    async with admin_shop.session_factory() as session:
        assert (await orders.get_order(session, order.id)).attention is None
        cleared = [e for e in await orders.events_of(session, order.id) if e.kind.startswith("att")]
    assert [(e.kind, e.actor, e.details) for e in cleared] == [
        ("attention", "yookassa:webhook", {"reason": reason}),
        ("attention_cleared", f"admin:{ADMIN}", {"reason": reason}),
    ]
    await owner.send_text("/orders_admin")
    assert buttons(owner.last)[0].startswith("№1001")
    assert admin_shop.emulator.errors == []


async def test_alerts_for_new_orders_and_low_stock_once(
    admin_shop: Shop, catalogue: Catalogue
) -> None:
    """Placed orders reach the staff through the outbox, with a low-stock alert the first
    time a sale brings a product to the threshold (3), and again only after a restock."""
    owner = admin_shop.emulator.user(ADMIN, "Хозяйка")
    assert admin_shop.runtime is not None
    shop_sessions = admin_shop.runtime.session_factory  # the one whose outbox delivers
    async with shop_sessions() as session:
        for user_id in (101, 102, 103):
            await make_user(session, user_id)
    sent = len(owner.messages)
    await place_cash_order(admin_shop, 101, "MUG-1", 1, sessions=shop_sessions)
    alert, low = owner.messages[sent:]
    assert "Новый заказ с оплатой при получении" in alert["text"]
    assert "Заказ №1001" in alert["text"] and "+79001234567" in alert["text"]
    assert buttons(alert) == [
        "→ подтверждён",
        "✖ Отменить",
        "✉ Написать покупателю",
        "⬅ Все заказы",
    ]
    assert "Кружка «Утро» (MUG-1): осталось 2 шт." in low["text"]
    await owner.press("→ подтверждён", message=alert)
    async with shop_sessions() as session:
        assert (await orders.get_order(session, 1)).status is OrderStatus.CONFIRMED

    sent = len(owner.messages)
    await place_cash_order(admin_shop, 102, "MUG-1", 1, sessions=shop_sessions)
    assert len(owner.messages) == sent + 1  # the order; the product was alerted already
    await owner.send_text("/stock MUG-1 10")
    await owner.send_text("/stock MUG-1 -7")
    sent = len(owner.messages)
    await place_cash_order(admin_shop, 103, "MUG-1", 1, sessions=shop_sessions)
    assert len(owner.messages) == sent + 2
    assert "Кружка «Утро» (MUG-1): осталось 2 шт." in owner.last["text"]
    await owner.press("MUG-1 — 2")
    assert "Артикул: MUG-1" in owner.last["text"]

    # A staff chat that blocked the bot breaks nothing: the order is placed, the alert
    # is given up (not retried for ever).
    owner.block_bot()
    async with shop_sessions() as session:
        await make_user(session, 104)
    order = await place_cash_order(admin_shop, 104, "TS-01", 1, sessions=shop_sessions)
    assert order.status is OrderStatus.AWAITING_CONFIRMATION
    async with shop_sessions() as session:
        ends = (
            await session.execute(
                # (the question of news and discounts waits its minute: not an alert)
                select(OutboxMessage.sent_at, OutboxMessage.given_up_at).where(
                    OutboxMessage.kind != CONSENT_QUESTION
                )
            )
        ).all()
    assert all(sent_at or given_up for sent_at, given_up in ends)


async def test_stats_command(admin_shop: Shop, catalogue: Catalogue) -> None:
    owner = admin_shop.emulator.user(ADMIN, "Хозяйка")
    async with admin_shop.session_factory() as session:
        await make_user(session, 101)
    order = await place_cash_order(admin_shop, 101, "MUG-1", 2)
    async with admin_shop.session_factory() as session:
        await orders.transition(session, order.id, OrderStatus.CONFIRMED, actor="test")
    await owner.send_text("/stats")
    text = owner.last["text"]
    assert text.startswith("📊 Продажи\n\nСегодня\nЗаказов: 1, оплачено: 1")
    assert "Выручка: 980\u00a0₽, средний заказ: 980\u00a0₽" in text
    assert "1. Кружка «Утро» — 2 шт., 980\u00a0₽" in text
    assert "Корзин начато → заказов оформлено → оплачено: 1 → 1 → 1" in text


async def test_shoppers_see_the_owners_changes_at_once(
    admin_shop: Shop, catalogue: Catalogue
) -> None:
    """Browsing is served from the catalogue cache; the owner's writes empty it."""
    owner = admin_shop.emulator.user(ADMIN, "Хозяйка")
    shopper = admin_shop.emulator.user(301, "Оля")
    await shopper.send_text("/catalog")
    await shopper.press("📁 Кружки (2)")
    await shopper.press("1 · 490\u00a0₽ · Кружка «Утро»")
    assert "Цена: 490\u00a0₽" in shopper.last["caption"]

    await owner.send_text("/price MUG-1 550")
    await owner.send_text("/stock MUG-1 1")
    await shopper.press("⬅ К списку")
    assert "1 · 550\u00a0₽ · Кружка «Утро»" in buttons(shopper.last)
    await shopper.press("1 · 550\u00a0₽ · Кружка «Утро»")
    assert "Цена: 550\u00a0₽" in shopper.last["caption"]
    assert "В наличии: 1 шт." in shopper.last["caption"]

    await owner.send_text("/hide MUG-1")
    await shopper.press("⬅ К списку")
    assert shopper.last["text"].startswith("📁 Кружки — 1 товар")
    assert all("Утро" not in label for label in buttons(shopper.last))
    assert admin_shop.emulator.errors == []
