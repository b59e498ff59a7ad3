"""What the owner and the shoppers see of a mailing: the buttons under the post (each a
deep link carrying the campaign), the progress message with Pause / Resume / Cancel, the
final report and the lines of ``/mailings``."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _

from shopbot.bot.callbacks import Id
from shopbot.bot.clock import when
from shopbot.bot.keyboards import with_unsubscribe
from shopbot.bot.render import h
from shopbot.models import MailingStatus
from shopbot.money import format_price
from shopbot.services.mailings import Button, ButtonKind, Figures

CAMPAIGN_PREFIX = "m"  # /start m<campaign>_<what the button opens>
CATEGORY_LINK = "c_"  # then the category's id
PRODUCT_LINK = "i_"  # then the product's id (as start's own product links)
PROMO_LINK = "promo_"  # then the code (as the promo codes' own links)


class ControlAction(StrEnum):
    PAUSE = "p"
    RESUME = "r"
    CANCEL = "c"


class MailingControlCb(CallbackData, prefix="mlc"):
    action: ControlAction
    mailing_id: Id


def start_parameter(mailing_id: int, button: Button) -> str:
    """The deep link's parameter of a button: the campaign, then what it opens."""
    opens = {
        ButtonKind.PRODUCT: PRODUCT_LINK,
        ButtonKind.CATEGORY: CATEGORY_LINK,
        ButtonKind.PROMO: PROMO_LINK,
    }[button.kind]
    return f"{CAMPAIGN_PREFIX}{mailing_id}_{opens}{button.target}"


def campaign_markup(
    mailing_id: int, buttons: list[Button], bot_username: str
) -> InlineKeyboardMarkup:
    """The post's buttons, one a row, and "Unsubscribe" under them (in the locale set)."""
    rows = []
    for button in buttons:
        if button.kind is ButtonKind.LINK:
            url = button.target
        else:
            url = f"https://t.me/{bot_username}?start={start_parameter(mailing_id, button)}"
        rows.append([InlineKeyboardButton(text=button.label, url=url)])
    return with_unsubscribe(InlineKeyboardMarkup(inline_keyboard=rows))


@dataclass(frozen=True)
class Pace:
    """How fast the campaign goes now: messages a second, seconds left (None: unknown)."""

    rate: float
    left: float | None


def status_label(status: MailingStatus) -> str:
    return {
        MailingStatus.SCHEDULED: _("scheduled"),
        MailingStatus.SENDING: _("sending"),
        MailingStatus.PAUSED: _("paused"),
        MailingStatus.DONE: _("finished"),
        MailingStatus.CANCELLED: _("called off"),
    }[status]


def _duration(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    if minutes:
        return _("{minutes} min {seconds} s").format(minutes=minutes, seconds=secs)
    return _("{seconds} s").format(seconds=secs)


def progress_text(figures: Figures, pace: Pace | None) -> str:
    """The progress message while a campaign is sent, paused, or when it has ended."""
    lines = [
        _("📣 <b>Mailing #{id}</b>: {status}").format(
            id=figures.mailing_id, status=status_label(figures.status)
        ),
        _("Sent: {sent} of {total}").format(sent=figures.sent, total=figures.total),
        _("Unreachable: {unreachable} · failed: {failed}").format(
            unreachable=figures.unreachable, failed=figures.failed
        ),
    ]
    if figures.status is MailingStatus.SENDING and pace is not None:
        line = _("Rate: {rate:.1f} messages/s").format(rate=pace.rate)
        if pace.left is not None:
            line += " · " + _("about {left} left").format(left=_duration(pace.left))
        lines.append(line)
    if figures.status is MailingStatus.DONE:
        lines.append(_("Clicks, orders and revenue of the next 7 days: /mailings"))
    if figures.status is MailingStatus.CANCELLED and figures.pending:
        lines.append(_("Not sent: {pending}").format(pending=figures.pending))
    return "\n".join(lines)


def progress_markup(figures: Figures) -> InlineKeyboardMarkup | None:
    """Pause or Resume, and Cancel, while the campaign can still change."""
    mailing_id = figures.mailing_id
    if figures.status is MailingStatus.SENDING:
        first = InlineKeyboardButton(
            text=_("⏸ Pause"),
            callback_data=MailingControlCb(
                action=ControlAction.PAUSE, mailing_id=mailing_id
            ).pack(),
        )
    elif figures.status is MailingStatus.PAUSED:
        first = InlineKeyboardButton(
            text=_("▶️ Resume"),
            callback_data=MailingControlCb(
                action=ControlAction.RESUME, mailing_id=mailing_id
            ).pack(),
        )
    elif figures.status is MailingStatus.SCHEDULED:
        first = None
    else:
        return None
    cancel = InlineKeyboardButton(
        text=_("✖️ Cancel the mailing"),
        callback_data=MailingControlCb(action=ControlAction.CANCEL, mailing_id=mailing_id).pack(),
    )
    return InlineKeyboardMarkup(inline_keyboard=[[first, cancel] if first else [cancel]])


def campaigns_text(campaigns: list[Figures]) -> str:
    """``/mailings``: the latest campaigns with what each brought."""
    if not campaigns:
        return _("No mailings yet. Start one with /mailing.")
    blocks = [_("<b>Mailings</b>")]
    for figures in campaigns:
        blocks.append(
            "\n".join(
                [
                    _("#{id} · {date} · {status}").format(
                        id=figures.mailing_id,
                        date=h(when(figures.started_at or figures.scheduled_at)),
                        status=status_label(figures.status),
                    ),
                    _(
                        "delivered {sent} of {total}, unreachable {unreachable}, failed {failed}"
                    ).format(
                        sent=figures.sent,
                        total=figures.total,
                        unreachable=figures.unreachable,
                        failed=figures.failed,
                    ),
                    _(
                        "clicks {clicks} (shoppers: {clickers}), orders {orders}, revenue {revenue}"
                    ).format(
                        clicks=figures.clicks,
                        clickers=figures.clickers,
                        orders=figures.orders,
                        revenue=format_price(figures.revenue),
                    ),
                ]
            )
        )
    return "\n\n".join(blocks)
