from sqlalchemy.ext.asyncio import AsyncSession

from shopbot.services import catalogue
from tests.factories import make_category, make_product


async def test_browse_tree_counts_and_pages(session: AsyncSession) -> None:
    clothes = await make_category(session, "Одежда")
    shirts = await make_category(session, "Футболки", clothes)
    await make_category(session, "Пустая")
    for i in range(7):
        await make_product(session, f"Футболка {i}", category=shirts)
    await make_product(session, "Скрытая", category=shirts, active=False)

    root = await catalogue.browse(session, None, 0, 5)
    assert [(c.name, c.product_count) for c in root.children] == [("Одежда", 7)]

    level = await catalogue.browse(session, clothes.id, 0, 5)
    assert [c.name for c in level.children] == ["Футболки"]

    first = await catalogue.browse(session, shirts.id, 0, 5)
    assert first.products.total == 7 and first.products.pages == 2
    assert len(first.products.items) == 5 and first.products.has_next
    second = await catalogue.browse(session, shirts.id, 1, 5)
    assert [p.name for p in second.products.items] == ["Футболка 5", "Футболка 6"]
    assert not second.products.has_next and second.products.has_prev
    # A page past the end (a stale button) shows the last page instead of nothing.
    assert (await catalogue.browse(session, shirts.id, 9, 5)).products.page == 1
