"""Remote commands from HQ staff to a kiosk: issued, delivered, finished.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06

Adds `kiosk_commands` (hq.fleet_health.commands).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "kiosk_commands",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("kiosk_id", sa.String(64), nullable=False),
        sa.Column("store_id", sa.String(40), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("issued_by", sa.String(64), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("envelope", sa.Text(), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("status", sa.String(10), nullable=True),
        sa.Column("detail", sa.String(200), server_default="", nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("file_type", sa.String(40), nullable=True),
        sa.Column("file", sa.LargeBinary(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_kiosk_commands"),
    )
    op.create_index(
        "ix_kiosk_commands_kiosk_id_issued_at", "kiosk_commands", ["kiosk_id", "issued_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_kiosk_commands_kiosk_id_issued_at", table_name="kiosk_commands")
    op.drop_table("kiosk_commands")
