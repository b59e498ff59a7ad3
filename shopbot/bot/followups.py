"""The "ask once, later" messages to a shopper, delivered from the outbox: the question to
rate an order or the help of support (``services.ratings``), a low service rating relayed
to the staff, and the reminder of a forgotten cart (``services.reminders``). Their texts
and buttons are here too; the taps are handled by ``routers.ratings`` (the reminder's
buttons are the cart's and "Unsubscribe")."""

from __future__ import annotations

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from shopbot.bot.admin_alerts import alert_staff
from shopbot.bot.callbacks import CartAction, CartCb, RatingCb, RatingSkipCb
from shopbot.bot.keyboards import with_unsubscribe
from shopbot.bot.notifier import BotNotifier
from shopbot.bot.render import TEXT_LIMIT, Line, Typed, compose, h
from shopbot.bot.support_desk import SupportDesk
from shopbot.bot.texts import LINE_NAME_LIMIT
from shopbot.models import Rating, RatingKind, User, utcnow
from shopbot.money import format_price
from shopbot.services import cart, ratings, reminders
from shopbot.services.cart import Cart, LineIssue
from shopbot.services.outbox import RetryLater, Sender, Undeliverable


class FollowupNotifier:
    """Delivers ratings' and reminders' messages through the shop's :class:`BotNotifier`
    (its language, clock, and handling of Telegram's refusals); a low service rating also
    goes into the shopper's topic through ``support_desk`` — only there when the staff
    alerts' chat (``ADMIN_CHAT_ID``) is that same group."""

    def __init__(self, notifier: BotNotifier, support_desk: SupportDesk | None = None) -> None:
        self.notifier = notifier
        self.support_desk = support_desk

    async def rating_question(self, session: AsyncSession, rating_id: int) -> None:
        rating = await session.get(Rating, rating_id, populate_existing=True)
        if rating is None:
            raise Undeliverable(f"rating {rating_id} no longer exists")
        if rating.score is not None:
            return  # answered meanwhile
        user = await self._reachable(session, rating.user_id)
        number = await ratings.order_number(session, rating)
        with self.notifier.speaking(user.language):
            text = rating_question(rating.kind, number)
            markup = score_keyboard(rating_id)
        await self.notifier.send_to_shopper(user.id, text, markup)

    async def low_rating(self, session: AsyncSession, rating_id: int, with_comment: bool) -> None:
        rating = await session.get(Rating, rating_id, populate_existing=True)
        if rating is None or rating.score is None:
            raise Undeliverable(f"rating {rating_id} is gone or has no score")
        shopper = await session.get(User, rating.user_id)
        staff = await session.get(User, rating.staff_id) if rating.staff_id else None

        async def render() -> tuple[str, InlineKeyboardMarkup | None]:
            return low_rating_alert(rating, shopper, staff, with_comment), None

        notifier, desk = self.notifier, self.support_desk
        if desk is not None:
            with notifier.speaking(notifier.settings.default_language):
                text = low_rating_alert(rating, shopper, staff, with_comment)
            noted = await desk.note_in_topic(session, rating.subject_id, text)
            if noted and desk.forum_chat == notifier.settings.admin_chat_id:
                return  # the staff alert would say it again in the same group
        await alert_staff(notifier.bot, notifier.settings, session, render)

    async def cart_reminder(self, session: AsyncSession, reminder_id: int) -> None:
        settings = self.notifier.settings
        reminder = await reminders.still_due(session, reminder_id)
        if reminder is None:
            return
        wait = reminders.seconds_to_wait(
            reminder.recorded_at, utcnow(), settings.quiet_hours, settings.shop_timezone
        )
        if wait:
            raise RetryLater("the shop's quiet hours", after=wait)
        user_id = reminder.user_id
        current = await cart.get_cart(session, user_id)
        if current.total == 0:  # nothing in it can be bought now: nothing to remind of
            return
        user = await self._reachable(session, user_id)
        with self.notifier.speaking(user.language):
            text, markup = reminder_text(current), reminder_keyboard()
        await self.notifier.send_to_shopper(user_id, text, markup)
        await reminders.mark_sent(session, reminder_id)

    async def _reachable(self, session: AsyncSession, user_id: int) -> User:
        user = await session.get(User, user_id, populate_existing=True)
        if user is None or user.is_blocked:
            raise Undeliverable(f"user {user_id} is gone or blocked the bot")
        return user


