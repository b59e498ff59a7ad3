"""Orders: placing them from a cart, and the one guarded state machine for their status.

Every status change is a compare-and-set ``UPDATE ... WHERE status IN (allowed)`` plus an
event-log row and the shopper's message in the outbox, in the caller's unit of work; stock
moves with it (returned when an unpaid order is cancelled or expires, taken again when a
late payment arrives). The order's row is locked first (``FOR UPDATE`` on PostgreSQL; on
SQLite the unit holds the write lock), so the status a change is decided on is the status
it changes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from shopbot.db import changed, unit_of_work
from shopbot.errors import (
    EmptyCart,
    IllegalTransition,
    OrderNotFound,
    OrderTooLarge,
    OutOfStock,
    ProductUnavailable,
    TotalChanged,
)
from shopbot.models import (
    CartLine,
    Category,
    DeliveryMethod,
    Order,
    OrderEvent,
    OrderLine,
    OrderStatus,
    Payment,
    PaymentStatus,
    Product,
    utcnow,
)
from shopbot.services import marketing, outbox, pricing, promo, ratings
from shopbot.services.catalogue import CATALOGUE
from shopbot.services.delivery import DeliveryOption
from shopbot.services.notifications import (
    NEW_ORDER,
    ORDER_ATTENTION,
    ORDER_STATUS,
    PAYMENT_DUE,
    PAYMENT_LINK_GRACE,
    SHOPPER_MESSAGE,
    payment_due_key,
)

S = OrderStatus

# target status -> the statuses it may be reached from
TRANSITIONS: Mapping[OrderStatus, frozenset[OrderStatus]] = {
    S.PAID: frozenset({S.AWAITING_PAYMENT, S.EXPIRED, S.CANCELLED}),
    S.CONFIRMED: frozenset({S.AWAITING_CONFIRMATION}),
    S.SHIPPED: frozenset({S.PAID, S.CONFIRMED}),
    S.DELIVERED: frozenset({S.SHIPPED}),
    S.CANCELLED: frozenset({S.AWAITING_PAYMENT, S.AWAITING_CONFIRMATION, S.PAID, S.CONFIRMED}),
    S.EXPIRED: frozenset({S.AWAITING_PAYMENT}),
    S.REFUNDED: frozenset({S.PAID, S.CONFIRMED, S.SHIPPED, S.DELIVERED, S.CANCELLED}),
}
# Statuses whose order lines are taken out of the stock that can be sold.
HOLDS_STOCK = frozenset({S.AWAITING_PAYMENT, S.AWAITING_CONFIRMATION, S.PAID, S.CONFIRMED})
# Statuses where goods have left the shop: refunds do not put them back on the shelf.
GOODS_GONE = frozenset({S.SHIPPED, S.DELIVERED})
UNPAID = frozenset({S.AWAITING_PAYMENT, S.AWAITING_CONFIRMATION})
# Statuses whose items the shopper can put back in the cart (a lost order, one to repeat).
REORDERABLE = frozenset({S.CANCELLED, S.EXPIRED, S.DELIVERED, S.REFUNDED})


def next_statuses(current: OrderStatus) -> list[OrderStatus]:
    """Statuses an order may move to from ``current``, in the state machine's order."""
    return [target for target, sources in TRANSITIONS.items() if current in sources]


@dataclass(frozen=True)
class Checkout:
    """What the shopper told us at checkout (prices are never taken from here)."""

    contact_name: str
    contact_phone: str
    delivery_method: DeliveryMethod
    delivery_address: str | None = None
    comment: str | None = None
    # The DELIVERY_OPTIONS entry chosen (from the shop's settings, not from the shopper):
    # its price is charged, for the subtotal the order is placed with. None: free.
    delivery: DeliveryOption | None = None


@dataclass(frozen=True)
class Transition:
    order: Order
    previous: OrderStatus
    stock_returned: bool
    stock_taken: bool


