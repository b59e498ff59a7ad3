"""handled_update.effects: what an update that changed something had yet to say and set (its
reply and conversation state), recorded with its change, so a redelivery after a crash says it

Revision ID: 0031
Revises: 0030
Create Date: 2026-12-03 17:10:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0031"
down_revision = "0030"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("handled_update") as batch:
        batch.add_column(sa.Column("effects", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("handled_update") as batch:
        batch.drop_column("effects")
