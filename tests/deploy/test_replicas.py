"""Three ``shopbot run`` replicas in webhook mode behind nginx, on PostgreSQL and Redis, the
Telegram emulator pushing updates to nginx (and redelivering on non-2xx or no answer, as
Telegram does): 100 shoppers make whole journeys to paid orders while one replica is
killed with SIGKILL and later restarted. Every update acts once, every checkout keeps its
steps whichever replica served them, expiry and reconciliation happen once each."""

from __future__ import annotations

import asyncio
import os
import shutil
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from shopbot.db import create_engine
from shopbot.models import CartLine, Order, OrderEvent, OrderLine, OrderStatus, Product, utcnow
from tests.deploy.cluster import (
    PRODUCTS,
    STOCK,
    ChatWatch,
    Cluster,
    Journey,
    catalogue_csv,
    journeys,
    percentile,
)

SHOPPERS = 100
REDIS_URL = os.environ.get("SHOPBOT_TEST_REDIS_URL")

pytestmark = [
    pytest.mark.skipif(not REDIS_URL, reason="needs SHOPBOT_TEST_REDIS_URL (CI sets it)"),
    pytest.mark.skipif(
        shutil.which("nginx") is None and not Path("/usr/sbin/nginx").exists(),
        reason="needs nginx (apt-get install -y nginx; CI installs it)",
    ),
]


