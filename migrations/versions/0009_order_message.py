"""order_message: the chat messages that describe an order, edited as its status changes

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 09:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "order_message",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("message_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["shop_order.id"],
            name=op.f("fk_order_message_order_id_shop_order"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_order_message")),
        sa.UniqueConstraint("chat_id", "message_id", name=op.f("uq_order_message_chat_id")),
    )
    with op.batch_alter_table("order_message", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_order_message_order_id"), ["order_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("order_message", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_order_message_order_id"))
    op.drop_table("order_message")
