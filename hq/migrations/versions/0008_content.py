"""Content releases: publishing, targeting, what kiosks report, and the audit log.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06

Adds `stores.region` (NULL for every existing store) and `store_tags`, the
content tables `content_releases`, `content_release_files`,
`content_planograms`, `kiosk_content_status` and `content_failures`, and
`audit_log`.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | None = None
depends_on: str | None = None

_BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.add_column("stores", sa.Column("region", sa.String(length=40), nullable=True))
    op.create_index("ix_stores_region", "stores", ["region"])
    op.create_table(
        "store_tags",
        sa.Column("store_id", sa.String(length=40), nullable=False),
        sa.Column("tag", sa.String(length=40), nullable=False),
        sa.ForeignKeyConstraint(
            ["store_id"], ["stores.store_id"], name="fk_store_tags_store_id_stores"
        ),
        sa.PrimaryKeyConstraint("store_id", "tag", name="pk_store_tags"),
    )
    op.create_index("ix_store_tags_tag", "store_tags", ["tag"])
    op.create_table(
        "content_releases",
        sa.Column("release_id", _BIG_ID, autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("target_kind", sa.String(length=10), nullable=False),
        sa.Column("target_value", sa.String(length=40), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("not_before", sa.DateTime(timezone=True), nullable=True),
        sa.Column("expires", sa.DateTime(timezone=True), nullable=True),
        sa.Column("bundle_release", sa.String(length=64), nullable=False),
        sa.Column("source", sa.String(length=10), nullable=False),
        sa.Column("base_release", sa.BigInteger(), nullable=True),
        sa.Column("reverts", sa.BigInteger(), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_by", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("release_id", name="pk_content_releases"),
    )
    op.create_index(
        "ix_content_releases_target_kind_target_value",
        "content_releases",
        ["target_kind", "target_value"],
    )
    op.create_table(
        "content_release_files",
        sa.Column("release_id", _BIG_ID, nullable=False),
        sa.Column("path", sa.String(length=200), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["release_id"],
            ["content_releases.release_id"],
            name="fk_content_release_files_release_id_content_releases",
        ),
        sa.PrimaryKeyConstraint("release_id", "path", name="pk_content_release_files"),
    )
    op.create_table(
        "content_planograms",
        sa.Column("release_id", _BIG_ID, nullable=False),
        sa.Column("kiosk_id", sa.String(length=64), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["release_id"],
            ["content_releases.release_id"],
            name="fk_content_planograms_release_id_content_releases",
        ),
        sa.PrimaryKeyConstraint("release_id", "kiosk_id", name="pk_content_planograms"),
    )
    op.create_table(
        "kiosk_content_status",
        sa.Column("kiosk_id", sa.String(length=64), nullable=False),
        sa.Column("store_id", sa.String(length=40), nullable=False),
        sa.Column("active", sa.BigInteger(), nullable=True),
        sa.Column("ready", _JSON, nullable=False),
        sa.Column("downloading", sa.BigInteger(), nullable=True),
        sa.Column("bytes_done", sa.BigInteger(), nullable=True),
        sa.Column("bytes_total", sa.BigInteger(), nullable=True),
        sa.Column("reported_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("kiosk_id", name="pk_kiosk_content_status"),
    )
    op.create_index("ix_kiosk_content_status_store_id", "kiosk_content_status", ["store_id"])
    op.create_table(
        "content_failures",
        sa.Column("id", _BIG_ID, autoincrement=True, nullable=False),
        sa.Column("failure_id", sa.String(length=36), nullable=False),
        sa.Column("kiosk_id", sa.String(length=64), nullable=False),
        sa.Column("store_id", sa.String(length=40), nullable=False),
        sa.Column("release_id", sa.BigInteger(), nullable=True),
        sa.Column("reason", sa.String(length=20), nullable=False),
        sa.Column("detail", sa.String(length=300), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_content_failures"),
        sa.UniqueConstraint("failure_id", name="uq_content_failures_failure_id"),
    )
    op.create_index("ix_content_failures_kiosk_id", "content_failures", ["kiosk_id"])
    op.create_index("ix_content_failures_release_id", "content_failures", ["release_id"])
    op.create_table(
        "audit_log",
        sa.Column("id", _BIG_ID, autoincrement=True, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("target", sa.String(length=200), nullable=False),
        sa.Column("detail", _JSON, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_audit_log"),
    )
    op.create_index("ix_audit_log_at", "audit_log", ["at"])


def downgrade() -> None:
    op.drop_table("audit_log")
    op.drop_table("content_failures")
    op.drop_table("kiosk_content_status")
    op.drop_table("content_planograms")
    op.drop_table("content_release_files")
    op.drop_table("content_releases")
    op.drop_table("store_tags")
    op.drop_index("ix_stores_region", table_name="stores")
    with op.batch_alter_table("stores") as batch:
        batch.drop_column("region")
