"""What a flagged order tells the owner is in the owner's language."""

from __future__ import annotations

from shopbot.i18n import N_, Text
from shopbot.payments.service import flag_order
from shopbot.services import orders
from tests.bot.conftest import ADMIN, Catalogue, Shop, buttons
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
