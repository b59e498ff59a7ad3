"""product.name_key and product.position: lists in natural order, or the owner's

``name_key`` is ``shopbot.services.text.natural_key(name)`` (№2 before №10), computed here
in Python for the products there are, as the app computes it for new ones; ``position`` is
the owner's place for a product (the catalogue CSV's ``position`` column), empty for all.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 09:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from shopbot.services.text import natural_key

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("product", schema=None) as batch_op:
        batch_op.add_column(sa.Column("name_key", sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column("position", sa.Integer(), nullable=True))
    connection = op.get_bind()
    product = sa.table(
        "product",
        sa.column("id", sa.Integer),
        sa.column("name", sa.String),
        sa.column("name_key", sa.LargeBinary),
    )
    keys = [
        {"b_id": product_id, "b_key": natural_key(name)}
        for product_id, name in connection.execute(sa.select(product.c.id, product.c.name))
    ]
    if keys:
        connection.execute(
            product.update()
            .where(product.c.id == sa.bindparam("b_id"))
            .values(name_key=sa.bindparam("b_key")),
            keys,
        )
    with op.batch_alter_table("product", schema=None) as batch_op:
        batch_op.alter_column("name_key", existing_type=sa.LargeBinary(), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("product", schema=None) as batch_op:
        batch_op.drop_column("position")
        batch_op.drop_column("name_key")
