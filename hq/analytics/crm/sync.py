"""One round of a CRM connector: bring back the CRM's changes, then push what changed.

1. Pull first: the CRM's opt-outs become withdrawals at HQ (source "crm", by the
   connector's name), and its changes to email, name and language are applied
   (hq.analytics.crm.inbound), before HQ sends anything, so a push never
   overwrites a change HQ had not read yet. A recognition opt-out takes the person's tags out
   of the member feed in the same transaction (hq.crm.withdrawal): every kiosk
   drops them at its next feed sync.
2. Queue the customers HQ changed (hq.analytics.crm.store), then send them in the
   CRM's batch size: unchanged records are skipped, people without membership
   consent and erased people are deleted at the CRM and never sent again.
3. Interactions of members who consented to personalisation, in arrival order.

A round holds the connector's lease: several HQ workers, one round at a time. A CRM
that fails (after the transport's retries) ends the round; what was not
acknowledged stays queued for the next one.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

from hq.analytics.crm import inbound, store
from hq.analytics.crm.connector import CrmConnector, CrmError, Outbound
from hq.analytics.crm.records import (
    CustomerRecord,
    OptOut,
    changed_flags,
    customer_record,
    may_forward_events,
    withdrawals_due,
)
from hq.crm import recognition
from hq.crm.residue import Residue
from hq.crm.withdrawal import WITHDRAWN_FROM, withdraw
from hq.db import Database

_log = logging.getLogger("hq.crm_connectors")

SOURCE: Final = "crm"  # consents.source of a withdrawal a CRM reported
DELETE_BATCH: Final = 100
RESTATS_EVERY: Final = 5_000  # records queued or sent between ANALYZEs (PostgreSQL)

Clock = Callable[[], datetime]


@dataclass
class RoundReport:
    connector: str
    ran: bool = True  # False: another worker holds the lease
    opt_outs_applied: int = 0
    feed_entries_removed: int = 0
    changes_applied: int = 0  # customers whose email, name or language the CRM changed
    phone_conflicts: int = 0  # phone numbers changed at the CRM: reported, not applied
    customers_sent: int = 0
    customers_unchanged: int = 0
    customers_deleted: int = 0
    events_sent: int = 0
    refused: int = 0
    error: str | None = None
    rate_limit: str | None = None
    notes: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "connector": self.connector,
            "ran": self.ran,
            "opt_outs_applied": self.opt_outs_applied,
            "feed_entries_removed": self.feed_entries_removed,
            "changes_applied": self.changes_applied,
            "phone_conflicts": self.phone_conflicts,
            "customers_sent": self.customers_sent,
            "customers_unchanged": self.customers_unchanged,
            "customers_deleted": self.customers_deleted,
            "events_sent": self.events_sent,
            "refused": self.refused,
            "error": self.error,
            "rate_limit": self.rate_limit,
        }


def run_round(
    database: Database,
    connector: CrmConnector,
    *,
    clock: Clock,
    holder: str,
    residue: Residue | None = None,
) -> RoundReport:
    """One round for `connector`; its report (`error` set if the CRM failed)."""
    name = connector.name
    report = RoundReport(name)
    if not store.take_lease(database, name, holder, now=clock()):
        report.ran = False
        return report
    finished = False  # an unexpected exception (a bug, the database) is no success
    try:
        _pull(database, connector, report, clock, residue)
        if store.enqueue(database, name, now=clock()) > RESTATS_EVERY:
            store.refresh_statistics(database)
        _push_customers(database, connector, report, clock, holder)
        _delete_erased(database, connector, report, clock, holder)
        if connector.sends_events:
            _push_events(database, connector, report, clock, holder)
        else:  # events switched on later start from then, not with HQ's whole history
            newest = store.newest_interaction(database)
            store.set_state(database, name, events_cursor=newest, events_horizon=newest)
        finished = True
    except CrmError as error:
        report.error = str(error)[:200]
    finally:
        report.rate_limit = connector.usage()
        now = clock()
        failure = report.error or (None if finished else "the round failed in HQ")
        values: dict[str, Any] = {"last_round_at": now, "last_error": failure}
        if finished:
            values["last_success_at"] = now
        if report.rate_limit:
            values["rate_limit"] = report.rate_limit
        store.set_state(database, name, **values)
        store.release_lease(database, name, holder)
    if report.error:
        _log.info("%s round failed: %s", name, report.error)  # the caller says it once
    else:
        _log.info(
            "%s round: %d opt-outs, %d contact changes applied, %d phone conflicts, "
            "%d customers sent, %d deleted, %d events, %d refused",
            name,
            report.opt_outs_applied,
            report.changes_applied,
            report.phone_conflicts,
            report.customers_sent,
            report.customers_deleted,
            report.events_sent,
            report.refused,
        )
    return report


# ---------------------------------------------------------------- 1. the CRM's opt-outs


def _pull(
    database: Database,
    connector: CrmConnector,
    report: RoundReport,
    clock: Clock,
    residue: Residue | None,
) -> None:
    with database.read() as connection:
        state = store.read_state(connection, connector.name)
    assert state is not None
    changes = connector.changes_since(state.pull_cursor)
    applied, removed = apply_opt_outs(database, connector.name, changes.opt_outs, now=clock())
    report.opt_outs_applied += applied
    report.feed_entries_removed += removed
    if removed and residue is not None:
        residue.removed(WITHDRAWN_FROM)
    contacts = inbound.apply_contact_changes(
        database, connector.name, changes.contacts, now=clock()
    )
    report.changes_applied += contacts.customers
    report.phone_conflicts += contacts.phone_conflicts
    report.refused += contacts.refused
    if changes.cursor is not None:
        store.set_state(database, connector.name, pull_cursor=changes.cursor)
    if applied:
        store.add_counts(database, connector.name, opt_outs=applied)


def apply_opt_outs(
    database: Database, connector: str, opt_outs: Sequence[OptOut], *, now: datetime
) -> tuple[int, int]:
    """Withdraw at HQ what the CRM's opt-outs say; (withdrawals made, feed entries removed).

    A customer HQ does not have (erased, or never a member here) is skipped."""
    people = store.customer_states(database, sorted({o.customer_id for o in opt_outs}))
    applied = removed = 0
    for opt_out in opt_outs:
        person = people.get(opt_out.customer_id)
        if person is None:
            continue
        due = withdrawals_due(opt_out, person.decisions)
        for purpose, channel in due:
            try:
                done = withdraw(
                    database,
                    person.member_id,
                    purpose,
                    by=connector,
                    now=min(opt_out.at, now),
                    source=SOURCE,
                    only_channel=channel,
                )
            except recognition.UnknownMember:  # erased meanwhile
                break
            applied += 1
            removed += done.feed_entries_removed
        if due:  # what was applied changes what a later opt-out of theirs is judged on
            people.update(store.customer_states(database, [opt_out.customer_id]))
    return applied, removed


# ---------------------------------------------------------------- 2. customers


def _push_customers(
    database: Database, connector: CrmConnector, report: RoundReport, clock: Clock, holder: str
) -> None:
    """Send the queue in full batches: records with nothing to send (unchanged, or
    not for the CRM) are settled as they are read, the rest gather into batches."""
    name, size = connector.name, connector.customer_batch
    unacknowledged: list[str] = []
    pending: list[Outbound] = []
    while True:
        waiting = [*unacknowledged, *(o.record.customer_id for o in pending)]
        page = store.queued(database, name, size, skip=waiting)
        if page:
            pending.extend(_decide(database, connector, page, report, clock))
        if len(pending) >= size or (pending and not page):
            batch, pending = pending[:size], pending[size:]
            unacknowledged.extend(_send(database, connector, batch, report, clock))
            store.take_lease(database, name, holder, now=clock())
            if report.customers_sent % RESTATS_EVERY < len(batch) <= report.customers_sent:
                store.refresh_statistics(database)
        elif not page:
            return


def _decide(
    database: Database,
    connector: CrmConnector,
    page: Mapping[str, store.Sent | None],
    report: RoundReport,
    clock: Clock,
) -> list[Outbound]:
    """What to send of these queued customers (with what their CRM holds); the rest
    is settled here."""
    people = store.customer_states(database, list(page))
    outbound: list[Outbound] = []
    done: list[str] = []
    to_delete: list[tuple[str, str | None]] = []
    for customer_id in page:
        person = people.get(customer_id)
        record = None if person is None else customer_record(person)
        held = page[customer_id]
        if record is None:  # no membership consent, or erased: not at the CRM
            if held is not None:
                to_delete.append((customer_id, held.external_id))
            done.append(customer_id)  # a refused deletion is a dead letter
        elif held is not None and held.sha256 == record.sha256():
            done.append(customer_id)
            report.customers_unchanged += 1
        else:
            flags = changed_flags(record, None if held is None else held.consents)
            outbound.append(Outbound(record, flags))
    if done:
        store.acknowledge(database, connector.name, accepted={}, done=done, now=clock())
    if to_delete:
        _delete(database, connector, to_delete, report, clock)
    return outbound


def _send(
    database: Database,
    connector: CrmConnector,
    batch: Sequence[Outbound],
    report: RoundReport,
    clock: Clock,
) -> list[str]:
    """Upsert `batch`; the customer ids the CRM did not acknowledge."""
    records: dict[str, CustomerRecord] = {o.record.customer_id: o.record for o in batch}
    outcome = connector.upsert_customers(batch)
    accepted = {
        cid: (records[cid], external_id)
        for cid, external_id in outcome.accepted.items()
        if cid in records
    }
    store.acknowledge(
        database, connector.name, accepted=accepted, refused=outcome.refused, now=clock()
    )
    report.customers_sent += len(accepted)
    report.refused += len(outcome.refused)
    settled = {*accepted, *(r.subject for r in outcome.refused)}
    return [cid for cid in records if cid not in settled]


def _delete(
    database: Database,
    connector: CrmConnector,
    customers: Sequence[tuple[str, str | None]],
    report: RoundReport,
    clock: Clock,
) -> None:
    outcome = connector.delete_customers(customers)
    store.forget(database, connector.name, sorted(outcome.accepted))
    store.record_dead_letters(database, connector.name, "delete", outcome.refused, clock())
    report.customers_deleted += len(outcome.accepted)
    report.refused += len(outcome.refused)


def _delete_erased(
    database: Database, connector: CrmConnector, report: RoundReport, clock: Clock, holder: str
) -> None:
    tried: set[str] = set()
    while batch := [
        e
        for e in store.erased(database, connector.name, DELETE_BATCH + len(tried))
        if e[0] not in tried
    ]:
        store.take_lease(database, connector.name, holder, now=clock())
        tried.update(cid for cid, _ in batch)
        _delete(database, connector, batch, report, clock)


# ---------------------------------------------------------------- 3. interactions


def _push_events(
    database: Database, connector: CrmConnector, report: RoundReport, clock: Clock, holder: str
) -> None:
    name = connector.name
    with database.read() as connection:
        state = store.read_state(connection, name)
    assert state is not None
    cursor, horizon = state.events_cursor, state.events_horizon
    newest = store.newest_interaction(database)
    while cursor < horizon:
        store.take_lease(database, name, holder, now=clock())
        found, last = store.interactions_after(
            database, name, after=cursor, upto=horizon, limit=connector.event_batch
        )
        people = store.customer_states(database, sorted({e.customer_id for _, e in found}))
        allowed = [
            event
            for _, event in found
            if event.customer_id in people and may_forward_events(people[event.customer_id])
        ]
        outcome = connector.send_events(allowed)
        settled = {*outcome.accepted, *(r.subject for r in outcome.refused)}
        if any(event.event_id not in settled for event in allowed):
            return  # not acknowledged: the same interactions go again next round
        store.record_dead_letters(database, name, "event", outcome.refused, clock())
        cursor = last
        store.set_state(database, name, events_cursor=cursor)
        store.add_counts(database, name, events_sent=len(outcome.accepted))
        report.events_sent += len(outcome.accepted)
        report.refused += len(outcome.refused)
    store.set_state(database, name, events_horizon=max(newest, horizon))
