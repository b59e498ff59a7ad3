"""What the shop owner reads: admin cards, reports and usage lines, translated and escaped."""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping, Sequence

from aiogram.types import BotCommand
from aiogram.utils.i18n import get_i18n, ngettext
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import lazy_gettext as __
from sqlalchemy.ext.asyncio import AsyncSession

from shopbot.bot.clock import when
from shopbot.bot.promo_texts import discount_line
from shopbot.bot.render import TEXT_LIMIT, Line, Part, Typed, compose, fill, h
from shopbot.bot.texts import (
    delivery_label,
    order_delivery_lines,
    product_card,
    status_label,
    total_line,
)
from shopbot.i18n import render_stored
from shopbot.importer import ImportProblem, ImportReport
from shopbot.importer.changes import change_line
from shopbot.models import MAX_ID, ConsentSource, Order, OrderEvent, OrderStatus, Product, User
from shopbot.money import format_price
from shopbot.services.admin import HistoryEntry
from shopbot.services.export import OrderCsvLabels
from shopbot.services.marketing import ConsentChange, SubscriberFigures
from shopbot.services.stats import Figures
from shopbot.times import SHORT

# More errors than this go to the owner as a .txt file instead of a message.
ERRORS_IN_MESSAGE = 20
# A dry run lists this many changed products; more, and a CSV of every change comes too.
CHANGES_IN_MESSAGE = 10
# The admin order card leaves this much of a message for a new-order alert's headline.
ALERT_HEADLINE_ROOM = 128


def units(n: int) -> str:
    return ngettext("{n} unit", "{n} units", n).format(n=n)


def admin_help() -> str:
    return "\n".join(
        [
            _("🛠 <b>Shop admin</b>"),
            "",
            _("/stock — products running low"),
            _("/stock SKU N — set stock; /stock SKU +N or -N — change it"),
            _("/price SKU price — set the price (1299, 1 299,00, 1299 ₽)"),
            _("/hide SKU, /show SKU — hide a product from shoppers or show it"),
            _("/keywords SKU words — more words search finds a product by"),
            _("/synonyms A = B — words search takes as the same (/synonyms: the list)"),
            _("/product SKU — the product card with admin buttons"),
            _("/import — load a catalogue CSV (dry run first)"),
            _(
                "/export — the catalogue as CSV to edit and send back (sales made meanwhile "
                "stay sold); /export_orders [days] — orders as CSV"
            ),
            _(
                "/faq — the common questions shoppers see under Help: list, add, edit; "
                "/faq_import, /faq_export — the FAQ as CSV"
            ),
            _("/orders_admin [status] — all orders, newest first"),
            _("/stats — sales today, in 7 and in 30 days"),
            _("/subscribers — who agreed to news and discounts, and how"),
            _("/reminders on, /reminders off — reminders of forgotten carts"),
            _("/sale SKU price [until 31.12.2026] — a sale price; /sale SKU off — end it"),
            _("/promo — promo codes: their uses and revenue, new ones, switching off"),
            _("/staff — who answers shoppers, and on which subjects"),
            _("/mailing — send a post to subscribers; /mailings — past mailings and results"),
        ]
    )


def admin_commands() -> list[BotCommand]:
    return [
        BotCommand(command="admin", description=_("Shop admin: commands and menu")),
        BotCommand(command="stock", description=_("Stock: low list, set or change")),
        BotCommand(command="product", description=_("A product with admin buttons")),
        BotCommand(command="orders_admin", description=_("All orders")),
        BotCommand(command="import", description=_("Import a catalogue CSV")),
        BotCommand(command="export", description=_("Export the catalogue")),
        BotCommand(command="faq", description=_("Common questions (FAQ)")),
        BotCommand(command="stats", description=_("Sales figures")),
        BotCommand(command="subscribers", description=_("Subscribers to news and discounts")),
        BotCommand(command="sale", description=_("Sale prices")),
        BotCommand(command="promo", description=_("Promo codes")),
        BotCommand(command="mailing", description=_("A mailing to subscribers")),
        BotCommand(command="mailings", description=_("Past mailings and their results")),
    ]


def stock_line(product: Product, held: int) -> str:
    line = _("Stock: <b>{stock}</b> for sale").format(stock=product.stock)
    if held:
        line += _(" (+{held} held by unpaid orders)").format(held=held)
    return line


