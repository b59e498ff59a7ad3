"""/stock, /price, /hide, /show and /product: the owner's hand on the catalogue."""

from __future__ import annotations

import re

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from shopbot.bot.render import TEXT_LIMIT, clip, h
from shopbot.bot.routers.admin.callbacks import (
    AdminPriceCb,
    AdminProductCb,
    AdminStockCb,
    PriceAnswer,
    ProductAction,
)
from shopbot.bot.routers.admin.keyboards import (
    confirm_price_keyboard,
    low_stock_keyboard,
    product_admin_keyboard,
)
from shopbot.bot.routers.admin.texts import (
    low_stock_title,
    people_of,
    product_admin_card,
    provider_label,
    stock_changed,
    unusual_price_question,
)
from shopbot.bot.ui import show
from shopbot.bot.variants import (
    admin_variant_lines,
    admin_variant_rows,
    has_variants_answer,
    has_variants_text,
)
from shopbot.config import Settings
from shopbot.errors import PriceChanged, ProductNotFound, StockWouldGoNegative
from shopbot.importer.reader import MAX_STOCK
from shopbot.money import MAX_PRICE, MoneyError, format_price, parse_price
from shopbot.payments.base import PaymentProvider
from shopbot.search import shop_synonyms
from shopbot.services import admin, catalogue, orders, stock, variants

PAGE_SIZE = 10
_SET = re.compile(r"\d{1,10}")
_ADJUST = re.compile(r"[+-]\d{1,10}")


def actor(user_id: int) -> str:
    return f"admin:{user_id}"


def _stock_usage() -> str:
    return _(
        "Usage: /stock SKU N sets the stock, /stock SKU +N or /stock SKU -N changes it, "
        "/stock alone lists what runs low."
    )


def _not_found(sku: str) -> str:
    return _("No product with SKU {sku}.").format(sku=h(sku))


async def _held(session: AsyncSession, product_id: int) -> int:
    return (await orders.held_units(session, [product_id])).get(product_id, 0)


async def _render_low_stock(
    target: Message | CallbackQuery, session: AsyncSession, settings: Settings, page: int
) -> None:
    threshold = settings.low_stock_threshold
    found = await admin.low_stock(session, threshold, page, PAGE_SIZE)
    await show(target, low_stock_title(threshold, found.total), low_stock_keyboard(found))


async def stock_command(
    message: Message, command: CommandObject, session: AsyncSession, settings: Settings
) -> None:
    args = (command.args or "").split()
    if not args:
        await _render_low_stock(message, session, settings, 0)
        return
    if len(args) != 2 or not (_SET.fullmatch(args[1]) or _ADJUST.fullmatch(args[1])):
        await message.answer(_stock_usage())
        return
    sku, value = args
    amount = int(value)
    if abs(amount) > MAX_STOCK:
        await message.answer(_stock_usage())
        return
    who = actor(message.chat.id)
    threshold = settings.low_stock_threshold
    try:
        if value[0] in "+-":
            change = await stock.adjust_stock(
                session, sku, amount, actor=who, low_stock_threshold=threshold
            )
        else:
            change = await stock.set_stock(
                session, sku, amount, actor=who, low_stock_threshold=threshold
            )
    except ProductNotFound:
        await message.answer(_not_found(sku))
        return
    except variants.HasVariants as exc:
        await message.answer(has_variants_text(exc.sku))
        return
    except StockWouldGoNegative as exc:
        await message.answer(
            _("Refused: {sku} has {stock} for sale, so {delta} would go below zero.").format(
                sku=h(sku), stock=exc.stock, delta=exc.delta
            )
        )
        return
    held = await _held(session, change.product_id)
    await message.answer(stock_changed(change.name, change.sku, change.old, change.new, held))


async def low_stock_page(
    query: CallbackQuery, callback_data: AdminStockCb, session: AsyncSession, settings: Settings
) -> None:
    await _render_low_stock(query, session, settings, callback_data.page)
    await query.answer()


# A new price this many times the old one (or this fraction of it) is asked about first.
UNUSUAL_RATIO = 10


def _price_refusal(price: int, provider: PaymentProvider) -> str | None:
    """Why ``price`` cannot be a product's price, or None: above the catalogue's maximum,
    or above what the payment provider takes in one payment (no one could pay for it)."""
    if provider.max_amount is not None and price > provider.max_amount:
        return _(
            "Refused: {provider} accepts at most {limit} in one payment, so no one could pay "
            "{price} for this product."
        ).format(
            provider=provider_label(provider.name),
            limit=format_price(provider.max_amount),
            price=format_price(price),
        )
    if price > MAX_PRICE:
        return _("Refused: a price can be at most {limit}.").format(limit=format_price(MAX_PRICE))
    return None


