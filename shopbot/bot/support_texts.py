"""What the hand-off to a person says: subjects, the working hours, the shopper's card in
the staff chat, the topic's name."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from aiogram.utils.i18n import gettext as _

from shopbot.bot.clock import when
from shopbot.bot.render import h
from shopbot.bot.texts import status_label
from shopbot.models import Order, SupportConversation, SupportSubject, User
from shopbot.money import format_price
from shopbot.services.cart import Cart
from shopbot.services.support_hours import WorkingHours
from shopbot.times import shown

TOPIC_NAME_LIMIT = 128


def subject_label(subject: SupportSubject) -> str:
    labels = {
        SupportSubject.ORDER: _("📦 An order"),
        SupportSubject.DELIVERY: _("🚚 Delivery and payment"),
        SupportSubject.PRODUCT: _("🛍 A product"),
        SupportSubject.RETURN: _("↩ A return or a complaint"),
        SupportSubject.OTHER: _("💬 Something else"),
    }
    return labels[subject]


def _day_names() -> tuple[str, ...]:
    return (_("Mon"), _("Tue"), _("Wed"), _("Thu"), _("Fri"), _("Sat"), _("Sun"))


def hours_text(hours: WorkingHours) -> str:
    """``Mon–Fri 09:00–20:00; Sat 10:00–16:00`` in the reader's language."""
    if hours.always:
        return _("around the clock")
    days = _day_names()
    parts = []
    for span in hours.spans:
        named = (
            days[span.first]
            if span.first == span.last
            else (f"{days[span.first]}–{days[span.last]}")
        )
        parts.append(f"{named} {span.start:%H:%M}–{span.end:%H:%M}")
    return "; ".join(parts)


def intro_text(hours: WorkingHours, now: datetime, zone: ZoneInfo) -> str:
    """What the shopper is told when the conversation opens."""
    lines = [
        _("💬 You are writing to a manager. We answer during working hours: {hours}.").format(
            hours=hours_text(hours)
        )
    ]
    if not hours.is_open(now, zone):
        lines.append(out_of_hours_text(hours, now, zone))
    lines.append(
        _(
            "Write your question: text, photos, files and voice messages all reach the "
            "manager. Commands and the menu still work."
        )
    )
    return "\n\n".join(lines)


def out_of_hours_text(hours: WorkingHours, now: datetime, zone: ZoneInfo) -> str:
    opening = hours.next_opening(now, zone)
    day = _day_names()[opening.weekday()]
    return _("🌙 We are not at work now: expect an answer from {day} {time}.").format(
        day=day, time=shown(opening, zone, "%H:%M")
    )


def topic_name(user: User | None, user_id: int) -> str:
    """A topic staff recognise the shopper by: name, @username, a short id."""
    parts = [user.first_name if user is not None and user.first_name else str(user_id)]
    if user is not None and user.last_name:
        parts[0] += f" {user.last_name}"
    if user is not None and user.username:
        parts.append(f"@{user.username}")
    parts.append(f"#{user_id}")
    return " · ".join(parts)[:TOPIC_NAME_LIMIT]


def mention(user_id: int, name: str) -> str:
    return f'<a href="tg://user?id={user_id}">{h(name or str(user_id))}</a>'


def card_text(
    conversation: SupportConversation,
    user: User | None,
    orders: list[Order],
    cart: Cart,
    subject_order: Order | None,
    mentions: list[str],
) -> str:
    """The first message of a conversation in the staff chat."""
    name = (user.first_name if user else "") or str(conversation.user_id)
    if user is not None and user.last_name:
        name += f" {user.last_name}"
    lines = [_("🆕 <b>A shopper asks for a person</b>"), ""]
    lines.append(_("Who: {name}").format(name=mention(conversation.user_id, name)))
    if user is not None and user.username:
        lines.append(f"@{h(user.username)}")
    phone = (user.phone if user else None) or next(
        (order.contact_phone for order in orders if order.contact_phone), None
    )
    if phone:
        lines.append(_("Phone: {phone}").format(phone=h(phone)))
    language = user.language if user else "ru"
    lines.append(_("Language: {language}").format(language=h(language)))
    subject = subject_label(conversation.subject)
    if subject_order is not None:
        subject += " " + _("№{number}").format(number=h(subject_order.number or ""))
    lines.append(_("Subject: {subject}").format(subject=subject))
    lines.append("")
    if orders:
        lines.append(_("<b>Last orders</b>"))
        lines += [
            _("№{number} of {date}: {total}, {status}").format(
                number=h(order.number or ""),
                date=when(order.created_at),
                total=format_price(order.total),
                status=status_label(order.status),
            )
            for order in orders
        ]
    else:
        lines.append(_("No orders yet."))
    if not cart.is_empty:
        lines.append(_("<b>In the cart</b>: {total}").format(total=format_price(cart.total)))
        lines += [f"{h(item.name)} × {item.quantity}" for item in cart.items[:10]]
    else:
        lines.append(_("The cart is empty."))
    if mentions:
        lines += ["", _("For: {people}").format(people=", ".join(mentions))]
    lines += [
        "",
        _(
            "Write here to answer (as the shop); messages starting with // or #note stay "
            "in the group. /close ends the conversation."
        ),
    ]
    return "\n".join(lines)
