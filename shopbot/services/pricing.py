"""The price in effect: a product's sale price while its sale lasts, else its price.

Worked out from ``sale_until`` against the clock on every read, never by a job that flips
rows: a sale ends on time even if nothing runs at that moment, cached cards included (they
keep both prices and the end, and are priced when rendered). The clock is injectable
(:func:`set_clock`) so tests move time instead of sleeping.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import ColumnElement, and_, case, or_

from shopbot.models import Product, utcnow

Clock = Callable[[], datetime]

_clock: Clock = utcnow


def now() -> datetime:
    """The moment prices are worked out for (UTC)."""
    return _clock()


def set_clock(clock: Clock | None) -> None:
    """Work prices out on ``clock`` from now on (None: the real clock again)."""
    global _clock
    _clock = clock or utcnow


def sale_lasts(sale_price: int | None, sale_until: datetime | None, at: datetime) -> bool:
    """Is a sale in force at ``at``? It ends at ``sale_until`` sharp."""
    return sale_price is not None and (sale_until is None or at < sale_until)


def price_in_effect(
    price: int, sale_price: int | None, sale_until: datetime | None, at: datetime
) -> int:
    """What a unit costs at ``at``: never more than ``price`` (a price lowered below the
    sale's since makes the sale moot)."""
    if sale_price is not None and sale_price < price and sale_lasts(sale_price, sale_until, at):
        return sale_price
    return price


def on_sale_clause(at: datetime) -> ColumnElement[bool]:
    """SQL: the product's sale is in force at ``at`` (and below its price)."""
    return and_(
        Product.sale_price.is_not(None),
        Product.sale_price < Product.price,
        or_(Product.sale_until.is_(None), Product.sale_until > at),
    )


def price_column(at: datetime) -> ColumnElement[int]:
    """SQL: the product's price in effect at ``at``."""
    return case((on_sale_clause(at), Product.sale_price), else_=Product.price)
