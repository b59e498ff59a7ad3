"""Small builders for test data, written with Core inserts (fast, no ORM state to leak)."""

from __future__ import annotations

from itertools import count

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from shopbot.models import Category, Product, User
from shopbot.services.text import search_text

_sku = count(1)


async def make_category(
    session: AsyncSession, name: str, parent: Category | None = None
) -> Category:
    path = f"{parent.path} / {name}" if parent else name
    category = Category(name=name, path=path, parent_id=parent.id if parent else None)
    session.add(category)
    await session.commit()
    return category


async def make_product(
    session: AsyncSession,
    name: str = "Футболка",
    *,
    price: int = 129900,
    stock: int = 10,
    active: bool = True,
    category: Category | None = None,
    sku: str | None = None,
    description: str = "",
) -> Product:
    sku = sku or f"SKU-{next(_sku)}"
    product_id = await session.scalar(
        insert(Product)
        .values(
            sku=sku,
            name=name,
            description=description,
            price=price,
            stock=stock,
            active=active,
            category_id=category.id if category else None,
            search_text=search_text(sku, name, description),
        )
        .returning(Product.id)
    )
    await session.commit()
    product = await session.get(Product, product_id)
    assert product is not None
    return product


async def make_user(session: AsyncSession, user_id: int, first_name: str = "Анна") -> User:
    user = User(id=user_id, first_name=first_name, language="ru")
    session.add(user)
    await session.commit()
    return user
