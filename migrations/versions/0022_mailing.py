"""mailings: campaigns, one row per recipient, status events, button clicks

Revision ID: 0022
Revises: 0015
Create Date: 2026-12-03 11:54:45.873002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0028"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "mailing",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "scheduled",
                "sending",
                "paused",
                "done",
                "cancelled",
                name="mailing_status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("created_by", sa.BigInteger(), nullable=False),
        sa.Column("source_chat_id", sa.BigInteger(), nullable=False),
        sa.Column("source_message_ids", sa.JSON(), nullable=False),
        sa.Column("buttons", sa.JSON(), nullable=False),
        sa.Column("audience", sa.JSON(), nullable=False),
        sa.Column("scheduled_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("progress_chat_id", sa.BigInteger(), nullable=True),
        sa.Column("progress_message_id", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mailing")),
    )
    with op.batch_alter_table("mailing", schema=None) as batch_op:
        batch_op.create_index(
            "ix_mailing_status_scheduled_at", ["status", "scheduled_at"], unique=False
        )

    op.create_table(
        "mailing_click",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("mailing_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("target", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["mailing_id"],
            ["mailing.id"],
            name=op.f("fk_mailing_click_mailing_id_mailing"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user_account.id"],
            name=op.f("fk_mailing_click_user_id_user_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mailing_click")),
    )
    with op.batch_alter_table("mailing_click", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_mailing_click_mailing_id"), ["mailing_id"], unique=False
        )

    op.create_table(
        "mailing_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("mailing_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("from_status", sa.String(length=32), nullable=True),
        sa.Column("to_status", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["mailing_id"],
            ["mailing.id"],
            name=op.f("fk_mailing_event_mailing_id_mailing"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mailing_event")),
    )
    with op.batch_alter_table("mailing_event", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_mailing_event_mailing_id"), ["mailing_id"], unique=False
        )

    op.create_table(
        "mailing_recipient",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("mailing_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "pending",
                "sent",
                "failed",
                "unreachable",
                name="recipient_status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("available_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("message_id", sa.BigInteger(), nullable=True),
        sa.Column("error", sa.String(length=1000), nullable=True),
        sa.ForeignKeyConstraint(
            ["mailing_id"],
            ["mailing.id"],
            name=op.f("fk_mailing_recipient_mailing_id_mailing"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user_account.id"],
            name=op.f("fk_mailing_recipient_user_id_user_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mailing_recipient")),
        sa.UniqueConstraint("mailing_id", "user_id", name=op.f("uq_mailing_recipient_mailing_id")),
    )
    with op.batch_alter_table("mailing_recipient", schema=None) as batch_op:
        batch_op.create_index(
            "ix_mailing_recipient_mailing_id_status", ["mailing_id", "status"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_mailing_recipient_user_id"), ["user_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("mailing_recipient", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_mailing_recipient_user_id"))
        batch_op.drop_index("ix_mailing_recipient_mailing_id_status")

    op.drop_table("mailing_recipient")
    with op.batch_alter_table("mailing_event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_mailing_event_mailing_id"))

    op.drop_table("mailing_event")
    with op.batch_alter_table("mailing_click", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_mailing_click_mailing_id"))

    op.drop_table("mailing_click")
    with op.batch_alter_table("mailing", schema=None) as batch_op:
        batch_op.drop_index("ix_mailing_status_scheduled_at")

    op.drop_table("mailing")
