"""CRM connectors: sync state, outbound queue, what each CRM holds, dead letters.

Revision ID: 0016_crm_connectors
Revises: 0015_store_places
Create Date: 2026-12-07

Adds `crm_sync_state`, `crm_queue`, `crm_records` and `crm_dead_letters`
(hq.analytics.crm).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0016_crm_connectors"
down_revision: str | None = "0015_store_places"
branch_labels: str | None = None
depends_on: str | None = None

_BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "crm_sync_state",
        sa.Column("connector", sa.String(20), nullable=False),
        sa.Column("consents_cursor", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("signups_cursor", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("events_cursor", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("events_horizon", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("pull_cursor", sa.String(40), nullable=True),
        sa.Column("last_round_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_success_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(200), nullable=True),
        sa.Column("rate_limit", sa.String(100), nullable=True),
        sa.Column("customers_sent", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("customers_deleted", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("events_sent", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("opt_outs", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("lease_holder", sa.String(64), nullable=True),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("connector", name="pk_crm_sync_state"),
    )
    op.create_table(
        "crm_queue",
        sa.Column("connector", sa.String(20), nullable=False),
        sa.Column("customer_id", sa.String(36), nullable=False),
        sa.Column("queued_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("connector", "customer_id", name="pk_crm_queue"),
    )
    op.create_table(
        "crm_records",
        sa.Column("connector", sa.String(20), nullable=False),
        sa.Column("customer_id", sa.String(36), nullable=False),
        sa.Column("external_id", sa.String(64), nullable=True),
        sa.Column("sent_sha256", sa.String(64), nullable=False),
        sa.Column("sent_consents", sa.String(100), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("connector", "customer_id", name="pk_crm_records"),
    )
    op.create_table(
        "crm_dead_letters",
        sa.Column("id", _BigId, autoincrement=True, nullable=False),
        sa.Column("connector", sa.String(20), nullable=False),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("subject", sa.String(36), nullable=False),
        sa.Column("reason", sa.String(500), nullable=False),
        sa.Column("refused_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_crm_dead_letters"),
    )
    op.create_index(
        "ix_crm_dead_letters_connector_refused_at",
        "crm_dead_letters",
        ["connector", "refused_at"],
    )


def downgrade() -> None:
    op.drop_index("ix_crm_dead_letters_connector_refused_at", table_name="crm_dead_letters")
    op.drop_table("crm_dead_letters")
    op.drop_table("crm_records")
    op.drop_table("crm_queue")
    op.drop_table("crm_sync_state")
