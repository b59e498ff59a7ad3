"""Callback data factories. They carry ids and page numbers only: prices, quantities and
ownership are always looked up on the server, so a forged button can do no harm.

Numbers are validated into range when a button is unpacked (ids fit the database's 32-bit
columns, pages are not negative): a forged one matches no handler and gets the usual
"this button is out of date" answer instead of reaching the database.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from aiogram.filters.callback_data import CallbackData
from pydantic import Field

from shopbot.models import MAX_ID, OrderStatus
from shopbot.services.delivery import OPTION_ID_PATTERN

Id = Annotated[int, Field(gt=0, le=MAX_ID)]
IdOrZero = Annotated[int, Field(ge=0, le=MAX_ID)]  # 0: none (the catalogue's root, no product)
Page = Annotated[int, Field(ge=0, le=MAX_ID)]


class CatalogAction(StrEnum):
    LIST = "l"  # a category (0 = root) at a page
    PRODUCT = "p"  # open a product card
    INC = "i"  # one more in the cart (from a product card)
    DEC = "d"  # one fewer in the cart
    ADD = "a"  # first unit into the cart
    NOOP = "n"  # an informational button (quantity, page indicator)
    MORE = "m"  # the whole description, in messages of its own


class CatalogCb(CallbackData, prefix="c"):
    action: CatalogAction
    category_id: IdOrZero = 0
    page: Page = 0
    product_id: IdOrZero = 0


class PhotoCb(CallbackData, prefix="f"):
    """A product card turned to another of its photos (◀ ▶, and the 2/3 between them,
    which names the photo shown); the category and page keep the card's Back button."""

    product_id: Id
    photo: Page
    category_id: IdOrZero = 0
    page: Page = 0


class CartAction(StrEnum):
    SHOW = "s"
    INC = "i"
    DEC = "d"
    REMOVE = "r"
    CLEAR = "c"  # asks first
    CLEAR_CONFIRMED = "e"
    CHECKOUT = "o"
    NOOP = "n"


class CartCb(CallbackData, prefix="k"):
    action: CartAction
    product_id: IdOrZero = 0


class CheckoutAction(StrEnum):
    SKIP_COMMENT = "s"
    CONFIRM = "y"
    CANCEL = "x"
    USE_NAME = "u"


class CheckoutCb(CallbackData, prefix="o"):
    action: CheckoutAction


class DeliveryCb(CallbackData, prefix="dv"):
    """A delivery option at checkout, by its id in DELIVERY_OPTIONS (its price is the
    settings', never the button's)."""

    option: Annotated[str, Field(pattern=OPTION_ID_PATTERN)]


class OrdersAction(StrEnum):
    LIST = "l"
    SHOW = "s"
    CANCEL = "c"  # "are you sure?" before the shopper cancels their order
    CONTACT = "w"  # write to the shop about the order
    RETURN = "b"  # put the order's items back in the cart


class OrdersCb(CallbackData, prefix="r"):
    action: OrdersAction
    order_id: IdOrZero = 0
    page: Page = 0


class CancelOrderCb(CallbackData, prefix="x"):
    """Yes to "are you sure?": carries the status the question was asked about, so an
    answer given about an unpaid order never cancels one paid meanwhile (whose refund was
    not asked about)."""

    order_id: Id
    expect: OrderStatus


class SearchCb(CallbackData, prefix="s"):
    """A page of search results; the query itself lives in FSM data, not in the button."""

    page: Page


class PayAction(StrEnum):
    PAY = "p"  # show (or re-create) the payment link / invoice
    CHECK = "c"  # ask the provider now instead of waiting for its notification


class PayCb(CallbackData, prefix="y"):
    action: PayAction
    order_id: Id


class FavouriteAction(StrEnum):
    ADD = "a"  # ♡ on a card
    REMOVE = "r"  # ♥ on a card
    DROP = "d"  # ✖ on the list of favourites
    LIST = "l"  # the list, at a page


class FavouriteCb(CallbackData, prefix="v"):
    """Favourites: the card's ♡/♥ (with the card's category and page, for its Back button),
    the list's pages and its ✖. Adding and removing say what they do, so a press repeated
    from a stale card does the same thing again instead of undoing itself."""

    action: FavouriteAction
    product_id: IdOrZero = 0
    category_id: IdOrZero = 0
    page: Page = 0


class FaqAction(StrEnum):
    TOPICS = "t"  # the FAQ's topics
    TOPIC = "o"  # the questions of the topic of ``entry_id``
    ENTRY = "e"  # the answer of ``entry_id``
    HELPED = "y"  # 👍 under an answer to a typed question
    NOT_HELPED = "n"  # 👎: a person is offered
    MANAGER = "m"  # "write to a manager"


class FaqCb(CallbackData, prefix="q"):
    action: FaqAction
    entry_id: IdOrZero = 0


class ConsentAnswer(StrEnum):
    YES = "y"
    NO = "n"


class ConsentPlace(StrEnum):
    """Where the answer was given: it is stored as how consent was given or taken back."""

    QUESTION = "q"  # the question after the first order
    MENU = "m"  # the button under /help


class ConsentCb(CallbackData, prefix="ns"):
    """Yes or no to news and discounts."""

    answer: ConsentAnswer
    place: ConsentPlace


class UnsubscribeCb(CallbackData, prefix="us"):
    """ "Unsubscribe" under a promotional message: one tap takes consent back."""


Score = Annotated[int, Field(ge=1, le=5)]


class RatingCb(CallbackData, prefix="rt"):
    """A shopper's 1–5 for an order or a support conversation (the question's id: whose
    it is and whether it is still open are looked up)."""

    rating_id: Id
    score: Score


class RatingSkipCb(CallbackData, prefix="rk"):
    """ "Skip" under the request for a comment on a rating."""

    rating_id: Id


class LowestRatingsCb(CallbackData, prefix="arl"):
    """The owner's "lowest ratings" under /stats, for the last ``days`` days."""

    days: Annotated[int, Field(ge=1, le=366)]
