"""SKUs are one SKU whatever their case: lookups, imports, uniqueness and the migration."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import DateTime, bindparam, func, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shopbot.db import create_engine, migrate
from shopbot.importer import ImportOptions, import_catalog
from shopbot.models import Product
from shopbot.services import admin, catalogue, stock
from tests.conftest import reset_postgres
from tests.factories import make_product

Factory = async_sessionmaker[AsyncSession]


async def test_lookups_ignore_case(session: AsyncSession) -> None:
    made = await make_product(session, "Футболка", sku="TSH-001", stock=1)
    assert made.sku_key == "tsh-001"
    found = await catalogue.get_product_by_sku(session, "tsh-001")
    assert found is not None and found.id == made.id
    assert (await stock.adjust_stock(session, "Tsh-001", 5, actor="t")).new == 6
    assert (await stock.set_stock(session, "tsh-001", 2, actor="t")).new == 2
    assert (await admin.set_price(session, "tSH-001", 1000, actor="t")).new == 1000
    assert not (await admin.set_active(session, "tsh-001", False, actor="t")).active
    # Cyrillic SKUs fold too (SQLite's lower() would not).
    cyrillic = await make_product(session, "Кружка", sku="КР-1")
    found = await catalogue.get_product_by_sku(session, "кр-1")
    assert found is not None and found.id == cyrillic.id


async def test_skus_differing_only_in_case_cannot_both_exist(session: AsyncSession) -> None:
    await make_product(session, sku="MUG-1")
    with pytest.raises(IntegrityError):
        await make_product(session, sku="mug-1")


async def test_the_importer_matches_skus_whatever_their_case(
    session_factory: Factory, session: AsyncSession, media_dir: Path
) -> None:
    await make_product(session, "Кружка", sku="MUG-1", price=50000, stock=3)
    options = ImportOptions(media_dir=media_dir, base_dir=media_dir)
    report = await import_catalog(session_factory, b"sku,name,price\nmug-1,Kruzhka,600\n", options)
    assert report.errors == [] and (report.created, report.updated) == (0, 1)
    await session.rollback()  # end the read, to see the import's commit
    products = (await session.scalars(select(Product))).all()
    assert [(p.sku, p.name, p.price) for p in products] == [("MUG-1", "Kruzhka", 60000)]

    report = await import_catalog(session_factory, b"sku,name,price\nAB-1,A,1\nab-1,B,2\n", options)
    assert [(p.line, p.column, p.code) for p in report.errors] == [(3, "sku", "duplicate_sku")]
    assert await session.scalar(select(func.count()).select_from(Product)) == 1


async def test_the_migration_lists_skus_that_differ_only_in_case(database_url: str) -> None:
    if database_url.startswith("postgresql"):
        await reset_postgres(database_url)
    engine = create_engine(database_url)
    try:
        await migrate(engine, "0005")
        async with engine.begin() as connection:
            for sku in ("TSH-001", "tsh-001", "MUG-1", "Кр-1", "кр-1"):
                await connection.execute(
                    text(
                        "INSERT INTO product (sku, name, description, price, stock, active,"
                        " search_text, low_stock_alerted, created_at, updated_at) VALUES"
                        " (:sku, 'x', '', 1, 0, true, '', false, :now, :now)"
                    ).bindparams(bindparam("now", type_=DateTime(timezone=True))),
                    {"sku": sku, "now": datetime(2026, 12, 1, tzinfo=UTC)},
                )
        with pytest.raises(Exception, match="differ only in case") as raised:
            await migrate(engine)
        assert "TSH-001, tsh-001" in str(raised.value) and "Кр-1, кр-1" in str(raised.value)
        assert "MUG-1" not in str(raised.value)

        async with engine.begin() as connection:
            await connection.execute(text("DELETE FROM product WHERE sku IN ('tsh-001', 'кр-1')"))
        await migrate(engine)
        async with engine.connect() as connection:
            keys = (await connection.execute(text("SELECT sku_key FROM product"))).scalars()
            assert sorted(keys) == ["mug-1", "tsh-001", "кр-1"]
    finally:
        await engine.dispose()
