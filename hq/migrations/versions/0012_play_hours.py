"""Proof of play: the attract loop's shows per kiosk, UTC hour, item and campaign.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06

Adds `play_hours` (hq.plays), filled from kiosks' `play_counts` events as they are
stored; events stored before this revision hold none.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "play_hours",
        sa.Column("kiosk_id", sa.String(64), nullable=False),
        sa.Column("hour", sa.DateTime(timezone=True), nullable=False),
        sa.Column("item", sa.String(200), nullable=False),
        sa.Column("campaign", sa.String(40), nullable=False),
        sa.Column("store_id", sa.String(40), nullable=False),
        sa.Column("shows", sa.BigInteger(), nullable=False),
        sa.Column("ms", sa.BigInteger(), nullable=False),
        sa.Column("lifted", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("kiosk_id", "hour", "item", "campaign", name="pk_play_hours"),
    )
    op.create_index("ix_play_hours_hour", "play_hours", ["hour"])


def downgrade() -> None:
    op.drop_index("ix_play_hours_hour", table_name="play_hours")
    op.drop_table("play_hours")
