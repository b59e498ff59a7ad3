"""product.keywords: more words search finds a product by (the catalogue CSV's keywords)

Revision ID: 0018
Revises: 0013
Create Date: 2026-12-03 10:05:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("product", schema=None) as batch_op:
        batch_op.add_column(sa.Column("keywords", sa.Text(), server_default="", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("product", schema=None) as batch_op:
        batch_op.drop_column("keywords")
