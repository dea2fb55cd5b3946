"""Member recognition: tag bindings, the member feed, the tag key, erasures.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01

Adds `tag_bindings`, `member_feed`, `recognition_state` and `erased_members`,
and two columns: `member_ids.greet_by_name` (false for sign-ups made before)
and `customers.segment`. The tag key is not made here: HQ makes it on first use
(`hq.crm.recognition`), so a database emptied by hand gets a fresh one.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _time(name: str, *, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    with op.batch_alter_table("member_ids") as batch:
        batch.add_column(
            sa.Column("greet_by_name", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    with op.batch_alter_table("customers") as batch:
        batch.add_column(sa.Column("segment", sa.String(40), nullable=True))

    op.create_table(
        "tag_bindings",
        sa.Column("tag_hash", sa.String(64), nullable=False),
        sa.Column("member_id", sa.String(36), nullable=False),
        sa.Column("kind", sa.String(10), nullable=True),
        _time("bound_at"),
        sa.Column("source", sa.String(10), nullable=False),
        sa.Column("store_id", sa.String(40), nullable=True),
        sa.Column("kiosk_id", sa.String(64), nullable=True),
        sa.Column("event_id", sa.String(36), nullable=True),
        sa.PrimaryKeyConstraint("tag_hash", name="pk_tag_bindings"),
    )
    op.create_index("ix_tag_bindings_member_id", "tag_bindings", ["member_id"])
    op.create_table(
        "member_feed",
        sa.Column("tag_hash", sa.String(64), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("removed", sa.Boolean(), nullable=False),
        sa.Column("member_id", sa.String(36), nullable=True),
        sa.Column("greeting_name", sa.String(100), nullable=True),
        sa.Column("last_viewed", _JSON, nullable=True),
        sa.Column("segment", sa.String(40), nullable=True),
        _time("changed_at"),
        sa.PrimaryKeyConstraint("tag_hash", name="pk_member_feed"),
        sa.UniqueConstraint("version", name="uq_member_feed_version"),
    )
    op.create_table(
        "recognition_state",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("tag_key", sa.LargeBinary(), nullable=False),
        sa.Column("feed_version", sa.BigInteger(), nullable=False),
        sa.Column("compacted_through", sa.BigInteger(), nullable=False),
        _time("created_at"),
        sa.PrimaryKeyConstraint("id", name="pk_recognition_state"),
    )
    op.create_table(
        "erased_members",
        sa.Column("member_id", sa.String(36), nullable=False),
        _time("erased_at"),
        sa.PrimaryKeyConstraint("member_id", name="pk_erased_members"),
    )


def downgrade() -> None:
    for table in ("erased_members", "recognition_state", "member_feed", "tag_bindings"):
        op.drop_table(table)
    with op.batch_alter_table("customers") as batch:
        batch.drop_column("segment")
    with op.batch_alter_table("member_ids") as batch:
        batch.drop_column("greet_by_name")
