"""YooKassa through :class:`~shopbot.payments.yookassa_api.YooKassaClient` (aiohttp, with
timeouts and retries; the official SDK's models check requests and parse answers).

Outgoing POSTs carry idempotence keys derived from what they are for, so a retry (after a
timeout, a crash, a double tap) never creates a second payment, refund or capture.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import timedelta
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from yookassa.domain.response import PaymentResponse

from shopbot import phones
from shopbot.config import Settings, SettingsError
from shopbot.db import unit_of_work
from shopbot.i18n import N_, Text
from shopbot.models import Order, OrderEvent, OrderStatus, Payment, PaymentStatus, utcnow
from shopbot.money import format_price, from_api_value, to_api_value
from shopbot.payments.base import (
    NotPayable,
    PaymentError,
    PaymentLink,
    PaymentProvider,
    PaymentReport,
    ProviderUnavailable,
    RefundResult,
    RefundStatus,
)
from shopbot.payments.service import OPEN_PAYMENTS, Outcome, apply_report, flag_order
from shopbot.payments.yookassa_api import DEFAULT_API_URL, NotFound, YooKassaClient
from shopbot.services import orders
from shopbot.services.discounts import receipt_parts

logger = logging.getLogger(__name__)

S = OrderStatus
P = PaymentStatus

DESCRIPTION_MAX = 128
DELIVERY_ITEM = "Доставка"


REFUND_FOLLOW_UP = timedelta(days=30)  # how long a refund still pending is asked about


class YooKassaProvider(PaymentProvider):
    name = "yookassa"
    # YooKassa's limit for one bank-card payment, 350,000 roubles (yookassa.ru/developers/
    # payment-methods/bank-card: "the maximum amount is 350,000 rubles"); other methods
    # (YooMoney wallets) allow less, so no bigger payment can ever go through.
    max_amount = 350_000_00

    def __init__(
        self, settings: Settings, *, bot_username: str, client: YooKassaClient | None = None
    ) -> None:
        """``client`` replaces the one made from the settings (tests: shorter timeouts)."""
        if not settings.yookassa_shop_id or settings.yookassa_secret_key is None:
            raise SettingsError(
                "YOOKASSA_SHOP_ID and YOOKASSA_SECRET_KEY are required with "
                "PAYMENT_PROVIDER=yookassa"
            )
        self._settings = settings
        self._client = client or YooKassaClient(
            settings.yookassa_shop_id,
            settings.yookassa_secret_key.get_secret_value(),
            api_url=settings.yookassa_api_url or DEFAULT_API_URL,
        )
        self._return_url = settings.yookassa_return_url or f"https://t.me/{bot_username}"

    # -- the provider interface -----------------------------------------------------------

    async def start(self, session: AsyncSession, order: Order) -> PaymentLink:
        """The payment link of an order awaiting payment: the open payment if there is one,
        else a new one. Raises NotPayable, or PaymentError when YooKassa refuses or is down
        (calling again retries with the same idempotence key)."""
        order = await orders.get_order(session, order.id)
        overdue = order.expires_at is not None and order.expires_at <= utcnow()
        if order.status is not S.AWAITING_PAYMENT or overdue:
            raise NotPayable(order.id, order.status)
        payment = await self._attempt(session, order)
        if payment.provider_payment_id is not None and payment.confirmation_url is not None:
            return PaymentLink(
                payment.confirmation_url, payment.amount, payment.provider_payment_id
            )
        created = await self._client.create_payment(
            self._payment_request(order), payment.idempotence_key
        )
        url = created.confirmation.confirmation_url
        async with unit_of_work(session):
            result = await session.execute(
                update(Payment)
                .where(Payment.id == payment.id, Payment.provider_payment_id.is_(None))
                .values(provider_payment_id=created.id, confirmation_url=url, updated_at=utcnow())
            )
            if result.rowcount == 1:  # not already recorded by a concurrent tap
                await orders.log_event(
                    session,
                    order.id,
                    "payment_created",
                    actor=self.name,
                    details={
                        "provider_payment_id": created.id,
                        "idempotence_key": payment.idempotence_key,
                        "amount": payment.amount,
                    },
                )
        return PaymentLink(url, payment.amount, created.id)

    async def refresh(self, session: AsyncSession, order: Order) -> Order:
        """Apply YooKassa's word on the order's open payments and its latest one. A payment
        still open for an order that is no longer awaiting payment is cancelled."""
        payments = list(
            await session.scalars(
                select(Payment)
                .where(
                    Payment.order_id == order.id,
                    Payment.provider == self.name,
                    Payment.provider_payment_id.is_not(None),
                )
                .order_by(Payment.id)
                .execution_options(populate_existing=True)
            )
        )
        to_check = [p for p in payments[:-1] if p.status in OPEN_PAYMENTS] + payments[-1:]
        actor = f"{self.name}:refresh"
        for payment in to_check:
            assert payment.provider_payment_id is not None
            applied = await self._apply_fetched(session, payment.provider_payment_id, actor)
            if applied is None:
                continue
            report, outcome = applied
            if (
                report.status is P.PENDING
                and outcome.order is not None
                and outcome.order.status in (S.EXPIRED, S.CANCELLED)
            ):
                await self._cancel_payment(session, report.provider_payment_id, actor)
        return await orders.get_order(session, order.id)

    async def cancel(self, session: AsyncSession, order: Order) -> None:
        """Cancel the order's open YooKassa payments. One paid meanwhile is applied instead
        (a late payment). Raises ProviderUnavailable when YooKassa cannot be reached."""
        open_ids = list(
            await session.scalars(
                select(Payment.provider_payment_id).where(
                    Payment.order_id == order.id,
                    Payment.provider == self.name,
                    Payment.status.in_(OPEN_PAYMENTS),
                    Payment.provider_payment_id.is_not(None),
                )
            )
        )
        for provider_payment_id in open_ids:
            assert provider_payment_id is not None
            await self._cancel_payment(session, provider_payment_id, f"{self.name}:cancel")

    async def refund(self, session: AsyncSession, order: Order, actor: str) -> RefundResult:
        """Return in full the money of the order's succeeded YooKassa payment; the order then
        becomes refunded where its status allows (a late payment flagged on an expired order
        is refunded too, the order stays expired). Raises PaymentError when there is no such
        payment (e.g. refunded already) or YooKassa refuses."""
        order = await orders.get_order(session, order.id)
        payment = await session.scalar(
            select(Payment)
            .where(
                Payment.order_id == order.id,
                Payment.provider == self.name,
                Payment.status == P.SUCCEEDED,
            )
            .order_by(Payment.id.desc())
            .limit(1)
            .execution_options(populate_existing=True)
        )
        if payment is None or payment.provider_payment_id is None:
            raise PaymentError(
                Text(N_("order {order} has no YooKassa payment to refund"), {"order": order.id})
            )
        params: dict[str, Any] = {
            "payment_id": payment.provider_payment_id,
            "amount": {"value": to_api_value(payment.amount), "currency": payment.currency},
            "description": f"Возврат по заказу №{order.number or order.id}",
        }
        if self._settings.yookassa_receipts:
            params["receipt"] = build_receipt(order, self._settings)
        # One idempotence key per attempt: a retry of the same tap gets the same refund, but
        # after YooKassa cancelled one, the same key would only return the cancelled refund.
        ended = await session.scalar(
            select(func.count())
            .select_from(OrderEvent)
            .where(OrderEvent.order_id == order.id, OrderEvent.kind == "refund_settled")
        )
        key = f"refund-{payment.provider_payment_id}" + (f"-{ended}" if ended else "")
        created = await self._client.create_refund(params, key)
        await orders.log_event(
            session,
            order.id,
            "refund_requested",
            actor=actor,
            details={
                "provider_payment_id": payment.provider_payment_id,
                "refund_id": created.id,
                "refund_status": created.status,
            },
        )
        applied = await self._apply_fetched(session, payment.provider_payment_id, actor)
        refunded = applied is not None and applied[0].status is P.REFUNDED
        return RefundResult(
            RefundStatus.REFUNDED if refunded else RefundStatus.PENDING,
            await orders.get_order(session, order.id),
            created.id,
        )

    async def follow_refunds(self, session: AsyncSession) -> int:
        """Ask about the refunds this shop requested that were still pending, for up to
        ``REFUND_FOLLOW_UP``. One that went through refunds the order (its notification may
        have been lost); one YooKassa cancelled flags the order, since the money did not go
        back and YooKassa notifies nobody of that. Each ending is applied once and logged as
        ``refund_settled``."""
        events = list(
            await session.scalars(
                select(OrderEvent)
                .where(
                    OrderEvent.kind.in_(("refund_requested", "refund_settled")),
                    OrderEvent.at >= utcnow() - REFUND_FOLLOW_UP,
                )
                .order_by(OrderEvent.id)
            )
        )
        settled = {(e.details or {}).get("refund_id") for e in events if e.kind == "refund_settled"}
        waiting = [
            (event.order_id, details["refund_id"])
            for event in events
            if event.kind == "refund_requested"
            and (details := event.details or {}).get("refund_status") != "succeeded"
            and details.get("refund_id") not in settled
        ]
        actor = f"{self.name}:refresh"
        for order_id, refund_id in waiting:
            try:
                refund = await self._client.get_refund(refund_id)
            except NotFound:
                logger.warning("YooKassa does not know refund %s (order %s)", refund_id, order_id)
                continue
            if refund.status == "pending":
                continue
            if refund.status == "succeeded":
                # Applied in a unit of its own (a rerun after a crash applies nothing twice).
                await self._apply_fetched(session, refund.payment_id, actor)
            async with unit_of_work(session):
                if refund.status != "succeeded":
                    details = refund.cancellation_details
                    why = details.reason if details is not None else refund.status
                    reason = Text(
                        N_(
                            "refund {refund} was cancelled by YooKassa ({why}): the money did "
                            "not go back to the shopper"
                        ),
                        {"refund": refund_id, "why": why},
                    )
                    order = await orders.get_order(session, order_id)
                    await flag_order(session, order, reason, actor, {"refund_id": refund_id})
                await orders.log_event(
                    session,
                    order_id,
                    "refund_settled",
                    actor=actor,
                    details={"refund_id": refund_id, "refund_status": refund.status},
                )
        return len(waiting)

    async def close(self) -> None:
        """Close the client's HTTP session."""
        await self._client.close()

    async def capture(self, provider_payment_id: str) -> PaymentReport:
        captured = await self._client.capture_payment(
            provider_payment_id, f"capture-{provider_payment_id}"
        )
        return _report(captured)

    # -- reading the truth ----------------------------------------------------------------

    async def fetch_payment(self, provider_payment_id: str) -> PaymentReport | None:
        """What the API says about a payment; None if YooKassa does not know it."""
        try:
            return _report(await self._client.get_payment(provider_payment_id))
        except NotFound:
            return None

    async def notification_report(self, event: str, object_id: str) -> PaymentReport | None:
        """The API's word on the payment a notification is about (for ``refund.*`` events,
        the refund's payment). None when YooKassa knows no such object."""
        if event.startswith("refund."):
            try:
                refund = await self._client.get_refund(object_id)
            except NotFound:
                return None
            object_id = refund.payment_id
        return await self.fetch_payment(object_id)

    # -- internals ------------------------------------------------------------------------

    async def _attempt(self, session: AsyncSession, order: Order) -> Payment:
        """The payment row to use: the latest if still pending, else a new attempt (after a
        cancelled one). Decided under the order's row lock, so concurrent starts (double
        taps, the outbox and a tap, several processes) share one attempt; the row and its
        idempotence key exist before YooKassa is asked."""
        async with unit_of_work(session):
            status = await orders.locked_status(session, order.id)
            if status is not S.AWAITING_PAYMENT:
                raise NotPayable(order.id, status)
            latest = await session.scalar(
                select(Payment)
                .where(Payment.order_id == order.id)
                .order_by(Payment.id.desc())
                .limit(1)
                .execution_options(populate_existing=True)
            )
            if latest is not None and latest.status is P.PENDING:
                return latest
            if latest is not None and latest.status is not P.CANCELED:
                raise NotPayable(order.id, status)  # paid already; the order will follow
            attempts = await session.scalar(
                select(func.count()).select_from(Payment).where(Payment.order_id == order.id)
            )
            payment = await session.scalar(
                insert(Payment)
                .values(
                    order_id=order.id,
                    provider=self.name,
                    status=P.PENDING,
                    amount=order.total,
                    currency=order.currency,
                    idempotence_key=idempotence_key(order, (attempts or 0) + 1),
                )
                .returning(Payment)
            )
        assert payment is not None
        return payment

    def _payment_request(self, order: Order) -> dict[str, Any]:
        params: dict[str, Any] = {
            "amount": {"value": to_api_value(order.total), "currency": order.currency},
            "confirmation": {"type": "redirect", "return_url": self._return_url},
            "capture": True,
            "description": f"Заказ №{order.number or order.id}"[:DESCRIPTION_MAX],
            "metadata": {"order_id": str(order.id)},
        }
        if self._settings.yookassa_receipts:
            params["receipt"] = build_receipt(order, self._settings)
        return params

    async def _apply_fetched(
        self, session: AsyncSession, provider_payment_id: str, actor: str
    ) -> tuple[PaymentReport, Outcome] | None:
        """Fetch a payment and apply it; None (logged) if YooKassa does not know it."""
        report = await self.fetch_payment(provider_payment_id)
        if report is None:
            logger.warning("YooKassa does not know payment %s", provider_payment_id)
            return None
        outcome = await apply_report(session, report, provider=self, actor=actor)
        return report, outcome

    async def _cancel_payment(
        self, session: AsyncSession, provider_payment_id: str, actor: str
    ) -> None:
        try:
            canceled = await self._client.cancel_payment(
                provider_payment_id, f"cancel-{provider_payment_id}"
            )
        except ProviderUnavailable:
            raise
        except PaymentError as exc:
            # Typically paid a moment ago: apply what it is now (a late payment).
            logger.info("YooKassa refused to cancel %s: %s", provider_payment_id, exc)
            await self._apply_fetched(session, provider_payment_id, actor)
            return
        await apply_report(session, _report(canceled), provider=self, actor=actor)


