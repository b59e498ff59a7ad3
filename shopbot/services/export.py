"""CSV exports: the catalogue in the importer's own format (a round trip changes nothing),
and orders for Excel (UTF-8 with BOM, semicolons, decimal commas: what Russian Excel reads).
Text cells are guarded against running as formulas (the importer reads them back as they
were).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from shopbot.importer.base import SHOP_ZONE
from shopbot.importer.columns import HEADER_LANGUAGES, header_name
from shopbot.importer.reader import sale_end_text
from shopbot.models import Category, DeliveryMethod, Order, OrderStatus, Product, StockEvent
from shopbot.services.preferences import HEADER_LANGUAGE, recall
from shopbot.services.text import guard, natural_key
from shopbot.times import shown

# The last two let an import tell what the owner changed from what was sold meanwhile
# (shopbot.importer.apply); the owner leaves them as they are. The header is written in the
# language the owner imports with (shopbot.importer.columns).
CATALOGUE_COLUMNS = (
    "sku",
    "name",
    "price",
    "stock",
    "category",
    "description",
    "active",
    "position",
    "keywords",
    "exported_stock",
    "export_id",
)
# Written (before the export's own two) only when some product has a sale price: a shop
# that runs no sales gets the file it always got, and importing it leaves sales alone.
SALE_COLUMNS = ("sale_price", "sale_until")
# Written only by a shop with variants, so other shops' exports stay as they were.
VARIANT_COLUMNS = ("variant_of", "option1", "option2")
ORDER_COLUMNS = (
    "number",
    "placed",
    "status",
    "name",
    "phone",
    "delivery",
    "delivery_price",
    "address",
    "comment",
    "payment",
    "sku",
    "product",
    "quantity",
    "unit_price",
    "line_total",
    "line_discount",  # its share of a promo code's discount
    "order_total",
)


@dataclass(frozen=True)
class OrderCsvLabels:
    """What the orders CSV calls its columns and codes; the bot passes the owner's language
    (the defaults are the codes themselves)."""

    headers: Sequence[str] = ORDER_COLUMNS
    status: Callable[[OrderStatus], str] = str
    delivery: Callable[[DeliveryMethod], str] = str
    provider: Callable[[str], str] = str


_PHONE = re.compile(r"\+?\d{1,20}")


def excel_text(value: str) -> str:
    """A phone number Excel keeps as text: ``="+79001234567"`` (a bare ``+7…`` becomes a
    number, or a formula). Only a plain number is written so; anything else is
    :func:`guard`-ed like every other text cell, so no cell can run as a formula."""
    return f'="{value}"' if _PHONE.fullmatch(value) else guard(value)


def excel_money(kopecks: int) -> str:
    """``129900`` -> ``1299,00``: a number to Russian Excel, a price to the importer."""
    roubles, cents = divmod(kopecks, 100)
    return f"{roubles},{cents:02d}"


async def catalogue_language(session: AsyncSession, setting: str, fallback: str) -> str:
    """The header language of an export: ``setting`` (EXPORT_LANGUAGE) when it names one,
    else the language of the last import's header, else ``fallback`` (the reader's)."""
    if setting in HEADER_LANGUAGES:
        return setting
    remembered = await recall(session, HEADER_LANGUAGE)
    if remembered in HEADER_LANGUAGES:
        return remembered
    return fallback if fallback in HEADER_LANGUAGES else "en"


async def catalogue_csv(
    session: AsyncSession, language: str = "en", zone: tzinfo = SHOP_ZONE
) -> bytes:
    """Every product, hidden ones included, by SKU in natural order (TS-2 before TS-10),
    with the header (and yes/no words) of ``language``. Pictures are left out on purpose: a
    row without an ``image`` column keeps the product's pictures as they are when imported
    back.

    Each row also carries its stock as exported and the last stock event the export saw,
    read in the same statement (one snapshot) as the stock. Sale prices and their ends
    (on the shop's clock, ``zone``, as the importer reads them back) come when any product
    has one (:data:`SALE_COLUMNS`). A shop with variants gets their columns too: each
    variant's parent SKU and options (its name and price as stored, so importing the
    export back changes nothing).
    """
    last_event = select(func.coalesce(func.max(StockEvent.id), 0)).scalar_subquery()
    rows = (
        await session.execute(
            select(Product, Category.path, last_event).outerjoin(
                Category, Category.id == Product.category_id
            )
        )
    ).all()
    ordered = sorted(rows, key=lambda row: natural_key(row[0].sku))
    sku_of = {product.id: product.sku for product, _path, _mark in rows}
    with_sales = any(product.sale_price is not None for product, _path, _id in ordered)
    with_variants = any(product.parent_id is not None for product, _path, _mark in rows)
    columns = list(CATALOGUE_COLUMNS)
    if with_sales:
        columns[-2:-2] = SALE_COLUMNS
    if with_variants:
        columns += VARIANT_COLUMNS
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow([header_name(column, language) for column in columns])
    yes, no = ("да", "нет") if language == "ru" else ("1", "0")
    for product, path, export_id in ordered:
        sale: tuple[str, ...] = ()
        if with_sales:
            sale = (
                "" if product.sale_price is None else excel_money(product.sale_price),
                "" if product.sale_until is None else sale_end_text(product.sale_until, zone),
            )
        variant: tuple[str, ...] = ()
        if with_variants:
            parent = sku_of.get(product.parent_id, "") if product.parent_id else ""
            variant = (guard(parent), guard(product.option1 or ""), guard(product.option2 or ""))
        writer.writerow(
            (
                guard(product.sku),
                guard(product.name),
                excel_money(product.price),
                product.stock,
                guard(path or ""),
                guard(product.description),
                yes if product.active else no,
                "" if product.position is None else product.position,
                guard(product.keywords),
                *sale,
                product.stock,
                export_id,
                *variant,
            )
        )
    return buffer.getvalue().encode("utf-8-sig")


async def orders_csv(
    session: AsyncSession,
    since: datetime,
    zone: tzinfo,
    labels: OrderCsvLabels = OrderCsvLabels(),
) -> bytes:
    """One row per order line for orders placed since ``since``, newest first, placed at
    the time ``zone`` shows, with the headers, statuses, delivery methods and payment
    providers named by ``labels``. The delivery is the option's name when it had one; a
    pickup order's address is its point's."""
    orders = await session.scalars(
        select(Order).where(Order.created_at >= since).order_by(Order.id.desc())
    )
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow([guard(header) for header in labels.headers])
    for order in orders:
        head = (
            order.number or str(order.id),
            shown(order.created_at, zone),
            guard(labels.status(order.status)),
            guard(order.contact_name),
            excel_text(order.contact_phone),
            guard(order.delivery_option or labels.delivery(order.delivery_method)),
            excel_money(order.delivery_price),
            guard(order.delivery_address or order.pickup_point or ""),
            guard(order.comment or ""),
            guard(labels.provider(order.payment_provider)),
        )
        for line in order.lines:
            writer.writerow(
                (
                    *head,
                    guard(line.sku),
                    guard(line.name),
                    line.quantity,
                    excel_money(line.unit_price),
                    excel_money(line.line_total),
                    excel_money(line.discount),
                    excel_money(order.total),
                )
            )
    return buffer.getvalue().encode("utf-8-sig")
