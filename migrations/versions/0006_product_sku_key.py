"""product.sku_key: SKUs are unique and matched regardless of case

The key is ``shopbot.models.sku_key(sku)`` (NFKC + casefold), computed here in Python so
SQLite (whose lower() folds ASCII only) and PostgreSQL agree. If existing products have SKUs
that differ only in case, the upgrade stops and lists them: rename one of each group (with
``/import`` or by hand) and run it again.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 17:00:00.000000
"""

from __future__ import annotations

from collections import defaultdict

import sqlalchemy as sa
from alembic import op

from shopbot.models import sku_key

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


class SkuConflict(RuntimeError):
    """Products whose SKUs differ only in case: they cannot all keep their SKU."""


def upgrade() -> None:
    connection = op.get_bind()
    product = sa.table("product", sa.column("id", sa.Integer), sa.column("sku", sa.String))
    rows = connection.execute(sa.select(product.c.id, product.c.sku).order_by(product.c.id))
    groups: dict[str, list[str]] = defaultdict(list)
    keys: list[dict[str, object]] = []
    for product_id, sku in rows:
        groups[sku_key(sku)].append(sku)
        keys.append({"b_id": product_id, "b_key": sku_key(sku)})
    conflicts = [skus for skus in groups.values() if len(skus) > 1]
    if conflicts:
        listed = "; ".join(", ".join(skus) for skus in conflicts)
        raise SkuConflict(
            f"{len(conflicts)} group(s) of products have SKUs that differ only in case, "
            f"which are now one SKU: {listed}. Rename all but one in each group, then "
            "run the migration again."
        )
    with op.batch_alter_table("product", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sku_key", sa.Text(), nullable=True))
    if keys:
        keyed = sa.table("product", sa.column("id", sa.Integer), sa.column("sku_key", sa.Text))
        connection.execute(
            keyed.update()
            .where(keyed.c.id == sa.bindparam("b_id"))
            .values(sku_key=sa.bindparam("b_key")),
            keys,
        )
    with op.batch_alter_table("product", schema=None) as batch_op:
        batch_op.alter_column("sku_key", existing_type=sa.Text(), nullable=False)
        batch_op.create_unique_constraint(op.f("uq_product_sku_key"), ["sku_key"])


def downgrade() -> None:
    with op.batch_alter_table("product", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("uq_product_sku_key"), type_="unique")
        batch_op.drop_column("sku_key")
