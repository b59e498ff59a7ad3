"""marketing consent: the answer in force on user_account, every change in consent_event

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03 10:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

SOURCES = ("after_first_order", "menu", "command", "promo_message")


def _source() -> sa.Enum:
    return sa.Enum(
        *SOURCES,
        name="consent_source",
        native_enum=False,
        create_constraint=True,
        length=32,
    )


def upgrade() -> None:
    with op.batch_alter_table("user_account", schema=None) as batch_op:
        batch_op.add_column(sa.Column("marketing_consent", sa.Boolean(), nullable=True))
        batch_op.add_column(
            sa.Column("marketing_consent_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("marketing_consent_source", _source(), nullable=True))
        batch_op.add_column(
            sa.Column("consent_asked_at", sa.DateTime(timezone=True), nullable=True)
        )
    op.create_table(
        "consent_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("granted", sa.Boolean(), nullable=False),
        sa.Column("source", _source(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user_account.id"],
            name=op.f("fk_consent_event_user_id_user_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consent_event")),
    )
    with op.batch_alter_table("consent_event", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_consent_event_user_id"), ["user_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("consent_event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_consent_event_user_id"))
    op.drop_table("consent_event")
    with op.batch_alter_table("user_account", schema=None) as batch_op:
        # SQLite's copy of the table would keep a check of a column no longer there.
        batch_op.drop_constraint(op.f("ck_user_account_consent_source"), type_="check")
        batch_op.drop_column("consent_asked_at")
        batch_op.drop_column("marketing_consent_source")
        batch_op.drop_column("marketing_consent_at")
        batch_op.drop_column("marketing_consent")
