"""A customer record's address, household and search (the console's customer pages).

- `set_address`: HQ staff set or clear a record's postal address (kiosks never ask
  for one); its normalised form (dedupe.address_key) is kept beside it for matching.
- `household_of`: the live records linked to one by the same normalised address or
  the same phone number in another form, transitively (dedupe.households decides).
- `search`: records by phone number (any form), e-mail, customer or member id, or
  part of a name; `tag_count`: the fobs and tags bound to a record's member ids.

Audit lines and errors name customer ids, never an address, a name or a number.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy import Connection, Row, func, or_, select, update

from hq import audit
from hq.crm import dedupe
from hq.crm.dedupe import HouseholdRow
from hq.crm.merges import UnknownCustomer
from hq.db import ADDRESS_LENGTH, Database, customers, member_ids, tag_bindings
from hq.errors import HqError

MAX_HOUSEHOLD: Final = dedupe.MAX_GROUP
SEARCH_LIMIT: Final = 50


class BadAddress(HqError, ValueError):
    def __init__(self) -> None:
        super().__init__(f"an address is at most {ADDRESS_LENGTH} characters")


# ---------------------------------------------------------------- addresses


def set_address(
    database: Database, customer_id: str, address: str | None, *, by: str, now: datetime
) -> str | None:
    """Set (or with None or blank, clear) a record's address; the address as kept."""
    tidy = dedupe.tidy_address(address)
    if tidy is not None and len(tidy) > ADDRESS_LENGTH:
        raise BadAddress()
    with database.write() as connection:
        changed = connection.execute(
            update(customers)
            .where(customers.c.customer_id == customer_id)
            .values(address=tidy, address_key=dedupe.address_key(tidy))
        ).rowcount
        if not changed:
            raise UnknownCustomer()
        audit.record(
            connection,
            by,
            "customers.address",
            f"customer:{customer_id}",
            {"cleared": tidy is None},
            at=now,
        )
    return tidy


# ---------------------------------------------------------------- households


@dataclass(frozen=True, slots=True)
class Household:
    household_id: str
    members: tuple[HouseholdMember, ...]  # the others, not the record asked about


@dataclass(frozen=True, slots=True)
class HouseholdMember:
    customer_id: str
    name: str | None
    phone: str
    same_address: bool
    same_phone: bool


def household_of(connection: Connection, customer_id: str) -> Household | None:
    """The record's household (None: it shares no address or phone with another live
    record), found by following shared addresses and phones from it."""
    rows: dict[str, Row[Any]] = {}
    frontier = [customer_id]
    while frontier and len(rows) <= MAX_HOUSEHOLD:
        start = connection.execute(
            select(customers).where(
                customers.c.customer_id.in_(frontier), customers.c.merged_into.is_(None)
            )
        ).all()
        addresses = sorted({row.address_key for row in start if row.address_key})
        phones = sorted(
            {
                form
                for row in start
                if (key := dedupe.phone_key(row.phone_e164))
                for form in dedupe.phone_forms(key)
            }
        )
        for row in start:
            rows[row.customer_id] = row
        linked = connection.execute(
            select(customers)
            .where(
                customers.c.merged_into.is_(None),
                or_(customers.c.address_key.in_(addresses), customers.c.phone_e164.in_(phones)),
            )
            .limit(MAX_HOUSEHOLD + 1)
        ).all()
        frontier = [row.customer_id for row in linked if row.customer_id not in rows]
        for row in linked:
            rows.setdefault(row.customer_id, row)
    if customer_id not in rows:
        return None
    ids = dedupe.households(
        HouseholdRow(row.customer_id, row.phone_e164, row.address_key) for row in rows.values()
    )
    own = ids.get(customer_id)
    if own is None:
        return None
    me = rows[customer_id]
    return Household(
        own,
        tuple(
            HouseholdMember(
                customer_id=row.customer_id,
                name=row.name,
                phone=row.phone_e164,
                same_address=row.address_key is not None and row.address_key == me.address_key,
                same_phone=dedupe.phone_key(row.phone_e164) is not None
                and dedupe.phone_key(row.phone_e164) == dedupe.phone_key(me.phone_e164),
            )
            for other, row in sorted(rows.items())
            if other != customer_id and ids.get(other) == own
        ),
    )


# ---------------------------------------------------------------- search


def search(connection: Connection, text: str, *, limit: int = SEARCH_LIMIT) -> list[Row[Any]]:
    """Records matching `text`: a phone number (any form), an e-mail, a customer or
    member id, or part of a name. Merged records too (the page says so)."""
    text = text.strip()
    if not text:
        return []
    conditions = [customers.c.customer_id == text.lower()]
    if "@" in text:
        conditions.append(customers.c.email == text.lower())
    if (key := dedupe.phone_key(text)) is not None:
        conditions.append(customers.c.phone_e164.in_(dedupe.phone_forms(key)))
    conditions.append(
        customers.c.customer_id.in_(
            select(member_ids.c.customer_id).where(member_ids.c.member_id == text.lower())
        )
    )
    if len(text) >= 1 and not text.replace("+", "").replace(" ", "").isdigit():
        pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        conditions.append(func.lower(customers.c.name).like(pattern.lower(), escape="\\"))
    return list(
        connection.execute(
            select(customers)
            .where(or_(*conditions))
            .order_by(customers.c.merged_into.is_not(None), customers.c.created_at)
            .limit(limit)
        )
    )


def tag_count(connection: Connection, customer_id: str) -> int:
    return int(
        connection.execute(
            select(func.count())
            .select_from(tag_bindings)
            .join(member_ids, member_ids.c.member_id == tag_bindings.c.member_id)
            .where(member_ids.c.customer_id == customer_id)
        ).scalar_one()
    )
