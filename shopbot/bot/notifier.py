"""The bot's side of :class:`~shopbot.services.notifications.OrderNotifier`: messages to the
shopper (in their language) and to the shop's staff when orders change."""

from __future__ import annotations

import logging

from aiogram import Bot
from aiogram.exceptions import TelegramForbiddenError
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shopbot.bot.admin_alerts import alert_low_stock, alert_new_order
from shopbot.bot.i18n import PoI18n
from shopbot.bot.render import h
from shopbot.bot.texts import order_card, status_label
from shopbot.config import Settings
from shopbot.models import Order, OrderStatus, User
from shopbot.money import format_price
from shopbot.services.users import mark_blocked

log = logging.getLogger(__name__)


class BotNotifier:
    def __init__(
        self,
        bot: Bot,
        settings: Settings,
        session_factory: async_sessionmaker[AsyncSession],
        i18n: PoI18n,
    ) -> None:
        self.bot = bot
        self.settings = settings
        self.session_factory = session_factory
        self.i18n = i18n

    async def order_status_changed(
        self, order: Order, previous: OrderStatus, *, reason: str | None = None
    ) -> None:
        async with self.session_factory() as session:
            user = await session.get(User, order.user_id)
        language = user.language if user else self.settings.default_language
        with self.i18n.context(), self.i18n.use_locale(language):
            text = shopper_status_text(order)
        await self._send(order.user_id, text)

    async def needs_attention(self, order: Order, reason: str) -> None:
        with self.i18n.context(), self.i18n.use_locale(self.settings.default_language):
            text = _("⚠ Order №{number} needs attention: {reason}").format(
                number=order.number, reason=h(reason)
            )
            text += "\n\n" + order_card(order)
        for chat_id in self.staff_chats():
            await self._send(chat_id, text)

    async def new_paid_order(self, order: Order) -> None:
        """Staff get the order with buttons to act on it; products the sale brought down to
        the low-stock threshold are alerted once."""
        async with self.session_factory() as session:
            await alert_new_order(self.bot, self.settings, session, order)
            await alert_low_stock(
                self.bot,
                self.settings,
                session,
                [line.product_id for line in order.lines if line.product_id is not None],
            )

    def staff_chats(self) -> list[int]:
        if self.settings.admin_chat_id is not None:
            return [self.settings.admin_chat_id]
        return list(self.settings.admin_ids)

    async def _send(self, chat_id: int, text: str) -> None:
        try:
            await self.bot.send_message(chat_id, text[:4096])
        except TelegramForbiddenError:
            log.info("chat %s blocked the bot; not messaging it again", chat_id)
            async with self.session_factory() as session:
                await mark_blocked(session, chat_id)


def shopper_status_text(order: Order) -> str:
    """What the shopper is told when their order changes status."""
    number, total = order.number, format_price(order.total)
    texts = {
        OrderStatus.PAID: _("✅ Payment of {total} received. Order №{number} is paid, thank you!"),
        OrderStatus.CANCELLED: _("✖ Order №{number} is cancelled."),
        OrderStatus.EXPIRED: _(
            "⌛ Order №{number} was not paid in time and is cancelled. The items are back on sale."
        ),
        OrderStatus.REFUNDED: _("↩ The money for order №{number} ({total}) is refunded."),
    }
    template = texts.get(order.status) or _("Order №{number}: {status}.")
    return template.format(number=number, total=total, status=status_label(order.status))