def _unusual(old: int, new: int) -> bool:
    """Zero, or ten times off: a typo as often as not, so the owner confirms it."""
    if new == old:
        return False
    return new == 0 or (old > 0 and (new >= old * UNUSUAL_RATIO or new * UNUSUAL_RATIO <= old))


def _price_changed(change: admin.PriceChange) -> str:
    return _("{name} ({sku}): price {old} → <b>{new}</b>").format(
        name=h(change.name),
        sku=h(change.sku),
        old=format_price(change.old),
        new=format_price(change.new),
    )


async def price_command(
    message: Message,
    command: CommandObject,
    session: AsyncSession,
    payment_provider: PaymentProvider,
) -> None:
    sku, _sep, raw = (command.args or "").strip().partition(" ")
    try:
        price = parse_price(raw) if raw.strip() else None
    except MoneyError:
        price = None
    if not sku or price is None:
        await message.answer(_("Usage: /price SKU price, e.g. /price TS-01 1299 or 1 299,00."))
        return
    if refusal := _price_refusal(price, payment_provider):
        await message.answer(refusal)
        return
    product = await catalogue.get_product_by_sku(session, sku)
    if product is None:
        await message.answer(_not_found(sku))
        return
    if _unusual(product.price, price):
        await message.answer(
            unusual_price_question(product, price),
            reply_markup=confirm_price_keyboard(product.id, price, product.price),
        )
        return
    try:
        change = await admin.set_price(session, product.sku, price, actor=actor(message.chat.id))
    except ProductNotFound:
        await message.answer(_not_found(sku))
        return
    await message.answer(_price_changed(change))


async def price_confirmed(
    query: CallbackQuery,
    callback_data: AdminPriceCb,
    session: AsyncSession,
    payment_provider: PaymentProvider,
) -> None:
    if callback_data.answer is not PriceAnswer.YES:
        await show(query, _("The price is unchanged."))
        await query.answer()
        return
    if refusal := _price_refusal(callback_data.price, payment_provider):
        await query.answer(refusal[:200], show_alert=True)
        return
    product = await catalogue.get_product(session, callback_data.product_id)
    if product is None:
        await query.answer(_("This product no longer exists."), show_alert=True)
        return
    try:
        change = await admin.set_price(
            session,
            product.sku,
            callback_data.price,
            actor=actor(query.from_user.id),
            expect=callback_data.old,
        )
    except ProductNotFound:
        await query.answer(_("This product no longer exists."), show_alert=True)
        return
    except PriceChanged as exc:
        await show(
            query,
            _("Not done: the price of {sku} has changed to {price} meanwhile.").format(
                sku=h(product.sku), price=format_price(exc.price)
            ),
        )
        await query.answer()
        return
    await show(query, _price_changed(change))
    await query.answer()


async def _set_visibility(
    message: Message, command: CommandObject, session: AsyncSession, active: bool
) -> None:
    args = (command.args or "").split()
    if len(args) != 1:
        await message.answer(_("Usage: /hide SKU or /show SKU."))
        return
    sku = args[0]
    try:
        change = await admin.set_active(session, sku, active, actor=actor(message.chat.id))
    except ProductNotFound:
        await message.answer(_not_found(sku))
        return
    if active:
        text = _("{name} ({sku}) is visible to shoppers.")
    else:
        text = _("{name} ({sku}) is hidden from shoppers.")
    text = text.format(name=h(change.name), sku=h(change.sku))
    if not change.changed:
        text += " " + _("(It already was.)")
    await message.answer(text)


async def keywords_command(message: Message, command: CommandObject, session: AsyncSession) -> None:
    """/keywords SKU words: what else search finds the product by; /keywords SKU clears."""
    sku, _space, words = (command.args or "").strip().partition(" ")
    if not sku:
        await message.answer(
            _(
                "Usage: /keywords SKU words… — more words search finds the product by; "
                "/keywords SKU alone clears them."
            )
        )
        return
    try:
        change = await admin.set_keywords(session, sku, words, actor=actor(message.chat.id))
    except ProductNotFound:
        await message.answer(_not_found(sku))
        return
    except ValueError:
        await message.answer(
            _("That is too long: at most {limit} characters of keywords.").format(
                limit=admin.MAX_KEYWORDS
            )
        )
        return
    if change.keywords:
        text = _("Search now also finds {name} ({sku}) by: {keywords}").format(
            name=h(change.name), sku=h(change.sku), keywords=h(change.keywords)
        )
    else:
        text = _("{name} ({sku}) has no keywords.").format(name=h(change.name), sku=h(change.sku))
    if not change.changed:
        text += " " + _("(It already was so.)")
    await message.answer(text)


