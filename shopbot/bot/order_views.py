"""How a message that describes an order looks now: the same text and buttons whether it is
first shown or edited later because the order changed (``BotNotifier`` follows them)."""

from __future__ import annotations

from aiogram.types import InlineKeyboardMarkup

from shopbot.bot.keyboards import order_keyboard
from shopbot.bot.texts import order_card, order_headline
from shopbot.models import Order, OrderMessageKind, OrderStatus

View = tuple[str, InlineKeyboardMarkup | None]


def order_view(order: Order, kind: OrderMessageKind) -> View | None:
    """The text and buttons of a message of this kind about the order; None: the message
    is right as it was sent (a payment link while the order waits for that payment)."""
    if kind is OrderMessageKind.PAYMENT:
        return payment_view(order)
    if kind is OrderMessageKind.SUMMARY:
        return summary_view(order)
    return card_view(order, back=True)


def card_view(order: Order, *, back: bool) -> View:
    """The order's card with what can still be done; ``back``: to the list of orders."""
    return order_card(order), _markup(order_keyboard(order, back=back))


def summary_view(order: Order) -> View:
    """The checkout summary turned into the order's card at Confirm."""
    if order.status is OrderStatus.AWAITING_PAYMENT:
        return order_card(order), None  # the payment message below has the buttons
    return card_view(order, back=False)


def payment_view(order: Order) -> View | None:
    if order.status is OrderStatus.AWAITING_PAYMENT:
        return None
    return order_headline(order), _markup(order_keyboard(order, back=False))


def _markup(markup: InlineKeyboardMarkup) -> InlineKeyboardMarkup | None:
    return markup if any(markup.inline_keyboard) else None
