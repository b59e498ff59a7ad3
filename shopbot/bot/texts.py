"""Message texts: everything the shopper reads, translated, escaped and within limits."""

from __future__ import annotations

from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext

from shopbot.bot.render import CAPTION_LIMIT, TEXT_LIMIT, cut, fit, h
from shopbot.models import DeliveryMethod, Order, OrderStatus, Product
from shopbot.money import format_price
from shopbot.services.cart import Adjustment, Cart, LineIssue
from shopbot.services.catalogue import ProductDetail

# A product name in a cart or checkout line: a full cart (MAX_CART_LINES) stays one message.
LINE_NAME_LIMIT = 80


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
    return _("✅ In stock: {count}").format(count=pieces(stock))


def product_card(product: Product | ProductDetail, *, photo: bool) -> str:
    """Name, price, availability, then as much of the description as the limit allows."""
    price = _("Price: <b>{price}</b>").format(price=format_price(product.price))
    head = f"<b>{h(product.name)}</b>\n{price}\n{availability(product.stock)}\n"
    if product.description:
        head += "\n"
    return fit(head, product.description, CAPTION_LIMIT if photo else TEXT_LIMIT)


def category_title(name: str | None, total: int) -> str:
    if name is None:
        return _("🛍 <b>Catalogue</b>\nChoose a category:")
    if total == 0:
        return _("📁 <b>{name}</b>").format(name=h(name))
    return _("📁 <b>{name}</b> — {count}").format(name=h(name), count=pieces(total))


def cart_text(cart: Cart) -> str:
    if cart.is_empty:
        return _("🛒 Your cart is empty.\nOpen the catalogue to add something.")
    lines = [_("🛒 <b>Your cart</b>"), ""]
    for number, item in enumerate(cart.items, 1):
        note = {
            LineIssue.UNAVAILABLE: _(" — no longer sold"),
            LineIssue.OUT_OF_STOCK: _(" — out of stock"),
            LineIssue.REDUCED: _(" — only {n} left").format(n=item.stock),
            None: "",
        }[item.issue]
        name = h(cut(item.name, LINE_NAME_LIMIT))
        lines.append(f"{number}. {name} × {item.quantity} = {format_price(item.line_total)}{note}")
    lines += ["", _("Total: <b>{total}</b>").format(total=format_price(cart.total))]
    return "\n".join(lines)[:TEXT_LIMIT]


def adjustments_text(adjustments: list[Adjustment]) -> str:
    lines = [_("⚠ Your cart changed since you filled it:")]
    for change in adjustments:
        if change.issue is LineIssue.REDUCED:
            lines.append(
                _("• {name}: only {n} left, quantity lowered").format(
                    name=h(change.name), n=change.new_quantity
                )
            )
        elif change.issue is LineIssue.OUT_OF_STOCK:
            lines.append(_("• {name}: sold out, removed").format(name=h(change.name)))
        else:
            lines.append(_("• {name}: no longer sold, removed").format(name=h(change.name)))
    return "\n".join(lines)


def delivery_label(method: DeliveryMethod) -> str:
    return _("pickup") if method is DeliveryMethod.PICKUP else _("courier")


def checkout_summary(cart: Cart, data: dict) -> str:
    lines = [_("<b>Please check your order</b>"), ""]
    for item in cart.items:
        name = h(cut(item.name, LINE_NAME_LIMIT))
        lines.append(f"• {name} × {item.quantity} = {format_price(item.line_total)}")
    lines += [
        "",
        _("Name: {name}").format(name=h(data["name"])),
        _("Phone: {phone}").format(phone=h(data["phone"])),
        _("Delivery: {method}").format(method=delivery_label(DeliveryMethod(data["delivery"]))),
    ]
    if data.get("address"):
        lines.append(_("Address: {address}").format(address=h(data["address"])))
    if data.get("comment"):
        lines.append(_("Comment: {comment}").format(comment=h(data["comment"])))
    lines += ["", _("Total: <b>{total}</b>").format(total=format_price(cart.total))]
    return "\n".join(lines)[:TEXT_LIMIT]


def order_card(order: Order) -> str:
    lines = [
        _("📦 <b>Order №{number}</b>").format(number=order.number),
        _("Status: {status}").format(status=status_label(order.status)),
        _("Placed: {date}").format(date=order.created_at.strftime("%d.%m.%Y %H:%M")),
        "",
    ]
    for line in order.lines:
        lines.append(f"• {h(line.name)} × {line.quantity} = {format_price(line.line_total)}")
    lines += [
        "",
        _("Total: <b>{total}</b>").format(total=format_price(order.total)),
        _("Delivery: {method}").format(method=delivery_label(order.delivery_method)),
    ]
    if order.delivery_address:
        lines.append(_("Address: {address}").format(address=h(order.delivery_address)))
    return "\n".join(lines)[:TEXT_LIMIT]


def order_placed(order: Order) -> str:
    if order.status is OrderStatus.AWAITING_CONFIRMATION:
        follow_up = _("The shop will contact you to confirm it. Payment on receipt.")
    else:
        follow_up = _("Please pay for it to complete the purchase.")
    return _("🎉 Order №{number} for {total} is placed.\n{follow_up}").format(
        number=order.number, total=format_price(order.total), follow_up=follow_up
    )