def followup_senders(
    notifier: BotNotifier, support_desk: SupportDesk | None = None
) -> dict[str, Sender]:
    """The outbox senders of ratings and reminders, by kind."""
    followups = FollowupNotifier(notifier, support_desk)
    return {**ratings.rating_senders(followups), **reminders.reminder_senders(followups)}


def stars(score: int) -> str:
    return "⭐" * score


def rating_question(kind: RatingKind, order_number: str | None) -> str:
    if kind is RatingKind.ORDER:
        return _(
            "⭐ How was order №{number}? Rate it from 1 (bad) to 5 (excellent), one tap:"
        ).format(number=h(order_number or ""))
    return _("⭐ How did we help you? Rate the conversation from 1 (bad) to 5 (excellent):")


def score_keyboard(rating_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(
                    text=f"{score} ⭐",
                    callback_data=RatingCb(rating_id=rating_id, score=score).pack(),
                )
                for score in ratings.SCORES
            ]
        ]
    )


def skip_keyboard(rating_id: int) -> InlineKeyboardMarkup:
    button = InlineKeyboardButton(
        text=_("Skip"), callback_data=RatingSkipCb(rating_id=rating_id).pack()
    )
    return InlineKeyboardMarkup(inline_keyboard=[[button]])


def rated_text(rating: Rating, order_number: str | None, *, asks_comment: bool) -> str:
    """What the question turns into once the shopper tapped their score."""
    score = rating.score or 0
    if rating.kind is RatingKind.ORDER:
        text = _("Thank you! Your rating of order №{number}: {stars} {score}/5.").format(
            number=h(order_number or ""), stars=stars(score), score=score
        )
        if asks_comment:
            text += "\n\n" + _("Anything to add? Write a comment in one message, or tap Skip.")
        return text
    text = _("Thank you! Your rating of our help: {stars} {score}/5.").format(
        stars=stars(score), score=score
    )
    if asks_comment:
        text += "\n\n" + _(
            "What went wrong? Write a few words in one message (the shop will read them), "
            "or tap Skip."
        )
    return text


def low_rating_alert(
    rating: Rating, shopper: User | None, staff: User | None, with_comment: bool
) -> str:
    """The staff's alert of a service rating of 1–3, or of its comment."""
    score = rating.score or 0
    who = [h(shopper.first_name)] if shopper is not None and shopper.first_name else []
    if shopper is not None and shopper.username:
        who.append(f"@{h(shopper.username)}")
    lines = [
        _("⚠ <b>Low support rating: {stars} {score}/5</b> (conversation #{conversation})").format(
            stars=stars(score), score=score, conversation=rating.subject_id
        )
    ]
    if rating.staff_id is not None:
        name = h(staff.first_name) if staff is not None and staff.first_name else "—"
        lines.append(_("Answered by: {name} (id {id})").format(name=name, id=rating.staff_id))
    lines.append(_("Shopper: {who} (id {id})").format(who=", ".join(who), id=rating.user_id))
    if with_comment and rating.comment:
        lines += ["", _("What went wrong, in the shopper's words:")]
        lines.append(f"<blockquote>{h(rating.comment)}</blockquote>")
    return "\n".join(lines)


def reminder_text(current: Cart) -> str:
    """The forgotten cart with today's prices and stock."""
    lines: list[Line] = [_("🛒 <b>You left something in your cart</b>"), ""]
    for number, item in enumerate(current.items, 1):
        note = {
            LineIssue.UNAVAILABLE: _(" — no longer sold"),
            LineIssue.OUT_OF_STOCK: _(" — out of stock"),
            LineIssue.REDUCED: _(" — only {n} left").format(n=item.stock),
            None: _(" (in stock: {n})").format(n=item.stock),
        }[item.issue]
        lines.append(
            [
                f"{number}. ",
                Typed(item.name, LINE_NAME_LIMIT),
                f" — {format_price(item.unit_price)} × {item.quantity}{note}",
            ]
        )
    lines += [
        "",
        _("Total: <b>{total}</b>").format(total=format_price(current.total)),
        _("Prices and stock are as of now; the cart is waiting for you."),
    ]
    return compose(TEXT_LIMIT, lines)


def reminder_keyboard() -> InlineKeyboardMarkup:
    to_cart = InlineKeyboardButton(
        text=_("🛒 Open the cart"), callback_data=CartCb(action=CartAction.SHOW).pack()
    )
    return with_unsubscribe(InlineKeyboardMarkup(inline_keyboard=[[to_cart]]))
