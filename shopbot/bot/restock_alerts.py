"""The messages telling a shopper that a product they keep is for sale again (the outbox's
``restock.BACK_IN_STOCK``) or on sale (``restock.ON_SALE``): its name and price, a button
opening its card, and, as every piece of advertising, "Unsubscribe"."""

from __future__ import annotations

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _

from shopbot.bot.callbacks import CatalogAction, CatalogCb
from shopbot.bot.clock import when
from shopbot.bot.keyboards import with_unsubscribe
from shopbot.bot.render import TEXT_LIMIT, Typed, compose, fill
from shopbot.money import format_price
from shopbot.services.catalogue import ProductDetail
from shopbot.services.variants import price_range


def back_in_stock_message(product: ProductDetail) -> tuple[str, InlineKeyboardMarkup]:
    prices = price_range([variant for variant in product.variants if variant.available])
    price = prices[0] if prices else product.price
    template = (
        _("♥ Back in stock: <b>{name}</b>, from {price}.")
        if prices and prices[0] != prices[1]
        else _("♥ Back in stock: <b>{name}</b>, {price}.")
    )
    text = compose(
        TEXT_LIMIT,
        [
            fill(template, name=Typed(product.name), price=format_price(price)),
            _("It is in your favourites."),
        ],
    )
    return text, _open_card(product)


def on_sale_message(product: ProductDetail) -> tuple[str, InlineKeyboardMarkup]:
    assert product.sale_price is not None
    lines = [
        fill(
            _("🔥 On sale: <b>{name}</b>, {sale} instead of {price}."),
            name=Typed(product.name),
            sale=format_price(product.sale_price),
            price=format_price(product.price),
        ),
        _("It is in your favourites."),
    ]
    if product.sale_until is not None:
        lines.append(_("The sale lasts until {moment}.").format(moment=when(product.sale_until)))
    return compose(TEXT_LIMIT, lines), _open_card(product)


def _open_card(product: ProductDetail) -> InlineKeyboardMarkup:
    open_card = CatalogCb(
        action=CatalogAction.PRODUCT, category_id=product.category_id or 0, product_id=product.id
    )
    markup = InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text=_("🛍 Open"), callback_data=open_card.pack())]]
    )
    return with_unsubscribe(markup)
