"""product variants (parent_id, option1, option2) and the favourites' sold-out mark

Revision ID: 0024
Revises: 0015
Create Date: 2026-12-03 12:10:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0024"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("product", schema=None) as batch_op:
        batch_op.add_column(sa.Column("parent_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("option1", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("option2", sa.String(length=64), nullable=True))
        batch_op.add_column(
            sa.Column("sold_out_seen", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_product_parent_id_product"),
            "product",
            ["parent_id"],
            ["id"],
            ondelete="CASCADE",
        )
        batch_op.create_index(batch_op.f("ix_product_parent_id"), ["parent_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("product", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_product_parent_id"))
        batch_op.drop_constraint(batch_op.f("fk_product_parent_id_product"), type_="foreignkey")
        batch_op.drop_column("sold_out_seen")
        batch_op.drop_column("option2")
        batch_op.drop_column("option1")
        batch_op.drop_column("parent_id")