async def synonyms_command(message: Message, command: CommandObject, session: AsyncSession) -> None:
    """/synonyms lists them; /synonyms A = B adds a pair; /synonyms -A forgets A's."""
    args = (command.args or "").strip()
    usage = _(
        "/synonyms hoodie = sweatshirt — search finds either by the other; "
        "/synonyms -hoodie — forget them; /synonyms — the list."
    )
    try:
        if not args:
            pairs = await shop_synonyms.list_synonyms(session)
            if not pairs:
                await message.answer(_("No synonyms of the shop's yet.") + "\n" + usage)
                return
            lines = [f"• {h(pair.first)} = {h(pair.second)}" for pair in pairs]
            await message.answer(
                clip(
                    "\n".join([_("Words search takes as the same:"), *lines, "", usage]), TEXT_LIMIT
                )
            )
            return
        if args.startswith("-"):
            removed = await shop_synonyms.remove_synonyms(session, args[1:])
            text = _("Forgotten.") if removed else _("There were no synonyms of that word.")
            await message.answer(text)
            return
        first, equals, second = args.partition("=")
        if not equals:
            await message.answer(usage)
            return
        added = await shop_synonyms.add_synonym(
            session, first, second, actor=actor(message.chat.id)
        )
    except shop_synonyms.BadSynonym:
        await message.answer(
            _(
                "A synonym is two different words of up to {limit} characters (the shop keeps "
                "up to {most} pairs)."
            ).format(limit=shop_synonyms.MAX_WORD, most=shop_synonyms.MAX_SYNONYMS)
        )
        return
    text = _("Search now takes “{first}” and “{second}” as the same.").format(
        first=h(" ".join(first.split())), second=h(" ".join(second.split()))
    )
    if not added:
        text += " " + _("(It already was so.)")
    await message.answer(text)


async def hide_command(message: Message, command: CommandObject, session: AsyncSession) -> None:
    await _set_visibility(message, command, session, False)


async def show_command(message: Message, command: CommandObject, session: AsyncSession) -> None:
    await _set_visibility(message, command, session, True)


async def _render_product(
    target: Message | CallbackQuery, session: AsyncSession, product_id: int
) -> bool:
    session.expire_all()  # the changes just made were bulk updates: reload what is shown
    product = await catalogue.get_product(session, product_id)
    if product is None:
        return False
    held = await _held(session, product.id)
    history = await admin.product_history(session, product.id)
    people = await people_of(session, [entry.actor for entry in history])
    parent = None
    if product.parent_id is not None:
        parent = await catalogue.get_product(session, product.parent_id)
    of_product = await variants.load_variants(session, product.id)
    lines = admin_variant_lines(product, of_product, parent)
    card = product_admin_card(product, held, history, people, lines)
    markup = product_admin_keyboard(product)
    markup.inline_keyboard += admin_variant_rows(
        of_product, product.parent_id, parent.sku if parent else None
    )
    await show(target, card, markup)
    return True


async def product_command(message: Message, command: CommandObject, session: AsyncSession) -> None:
    args = (command.args or "").split()
    if len(args) != 1:
        await message.answer(_("Usage: /product SKU."))
        return
    product = await catalogue.get_product_by_sku(session, args[0])
    if product is None:
        await message.answer(_not_found(args[0]))
        return
    await _render_product(message, session, product.id)


async def product_button(
    query: CallbackQuery, callback_data: AdminProductCb, session: AsyncSession, settings: Settings
) -> None:
    product = await catalogue.get_product(session, callback_data.product_id)
    if product is None:
        await query.answer(_("This product no longer exists."), show_alert=True)
        return
    who = actor(query.from_user.id)
    note = None
    if callback_data.action is ProductAction.ADJUST and callback_data.delta:
        try:
            change = await stock.adjust_stock(
                session,
                product.sku,
                callback_data.delta,
                actor=who,
                low_stock_threshold=settings.low_stock_threshold,
            )
            note = _("Stock {old} → {new}").format(old=change.old, new=change.new)
        except StockWouldGoNegative as exc:
            await query.answer(
                _("Refused: only {stock} for sale.").format(stock=exc.stock), show_alert=True
            )
            return
        except variants.HasVariants:
            await query.answer(has_variants_answer(), show_alert=True)
            return
    elif callback_data.action in (ProductAction.HIDE, ProductAction.UNHIDE):
        active = callback_data.action is ProductAction.UNHIDE
        await admin.set_active(session, product.sku, active, actor=who)
        note = _("Visible to shoppers") if active else _("Hidden from shoppers")
    await _render_product(query, session, product.id)
    await query.answer(note)


def register(router: Router) -> None:
    router.message.register(stock_command, Command("stock"))
    router.message.register(price_command, Command("price"))
    router.callback_query.register(price_confirmed, AdminPriceCb.filter())
    router.message.register(hide_command, Command("hide"))
    router.message.register(show_command, Command("show"))
    router.message.register(keywords_command, Command("keywords"))
    router.message.register(synonyms_command, Command("synonyms"))
    router.message.register(product_command, Command("product"))
    router.callback_query.register(low_stock_page, AdminStockCb.filter())
    router.callback_query.register(product_button, AdminProductCb.filter())
