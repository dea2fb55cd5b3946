"""CRM connectors: the CRM's changes to contact fields come back.

Revision ID: 0020_crm_changes
Revises: 0019_dedupe_dismissals
Create Date: 2026-12-07

Adds `crm_records.sent_fields` (short hashes of the contact fields HQ last sent)
and two counters on `crm_sync_state`: `changes_applied`, `phone_conflicts`.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0020_crm_changes"
down_revision: str | None = "0019_dedupe_dismissals"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.add_column("crm_records", sa.Column("sent_fields", sa.String(400), nullable=True))
    for name in ("changes_applied", "phone_conflicts"):
        op.add_column(
            "crm_sync_state",
            sa.Column(name, sa.BigInteger(), nullable=False, server_default="0"),
        )


def downgrade() -> None:
    with op.batch_alter_table("crm_sync_state") as batch:
        batch.drop_column("phone_conflicts")
        batch.drop_column("changes_applied")
    with op.batch_alter_table("crm_records") as batch:
        batch.drop_column("sent_fields")
