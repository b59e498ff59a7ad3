"""Message texts: everything the shopper reads, translated, escaped and within limits."""

from __future__ import annotations

import math
import sys
from collections.abc import Sequence

from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext

from shopbot.bot.clock import when
from shopbot.bot.prices import line_html, price_html, sale_line
from shopbot.bot.promo_texts import discount_line
from shopbot.bot.render import (
    ANSWER_LIMIT,
    CAPTION_LIMIT,
    TEXT_LIMIT,
    Line,
    Part,
    Typed,
    compose,
    cut,
    fill,
    h,
    split,
    visible_length,
)
from shopbot.models import DeliveryMethod, Order, OrderStatus, Product, utcnow
from shopbot.money import format_price
from shopbot.services.cart import Adjustment, Cart, CartItem, LineIssue, ReturnedLine
from shopbot.services.catalogue import Page, ProductDetail, ProductSummary
from shopbot.services.delivery import DeliveryOption
from shopbot.services.favourites import Availability, FavouriteItem

# A product name in a cart or checkout line: a full cart (MAX_CART_LINES) stays one message.
LINE_NAME_LIMIT = 80
# The most the "your cart changed" notice takes; the cart or summary under it gets the rest.
ADJUSTMENTS_LIMIT = TEXT_LIMIT // 2
# "More" sends at most this many messages (~40,000 characters); a longer description's
# last one is cut.
DESCRIPTION_MESSAGES = 10
NAME_LIMIT = 256  # as long as a name can be (the schema's)
FAVOURITES_PAGE = 10  # favourites a page of the list shows


def status_label(status: OrderStatus) -> str:
    labels = {
        OrderStatus.AWAITING_PAYMENT: _("awaiting payment"),
        OrderStatus.AWAITING_CONFIRMATION: _("awaiting confirmation"),
        OrderStatus.PAID: _("paid"),
        OrderStatus.CONFIRMED: _("confirmed"),
        OrderStatus.SHIPPED: _("shipped"),
        OrderStatus.DELIVERED: _("delivered"),
        OrderStatus.CANCELLED: _("cancelled"),
        OrderStatus.EXPIRED: _("expired"),
        OrderStatus.REFUNDED: _("refunded"),
    }
    return labels[status]


def pieces(n: int) -> str:
    return ngettext("{n} item", "{n} items", n).format(n=n)


def availability(stock: int) -> str:
    if stock <= 0:
        return _("⛔ Out of stock")
    return _("✅ In stock: {n}").format(n=stock)


def no_more_in_stock(in_cart: int) -> str:
    """A tap on "+" when the cart already holds all the stock there is."""
    return _("No more in stock: your cart already holds {n} pcs, all there is.").format(n=in_cart)


def _card_lines(product: Product | ProductDetail, notes: Sequence[Line] = ()) -> list[Line]:
    sale = (product.price, product.sale_price, product.sale_until)
    price = _("Price: <b>{price}</b>").format(price=price_html(*sale))
    lines: list[Line] = [["<b>", Typed(product.name), "</b>"], price]
    if on_sale := sale_line(*sale):
        lines.append(on_sale)
    lines.append(availability(product.stock))
    lines += notes
    if product.description:  # no trailing blank line without one: Telegram trims it
        lines += ["", Typed(product.description)]
    return lines


def product_card(
    product: Product | ProductDetail, *, photo: bool, notes: Sequence[Line] = ()
) -> str:
    """Name, price, availability, ``notes`` (a choice of variants), then as much of the
    description as the limit allows."""
    return compose(CAPTION_LIMIT if photo else TEXT_LIMIT, _card_lines(product, notes))


def card_is_cut(
    product: Product | ProductDetail, *, photo: bool, notes: Sequence[Line] = ()
) -> bool:
    """Does :func:`product_card` leave part of the description out? (Then "More" shows it.)"""
    whole = compose(sys.maxsize, _card_lines(product, notes))
    return visible_length(whole) > (CAPTION_LIMIT if photo else TEXT_LIMIT)


