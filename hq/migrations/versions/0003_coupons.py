"""Surveys and coupons: kiosk numbers, the coupon tables, survey answers, prize draws.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-08

Adds `kiosks.kiosk_no` (the kiosk's number inside coupon codes: kiosks enrolled
before get 1, 2, ... in order of enrolment, so new ones continue from there) and
the tables `survey_answers`, `survey_completions`, `prize_draws`,
`coupons_issued`, `coupon_redemptions`, `redeemed_coupons`, `coupon_state` and
`handoff_uses` (the one-time "continue on your phone" links already used).
The coupon secret is not made here: HQ makes it on first use (as the tag key).

Kiosks enrolled before this revision have a number but not their coupon key: they
learn it only by enrolling again.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None

_BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _time(name: str, *, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _report() -> list[sa.Column[object]]:
    """The columns every kiosk report table starts with."""
    return [
        sa.Column("id", _BIG_ID, autoincrement=True, nullable=False),
        sa.Column("event_id", sa.String(36), nullable=False),
        sa.Column("member_id", sa.String(36), nullable=True),
        sa.Column("store_id", sa.String(40), nullable=False),
        sa.Column("kiosk_id", sa.String(64), nullable=False),
        _time("occurred_at"),
        sa.Column("session", sa.String(100), nullable=False),
    ]


def upgrade() -> None:
    # ADD COLUMN, then numbers, then a unique index: SQLite needs no table rebuild.
    op.add_column("kiosks", sa.Column("kiosk_no", sa.Integer(), nullable=True))
    kiosks = sa.table(
        "kiosks",
        sa.column("kiosk_id", sa.String()),
        sa.column("enrolled_at", sa.DateTime()),
        sa.column("kiosk_no", sa.Integer()),
    )
    connection = op.get_bind()
    enrolled = connection.execute(
        sa.select(kiosks.c.kiosk_id).order_by(kiosks.c.enrolled_at, kiosks.c.kiosk_id)
    ).scalars()
    for number, kiosk_id in enumerate(list(enrolled), start=1):
        connection.execute(
            sa.update(kiosks).where(kiosks.c.kiosk_id == kiosk_id).values(kiosk_no=number)
        )
    op.create_index("ix_kiosks_kiosk_no", "kiosks", ["kiosk_no"], unique=True)

    op.create_table(
        "survey_answers",
        *_report(),
        sa.Column("survey", sa.String(40), nullable=False),
        sa.Column("question", sa.String(40), nullable=False),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("score", sa.Integer(), nullable=True),
        sa.Column("choices", _JSON, nullable=True),
        sa.Column("text", sa.String(500), nullable=True),
        sa.Column("low", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_survey_answers"),
        sa.UniqueConstraint("event_id", name="uq_survey_answers_event_id"),
    )
    op.create_index("ix_survey_answers_member_id", "survey_answers", ["member_id"])
    op.create_index(
        "ix_survey_answers_survey_occurred_at", "survey_answers", ["survey", "occurred_at"]
    )
    op.create_table(
        "survey_completions",
        *_report(),
        sa.Column("survey", sa.String(40), nullable=False),
        sa.Column("answers", sa.Integer(), nullable=False),
        sa.Column("reward_code", sa.String(29), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_survey_completions"),
        sa.UniqueConstraint("event_id", name="uq_survey_completions_event_id"),
    )
    op.create_index("ix_survey_completions_member_id", "survey_completions", ["member_id"])
    op.create_index(
        "ix_survey_completions_survey_occurred_at",
        "survey_completions",
        ["survey", "occurred_at"],
    )
    op.create_table(
        "prize_draws",
        *_report(),
        sa.Column("draw", sa.String(40), nullable=False),
        sa.Column("prize", sa.String(40), nullable=True),
        sa.Column("code", sa.String(29), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_prize_draws"),
        sa.UniqueConstraint("event_id", name="uq_prize_draws_event_id"),
    )
    op.create_index("ix_prize_draws_member_id", "prize_draws", ["member_id"])
    op.create_index("ix_prize_draws_draw_occurred_at", "prize_draws", ["draw", "occurred_at"])

    op.create_table(
        "coupons_issued",
        sa.Column("code", sa.String(29), nullable=False),
        sa.Column("kiosk_no", sa.Integer(), nullable=False),
        sa.Column("serial", sa.Integer(), nullable=False),
        sa.Column("campaign_no", sa.Integer(), nullable=False),
        sa.Column("campaign", sa.String(40), nullable=False),
        sa.Column("expires_on", sa.Date(), nullable=False),
        sa.Column("reason", sa.String(10), nullable=False),
        sa.Column("member_id", sa.String(36), nullable=True),
        sa.Column("session", sa.String(100), nullable=False),
        sa.Column("store_id", sa.String(40), nullable=False),
        sa.Column("kiosk_id", sa.String(64), nullable=False),
        sa.Column("event_id", sa.String(36), nullable=False),
        _time("issued_at"),
        _time("received_at"),
        sa.PrimaryKeyConstraint("code", name="pk_coupons_issued"),
        sa.UniqueConstraint("event_id", name="uq_coupons_issued_event_id"),
    )
    op.create_index("ix_coupons_issued_member_id", "coupons_issued", ["member_id"])
    op.create_table(
        "coupon_redemptions",
        sa.Column("id", _BIG_ID, autoincrement=True, nullable=False),
        sa.Column("code", sa.String(29), nullable=False),
        sa.Column("kiosk_no", sa.Integer(), nullable=False),
        sa.Column("serial", sa.Integer(), nullable=False),
        sa.Column("campaign_no", sa.Integer(), nullable=False),
        sa.Column("store_id", sa.String(40), nullable=False),
        sa.Column("redeemed_by", sa.String(64), nullable=False),
        _time("redeemed_at"),
        sa.Column("source", sa.String(10), nullable=False),
        sa.Column("kiosk_id", sa.String(64), nullable=True),
        sa.Column("event_id", sa.String(36), nullable=True),
        _time("recorded_at"),
        sa.PrimaryKeyConstraint("id", name="pk_coupon_redemptions"),
        sa.UniqueConstraint("event_id", name="uq_coupon_redemptions_event_id"),
    )
    op.create_index("ix_coupon_redemptions_code", "coupon_redemptions", ["code"])
    op.create_table(
        "redeemed_coupons",
        sa.Column("code", sa.String(29), nullable=False),
        sa.Column("kiosk_no", sa.Integer(), nullable=False),
        sa.Column("serial", sa.Integer(), nullable=False),
        sa.Column("redemptions", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("code", name="pk_redeemed_coupons"),
    )
    op.create_index("ix_redeemed_coupons_redemptions", "redeemed_coupons", ["redemptions"])
    op.create_table(
        "coupon_state",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("secret", sa.LargeBinary(), nullable=False),
        _time("created_at"),
        sa.PrimaryKeyConstraint("id", name="pk_coupon_state"),
    )
    op.create_table(
        "handoff_uses",
        sa.Column("kiosk_no", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("nonce", sa.String(16), nullable=False),
        sa.Column("kiosk_id", sa.String(64), nullable=False),
        _time("expires_at"),
        _time("used_at"),
        sa.PrimaryKeyConstraint("kiosk_no", "nonce", name="pk_handoff_uses"),
    )


def downgrade() -> None:
    for table in (
        "handoff_uses",
        "coupon_state",
        "redeemed_coupons",
        "coupon_redemptions",
        "coupons_issued",
        "prize_draws",
        "survey_completions",
        "survey_answers",
    ):
        op.drop_table(table)
    op.drop_index("ix_kiosks_kiosk_no", table_name="kiosks")
    # Not batch mode: rebuilding `kiosks` would trip the foreign keys that point at it.
    # SQLite drops a column in place since 3.35.
    op.drop_column("kiosks", "kiosk_no")
