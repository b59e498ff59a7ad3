"""Sales figures for the owner: orders, sales, revenue, best sellers and the cart funnel.

Definitions (the owner reads these in /stats):

* Periods start at midnight on the shop's clock (``SHOP_TIMEZONE``): "today", the last 7
  and the last 30 days including today. Orders are counted by when they were placed.
* "Paid" orders are those placed in the period that went through: paid online, or
  confirmed cash orders, and the ones shipped or delivered since. Cancelled, expired,
  refunded and still unpaid orders are not. Revenue is their totals; the average order is
  revenue / paid orders. The top products are by units in paid orders.
* "Carts started": every placed order began as a cart, and a cart still open counts when
  its first line was added in the period. A cart emptied by hand leaves no trace and is
  not counted, so this is a lower bound of carts really started.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from shopbot.models import CartLine, Order, OrderLine, OrderStatus

S = OrderStatus
SOLD = frozenset({S.PAID, S.CONFIRMED, S.SHIPPED, S.DELIVERED})
PERIODS = (1, 7, 30)
TOP = 5


@dataclass(frozen=True)
class TopProduct:
    sku: str
    name: str
    quantity: int
    revenue: int


@dataclass(frozen=True)
class Figures:
    days: int
    since: datetime
    orders: int
    paid: int
    revenue: int
    carts_started: int
    top: list[TopProduct]

    @property
    def average(self) -> int:
        return self.revenue // self.paid if self.paid else 0


def period_start(days: int, now: datetime, zone: tzinfo) -> datetime:
    """Midnight in ``zone`` ``days - 1`` days before ``now`` (1: today), in UTC. The date is
    counted back on the calendar, so a day of a clock change is still one day."""
    local = now.astimezone(zone).date() - timedelta(days=days - 1)
    midnight = datetime(local.year, local.month, local.day, tzinfo=zone)
    return midnight.astimezone(UTC)


async def sales_figures(session: AsyncSession, now: datetime, zone: tzinfo) -> list[Figures]:
    """Figures for today, 7 and 30 days, the days as ``zone`` counts them."""
    return [await figures_since(session, days, period_start(days, now, zone)) for days in PERIODS]


async def figures_since(session: AsyncSession, days: int, since: datetime) -> Figures:
    placed = Order.created_at >= since
    sold = placed & Order.status.in_(SOLD)
    orders = await session.scalar(select(func.count()).select_from(Order).where(placed)) or 0
    paid, revenue = (
        await session.execute(
            select(func.count(), func.coalesce(func.sum(Order.total), 0)).where(sold)
        )
    ).one()
    first_added = (
        select(func.min(CartLine.added_at).label("first")).group_by(CartLine.user_id).subquery()
    )
    open_carts = (
        await session.scalar(
            select(func.count()).select_from(first_added).where(first_added.c.first >= since)
        )
        or 0
    )
    quantity = func.sum(OrderLine.quantity)
    top = await session.execute(
        select(
            OrderLine.sku,
            func.max(OrderLine.name),
            quantity,
            func.sum(OrderLine.quantity * OrderLine.unit_price - OrderLine.discount),
        )
        .join(Order, Order.id == OrderLine.order_id)
        .where(sold)
        .group_by(OrderLine.sku)
        .order_by(quantity.desc(), OrderLine.sku)
        .limit(TOP)
    )
    return Figures(
        days=days,
        since=since,
        orders=orders,
        paid=int(paid),
        revenue=int(revenue),
        carts_started=orders + open_carts,
        top=[TopProduct(sku, name, int(units), int(money)) for sku, name, units, money in top],
    )
