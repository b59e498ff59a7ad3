"""How a message that describes an order looks now: the same text and buttons whether it is
first shown or edited later because the order changed (``BotNotifier`` follows them)."""

from __future__ import annotations

from aiogram.types import InlineKeyboardMarkup

from shopbot.bot.keyboards import order_keyboard
from shopbot.bot.texts import order_card, order_headline, payment_failed_text
from shopbot.models import Order, OrderMessageKind, OrderStatus

View = tuple[str, InlineKeyboardMarkup | None]


def order_view(order: Order, kind: OrderMessageKind, *, payment_failed: bool) -> View | None:
    """The text and buttons of a message of this kind about the order; None: the message
    is right as it was sent (a payment link while the order waits for that payment).
    ``payment_failed``: the order's latest payment was cancelled (it may be paid again)."""
    if kind is OrderMessageKind.PAYMENT:
        return payment_view(order, payment_failed=payment_failed)
    if kind is OrderMessageKind.SUMMARY:
        return summary_view(order, payment_failed=payment_failed)
    return card_view(order, back=True, payment_failed=payment_failed)


def card_view(order: Order, *, back: bool, payment_failed: bool = False) -> View:
    """The order's card with what can still be done; ``back``: to the list of orders."""
    keyboard = order_keyboard(order, back=back, payment_failed=payment_failed)
    return order_card(order), _markup(keyboard)


def summary_view(order: Order, *, payment_failed: bool = False) -> View:
    """The checkout summary turned into the order's card at Confirm."""
    if order.status is OrderStatus.AWAITING_PAYMENT and not payment_failed:
        return order_card(order), None  # the payment message below has the buttons
    return card_view(order, back=False, payment_failed=payment_failed)


def payment_view(order: Order, *, payment_failed: bool) -> View | None:
    """The payment message under the order's card: only the payment's own buttons (paying
    again, the items back to the cart); the card above has the rest."""
    keyboard = _markup(
        order_keyboard(
            order, cancellable=False, contact=False, back=False, payment_failed=payment_failed
        )
    )
    if order.status is not OrderStatus.AWAITING_PAYMENT:
        return order_headline(order), keyboard
    if payment_failed:
        return payment_failed_text(order), keyboard
    return None


def _markup(markup: InlineKeyboardMarkup) -> InlineKeyboardMarkup | None:
    return markup if any(markup.inline_keyboard) else None
