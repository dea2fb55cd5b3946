"""Kiosks' heartbeats and the fleet's alerts.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06

Adds `kiosk_heartbeats` (each kiosk's last heartbeat), `heartbeat_history` (a
bounded history of them) and `fleet_alerts` (alerts raised and cleared, at most one
open per kiosk, kind and subject: a partial unique index).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | None = None
depends_on: str | None = None

_BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _heartbeat_columns() -> list[sa.Column[object]]:
    return [
        sa.Column("store_id", sa.String(length=40), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("app_version", sa.String(length=40), nullable=False),
        sa.Column("content_release", sa.String(length=64), nullable=True),
        sa.Column("devices", _JSON, nullable=False),
        sa.Column("sync_state", sa.String(length=20), nullable=True),
        sa.Column("backlog", sa.BigInteger(), nullable=False),
        sa.Column("dead_letters", sa.BigInteger(), nullable=False),
        sa.Column("disk_free", sa.BigInteger(), nullable=True),
        sa.Column("disk_total", sa.BigInteger(), nullable=True),
        sa.Column("uptime_s", sa.BigInteger(), nullable=False),
        sa.Column("last_crash_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_crash_kind", sa.String(length=20), nullable=True),
        sa.Column("last_crash_what", sa.String(length=100), nullable=True),
        sa.Column("screen", sa.String(length=10), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "kiosk_heartbeats",
        sa.Column("kiosk_id", sa.String(length=64), nullable=False),
        *_heartbeat_columns(),
        sa.PrimaryKeyConstraint("kiosk_id", name="pk_kiosk_heartbeats"),
    )
    op.create_index("ix_kiosk_heartbeats_store_id", "kiosk_heartbeats", ["store_id"])
    op.create_table(
        "heartbeat_history",
        sa.Column("id", _BIG_ID, autoincrement=True, nullable=False),
        sa.Column("kiosk_id", sa.String(length=64), nullable=False),
        *_heartbeat_columns(),
        sa.PrimaryKeyConstraint("id", name="pk_heartbeat_history"),
    )
    op.create_index(
        "ix_heartbeat_history_kiosk_id_received_at",
        "heartbeat_history",
        ["kiosk_id", "received_at"],
    )
    op.create_table(
        "fleet_alerts",
        sa.Column("id", _BIG_ID, autoincrement=True, nullable=False),
        sa.Column("kiosk_id", sa.String(length=64), nullable=False),
        sa.Column("store_id", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("subject", sa.String(length=40), nullable=False, server_default=""),
        sa.Column("detail", sa.String(length=200), nullable=False, server_default=""),
        sa.Column("raised_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("cleared_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_fleet_alerts"),
    )
    open_only = sa.column("cleared_at").is_(None)
    op.create_index(
        "uq_fleet_alerts_open",
        "fleet_alerts",
        ["kiosk_id", "kind", "subject"],
        unique=True,
        sqlite_where=open_only,
        postgresql_where=open_only,
    )
    op.create_index("ix_fleet_alerts_raised_at", "fleet_alerts", ["raised_at"])


def downgrade() -> None:
    op.drop_table("fleet_alerts")
    op.drop_table("heartbeat_history")
    op.drop_table("kiosk_heartbeats")
