"""Consents recorded by HQ staff; erased member ids kept as hashes only.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06

- `consents.source` ("kiosk" for every decision before: all came from kiosks)
  and `consents.recorded_by` (who at HQ recorded a decision); `store_id` and
  `kiosk_id` become optional: a withdrawal taken by phone at HQ has neither.
- `erased_members.member_id` becomes `member_sha256`: the SHA-256 of the member
  id instead of the id itself, so an erasure leaves no member id behind.
"""

from __future__ import annotations

import hashlib

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | None = None
depends_on: str | None = None


def _hash(member_id: str) -> str:
    # As hq.crm.erasure.member_hash (a migration keeps its own copy: it must not
    # change when the code does).
    return hashlib.sha256(member_id.lower().encode("ascii", "replace")).hexdigest()


def upgrade() -> None:
    with op.batch_alter_table("consents") as batch:
        batch.add_column(sa.Column("source", sa.String(10), nullable=False, server_default="kiosk"))
        batch.add_column(sa.Column("recorded_by", sa.String(64), nullable=True))
        batch.alter_column("store_id", existing_type=sa.String(40), nullable=True)
        batch.alter_column("kiosk_id", existing_type=sa.String(64), nullable=True)

    erased = sa.table("erased_members", sa.column("member_id", sa.String), sa.column("erased_at"))
    connection = op.get_bind()
    rows = connection.execute(sa.select(erased.c.member_id, erased.c.erased_at)).all()
    op.drop_table("erased_members")
    op.create_table(
        "erased_members",
        sa.Column("member_sha256", sa.String(64), nullable=False),
        sa.Column("erased_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("member_sha256", name="pk_erased_members"),
    )
    if rows:
        op.bulk_insert(
            # erased_at untyped: copied as the database gave it (SQLite: text).
            sa.table("erased_members", sa.column("member_sha256"), sa.column("erased_at")),
            [{"member_sha256": _hash(row.member_id), "erased_at": row.erased_at} for row in rows],
        )


def downgrade() -> None:
    # The member ids cannot be had back from their hashes: erasures are forgotten
    # (their later events would be projected again).
    op.drop_table("erased_members")
    op.create_table(
        "erased_members",
        sa.Column("member_id", sa.String(36), nullable=False),
        sa.Column("erased_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("member_id", name="pk_erased_members"),
    )
    op.execute("DELETE FROM consents WHERE source = 'hq'")
    with op.batch_alter_table("consents") as batch:
        batch.alter_column("kiosk_id", existing_type=sa.String(64), nullable=False)
        batch.alter_column("store_id", existing_type=sa.String(40), nullable=False)
        batch.drop_column("recorded_by")
        batch.drop_column("source")
