"""Callback data factories. They carry ids and page numbers only: prices, quantities and
ownership are always looked up on the server, so a forged button can do no harm."""

from __future__ import annotations

from enum import StrEnum

from aiogram.filters.callback_data import CallbackData


class CatalogAction(StrEnum):
    LIST = "l"  # a category (0 = root) at a page
    PRODUCT = "p"  # open a product card
    INC = "i"  # one more in the cart (from a product card)
    DEC = "d"  # one fewer in the cart
    ADD = "a"  # first unit into the cart
    NOOP = "n"  # an informational button (quantity, page indicator)


class CatalogCb(CallbackData, prefix="c"):
    action: CatalogAction
    category_id: int = 0
    page: int = 0
    product_id: int = 0


class CartAction(StrEnum):
    SHOW = "s"
    INC = "i"
    DEC = "d"
    REMOVE = "r"
    CLEAR = "c"
    CHECKOUT = "o"
    NOOP = "n"


class CartCb(CallbackData, prefix="k"):
    action: CartAction
    product_id: int = 0


class CheckoutAction(StrEnum):
    PICKUP = "p"
    COURIER = "c"
    SKIP_COMMENT = "s"
    CONFIRM = "y"
    CANCEL = "x"
    USE_NAME = "u"


class CheckoutCb(CallbackData, prefix="o"):
    action: CheckoutAction


class OrdersAction(StrEnum):
    LIST = "l"
    SHOW = "s"


class OrdersCb(CallbackData, prefix="r"):
    action: OrdersAction
    order_id: int = 0
    page: int = 0


class SearchCb(CallbackData, prefix="s"):
    """A page of search results; the query itself lives in FSM data, not in the button."""

    page: int


class PayAction(StrEnum):
    PAY = "p"  # show (or re-create) the payment link / invoice
    CHECK = "c"  # ask the provider now instead of waiting for its notification


class PayCb(CallbackData, prefix="y"):
    action: PayAction
    order_id: int
