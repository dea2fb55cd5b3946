"""Text messages: the queue of coupon codes members asked for by text.

Revision ID: 0022_sms
Revises: 0021_member_offers_feed
Create Date: 2026-12-07

Adds `sms_requests` (hq.sms): one row per `offer_text_requested` event.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0022_sms"
down_revision: str | None = "0021_member_offers_feed"
branch_labels: str | None = None
depends_on: str | None = None

_BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "sms_requests",
        sa.Column("id", _BigId, autoincrement=True, nullable=False),
        sa.Column("event_id", sa.String(36), nullable=False),
        sa.Column("member_id", sa.String(36), nullable=True),
        sa.Column("offer", sa.String(40), nullable=False),
        sa.Column("campaign", sa.String(40), nullable=False),
        sa.Column("store_id", sa.String(40), nullable=False),
        sa.Column("kiosk_id", sa.String(64), nullable=False),
        sa.Column("session", sa.String(100), nullable=False),
        sa.Column("language", sa.String(10), nullable=False),
        sa.Column("code", sa.String(29), nullable=False),
        sa.Column("expires_on", sa.Date(), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("next_try_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(200), nullable=True),
        sa.Column("provider", sa.String(20), nullable=True),
        sa.Column("provider_message_id", sa.String(64), nullable=True),
        sa.Column("lease_holder", sa.String(64), nullable=True),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_sms_requests"),
        sa.UniqueConstraint("event_id", name="uq_sms_requests_event_id"),
    )
    op.create_index("ix_sms_requests_member_id", "sms_requests", ["member_id"])
    op.create_index("ix_sms_requests_status_next_try_at", "sms_requests", ["status", "next_try_at"])


def downgrade() -> None:
    op.drop_index("ix_sms_requests_status_next_try_at", table_name="sms_requests")
    op.drop_index("ix_sms_requests_member_id", table_name="sms_requests")
    op.drop_table("sms_requests")
