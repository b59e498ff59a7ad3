"""support_message.media_group_id: the album an item belongs to, so a shopper's (or the
staff's) album is relayed as one (``copyMessages``) once all its items have come

Revision ID: 0033
Revises: 0031
Create Date: 2026-12-04 18:50:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0033"
down_revision = "0031"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("support_message") as batch:
        batch.add_column(sa.Column("media_group_id", sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("support_message") as batch:
        batch.drop_column("media_group_id")
