"""A product card with variants: its choices as buttons, and the card of the one chosen.

A card of a product with variants shows the product (its price from the cheapest variant,
its stock the variants' for sale) and a button per variant, in a grid of option1 × option2
when the product has both: a sold-out variant is marked ⛔, a combination the shop does not
make ✖ (a button that only says so), never left out without a word. A variant's button
opens the same card with that variant chosen (its name, price, stock and photo, the cart's
buttons adding it), by the variant's own id in the ordinary card buttons: the cart, photo
and "More" handlers resolve it here (:func:`card_of`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Protocol

from aiogram.filters.callback_data import CallbackData
from aiogram.types import CallbackQuery, InlineKeyboardButton
from aiogram.utils.i18n import gettext as _
from pydantic import Field
from sqlalchemy.ext.asyncio import AsyncSession

from shopbot.bot.callbacks import CatalogAction, CatalogCb
from shopbot.bot.render import Line, Typed, fill, h
from shopbot.bot.routers.admin.callbacks import AdminProductCb, ProductAction
from shopbot.money import format_price
from shopbot.services.catalogue import ProductDetail, product_detail
from shopbot.services.variants import (
    MAX_VARIANTS,
    VariantInfo,
    option_label,
    option_values,
    price_range,
)

# A grid row holds this many buttons at most (Telegram takes 8; phones show 4 readably).
GRID_WIDTH = 4
LIST_WIDTH = 3  # buttons a row of a plain list of variants

Rows = list[list[InlineKeyboardButton]]


class ProductLike(Protocol):
    sku: str
    option1: str | None
    option2: str | None


class NotMadeCb(CallbackData, prefix="vn"):
    """A ✖ cell of the grid: a combination of options the shop does not make."""

    option: Annotated[int, Field(ge=0, le=MAX_VARIANTS * MAX_VARIANTS)] = 0


async def not_made(query: CallbackQuery) -> None:
    await query.answer(_("There is no such option."))


@dataclass(frozen=True)
class CardChoice:
    """What a card shows: ``shown`` (the product, or the variant chosen, with the
    product's description and its photos after the variant's own) and, for a product
    with variants, the product and the variant chosen."""

    shown: ProductDetail
    product: ProductDetail
    chosen: VariantInfo | None

    @property
    def has_variants(self) -> bool:
        return bool(self.product.variants)


async def card_of(session: AsyncSession, detail: ProductDetail) -> CardChoice:
    """The card for ``detail``: itself for a product without variants; for a product with
    them, the product with none chosen; for a variant, its product's card with it chosen.
    A variant of a hidden product is shown as not for sale (it is not sold alone)."""
    if detail.parent_id is None:
        if not detail.variants:
            return CardChoice(detail, detail, None)
        cheapest = price_range(detail.variants)
        shown = dataclasses.replace(detail, price=cheapest[0]) if cheapest else detail
        return CardChoice(shown, detail, None)
    parent = await product_detail(session, detail.parent_id)
    if parent is None:  # deleted since: its variants went with it
        return CardChoice(dataclasses.replace(detail, active=False), detail, None)
    chosen = next((variant for variant in parent.variants if variant.id == detail.id), None)
    shown = dataclasses.replace(
        detail,
        active=detail.active and parent.active,
        description=parent.description,
        category_id=parent.category_id,
        images=detail.images
        + tuple(image for image in parent.images if image not in detail.images),
        variants=parent.variants,
    )
    return CardChoice(shown, parent, chosen)


def card_notes(choice: CardChoice) -> list[Line]:
    """The lines a card with variants has under its availability: how to choose, the
    prices of the variants when they differ, and what the marks on the buttons mean."""
    if not choice.has_variants:
        return []
    variants = choice.product.variants
    notes: list[Line] = []
    prices = price_range(variants)
    if choice.chosen is None:
        if prices and prices[0] != prices[1]:
            notes.append(
                _("Price by option: {low} to {high}").format(
                    low=format_price(prices[0]), high=format_price(prices[1])
                )
            )
        notes.append(_("👇 Choose an option below."))
    first, second = option_values(_offered(variants))
    missing = _in_grid(first, second) and len(_offered(variants)) < len(first) * len(second)
    if any(not variant.available for variant in _offered(variants)) or missing:
        notes.append(_("⛔ sold out · ✖ not made"))
    return notes


def _in_grid(first: list[str], second: list[str]) -> bool:
    """Are the variants shown as a grid of option1 × option2 (both options, few columns)?"""
    return bool(first) and bool(second) and len(second) <= GRID_WIDTH


def _offered(variants: tuple[VariantInfo, ...]) -> list[VariantInfo]:
    """The variants a card offers: those for sale or sold out; hidden ones are not sold."""
    return [variant for variant in variants if variant.active]


def variant_rows(choice: CardChoice, category_id: int, page: int) -> Rows:
    """The variants' buttons: a grid of option1 (rows) × option2 (columns) when the product
    has both and it fits, else a plain list; the chosen one ticked."""
    offered = _offered(choice.product.variants)
    if not offered:
        return []
    prices = price_range(offered)
    priced = prices is not None and prices[0] != prices[1]

    def button(variant: VariantInfo, text: str) -> InlineKeyboardButton:
        if variant.id == (choice.chosen.id if choice.chosen else None):
            mark = "✅ "
        elif not variant.available:
            mark = "⛔ "
        else:
            mark = ""
        label = f"{mark}{text}"
        if priced:
            label += f" · {format_price(variant.price)}"
        data = CatalogCb(
            action=CatalogAction.PRODUCT,
            category_id=category_id,
            page=page,
            product_id=variant.id,
        ).pack()
        return InlineKeyboardButton(text=label, callback_data=data)

    first, second = option_values(offered)
    if _in_grid(first, second):
        by_options = {(variant.option1, variant.option2): variant for variant in offered}
        rows: Rows = []
        for row_number, value in enumerate(first):
            row = []
            for column, other in enumerate(second):
                variant = by_options.get((value, other))
                text = f"{value} · {other}"
                if variant is None:
                    row.append(
                        InlineKeyboardButton(
                            text=f"✖ {text}",
                            # Each cell its own data: Telegram wants buttons told apart.
                            callback_data=NotMadeCb(
                                option=row_number * len(second) + column
                            ).pack(),
                        )
                    )
                else:
                    row.append(button(variant, text))
            rows.append(row)
        return rows
    buttons = [button(variant, variant.label) for variant in offered]
    return [buttons[start : start + LIST_WIDTH] for start in range(0, len(buttons), LIST_WIDTH)]


def admin_variant_lines(
    product: ProductLike, variants: Sequence[VariantInfo], parent: ProductLike | None
) -> list[Line]:
    """What ``/product`` adds for variants: a variant names its product, a product with
    variants lists them (SKU, options, price, stock, hidden)."""
    if parent is not None:
        options = option_label(product.option1, product.option2)
        return [
            fill(
                _("Variant of <code>{sku}</code>: {options}"),
                sku=Typed(parent.sku),
                options=Typed(options),
            )
        ]
    if not variants:
        return []
    for_sale = sum(variant.stock for variant in variants if variant.active)
    lines: list[Line] = [
        "",
        _("<b>Variants</b>: {count}, {stock} pcs for sale").format(
            count=len(variants), stock=for_sale
        ),
    ]
    for variant in variants:
        hidden = _(" · hidden") if not variant.active else ""
        lines.append(
            fill(
                _("<code>{sku}</code> · {options} · {price} · {stock} pcs{hidden}"),
                sku=Typed(variant.sku),
                options=Typed(variant.label),
                price=format_price(variant.price),
                stock=variant.stock,
                hidden=hidden,
            )
        )
    return lines


def admin_variant_rows(
    variants: Sequence[VariantInfo], parent_id: int | None, parent_sku: str | None
) -> Rows:
    """Under ``/product``: each variant's own card (its stock buttons), or the product's."""
    if parent_id is not None and parent_sku is not None:
        data = AdminProductCb(action=ProductAction.SHOW, product_id=parent_id).pack()
        return [[InlineKeyboardButton(text=f"⬆ {parent_sku}", callback_data=data)]]
    buttons = [
        InlineKeyboardButton(
            text=f"{variant.label} · {variant.stock}",
            callback_data=AdminProductCb(action=ProductAction.SHOW, product_id=variant.id).pack(),
        )
        for variant in variants
    ]
    return [buttons[start : start + LIST_WIDTH] for start in range(0, len(buttons), LIST_WIDTH)]


def has_variants_text(sku: str) -> str:
    """``/stock`` of a product with variants: theirs is set, by their SKUs."""
    return _(
        "{sku} is sold as its variants: set the stock of each by its SKU (see /product {sku})."
    ).format(sku=h(sku))


def has_variants_answer() -> str:
    return _("Sold as its variants: open a variant below to change its stock.")