def description_messages(product: Product | ProductDetail) -> list[str]:
    """The whole description for "More": the name on top, then the text in as many
    messages as it takes (up to :data:`DESCRIPTION_MESSAGES`), split at paragraphs, lines,
    sentences or words (:func:`split`)."""
    head = compose(TEXT_LIMIT, [["<b>", Typed(product.name, NAME_LIMIT), "</b>"], ""]) + "\n"
    room = TEXT_LIMIT - visible_length(head)
    pieces = split(product.description, room) or [""]
    if len(pieces) > DESCRIPTION_MESSAGES:
        last = pieces[DESCRIPTION_MESSAGES - 1]
        pieces[DESCRIPTION_MESSAGES - 1] = cut(f"{last} {pieces[DESCRIPTION_MESSAGES]}", len(last))
        del pieces[DESCRIPTION_MESSAGES:]
    return [head + h(pieces[0]), *(h(piece) for piece in pieces[1:])]


def category_title(name: str | None, total: int) -> str:
    if name is None:
        return _("🛍 <b>Catalogue</b>\nChoose a category:")
    if total == 0:
        return compose(TEXT_LIMIT, [fill(_("📁 <b>{name}</b>"), name=Typed(name))])
    title = fill(_("📁 <b>{name}</b> — {count}"), name=Typed(name), count=pieces(total))
    return compose(TEXT_LIMIT, [title])


def product_list(title: str, products: Sequence[ProductSummary]) -> str:
    """A list screen: ``title`` (markup), then each product numbered, its name in full and
    its price: the buttons under it start with the same numbers, and a phone cuts a long
    button label but wraps the text."""
    lines: list[Line] = [title]
    if products:
        lines.append("")
    for number, product in enumerate(products, 1):
        note = "" if product.stock > 0 else _(" — out of stock")
        price = price_html(product.price, product.sale_price, product.sale_until)
        lines.append([f"{number}. ", Typed(product.name, LINE_NAME_LIMIT), f" — {price}{note}"])
    return compose(TEXT_LIMIT, lines)


def _under_adjustments(cart: Cart) -> int:
    """The limit for a cart screen that its caller puts under ``adjustments_text`` (and a
    blank line) when the cart changed: the two together are one message."""
    if not cart.adjustments:
        return TEXT_LIMIT
    return TEXT_LIMIT - visible_length(adjustments_text(cart.adjustments)) - 2


def _line_cost(item: CartItem) -> str:
    return line_html(item.unit_price, item.regular_price, item.quantity)


def cart_text(cart: Cart) -> str:
    """The cart; room is left for ``adjustments_text(cart.adjustments)`` above it."""
    if cart.is_empty:
        return _("🛒 Your cart is empty.\nOpen the catalogue to add something.")
    lines: list[Line] = [_("🛒 <b>Your cart</b>"), ""]
    for number, item in enumerate(cart.items, 1):
        note = {
            LineIssue.UNAVAILABLE: _(" — no longer sold"),
            LineIssue.OUT_OF_STOCK: _(" — out of stock"),
            LineIssue.REDUCED: _(" — only {n} left").format(n=item.stock),
            None: "",
        }[item.issue]
        lines.append(
            [
                f"{number}. ",
                Typed(item.name, LINE_NAME_LIMIT),
                f" × {item.quantity} = {_line_cost(item)}{note}",
            ]
        )
    lines += ["", _("Total: <b>{total}</b>").format(total=format_price(cart.total))]
    return compose(_under_adjustments(cart), lines)


def clear_question(cart: Cart) -> str:
    return _("🧹 Empty the cart? It holds {count} for {total}.").format(
        count=pieces(cart.count), total=format_price(cart.total)
    )


def adjustments_text(adjustments: list[Adjustment]) -> str:
    lines: list[Line] = [_("⚠ Your cart changed since you filled it:")]
    for change in adjustments:
        name = Typed(change.name)
        if change.issue is LineIssue.REDUCED:
            template = _("• {name}: only {n} left, quantity lowered")
            lines.append(fill(template, name=name, n=change.new_quantity))
        elif change.issue is LineIssue.OUT_OF_STOCK:
            lines.append(fill(_("• {name}: sold out, removed"), name=name))
        else:
            lines.append(fill(_("• {name}: no longer sold, removed"), name=name))
    return compose(ADJUSTMENTS_LIMIT, lines)


