"""Merging duplicate customer records and undoing it, on SQLite and PostgreSQL.

Records come from kiosks' events through ingest, as in a store; an older record
holding its number in another form is made as an import would leave it.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from helpers.hq import consent_payload, event_json, signup_payload
from sqlalchemy import Table, select, update

from hq import audit, ingest
from hq.crm import dedupe, dismissals, merges, queries, recognition
from hq.crm.erasure import erase_member
from hq.crm.merges import MergeRefused
from hq.crm.tags import canonical, tag_hash
from hq.db import (
    Database,
    consents,
    customer_dismissals,
    customer_merges,
    customers,
    interactions,
    member_feed,
    member_ids,
    tag_bindings,
)
from hq.enrollment import KioskIdentity, issue_code, redeem_code
from hq.fleet import add_store
from hq.wire import EventBatch

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
PHONE_A, PHONE_B = "13812345678", "13987654321"


class Shop:
    """A kiosk sending events straight to ingest, a second apart."""

    def __init__(self, database: Database) -> None:
        add_store(database, "sh-xujiahui", None, now=NOW, exist_ok=True)
        enrolment = redeem_code(
            database, issue_code(database, "sh-xujiahui", now=NOW), None, now=NOW
        )
        self.database = database
        self.kiosk = KioskIdentity(enrolment.kiosk_id, enrolment.store_id)
        self.seq = 0
        self.clock = NOW - timedelta(days=1)  # merges happen at NOW, after it all

    def send(self, *sent: tuple[str, dict[str, Any]]) -> None:
        batch = []
        for kind, payload in sent:
            self.seq += 1
            self.clock += timedelta(seconds=1)
            batch.append(
                event_json(
                    self.kiosk.store_id,
                    self.kiosk.kiosk_id,
                    self.seq,
                    kind,
                    payload,
                    occurred_at=self.clock.isoformat(),
                )
            )
        plan = ingest.decide(self.kiosk, EventBatch.model_validate({"events": batch}))
        assert isinstance(plan, ingest.Plan)
        outcome = ingest.store(self.database, self.kiosk, plan, received_at=self.clock)
        assert {result.status for result in outcome.results} == {"accepted"}


def fob(database: Database, value: str) -> str:
    return tag_hash(recognition.tag_key(database), canonical("rfid", value))


def person(
    shop: Shop, member: str, phone: str, fob_hash: str, sku: str, *, recognise: bool, **signup: Any
) -> None:
    shop.send(
        ("member_signup", signup_payload(member, phone, greet_by_name=True, **signup)),
        ("consent", consent_payload(member, "recognition", given=True)),
        ("consent", consent_payload(member, "marketing", given=True, channel="sms")),
        ("tag_bound", {"member_id": member, "tag_hash": fob_hash, "tag_kind": "rfid"}),
        ("lift", {"session": "s1", "slot": 1, "sku": sku, "member_id": member}),
    )
    if not recognise:
        shop.send(("consent", consent_payload(member, "recognition", given=False)))


def customer_of(database: Database, member: str) -> str:
    with database.read() as connection:
        return str(
            connection.execute(
                select(member_ids.c.customer_id).where(member_ids.c.member_id == member)
            ).scalar_one()
        )


DUMPED = (customers, member_ids, consents, interactions, tag_bindings)


def dump(database: Database) -> dict[str, Any]:
    """Every row of every table a merge touches; the feed without its version counter
    (a kiosk's delta needs the undo as a newer change)."""
    with database.read() as connection:
        found: dict[str, Any] = {
            table.name: sorted(map(repr, connection.execute(select(table)).all()))
            for table in DUMPED
        }
        feed: Table = member_feed
        found["member_feed"] = sorted(
            repr(row)
            for row in connection.execute(
                select(*(c for c in feed.c if c.name not in {"version", "changed_at"}))
            )
        )
    return found


def live_feed(database: Database) -> dict[str, recognition.FeedContent]:
    return dict(recognition.read_feed(database, 0, 1000).upserts)


@pytest.fixture
def two_records(database: Database) -> tuple[Shop, str, str, str, str]:
    """王芳 twice: a record from a sign-up where she withdrew recognition, then a
    newer one with another number, the same e-mail and a yes to recognition."""
    shop = Shop(database)
    a, b = str(uuid.uuid4()), str(uuid.uuid4())
    fob_a, fob_b = fob(database, "0012345678"), fob(database, "0087654321")
    person(
        shop,
        b,
        PHONE_B,
        fob_b,
        "XH-S12",
        recognise=False,
        name="王芳",
        email="Wang.Fang@example.cn",
    )
    person(
        shop, a, PHONE_A, fob_a, "XH-X60", recognise=True, name="王芳", email="wang.fang@example.cn"
    )
    person(
        shop,
        str(uuid.uuid4()),
        "13700137000",
        fob(database, "0011112222"),
        "XH-A1",
        recognise=True,
        name="李娜",
    )
    return shop, a, b, fob_a, fob_b


def test_merge_then_undo_returns_every_record_exactly(
    database: Database, two_records: tuple[Shop, str, str, str, str]
) -> None:
    _, a, b, fob_a, _ = two_records
    keep, other = customer_of(database, a), customer_of(database, b)
    [pair] = merges.duplicates(database)
    assert {pair.first, pair.second} == {keep, other}
    assert pair.reasons == ("email",)
    assert fob_a in live_feed(database)
    before = dump(database)

    done = merges.merge(database, keep, other, by="staff:1", now=NOW, reasons=pair.reasons)
    assert done.member_ids_moved == 1
    assert done.consents_added == 1  # her recognition withdrawal wins over the newer yes
    found = queries.timeline(database, keep)
    assert found is not None
    assert {m.member_id for m in found.customer.member_ids} == {a, b}
    assert {entry.sku for entry in found.interactions} == {"XH-X60", "XH-S12"}
    current = {(c.purpose, c.channel): c.given for c in found.consents}
    assert current == {("recognition", None): False, ("marketing", "sms"): True}
    assert fob_a not in live_feed(database)  # no kiosk recognises her any more
    assert merges.duplicates(database) == []
    assert dump(database) != before

    merges.undo(database, done.merge_id, by="staff:2", now=NOW + timedelta(hours=1))
    assert dump(database) == before
    assert fob_a in live_feed(database)
    assert [(e.action, e.actor) for e in audit.recent(database)][:2] == [
        ("customers.unmerge", "staff:2"),
        ("customers.merge", "staff:1"),
    ]
    with database.read() as connection:
        [row] = connection.execute(select(customer_merges)).all()
    assert row.snapshot is None  # no second copy of the person once undone
    with pytest.raises(MergeRefused):
        merges.undo(database, done.merge_id, by="staff:2", now=NOW)


def test_after_a_merge_every_fob_greets_the_one_person_and_after_undo_each_their_own(
    database: Database,
) -> None:
    shop = Shop(database)
    a, b = str(uuid.uuid4()), str(uuid.uuid4())
    fob_a, fob_b = fob(database, "0012345678"), fob(database, "0087654321")
    person(shop, a, PHONE_A, fob_a, "XH-X60", recognise=True, name="王芳")
    person(shop, b, PHONE_B, fob_b, "XH-S12", recognise=True, name="王芳芳")
    keep, other = customer_of(database, a), customer_of(database, b)

    done = merges.merge(database, keep, other, by="staff:1", now=NOW)
    feed = live_feed(database)
    assert {feed[fob_a].greeting_name, feed[fob_b].greeting_name} == {"王芳"}
    assert set(feed[fob_a].last_viewed) == set(feed[fob_b].last_viewed) == {"XH-X60", "XH-S12"}
    assert (feed[fob_a].member_id, feed[fob_b].member_id) == (a, b)

    merges.undo(database, done.merge_id, by="staff:1", now=NOW)
    feed = live_feed(database)
    assert (feed[fob_b].greeting_name, feed[fob_b].last_viewed) == ("王芳芳", ("XH-S12",))
    assert feed[fob_a].last_viewed == ("XH-X60",)


def test_an_older_record_with_its_number_in_another_form_is_found_and_new_signups_follow_the_merge(
    database: Database, two_records: tuple[Shop, str, str, str, str]
) -> None:
    shop, a, b, _, _ = two_records
    keep, other = customer_of(database, a), customer_of(database, b)
    with database.write() as connection:  # as an import from the old CRM left it
        connection.execute(
            update(customers)
            .where(customers.c.customer_id == other)
            .values(phone_e164="0086" + PHONE_A, email=None)
        )
    [pair] = merges.duplicates(database)
    assert (pair.first, pair.second, pair.reasons) == (keep, other, ("phone",))

    merges.merge(database, keep, other, by="staff:1", now=NOW)
    later = str(uuid.uuid4())
    shop.send(("member_signup", signup_payload(later, "0086" + PHONE_A)))
    assert customer_of(database, later) == keep
    with pytest.raises(MergeRefused):
        merges.merge(database, other, keep, by="staff:1", now=NOW)


def test_erasing_a_merged_person_erases_every_record_and_merge_of_theirs(
    database: Database, two_records: tuple[Shop, str, str, str, str]
) -> None:
    _, a, b, _, _ = two_records
    keep, other = customer_of(database, a), customer_of(database, b)
    merges.merge(database, keep, other, by="staff:1", now=NOW)

    erased = erase_member(database, b, now=NOW)
    assert erased is not None
    assert set(erased.member_ids) == {a, b}
    with database.read() as connection:
        left = set(connection.execute(select(customers.c.customer_id)).scalars())
        assert not {keep, other} & left
        assert connection.execute(select(customer_merges)).all() == []


def test_a_merge_whose_survivor_was_merged_again_is_undone_after_the_later_one(
    database: Database, two_records: tuple[Shop, str, str, str, str]
) -> None:
    shop, a, b, _, _ = two_records
    third = str(uuid.uuid4())
    shop.send(("member_signup", signup_payload(third, "13600136000", name="王芳")))
    first = merges.merge(
        database, customer_of(database, a), customer_of(database, b), by="staff:1", now=NOW
    )
    survivor = first.survivor_id
    later = merges.merge(database, customer_of(database, third), survivor, by="staff:1", now=NOW)
    with pytest.raises(MergeRefused, match="undo that first"):
        merges.undo(database, first.merge_id, by="staff:1", now=NOW)
    merges.undo(database, later.merge_id, by="staff:1", now=NOW)
    merges.undo(database, first.merge_id, by="staff:1", now=NOW)
    assert customer_of(database, b) != customer_of(database, a)


def test_a_dismissed_pair_leaves_the_finder_comes_back_with_a_new_reason_and_goes_with_erasure(
    database: Database, two_records: tuple[Shop, str, str, str, str]
) -> None:
    shop, a, b, fob_a, _ = two_records
    first, second = sorted((customer_of(database, a), customer_of(database, b)))
    assert [dedupe.pair_key(p.first, p.second) for p in merges.duplicates(database)] == [
        (first, second)
    ]

    said = dismissals.dismiss(database, second, first, by="staff:1", now=NOW)
    assert (said.first, said.second, said.reasons) == (first, second, ("email",))
    assert merges.duplicates(database) == []
    assert [(e.action, e.actor) for e in audit.recent(database)][:1] == [
        ("customers.dismiss", "staff:1")
    ]
    with pytest.raises(MergeRefused):
        dismissals.dismiss(database, first, first, by="staff:1", now=NOW)
    with pytest.raises(merges.UnknownCustomer):
        dismissals.dismiss(database, first, str(uuid.uuid4()), by="staff:1", now=NOW)

    # Her first fob is bound to her second sign-up too: a new reason, a second look.
    shop.send(("tag_bound", {"member_id": b, "tag_hash": fob_a, "tag_kind": "rfid"}))
    [again] = merges.duplicates(database)
    assert again.reasons == ("email", "name_and_tag")
    again_said = dismissals.dismiss(database, first, second, by="staff:2", now=NOW)
    assert again_said.reasons == ("email", "name_and_tag")
    assert merges.duplicates(database) == []
    dismissals.undismiss(database, first, second, by="staff:2", now=NOW)
    assert len(merges.duplicates(database)) == 1
    with pytest.raises(dismissals.UnknownDismissal):
        dismissals.undismiss(database, first, second, by="staff:2", now=NOW)

    dismissals.dismiss(database, first, second, by="staff:1", now=NOW)
    assert erase_member(database, a, now=NOW) is not None
    with database.read() as connection:
        assert connection.execute(select(customer_dismissals)).all() == []
