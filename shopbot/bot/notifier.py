"""The bot's side of :class:`~shopbot.services.notifications.OrderNotifier`: messages to the
shopper (in their language) and to the shop's staff when orders change, delivered from the
outbox (and the question of consent to advertising, ``marketing.MarketingNotifier``).
Telegram's 429, 5xx and network failures become ``RetryLater``; a shopper who blocked the
bot (403) or whose chat is gone is marked unreachable and not messaged again until they
write to the shop."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import NoReturn

from aiogram import Bot
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramNotFound,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shopbot.bot.admin_alerts import (
    alert_attention,
    alert_cancelled_by_shopper,
    alert_low_stock,
    alert_new_order,
    alert_shopper_message,
    alert_shopper_question,
)
from shopbot.bot.clock import shop_clock
from shopbot.bot.i18n import PoI18n
from shopbot.bot.keyboards import consent_keyboard
from shopbot.bot.order_views import order_view, payment_view
from shopbot.bot.paying import offer_payment
from shopbot.bot.render import TEXT_LIMIT, clip, h
from shopbot.bot.restock_alerts import back_in_stock_message, on_sale_message
from shopbot.bot.texts import consent_question, order_placed, status_label
from shopbot.config import Settings
from shopbot.db import unit_of_work
from shopbot.models import Order, OrderMessageKind, OrderStatus, User
from shopbot.money import format_price
from shopbot.payments.base import PaymentProvider
from shopbot.services import catalogue, order_messages, orders, outbox, pricing, stock
from shopbot.services.notifications import LOW_STOCK
from shopbot.services.outbox import RetryLater, Undeliverable
from shopbot.services.users import mark_blocked

log = logging.getLogger(__name__)

# Telegram's words for a message that cannot be edited any more.
_GONE = ("message to edit not found", "message can't be edited", "chat not found")


class BotNotifier:
    """Delivers the order and marketing messages of the outbox through the bot (see
    ``shopbot.services.notifications.OrderNotifier``, ``marketing.MarketingNotifier``). A
    low-stock check follows every new order: the products it brought to the threshold are
    claimed in a unit of work of their own, which records the low-stock alert in the outbox."""

    def __init__(
        self,
        bot: Bot,
        settings: Settings,
        session_factory: async_sessionmaker[AsyncSession],
        i18n: PoI18n,
        provider: PaymentProvider,
    ) -> None:
        self.bot = bot
        self.settings = settings
        self.session_factory = session_factory
        self.i18n = i18n
        self.provider = provider

    async def order_status_changed(
        self,
        order: Order,
        previous: OrderStatus,
        *,
        reason: str | None = None,
        note: str | None = None,
    ) -> None:
        language = await self._shopper_language(order)
        with self._speaking(language):
            await self._follow(order)
            text = shopper_status_text(order, note)
        await self._send_to_shopper(order.user_id, text)

    async def payment_due(self, session: AsyncSession, order: Order) -> None:
        """The link of an order placed online (sent once: the outbox claims the message).
        After a crash the job gets here late: an order paid, cancelled or expired since
        needs no link."""
        if order.status is not OrderStatus.AWAITING_PAYMENT:
            return
        language = await self._shopper_language(order)
        with self._speaking(language), self._to_shopper():
            try:
                sent = await offer_payment(
                    self.bot,
                    order.user_id,
                    session,
                    order,
                    provider=self.provider,
                    settings=self.settings,
                )
            except (TelegramForbiddenError, TelegramNotFound, TelegramBadRequest) as exc:
                await self._unreachable_or_raise(order.user_id, exc)
        if sent is not None:
            await order_messages.remember(
                session, order.id, sent.chat.id, sent.message_id, OrderMessageKind.PAYMENT
            )

    async def payment_failed(self, order: Order, reason: str | None) -> None:
        """The payment was cancelled (by the shopper on the payment page, or refused): the
        order's messages offer to pay again, and the shopper is told, with that button.
        Delivered late (a retry), after the order moved on or was paid for again, only the
        messages are brought up to date."""
        log.info("the payment of order %s did not go through: %s", order.id, reason)
        language = await self._shopper_language(order)
        with self._speaking(language):
            await self._follow(order)
            view = payment_view(order, payment_failed=True)
        async with self.session_factory() as session:
            still_failed = await orders.payment_failed(session, order.id)
        if view is None or order.status is not OrderStatus.AWAITING_PAYMENT or not still_failed:
            return
        text, markup = view
        with self._to_shopper():
            try:
                sent = await self.bot.send_message(order.user_id, text, reply_markup=markup)
            except (TelegramForbiddenError, TelegramNotFound, TelegramBadRequest) as exc:
                await self._unreachable_or_raise(order.user_id, exc)
        async with self.session_factory() as session:
            await order_messages.remember(
                session, order.id, sent.chat.id, sent.message_id, OrderMessageKind.PAYMENT
            )

    async def order_placed_in_app(self, order: Order) -> None:
        """A cash order placed in the Mini App: its chat says so, as Confirm in the chat
        does (an online order's chat gets its payment message instead)."""
        language = await self._shopper_language(order)
        with self._speaking(language):
            text = order_placed(order)
        await self._send_to_shopper(order.user_id, text)

    async def _follow(self, order: Order) -> None:
        """Edit the messages that show the order (its card, its payment link) to say what
        it is now, with the buttons that still apply. One already as it should be is left;
        one deleted or too old to edit is no longer followed."""
        async with self.session_factory() as session:
            gone = []
            failed = await orders.payment_failed(session, order.id)
            for message in await order_messages.of_order(session, order.id):
                view = order_view(order, OrderMessageKind(message.kind), payment_failed=failed)
                if view is None:
                    continue
                text, markup = view
                with self._to_shopper():
                    try:
                        await self.bot.edit_message_text(
                            text=clip(text, TEXT_LIMIT),
                            chat_id=message.chat_id,
                            message_id=message.message_id,
                            reply_markup=markup,
                        )
                    except TelegramBadRequest as exc:
                        problem = exc.message.lower()
                        if "not modified" in problem:
                            continue
                        if not any(sign in problem for sign in _GONE):
                            raise
                        gone.append(message.id)
                    except (TelegramForbiddenError, TelegramNotFound) as exc:
                        await self._unreachable(message.chat_id, exc)
            await order_messages.forget(session, gone)

    @contextmanager
    def _speaking(self, language: str) -> Iterator[None]:
        """Texts rendered inside are in ``language`` and show times on the shop's clock."""
        with (
            self.i18n.context(),
            self.i18n.use_locale(language),
            shop_clock(self.settings.shop_timezone),
        ):
            yield

    async def _shopper_language(self, order: Order) -> str:
        async with self.session_factory() as session:
            user = await session.get(User, order.user_id)
        if user is not None and user.is_blocked:
            raise Undeliverable(f"user {order.user_id} blocked the bot")
        return user.language if user else self.settings.default_language

    async def needs_attention(self, order: Order, reason: str) -> None:
        async with self.session_factory() as session:
            await alert_attention(self.bot, self.settings, session, order, reason)

    async def new_order(self, order: Order) -> None:
        async with self.session_factory() as session:
            await alert_new_order(self.bot, self.settings, session, order)
            threshold = self.settings.low_stock_threshold
            product_ids = [line.product_id for line in order.lines if line.product_id is not None]
            async with unit_of_work(session):
                claimed = await stock.claim_low_stock(session, product_ids, threshold)
                if claimed:
                    products = [dataclasses.asdict(product) for product in claimed]
                    await outbox.record(
                        session, LOW_STOCK, {"threshold": threshold, "products": products}
                    )

    async def low_stock(self, threshold: int, products: list[dict]) -> None:
        async with self.session_factory() as session:
            await alert_low_stock(self.bot, self.settings, session, threshold, products)

    async def cancelled_by_shopper(self, order: Order, outcome: str) -> None:
        async with self.session_factory() as session:
            await alert_cancelled_by_shopper(self.bot, self.settings, session, order, outcome)

    async def shopper_message(self, order: Order, text: str) -> None:
        async with self.session_factory() as session:
            await alert_shopper_message(self.bot, self.settings, session, order, text)

    async def shopper_question(self, user_id: int, text: str) -> None:
        async with self.session_factory() as session:
            await alert_shopper_question(self.bot, self.settings, session, user_id, text)

    async def consent_question(self, session: AsyncSession, user_id: int) -> None:
        """Ask "shall we send you news and discounts?" after the first order; not asked of
        one who answered meanwhile (``/subscribe``, ``/unsubscribe``)."""
        user = await session.get(User, user_id, populate_existing=True)
        if user is None or user.is_blocked:
            raise Undeliverable(f"user {user_id} is gone or blocked the bot")
        if user.marketing_consent is not None:
            return
        with self._speaking(user.language):
            text, markup = consent_question(), consent_keyboard()
        await self._send_to_shopper(user_id, text, markup)

    def speaking(self, language: str) -> AbstractContextManager[None]:
        """:meth:`_speaking`, for the notifiers of other areas (``bot.followups``)."""
        return self._speaking(language)

    async def send_to_shopper(
        self, chat_id: int, text: str, markup: InlineKeyboardMarkup | None = None
    ) -> None:
        """:meth:`_send_to_shopper`, for the notifiers of other areas (``bot.followups``)."""
        await self._send_to_shopper(chat_id, text, markup)

    async def back_in_stock(self, session: AsyncSession, user_id: int, product_id: int) -> None:
        """A favourite for sale again (``restock.RestockNotifier``): advertising, so not to
        one who took their consent back meanwhile; nothing if it sold out or was hidden
        again before this was delivered."""
        user = await session.get(User, user_id, populate_existing=True)
        if user is None or user.is_blocked:
            raise Undeliverable(f"user {user_id} is gone or blocked the bot")
        product = await catalogue.product_detail(session, product_id)
        if not user.marketing_consent or product is None:
            return
        if not product.active or product.stock <= 0:
            return
        with self._speaking(user.language):
            text, markup = back_in_stock_message(product)
        await self._send_to_shopper(user_id, text, markup)

    async def favourite_on_sale(self, session: AsyncSession, user_id: int, product_id: int) -> None:
        """A favourite went on sale (``restock.RestockNotifier``): advertising, so not to one
        who took their consent back meanwhile; nothing if the sale is over or the product
        sold out or was hidden before this was delivered."""
        user = await session.get(User, user_id, populate_existing=True)
        if user is None or user.is_blocked:
            raise Undeliverable(f"user {user_id} is gone or blocked the bot")
        product = await catalogue.product_detail(session, product_id)
        if not user.marketing_consent or product is None:
            return
        if not product.active or product.stock <= 0:
            return
        at = pricing.now()
        if pricing.price_in_effect(product.price, product.sale_price, product.sale_until, at) >= (
            product.price
        ):
            return
        with self._speaking(user.language):
            text, markup = on_sale_message(product)
        await self._send_to_shopper(user_id, text, markup)

    async def _send_to_shopper(
        self, chat_id: int, text: str, markup: InlineKeyboardMarkup | None = None
    ) -> None:
        with self._to_shopper():
            try:
                await self.bot.send_message(chat_id, clip(text, TEXT_LIMIT), reply_markup=markup)
            except (TelegramForbiddenError, TelegramNotFound, TelegramBadRequest) as exc:
                await self._unreachable_or_raise(chat_id, exc)

    @contextmanager
    def _to_shopper(self) -> Iterator[None]:
        """Telegram's 429, 5xx and network failures become ``RetryLater``."""
        try:
            yield
        except TelegramRetryAfter as exc:
            raise RetryLater(str(exc), after=exc.retry_after) from exc
        except (TelegramServerError, TelegramNetworkError) as exc:
            raise RetryLater(str(exc)) from exc

    async def _unreachable_or_raise(self, chat_id: int, exc: TelegramAPIError) -> NoReturn:
        """A shopper who blocked the bot, or whose chat is gone, is unreachable; any other
        refusal is raised."""
        if isinstance(exc, TelegramBadRequest) and "chat not found" not in exc.message.lower():
            raise exc
        await self._unreachable(chat_id, exc)

    async def _unreachable(self, chat_id: int, exc: TelegramAPIError) -> NoReturn:
        log.info("chat %s cannot be messaged (%s): marked unreachable", chat_id, exc.message)
        async with self.session_factory() as session:
            await mark_blocked(session, chat_id)
        raise Undeliverable(exc.message) from exc


def shopper_status_text(order: Order, note: str | None = None) -> str:
    """What the shopper is told when their order changes status; ``note``: the shop's own
    words about it (the reason the owner gave for cancelling), escaped."""
    number, total = order.number, format_price(order.total)
    texts = {
        OrderStatus.PAID: _("✅ Payment of {total} received. Order №{number} is paid, thank you!"),
        OrderStatus.CANCELLED: _("✖ Order №{number} is cancelled."),
        OrderStatus.EXPIRED: _("⌛ Order №{number} was not paid in time and is cancelled."),
        OrderStatus.REFUNDED: _("↩ The money for order №{number} ({total}) is refunded."),
    }
    template = texts.get(order.status) or _("Order №{number}: {status}.")
    text = template.format(number=number, total=total, status=status_label(order.status))
    if note:
        text += "\n" + _("The shop says: {note}").format(note=h(note))
    return text
