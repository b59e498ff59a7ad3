"""Support: what a shopper asks the shop's staff, relayed after the commit."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from shopbot.db import unit_of_work
from shopbot.search.analysis import keys, words
from shopbot.services import outbox
from shopbot.services.notifications import SHOPPER_MESSAGE


async def write_to_staff(session: AsyncSession, user_id: int, text: str) -> None:
    """A shopper's question about no order, relayed to the staff through the outbox."""
    async with unit_of_work(session):
        await outbox.record(session, SHOPPER_MESSAGE, {"user_id": user_id, "text": text})


# "где мой заказ", "статус заказа", "when will my order arrive": an order word and a word of
# asking after it, in any of their forms.
_ORDER_WORDS = frozenset({"заказ", "order", "посылка"})
_ASKING_WORDS = frozenset(
    {"где", "статус", "когда", "мой", "прийти", "доставить", "отследить", "where", "status", "my"}
)


def asks_about_orders(text: str) -> bool:
    """Does ``text`` ask where the shopper's order is?"""
    forms = [keys(word) for word in words(text)]
    return any(form & _ORDER_WORDS for form in forms) and any(
        form & _ASKING_WORDS for form in forms
    )
