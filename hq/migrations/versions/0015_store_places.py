"""Where each store is: latitude and longitude, for the console's store map.

Revision ID: 0015_store_places
Revises: 0014
Create Date: 2026-12-07

Adds `stores.latitude` and `stores.longitude` (degrees, WGS 84), both NULL until
HQ staff set them (`kiosk-hq store set --lat --lon`, `kiosk-hq store import`).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0015_store_places"
down_revision: str | None = "0014"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    with op.batch_alter_table("stores") as batch:
        batch.add_column(sa.Column("latitude", sa.Float(), nullable=True))
        batch.add_column(sa.Column("longitude", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("stores") as batch:
        batch.drop_column("longitude")
        batch.drop_column("latitude")
