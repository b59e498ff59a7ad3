"""promotions: sale prices on products, promo codes and their uses, discounts on orders

Revision ID: 0023
Revises: 0015
Create Date: 2026-12-03 12:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0023"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("product", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sale_price", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("sale_until", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("shop_order", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("discount", sa.BigInteger(), server_default="0", nullable=False)
        )
        batch_op.add_column(sa.Column("promo_code_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("promo_code", sa.String(length=32), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_shop_order_promo_code_id"), ["promo_code_id"], unique=False
        )
    with op.batch_alter_table("order_line", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("discount", sa.BigInteger(), server_default="0", nullable=False)
        )
    op.create_table(
        "promo_code",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "percent",
                "fixed",
                name="promo_kind",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("min_total", sa.BigInteger(), nullable=True),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("max_uses", sa.Integer(), nullable=True),
        sa.Column("uses", sa.Integer(), nullable=False),
        sa.Column("once_per_shopper", sa.Boolean(), nullable=False),
        sa.Column("first_order_only", sa.Boolean(), nullable=False),
        sa.Column("category_id", sa.Integer(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.CheckConstraint("amount > 0", name=op.f("ck_promo_code_amount_positive")),
        sa.CheckConstraint("uses >= 0", name=op.f("ck_promo_code_uses_non_negative")),
        sa.ForeignKeyConstraint(
            ["category_id"],
            ["category.id"],
            name=op.f("fk_promo_code_category_id_category"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_promo_code")),
        sa.UniqueConstraint("code", name=op.f("uq_promo_code_code")),
    )
    op.create_table(
        "promo_use",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("promo_code_id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("once_key", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["shop_order.id"],
            name=op.f("fk_promo_use_order_id_shop_order"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["promo_code_id"],
            ["promo_code.id"],
            name=op.f("fk_promo_use_promo_code_id_promo_code"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_promo_use")),
        sa.UniqueConstraint("order_id", name=op.f("uq_promo_use_order_id")),
        sa.UniqueConstraint("promo_code_id", "once_key", name=op.f("uq_promo_use_promo_code_id")),
    )
    with op.batch_alter_table("promo_use", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_promo_use_promo_code_id"), ["promo_code_id"], unique=False
        )


def downgrade() -> None:
    op.drop_table("promo_use")
    op.drop_table("promo_code")
    with op.batch_alter_table("order_line", schema=None) as batch_op:
        batch_op.drop_column("discount")
    with op.batch_alter_table("shop_order", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_shop_order_promo_code_id"))
        batch_op.drop_column("promo_code")
        batch_op.drop_column("promo_code_id")
        batch_op.drop_column("discount")
    with op.batch_alter_table("product", schema=None) as batch_op:
        batch_op.drop_column("sale_until")
        batch_op.drop_column("sale_price")
