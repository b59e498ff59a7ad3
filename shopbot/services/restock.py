"""Favourites back in stock: a shopper who keeps a product that sold out, and who agreed to
advertising (``marketing.advertisable``), is told once when it is for sale again.

Stock comes back by many paths (the owner's ``/stock``, an import from the chat or the
command line, an order cancelled or expired), so rather than each of them, one pass of the
background jobs looks at the favourites (:func:`watch_favourites`): two conditional updates
on ``product.sold_out_seen`` — mark the kept products seen sold out, then claim those of
them for sale again — and, in the same unit of work, a message in the outbox to each
subscribed shopper keeping a claimed one. The claim is what makes it once per return: two
passes (two replicas) cannot claim the same return, and a product that sells out and comes
back again is claimed again. A return and a sell-out again between two passes go unseen,
and rightly tell nobody. A product with variants is in stock while one of them is.

The same pass tells them, once per sale, that a product they keep went on sale (a sale
price in force, set by ``/sale`` or an import): ``product.sale_seen`` is claimed the same
way, and cleared once the sale is over, so that the next sale is told again.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from sqlalchemy import and_, not_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from shopbot.db import unit_of_work
from shopbot.models import Favourite, OutboxMessage, Product, User
from shopbot.services import outbox, pricing
from shopbot.services.marketing import advertisable
from shopbot.services.outbox import Sender, Undeliverable
from shopbot.services.pricing import on_sale_clause
from shopbot.services.variants import sellable_stock

# Outbox kinds and their payload.
BACK_IN_STOCK = "back_in_stock"  # {user_id, product_id}: a favourite is for sale again
ON_SALE = "favourite_on_sale"  # {user_id, product_id}: a favourite's sale began


async def watch_favourites(session: AsyncSession) -> int:
    """One pass over the products shoppers keep (see the module's docstring); returns how
    many messages it recorded. Neither update changes what shoppers see (nor ``updated_at``,
    which the search index watches). A pass with nothing to mark or claim only reads: it
    takes no write lock from the shoppers (on SQLite, a write lock held even briefly makes
    another connection's read-then-write transaction fail at once)."""
    kept = Product.id.in_(select(Favourite.product_id))
    sold_out = and_(kept, Product.sold_out_seen.is_(False), sellable_stock() <= 0)
    returned = and_(
        kept, Product.sold_out_seen.is_(True), Product.active.is_(True), sellable_stock() > 0
    )
    on_sale = on_sale_clause(pricing.now())
    sale_over = and_(kept, Product.sale_seen.is_(True), not_(on_sale))
    sale_began = and_(
        kept, Product.sale_seen.is_(False), Product.active.is_(True), on_sale, sellable_stock() > 0
    )
    changes = or_(sold_out, returned, sale_over, sale_began)
    if await session.scalar(select(Product.id).where(changes).limit(1)) is None:
        return 0
    async with unit_of_work(session):
        await session.execute(
            update(Product).where(sale_over).values(sale_seen=False, updated_at=Product.updated_at)
        )
        began = (
            await session.scalars(
                update(Product)
                .where(sale_began)
                .values(sale_seen=True, updated_at=Product.updated_at)
                .returning(Product.id)
            )
        ).all()
        told_of_sales = await _tell(session, ON_SALE, began)
        await session.execute(
            update(Product)
            .where(sold_out)
            .values(sold_out_seen=True, updated_at=Product.updated_at)
        )
        back = (
            await session.scalars(
                update(Product)
                .where(returned)
                .values(sold_out_seen=False, updated_at=Product.updated_at)
                .returning(Product.id)
            )
        ).all()
        told_of_returns = await _tell(session, BACK_IN_STOCK, back)
    return told_of_sales + told_of_returns


async def _tell(session: AsyncSession, kind: str, product_ids: Sequence[int]) -> int:
    """A message of ``kind`` in the outbox to each subscribed shopper keeping one of
    ``product_ids``; how many."""
    if not product_ids:
        return 0
    told = (
        await session.execute(
            select(Favourite.user_id, Favourite.product_id)
            .join(User, User.id == Favourite.user_id)
            .where(Favourite.product_id.in_(product_ids), advertisable())
            .order_by(Favourite.product_id, Favourite.user_id)
        )
    ).all()
    for user_id, product_id in told:
        await outbox.record(session, kind, {"user_id": user_id, "product_id": product_id})
    return len(told)


class RestockNotifier(Protocol):
    """Delivery of :data:`BACK_IN_STOCK` (the bot layer implements it); raises
    ``outbox.RetryLater`` or ``outbox.Undeliverable``."""

    async def back_in_stock(self, session: AsyncSession, user_id: int, product_id: int) -> None:
        """Tell the shopper a product they keep is for sale again — unless, by now, they
        took their consent back, blocked the bot, or it sold out or was hidden again."""

    async def favourite_on_sale(self, session: AsyncSession, user_id: int, product_id: int) -> None:
        """Tell the shopper a product they keep is on sale — unless, by now, they took
        their consent back, blocked the bot, or the sale is over or it sold out."""


def restock_senders(notifier: RestockNotifier) -> dict[str, Sender]:
    """The outbox senders of :data:`BACK_IN_STOCK` and :data:`ON_SALE`, by kind (see
    ``outbox.routed``)."""

    async def send(session: AsyncSession, message: OutboxMessage) -> None:
        user_id, product_id = message.payload.get("user_id"), message.payload.get("product_id")
        if not isinstance(user_id, int) or not isinstance(product_id, int):
            raise Undeliverable(f"no user or product in {message.payload!r}")
        if message.kind == ON_SALE:
            await notifier.favourite_on_sale(session, user_id, product_id)
        else:
            await notifier.back_in_stock(session, user_id, product_id)

    return {BACK_IN_STOCK: send, ON_SALE: send}
