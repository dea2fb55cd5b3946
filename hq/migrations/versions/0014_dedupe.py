"""One clean record per customer: addresses, merged records and the merge history.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07

- `customers.address` (set by HQ staff), `customers.address_key` (its normalised
  form, for matching) and `customers.merged_into` (NULL: a live record);
- `customer_merges` (hq.crm.merges): every merge, who made and undid it, and what
  undoing it needs.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    with op.batch_alter_table("customers") as batch:
        batch.add_column(sa.Column("address", sa.String(300), nullable=True))
        batch.add_column(sa.Column("address_key", sa.String(300), nullable=True))
        batch.add_column(sa.Column("merged_into", sa.String(36), nullable=True))
    op.create_index("ix_customers_address_key", "customers", ["address_key"])
    op.create_index("ix_customers_merged_into", "customers", ["merged_into"])
    big_id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
    json = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
    op.create_table(
        "customer_merges",
        sa.Column("merge_id", big_id, autoincrement=True, nullable=False),
        sa.Column("survivor_id", sa.String(36), nullable=False),
        sa.Column("merged_id", sa.String(36), nullable=False),
        sa.Column("reasons", json, nullable=False),
        sa.Column("merged_by", sa.String(64), nullable=False),
        sa.Column("merged_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("undone_by", sa.String(64), nullable=True),
        sa.Column("undone_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("snapshot", json, nullable=True),
        sa.PrimaryKeyConstraint("merge_id", name="pk_customer_merges"),
    )
    op.create_index("ix_customer_merges_survivor_id", "customer_merges", ["survivor_id"])
    op.create_index("ix_customer_merges_merged_id", "customer_merges", ["merged_id"])


def downgrade() -> None:
    op.drop_index("ix_customer_merges_merged_id", table_name="customer_merges")
    op.drop_index("ix_customer_merges_survivor_id", table_name="customer_merges")
    op.drop_table("customer_merges")
    op.drop_index("ix_customers_merged_into", table_name="customers")
    op.drop_index("ix_customers_address_key", table_name="customers")
    with op.batch_alter_table("customers") as batch:
        batch.drop_column("merged_into")
        batch.drop_column("address_key")
        batch.drop_column("address")