def delivery_label(method: DeliveryMethod) -> str:
    return _("pickup") if method is DeliveryMethod.PICKUP else _("courier")


def _icon(option: DeliveryOption) -> str:
    return "🏬" if option.kind is DeliveryMethod.PICKUP else "🚚"


def _cost(option: DeliveryOption, subtotal: int) -> str:
    """What the option costs this cart: "350 ₽", "free", "free (orders from 3 000 ₽)"."""
    price = option.price_for(subtotal)
    if price:
        return format_price(price)
    if option.free_from is not None and option.price:
        return _("free (orders from {amount})").format(amount=format_price(option.free_from))
    return _("free")


def priced(options: list[DeliveryOption]) -> bool:
    """Does any option cost something? Only then are prices shown (free ones as free)."""
    return any(option.price for option in options)


def delivery_button(option: DeliveryOption, subtotal: int, *, with_price: bool) -> str:
    if option.name:
        label = f"{_icon(option)} {option.name}"
    else:
        label = _("🏬 Pickup") if option.kind is DeliveryMethod.PICKUP else _("🚚 Courier")
    if not with_price:
        return label
    price = option.price_for(subtotal)
    return f"{label} — {format_price(price) if price else _('free')}"


def delivery_question(options: list[DeliveryOption], subtotal: int) -> str:
    """The delivery step: the question, then each option in full (its name, price, a free
    threshold, a pickup point's address and hours) when there is more to say than a
    button holds."""
    lines: list[Line] = [_("How would you like to get your order?")]
    plain = all(
        not (option.name or option.address or option.hours or option.price) for option in options
    )
    if plain:
        return compose(TEXT_LIMIT, lines)
    with_price = priced(options)
    lines.append("")
    for option in options:
        if option.name:
            name: Part = Typed(option.name)
        elif option.kind is DeliveryMethod.PICKUP:
            name = _("Pickup")
        else:
            name = _("Courier delivery")
        line: list[Part] = [_icon(option), " <b>", name, "</b>"]
        if with_price:
            line.append(f" — {_cost(option, subtotal)}")
            price = option.price_for(subtotal)
            if price and option.free_from is not None:
                free_from = _("free from {amount}").format(amount=format_price(option.free_from))
                line.append(f", {free_from}")
        lines.append(line)
        if details := " · ".join(part for part in (option.address, option.hours) if part):
            lines.append(Typed(details))
    return compose(TEXT_LIMIT, lines)


def delivery_lines(
    method: DeliveryMethod,
    name: str | None,
    cost: str | None,
    *,
    pickup_point: str | None,
    address: str | None,
    address_limit: int | None = None,
) -> list[Line]:
    """The delivery line ("Delivery: courier — 350 ₽"), then a pickup point or the
    shopper's address. ``name`` is the option's (None: the method's word); ``cost`` is
    left out when None."""
    shown: Part = Typed(name) if name else delivery_label(method)
    delivery: list[Part] = fill(_("Delivery: {method}"), method=shown)
    if cost is not None:
        delivery.append(f" — {cost}")
    lines: list[Line] = [delivery]
    if pickup_point:
        lines.append(fill(_("Pickup point: {point}"), point=Typed(pickup_point)))
    if address:
        lines.append(fill(_("Address: {address}"), address=Typed(address, address_limit)))
    return lines


def delivery_choice(option: DeliveryOption, subtotal: int, *, with_price: bool) -> str:
    """What the options message becomes once one is chosen."""
    if not (option.name or option.pickup_point or with_price):
        if option.kind is DeliveryMethod.PICKUP:
            return _("Delivery: pickup.")
        return _("Delivery: courier.")
    cost = _cost(option, subtotal) if with_price else None
    lines = delivery_lines(
        option.kind, option.name or None, cost, pickup_point=option.pickup_point, address=None
    )
    return compose(TEXT_LIMIT, lines)


