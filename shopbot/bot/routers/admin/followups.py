"""The owner's side of ratings and forgotten-cart reminders: their figures under /stats,
the lowest ratings one tap away, and ``/reminders on|off``."""

from __future__ import annotations

from datetime import datetime, timedelta

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from shopbot.bot.callbacks import LowestRatingsCb
from shopbot.bot.clock import when
from shopbot.bot.followups import stars
from shopbot.bot.render import TEXT_LIMIT, Line, Part, Typed, compose
from shopbot.config import Settings
from shopbot.models import RatingKind, utcnow
from shopbot.services import conversations, ratings, reminders
from shopbot.services.conversations import ConversationFigures
from shopbot.services.ratings import RatedItem, RatingFigures, Summary
from shopbot.services.reminders import ORDER_WINDOW, ReminderFigures
from shopbot.services.stats import period_start
from shopbot.times import SHORT

DAYS = 30  # the period of these figures: /stats's longest
LOWEST = 15  # the lowest ratings listed


async def stats_block(session: AsyncSession, settings: Settings, now: datetime) -> str:
    """The part of /stats about ratings and reminders, for the last :data:`DAYS` days."""
    since = period_start(DAYS, now, settings.shop_timezone)
    figures = await ratings.rating_figures(session, since)
    talks = await conversations.conversation_figures(
        session, since, settings.working_hours, settings.shop_timezone
    )
    sent = await reminders.reminder_figures(session, since)
    if not settings.abandoned_cart_hours:
        off: str | None = _("Reminders are off in the settings (ABANDONED_CART_HOURS=0).")
    elif await reminders.paused(session):
        off = _("Reminders are off (/reminders on).")
    else:
        off = None
    return followups_text(figures, talks, sent, reminders_off=off)


def stats_keyboard() -> InlineKeyboardMarkup:
    """Under /stats: the lowest ratings, one tap away."""
    button = InlineKeyboardButton(
        text=_("⭐ Lowest ratings"), callback_data=LowestRatingsCb(days=DAYS).pack()
    )
    return InlineKeyboardMarkup(inline_keyboard=[[button]])


def _percent(share: float) -> str:
    return f"{round(share * 100)}%"


def _average(summary: Summary) -> str:
    return f"{summary.average:.1f}".replace(".", ",") if summary.count else "—"


def _minutes(wait: timedelta | None) -> str:
    if wait is None:
        return "—"
    minutes = round(wait.total_seconds() / 60)
    if minutes < 60:
        return _("{minutes} min").format(minutes=minutes)
    return _("{hours} h {minutes} min").format(hours=minutes // 60, minutes=minutes % 60)


def followups_text(
    figures: RatingFigures,
    talks: ConversationFigures,
    sent: ReminderFigures,
    *,
    reminders_off: str | None,
) -> str:
    """Support, ratings and reminders in the period; ``reminders_off``: why reminders are
    off."""
    orders, service = figures.orders, figures.service
    lines: list[Line] = [
        _(
            "💬 <b>Support in {days} days</b>: {opened} conversations, {answered} answered; "
            "median first reply {median} (working hours only); waiting now: {waiting}"
        ).format(
            days=DAYS,
            opened=talks.opened,
            answered=talks.answered,
            median=_minutes(talks.median_first_response),
            waiting=talks.waiting,
        ),
        "",
        _("⭐ <b>Ratings in {days} days</b>").format(days=DAYS),
        _("Orders: {count} rated, average {average}, rated 4–5: {share}").format(
            count=orders.count, average=_average(orders), share=_percent(orders.good_share)
        ),
        _("Support: {count} rated, CSAT (rated 4–5) {csat}, average {average}").format(
            count=service.count, csat=_percent(service.good_share), average=_average(service)
        ),
    ]
    for staff in figures.by_staff:
        summary = staff.summary
        lines.append(
            [
                "• ",
                Typed(staff.name or str(staff.staff_id), 64),
                _(": {count} rated, CSAT {csat}, average {average}").format(
                    count=summary.count,
                    csat=_percent(summary.good_share),
                    average=_average(summary),
                ),
            ]
        )
    lines += [
        "",
        _(
            "🛒 <b>Forgotten carts</b>: {sent} reminders sent, {led} followed by an order "
            "within {hours} h"
        ).format(
            sent=sent.sent, led=sent.led_to_order, hours=int(ORDER_WINDOW.total_seconds()) // 3600
        ),
    ]
    if reminders_off:
        lines.append(reminders_off)
    return compose(TEXT_LIMIT, lines)


def lowest_text(items: list[RatedItem], days: int) -> str:
    if not items:
        return _("No ratings below 4 in {days} days.").format(days=days)
    lines: list[Line] = [_("⭐ <b>Lowest ratings in {days} days</b>").format(days=days), ""]
    for item in items:
        if item.kind is RatingKind.ORDER:
            about = _("order №{number}").format(number=item.order_number or item.subject_id)
        else:
            about = _("support, conversation #{conversation}").format(conversation=item.subject_id)
        line: list[Part] = [
            f"{stars(item.score)} {item.score}/5 — {about}, ",
            Typed(item.shopper, 64),
            f" (id {item.user_id}), {when(item.rated_at, SHORT)}",
        ]
        if item.comment:
            line += [": «", Typed(item.comment, 300), "»"]
        lines.append(line)
    return compose(TEXT_LIMIT, lines)


async def lowest_pressed(
    query: CallbackQuery, callback_data: LowestRatingsCb, session: AsyncSession, settings: Settings
) -> None:
    since = period_start(callback_data.days, utcnow(), settings.shop_timezone)
    items = await ratings.lowest_ratings(session, since, LOWEST)
    await query.answer()
    if query.bot is not None:
        await query.bot.send_message(query.from_user.id, lowest_text(items, callback_data.days))


async def reminders_command(
    message: Message, command: CommandObject, session: AsyncSession, settings: Settings
) -> None:
    """``/reminders``: are forgotten-cart reminders on; ``on`` / ``off`` turns them."""
    word = (command.args or "").strip().lower()
    if word in ("on", "off"):
        await reminders.set_paused(session, word == "off")
    elif word:
        await message.answer(_("Use /reminders on or /reminders off."))
        return
    if not settings.abandoned_cart_hours:
        await message.answer(
            _(
                "Reminders of forgotten carts are turned off in the settings "
                "(ABANDONED_CART_HOURS=0)."
            )
        )
        return
    if await reminders.paused(session):
        await message.answer(_("🔕 Reminders of forgotten carts are off. Turn on: /reminders on"))
        return
    await message.answer(
        _(
            "🔔 Reminders of forgotten carts are on: a subscriber whose cart sits unchanged for "
            "{hours} h gets one, never in the quiet hours {quiet}. Turn off: /reminders off"
        ).format(hours=settings.abandoned_cart_hours, quiet=settings.quiet_hours)
    )


def register(router: Router) -> None:
    router.message.register(reminders_command, Command("reminders"))
    router.callback_query.register(lowest_pressed, LowestRatingsCb.filter())
