"""Customers as CSV, one row each, with their current consent per purpose and channel.

Columns: customer_id, phone_e164, email, name, created_at, first_store_id, then
`consent_<purpose>` for each purpose and `consent_<purpose>_<channel>` for each
channel-specific pair that occurs, holding `given`, `withdrawn` (given, then taken
back) or `not_given` (declined at sign-up, or never asked): a member who never gave a
consent has not withdrawn it.

The file is personal data: the CLI writes it readable by its owner only. Text a
spreadsheet would run as a formula (=, +, -, @ first) is prefixed with a quote.
"""

from __future__ import annotations

import csv
from typing import Final, TextIO

from sqlalchemy import select

from hq.db import Database, consents, customers, member_ids

PURPOSES: Final = ("membership", "marketing", "recognition", "personalisation")
CHANNELS: Final = ("sms", "email")
BASE_COLUMNS: Final = (
    "customer_id",
    "phone_e164",
    "email",
    "name",
    "created_at",
    "first_store_id",
)
GIVEN: Final = "given"
WITHDRAWN: Final = "withdrawn"
NOT_GIVEN: Final = "not_given"
_FORMULA_STARTS: Final = ("=", "+", "-", "@", "\t", "\r")


def consent_column(purpose: str, channel: str | None) -> str:
    return f"consent_{purpose}" if channel is None else f"consent_{purpose}_{channel}"


def write_customers_csv(database: Database, out: TextIO) -> int:
    """Write every customer to `out`; how many rows were written."""
    with database.read() as connection:
        current: dict[str, dict[tuple[str, str | None], str]] = {}
        pairs: set[tuple[str, str | None]] = set()
        # Oldest first, so each later decision overwrites the one before.
        for customer_id, purpose, channel, given in connection.execute(
            select(
                member_ids.c.customer_id, consents.c.purpose, consents.c.channel, consents.c.given
            )
            .join(member_ids, member_ids.c.member_id == consents.c.member_id)
            .order_by(consents.c.occurred_at, consents.c.id)
        ):
            decisions = current.setdefault(customer_id, {})
            decisions[(purpose, channel)] = _state(decisions.get((purpose, channel)), bool(given))
            pairs.add((purpose, channel))
        columns = _consent_columns(pairs)
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow([*BASE_COLUMNS, *(consent_column(p, c) for p, c in columns)])
        count = 0
        for row in connection.execute(
            select(
                customers.c.customer_id,
                customers.c.phone_e164,
                customers.c.email,
                customers.c.name,
                customers.c.created_at,
                customers.c.first_store_id,
            )
            .where(customers.c.merged_into.is_(None))  # a merged record lives on in another
            .order_by(customers.c.created_at, customers.c.customer_id)
        ):
            decisions = current.get(row.customer_id, {})
            writer.writerow(
                [
                    row.customer_id,
                    row.phone_e164,
                    spreadsheet_cell(row.email),
                    spreadsheet_cell(row.name),
                    row.created_at.isoformat(),
                    row.first_store_id,
                    *(decisions.get(pair, NOT_GIVEN) for pair in columns),
                ]
            )
            count += 1
    return count


def _consent_columns(pairs: set[tuple[str, str | None]]) -> list[tuple[str, str | None]]:
    known = [(purpose, channel) for purpose in PURPOSES for channel in (None, *CHANNELS)]
    return [pair for pair in known if pair[1] is None or pair in pairs]


def _state(before: str | None, given: bool) -> str:
    """The state after a decision: only a consent that was given can be withdrawn."""
    if given:
        return GIVEN
    return WITHDRAWN if before in (GIVEN, WITHDRAWN) else NOT_GIVEN


def spreadsheet_cell(text: str | None) -> str:
    """`text` as a CSV cell no spreadsheet runs as a formula (also hq.plays' CSV)."""
    if text is None:
        return ""
    if text.startswith(_FORMULA_STARTS):
        return "'" + text
    return text