def idempotence_key(order: Order, attempt: int) -> str:
    """The key of one payment attempt. The checkout token's digest keeps keys unique
    across databases (a reset database reuses order ids; YooKassa remembers keys)."""
    digest = hashlib.sha256(order.checkout_token.encode()).hexdigest()[:16]
    return f"shopbot-{order.id}-{attempt}-{digest}"


def build_receipt(order: Order, settings: Settings) -> dict[str, Any]:
    """The 54-FZ receipt for an order: one item per line, two for a discounted line that
    needs them (plus delivery, if charged).

    Raises PaymentError if the items do not add up to the order total exactly: YooKassa
    would refuse the payment, and a receipt must never disagree with what was charged.
    """
    item_total = 0
    items: list[dict[str, Any]] = []

    def add(description: str, unit_price: int, quantity: int, vat_code: int, subject: str) -> None:
        nonlocal item_total
        item_total += unit_price * quantity
        items.append(
            {
                "description": description[:DESCRIPTION_MAX],
                "quantity": str(quantity),
                "amount": {"value": to_api_value(unit_price), "currency": order.currency},
                "vat_code": vat_code,
                "payment_subject": subject,
                "payment_mode": settings.yookassa_payment_mode,
            }
        )

    for line in order.lines:
        # A promo code's share of the line is taken off its unit prices: a line whose
        # discounted total does not divide by its quantity is two items (receipt_parts).
        for unit_price, quantity in receipt_parts(
            line.unit_price, line.quantity, line.discount or 0
        ):
            add(
                line.name,
                unit_price,
                quantity,
                line.vat_code or settings.yookassa_vat_code,
                settings.yookassa_payment_subject,
            )
    if order.delivery_price:
        add(DELIVERY_ITEM, order.delivery_price, 1, settings.yookassa_vat_code, "service")
    if item_total != order.total:
        raise PaymentError(
            Text(
                N_("order {order}: receipt items add up to {items}, the order total is {total}"),
                {
                    "order": order.id,
                    "items": format_price(item_total),
                    "total": format_price(order.total),
                },
            )
        )
    receipt: dict[str, Any] = {
        "customer": {"phone": receipt_phone(order.contact_phone)},
        "items": items,
    }
    if settings.yookassa_tax_system_code is not None:
        receipt["tax_system_code"] = settings.yookassa_tax_system_code
    return receipt


def receipt_phone(phone: str) -> str:
    """The order's phone as a 54-FZ receipt wants it, digits with the country code:
    ``+79001234567`` -> ``79001234567`` (see :func:`shopbot.phones.receipt_phone`)."""
    digits = phones.receipt_phone(phone)
    if digits is None:
        raise PaymentError(Text(N_("the order's contact phone is not a valid phone number")))
    return digits


def _report(payment: PaymentResponse) -> PaymentReport:
    """A payment object as a report. A fully refunded payment stays ``succeeded`` at
    YooKassa (with ``refunded_amount``); for us it is refunded."""
    amount = from_api_value(payment.amount.value)
    status = PaymentStatus(payment.status)
    returned = payment.refunded_amount
    refunded = from_api_value(returned.value) if returned is not None else 0
    if status is P.SUCCEEDED and refunded >= amount:
        status = P.REFUNDED
    details = payment.cancellation_details
    return PaymentReport(
        provider_payment_id=payment.id,
        status=status,
        amount=amount,
        currency=payment.amount.currency,
        metadata_order_id=(payment.metadata or {}).get("order_id"),
        cancellation_reason=details.reason if details is not None else None,
        refunded=refunded,
    )
