"""Payments: one provider per shop, chosen by ``PAYMENT_PROVIDER``.

The bot layer builds the provider with :func:`create_provider`; orders change only through
:func:`shopbot.payments.service.apply_payment_state`, whoever reports a payment.
"""

from __future__ import annotations

from shopbot.config import Settings
from shopbot.payments.base import PaymentProvider
from shopbot.payments.cash import CashProvider
from shopbot.payments.telegram import TelegramProvider
from shopbot.payments.yookassa import YooKassaProvider


def create_provider(settings: Settings, *, bot_username: str) -> PaymentProvider:
    """The provider ``settings.payment_provider`` names (``bot_username`` makes YooKassa's
    default return URL, ``https://t.me/<bot_username>``)."""
    if settings.payment_provider == "yookassa":
        return YooKassaProvider(settings, bot_username=bot_username)
    if settings.payment_provider == "telegram":
        return TelegramProvider()
    return CashProvider()
