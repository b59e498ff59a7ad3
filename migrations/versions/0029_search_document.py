"""search_document: each product's analysed search terms, written where the product changes;
product.updated_at indexed (search takes in the rows changed since it last looked)

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-03 12:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0029"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "search_document",
        sa.Column("product_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("terms", sa.Text(), nullable=False),
        sa.Column("indexed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["product.id"],
            name=op.f("fk_search_document_product_id_product"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("product_id", name=op.f("pk_search_document")),
    )
    op.create_index(
        op.f("ix_search_document_indexed_at"), "search_document", ["indexed_at"], unique=False
    )
    op.create_index(op.f("ix_product_updated_at"), "product", ["updated_at"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_product_updated_at"), table_name="product")
    op.drop_index(op.f("ix_search_document_indexed_at"), table_name="search_document")
    op.drop_table("search_document")
