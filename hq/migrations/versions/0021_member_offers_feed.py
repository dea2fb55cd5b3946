"""Member offers: the facts offers are decided on, and marketing consent, in the member feed.

Revision ID: 0021_member_offers_feed
Revises: 0020_crm_changes
Create Date: 2026-12-07

- `customers.segment` (free text nothing set) becomes `customers.tier`, the
  loyalty tier; `customers` gains `tags` (a JSON array of slugs) and
  `birth_month` (1-12), set by `kiosk-hq customers segment` and
  `customers import-segments` (hq/crm/segments.py).
- `member_feed.segment` becomes `member_feed.tier`; the feed gains `marketing`
  (the person's newest marketing decision is "given"), `tags` and `birth_month`,
  which, like `tier`, are set only with marketing consent.

Existing live entries take `marketing` from their person's newest marketing
decision (all the member ids of their customer), and lose a tier they hold
without it. Every entry this changes gets a new feed version, above all the
others in their old order, so a kiosk that holds the feed already (even one
whose directory was upgraded against an HQ from before this) receives it.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0021_member_offers_feed"
down_revision: str | None = "0020_crm_changes"
branch_labels: str | None = None
depends_on: str | None = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")

# Live entries whose person's newest marketing decision (on any of their customer's
# member ids, or their own) is "given".
_MARK_MARKETING = (
    "UPDATE member_feed SET marketing = :yes WHERE removed = :no AND ("
    "SELECT c.given FROM consents c WHERE c.purpose = 'marketing' AND ("
    " c.member_id = member_feed.member_id OR c.member_id IN ("
    "  SELECT o.member_id FROM member_ids o JOIN member_ids s"
    "  ON o.customer_id = s.customer_id WHERE s.member_id = member_feed.member_id))"
    " ORDER BY c.occurred_at DESC, c.id DESC LIMIT 1) = :yes"
)
# New versions for the entries that change (marketing now, or a tier to drop),
# above every version handed out: unique, and in the order they were.
_NEW_VERSIONS = (
    "UPDATE member_feed SET version = version"
    " + (SELECT feed_version FROM recognition_state WHERE id = 1)"
    " WHERE removed = :no AND (marketing = :yes OR tier IS NOT NULL)"
)
_FEED_VERSION = (
    "UPDATE recognition_state SET feed_version = (SELECT max(version) FROM member_feed)"
    " WHERE id = 1 AND (SELECT max(version) FROM member_feed) > feed_version"
)


def upgrade() -> None:
    # RENAME COLUMN: the same statement on PostgreSQL and SQLite (3.25 and later).
    op.execute("ALTER TABLE customers RENAME COLUMN segment TO tier")
    op.add_column("customers", sa.Column("tags", _JSON, nullable=True))
    op.add_column("customers", sa.Column("birth_month", sa.Integer(), nullable=True))
    op.execute("ALTER TABLE member_feed RENAME COLUMN segment TO tier")
    op.add_column(
        "member_feed",
        sa.Column("marketing", sa.Boolean(), server_default=sa.false(), nullable=False),
    )
    op.add_column("member_feed", sa.Column("tags", _JSON, nullable=True))
    op.add_column("member_feed", sa.Column("birth_month", sa.Integer(), nullable=True))

    flags = {"yes": True, "no": False}
    op.execute(sa.text(_MARK_MARKETING).bindparams(**flags))
    op.execute(sa.text(_NEW_VERSIONS).bindparams(**flags))
    op.execute(sa.text(_FEED_VERSION))
    # Without marketing consent an entry carries no tier (tags and birth month are new).
    op.execute(
        sa.text("UPDATE member_feed SET tier = NULL WHERE marketing = :no").bindparams(no=False)
    )


def downgrade() -> None:
    with op.batch_alter_table("member_feed") as batch:
        batch.drop_column("birth_month")
        batch.drop_column("tags")
        batch.drop_column("marketing")
    op.execute("ALTER TABLE member_feed RENAME COLUMN tier TO segment")
    with op.batch_alter_table("customers") as batch:
        batch.drop_column("birth_month")
        batch.drop_column("tags")
    op.execute("ALTER TABLE customers RENAME COLUMN tier TO segment")
