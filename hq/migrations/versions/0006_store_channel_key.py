"""Store channel keys: each store's live-channel key version.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06

Adds `stores.channel_key_id` (1 for every existing store). The key itself is
derived from the chain's secret, the store id and this version
(`hq.channel_keys`), so nothing secret is added to the database.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.add_column(
        "stores",
        sa.Column("channel_key_id", sa.Integer(), nullable=False, server_default="1"),
    )


def downgrade() -> None:
    with op.batch_alter_table("stores") as batch:
        batch.drop_column("channel_key_id")
