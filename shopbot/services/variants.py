"""Product variants: a T-shirt in sizes S/M/L and two colours is one product with six
variants, each with its own SKU, stock, price and (optionally) photo.

The model: **a variant is a row of ``product`` whose ``parent_id`` is the product shoppers
see**, with ``option1``/``option2`` naming the choice ("M", "чёрная"). A separate
``variant`` table was the alternative; rows of ``product`` win because everything that
works on a product then works on a variant unchanged:

* stock is reserved by the same conditional ``UPDATE product SET stock = stock - q WHERE
  id = :id AND stock >= q`` (the cart line and the order line point at the variant), and
  returned, logged (``stock_event``) and alerted on low stock the same way;
* the owner's ``/stock``, ``/price`` and ``/hide`` find a variant by its SKU like any
  product, and the import matches, creates and updates variants as the products they are;
* a variant's ``name`` is the parent's name with its options ("Футболка — M, чёрная"),
  written by the import, so the cart, the order lines, the staff's alerts and the 54-FZ
  receipt items name the variant without knowing of variants.

What does know of them: lists and search show parents only (:func:`listed`), with the
stock of their variants for sale (:func:`sellable_stock`); a parent is never sold itself
(its own stock stays 0, which the import checks), so a forged "add" of a parent is refused
as out of stock; the card offers the variants as buttons (``shopbot.bot.variants``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from shopbot.errors import ShopError
from shopbot.models import Product

# A card shows a button per variant: Telegram takes 100 buttons, and a choice among more
# than this is a catalogue of its own.
MAX_VARIANTS = 30
OPTION_SEPARATOR = ", "
NAME_SEPARATOR = " — "

_VARIANT = aliased(Product, name="variant")


def listed() -> ColumnElement[bool]:
    """The products lists and search show: not variants (their parent stands for them)."""
    return Product.parent_id.is_(None)


def has_variants() -> ColumnElement[bool]:
    """Does the product have variants (hidden ones count: it is still not sold itself)?"""
    return select(_VARIANT.id).where(_VARIANT.parent_id == Product.id).correlate(Product).exists()


class HasVariants(ShopError):
    """The product is sold as its variants: its own stock is not set, theirs is."""

    code = "has_variants"

    def __init__(self, sku: str) -> None:
        super().__init__(f"{sku!r} is sold as its variants: set the stock of each")
        self.sku = sku


def listed_price(own: ColumnElement[int] | None = None) -> ColumnElement[int]:
    """What a list shows as a product's price: its own (``own``, e.g. a sale's, else its
    price), or for a product with variants the lowest price of those for sale (the card says
    "from")."""
    of_variants = (
        select(func.min(_VARIANT.price))
        .where(_VARIANT.parent_id == Product.id, _VARIANT.active.is_(True))
        .correlate(Product)
        .scalar_subquery()
    )
    return func.coalesce(of_variants, Product.price if own is None else own)


def sellable_stock() -> ColumnElement[int]:
    """What a list shows as a product's stock: its own, or for a product with variants the
    sum of its variants for sale."""
    of_variants = (
        select(func.sum(_VARIANT.stock))
        .where(_VARIANT.parent_id == Product.id, _VARIANT.active.is_(True))
        .correlate(Product)
        .scalar_subquery()
    )
    return func.coalesce(of_variants, Product.stock)


def variant_words() -> ColumnElement[str]:
    """A product's words from its variants, for search: their SKUs and options, so typing a
    variant's SKU (or "XL") finds the product it belongs to; "" for one without."""
    words = (
        select(
            func.aggregate_strings(
                _VARIANT.sku
                + " "
                + func.coalesce(_VARIANT.option1, "")
                + " "
                + func.coalesce(_VARIANT.option2, ""),
                " ",
            )
        )
        .where(_VARIANT.parent_id == Product.id, _VARIANT.active.is_(True))
        .correlate(Product)
        .scalar_subquery()
    )
    return func.coalesce(words, "")


def option_label(option1: str | None, option2: str | None) -> str:
    """The choice a variant is: "M, чёрная" (only the options it has)."""
    return OPTION_SEPARATOR.join(option for option in (option1, option2) if option)


def variant_name(parent_name: str, option1: str | None, option2: str | None) -> str:
    """The name a variant is stored, sold and receipted under: "Футболка — M, чёрная"."""
    label = option_label(option1, option2)
    return f"{parent_name}{NAME_SEPARATOR}{label}" if label else parent_name


@dataclass(frozen=True)
class VariantInfo:
    """One variant as a card (or the Mini App) offers it: pure data."""

    id: int
    sku: str
    option1: str | None
    option2: str | None
    price: int
    stock: int
    active: bool

    @property
    def label(self) -> str:
        return option_label(self.option1, self.option2)

    @property
    def available(self) -> bool:
        return self.active and self.stock > 0


def option_values(variants: Sequence[VariantInfo]) -> tuple[list[str], list[str]]:
    """The distinct values of each option, in the variants' order (sizes as the owner
    listed them, S before M before L)."""
    first: dict[str, None] = {}
    second: dict[str, None] = {}
    for variant in variants:
        if variant.option1:
            first.setdefault(variant.option1)
        if variant.option2:
            second.setdefault(variant.option2)
    return list(first), list(second)


def price_range(variants: Sequence[VariantInfo]) -> tuple[int, int] | None:
    """The lowest and highest price among the variants for sale; None when none is."""
    prices = [variant.price for variant in variants if variant.active]
    return (min(prices), max(prices)) if prices else None


async def load_variants(session: AsyncSession, parent_id: int) -> tuple[VariantInfo, ...]:
    """A product's variants, hidden ones included (a card marks them), in the owner's order
    (their ``position``, then the order they were created in: the file's)."""
    rows = await session.execute(
        select(
            Product.id,
            Product.sku,
            Product.option1,
            Product.option2,
            Product.price,
            Product.stock,
            Product.active,
        )
        .where(Product.parent_id == parent_id)
        .order_by(Product.position.asc().nulls_last(), Product.id)
    )
    return tuple(VariantInfo(*row) for row in rows)