async def place_order(
    session: AsyncSession,
    user_id: int,
    checkout: Checkout,
    *,
    token: str,
    payment_provider: str,
    payment_timeout: timedelta | None,
    actor: str | None = None,
    max_total: int | None = None,
    promo_code: str | None = None,
    shown_total: int | None = None,
) -> Order:
    """Turn the user's cart into an order in one transaction.

    ``token`` identifies one checkout: calling again with the same token (a double tap, a
    retry) returns the order already placed. Stock is reserved line by line with a
    conditional update, so two buyers never get the same last unit; if any line cannot be
    reserved, nothing is written and OutOfStock/ProductUnavailable names the product.
    Online payments get an expiry; cash orders wait for the shop to confirm them.
    A total above ``max_total`` (the provider's limit for one payment) raises OrderTooLarge
    and writes nothing. Each line keeps the price in effect now (a sale's, while it lasts);
    ``promo_code`` takes its discount off the goods and one of its uses, or raises
    PromoRefused and writes nothing. ``shown_total``: what the summary the shopper confirmed
    said; a total that differs now (a sale ended in between) raises TotalChanged and writes
    nothing. A shopper's first order brings, a little later, the question of
    news and discounts (``marketing.ask_after_order``).
    """
    existing = await _order_by_token(session, token)
    if existing is not None:
        return existing
    online = payment_provider != "cash"
    status = S.AWAITING_PAYMENT if online else S.AWAITING_CONFIRMATION
    now = utcnow()
    at = pricing.now()  # the moment prices and the code's dates are judged at
    try:
        async with unit_of_work(session):
            found = (
                await session.execute(
                    select(CartLine.quantity, Product, Category.path)
                    .join(Product, Product.id == CartLine.product_id)
                    .outerjoin(Category, Category.id == Product.category_id)
                    .where(CartLine.user_id == user_id)
                    .order_by(CartLine.product_id)
                    .execution_options(populate_existing=True)
                )
            ).all()
            rows = [(quantity, product) for quantity, product, _path in found]
            if not rows:
                # A concurrent tap may have placed this very checkout while we waited.
                if await _order_by_token(session, token) is not None:
                    raise _AlreadyPlaced()
                raise EmptyCart()
            parents = {product.parent_id for _quantity, product in rows if product.parent_id}
            hidden_parents = set(
                (
                    await session.scalars(
                        select(Product.id).where(Product.id.in_(parents), Product.active.is_(False))
                    )
                ).all()
                if parents
                else ()
            )
            for quantity, product in rows:
                # A variant of a hidden product is hidden with it, however it got in the cart.
                if not product.active or product.parent_id in hidden_parents:
                    raise ProductUnavailable(product.id, product.name)
                await _take_stock(session, product.id, quantity, product.name)
            prices = [_price_now(product, at) for _quantity, product in rows]
            subtotal = sum(
                quantity * price for (quantity, _product), price in zip(rows, prices, strict=True)
            )
            quote = None
            if promo_code is not None:
                # The lines just read, not another read that a concurrent change could alter.
                lines = [
                    promo.Line(product.id, price, quantity, path)
                    for (quantity, product, path), price in zip(found, prices, strict=True)
                ]
                quote = await promo.quote(session, promo_code, user_id, lines, at)
            discount = quote.discount if quote is not None else 0
            shares = quote.shares if quote is not None else [0] * len(rows)
            delivery = checkout.delivery
            delivery_price = delivery.price_for(subtotal) if delivery is not None else 0
            total = subtotal - discount + delivery_price
            if shown_total is not None and total != shown_total:
                raise TotalChanged(total, shown_total)
            if max_total is not None and total > max_total:
                raise OrderTooLarge(total, max_total)
            order_id = await session.scalar(
                insert(Order)
                .values(
                    user_id=user_id,
                    checkout_token=token,
                    status=status,
                    subtotal=subtotal,
                    discount=discount,
                    promo_code_id=quote.promo_id if quote is not None else None,
                    promo_code=quote.code if quote is not None else None,
                    delivery_price=delivery_price,
                    total=total,
                    contact_name=checkout.contact_name,
                    contact_phone=checkout.contact_phone,
                    delivery_method=checkout.delivery_method,
                    delivery_address=checkout.delivery_address,
                    delivery_option=(delivery.name or None) if delivery is not None else None,
                    pickup_point=delivery.pickup_point if delivery is not None else None,
                    comment=checkout.comment,
                    payment_provider=payment_provider,
                    created_at=now,
                    updated_at=now,
                    expires_at=now + payment_timeout if online and payment_timeout else None,
                )
                .returning(Order.id)
            )
            assert order_id is not None
            await session.execute(
                update(Order).where(Order.id == order_id).values(number=format_number(order_id))
            )
            await session.execute(
                insert(OrderLine),
                [
                    {
                        "order_id": order_id,
                        "product_id": product.id,
                        "sku": product.sku,
                        "name": product.name,
                        "unit_price": price,
                        "quantity": quantity,
                        "vat_code": product.vat_code,
                        "discount": share,
                    }
                    for (quantity, product), price, share in zip(rows, prices, shares, strict=True)
                ],
            )
            if quote is not None:
                await promo.take_use(session, quote, user_id=user_id, order_id=order_id, at=at)
            await session.execute(delete(CartLine).where(CartLine.user_id == user_id))
            changed(session, CATALOGUE)
            if not online:  # a cash order waits for the staff: tell them now
                await outbox.record(session, NEW_ORDER, {"order_id": order_id})
            else:  # the link is sent after the commit, or by the job if this process dies
                await outbox.record(
                    session,
                    PAYMENT_DUE,
                    {"order_id": order_id},
                    key=payment_due_key(order_id),
                    grace=PAYMENT_LINK_GRACE,
                )
            await marketing.ask_after_order(session, user_id)
            await _log(
                session,
                order_id,
                actor or f"user:{user_id}",
                "placed",
                None,
                status,
                {
                    "total": total,
                    "lines": len(rows),
                    "delivery_price": delivery_price,
                    **({"discount": discount, "promo_code": quote.code} if quote else {}),
                },
            )
    except (IntegrityError, _AlreadyPlaced):
        # The same checkout committed concurrently: its order is the answer.
        existing = await _order_by_token(session, token)
        if existing is None:
            raise
        return existing
    return await get_order(session, order_id)


