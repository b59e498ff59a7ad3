"""Promo codes: the owner's codes and their rules, a shopper's code checked against a cart,
and a use taken by the order that holds it (given back if the order is cancelled or
expires).

A use is taken by one conditional UPDATE (``uses < max_uses``), never read-then-write, so a
code limited to 10 uses gives exactly 10 orders however many shoppers race for it; a
once-per-shopper code also records ``(code, shopper)`` under a unique key. Giving a use
back deletes the order's ``promo_use`` row first: only the change that deleted it gives
the use back, so it is given back once, through the order's one guarded status change.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import delete, exists, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from shopbot.db import unit_of_work, upsert
from shopbot.errors import ShopError
from shopbot.models import (
    CartLine,
    Category,
    Order,
    OrderStatus,
    Product,
    PromoCode,
    PromoKind,
    PromoUse,
    utcnow,
)
from shopbot.services.discounts import discount_of, spread
from shopbot.services.pricing import price_column

CODE_LIMIT = 32  # characters of a code (the column's size; a start parameter takes 64)
# Orders whose money the shop has (or will have, on delivery): a code's revenue.
EARNING = frozenset(
    {OrderStatus.PAID, OrderStatus.CONFIRMED, OrderStatus.SHIPPED, OrderStatus.DELIVERED}
)
# Orders that do not count against "first order only".
LOST = frozenset({OrderStatus.CANCELLED, OrderStatus.EXPIRED})


def normal_code(text: str) -> str:
    """Codes are matched without regard to case or surrounding spaces: ``  spring10 ``."""
    return text.strip().upper()


class Refusal(enum.StrEnum):
    """Why a code does not apply (each has its own answer for the shopper)."""

    UNKNOWN = "unknown"  # no such code
    INACTIVE = "inactive"  # the owner switched it off
    NOT_STARTED = "not_started"  # valid from a later moment
    EXPIRED = "expired"
    USED_UP = "used_up"  # its total number of uses is reached
    MIN_TOTAL = "min_total"  # the goods cost less than its minimum
    ALREADY_USED = "already_used"  # once per shopper, and this shopper has
    FIRST_ORDER = "first_order"  # for a first order, and this shopper has ordered
    NOTHING_ELIGIBLE = "nothing_eligible"  # nothing in the cart is of its category


class PromoRefused(ShopError):
    """A code that does not apply to this shopper's cart now; ``details`` hold what the
    answer names (``min_total``, ``starts_at``, ``category``)."""

    code = "promo_refused"

    def __init__(self, reason: Refusal, code: str, **details: Any) -> None:
        super().__init__(f"promo code {code!r} refused: {reason}")
        self.reason = reason
        self.promo_code = code
        self.details = details


class CodeTaken(ShopError):
    code = "promo_code_taken"

    def __init__(self, code: str) -> None:
        super().__init__(f"promo code {code!r} exists already")
        self.promo_code = code


class UnknownCategory(ShopError):
    code = "promo_unknown_category"

    def __init__(self, name: str) -> None:
        super().__init__(f"no category {name!r}")
        self.name = name


@dataclass(frozen=True)
class Terms:
    """A new code's rules, as the owner gave them."""

    code: str
    kind: PromoKind
    amount: int  # per cent (1-100), or kopecks
    min_total: int | None = None
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    max_uses: int | None = None
    once_per_shopper: bool = False
    first_order_only: bool = False
    category: str | None = None  # a category's name or path ("Одежда", "Одежда / Футболки")


@dataclass(frozen=True)
class Line:
    """A line of goods a code is checked against."""

    product_id: int
    unit_price: int  # in effect now
    quantity: int
    category_path: str | None

    @property
    def total(self) -> int:
        return self.unit_price * self.quantity


@dataclass(frozen=True)
class Quote:
    """What a code takes off these lines: in all, and each line's share."""

    promo_id: int
    code: str
    discount: int
    shares: list[int] = field(default_factory=list)  # in the order of the lines


async def create(session: AsyncSession, terms: Terms, *, actor: str) -> PromoCode:
    """Make a code (CodeTaken if one of that name exists, UnknownCategory if ``category``
    names none: by its full path, else by its name)."""
    category_id = None
    if terms.category:
        category_id = await _category_id(session, terms.category)
    code = normal_code(terms.code)
    try:
        async with unit_of_work(session):
            promo = await session.scalar(
                insert(PromoCode)
                .values(
                    code=code,
                    kind=terms.kind,
                    amount=terms.amount,
                    min_total=terms.min_total,
                    starts_at=terms.starts_at,
                    ends_at=terms.ends_at,
                    max_uses=terms.max_uses,
                    uses=0,
                    once_per_shopper=terms.once_per_shopper,
                    first_order_only=terms.first_order_only,
                    category_id=category_id,
                    active=True,
                    created_at=utcnow(),
                    actor=actor,
                )
                .returning(PromoCode)
            )
    except IntegrityError as exc:
        raise CodeTaken(code) from exc
    assert promo is not None
    return promo


