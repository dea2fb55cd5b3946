"""The recommendation model: imported till receipts and trained model versions.

Revision ID: 0017_recmodel
Revises: 0016_crm_connectors
Create Date: 2026-12-07

Adds `sales_lines` (`kiosk-hq model import-sales`) and `recommendation_models`
(`kiosk-hq model train`; hq.analytics.model), and `member_feed.personalised`: the
member consented to personalised recommendations. Existing entries take it from
their member id's newest personalisation decision; kiosks fetch the whole feed
again when their member directory is upgraded (backend_client/member_file.py).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0017_recmodel"
down_revision: str | None = "0016_crm_connectors"
branch_labels: str | None = None
depends_on: str | None = None

_BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _time(name: str, *, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.add_column(
        "member_feed",
        sa.Column("personalised", sa.Boolean(), server_default=sa.false(), nullable=False),
    )
    op.execute(
        sa.text(
            "UPDATE member_feed SET personalised = :yes WHERE removed = :no AND ("
            " SELECT c.given FROM consents c WHERE c.member_id = member_feed.member_id"
            " AND c.purpose = 'personalisation' ORDER BY c.occurred_at DESC, c.id DESC"
            " LIMIT 1) = :yes"
        ).bindparams(yes=True, no=False)
    )
    op.create_table(
        "sales_lines",
        sa.Column("id", _BIG_ID, autoincrement=True, nullable=False),
        sa.Column("store_id", sa.String(40), nullable=False),
        sa.Column("receipt", sa.String(64), nullable=False),
        sa.Column("sku", sa.String(100), nullable=False),
        _time("sold_at"),
        sa.Column("quantity", sa.Integer(), nullable=False),
        _time("imported_at"),
        sa.PrimaryKeyConstraint("id", name="pk_sales_lines"),
        sa.UniqueConstraint(
            "store_id", "receipt", "sku", name="uq_sales_lines_store_id_receipt_sku"
        ),
    )
    op.create_index("ix_sales_lines_sold_at", "sales_lines", ["sold_at"])
    op.create_table(
        "recommendation_models",
        sa.Column("model_id", sa.Integer(), autoincrement=True, nullable=False),
        _time("trained_at"),
        _time("created_at"),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("half_life_days", sa.Float(), nullable=False),
        sa.Column("events", sa.BigInteger(), nullable=False),
        sa.Column("visits", sa.BigInteger(), nullable=False),
        sa.Column("evaluation", _JSON, nullable=True),
        sa.Column("document", _JSON, nullable=False),
        sa.Column("shipped_release", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("model_id", name="pk_recommendation_models"),
    )


def downgrade() -> None:
    op.drop_table("recommendation_models")
    op.drop_index("ix_sales_lines_sold_at", table_name="sales_lines")
    op.drop_table("sales_lines")
    with op.batch_alter_table("member_feed") as batch:
        batch.drop_column("personalised")
