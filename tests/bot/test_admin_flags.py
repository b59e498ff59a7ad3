"""What a flagged order tells the owner is in the owner's language."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from shopbot.emulators.yookassa import YooKassaEmulator
from shopbot.i18n import N_, Text
from shopbot.payments.service import flag_order
from shopbot.services import orders
from tests.bot.conftest import ADMIN, Catalogue, Shop, ShopFactory, buttons, check_out
from tests.bot.test_admin import place_cash_order
from tests.factories import make_user


async def test_a_payment_problem_reads_in_russian_on_the_alert_and_the_card(
    admin_shop: Shop, catalogue: Catalogue
) -> None:
    """The reasons were English sentences ("payment … does not match the order …")."""
    owner = admin_shop.emulator.user(ADMIN, "Хозяйка")
    assert admin_shop.runtime is not None
    sessions = admin_shop.runtime.session_factory  # the one whose outbox delivers
    async with sessions() as session:
        await make_user(session, 101)
    order = await place_cash_order(admin_shop, 101, "MUG-1", sessions=sessions)
    problem = Text(N_("amount {amount}, order total {total}"), {"amount": "1 ₽", "total": "490 ₽"})
    reason = Text(
        N_("payment {payment} does not match the order ({problem}): never paid"),
        {"payment": "pay-7", "problem": problem},
    )
    sent = len(owner.messages)
    async with sessions() as session:
        await flag_order(session, await orders.get_order(session, order.id), reason, "yookassa", {})
        await session.commit()
    russian = "платёж pay-7 не сходится с заказом (сумма 1 ₽, а заказ на 490 ₽): заказ не оплачен"

    [alert] = owner.messages[sent:]
    assert alert["text"].startswith(f"⚠ Заказ №1001 требует внимания: {russian}")
    await owner.send_text("/orders_admin")
    await owner.press(buttons(owner.last)[0])
    assert f"⚠ Требует внимания: {russian}" in owner.last["text"]


@pytest.fixture
async def yookassa() -> AsyncIterator[YooKassaEmulator]:
    emulator = YooKassaEmulator("500100", "live_secret")
    await emulator.start()
    yield emulator
    await emulator.stop()


async def test_a_refund_yookassa_refuses_is_explained_in_russian(
    shop_factory: ShopFactory, yookassa: YooKassaEmulator, catalogue: Catalogue
) -> None:
    """ "Возврат не удался: YooKassa could not be reached: …" mixed the languages."""
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
    owner = shop.emulator.user(ADMIN, "Хозяйка")
    await owner.send_text("/start")
    await check_out(shop, 101, "MUG-1")
    ((payment_id, _payment),) = yookassa.payments.items()
    await yookassa.succeed(payment_id)
    await shop.emulator.wait_handled()
    await owner.send_text("/orders_admin paid")
    await owner.press(buttons(owner.last)[0])
    await owner.press("✖ Отменить", message=owner.last)

    yookassa.fail_next("refunds", status=400)
    answer = await owner.press("✔ Да, отменить и вернуть деньги")

    shown = [owner.last["text"], answer.text if answer else ""]
    assert any(text.startswith("Возврат не удался: ЮKassa: ") for text in shown), shown
    assert yookassa.refunds == {}