def _price_now(product: Product, at: datetime) -> int:
    return pricing.price_in_effect(product.price, product.sale_price, product.sale_until, at)


class _AlreadyPlaced(Exception):
    """Internal: unwinds the unit of work when a concurrent tap placed the order first."""


def format_number(order_id: int) -> str:
    """A short number people can read out on the phone: 1 -> ``1001``."""
    return str(1000 + order_id)


async def transition(
    session: AsyncSession,
    order_id: int,
    target: OrderStatus,
    *,
    actor: str,
    details: dict[str, Any] | None = None,
    expect: OrderStatus | None = None,
    notify: bool = True,
) -> Transition:
    """Move an order to ``target`` if the state machine allows it from its current status.

    ``expect`` narrows the allowed sources to one status (for callers that acted on what
    they saw). Raises IllegalTransition (with the order's current status), and for a late
    payment on an order whose stock was released, OutOfStock when it cannot be taken again
    (nothing changes then). The shopper is told through the outbox (``notify``), and the
    staff of a newly paid order; the shopper of a delivered order is asked to rate it.
    """
    sources = TRANSITIONS[target]
    if expect is not None:
        sources = sources & {expect}
    async with unit_of_work(session):
        current = await locked_status(session, order_id)
        if current not in sources:
            raise IllegalTransition(order_id, current, target)
        now = utcnow()
        values: dict[str, Any] = {"status": target, "updated_at": now}
        if target is S.PAID:
            values["paid_at"] = now
        result = await session.execute(
            update(Order).where(Order.id == order_id, Order.status == current).values(**values)
        )
        if result.rowcount != 1:  # cannot happen under the row lock; never pass it as "done"
            raise RuntimeError(f"order {order_id} changed under its lock")
        stock_taken = current not in HOLDS_STOCK | GOODS_GONE and target in HOLDS_STOCK
        stock_returned = current in HOLDS_STOCK and target not in HOLDS_STOCK | GOODS_GONE
        lines = (
            await session.execute(
                select(OrderLine.product_id, OrderLine.quantity, OrderLine.name).where(
                    OrderLine.order_id == order_id, OrderLine.product_id.is_not(None)
                )
            )
        ).all()
        if stock_taken:
            for product_id, quantity, name in lines:
                await _take_stock(session, product_id, quantity, name)
        if stock_returned:
            for product_id, quantity, _name in lines:
                await session.execute(
                    update(Product)
                    .where(Product.id == product_id)
                    .values(stock=Product.stock + quantity)
                )
        if stock_taken or stock_returned:
            changed(session, CATALOGUE)
        # A promo code's use goes and comes back with the stock, so exactly once.
        if stock_returned:
            await promo.give_back(session, order_id)
        if stock_taken:
            await promo.take_again(session, order_id)
        await _log(session, order_id, actor, "status", current, target, details)
        if notify:
            reason = (details or {}).get("reason")
            payload = {
                "order_id": order_id,
                "previous": current,
                "status": target,
                "reason": reason,
            }
            if note := (details or {}).get("note"):  # the staff's words to the shopper
                payload["note"] = note
            await outbox.record(session, ORDER_STATUS, payload)
        if target is S.PAID:
            await outbox.record(session, NEW_ORDER, {"order_id": order_id})
        if target is S.DELIVERED:  # the final status: "how was it?", asked once
            user_id = await session.scalar(select(Order.user_id).where(Order.id == order_id))
            assert user_id is not None
            await ratings.ask_order_rating(session, order_id, user_id)
    order = await get_order(session, order_id)
    return Transition(order, current, stock_returned=stock_returned, stock_taken=stock_taken)


