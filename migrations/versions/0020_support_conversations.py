"""support conversations: staff and their subjects, shoppers' topics, conversations, every
relayed message with its counterpart, and the conversations' events

Revision ID: 0020
Revises: 0015
Create Date: 2026-12-03 12:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0023"
branch_labels = None
depends_on = None


def _enum(name: str, *values: str) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True, length=32)


def upgrade() -> None:
    op.create_table(
        "support_staff",
        sa.Column("user_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("first_name", sa.String(length=256), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=True),
        sa.Column("subjects", sa.JSON(), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("added_by", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_support_staff")),
    )
    op.create_table(
        "support_topic",
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("thread_id", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user_account.id"],
            name=op.f("fk_support_topic_user_id_user_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_support_topic")),
        sa.UniqueConstraint("chat_id", "thread_id", name=op.f("uq_support_topic_chat_id")),
    )
    op.create_table(
        "support_conversation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column(
            "subject",
            _enum("support_subject", "order", "delivery", "product", "return", "other"),
            nullable=False,
        ),
        sa.Column("order_id", sa.Integer(), nullable=True),
        sa.Column("status", _enum("conversation_status", "open", "closed"), nullable=False),
        sa.Column("in_topic", sa.Boolean(), nullable=False),
        sa.Column("assigned", sa.JSON(), nullable=False),
        sa.Column("opened_by", sa.BigInteger(), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("first_response_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("first_responder", sa.BigInteger(), nullable=True),
        sa.Column("reminded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_by", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["shop_order.id"],
            name=op.f("fk_support_conversation_order_id_shop_order"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user_account.id"],
            name=op.f("fk_support_conversation_user_id_user_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_support_conversation")),
    )
    op.create_index(op.f("ix_support_conversation_user_id"), "support_conversation", ["user_id"])
    op.create_index(
        "ix_support_conversation_status_opened_at",
        "support_conversation",
        ["status", "opened_at"],
    )
    op.create_index(
        "uq_support_conversation_open",
        "support_conversation",
        ["user_id"],
        unique=True,
        sqlite_where=sa.text("status = 'open'"),
        postgresql_where=sa.text("status = 'open'"),
    )
    op.create_table(
        "support_message",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.Integer(), nullable=False),
        sa.Column("direction", _enum("relay_direction", "to_staff", "to_shopper"), nullable=False),
        sa.Column("sender_id", sa.BigInteger(), nullable=False),
        sa.Column("source_chat_id", sa.BigInteger(), nullable=False),
        sa.Column("source_message_id", sa.BigInteger(), nullable=False),
        sa.Column("reply_to_message_id", sa.BigInteger(), nullable=True),
        sa.Column("edited_text", sa.Text(), nullable=True),
        sa.Column("target_chat_id", sa.BigInteger(), nullable=False),
        sa.Column("target_message_id", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("relayed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("failure", sa.String(length=256), nullable=True),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["support_conversation.id"],
            name=op.f("fk_support_message_conversation_id_support_conversation"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_support_message")),
    )
    op.create_index(
        "ix_support_message_source", "support_message", ["source_chat_id", "source_message_id"]
    )
    op.create_index(
        "ix_support_message_target", "support_message", ["target_chat_id", "target_message_id"]
    )
    op.create_index(
        "ix_support_message_pending", "support_message", ["conversation_id", "relayed_at"]
    )
    op.create_table(
        "support_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("actor", sa.BigInteger(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["support_conversation.id"],
            name=op.f("fk_support_event_conversation_id_support_conversation"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_support_event")),
    )
    op.create_index(op.f("ix_support_event_conversation_id"), "support_event", ["conversation_id"])


def downgrade() -> None:
    op.drop_table("support_event")
    op.drop_table("support_message")
    op.drop_table("support_conversation")
    op.drop_table("support_topic")
    op.drop_table("support_staff")
