"""The arithmetic of a discount, to the kopeck: how much, its share on each order line, and
the 54-FZ receipt items of a discounted line.

A receipt item is a unit price × a quantity, and the items must add up to what is paid
exactly. A line of 3 × 333,33 ₽ with 100,00 ₽ off costs 899,99 ₽, which no unit price × 3
makes: it becomes two items, 2 × 300,00 ₽ and 1 × 299,99 ₽ (:func:`receipt_parts`).
"""

from __future__ import annotations

from collections.abc import Sequence

from shopbot.models import PromoKind

# What an order's goods cost at least after a discount: YooKassa and Telegram take no
# payment of 0 ₽, so a code (500 ₽ off a 300 ₽ cart, 100 %) leaves the goods at 1 ₽.
MIN_GOODS_AFTER_DISCOUNT = 100  # kopecks


def discount_of(kind: PromoKind, amount: int, eligible_total: int, goods_total: int) -> int:
    """The discount on goods worth ``eligible_total`` kopecks (of the order's
    ``goods_total``): ``amount`` per cent (rounded half up to the kopeck) or ``amount``
    kopecks, never more than those goods cost, and never below
    :data:`MIN_GOODS_AFTER_DISCOUNT` for the order's goods."""
    wanted = (eligible_total * amount + 50) // 100 if kind is PromoKind.PERCENT else amount
    return max(0, min(wanted, eligible_total, goods_total - MIN_GOODS_AFTER_DISCOUNT))


def spread(discount: int, line_totals: Sequence[int]) -> list[int]:
    """``discount`` shared over lines in proportion to their totals (0 for a line that
    takes no part), to the kopeck: the shares add up to ``discount`` exactly, and no line
    gets more off than it costs. Remainders go to the lines with the largest fractions
    (the largest remainder method), the earlier line first on a tie."""
    base = sum(line_totals)
    if discount > base:
        raise ValueError("a discount larger than the goods it applies to")
    if base == 0:
        return [0 for _total in line_totals]
    shares = [discount * total // base for total in line_totals]
    left = discount - sum(shares)
    by_fraction = sorted(
        range(len(line_totals)),
        key=lambda index: (-(discount * line_totals[index] % base), index),
    )
    for index in by_fraction[:left]:
        shares[index] += 1
    return shares


def receipt_parts(unit_price: int, quantity: int, discount: int) -> list[tuple[int, int]]:
    """A line with ``discount`` off as receipt items ``(unit price, quantity)`` that add up
    to ``unit_price × quantity - discount`` exactly: one item when that divides by the
    quantity, else two (some units a kopeck dearer than the rest)."""
    total = unit_price * quantity - discount
    if total < 0:
        raise ValueError("a line discounted below zero")
    low, dearer = divmod(total, quantity)
    parts = []
    if dearer:
        parts.append((low + 1, dearer))
    if quantity - dearer:
        parts.append((low, quantity - dearer))
    return parts