async def _category_id(session: AsyncSession, name: str) -> int:
    wanted = " / ".join(part.strip() for part in name.split("/") if part.strip())
    rows = (
        await session.execute(
            select(Category.id, Category.path, Category.name).order_by(Category.id)
        )
    ).all()
    folded = wanted.casefold()
    for matches in (
        lambda row: row.path.casefold() == folded,
        lambda row: row.name.casefold() == folded,
    ):
        found = [row.id for row in rows if matches(row)]
        if found:
            return found[0]
    raise UnknownCategory(name)


@dataclass(frozen=True)
class CodeFigures:
    """A code as /promo lists it: its rules, uses and the revenue of its orders."""

    promo: PromoCode
    category: str | None
    orders: int  # orders that earned the shop money with it
    revenue: int


async def list_codes(session: AsyncSession) -> list[CodeFigures]:
    """Every code, the active ones first, newest first."""
    revenue = (
        select(
            Order.promo_code_id,
            func.count().label("orders"),
            func.sum(Order.total).label("revenue"),
        )
        .where(Order.status.in_(EARNING), Order.promo_code_id.is_not(None))
        .group_by(Order.promo_code_id)
        .subquery()
    )
    rows = await session.execute(
        select(PromoCode, Category.path, revenue.c.orders, revenue.c.revenue)
        .outerjoin(Category, Category.id == PromoCode.category_id)
        .outerjoin(revenue, revenue.c.promo_code_id == PromoCode.id)
        .order_by(PromoCode.active.desc(), PromoCode.id.desc())
        .execution_options(populate_existing=True)
    )
    return [
        CodeFigures(promo, path, int(orders or 0), int(total or 0))
        for promo, path, orders, total in rows
    ]


async def get_code(session: AsyncSession, promo_id: int) -> CodeFigures | None:
    return next((found for found in await list_codes(session) if found.promo.id == promo_id), None)


async def deactivate(session: AsyncSession, promo_id: int) -> bool:
    """Switch a code off (orders placed with it keep their discount). False: no such code,
    or off already."""
    async with unit_of_work(session):
        result = await session.execute(
            update(PromoCode)
            .where(PromoCode.id == promo_id, PromoCode.active.is_(True))
            .values(active=False)
        )
    return result.rowcount == 1


async def cart_lines(session: AsyncSession, user_id: int, at: datetime) -> list[Line]:
    """The shopper's cart as a code sees it: prices in effect at ``at``, each product's
    category path, in product order (the order :func:`shopbot.services.orders.place_order`
    writes the lines in)."""
    rows = await session.execute(
        select(Product.id, price_column(at), CartLine.quantity, Category.path)
        .join(CartLine, CartLine.product_id == Product.id)
        .outerjoin(Category, Category.id == Product.category_id)
        .where(CartLine.user_id == user_id)
        .order_by(CartLine.product_id)
    )
    return [Line(*row) for row in rows]


async def quote(
    session: AsyncSession, code: str, user_id: int, lines: Sequence[Line], at: datetime
) -> Quote:
    """What ``code`` takes off ``lines`` for this shopper at ``at``; PromoRefused says
    which rule refuses it. Reads only: the use is taken by :func:`take_use`."""
    wanted = normal_code(code)
    found = await session.execute(
        select(PromoCode, Category.path)
        .outerjoin(Category, Category.id == PromoCode.category_id)
        .where(PromoCode.code == wanted)
        .execution_options(populate_existing=True)
    )
    row = found.first()
    if row is None:
        raise PromoRefused(Refusal.UNKNOWN, wanted)
    promo, category_path = row
    if not promo.active:
        raise PromoRefused(Refusal.INACTIVE, promo.code)
    if promo.starts_at is not None and at < promo.starts_at:
        raise PromoRefused(Refusal.NOT_STARTED, promo.code, starts_at=promo.starts_at)
    if promo.ends_at is not None and at >= promo.ends_at:
        raise PromoRefused(Refusal.EXPIRED, promo.code)
    if promo.max_uses is not None and promo.uses >= promo.max_uses:
        raise PromoRefused(Refusal.USED_UP, promo.code)
    goods = sum(line.total for line in lines)
    if promo.min_total is not None and goods < promo.min_total:
        raise PromoRefused(Refusal.MIN_TOTAL, promo.code, min_total=promo.min_total)
    if promo.once_per_shopper and await session.scalar(
        select(exists().where(PromoUse.promo_code_id == promo.id, PromoUse.user_id == user_id))
    ):
        raise PromoRefused(Refusal.ALREADY_USED, promo.code)
    if promo.first_order_only and await session.scalar(
        select(exists().where(Order.user_id == user_id, Order.status.not_in(LOST)))
    ):
        raise PromoRefused(Refusal.FIRST_ORDER, promo.code)
    eligible = [
        line.total if _in_category(line.category_path, category_path) else 0 for line in lines
    ]
    if not any(eligible):
        raise PromoRefused(Refusal.NOTHING_ELIGIBLE, promo.code, category=category_path or "")
    discount = discount_of(promo.kind, promo.amount, sum(eligible), goods)
    if discount == 0:  # goods of 1 ₽ or less: nothing a code could take off
        raise PromoRefused(Refusal.NOTHING_ELIGIBLE, promo.code, category=category_path or "")
    return Quote(promo.id, promo.code, discount, spread(discount, eligible))


