"""The shop's data: SQLAlchemy 2 typed models. Money columns are integer kopecks."""

from __future__ import annotations

import enum
import unicodedata
from datetime import UTC, datetime
from typing import ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    DateTime,
    Enum,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    event,
    false,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

from shopbot.services.text import natural_key

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


MAX_ID = 2**31 - 1  # ids are 32-bit integers in the database


def utcnow() -> datetime:
    return datetime.now(UTC)


def sku_key(sku: str) -> str:
    """The form SKUs are matched and kept unique by: ``tsh-001`` is ``TSH-001``.

    Folded here rather than by the database (SQLite's lower() folds ASCII only), so both
    databases agree; ``Product.sku`` keeps the spelling the owner gave.
    """
    return unicodedata.normalize("NFKC", sku).casefold()


def _sku_key_default(context: object) -> str:
    return sku_key(context.get_current_parameters()["sku"])  # type: ignore[attr-defined]


def _name_key_default(context: object) -> bytes:
    return natural_key(context.get_current_parameters()["name"])  # type: ignore[attr-defined]


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite would hand back naive ones)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; shopbot stores UTC-aware datetimes only")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar = {datetime: UTCDateTime()}


class OrderStatus(enum.StrEnum):
    AWAITING_PAYMENT = "awaiting_payment"
    AWAITING_CONFIRMATION = "awaiting_confirmation"
    PAID = "paid"
    CONFIRMED = "confirmed"
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    CANCELLED = "cancelled"
    EXPIRED = "expired"
    REFUNDED = "refunded"


class ConsentSource(enum.StrEnum):
    """How a shopper gave or took back their consent to advertising."""

    AFTER_FIRST_ORDER = "after_first_order"  # the question sent after their first order
    MENU = "menu"  # the button under /help
    COMMAND = "command"  # /subscribe, /unsubscribe
    PROMO_MESSAGE = "promo_message"  # "Unsubscribe" under a promotional message


class DeliveryMethod(enum.StrEnum):
    PICKUP = "pickup"
    COURIER = "courier"


class PaymentStatus(enum.StrEnum):
    PENDING = "pending"
    WAITING_FOR_CAPTURE = "waiting_for_capture"
    SUCCEEDED = "succeeded"
    CANCELED = "canceled"
    REFUNDED = "refunded"


def _enum(cls: type[enum.StrEnum], name: str) -> Enum:
    # Stored as plain strings with a CHECK, so adding a status later is a simple migration.
    return Enum(
        cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=32,
        values_callable=lambda members: [m.value for m in members],
    )