def total_line(total: int, delivery_price: int) -> str:
    """The total, with goods and delivery apart when delivery costs something."""
    if not delivery_price:
        return _("Total: <b>{total}</b>").format(total=format_price(total))
    return _("Total: <b>{total}</b> (goods {goods} + delivery {delivery})").format(
        total=format_price(total),
        goods=format_price(total - delivery_price),
        delivery=format_price(delivery_price),
    )


def checkout_summary(
    cart: Cart,
    data: dict,
    option: DeliveryOption,
    *,
    with_price: bool,
    promo: tuple[str, int] | None = None,
) -> str:
    """What Confirm will order: lines, contact, delivery and the total, which always stays
    (only what the shopper typed is cut); room is left for the cart's adjustments above.

    ``option`` is the delivery chosen; its cost is shown when ``with_price`` (the shop
    charges for some delivery). ``promo``: the promo code applied and its discount."""
    lines: list[Line] = [_("<b>Please check your order</b>"), ""]
    for item in cart.items:
        lines.append(
            [
                "• ",
                Typed(item.name, LINE_NAME_LIMIT),
                f" × {item.quantity} = {_line_cost(item)}",
            ]
        )
    discount = 0
    if promo is not None:
        code, discount = promo
        lines.append(discount_line(code, discount))
    lines += [
        "",
        fill(_("Name: {name}"), name=Typed(data["name"])),
        fill(_("Phone: {phone}"), phone=Typed(data["phone"])),
    ]
    lines += delivery_lines(
        option.kind,
        option.name or None,
        _cost(option, cart.total) if with_price else None,
        pickup_point=option.pickup_point,
        address=data.get("address"),
    )
    if data.get("comment"):
        lines.append(fill(_("Comment: {comment}"), comment=Typed(data["comment"])))
    delivery_price = option.price_for(cart.total)
    lines += ["", total_line(cart.total - discount + delivery_price, delivery_price)]
    return compose(_under_adjustments(cart), lines)


def order_delivery_lines(order: Order, *, address_limit: int | None = None) -> list[Line]:
    """The delivery of a placed order, as it was chosen (its cost when it had one)."""
    return delivery_lines(
        order.delivery_method,
        order.delivery_option,
        format_price(order.delivery_price) if order.delivery_price else None,
        pickup_point=order.pickup_point,
        address=order.delivery_address,
        address_limit=address_limit,
    )


def order_card(order: Order) -> str:
    lines: list[Line] = [
        _("📦 <b>Order №{number}</b>").format(number=order.number),
        _("Status: {status}").format(status=status_label(order.status)),
        _("Placed: {date}").format(date=when(order.created_at)),
        "",
    ]
    for line in order.lines:
        lines.append(
            ["• ", Typed(line.name), f" × {line.quantity} = {format_price(line.line_total)}"]
        )
    if order.discount and order.promo_code:
        lines.append(discount_line(order.promo_code, order.discount))
    lines += ["", total_line(order.total, order.delivery_price)]
    lines += order_delivery_lines(order)
    return compose(TEXT_LIMIT, lines)


def order_placed(order: Order) -> str:
    if order.status is OrderStatus.AWAITING_CONFIRMATION:
        follow_up = _("The shop will contact you to confirm it. Payment on receipt.")
    else:
        follow_up = _("Please pay for it to complete the purchase.")
    return _("🎉 Order №{number} for {total} is placed.\n{follow_up}").format(
        number=order.number, total=format_price(order.total), follow_up=follow_up
    )


def order_headline(order: Order) -> str:
    """The payment message once the order has moved on: which order, and where it stands."""
    return _("🧾 Order №{number} for {total}: {status}.").format(
        number=order.number, total=format_price(order.total), status=status_label(order.status)
    )


def payment_failed_text(order: Order) -> str:
    """The payment was cancelled or failed, but the order still holds its items."""
    text = _("⚠ The payment for order №{number} ({total}) did not go through.").format(
        number=order.number, total=format_price(order.total)
    )
    if order.expires_at is None:
        return text + "\n" + _("You can pay again.")
    minutes = max(1, math.ceil((order.expires_at - utcnow()).total_seconds() / 60))
    return (
        text
        + "\n"
        + _("The items are kept for you for {minutes} min more: you can pay again.").format(
            minutes=minutes
        )
    )


