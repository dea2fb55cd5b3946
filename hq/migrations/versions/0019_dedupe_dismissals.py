"""Dedupe: pairs of customer records a reviewer said are two people.

Revision ID: 0019_dedupe_dismissals
Revises: 0018_analytics
Create Date: 2026-12-07

Adds `customer_dismissals` (hq.crm.dismissals): one row per dismissed pair, with
the finder's reasons at the time, who dismissed it and when.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0019_dedupe_dismissals"
down_revision: str | None = "0018_analytics"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "customer_dismissals",
        sa.Column("first_id", sa.String(36), nullable=False),
        sa.Column("second_id", sa.String(36), nullable=False),
        sa.Column(
            "reasons", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False
        ),
        sa.Column("dismissed_by", sa.String(64), nullable=False),
        sa.Column("dismissed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("first_id", "second_id", name="pk_customer_dismissals"),
    )
    op.create_index("ix_customer_dismissals_second_id", "customer_dismissals", ["second_id"])


def downgrade() -> None:
    op.drop_index("ix_customer_dismissals_second_id", table_name="customer_dismissals")
    op.drop_table("customer_dismissals")
