"""The payment provider interface, the values it hands back and its errors.

A provider's answer can pay, cancel or refund an order; the people concerned are told
through the outbox by the unit of work that changed it.
"""

from __future__ import annotations

import enum
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import ClassVar

from sqlalchemy.ext.asyncio import AsyncSession

from shopbot.errors import ShopError
from shopbot.i18n import N_, Text
from shopbot.models import Order, OrderStatus, PaymentStatus
from shopbot.services import orders

# An order's status in a text for the owner, as their screens name it.
STATUS_WORDS = {
    OrderStatus.AWAITING_PAYMENT: N_("awaiting payment"),
    OrderStatus.AWAITING_CONFIRMATION: N_("awaiting confirmation"),
    OrderStatus.PAID: N_("paid"),
    OrderStatus.CONFIRMED: N_("confirmed"),
    OrderStatus.SHIPPED: N_("shipped"),
    OrderStatus.DELIVERED: N_("delivered"),
    OrderStatus.CANCELLED: N_("cancelled"),
    OrderStatus.EXPIRED: N_("expired"),
    OrderStatus.REFUNDED: N_("refunded"),
}


class PaymentError(ShopError):
    """The provider refused a request or could not be asked. ``text`` says why for a person,
    in their language (:mod:`shopbot.i18n`); the exception's message is the English."""

    code = "payment_error"

    def __init__(self, text: Text | str) -> None:
        self.text = text if isinstance(text, Text) else Text("{detail}", {"detail": text})
        super().__init__(self.text.render("en"))


class ProviderUnavailable(PaymentError):
    """The provider could not be reached or failed on its side: try again later."""

    code = "payment_provider_unavailable"


class NotPayable(PaymentError):
    """The order cannot be paid now (already paid, cancelled, expired, or paid by cash)."""

    code = "not_payable"

    def __init__(self, order_id: int, status: OrderStatus) -> None:
        super().__init__(
            Text(
                N_("order {order} is {status}: it cannot be paid now"),
                {"order": order_id, "status": Text(STATUS_WORDS[status])},
            )
        )
        self.order_id = order_id
        self.status = status


@dataclass(frozen=True)
class PaymentLink:
    """Where the shopper pays, and how much (kopecks)."""

    url: str
    amount: int
    provider_payment_id: str


class RefundStatus(enum.StrEnum):
    REFUNDED = "refunded"  # the money went back through the provider
    PENDING = "pending"  # the provider accepted the refund; the order follows when it is done
    MANUAL = "manual"  # this provider cannot refund: the owner returns the money by hand


@dataclass(frozen=True)
class RefundResult:
    status: RefundStatus
    order: Order
    refund_id: str | None = None


@dataclass(frozen=True)
class PaymentReport:
    """What a provider's API says about one of its payments (amounts in kopecks)."""

    provider_payment_id: str
    status: PaymentStatus
    amount: int
    currency: str
    metadata_order_id: str | None
    cancellation_reason: str | None = None
    refunded: int = 0  # returned so far (a payment refunded in full is reported REFUNDED)


class PaymentProvider(ABC):
    name: ClassVar[str]
    # The most it takes in one payment, kopecks; None: no limit of its own. Prices above it
    # are refused, and so is a checkout whose total is above it.
    max_amount: ClassVar[int | None] = None

    @abstractmethod
    async def start(self, session: AsyncSession, order: Order) -> PaymentLink | None:
        """Create (or reuse) the payment of an order awaiting payment; None: no link to follow
        (cash orders wait for the shop, Telegram invoices are sent by the bot)."""

    @abstractmethod
    async def refresh(self, session: AsyncSession, order: Order) -> Order:
        """Ask the provider about the order's payments, apply its answer, return the order."""

    @abstractmethod
    async def cancel(self, session: AsyncSession, order: Order) -> None:
        """Cancel the order's payments still open at the provider (e.g. once it expired)."""

    @abstractmethod
    async def refund(self, session: AsyncSession, order: Order, actor: str) -> RefundResult:
        """Return the money of a paid order through the provider, where it can."""

    async def capture(self, provider_payment_id: str) -> PaymentReport:
        """Take the money of a payment the shopper authorised (two-stage payments)."""
        raise PaymentError(
            Text(N_("{provider} has no two-stage payments to capture"), {"provider": self.name})
        )

    async def follow_refunds(self, session: AsyncSession) -> int:
        """Ask about refunds requested earlier that were still pending and apply how they
        ended; returns how many were asked about. Nothing to ask for a provider whose
        refunds end at once or are made by hand."""
        return 0

    async def close(self) -> None:
        """Release what the provider holds open (an HTTP session); nothing by default."""
        return None


class OfflineProvider(PaymentProvider):
    """A provider shopbot cannot query or instruct: nothing to refresh or cancel, and the
    owner returns money by hand (then marks the order refunded)."""

    async def refresh(self, session: AsyncSession, order: Order) -> Order:
        return await orders.get_order(session, order.id)

    async def cancel(self, session: AsyncSession, order: Order) -> None:
        return None

    async def refund(self, session: AsyncSession, order: Order, actor: str) -> RefundResult:
        await orders.log_event(
            session, order.id, "refund_manual", actor=actor, details={"provider": self.name}
        )
        return RefundResult(RefundStatus.MANUAL, await orders.get_order(session, order.id))