async def flag_for_attention(
    session: AsyncSession, order_id: int, reason: str, *, actor: str, details: dict | None = None
) -> bool:
    """Mark an order for the owner's eyes (e.g. an amount mismatch) without changing status,
    and tell the staff. Once per distinct reason, ever: reports repeat, also after the owner
    has dealt with the flag and cleared it. Returns whether this call flagged it."""
    async with unit_of_work(session):
        await locked_status(session, order_id)  # two reporters at once flag it once
        if await was_flagged(session, order_id, reason):
            return False
        await session.execute(update(Order).where(Order.id == order_id).values(attention=reason))
        await _log(
            session, order_id, actor, "attention", None, None, {"reason": reason, **(details or {})}
        )
        await outbox.record(session, ORDER_ATTENTION, {"order_id": order_id, "reason": reason})
    return True


async def clear_attention(session: AsyncSession, order_id: int, *, actor: str) -> str | None:
    """The owner has dealt with what the order was flagged for: clear the flag, logging the
    reason it had. Returns that reason; None if there was no flag (cleared already)."""
    async with unit_of_work(session):
        reason = await session.scalar(select(Order.attention).where(Order.id == order_id))
        if reason is None:
            return None
        cleared = await session.execute(
            update(Order)
            .where(Order.id == order_id, Order.attention == reason)
            .values(attention=None)
        )
        if cleared.rowcount != 1:
            return None
        await _log(session, order_id, actor, "attention_cleared", None, None, {"reason": reason})
    return reason


async def was_flagged(session: AsyncSession, order_id: int, reason: str) -> bool:
    """Has the order ever been flagged for this reason (even if the flag was cleared since)?"""
    return any(
        event.kind == "attention" and (event.details or {}).get("reason") == reason
        for event in await events_of(session, order_id)
    )


async def log_event(
    session: AsyncSession, order_id: int, kind: str, *, actor: str, details: dict | None = None
) -> None:
    """Record something that happened to an order that is not a status change."""
    async with unit_of_work(session):
        await _log(session, order_id, actor, kind, None, None, details)


async def write_to_shop(session: AsyncSession, user_id: int, order_id: int, text: str) -> Order:
    """A shopper's message about their order, relayed to the staff through the outbox
    (OrderNotFound if the order is not theirs)."""
    order = await order_of_user(session, user_id, order_id)
    async with unit_of_work(session):
        await outbox.record(session, SHOPPER_MESSAGE, {"order_id": order.id, "text": text})
    return order


async def expire_due(session: AsyncSession, now: datetime | None = None) -> list[Transition]:
    """Expire unpaid orders past their expiry, returning their stock, each in a unit of its
    own. Safe to run anywhere: an order paid in the meantime is skipped."""
    now = now or utcnow()
    due = (
        await session.scalars(
            select(Order.id).where(Order.status == S.AWAITING_PAYMENT, Order.expires_at <= now)
        )
    ).all()
    expired = []
    for order_id in due:
        try:
            expired.append(
                await transition(
                    session, order_id, S.EXPIRED, actor="system", expect=S.AWAITING_PAYMENT
                )
            )
        except IllegalTransition:
            continue
    return expired


