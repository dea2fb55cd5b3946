"""When a recognised member last lifted a phone, in the member feed.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06

Adds `member_feed.last_seen` (null for existing rows): the hour of the member's
newest lift, which kiosks show on the welcome ("you looked at · 3 days ago").
Existing rows get it the next time their member's entry changes (their next lift);
until then kiosks show no time for them.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.add_column("member_feed", sa.Column("last_seen", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("member_feed") as batch:
        batch.drop_column("last_seen")