# Who did something, as the owner reads it (``OrderEvent.actor``, ``StockEvent.actor``...):
# "admin:ID" and "user:ID" name the person, the rest the part of the shop that acted.
ACTOR_LABELS = {
    "yookassa": __("YooKassa"),
    "yookassa:webhook": __("YooKassa (notification)"),
    "yookassa:refresh": __("YooKassa (status check)"),
    "telegram": __("Telegram Payments"),
    "system": __("the shop (automatically)"),
    "cli": __("the command line"),
    "demo": __("the demo"),
    "import": __("import"),
}
# What YooKassa's payment and refund statuses mean to the owner.
PAYMENT_STATUS_LABELS = {
    "pending": __("waiting for the shopper"),
    "waiting_for_capture": __("authorised, waiting to be captured"),
    "succeeded": __("succeeded"),
    "canceled": __("cancelled"),
}


async def people_of(session: AsyncSession, actors: Iterable[str]) -> dict[int, User]:
    """The users the "admin:ID" and "user:ID" actors name (few: one read each)."""
    found: dict[int, User] = {}
    for number in {person_id(actor) for actor in actors} - {None}:
        assert number is not None
        if number <= MAX_ID and (user := await session.get(User, number)) is not None:
            found[number] = user
    return found


def person_id(actor: str) -> int | None:
    """The user id in an "admin:ID" or "user:ID" actor."""
    kind, _sep, number = actor.partition(":")
    if kind in ("admin", "user") and number.isdigit() and len(number) <= 19:
        return int(number)
    return None


def actor_label(actor: str, people: Mapping[int, User] | None = None) -> list[Part]:
    """``user:5000001`` → the person's name and @username, or "shopper 5000001";
    ``yookassa:webhook`` → "YooKassa (notification)"; an unknown actor as it is."""
    number = person_id(actor)
    if number is not None:
        user = (people or {}).get(number)
        if user is not None and user.id == number:
            who: list[Part] = [Typed(user.first_name, 64)]
            if user.username:
                who += [" @", Typed(user.username, 64)]
            return who
        if actor.startswith("admin:"):
            return [_("admin {id}").format(id=number)]
        return [_("shopper {id}").format(id=number)]
    label = ACTOR_LABELS.get(actor)
    return [str(label)] if label is not None else [Typed(actor, 64)]


def payment_status_label(status: str) -> str:
    label = PAYMENT_STATUS_LABELS.get(status)
    return str(label) if label is not None else h(status)


def history_line(entry: HistoryEntry, people: Mapping[int, User] | None = None) -> list[Part]:
    old, new = entry.old, entry.new
    change: list[Part]
    if entry.kind == "price" and old is not None and new is not None:
        change = [
            _("price {old} → {new}").format(old=format_price(int(old)), new=format_price(int(new)))
        ]
    elif entry.kind == "created" and new is not None:
        change = [_("new product, price {price}").format(price=format_price(int(new)))]
    elif entry.kind == "name":
        template = _("name “{old}” → “{new}”")
        change = fill(template, old=Typed(old or "", 60), new=Typed(new or "", 60))
    elif entry.kind == "hidden":
        change = [_("hidden")]
    elif entry.kind == "shown":
        change = [_("shown")]
    elif entry.kind == "keywords":
        template = _("keywords “{old}” → “{new}”")
        change = fill(template, old=Typed(old or "", 60), new=Typed(new or "", 60))
    elif entry.kind == "sale" and old is not None:
        change = [_("on sale at {price}").format(price=format_price(int(old)))]
    elif entry.kind == "sale_off":
        change = [_("sale ended")]
    elif entry.kind == "import":
        change = [_("import: stock {old} → {new}").format(old=old or 0, new=new)]
    else:
        change = [_("stock {old} → {new}").format(old=old, new=new)]
    return [f"• {when(entry.at, SHORT)} ", *actor_label(entry.actor, people), ": ", *change]


def product_admin_card(
    product: Product,
    held: int,
    history: list[HistoryEntry],
    people: Mapping[int, User] | None = None,
    variants: Sequence[Line] = (),
) -> str:
    """The card shoppers see (its caption-sized form), then what only the owner sees
    (``variants``: the lines of ``shopbot.bot.variants.admin_variant_lines``)."""
    lines: list[Line] = [
        product_card(product, photo=True),
        "",
        "———",
        fill(_("SKU: <code>{sku}</code>"), sku=Typed(product.sku)),
        stock_line(product, held),
        _("Visible to shoppers") if product.active else _("🙈 Hidden from shoppers"),
        *variants,
    ]
    if history:
        lines += ["", _("<b>Recent changes</b>")] + [
            history_line(entry, people) for entry in history
        ]
    return compose(TEXT_LIMIT, lines)