class Category(Base):
    __tablename__ = "category"

    id: Mapped[int] = mapped_column(primary_key=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("category.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(128))
    path: Mapped[str] = mapped_column(String(512), unique=True)
    position: Mapped[int] = mapped_column(default=0)

    parent: Mapped[Category | None] = relationship(remote_side=[id])


class Product(Base):
    __tablename__ = "product"
    __table_args__ = (
        CheckConstraint("price >= 0", name="price_non_negative"),
        CheckConstraint("stock >= 0", name="stock_non_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    sku: Mapped[str] = mapped_column(String(64), unique=True)
    # sku_key(sku), unique: SKUs differing only in case are one product. Filled from ``sku``
    # on insert (SKUs are never changed afterwards); a raw insert must give it.
    sku_key: Mapped[str] = mapped_column(Text, unique=True, default=_sku_key_default)
    name: Mapped[str] = mapped_column(String(256))
    # natural_key(name): lists sort by it. Filled from ``name`` on insert and when the ORM
    # sets ``name``; an UPDATE of the name in Core must set it too (the importer does).
    name_key: Mapped[bytes] = mapped_column(LargeBinary, default=_name_key_default)
    # The owner's place for it in lists (the CSV's ``position``); None: by name.
    position: Mapped[int | None] = mapped_column(Integer)
    # More words search finds it by (the CSV's ``keywords``: "оверсайз, толстовка").
    keywords: Mapped[str] = mapped_column(Text, default="", server_default="")
    description: Mapped[str] = mapped_column(Text, default="")
    price: Mapped[int] = mapped_column(BigInteger)
    # A sale: this price instead of ``price`` until ``sale_until`` (None: until turned off).
    # The price in effect is worked out from the clock on every read
    # (shopbot.services.pricing), so a sale ends on time without a job touching the row.
    sale_price: Mapped[int | None] = mapped_column(BigInteger)
    sale_until: Mapped[datetime | None] = mapped_column()
    stock: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(default=True)
    category_id: Mapped[int | None] = mapped_column(
        ForeignKey("category.id", ondelete="SET NULL"), index=True
    )
    vat_code: Mapped[int | None] = mapped_column(Integer)
    # Lower-cased (casefolded) name + SKU + description: SQLite's LIKE/lower fold ASCII only.
    search_text: Mapped[str] = mapped_column(Text, default="")
    low_stock_alerted: Mapped[bool] = mapped_column(default=False)
    # Variants (see shopbot.services.variants): a variant is a product of its own (SKU,
    # stock, price, photos) whose parent is the product shoppers see; option1/option2 name
    # the choice ("M", "чёрный"). None on ordinary products and on parents.
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("product.id", ondelete="CASCADE"), index=True
    )
    option1: Mapped[str | None] = mapped_column(String(64))
    option2: Mapped[str | None] = mapped_column(String(64))
    # Seen sold out by the favourites' watch: its return to stock is told to the shoppers
    # who keep it (shopbot.services.restock), once per return.
    sold_out_seen: Mapped[bool] = mapped_column(server_default=false())
    # Its sale in force was told to the shoppers who keep it (shopbot.services.restock),
    # once per sale: cleared when the sale ends, so the next one is told again.
    sale_seen: Mapped[bool] = mapped_column(server_default=false())
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow, index=True)

    category: Mapped[Category | None] = relationship()
    images: Mapped[list[ProductImage]] = relationship(
        order_by="ProductImage.position", cascade="all, delete-orphan", lazy="selectin"
    )


@event.listens_for(Product.name, "set")
def _name_set(target: Product, value: str, _old: object, _initiator: object) -> None:
    target.name_key = natural_key(value)


class ProductImage(Base):
    __tablename__ = "product_image"
    __table_args__ = (UniqueConstraint("product_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("product.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(default=0)
    path: Mapped[str] = mapped_column(String(256))
    source: Mapped[str] = mapped_column(String(1024), default="")
    telegram_file_id: Mapped[str | None] = mapped_column(String(256))


class User(Base):
    __tablename__ = "user_account"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    first_name: Mapped[str] = mapped_column(String(256), default="")
    last_name: Mapped[str | None] = mapped_column(String(256))
    username: Mapped[str | None] = mapped_column(String(64))
    language: Mapped[str] = mapped_column(String(8), default="ru")
    phone: Mapped[str | None] = mapped_column(String(32))
    # Telegram refused a message (403, chat gone): unreachable until they write again.
    is_blocked: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Consent to advertising: None until they answer; the answer in force, when and how it
    # was given (every change is in ``consent_event``). Service messages never depend on it.
    marketing_consent: Mapped[bool | None] = mapped_column()
    marketing_consent_at: Mapped[datetime | None] = mapped_column()
    marketing_consent_source: Mapped[ConsentSource | None] = mapped_column(
        _enum(ConsentSource, "consent_source")
    )
    # When the question after the first order was recorded: it is asked once.
    consent_asked_at: Mapped[datetime | None] = mapped_column()


class ConsentEvent(Base):
    """Append-only: each time a shopper gave or took back consent to advertising, and how."""

    __tablename__ = "consent_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[datetime] = mapped_column(default=utcnow)
    granted: Mapped[bool] = mapped_column()
    source: Mapped[ConsentSource] = mapped_column(_enum(ConsentSource, "consent_source"))


class CartLine(Base):
    __tablename__ = "cart_line"
    __table_args__ = (
        UniqueConstraint("user_id", "product_id"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    product_id: Mapped[int] = mapped_column(ForeignKey("product.id", ondelete="CASCADE"))
    quantity: Mapped[int] = mapped_column(Integer)
    added_at: Mapped[datetime] = mapped_column(default=utcnow)

    product: Mapped[Product] = relationship(lazy="joined")


class Favourite(Base):
    """A product a shopper keeps to come back to (♡ on its card)."""

    __tablename__ = "favourite"

    user_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True
    )
    product_id: Mapped[int] = mapped_column(
        ForeignKey("product.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    added_at: Mapped[datetime] = mapped_column(default=utcnow)


class Order(Base):
    __tablename__ = "shop_order"
    __table_args__ = (
        CheckConstraint("total >= 0", name="total_non_negative"),
        Index("ix_shop_order_status_expires_at", "status", "expires_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str | None] = mapped_column(String(32), unique=True)
    user_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("user_account.id", ondelete="RESTRICT"), index=True
    )
    checkout_token: Mapped[str] = mapped_column(String(64), unique=True)
    status: Mapped[OrderStatus] = mapped_column(_enum(OrderStatus, "order_status"))
    subtotal: Mapped[int] = mapped_column(BigInteger)
    # A promo code's discount off the goods (total = subtotal - discount + delivery_price),
    # spread over the lines to the kopeck (OrderLine.discount); the code as it was applied.
    discount: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    promo_code_id: Mapped[int | None] = mapped_column(Integer, index=True)
    promo_code: Mapped[str | None] = mapped_column(String(32))
    delivery_price: Mapped[int] = mapped_column(BigInteger, default=0)
    total: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3), default="RUB")
    contact_name: Mapped[str] = mapped_column(String(256))
    contact_phone: Mapped[str] = mapped_column(String(32))
    delivery_method: Mapped[DeliveryMethod] = mapped_column(_enum(DeliveryMethod, "delivery"))
    delivery_address: Mapped[str | None] = mapped_column(Text)
    # The DELIVERY_OPTIONS entry chosen, as it was: its name (None: plain pickup/courier)
    # and a pickup point's address and hours. delivery_price is what it cost.
    delivery_option: Mapped[str | None] = mapped_column(String(64))
    pickup_point: Mapped[str | None] = mapped_column(Text)
    comment: Mapped[str | None] = mapped_column(Text)
    payment_provider: Mapped[str] = mapped_column(String(32), default="cash")
    # Set when something needs the owner's eyes (amount mismatch, paid after expiry, ...).
    attention: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column()
    paid_at: Mapped[datetime | None] = mapped_column()

    lines: Mapped[list[OrderLine]] = relationship(
        order_by="OrderLine.id", cascade="all, delete-orphan", lazy="selectin"
    )


class OrderLine(Base):
    __tablename__ = "order_line"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("unit_price >= 0", name="unit_price_non_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(
        ForeignKey("shop_order.id", ondelete="CASCADE"), index=True
    )
    product_id: Mapped[int | None] = mapped_column(ForeignKey("product.id", ondelete="SET NULL"))
    sku: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(256))
    unit_price: Mapped[int] = mapped_column(BigInteger)
    quantity: Mapped[int] = mapped_column(Integer)
    vat_code: Mapped[int | None] = mapped_column(Integer)
    # This line's share of the order's discount, kopecks (for all its units together).
    discount: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")

    @property
    def line_total(self) -> int:
        """What the line costs before the discount."""
        return self.unit_price * self.quantity

    @property
    def paid_total(self) -> int:
        """What the line costs after its share of the discount."""
        return self.unit_price * self.quantity - (self.discount or 0)  # None: not yet stored


class Payment(Base):
    __tablename__ = "payment"
    __table_args__ = (CheckConstraint("amount >= 0", name="amount_non_negative"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(
        ForeignKey("shop_order.id", ondelete="CASCADE"), index=True
    )
    provider: Mapped[str] = mapped_column(String(32))
    provider_payment_id: Mapped[str | None] = mapped_column(String(128), unique=True)
    status: Mapped[PaymentStatus] = mapped_column(_enum(PaymentStatus, "payment_status"))
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3), default="RUB")
    idempotence_key: Mapped[str] = mapped_column(String(64), unique=True)
    confirmation_url: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class OrderMessageKind(enum.StrEnum):
    SUMMARY = "summary"  # the checkout summary, turned into the order's card at Confirm
    CARD = "card"  # the order's card opened from the shopper's list of orders
    PAYMENT = "payment"  # the message with the payment link


class OrderMessage(Base):
    """A message in a chat that describes an order: it is edited when the order changes,
    so its text and buttons follow what can still be done (see ``BotNotifier``)."""

    __tablename__ = "order_message"
    __table_args__ = (UniqueConstraint("chat_id", "message_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(
        ForeignKey("shop_order.id", ondelete="CASCADE"), index=True
    )
    chat_id: Mapped[int] = mapped_column(BigInteger)
    message_id: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(16))  # an OrderMessageKind
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class OrderEvent(Base):
    """Append-only: who did what to an order, and when."""

    __tablename__ = "order_event"
    # The reconciler looks up recent events of a kind (refunds still pending) on every pass.
    __table_args__ = (Index("ix_order_event_kind_at", "kind", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(
        ForeignKey("shop_order.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(32))
    from_status: Mapped[str | None] = mapped_column(String(32))
    to_status: Mapped[str | None] = mapped_column(String(32))
    details: Mapped[dict | None] = mapped_column(JSON)


class StockEvent(Base):
    """Append-only: every stock change made by a person or a process, with the reason."""

    __tablename__ = "stock_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(
        ForeignKey("product.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(String(32))
    old_stock: Mapped[int | None] = mapped_column(Integer)
    new_stock: Mapped[int | None] = mapped_column(Integer)
    delta: Mapped[int] = mapped_column(Integer)


class FsmState(Base):
    """A conversation's step and data (aiogram FSM), keyed by bot/chat/user."""

    __tablename__ = "fsm_state"

    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    state: Mapped[str | None] = mapped_column(String(255))
    data: Mapped[dict | None] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class ProductEvent(Base):
    """Append-only: price, name and visibility changes of a product, with who made them."""

    __tablename__ = "product_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(
        ForeignKey("product.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(64))
    # "price" | "name" | "hidden" | "shown" | "created" (new_value: the price)
    kind: Mapped[str] = mapped_column(String(32))
    old_value: Mapped[str | None] = mapped_column(Text)  # a name is up to 256 characters
    new_value: Mapped[str | None] = mapped_column(Text)


class ShopPreference(Base):
    """Something the shop remembers about how its owner works, by key (e.g. the language
    of the headers of the last catalogue imported, which /export writes back)."""

    __tablename__ = "shop_preference"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class OutboxMessage(Base):
    """A message to a person recorded in the same transaction as the change it tells of,
    delivered after the commit (see ``shopbot.services.outbox``).

    ``dedupe_key`` makes recording the same event twice store it once. A row is claimed for
    delivery until ``claimed_until``; ``sent_at`` or ``given_up_at`` ends it.
    """

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    payload: Mapped[dict] = mapped_column(JSON)
    dedupe_key: Mapped[str | None] = mapped_column(String(128), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    available_at: Mapped[datetime] = mapped_column(default=utcnow)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    claimed_until: Mapped[datetime | None] = mapped_column()
    sent_at: Mapped[datetime | None] = mapped_column()
    given_up_at: Mapped[datetime | None] = mapped_column()
    last_error: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (Index("ix_outbox_due", "sent_at", "given_up_at", "available_at"),)


class HandledUpdate(Base):
    """A Telegram update whose changes committed, recorded in the same transaction (see
    :mod:`shopbot.services.updates`): Telegram sends an update again when its answer was
    late or lost, and the redelivery must not act twice. Kept for two days (Telegram keeps
    an undelivered update for one)."""

    __tablename__ = "handled_update"

    update_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    handled_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    # What the update had yet to do when its change committed: the Bot API calls it made
    # next (its reply) and the conversation state it set, for a redelivery to do instead.
    effects: Mapped[dict | None] = mapped_column(JSON)


class SearchSynonym(Base):
    """An owner's "these words mean the same" for search (``/synonyms толстовка = худи``):
    the two words folded, ``first`` the one that sorts first."""

    __tablename__ = "search_synonym"
    __table_args__ = (UniqueConstraint("first", "second"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    first: Mapped[str] = mapped_column(String(64))
    second: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(64))


class SearchDocument(Base):
    """A product as search sees it, analysed where it changes (``shopbot.search.documents``):
    ``terms`` holds each index key of its SKU, name, keywords, category path and description
    under the weight of the heaviest field it is in; ``source`` is a digest of those texts,
    so an unchanged product is not analysed again. Written by the unit of work that changes
    the texts (import, /keywords) and by ``shopbot reindex``. Products only, not variants:
    a variant's SKU and options are among its parent's texts."""

    __tablename__ = "search_document"

    product_id: Mapped[int] = mapped_column(
        ForeignKey("product.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    source: Mapped[str] = mapped_column(String(32))
    terms: Mapped[str] = mapped_column(Text)
    indexed_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class MeaningVector(Base):
    """The sentence embedding of a product's or FAQ entry's text (``shopbot.search.meaning``):
    ``vector`` is float32 bytes, ``source`` the digest of the text it was computed from and
    ``model`` the model that computed it, so a changed text or another model is computed
    again. Written by a background pass, never by the unit of work that changes the text;
    a row whose product or entry is gone is removed by the next pass."""

    __tablename__ = "meaning_vector"

    kind: Mapped[str] = mapped_column(String(8), primary_key=True)  # "product" or "faq"
    item_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    source: Mapped[str] = mapped_column(String(32))
    model: Mapped[str] = mapped_column(String(200))
    vector: Mapped[bytes] = mapped_column(LargeBinary)
    computed_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class FaqEntry(Base):
    """A common question and its answer, kept by the owner (``shopbot.services.faq``).

    Entries are matched by ``question_key`` (the question folded, see :func:`faq_key`) when a
    new FAQ file replaces the old one; ``position`` is the order they came in.
    """

    __tablename__ = "faq_entry"

    id: Mapped[int] = mapped_column(primary_key=True)
    topic: Mapped[str] = mapped_column(String(128))
    question: Mapped[str] = mapped_column(String(512))
    question_key: Mapped[str] = mapped_column(String(512), unique=True)
    answer: Mapped[str] = mapped_column(Text)
    position: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


def faq_key(question: str) -> str:
    """The form questions are matched by: case, ``ё`` and runs of spaces do not count."""
    folded = unicodedata.normalize("NFKC", question).casefold().replace("ё", "е")
    return " ".join(folded.split())


class RatingKind(enum.StrEnum):
    """What a shopper is asked to rate."""

    ORDER = "order"  # an order that reached its final status (delivered)
    SERVICE = "service"  # a support conversation, when it was closed


class Rating(Base):
    """One "rate us" question to a shopper and its answer (``shopbot.services.ratings``).

    ``subject_id`` is the order's id, or the conversation's: one question per subject ever
    (the unique constraint), answered once (``score`` set by a conditional update)."""

    __tablename__ = "rating"
    __table_args__ = (
        UniqueConstraint("kind", "subject_id"),
        CheckConstraint("score IS NULL OR (score >= 1 AND score <= 5)", name="score_range"),
        Index("ix_rating_kind_rated_at", "kind", "rated_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[RatingKind] = mapped_column(_enum(RatingKind, "rating_kind"))
    subject_id: Mapped[int] = mapped_column(BigInteger)
    user_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    # Service ratings: the staff member who answered (a Telegram user id).
    staff_id: Mapped[int | None] = mapped_column(BigInteger)
    asked_at: Mapped[datetime] = mapped_column(default=utcnow)
    score: Mapped[int | None] = mapped_column(Integer)
    rated_at: Mapped[datetime | None] = mapped_column()
    comment: Mapped[str | None] = mapped_column(Text)
    commented_at: Mapped[datetime | None] = mapped_column()


class CartWatch(Base):
    """A shopper's cart as the forgotten-cart pass last saw it (``services.reminders``):
    ``state`` is a digest of its lines, ``since`` when it took that state, ``reminded_at``
    when that state was reminded (at most once; a new state clears it)."""

    __tablename__ = "cart_watch"

    user_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True
    )
    state: Mapped[str] = mapped_column(String(64))
    since: Mapped[datetime] = mapped_column()
    reminded_at: Mapped[datetime | None] = mapped_column()


class CartReminder(Base):
    """Append-only: each forgotten-cart reminder recorded, once per cart state (the unique
    constraint), and when Telegram took it (``sent_at``; None: not delivered)."""

    __tablename__ = "cart_reminder"
    __table_args__ = (
        UniqueConstraint("user_id", "cart_since"),
        Index("ix_cart_reminder_recorded_at", "recorded_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("user_account.id", ondelete="CASCADE")
    )
    cart_state: Mapped[str] = mapped_column(String(64))
    cart_since: Mapped[datetime] = mapped_column()
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column()


class PromoKind(enum.StrEnum):
    PERCENT = "percent"  # ``amount`` per cent off the goods the code applies to
    FIXED = "fixed"  # ``amount`` kopecks off them


class PromoCode(Base):
    """A promo code the owner made (``/promo``). ``uses`` counts the orders holding it; a
    checkout takes a use by a conditional UPDATE that keeps it within ``max_uses``, and an
    order that is cancelled or expires gives its use back (``shopbot.services.promo``); a
    late payment of such an order takes it again even past the limit (it was paid so)."""

    __tablename__ = "promo_code"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("uses >= 0", name="uses_non_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)  # upper-cased
    kind: Mapped[PromoKind] = mapped_column(_enum(PromoKind, "promo_kind"))
    amount: Mapped[int] = mapped_column(BigInteger)  # per cent, or kopecks
    min_total: Mapped[int | None] = mapped_column(BigInteger)  # goods, before the discount
    starts_at: Mapped[datetime | None] = mapped_column()
    ends_at: Mapped[datetime | None] = mapped_column()
    max_uses: Mapped[int | None] = mapped_column(Integer)
    uses: Mapped[int] = mapped_column(Integer, default=0)
    once_per_shopper: Mapped[bool] = mapped_column(default=False)
    first_order_only: Mapped[bool] = mapped_column(default=False)
    # Only goods of this category (and the categories under it) are discounted.
    category_id: Mapped[int | None] = mapped_column(ForeignKey("category.id", ondelete="SET NULL"))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(64))


class PromoUse(Base):
    """An order holding a use of a promo code; deleted when the use is given back.
    ``once_key`` is the shopper's id for a once-per-shopper code (else None), so the
    unique pair lets a shopper hold such a code on one order at a time, race or not."""

    __tablename__ = "promo_use"
    __table_args__ = (UniqueConstraint("promo_code_id", "once_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    promo_code_id: Mapped[int] = mapped_column(
        ForeignKey("promo_code.id", ondelete="CASCADE"), index=True
    )
    order_id: Mapped[int] = mapped_column(
        ForeignKey("shop_order.id", ondelete="CASCADE"), unique=True
    )
    user_id: Mapped[int] = mapped_column(BigInteger)
    once_key: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SupportSubject(enum.StrEnum):
    """What a shopper asks a person about: it routes the conversation to its employees."""

    ORDER = "order"
    DELIVERY = "delivery"  # delivery and payment
    PRODUCT = "product"
    RETURN = "return"  # a return or a complaint
    OTHER = "other"


class ConversationStatus(enum.StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class SupportStaff(Base):
    """An employee who answers shoppers (``/staff``), and the subjects they are responsible
    for (empty: none in particular; admins answer anyway)."""

    __tablename__ = "support_staff"

    user_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    first_name: Mapped[str] = mapped_column(String(256), default="")
    username: Mapped[str | None] = mapped_column(String(64))
    subjects: Mapped[list[str]] = mapped_column(JSON, default=list)
    added_at: Mapped[datetime] = mapped_column(default=utcnow)
    added_by: Mapped[int] = mapped_column(BigInteger)


class SupportTopic(Base):
    """The staff group's topic of a shopper: created once, reused for every later
    conversation, replaced when staff deleted it."""

    __tablename__ = "support_topic"
    __table_args__ = (UniqueConstraint("chat_id", "thread_id"),)

    user_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True
    )
    chat_id: Mapped[int] = mapped_column(BigInteger)
    thread_id: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SupportConversation(Base):
    """A shopper's conversation with the staff, from the hand-off to its close. At most one
    is open per shopper (a partial unique index)."""

    __tablename__ = "support_conversation"
    __table_args__ = (
        Index(
            "uq_support_conversation_open",
            "user_id",
            unique=True,
            sqlite_where=text("status = 'open'"),
            postgresql_where=text("status = 'open'"),
        ),
        Index("ix_support_conversation_status_opened_at", "status", "opened_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    subject: Mapped[SupportSubject] = mapped_column(_enum(SupportSubject, "support_subject"))
    order_id: Mapped[int | None] = mapped_column(ForeignKey("shop_order.id", ondelete="SET NULL"))
    status: Mapped[ConversationStatus] = mapped_column(
        _enum(ConversationStatus, "conversation_status"), default=ConversationStatus.OPEN
    )
    # Where the staff side of it is: the group's topic, or the staff's private chats.
    in_topic: Mapped[bool] = mapped_column(default=True)
    assigned: Mapped[list[int]] = mapped_column(JSON, default=list)  # the staff mentioned
    opened_by: Mapped[int] = mapped_column(BigInteger)  # the shopper, or staff from an order
    opened_at: Mapped[datetime] = mapped_column(default=utcnow)
    first_response_at: Mapped[datetime | None] = mapped_column()
    first_responder: Mapped[int | None] = mapped_column(BigInteger)
    reminded_at: Mapped[datetime | None] = mapped_column()
    closed_at: Mapped[datetime | None] = mapped_column()
    closed_by: Mapped[int | None] = mapped_column(BigInteger)


class RelayDirection(enum.StrEnum):
    TO_STAFF = "to_staff"
    TO_SHOPPER = "to_shopper"


class SupportMessage(Base):
    """One message relayed (or waiting to be) between the shopper's chat and a staff chat,
    with its counterpart once sent: replies and edits find it after a restart. Pending rows
    of a conversation are relayed in id order, so nothing overtakes what came first."""

    __tablename__ = "support_message"
    __table_args__ = (
        Index("ix_support_message_source", "source_chat_id", "source_message_id"),
        Index("ix_support_message_target", "target_chat_id", "target_message_id"),
        Index("ix_support_message_pending", "conversation_id", "relayed_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = mapped_column(
        ForeignKey("support_conversation.id", ondelete="CASCADE")
    )
    direction: Mapped[RelayDirection] = mapped_column(_enum(RelayDirection, "relay_direction"))
    sender_id: Mapped[int] = mapped_column(BigInteger)
    source_chat_id: Mapped[int] = mapped_column(BigInteger)
    source_message_id: Mapped[int] = mapped_column(BigInteger)
    reply_to_message_id: Mapped[int | None] = mapped_column(BigInteger)  # in the source chat
    # The album the message is an item of: the album's items go in one copyMessages.
    media_group_id: Mapped[str | None] = mapped_column(String(64))
    # An edit of an already relayed message: its new text, to be relayed as an edit.
    edited_text: Mapped[str | None] = mapped_column(Text)
    target_chat_id: Mapped[int] = mapped_column(BigInteger)
    target_message_id: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    claimed_until: Mapped[datetime | None] = mapped_column()
    relayed_at: Mapped[datetime | None] = mapped_column()
    failure: Mapped[str | None] = mapped_column(String(256))


class SupportEvent(Base):
    """Append-only: what happened to a conversation (opened, first reply, reminded, a
    non-staff member told off, closed) and who did it."""

    __tablename__ = "support_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = mapped_column(
        ForeignKey("support_conversation.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(32))
    actor: Mapped[int | None] = mapped_column(BigInteger)
    at: Mapped[datetime] = mapped_column(default=utcnow)


class MailingStatus(enum.StrEnum):
    """A mailing's life: scheduled (or due now) → sending ⇄ paused → done, or cancelled."""

    SCHEDULED = "scheduled"
    SENDING = "sending"
    PAUSED = "paused"
    DONE = "done"
    CANCELLED = "cancelled"


class RecipientStatus(enum.StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"
    UNREACHABLE = "unreachable"  # blocked the bot, or the chat is gone


class Mailing(Base):
    """A campaign the owner composed in their chat: the draft is their own message(s),
    copied to each recipient (``copyMessage``; an album with ``copyMessages``)."""

    __tablename__ = "mailing"

    id: Mapped[int] = mapped_column(primary_key=True)
    status: Mapped[MailingStatus] = mapped_column(_enum(MailingStatus, "mailing_status"))
    created_by: Mapped[int] = mapped_column(BigInteger)
    source_chat_id: Mapped[int] = mapped_column(BigInteger)
    source_message_ids: Mapped[list[int]] = mapped_column(JSON)
    buttons: Mapped[list[dict]] = mapped_column(JSON, default=list)
    audience: Mapped[dict] = mapped_column(JSON)
    scheduled_at: Mapped[datetime] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column()
    finished_at: Mapped[datetime | None] = mapped_column()
    total: Mapped[int] = mapped_column(Integer, default=0)
    # The owner's progress message, edited in place.
    progress_chat_id: Mapped[int | None] = mapped_column(BigInteger)
    progress_message_id: Mapped[int | None] = mapped_column(BigInteger)

    __table_args__ = (Index("ix_mailing_status_scheduled_at", "status", "scheduled_at"),)


class MailingRecipient(Base):
    """One row per recipient of a mailing. ``claimed_at``: a send is in flight (or was, when
    the process died: see ``shopbot.services.mailings``)."""

    __tablename__ = "mailing_recipient"
    __table_args__ = (
        UniqueConstraint("mailing_id", "user_id"),
        Index("ix_mailing_recipient_mailing_id_status", "mailing_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    mailing_id: Mapped[int] = mapped_column(ForeignKey("mailing.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[RecipientStatus] = mapped_column(_enum(RecipientStatus, "recipient_status"))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    available_at: Mapped[datetime | None] = mapped_column()
    claimed_at: Mapped[datetime | None] = mapped_column()
    sent_at: Mapped[datetime | None] = mapped_column()
    message_id: Mapped[int | None] = mapped_column(BigInteger)
    error: Mapped[str | None] = mapped_column(String(1000))


class MailingEvent(Base):
    """Append-only: each change of a mailing's status, by whom."""

    __tablename__ = "mailing_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    mailing_id: Mapped[int] = mapped_column(
        ForeignKey("mailing.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(64))
    from_status: Mapped[str | None] = mapped_column(String(32))
    to_status: Mapped[str] = mapped_column(String(32))


class MailingClick(Base):
    """A recipient pressed one of a mailing's buttons (each press, with what it opened)."""

    __tablename__ = "mailing_click"

    id: Mapped[int] = mapped_column(primary_key=True)
    mailing_id: Mapped[int] = mapped_column(
        ForeignKey("mailing.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("user_account.id", ondelete="CASCADE")
    )
    at: Mapped[datetime] = mapped_column(default=utcnow)
    target: Mapped[str] = mapped_column(String(64))