def returned_text(order: Order, returned: list[ReturnedLine]) -> str:
    """What putting an order's items back in the cart did, line by line where it differs."""
    if not any(line.in_cart for line in returned):
        head = _("None of the items of order №{number} can be bought now.")
    else:
        head = _("🛒 The items of order №{number} are in the cart, at today's prices.")
    lines: list[Line] = [head.format(number=order.number)]
    for line in returned:
        name = Typed(line.name, LINE_NAME_LIMIT)
        if line.price is None:
            lines.append(fill(_("• {name}: no longer sold"), name=name))
        elif line.cart_full:
            lines.append(fill(_("• {name}: did not fit, the cart is full"), name=name))
        else:
            if line.fewer:
                template = _("• {name}: only {n} of {ordered} available")
                lines.append(fill(template, name=name, n=line.in_cart, ordered=line.ordered))
            if line.price_changed:
                template = _("• {name}: the price changed, {old} → {new}")
                old, new = format_price(line.old_price), format_price(line.price)
                lines.append(fill(template, name=name, old=old, new=new))
    return compose(ADJUSTMENTS_LIMIT, lines)


def ran_out(name: str) -> str:
    """The callback answer when a product sold out between the summary and Confirm."""
    template = _("Sorry, {name} just ran out.")
    return compose(ANSWER_LIMIT, [fill(template, name=Typed(name))], html=False)


def availability_note(availability: Availability) -> str:
    """A list's short word on whether a product can be bought now."""
    return {
        Availability.IN_STOCK: _("in stock"),
        Availability.SOLD_OUT: _("out of stock"),
        Availability.NOT_SOLD: _("not for sale"),
    }[availability]


def favourites_text(page: Page[FavouriteItem]) -> str:
    """The shopper's favourites: each with its price and whether it can be bought now."""
    if page.total == 0:
        return _(
            "♡ <b>Favourites</b>\nNothing here yet. Press “♡ Add to favourites” on a product "
            "to keep it here."
        )
    lines: list[Line] = [fill(_("♥ <b>Favourites</b> — {count}"), count=pieces(page.total)), ""]
    first = page.page * FAVOURITES_PAGE
    for number, item in enumerate(page.items, first + 1):
        lines.append(
            [
                f"{number}. ",
                Typed(item.name, LINE_NAME_LIMIT),
                f" — {format_price(item.price)} · {availability_note(item.availability)}",
            ]
        )
    return compose(TEXT_LIMIT, lines)


def inline_description(price: int, stock: int) -> str:
    """The grey line under a product in the inline results (plain text; the results are
    products for sale)."""
    availability = Availability.IN_STOCK if stock > 0 else Availability.SOLD_OUT
    return f"{format_price(price)} · {availability_note(availability)}"


def shared_card(name: str, price: int, stock: int) -> str:
    """A product sent into another chat from inline mode: name, price, availability (the
    button under it opens the whole card in the bot)."""
    price_line = _("Price: <b>{price}</b>").format(price=format_price(price))
    return compose(CAPTION_LIMIT, [["<b>", Typed(name), "</b>"], price_line, availability(stock)])


# Consent to advertising (shopbot.services.marketing).


def consent_question() -> str:
    return _(
        "📬 Shall we send you news and discounts?\n"
        "Only when there is something worth telling. You can unsubscribe at any time: "
        "/unsubscribe"
    )


def subscribed_text(*, already: bool) -> str:
    if already:
        return _("You are already subscribed to news and discounts. To unsubscribe: /unsubscribe")
    return _("✅ Done: we will send you news and discounts. To unsubscribe: /unsubscribe")


def unsubscribed_text(*, already: bool) -> str:
    if already:
        return _("You are not subscribed to news and discounts. To subscribe: /subscribe")
    return _(
        "🔕 Done: no news or discounts from now on. Messages about your orders will come as "
        "usual. If you change your mind: /subscribe"
    )
