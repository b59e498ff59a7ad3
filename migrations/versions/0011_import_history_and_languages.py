"""product_event values as text (a name change keeps both names, up to 256 characters);
shop_preference, where the header language of the last import is kept for /export

Revision ID: 0011
Revises: 0009
Create Date: 2026-12-03 09:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "shop_preference",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_shop_preference")),
    )
    with op.batch_alter_table("product_event", schema=None) as batch_op:
        for column in ("old_value", "new_value"):
            batch_op.alter_column(
                column, existing_type=sa.String(length=64), type_=sa.Text(), existing_nullable=True
            )


def downgrade() -> None:
    with op.batch_alter_table("product_event", schema=None) as batch_op:
        for column in ("old_value", "new_value"):
            batch_op.alter_column(
                column,
                existing_type=sa.Text(),
                type_=sa.String(length=64),
                existing_nullable=True,
                postgresql_using=f"left({column}, 64)",
            )
    op.drop_table("shop_preference")
