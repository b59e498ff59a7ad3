"""How a price reads: the old price crossed out beside the sale's while a sale lasts.

Every screen that shows a product's price (cards, lists, their buttons, the cart, the
checkout summary) goes through these, priced on the clock of
:mod:`shopbot.services.pricing` when rendered, so a cached card is right after a sale ends.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from aiogram.utils.i18n import gettext as _

from shopbot.bot.clock import when
from shopbot.money import format_price
from shopbot.services import pricing

DAY = "%d.%m.%Y"


def sale_now(price: int, sale_price: int | None, sale_until: datetime | None) -> int | None:
    """The sale price if a sale below ``price`` is on now, else None."""
    if sale_price is None or sale_price >= price:
        return None
    return sale_price if pricing.sale_lasts(sale_price, sale_until, pricing.now()) else None


def price_html(price: int, sale_price: int | None, sale_until: datetime | None) -> str:
    """``1 299 ₽``, or ``<s>1 299 ₽</s> 999 ₽`` while on sale."""
    sale = sale_now(price, sale_price, sale_until)
    if sale is None:
        return format_price(price)
    return f"<s>{format_price(price)}</s> {format_price(sale)}"


def price_plain(price: int, sale_price: int | None, sale_until: datetime | None) -> str:
    """For a button (no markup there): ``1 299 ₽``, or ``🔥 999 ₽`` while on sale."""
    sale = sale_now(price, sale_price, sale_until)
    return format_price(price) if sale is None else f"🔥 {format_price(sale)}"


def line_html(unit_price: int, regular_price: int | None, quantity: int) -> str:
    """A cart line's cost: ``2 598 ₽``, or ``<s>2 598 ₽</s> 1 998 ₽`` at a sale price."""
    total = unit_price * quantity
    if regular_price is None or regular_price <= unit_price:
        return format_price(total)
    return f"<s>{format_price(regular_price * quantity)}</s> {format_price(total)}"


def sale_line(price: int, sale_price: int | None, sale_until: datetime | None) -> str | None:
    """The card's line under the price while on sale: until when (None: no sale now)."""
    if sale_now(price, sale_price, sale_until) is None:
        return None
    if sale_until is None:
        return _("🔥 On sale")
    return _("🔥 On sale {until}").format(until=until_text(sale_until))


def until_text(moment: datetime) -> str:
    """An end as the owner set it, on the shop's clock: a sale to the end of 31.12 (it ends
    at midnight) reads "through 31.12.2026", one ending at 18:00 "until 31.12.2026 18:00"."""
    if when(moment, "%H:%M") == "00:00":
        return _("through {day}").format(day=when(moment - timedelta(days=1), DAY))
    return _("until {moment}").format(moment=when(moment))
