"""HQ's first schema: fleet, ingest and CRM tables.

Revision ID: 0001
Revises:
Create Date: 2026-11-23

Written out in full rather than importing `hq.db`: a migration must keep
creating the schema of its day after `hq.db` has moved on.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None

# SQLite only gives INTEGER PRIMARY KEY (not BIGINT) the rowid's autoincrement.
_BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
_EVENT_ID = sa.String(36).with_variant(postgresql.UUID(as_uuid=False), "postgresql")


def _time(name: str, *, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _id() -> sa.Column[object]:
    return sa.Column("id", _BIG_ID, autoincrement=True, nullable=False)


def upgrade() -> None:
    op.create_table(
        "stores",
        sa.Column("store_id", sa.String(40), nullable=False),
        sa.Column("name", sa.String(200), nullable=True),
        _time("created_at"),
        sa.Column("kiosks_enrolled", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("store_id", name="pk_stores"),
    )
    op.create_table(
        "kiosks",
        sa.Column("kiosk_id", sa.String(64), nullable=False),
        sa.Column("store_id", sa.String(40), nullable=False),
        sa.Column("name", sa.String(100), nullable=True),
        sa.Column("token_sha256", sa.String(64), nullable=False),
        _time("enrolled_at"),
        _time("revoked_at", nullable=True),
        _time("last_seen_at", nullable=True),
        sa.Column("contiguous_seq", sa.BigInteger(), nullable=False),
        sa.Column("highest_seq", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["store_id"], ["stores.store_id"], name="fk_kiosks_store_id_stores"
        ),
        sa.PrimaryKeyConstraint("kiosk_id", name="pk_kiosks"),
        sa.UniqueConstraint("token_sha256", name="uq_kiosks_token_sha256"),
    )
    op.create_index("ix_kiosks_store_id", "kiosks", ["store_id"])
    op.create_table(
        "enrolment_codes",
        sa.Column("code_sha256", sa.String(64), nullable=False),
        sa.Column("store_id", sa.String(40), nullable=False),
        _time("issued_at"),
        _time("expires_at"),
        _time("used_at", nullable=True),
        sa.Column("kiosk_id", sa.String(64), nullable=True),
        sa.ForeignKeyConstraint(
            ["kiosk_id"], ["kiosks.kiosk_id"], name="fk_enrolment_codes_kiosk_id_kiosks"
        ),
        sa.ForeignKeyConstraint(
            ["store_id"], ["stores.store_id"], name="fk_enrolment_codes_store_id_stores"
        ),
        sa.PrimaryKeyConstraint("code_sha256", name="pk_enrolment_codes"),
    )
    op.create_index("ix_enrolment_codes_store_id", "enrolment_codes", ["store_id"])

    op.create_table(
        "events",
        _id(),
        sa.Column("event_id", _EVENT_ID, nullable=False),
        sa.Column("kiosk_id", sa.String(64), nullable=False),
        sa.Column("store_id", sa.String(40), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("schema_version", sa.Integer(), nullable=False),
        _time("occurred_at"),
        _time("received_at"),
        sa.Column("payload", _JSON, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_events"),
        sa.UniqueConstraint("event_id", name="uq_events_event_id"),
        sa.UniqueConstraint("kiosk_id", "seq", name="uq_events_kiosk_id_seq"),
    )
    op.create_table(
        "rejections",
        _id(),
        sa.Column("kiosk_id", sa.String(64), nullable=False),
        sa.Column("store_id", sa.String(40), nullable=False),
        sa.Column("event_id", sa.String(36), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("schema_version", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(500), nullable=False),
        _time("rejected_at"),
        sa.ForeignKeyConstraint(
            ["kiosk_id"], ["kiosks.kiosk_id"], name="fk_rejections_kiosk_id_kiosks"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_rejections"),
        sa.UniqueConstraint(
            "kiosk_id", "event_id", "seq", name="uq_rejections_kiosk_id_event_id_seq"
        ),
    )
    op.create_index("ix_rejections_kiosk_id_seq", "rejections", ["kiosk_id", "seq"])
    op.create_table(
        "access_denials",
        _id(),
        sa.Column("kiosk_id", sa.String(64), nullable=False),
        sa.Column("store_id", sa.String(40), nullable=False),
        sa.Column("events_refused", sa.Integer(), nullable=False),
        sa.Column("detail", sa.String(200), nullable=False),
        _time("denied_at"),
        sa.ForeignKeyConstraint(
            ["kiosk_id"], ["kiosks.kiosk_id"], name="fk_access_denials_kiosk_id_kiosks"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_access_denials"),
    )
    op.create_index("ix_access_denials_kiosk_id", "access_denials", ["kiosk_id"])

    op.create_table(
        "customers",
        sa.Column("customer_id", sa.String(36), nullable=False),
        sa.Column("phone_e164", sa.String(16), nullable=False),
        sa.Column("email", sa.String(254), nullable=True),
        sa.Column("name", sa.String(100), nullable=True),
        sa.Column("language", sa.String(35), nullable=True),
        _time("created_at"),
        sa.Column("first_store_id", sa.String(40), nullable=False),
        sa.PrimaryKeyConstraint("customer_id", name="pk_customers"),
        sa.UniqueConstraint("phone_e164", name="uq_customers_phone_e164"),
    )
    op.create_index("ix_customers_email", "customers", ["email"])
    op.create_table(
        "member_ids",
        sa.Column("member_id", sa.String(36), nullable=False),
        sa.Column("customer_id", sa.String(36), nullable=False),
        sa.Column("store_id", sa.String(40), nullable=False),
        sa.Column("kiosk_id", sa.String(64), nullable=False),
        _time("signed_up_at"),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.customer_id"], name="fk_member_ids_customer_id_customers"
        ),
        sa.PrimaryKeyConstraint("member_id", name="pk_member_ids"),
    )
    op.create_index("ix_member_ids_customer_id", "member_ids", ["customer_id"])
    op.create_table(
        "consents",
        _id(),
        sa.Column("event_id", sa.String(36), nullable=False),
        sa.Column("member_id", sa.String(36), nullable=False),
        sa.Column("purpose", sa.String(20), nullable=False),
        sa.Column("channel", sa.String(10), nullable=True),
        sa.Column("notice_version", sa.String(50), nullable=False),
        sa.Column("notice_sha256", sa.String(64), nullable=False),
        sa.Column("given", sa.Boolean(), nullable=False),
        sa.Column("store_id", sa.String(40), nullable=False),
        sa.Column("kiosk_id", sa.String(64), nullable=False),
        _time("occurred_at"),
        sa.PrimaryKeyConstraint("id", name="pk_consents"),
        sa.UniqueConstraint("event_id", name="uq_consents_event_id"),
    )
    op.create_index("ix_consents_member_id", "consents", ["member_id"])
    op.create_table(
        "interactions",
        _id(),
        sa.Column("event_id", sa.String(36), nullable=False),
        sa.Column("member_id", sa.String(36), nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("store_id", sa.String(40), nullable=False),
        sa.Column("kiosk_id", sa.String(64), nullable=False),
        _time("occurred_at"),
        sa.Column("session", sa.String(100), nullable=False),
        sa.Column("sku", sa.String(100), nullable=True),
        sa.Column("slot", sa.Integer(), nullable=True),
        sa.Column("details", _JSON, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_interactions"),
        sa.UniqueConstraint("event_id", name="uq_interactions_event_id"),
    )
    op.create_index("ix_interactions_member_id", "interactions", ["member_id"])
    op.create_table(
        "alarms",
        _id(),
        sa.Column("event_id", sa.String(36), nullable=False),
        sa.Column("store_id", sa.String(40), nullable=False),
        sa.Column("kiosk_id", sa.String(64), nullable=False),
        sa.Column("slot", sa.Integer(), nullable=False),
        sa.Column("sku", sa.String(100), nullable=True),
        sa.Column("reason", sa.String(100), nullable=False),
        _time("occurred_at"),
        sa.PrimaryKeyConstraint("id", name="pk_alarms"),
        sa.UniqueConstraint("event_id", name="uq_alarms_event_id"),
    )
    op.create_index("ix_alarms_store_id_occurred_at", "alarms", ["store_id", "occurred_at"])


def downgrade() -> None:
    for table in (
        "alarms",
        "interactions",
        "consents",
        "member_ids",
        "customers",
        "access_denials",
        "rejections",
        "events",
        "enrolment_codes",
        "kiosks",
        "stores",
    ):
        op.drop_table(table)