def _in_category(path: str | None, code_path: str | None) -> bool:
    if code_path is None:
        return True
    return path is not None and (path == code_path or path.startswith(code_path + " / "))


async def take_use(
    session: AsyncSession, quote: Quote, *, user_id: int, order_id: int, at: datetime
) -> None:
    """Take one use of the quoted code for ``order_id``, in the caller's unit of work:
    a conditional UPDATE within the limit and the code's dates, then the order's use row
    (unique per shopper for a once-per-shopper code). PromoRefused when either is refused;
    the caller's unit then writes nothing."""
    taken = await session.execute(
        update(PromoCode)
        .where(
            PromoCode.id == quote.promo_id,
            PromoCode.active.is_(True),
            or_(PromoCode.max_uses.is_(None), PromoCode.uses < PromoCode.max_uses),
            or_(PromoCode.starts_at.is_(None), PromoCode.starts_at <= at),
            or_(PromoCode.ends_at.is_(None), PromoCode.ends_at > at),
        )
        .values(uses=PromoCode.uses + 1)
        .returning(PromoCode.once_per_shopper)
    )
    once = taken.scalar_one_or_none()
    if once is None:
        raise PromoRefused(await _why_not(session, quote.promo_id, at), quote.code)
    recorded = await session.scalar(
        upsert(session, PromoUse)
        .values(
            promo_code_id=quote.promo_id,
            order_id=order_id,
            user_id=user_id,
            once_key=user_id if once else None,
            created_at=at,
        )
        .on_conflict_do_nothing()
        .returning(PromoUse.id)
    )
    if recorded is None:
        raise PromoRefused(Refusal.ALREADY_USED, quote.code)


async def _why_not(session: AsyncSession, promo_id: int, at: datetime) -> Refusal:
    promo = await session.scalar(
        select(PromoCode).where(PromoCode.id == promo_id).execution_options(populate_existing=True)
    )
    if promo is None:
        return Refusal.UNKNOWN
    if not promo.active:
        return Refusal.INACTIVE
    if promo.starts_at is not None and at < promo.starts_at:
        return Refusal.NOT_STARTED
    if promo.ends_at is not None and at >= promo.ends_at:
        return Refusal.EXPIRED
    return Refusal.USED_UP


async def give_back(session: AsyncSession, order_id: int) -> bool:
    """The order no longer holds its code's use (cancelled, expired): give it back, once.
    Inside the order's status change; returns whether a use was given back."""
    promo_id = await session.scalar(
        delete(PromoUse).where(PromoUse.order_id == order_id).returning(PromoUse.promo_code_id)
    )
    if promo_id is None:
        return False
    await session.execute(
        update(PromoCode)
        .where(PromoCode.id == promo_id, PromoCode.uses > 0)
        .values(uses=PromoCode.uses - 1)
    )
    return True


async def take_again(session: AsyncSession, order_id: int) -> bool:
    """A late payment revives an order that had given its use back: it holds the use
    again, past the code's limit if need be (the shopper paid the discounted price).
    Inside the order's status change; returns whether a use was taken."""
    found = (
        await session.execute(
            select(Order.promo_code_id, Order.user_id).where(Order.id == order_id)
        )
    ).first()
    if found is None or found.promo_code_id is None:
        return False
    promo_id, user_id = found
    recorded = await session.scalar(
        upsert(session, PromoUse)
        .values(
            promo_code_id=promo_id,
            order_id=order_id,
            user_id=user_id,
            once_key=None,
            created_at=utcnow(),
        )
        .on_conflict_do_nothing()
        .returning(PromoUse.id)
    )
    if recorded is None:
        return False
    await session.execute(
        update(PromoCode).where(PromoCode.id == promo_id).values(uses=PromoCode.uses + 1)
    )
    return True
