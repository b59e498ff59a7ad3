"""meaning_vector: the sentence embeddings of products and FAQ entries (search by meaning)

Revision ID: 0030
Revises: 0029
Create Date: 2026-12-03 17:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0030"
down_revision = "0029"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "meaning_vector",
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("item_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("model", sa.String(length=200), nullable=False),
        sa.Column("vector", sa.LargeBinary(), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("kind", "item_id", name=op.f("pk_meaning_vector")),
    )
    op.create_index(
        op.f("ix_meaning_vector_computed_at"), "meaning_vector", ["computed_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_meaning_vector_computed_at"), table_name="meaning_vector")
    op.drop_table("meaning_vector")
