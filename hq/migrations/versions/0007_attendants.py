"""Attendant devices: their role, their enrolment codes, and what they report.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06

Adds `kiosks.role` and `enrolment_codes.role` ("kiosk" for every existing row),
`stores.attendants_enrolled` (0), and the tables `alert_acks` and
`planogram_edits` for the attendant devices' `alert_ack` and `planogram_edit`
events.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | None = None
depends_on: str | None = None

_BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.add_column(
        "kiosks",
        sa.Column("role", sa.String(length=10), nullable=False, server_default="kiosk"),
    )
    op.add_column(
        "enrolment_codes",
        sa.Column("role", sa.String(length=10), nullable=False, server_default="kiosk"),
    )
    op.add_column(
        "stores",
        sa.Column("attendants_enrolled", sa.Integer(), nullable=False, server_default="0"),
    )
    op.create_table(
        "alert_acks",
        sa.Column("id", _BIG_ID, autoincrement=True, nullable=False),
        sa.Column("event_id", sa.String(length=36), nullable=False),
        sa.Column("store_id", sa.String(length=40), nullable=False),
        sa.Column("attendant_id", sa.String(length=64), nullable=False),
        sa.Column("kiosk_id", sa.String(length=64), nullable=False),
        sa.Column("alert_seq", sa.BigInteger(), nullable=False),
        sa.Column("alert_kind", sa.String(length=40), nullable=False),
        sa.Column("acked_by", sa.String(length=64), nullable=False),
        sa.Column("after_s", sa.Float(), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_alert_acks"),
        sa.UniqueConstraint("event_id", name="uq_alert_acks_event_id"),
    )
    op.create_index("ix_alert_acks_store_id_occurred_at", "alert_acks", ["store_id", "occurred_at"])
    op.create_table(
        "planogram_edits",
        sa.Column("id", _BIG_ID, autoincrement=True, nullable=False),
        sa.Column("event_id", sa.String(length=36), nullable=False),
        sa.Column("store_id", sa.String(length=40), nullable=False),
        sa.Column("attendant_id", sa.String(length=64), nullable=False),
        sa.Column("kiosk_id", sa.String(length=64), nullable=False),
        sa.Column("slot", sa.Integer(), nullable=False),
        sa.Column("sku_before", sa.String(length=100), nullable=True),
        sa.Column("sku_after", sa.String(length=100), nullable=False),
        sa.Column("edited_by", sa.String(length=64), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_planogram_edits"),
        sa.UniqueConstraint("event_id", name="uq_planogram_edits_event_id"),
    )
    op.create_index(
        "ix_planogram_edits_store_id_occurred_at",
        "planogram_edits",
        ["store_id", "occurred_at"],
    )


def downgrade() -> None:
    op.drop_table("planogram_edits")
    op.drop_table("alert_acks")
    with op.batch_alter_table("stores") as batch:
        batch.drop_column("attendants_enrolled")
    with op.batch_alter_table("enrolment_codes") as batch:
        batch.drop_column("role")
    with op.batch_alter_table("kiosks") as batch:
        batch.drop_column("role")