# What the owner reads for each payment provider's name (``Order.payment_provider``).
PROVIDER_LABELS = {
    "yookassa": __("YooKassa"),
    "telegram": __("Telegram Payments"),
    "cash": __("cash on receipt"),
}


def provider_label(name: str) -> str:
    label = PROVIDER_LABELS.get(name)
    return str(label) if label is not None else h(name)


def unusual_price_question(product: Product, price: int) -> str:
    """Asked before a price of zero or ten times off the old one is set."""
    if price == 0:
        why = _("The product would be free.")
    elif price > product.price:
        why = _("That is more than ten times the price now.")
    else:
        why = _("That is less than a tenth of the price now.")
    question = _("Set the price of {name} ({sku}) to <b>{new}</b>? It is {old} now.")
    return compose(
        TEXT_LIMIT,
        [
            fill(
                question,
                name=Typed(product.name, 200),
                sku=Typed(product.sku),
                new=format_price(price),
                old=format_price(product.price),
            ),
            why,
        ],
    )


def low_stock_title(threshold: int, total: int) -> str:
    if total == 0:
        return _("✅ No product has {threshold} or fewer units left.").format(threshold=threshold)
    return _("📉 <b>Low stock</b> (≤ {threshold}): {count}").format(
        threshold=threshold, count=total
    )


def stock_changed(name: str, sku: str, old: int, new: int, held: int) -> str:
    template = _("{name} ({sku}): stock {old} → <b>{new}</b>")
    lines: list[Line] = [fill(template, name=Typed(name), sku=Typed(sku), old=old, new=new)]
    if held:
        lines.append(_("Held by unpaid orders: {held}").format(held=held))
    return compose(TEXT_LIMIT, lines)


# What the order history calls each kind of event (``OrderEvent.kind``); the provider's own
# status word follows where the event carries one.
EVENT_LABELS = {
    "placed": __("placed"),
    "payment_created": __("payment link created"),
    "payment_received": __("payment received"),
    "payment": __("payment status"),
    "attention": __("flagged for attention"),
    "attention_cleared": __("marked handled"),
    "refund_requested": __("refund requested"),
    "refund_settled": __("refund ended"),
    "refund_manual": __("to be refunded by hand"),
}
EVENT_STATUS_DETAIL = {"payment": "payment_status", "refund_settled": "refund_status"}


def event_label(event: OrderEvent) -> str:
    label = EVENT_LABELS.get(event.kind)
    if label is None:
        return h(event.kind)
    status = (event.details or {}).get(EVENT_STATUS_DETAIL.get(event.kind, ""))
    return f"{label}: {payment_status_label(str(status))}" if status else str(label)


def order_admin_card(
    order: Order,
    shopper: User | None,
    events: list[OrderEvent],
    people: Mapping[int, User] | None = None,
) -> str:
    """Everything about an order for the staff; the number, status, contact and total always
    stay (only typed text is cut), with room left for an alert's headline above it."""
    lines: list[Line] = [
        _("📦 <b>Order №{number}</b> — {status}").format(
            number=order.number, status=status_label(order.status)
        ),
        _("Placed: {date}").format(date=when(order.created_at)),
    ]
    if order.attention:
        reason = Typed(render_stored(order.attention, get_i18n().current_locale), 300)
        lines.append(fill(_("⚠ Needs attention: {reason}"), reason=reason))
    who: list[Part] = [Typed(shopper.first_name)] if shopper else []
    if shopper and shopper.username:
        who += [" @", Typed(shopper.username)]
    lines += [
        fill(_("Shopper: {who} (id {id})"), who=who, id=order.user_id),
        fill(
            _("Contact: {name}, {phone}"),
            name=Typed(order.contact_name),
            phone=Typed(order.contact_phone),
        ),
    ]
    lines += order_delivery_lines(order, address_limit=500)
    if order.comment:
        lines.append(fill(_("Comment: {comment}"), comment=Typed(order.comment, 500)))
    if order.payment_provider in PROVIDER_LABELS:
        provider: Part = provider_label(order.payment_provider)
    else:
        provider = Typed(order.payment_provider)
    lines.append(fill(_("Payment: {provider}"), provider=provider))
    lines.append("")
    for line in order.lines[:30]:
        lines.append(
            [
                "• ",
                Typed(line.name, 80),
                " (",
                Typed(line.sku),
                f") × {line.quantity} = {format_price(line.line_total)}",
            ]
        )
    if len(order.lines) > 30:
        lines.append(_("… and {n} more lines").format(n=len(order.lines) - 30))
    if order.discount and order.promo_code:
        lines.append(discount_line(order.promo_code, order.discount))
    lines.append(total_line(order.total, order.delivery_price))
    known = {shopper.id: shopper} if shopper is not None else {}
    if events:
        lines += ["", _("<b>History</b>")]
        for event in events[-8:]:
            if event.kind == "status" and event.to_status:
                change = status_label(OrderStatus(event.to_status))
                if event.from_status:
                    change = f"{status_label(OrderStatus(event.from_status))} → {change}"
            else:
                change = event_label(event)
            who = actor_label(event.actor, {**(people or {}), **known})
            lines.append([f"• {when(event.at, SHORT)} ", *who, f": {change}"])
    return compose(TEXT_LIMIT - ALERT_HEADLINE_ROOM, lines)


