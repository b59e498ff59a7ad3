"""ratings of orders and of support, and reminders of forgotten carts

Revision ID: 0021
Revises: 0015
Create Date: 2026-12-03 12:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0015"
branch_labels = None
depends_on = None


def _moment(name: str, *, nullable: bool) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "rating",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "order",
                "service",
                name="rating_kind",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("subject_id", sa.BigInteger(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("staff_id", sa.BigInteger(), nullable=True),
        _moment("asked_at", nullable=False),
        sa.Column("score", sa.Integer(), nullable=True),
        _moment("rated_at", nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        _moment("commented_at", nullable=True),
        sa.CheckConstraint(
            "score IS NULL OR (score >= 1 AND score <= 5)", name=op.f("ck_rating_score_range")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user_account.id"],
            name=op.f("fk_rating_user_id_user_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rating")),
        sa.UniqueConstraint("kind", "subject_id", name=op.f("uq_rating_kind")),
    )
    with op.batch_alter_table("rating", schema=None) as batch_op:
        batch_op.create_index("ix_rating_kind_rated_at", ["kind", "rated_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_rating_user_id"), ["user_id"], unique=False)
    op.create_table(
        "cart_watch",
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("state", sa.String(length=64), nullable=False),
        _moment("since", nullable=False),
        _moment("reminded_at", nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user_account.id"],
            name=op.f("fk_cart_watch_user_id_user_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_cart_watch")),
    )
    op.create_table(
        "cart_reminder",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("cart_state", sa.String(length=64), nullable=False),
        _moment("cart_since", nullable=False),
        _moment("recorded_at", nullable=False),
        _moment("sent_at", nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user_account.id"],
            name=op.f("fk_cart_reminder_user_id_user_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cart_reminder")),
        sa.UniqueConstraint("user_id", "cart_since", name=op.f("uq_cart_reminder_user_id")),
    )
    with op.batch_alter_table("cart_reminder", schema=None) as batch_op:
        batch_op.create_index("ix_cart_reminder_recorded_at", ["recorded_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("cart_reminder", schema=None) as batch_op:
        batch_op.drop_index("ix_cart_reminder_recorded_at")
    op.drop_table("cart_reminder")
    op.drop_table("cart_watch")
    with op.batch_alter_table("rating", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_rating_user_id"))
        batch_op.drop_index("ix_rating_kind_rated_at")
    op.drop_table("rating")
