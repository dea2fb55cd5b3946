"""Reading the CRM: finding a customer, their consents and their timeline.

A customer's consent state is, per purpose and channel, their newest decision
(by when it happened at the kiosk, or when staff recorded it at HQ; HQ's
arrival order breaks ties). Their timeline is their interactions at the kiosks
and their offers' moments (shown, taken, asked for by text, printed), newest first.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy import Connection, Select, select

from hq.crm import offers
from hq.db import Database, consents, customers, interactions, member_ids

DEFAULT_TIMELINE_LENGTH: Final = 200
MAX_TIMELINE_LENGTH: Final = 5000


@dataclass(frozen=True, slots=True)
class MemberId:
    member_id: str
    store_id: str
    kiosk_id: str
    signed_up_at: datetime


@dataclass(frozen=True, slots=True)
class Customer:
    customer_id: str
    phone_e164: str
    email: str | None
    name: str | None
    language: str | None
    created_at: datetime
    first_store_id: str
    member_ids: tuple[MemberId, ...]
    address: str | None = None  # set by HQ staff (hq.crm.records)
    merged_into: str | None = None  # the record this one was merged into; None: live


@dataclass(frozen=True, slots=True)
class Consent:
    purpose: str
    channel: str | None
    given: bool
    notice_version: str
    notice_sha256: str
    member_id: str
    store_id: str | None  # None: recorded at HQ
    kiosk_id: str | None
    occurred_at: datetime
    source: str = "kiosk"  # or "hq": staff recorded it
    recorded_by: str | None = None  # who, for "hq"


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    kind: str
    occurred_at: datetime
    member_id: str
    store_id: str
    kiosk_id: str
    session: str
    sku: str | None
    slot: int | None
    details: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Timeline:
    customer: Customer
    consents: tuple[Consent, ...]  # current state: newest decision per purpose and channel
    consent_history: tuple[Consent, ...]  # newest first
    interactions: tuple[TimelineEntry, ...]  # newest first, with offer moments (hq.crm.offers)


def current_consents(history_newest_first: tuple[Consent, ...]) -> tuple[Consent, ...]:
    seen: set[tuple[str, str | None]] = set()
    current: list[Consent] = []
    for consent in history_newest_first:
        key = (consent.purpose, consent.channel)
        if key not in seen:
            seen.add(key)
            current.append(consent)
    return tuple(sorted(current, key=lambda c: (c.purpose, c.channel or "")))


def find_by_phone(database: Database, phone_e164: str) -> list[Customer]:
    return _find(database, select(customers).where(customers.c.phone_e164 == phone_e164))


def find_by_email(database: Database, email: str) -> list[Customer]:
    return _find(database, select(customers).where(customers.c.email == email.lower()))


def _find(database: Database, statement: Select[Any]) -> list[Customer]:
    with database.read() as connection:
        rows = connection.execute(statement.order_by(customers.c.created_at)).all()
        return [_customer(connection, row) for row in rows]


def _customer(connection: Connection, row: Any) -> Customer:
    aliases = connection.execute(
        select(member_ids)
        .where(member_ids.c.customer_id == row.customer_id)
        .order_by(member_ids.c.signed_up_at, member_ids.c.member_id)
    ).all()
    return Customer(
        customer_id=row.customer_id,
        phone_e164=row.phone_e164,
        email=row.email,
        name=row.name,
        language=row.language,
        created_at=row.created_at,
        first_store_id=row.first_store_id,
        address=row.address,
        merged_into=row.merged_into,
        member_ids=tuple(
            MemberId(alias.member_id, alias.store_id, alias.kiosk_id, alias.signed_up_at)
            for alias in aliases
        ),
    )


def timeline(
    database: Database, customer_id: str, *, limit: int = DEFAULT_TIMELINE_LENGTH
) -> Timeline | None:
    """The customer, their consents and up to `limit` newest interactions; None if unknown."""
    with database.read() as connection:
        row = connection.execute(
            select(customers).where(customers.c.customer_id == customer_id)
        ).one_or_none()
        if row is None:
            return None
        customer = _customer(connection, row)
        members = [alias.member_id for alias in customer.member_ids]
        history = tuple(
            Consent(
                purpose=c.purpose,
                channel=c.channel,
                given=bool(c.given),
                notice_version=c.notice_version,
                notice_sha256=c.notice_sha256,
                member_id=c.member_id,
                store_id=c.store_id,
                kiosk_id=c.kiosk_id,
                occurred_at=c.occurred_at,
                source=c.source,
                recorded_by=c.recorded_by,
            )
            for c in connection.execute(
                select(consents)
                .where(consents.c.member_id.in_(members))
                .order_by(consents.c.occurred_at.desc(), consents.c.id.desc())
            )
        )
        entries = tuple(
            TimelineEntry(
                kind=i.kind,
                occurred_at=i.occurred_at,
                member_id=i.member_id,
                store_id=i.store_id,
                kiosk_id=i.kiosk_id,
                session=i.session,
                sku=i.sku,
                slot=i.slot,
                details=dict(i.details),
            )
            for i in connection.execute(
                select(interactions)
                .where(interactions.c.member_id.in_(members))
                .order_by(interactions.c.occurred_at.desc(), interactions.c.id.desc())
                .limit(limit)
            )
        )
        offered = tuple(
            TimelineEntry(
                kind=moment.kind,
                occurred_at=moment.occurred_at,
                member_id=moment.member_id,
                store_id=moment.store_id,
                kiosk_id=moment.kiosk_id,
                session=moment.session,
                sku=None,
                slot=None,
                details={
                    "offer": moment.offer,
                    "campaign": moment.campaign,
                    **({} if moment.code is None else {"code": moment.code}),
                },
            )
            for moment in offers.moments(connection, members, limit=limit)
        )
    # Offer moments (hq.crm.offers) join the interactions, newest first.
    merged = sorted((*entries, *offered), key=lambda entry: entry.occurred_at, reverse=True)
    return Timeline(customer, current_consents(history), history, tuple(merged[:limit]))


def customer_json(customer: Customer) -> dict[str, Any]:
    return {
        "customer_id": customer.customer_id,
        "phone_e164": customer.phone_e164,
        "email": customer.email,
        "name": customer.name,
        "language": customer.language,
        "created_at": customer.created_at.isoformat(),
        "first_store_id": customer.first_store_id,
        "address": customer.address,
        "merged_into": customer.merged_into,
        "member_ids": [
            {
                "member_id": alias.member_id,
                "store_id": alias.store_id,
                "kiosk_id": alias.kiosk_id,
                "signed_up_at": alias.signed_up_at.isoformat(),
            }
            for alias in customer.member_ids
        ],
    }


def consent_states(history: Sequence[Consent]) -> tuple[list[str], set[str]]:
    """Each decision's state in `history` (in its order) and the purposes ever given.

    A refusal is `withdrawn` only after the purpose was given (on any channel: a
    withdrawal at HQ covers them all); before that, declined at sign-up or never
    asked, it is `not_given`, as the CSV export says (hq/crm/export.py).
    """
    states = [""] * len(history)
    given: set[str] = set()
    for index in sorted(range(len(history)), key=lambda i: history[i].occurred_at):
        decision = history[index]
        states[index] = _state(decision.given, decision.purpose in given)
        if decision.given:
            given.add(decision.purpose)
    return states, given


def _state(given: bool, given_before: bool) -> str:
    if given:
        return "given"
    return "withdrawn" if given_before else "not_given"


def consent_json(consent: Consent, state: str) -> dict[str, Any]:
    return {
        "purpose": consent.purpose,
        "channel": consent.channel,
        "state": state,
        "given": consent.given,
        "notice_version": consent.notice_version,
        "notice_sha256": consent.notice_sha256,
        "member_id": consent.member_id,
        "store_id": consent.store_id,
        "kiosk_id": consent.kiosk_id,
        "occurred_at": consent.occurred_at.isoformat(),
        "source": consent.source,
        "recorded_by": consent.recorded_by,
    }


def timeline_json(found: Timeline) -> dict[str, Any]:
    states, ever_given = consent_states(found.consent_history)
    return {
        "customer": customer_json(found.customer),
        "consents": [
            consent_json(c, _state(c.given, c.purpose in ever_given)) for c in found.consents
        ],
        "consent_history": [
            consent_json(c, state) for c, state in zip(found.consent_history, states, strict=True)
        ],
        "interactions": [
            {
                "kind": entry.kind,
                "occurred_at": entry.occurred_at.isoformat(),
                "member_id": entry.member_id,
                "store_id": entry.store_id,
                "kiosk_id": entry.kiosk_id,
                "session": entry.session,
                "sku": entry.sku,
                "slot": entry.slot,
                **entry.details,
            }
            for entry in found.interactions
        ],
    }
