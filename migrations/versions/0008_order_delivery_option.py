"""orders keep the delivery option chosen: its name and, for pickup, the point's address

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 09:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("shop_order", schema=None) as batch_op:
        batch_op.add_column(sa.Column("delivery_option", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("pickup_point", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("shop_order", schema=None) as batch_op:
        batch_op.drop_column("pickup_point")
        batch_op.drop_column("delivery_option")
