"""HQ staff accounts for the web console.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06

Adds `console_staff` (email, name, role, Argon2id password hash, lockout state,
session epoch) and `console_staff_stores` (the stores of each store manager).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "console_staff",
        sa.Column("staff_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("disabled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("failed_sign_ins", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("last_failed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_sign_in_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("session_epoch", sa.Integer(), nullable=False, server_default="1"),
        sa.PrimaryKeyConstraint("staff_id", name="pk_console_staff"),
        sa.UniqueConstraint("email", name="uq_console_staff_email"),
    )
    op.create_table(
        "console_staff_stores",
        sa.Column("staff_id", sa.Integer(), nullable=False),
        sa.Column("store_id", sa.String(length=40), nullable=False),
        sa.ForeignKeyConstraint(
            ["staff_id"],
            ["console_staff.staff_id"],
            name="fk_console_staff_stores_staff_id_console_staff",
        ),
        sa.ForeignKeyConstraint(
            ["store_id"], ["stores.store_id"], name="fk_console_staff_stores_store_id_stores"
        ),
        sa.PrimaryKeyConstraint("staff_id", "store_id", name="pk_console_staff_stores"),
    )


def downgrade() -> None:
    op.drop_table("console_staff_stores")
    op.drop_table("console_staff")