async def get_order(session: AsyncSession, order_id: int) -> Order:
    order = await session.get(Order, order_id, populate_existing=True)
    if order is None:
        raise OrderNotFound(order_id)
    return order


async def order_of_user(session: AsyncSession, user_id: int, order_id: int) -> Order:
    """An order only if it belongs to this user (callback data is never trusted for that)."""
    order = await session.scalar(
        select(Order).where(Order.id == order_id, Order.user_id == user_id)
    )
    if order is None:
        raise OrderNotFound(order_id)
    return order


async def orders_of_user(
    session: AsyncSession, user_id: int, *, limit: int, offset: int = 0
) -> tuple[list[Order], int]:
    total = await session.scalar(
        select(func.count()).select_from(Order).where(Order.user_id == user_id)
    )
    orders = await session.scalars(
        select(Order)
        .where(Order.user_id == user_id)
        .order_by(Order.created_at.desc(), Order.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return list(orders), total or 0


async def events_of(session: AsyncSession, order_id: int) -> list[OrderEvent]:
    return list(
        await session.scalars(
            select(OrderEvent).where(OrderEvent.order_id == order_id).order_by(OrderEvent.id)
        )
    )


async def held_units(session: AsyncSession, product_ids: list[int]) -> dict[int, int]:
    """Units of each product held by orders not yet paid (already out of sellable stock)."""
    rows = await session.execute(
        select(OrderLine.product_id, func.sum(OrderLine.quantity))
        .join(Order, Order.id == OrderLine.order_id)
        .where(OrderLine.product_id.in_(product_ids), Order.status.in_(UNPAID))
        .group_by(OrderLine.product_id)
    )
    return {product_id: int(total) for product_id, total in rows}


async def locked_status(session: AsyncSession, order_id: int) -> OrderStatus:
    """The order's status, its row locked until the unit of work ends (PostgreSQL; SQLite's
    unit already holds the database's write lock): what is decided on it next cannot race
    another process deciding the same (a status change, a payment attempt)."""
    current = await session.scalar(
        select(Order.status).where(Order.id == order_id).with_for_update()
    )
    if current is None:
        raise OrderNotFound(order_id)
    return current


async def _take_stock(session: AsyncSession, product_id: int, quantity: int, name: str) -> None:
    result = await session.execute(
        update(Product)
        .where(Product.id == product_id, Product.stock >= quantity)
        .values(stock=Product.stock - quantity)
    )
    if result.rowcount != 1:
        available = await session.scalar(select(Product.stock).where(Product.id == product_id))
        raise OutOfStock(product_id, name, available or 0)


async def order_by_token(session: AsyncSession, token: str) -> Order | None:
    """The order a checkout placed, if it did."""
    return await _order_by_token(session, token)


async def payment_failed(session: AsyncSession, order_id: int) -> bool:
    """Was the order's latest payment attempt cancelled or did it fail (so the shopper is
    offered to pay again)?"""
    latest = await session.scalar(
        select(Payment.status)
        .where(Payment.order_id == order_id)
        .order_by(Payment.id.desc())
        .limit(1)
    )
    return latest is PaymentStatus.CANCELED


async def latest_awaiting_payment(session: AsyncSession, user_id: int) -> Order | None:
    """The user's newest order still waiting to be paid."""
    return await session.scalar(
        select(Order)
        .where(Order.user_id == user_id, Order.status == S.AWAITING_PAYMENT)
        .order_by(Order.id.desc())
        .limit(1)
    )


async def _order_by_token(session: AsyncSession, token: str) -> Order | None:
    return await session.scalar(select(Order).where(Order.checkout_token == token))


async def _log(
    session: AsyncSession,
    order_id: int,
    actor: str,
    kind: str,
    from_status: str | None,
    to_status: str | None,
    details: dict[str, Any] | None,
) -> None:
    await session.execute(
        insert(OrderEvent).values(
            order_id=order_id,
            at=utcnow(),
            actor=actor,
            kind=kind,
            from_status=from_status,
            to_status=to_status,
            details=details,
        )
    )
