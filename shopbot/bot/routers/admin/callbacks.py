"""Admin buttons: ids, small numbers and a pending import's token, never prices or text."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from aiogram.filters.callback_data import CallbackData
from pydantic import AfterValidator, Field

from shopbot.bot.callbacks import Id, IdOrZero, Page
from shopbot.models import OrderStatus
from shopbot.money import MAX_PRICE

# Statuses travel as their position here: the names would not fit in 64 bytes.
STATUSES = list(OrderStatus)
NO_STATUS = -1
StatusCode = Annotated[int, Field(ge=NO_STATUS, lt=len(STATUSES))]
STOCK_STEPS = (-10, -1, 1, 10)  # the stock buttons on an admin's product card


def _stock_step(delta: int) -> int:
    if delta != 0 and delta not in STOCK_STEPS:
        raise ValueError(f"{delta} is not a stock step")
    return delta


StockStep = Annotated[int, AfterValidator(_stock_step)]


def status_code(status: OrderStatus | None) -> int:
    return NO_STATUS if status is None else STATUSES.index(status)


def status_of(code: int) -> OrderStatus | None:
    return STATUSES[code] if 0 <= code < len(STATUSES) else None


class MenuAction(StrEnum):
    STATS = "s"
    EXPORT = "e"


class AdminMenuCb(CallbackData, prefix="am"):
    action: MenuAction


class AdminStockCb(CallbackData, prefix="as"):
    """A page of the low-stock list."""

    page: Page = 0


class ProductAction(StrEnum):
    SHOW = "s"
    ADJUST = "a"
    HIDE = "h"
    UNHIDE = "u"


class AdminProductCb(CallbackData, prefix="ap"):
    action: ProductAction
    product_id: Id
    delta: StockStep = 0


Price = Annotated[int, Field(ge=0, le=MAX_PRICE)]


class PriceAnswer(StrEnum):
    YES = "y"
    NO = "n"


class AdminPriceCb(CallbackData, prefix="apr"):
    """Confirming an unusual price (0, or ten times off the old one). The button names the
    product, the new price and the price it was confirmed from: it sets exactly that price
    on exactly that product, and only while the price is still ``old``. Admin-only, like
    every admin button, and the limits are checked again when it is pressed."""

    product_id: Id
    price: Price
    old: Price
    answer: PriceAnswer


class OrderAction(StrEnum):
    LIST = "l"
    SHOW = "s"
    MOVE = "m"
    CONFIRMED_MOVE = "c"  # the same move, after "are you sure?" (cancelling a paid order)
    HANDLED = "h"  # the owner has dealt with what the order is flagged for
    NO_REASON = "n"  # cancel (confirmed already) without a reason for the shopper


class AdminOrderCb(CallbackData, prefix="ao"):
    """``status``: the list's filter; ``target``/``expect``: a move and the status it was
    offered from, so a button pressed after the order moved on is refused."""

    action: OrderAction
    order_id: IdOrZero = 0
    page: Page = 0
    status: StatusCode = NO_STATUS
    target: StatusCode = NO_STATUS
    expect: StatusCode = NO_STATUS


class ImportAction(StrEnum):
    APPLY = "y"
    CANCEL = "n"


class AdminImportCb(CallbackData, prefix="ai"):
    action: ImportAction
    token: str


class AdminFileCb(CallbackData, prefix="af"):
    """ "Import this file" under the bot's reply to a file sent without /import: the file is
    the one that message replies to (Telegram's word, not the button's)."""


class FaqAdminAction(StrEnum):
    LIST = "l"  # a page of the entries
    SHOW = "s"  # one entry with its buttons
    EDIT = "e"  # ask for the entry's new answer
    DELETE = "d"
    ADD = "a"  # the add flow: topic, question, answer


class AdminFaqCb(CallbackData, prefix="aq"):
    action: FaqAdminAction
    entry_id: IdOrZero = 0
    page: Page = 0


class AdminFaqImportCb(CallbackData, prefix="aqi"):
    """Apply / Cancel under the dry run of a FAQ file; the token names the parked file."""

    action: ImportAction
    token: str