def orders_title(status: OrderStatus | None, total: int) -> str:
    if total == 0:
        return _("No orders found.")
    if status is None:
        return _("📦 <b>All orders</b>: {count}").format(count=total)
    return _("📦 <b>Orders {status}</b>: {count}").format(status=status_label(status), count=total)


def status_named(word: str) -> OrderStatus | None:
    """The status an owner typed: its label in their language ("оплачен", "ожидает оплаты")
    or its code ("paid"), whatever the case (and е for ё)."""

    def norm(text: str) -> str:
        return " ".join(text.casefold().replace("ё", "е").replace("_", " ").split())

    wanted = norm(word)
    for status in OrderStatus:
        if wanted in (norm(status_label(status)), norm(status.value)):
            return status
    return None


def statuses_usage() -> str:
    names = ", ".join(status_label(status) for status in OrderStatus)
    return _("Usage: /orders_admin [status], where status is one of: {names}").format(names=names)


def moved(order: Order) -> str:
    return _("Order №{number} is now {status}.").format(
        number=order.number, status=status_label(order.status)
    )


def problem_line(problem: ImportProblem) -> str:
    """Where and what, in the owner's language (the importer's own catalogue)."""
    return problem.describe(get_i18n().current_locale)


def unlisted_errors(count: int) -> str:
    """The last line of a listing of errors cut at ``MAX_LISTED_PROBLEMS``."""
    return ngettext(
        "… and {n} more error, not listed.", "… and {n} more errors, not listed.", count
    ).format(n=count)


def import_summary(report: ImportReport) -> str:
    if report.dry_run:
        head = _("🔎 <b>Checked {rows} rows.</b> The import would:").format(rows=report.rows)
    else:
        head = _("✅ <b>Import done ({rows} rows):</b>").format(rows=report.rows)
    lines: list[Line] = [
        head,
        _("• create {n}").format(n=report.created),
        _("• update {n}").format(n=report.updated),
        _("• leave unchanged {n}").format(n=report.unchanged),
    ]
    if report.images_processed:
        lines.append(_("• pictures {n}").format(n=report.images_processed))
    if report.changes:
        language = get_i18n().current_locale
        lines += ["", _("<b>What changes:</b>")]
        shown = report.changes[:CHANGES_IN_MESSAGE]
        lines += [["• ", Typed(change_line(change, language), 300)] for change in shown]
        if len(report.changes) > CHANGES_IN_MESSAGE:
            more = len(report.changes) - CHANGES_IN_MESSAGE
            lines.append(
                ngettext(
                    "… and {n} more product: every change is in the attached file.",
                    "… and {n} more products: every change is in the attached file.",
                    more,
                ).format(n=more)
            )
    if report.warnings:
        lines += ["", _("Warnings:")]
        lines += [["• ", Typed(problem_line(w), 300)] for w in report.warnings[:5]]
    return compose(TEXT_LIMIT, lines)


def import_errors(report: ImportReport) -> str:
    """The errors (when few) with their lines; nothing was written."""
    count = report.errors.total
    head = ngettext(
        "❌ The file has {n} error. Nothing was changed.",
        "❌ The file has {n} errors. Nothing was changed.",
        count,
    ).format(n=count)
    if report.errors.unlisted:
        return (
            head + "\n" + _("The first {n} are in the attached file.").format(n=len(report.errors))
        )
    if count > ERRORS_IN_MESSAGE:
        return head + "\n" + _("The full list is in the attached file.")
    body: list[Line] = [["• ", Typed(problem_line(problem), 180)] for problem in report.errors]
    return compose(TEXT_LIMIT, [head, "", *body])


