"""What shoppers read about promotions: the sale list, a promo code's discount, and each
reason a code is refused, in the shopper's language."""

from __future__ import annotations

from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext

from shopbot.bot.clock import when
from shopbot.bot.render import ANSWER_LIMIT, TEXT_LIMIT, Part, Typed, compose, fill
from shopbot.money import format_price
from shopbot.services.promo import PromoRefused, Refusal


def discount_line(code: str, discount: int) -> list[Part]:
    """``Promo code SPRING10: −129,90 ₽`` (the code is the owner's text)."""
    return fill(
        _("🎟 Promo code {code}: −{discount}"), code=Typed(code), discount=format_price(discount)
    )


def sale_title(total: int) -> str:
    return ngettext("🔥 <b>Sale</b> — {n} item", "🔥 <b>Sale</b> — {n} items", total).format(
        n=total
    )


def no_sale_text() -> str:
    return _("🔥 Nothing is on sale right now.")


def _refusal(refused: PromoRefused) -> list[Part]:
    """Why the code does not apply, one answer per rule."""
    details = refused.details
    reason = refused.reason
    if reason is Refusal.UNKNOWN:
        template = _("There is no promo code {code}. Please check how it is spelt.")
    elif reason is Refusal.INACTIVE:
        template = _("The promo code {code} no longer works.")
    elif reason is Refusal.NOT_STARTED:
        template = _("The promo code {code} works from {start}.")
    elif reason is Refusal.EXPIRED:
        template = _("The promo code {code} does not apply: it has expired.")
    elif reason is Refusal.USED_UP:
        template = _("The promo code {code} has been used up: all its uses are taken.")
    elif reason is Refusal.MIN_TOTAL:
        template = _(
            "The promo code {code} does not apply: the least order is {amount} (goods, "
            "without delivery)."
        )
    elif reason is Refusal.ALREADY_USED:
        template = _(
            "The promo code {code} does not apply: you have used it already, and it works "
            "once per shopper."
        )
    elif reason is Refusal.FIRST_ORDER:
        template = _("The promo code {code} is for a first order only.")
    else:
        template = _("The promo code {code} is for goods of “{category}”: none are in the cart.")
    values: dict[str, object] = {"code": Typed(refused.promo_code)}
    if "starts_at" in details:
        values["start"] = when(details["starts_at"])
    if "min_total" in details:
        values["amount"] = format_price(details["min_total"])
    if "category" in details:
        values["category"] = Typed(details["category"])
    return fill(template, **values)


def refusal_text(refused: PromoRefused) -> str:
    """Why the code does not apply, for a button's answer (plain text)."""
    return compose(ANSWER_LIMIT, [_refusal(refused)], html=False)


def refusal_message(refused: PromoRefused) -> str:
    """Why the code does not apply, as a message (HTML)."""
    return compose(TEXT_LIMIT, [_refusal(refused)])


def code_question() -> str:
    return _("🎟 Type your promo code (or /cancel to leave checkout).")


def code_applied(code: str, discount: int) -> str:
    template = _("✅ Promo code {code} applied: −{discount}.")
    return compose(TEXT_LIMIT, [fill(template, code=Typed(code), discount=format_price(discount))])


def code_remembered(code: str) -> str:
    template = _(
        "🎟 Promo code {code} is saved: it will be applied when you check out. "
        "Open the catalogue to choose something."
    )
    return compose(TEXT_LIMIT, [fill(template, code=Typed(code))])
