"""Money is an integer count of kopecks everywhere; Decimal only at the edges (parse, format)."""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

_CURRENCY_MARKS = re.compile(r"(₽|руб\.?|р\.|rub)\s*$", re.IGNORECASE)
_SPACES = re.compile(r"[\s\u00a0\u202f']")
_PLAIN_NUMBER = re.compile(r"^\d+([.,]\d{1,2})?$")


# The largest price a product may have (10 million roubles): a sane catalogue maximum, well
# inside every column. A payment provider may accept less in one payment
# (``PaymentProvider.max_amount``); an order is never bigger than its provider takes.
MAX_PRICE = 10_000_000_00


class MoneyError(ValueError):
    """A price that cannot be read as a non-negative amount with at most two decimals."""


def parse_price(text: str) -> int:
    """Read a price as shop owners write it (``1299``, ``1299.00``, ``1 299,00``, ``1299 ₽``).

    Returns kopecks. Thousands separators are spaces (or apostrophes); the decimal mark is
    a point or a comma; more than two decimals is refused rather than rounded.
    """
    cleaned = _CURRENCY_MARKS.sub("", text.strip())
    cleaned = _SPACES.sub("", cleaned)
    if not _PLAIN_NUMBER.match(cleaned):
        raise MoneyError(f"not a price: {text!r}")
    try:
        amount = Decimal(cleaned.replace(",", "."))
    except InvalidOperation as exc:  # pragma: no cover - the regex already guards this
        raise MoneyError(f"not a price: {text!r}") from exc
    return int(amount * 100)


def to_decimal(kopecks: int) -> Decimal:
    """Kopecks as a rouble Decimal with two places (``129900`` -> ``Decimal('1299.00')``)."""
    return (Decimal(kopecks) / 100).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def to_api_value(kopecks: int) -> str:
    """The string form payment APIs want: ``"1299.00"``."""
    return f"{to_decimal(kopecks):.2f}"


def from_api_value(value: str | Decimal) -> int:
    """Parse an API amount (``"1299.00"``) back to kopecks, refusing fractions of a kopeck."""
    amount = Decimal(str(value))
    kopecks = amount * 100
    if kopecks != kopecks.to_integral_value():
        raise MoneyError(f"amount has fractions of a kopeck: {value!r}")
    return int(kopecks)


def format_price(kopecks: int, symbol: str = "₽") -> str:
    """Human format, no-break spaces: ``129900`` -> ``1 299 ₽``, ``5050`` -> ``50,50 ₽``."""
    roubles, cents = divmod(abs(kopecks), 100)
    sign = "-" if kopecks < 0 else ""
    whole = f"{roubles:,}".replace(",", "\u00a0")
    body = whole if cents == 0 else f"{whole},{cents:02d}"
    return f"{sign}{body}\u00a0{symbol}".rstrip()