def stats_text(periods: list[Figures], audience: SubscriberFigures) -> str:
    titles = {1: _("Today"), 7: _("7 days"), 30: _("30 days")}
    blocks: list[Line] = [_("📊 <b>Sales</b>")]
    for figures in periods:
        block: list[Line] = [
            "",
            f"<b>{titles.get(figures.days, str(figures.days))}</b>",
            _("Orders: {orders}, paid: {paid}").format(orders=figures.orders, paid=figures.paid),
            _("Revenue: {revenue}, average order: {average}").format(
                revenue=format_price(figures.revenue), average=format_price(figures.average)
            ),
            _("Carts started → orders placed → paid: {carts} → {orders} → {paid}").format(
                carts=figures.carts_started, orders=figures.orders, paid=figures.paid
            ),
        ]
        for number, top in enumerate(figures.top, 1):
            block.append(
                [
                    f"{number}. ",
                    Typed(top.name, 60),
                    f" — {units(top.quantity)}, {format_price(top.revenue)}",
                ]
            )
        blocks += block
    blocks += [
        "",
        _("Carts started: open carts begun in the period plus placed orders."),
        "",
        audience_line(audience),
    ]
    return compose(TEXT_LIMIT, blocks)


def audience_line(audience: SubscriberFigures) -> str:
    return _(
        "👥 Subscribers: {subscribers}, unsubscribed: {unsubscribed}, unreachable: "
        "{unreachable} (/subscribers)"
    ).format(
        subscribers=audience.subscribers,
        unsubscribed=audience.unsubscribed,
        unreachable=audience.unreachable,
    )


# How a shopper said yes or no, as the owner reads it.
CONSENT_SOURCE_LABELS = {
    ConsentSource.AFTER_FIRST_ORDER: __("answering the question after their first order"),
    ConsentSource.MENU: __("with the button under /help"),
    ConsentSource.COMMAND: __("with /subscribe or /unsubscribe"),
    ConsentSource.PROMO_MESSAGE: __("with the button under a promotional message"),
}


def subscribers_text(audience: SubscriberFigures, days: int, latest: list[ConsentChange]) -> str:
    """/subscribers: who gets advertising, who does not and why, how they said yes, and
    the latest answers (on the shop's clock)."""
    lines: list[Line] = [
        _("👥 <b>Subscribers to news and discounts</b>"),
        "",
        _("Get advertising: <b>{n}</b>").format(n=audience.subscribers),
        _("Said yes, but blocked the bot: {n}").format(n=audience.unreachable),
        _("Said no or unsubscribed: {n}").format(n=audience.unsubscribed),
        _("Asked after an order, no answer yet: {n}").format(n=audience.unanswered),
        _("Not asked yet: {n}").format(n=audience.never_asked),
    ]
    if audience.by_source:
        lines += ["", _("How the subscribers said yes:")]
        for source, label in CONSENT_SOURCE_LABELS.items():
            if number := audience.by_source.get(source):
                lines.append(f"• {label}: {number}")
    lines += [
        "",
        ngettext(
            "In {days} day — consents given: {joined}, refused or withdrawn: {left}.",
            "In {days} days — consents given: {joined}, refused or withdrawn: {left}.",
            days,
        ).format(days=days, joined=audience.joined, left=audience.left),
    ]
    if latest:
        lines += ["", _("Latest answers:")]
        for change in latest:
            who: list[Part] = [Typed(change.first_name, 64)]
            if change.username:
                who += [" @", Typed(change.username, 64)]
            answer = _("yes") if change.granted else _("no")
            how = CONSENT_SOURCE_LABELS[change.source]
            lines.append([f"• {when(change.at, SHORT)} ", *who, f": {answer}, {how}"])
    lines += [
        "",
        _(
            "Advertising goes only to those who said yes and can be reached; messages about "
            "orders reach everyone."
        ),
    ]
    return compose(TEXT_LIMIT, lines)


def order_csv_labels() -> OrderCsvLabels:
    """The orders CSV in the owner's language (headers, statuses, delivery, payment)."""
    headers = (
        _("Order"),
        _("Placed"),
        _("Status"),
        _("Name"),
        _("Phone"),
        _("Delivery"),
        _("Delivery price"),
        _("Address"),
        _("Comment"),
        _("Payment"),
        _("SKU"),
        _("Product"),
        _("Quantity"),
        _("Unit price"),
        _("Line total"),
        _("Line discount"),
        _("Order total"),
    )
    return OrderCsvLabels(
        headers=headers,
        status=status_label,
        delivery=delivery_label,
        provider=lambda name: html.unescape(provider_label(name)),
    )