async def test_shoppers_reach_paid_orders_once_each_while_a_replica_is_killed(
    postgres_url: str | None, tmp_path: Path
) -> None:
    if postgres_url is None:
        pytest.skip("replicas need PostgreSQL: runs with SHOPBOT_TEST_DATABASE_URL (CI sets it)")
    cluster = Cluster(tmp_path, replicas=3, database_url=postgres_url, redis_url=REDIS_URL)
    await cluster.start(catalogue_csv())
    watch = ChatWatch(cluster.emulator)
    engine = create_engine(postgres_url, pool_size=2, max_overflow=0)
    shoppers = journeys(cluster.emulator, SHOPPERS)
    try:

        async def shop(index: int, journey: Journey) -> None:
            await asyncio.sleep(index * 0.02)  # arrivals over two seconds
            await journey.run(watch, cluster.yookassa)

        running = [asyncio.create_task(shop(i, j)) for i, j in enumerate(shoppers)]
        steps = SHOPPERS * 9
        while sum(len(j.latencies) for j in shoppers) < steps // 3:  # noqa: ASYNC110
            await asyncio.sleep(0.05)
        await cluster.kill(1)  # mid-journeys: updates in flight there get no answer
        await asyncio.sleep(3)
        await cluster.start_replica(1)
        await asyncio.gather(*running)
        # Updates the killed replica was handling when it died got no answer (a 502 from
        # nginx) and came again: what such an update changed acts once, and what it had yet
        # to say is said by the replica that got it again (bot.once).
        cut = {d.update_id for d in cluster.emulator.webhook_deliveries if d.status != 200}
        hit = {j.user.id for j in shoppers if cut & set(j.updates)}
        stuck = {j.user.id: j.stuck for j in shoppers if j.stuck}
        print(
            f"\n{len(cut)} updates were in flight at the killed replica, {len(hit)} shoppers had "
            f"one; {len(stuck)} lost an answer: {sorted(stuck.values())}"
        )
        deliveries = {
            journey.updates[-1]: [
                d.status
                for d in cluster.emulator.webhook_deliveries
                if d.update_id == journey.updates[-1]
            ]
            for journey in shoppers
            if journey.stuck
        }
        told = [
            line
            for replica in cluster.replicas
            for line in replica.output
            if any(str(update_id) in line for update_id in deliveries) or "Error" in line
        ]
        assert stuck == {}, (deliveries, told)  # each lost answer's deliveries and logs
        whole = shoppers
        # The unpaid orders' time runs out: one replica's expiry pass cancels each, once.
        unpaid = [j for j in whole if not j.pays]
        async with engine.begin() as connection:
            await connection.execute(
                update(Order)
                .where(Order.user_id.in_([j.user.id for j in unpaid]))
                .values(expires_at=utcnow() - timedelta(minutes=1))
            )
        for _ in range(300):
            if all(watch.said(j.user.id, "не оплачен вовремя") for j in unpaid):
                break
            await asyncio.sleep(0.1)
        try:
            await cluster.emulator.wait_handled(timeout=30)
        except AssertionError as unanswered:
            tails = ["".join(replica.output[-25:]) for replica in cluster.replicas]
            raise AssertionError(f"{unanswered}; the replicas' last lines: {tails}") from None
        await asyncio.sleep(2 * cluster.reconcile_interval)  # any pass that would act twice

        latencies = [seconds for j in shoppers for seconds in j.latencies]
        print(
            f"\n{SHOPPERS} shoppers, {len(latencies)} steps through nginx to 3 replicas "
            f"(one killed and restarted): p50 {percentile(latencies, 50) * 1000:.0f} ms, "
            f"p99 {percentile(latencies, 99) * 1000:.0f} ms; nginx passed on {cluster.upstreams()}"
        )

        # Every shopper heard each answer: once, or (a shopper whose update was cut after
        # the killed replica said its reply, the milliseconds bot.once leaves) twice.
        repeated = 0
        for journey in whole:
            said = {
                words: watch.said(journey.user.id, words)
                for words in (
                    "На какое имя оформить заказ?",
                    "Ваш номер телефона?",
                    "Как вы хотите получить заказ?",
                    "Комментарий для магазина?",
                    "Проверьте заказ",
                    "Товары отложены для вас",
                    "✅ Оплата получена" if journey.pays else "не оплачен вовремя",
                )
            }
            allowed = {1, 2} if journey.user.id in hit else {1}
            assert set(said.values()) <= allowed, (journey.user.id, said)
            repeated += sum(count - 1 for count in said.values())
        print(f"{repeated} answers came twice (to shoppers whose update was cut)")

        async with engine.connect() as connection:
            placed = (
                await connection.execute(
                    select(
                        Order.id,
                        Order.user_id,
                        Order.status,
                        Order.contact_name,
                        Order.comment,
                    )
                )
            ).all()
            lines = (
                await connection.execute(
                    select(OrderLine.order_id, OrderLine.quantity, OrderLine.sku)
                )
            ).all()
            events = (
                await connection.execute(select(OrderEvent.order_id, OrderEvent.to_status))
            ).all()
            cart_lines = await connection.scalar(select(func.count()).select_from(CartLine))
            stock = dict((await connection.execute(select(Product.sku, Product.stock))).all())

        # One order per shopper, one line of one unit, with that shopper's own answers at
        # each step, whichever replica served which step.
        by_user = {row.user_id: row for row in placed}
        assert len(placed) == len(by_user) >= len(whole)
        items = Counter((order_id, quantity, sku) for order_id, quantity, sku in lines)
        for journey in whole:
            order = by_user[journey.user.id]
            assert (order.contact_name, order.comment) == (journey.name, journey.comment)
            expected = OrderStatus.PAID if journey.pays else OrderStatus.EXPIRED
            assert OrderStatus(order.status) is expected
            assert [key for key in items if key[0] == order.id] == [(order.id, 1, journey.sku)]
        assert set(items.values()) == {1} and {quantity for _o, quantity, _s in items} == {1}
        assert len(items) == len(placed)
        assert cart_lines == 0

        # Payment (by notification or by the reconciler) and expiry: once per order.
        changes = Counter(
            (order_id, to_status) for order_id, to_status in events if to_status is not None
        )
        assert max(changes.values()) == 1
        for journey in whole:
            order_id = by_user[journey.user.id].id
            status = OrderStatus.PAID if journey.pays else OrderStatus.EXPIRED
            assert changes[(order_id, status.value)] == 1, (journey.user.id, changes)
        held = Counter(
            line_sku
            for order_id, _quantity, line_sku in items
            if next(o for o in placed if o.id == order_id).status
            in (OrderStatus.PAID, OrderStatus.AWAITING_PAYMENT)
        )
        for number in range(1, PRODUCTS + 1):
            sku = f"SKU-{number:02d}"
            assert stock[sku] == STOCK - held[sku]

        # Every update was acknowledged in the end; each replica served some of them.
        deliveries = cluster.emulator.webhook_deliveries
        last_status = {d.update_id: d.status for d in deliveries}
        assert set(last_status.values()) == {200}
        served = {key.split(" ")[1] for key in cluster.upstreams() if key.startswith("200 ")}
        assert served == {f"127.0.0.1:{replica.port}" for replica in cluster.replicas}
        assert not [
            error
            for error in cluster.emulator.errors
            if error.params.get("chat_id") not in {str(user_id) for user_id in hit}
            and error.params.get("callback_query_id") is None
        ], cluster.emulator.errors[:5]
    finally:
        await watch.close()
        await engine.dispose()
        await cluster.stop()
        await cluster.forget([j.user.id for j in shoppers])
    for replica in cluster.replicas:
        assert not any("Traceback" in line for line in replica.output), "".join(replica.output)
