"""Stores' kiosk seats: how many kiosks share a store's daily budgets and caps.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03

Adds `stores.kiosk_seats` (NULL for stores added before: each of their kiosks
keeps to the whole of every budget, as before) and `kiosks.budget_seat`
(NULL for kiosks enrolled before: their credentials carry no seat, so they keep
to the whole of each budget until they enrol again).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.add_column("stores", sa.Column("kiosk_seats", sa.Integer(), nullable=True))
    op.add_column("kiosks", sa.Column("budget_seat", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("kiosks") as batch:
        batch.drop_column("budget_seat")
    with op.batch_alter_table("stores") as batch:
        batch.drop_column("kiosk_seats")
