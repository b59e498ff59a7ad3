"""The ways a shopper can get an order (``DELIVERY_OPTIONS``) and what each costs a cart.

Prices are read as owners write them (roubles, the catalogue's price formats) and kept in
kopecks. The price charged is decided on the server from these settings and the cart's
subtotal at the moment the order is placed; a button only names the option.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from shopbot.models import DeliveryMethod
from shopbot.money import MAX_PRICE, parse_price

# An option's id rides in callback data: short, and free of aiogram's ":" separator.
OPTION_ID_PATTERN = r"^[A-Za-z0-9_-]{1,16}$"


def _roubles(value: object) -> object:
    """``350``, ``350.5``, ``"350"``, ``"1 299,00"`` (roubles) -> kopecks."""
    if isinstance(value, bool):
        raise ValueError('a price in roubles, e.g. 350 or "350,00"')
    if isinstance(value, int | float):
        value = str(value)
    if isinstance(value, str):
        return parse_price(value)
    return value


Kopecks = Annotated[int, BeforeValidator(_roubles), Field(ge=0, le=MAX_PRICE)]


class DeliveryOption(BaseModel):
    """One way to get an order: a pickup point or a courier, with its price.

    ``free_from``: a subtotal from which it costs nothing. ``address`` is a pickup point's
    (shown to the shopper and kept on the order, with ``hours``); a courier's ``hours`` are
    shown when the option is offered.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str | None = Field(default=None, pattern=OPTION_ID_PATTERN)
    kind: DeliveryMethod
    name: str = Field(default="", max_length=64)
    address: str = Field(default="", max_length=256)
    hours: str = Field(default="", max_length=128)
    price: Kopecks = 0
    free_from: Kopecks | None = None

    def price_for(self, subtotal: int) -> int:
        """What this option costs for goods worth ``subtotal`` kopecks."""
        if self.free_from is not None and subtotal >= self.free_from:
            return 0
        return self.price

    @property
    def pickup_point(self) -> str | None:
        """A pickup point's address and hours as one line, kept on the order (None for a
        courier, or when neither is given)."""
        if self.kind is not DeliveryMethod.PICKUP:
            return None
        return " · ".join(part for part in (self.address, self.hours) if part) or None

    @model_validator(mode="after")
    def _address_is_a_pickup_points(self) -> DeliveryOption:
        if self.address and self.kind is not DeliveryMethod.PICKUP:
            raise ValueError("only a pickup point has an address (a courier asks for one)")
        return self


def default_options() -> list[DeliveryOption]:
    """Without DELIVERY_OPTIONS: pickup and courier, both free (prices agreed by hand)."""
    return [
        DeliveryOption(id="pickup", kind=DeliveryMethod.PICKUP),
        DeliveryOption(id="courier", kind=DeliveryMethod.COURIER),
    ]


def with_ids(options: list[DeliveryOption]) -> list[DeliveryOption]:
    """Options without an id get their position (``"1"``, ``"2"``…); ids must be unique."""
    named = [
        option if option.id else option.model_copy(update={"id": str(number)})
        for number, option in enumerate(options, 1)
    ]
    ids = [option.id for option in named]
    if len(set(ids)) != len(ids):
        raise ValueError("each option needs an id of its own")
    return named


def find_option(options: list[DeliveryOption], option_id: str) -> DeliveryOption | None:
    return next((option for option in options if option.id == option_id), None)
