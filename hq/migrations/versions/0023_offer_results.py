"""Member offers' results: offers shown and printed, and the offer a coupon was taken from.

Revision ID: 0023_offer_results
Revises: 0022_sms
Create Date: 2026-12-07

Adds `offer_events` (hq.crm.offers) and `coupons_issued.offer` with an index on
(offer, issued_at) for the offers' results (hq.analytics.offers).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0023_offer_results"
down_revision: str | None = "0022_sms"
branch_labels: str | None = None
depends_on: str | None = None

_BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "offer_events",
        sa.Column("id", _BIG_ID, autoincrement=True, nullable=False),
        sa.Column("event_id", sa.String(36), nullable=False),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("offer", sa.String(40), nullable=False),
        sa.Column("campaign", sa.String(40), nullable=True),
        sa.Column("member_id", sa.String(36), nullable=True),
        sa.Column("code", sa.String(29), nullable=True),
        sa.Column("store_id", sa.String(40), nullable=False),
        sa.Column("kiosk_id", sa.String(64), nullable=False),
        sa.Column("session", sa.String(100), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_offer_events"),
        sa.UniqueConstraint("event_id", name="uq_offer_events_event_id"),
    )
    op.create_index("ix_offer_events_member_id", "offer_events", ["member_id"])
    op.create_index(
        "ix_offer_events_occurred_at_store_id", "offer_events", ["occurred_at", "store_id"]
    )
    op.add_column("coupons_issued", sa.Column("offer", sa.String(40), nullable=True))
    op.create_index("ix_coupons_issued_offer_issued_at", "coupons_issued", ["offer", "issued_at"])


def downgrade() -> None:
    op.drop_index("ix_coupons_issued_offer_issued_at", table_name="coupons_issued")
    with op.batch_alter_table("coupons_issued") as batch:
        batch.drop_column("offer")
    op.drop_index("ix_offer_events_occurred_at_store_id", table_name="offer_events")
    op.drop_index("ix_offer_events_member_id", table_name="offer_events")
    op.drop_table("offer_events")
