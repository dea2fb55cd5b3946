"""Analytics: hourly, daily and monthly rollups of the events, and how far they were rolled.

Revision ID: 0018_analytics
Revises: 0017_recmodel
Create Date: 2026-12-07

Adds the rollup tables of hq.analytics.rollup (each rollup per store or chain-wide,
per UTC hour, day or month), `rollup_marks` and the state tables of facts that span
events. They start empty with the mark at 0: the first rollup round after this
revision rolls up every event HQ already holds.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0018_analytics"
down_revision: str | None = "0017_recmodel"
branch_labels: str | None = None
depends_on: str | None = None

_SKU: tuple[str, Any] = ("sku", sa.String(100))
_SLUG = sa.String(40)
# name: (dimensions, measures); the same as hq.db's _rollup_tables calls.
_ROLLUPS: dict[str, tuple[list[tuple[str, Any]], list[str]]] = {
    "products": (
        [_SKU, ("slot", sa.Integer())],
        ["lifts", "putbacks", "dwell_ms", "compared", "member_lifts", "returned_lifts"],
    ),
    "dwell": ([_SKU, ("seconds", sa.Integer())], ["drops"]),
    "stores": (
        [],
        [
            *("lifts", "putbacks", "dwell_ms", "lift_sessions", "signups"),
            *("visits", "repeat_visits", "gap_s", "gaps"),
            *("smiley_answers", "smiley_top", "nps_answers", "promoters", "detractors"),
            *("coupons_issued", "coupons_redeemed"),
        ],
    ),
    "surveys": (
        [("survey", _SLUG), ("question", _SLUG), ("kind", sa.String(10)), ("score", sa.Integer())],
        ["answers"],
    ),
    "reasons": ([("survey", _SLUG), ("question", _SLUG), ("choice", _SLUG)], ["answers"]),
    "coupons": ([("campaign", _SLUG)], ["issued", "redeemed"]),
    "draws": ([("draw", _SLUG), ("prize", _SLUG)], ["draws"]),
}
_VARIANTS = tuple(
    f"{scope}_{unit}" for scope in ("store", "chain") for unit in ("hours", "days", "months")
)
_STATE = (
    "rollup_lift_sessions",
    "rollup_member_sessions",
    "rollup_members",
    "rollup_survey_sessions",
)


def _json() -> sa.types.TypeEngine[Any]:
    return sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _time() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    for name, (dimensions, measures) in _ROLLUPS.items():
        for variant in _VARIANTS:
            table = f"rollup_{name}_{variant}"
            per_store = variant.startswith("store")
            keys = ["at", *(["store_id"] if per_store else []), *(d for d, _ in dimensions)]
            op.create_table(
                table,
                sa.Column("at", _time(), nullable=False),
                *([sa.Column("store_id", sa.String(40), nullable=False)] if per_store else []),
                *(sa.Column(d, kind, nullable=False) for d, kind in dimensions),
                *(sa.Column(m, sa.BigInteger(), nullable=False) for m in measures),
                sa.PrimaryKeyConstraint(*keys, name=f"pk_{table}"),
            )
            if per_store:
                op.create_index(f"ix_{table}_store_id_at", table, ["store_id", "at"])
    op.create_table(
        "rollup_marks",
        sa.Column("source", sa.String(40), nullable=False),
        sa.Column("through", sa.BigInteger(), nullable=False),
        sa.Column("rolled_at", _time(), nullable=True),
        sa.Column("newest", _time(), nullable=True),
        sa.PrimaryKeyConstraint("source", name="pk_rollup_marks"),
    )
    op.create_table(
        "rollup_lift_sessions",
        sa.Column("kiosk_id", sa.String(64), nullable=False),
        sa.Column("session", sa.String(100), nullable=False),
        sa.Column("store_id", sa.String(40), nullable=False),
        sa.Column("at", _time(), nullable=False),
        sa.Column("through", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("kiosk_id", "session", name="pk_rollup_lift_sessions"),
    )
    op.create_index("ix_rollup_lift_sessions_through", "rollup_lift_sessions", ["through"])
    op.create_table(
        "rollup_member_sessions",
        sa.Column("kiosk_id", sa.String(64), nullable=False),
        sa.Column("session", sa.String(100), nullable=False),
        sa.Column("member_id", sa.String(36), nullable=False),
        sa.Column("store_id", sa.String(40), nullable=False),
        sa.Column("at", _time(), nullable=False),
        sa.Column("through", sa.BigInteger(), nullable=False),
        sa.Column("is_repeat", sa.Integer(), nullable=True),
        sa.Column("gap_s", sa.BigInteger(), nullable=True),
        sa.Column("lifts", _json(), nullable=True),
        sa.Column("returned", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.PrimaryKeyConstraint("kiosk_id", "session", name="pk_rollup_member_sessions"),
    )
    op.create_index("ix_rollup_member_sessions_through", "rollup_member_sessions", ["through"])
    op.create_table(
        "rollup_members",
        sa.Column("member_id", sa.String(36), nullable=False),
        sa.Column("visits", sa.Integer(), nullable=False),
        sa.Column("last_at", _time(), nullable=False),
        sa.Column("last_kiosk", sa.String(64), nullable=True),
        sa.Column("last_session", sa.String(100), nullable=True),
        sa.PrimaryKeyConstraint("member_id", name="pk_rollup_members"),
    )
    op.create_table(
        "rollup_survey_sessions",
        sa.Column("kiosk_id", sa.String(64), nullable=False),
        sa.Column("session", sa.String(100), nullable=False),
        sa.Column("survey", _SLUG, nullable=False),
        sa.Column("low", sa.Boolean(), nullable=False),
        sa.Column(
            "pending", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False
        ),
        sa.PrimaryKeyConstraint("kiosk_id", "session", "survey", name="pk_rollup_survey_sessions"),
    )


def downgrade() -> None:
    for table in (*_STATE, "rollup_marks"):
        op.drop_table(table)
    for name in _ROLLUPS:
        for variant in _VARIANTS:
            op.drop_table(f"rollup_{name}_{variant}")
