"""Storing batches: each event once, per-event answers, contiguous_seq, CRM projections."""

from __future__ import annotations

import csv
import io
import logging
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from helpers.hq import (
    MigratedDatabases,
    consent_payload,
    event_json,
    signup_payload,
    survey_answer_payload,
)
from sqlalchemy import select

from hq import ingest, stats
from hq.crm import queries
from hq.crm.export import write_customers_csv
from hq.db import Database, alarms, events, interactions, rejections
from hq.enrollment import KioskIdentity, issue_code, redeem_code
from hq.fleet import add_store, list_kiosks
from hq.wire import EventBatch

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def new_kiosk(database: Database, store_id: str = "sh-nanjing-road") -> KioskIdentity:
    add_store(database, store_id, None, now=NOW, exist_ok=True)
    enrolment = redeem_code(database, issue_code(database, store_id, now=NOW), None, now=NOW)
    return KioskIdentity(enrolment.kiosk_id, enrolment.store_id)


def event(
    kiosk: KioskIdentity, seq: int, kind: str = "lift", payload: Any = None, **envelope: Any
) -> dict[str, Any]:
    return event_json(kiosk.store_id, kiosk.kiosk_id, seq, kind, payload, **envelope)


def send(database: Database, kiosk: KioskIdentity, *sent: dict[str, Any]) -> ingest.BatchOutcome:
    plan = ingest.decide(kiosk, EventBatch.model_validate({"events": list(sent)}))
    assert isinstance(plan, ingest.Plan)
    return ingest.store(database, kiosk, plan, received_at=NOW)


def statuses(outcome: ingest.BatchOutcome) -> list[str]:
    return [result.status for result in outcome.results]


def lifts(kiosk: KioskIdentity, seqs: range | list[int]) -> list[dict[str, Any]]:
    return [event(kiosk, seq) for seq in seqs]


def test_new_events_are_accepted_and_sent_again_are_duplicates(database: Database) -> None:
    kiosk = new_kiosk(database)
    batch = lifts(kiosk, range(1, 4))
    first = send(database, kiosk, *batch)
    assert statuses(first) == ["accepted"] * 3
    assert first.contiguous_seq == 3
    (seen,) = list_kiosks(database)
    assert seen.last_seen_at == NOW
    again = send(database, kiosk, *batch, event(kiosk, 4))
    assert statuses(again) == ["duplicate", "duplicate", "duplicate", "accepted"]
    # Each answer names the event it is about.
    assert [(r.event_id, r.seq) for r in again.results[:3]] == [
        (sent["event_id"], sent["seq"]) for sent in batch
    ]
    assert again.results[3].seq == 4
    assert again.contiguous_seq == 4
    with database.read() as connection:
        stored = connection.execute(
            select(events.c.event_id, events.c.seq).order_by(events.c.id)
        ).all()
    assert [(row.event_id, row.seq) for row in stored] == [
        (sent["event_id"], sent["seq"]) for sent in batch
    ] + [(again.results[3].event_id, 4)]


def test_a_duplicate_within_one_batch_is_stored_once(database: Database) -> None:
    kiosk = new_kiosk(database)
    lift = event(kiosk, 1)
    outcome = send(database, kiosk, lift, event(kiosk, 2), dict(lift))
    assert statuses(outcome) == ["accepted", "accepted", "duplicate"]
    assert (outcome.results[2].event_id, outcome.results[2].seq) == (lift["event_id"], 1)
    with database.read() as connection:
        assert len(connection.execute(select(events)).all()) == 2


def test_the_stored_event_keeps_envelope_and_payload_as_sent(database: Database) -> None:
    kiosk = new_kiosk(database)
    sent = event(kiosk, 1, "drop", {"session": "s1", "slot": 2, "sku": None, "dwell_ms": 1200})
    send(database, kiosk, sent)
    with database.read() as connection:
        row = connection.execute(select(events)).one()
    assert row.event_id == sent["event_id"]
    assert (row.kiosk_id, row.store_id, row.seq, row.kind) == (
        kiosk.kiosk_id,
        kiosk.store_id,
        1,
        "drop",
    )
    assert row.occurred_at == datetime.fromisoformat(sent["occurred_at"])
    assert row.occurred_at.tzinfo is not None
    assert row.received_at == NOW
    assert row.payload == sent["payload"]


def test_a_seq_already_used_by_another_event_is_rejected_and_counted_as_seen(
    database: Database,
) -> None:
    kiosk = new_kiosk(database)
    send(database, kiosk, *lifts(kiosk, range(1, 3)))
    outcome = send(database, kiosk, event(kiosk, 2), event(kiosk, 3))
    assert statuses(outcome) == ["rejected", "accepted"]
    assert outcome.results[0].reason == "seq: already used by another event"
    assert outcome.contiguous_seq == 3
    kiosk_stats = stats.collect(database).kiosks[0]
    assert (kiosk_stats.events, kiosk_stats.rejected) == ({"lift": 3}, 1)


def test_an_event_id_stored_under_another_seq_is_rejected(database: Database) -> None:
    kiosk = new_kiosk(database)
    lift = event(kiosk, 1)
    send(database, kiosk, lift)
    outcome = send(database, kiosk, {**lift, "seq": 2})
    assert statuses(outcome) == ["rejected"]
    assert outcome.results[0].reason == "event_id: already stored for another event"
    assert outcome.contiguous_seq == 2


def test_a_rejected_event_keeps_a_row_without_its_payload(database: Database) -> None:
    kiosk = new_kiosk(database)
    bad = event(kiosk, 1, "member_signup", signup_payload(str(uuid.uuid4()), "12345"))
    outcome = send(database, kiosk, bad)
    assert statuses(outcome) == ["rejected"]
    send(database, kiosk, bad)  # retried after a lost answer: still one row
    with database.read() as connection:
        (row,) = connection.execute(select(rejections)).all()
    assert (row.event_id, row.seq, row.kind) == (bad["event_id"], 1, "member_signup")
    assert row.reason == "payload.phone: not a valid phone number for its region"
    assert "12345" not in str(tuple(row))


def test_a_rejected_seq_cannot_be_taken_by_another_event_but_the_same_event_fixed_is_accepted(
    database: Database,
) -> None:
    kiosk = new_kiosk(database)
    bad = event(kiosk, 1, "drop", {"session": "s1", "slot": 1, "dwell_ms": -5})
    send(database, kiosk, bad)
    intruder = send(database, kiosk, event(kiosk, 1))
    assert statuses(intruder) == ["rejected"]
    assert intruder.results[0].reason == "seq: already used by another event"
    fixed = send(database, kiosk, {**bad, "payload": {"session": "s1", "slot": 1, "dwell_ms": 5}})
    assert statuses(fixed) == ["accepted"]
    with database.read() as connection:
        kept = connection.execute(select(rejections.c.event_id)).scalars().all()
    assert kept == [intruder.results[0].event_id]


def test_contiguous_seq_waits_for_a_gap_and_moves_over_it_when_it_is_filled(
    database: Database,
) -> None:
    kiosk = new_kiosk(database)
    assert send(database, kiosk, *lifts(kiosk, [1, 2, 3])).contiguous_seq == 3
    assert send(database, kiosk, *lifts(kiosk, [6, 7, 10])).contiguous_seq == 3
    kiosk_stats = stats.collect(database).kiosks[0]
    assert (kiosk_stats.highest_seq, kiosk_stats.gaps) == (10, [(4, 5), (8, 9)])
    # The gap is filled partly by a rejected event: it counts as seen.
    bad = event(kiosk, 5, "alarm", {"slot": 0, "reason": "CABLE"})
    assert send(database, kiosk, event(kiosk, 4), bad).contiguous_seq == 7
    assert stats.collect(database).kiosks[0].gaps == [(8, 9)]
    assert send(database, kiosk, *lifts(kiosk, [9, 8])).contiguous_seq == 10
    assert stats.collect(database).kiosks[0].gaps == []


def test_contiguous_seq_closes_a_gap_that_earlier_batches_filled_far_ahead(
    database: Database,
) -> None:
    kiosk = new_kiosk(database)
    for first in range(2, 2500, 500):
        send(database, kiosk, *lifts(kiosk, range(first, min(first + 500, 2501))))
    assert stats.collect(database).kiosks[0].gaps == [(1, 1)]
    assert send(database, kiosk, event(kiosk, 1)).contiguous_seq == 2500


def test_a_kiosks_gaps_are_filled_only_by_its_own_events(database: Database) -> None:
    first, second = new_kiosk(database), new_kiosk(database)
    bad = event(first, 4, "alarm", {"slot": 0, "reason": "CABLE"})  # rejected: seq 4 is seen
    send(database, first, *lifts(first, [1, 2, 3]), bad, event(first, 5))
    # The second kiosk's seq 2 and 4 are missing, whatever the first kiosk holds.
    assert send(database, second, *lifts(second, [1, 3])).contiguous_seq == 1
    assert send(database, second, event(second, 5)).contiguous_seq == 1
    assert send(database, second, event(second, 2)).contiguous_seq == 3
    last = send(database, second, event(second, 4))  # the first kiosk's rejected 4 is its own
    assert (statuses(last), last.contiguous_seq) == (["accepted"], 5)


def test_another_kiosks_stored_events_never_close_a_gap(database: Database) -> None:
    first, second = new_kiosk(database), new_kiosk(database)
    send(database, first, *lifts(first, [1, 2, 3, 4, 5]))
    assert send(database, second, *lifts(second, [1, 3, 5])).contiguous_seq == 1
    # Its 2 arrives: it walks over its own 3 from the earlier batch, not the first's 4.
    assert send(database, second, event(second, 2)).contiguous_seq == 3


def test_contiguous_seq_walks_over_stored_and_rejected_seqs_of_earlier_batches(
    database: Database,
) -> None:
    kiosk = new_kiosk(database)
    bad = event(kiosk, 3, "alarm", {"slot": 0, "reason": "CABLE"})
    assert send(database, kiosk, event(kiosk, 1), bad, *lifts(kiosk, [4, 5])).contiguous_seq == 1
    assert send(database, kiosk, event(kiosk, 2)).contiguous_seq == 5


def test_a_late_event_beside_one_taking_a_rejected_seq_is_accepted(database: Database) -> None:
    kiosk = new_kiosk(database)
    bad = event(kiosk, 3, "alarm", {"slot": 0, "reason": "CABLE"})
    send(database, kiosk, event(kiosk, 1), bad, event(kiosk, 4))  # seq 2 is late
    outcome = send(database, kiosk, event(kiosk, 2), event(kiosk, 3))
    assert statuses(outcome) == ["accepted", "rejected"]
    assert outcome.contiguous_seq == 4


def test_an_event_rejected_and_repeated_in_one_batch_is_rejected_twice(
    database: Database,
) -> None:
    kiosk = new_kiosk(database)
    bad = event(kiosk, 1, "drop", {"session": "s1", "slot": 1, "dwell_ms": -5})
    outcome = send(database, kiosk, bad, dict(bad), event(kiosk, 2))
    assert statuses(outcome) == ["rejected", "rejected", "accepted"]
    assert (outcome.results[1].event_id, outcome.results[1].seq) == (bad["event_id"], 1)
    assert outcome.results[1].reason == outcome.results[0].reason
    assert (
        outcome.results[1].reason == "payload.dwell_ms: Input should be greater than or equal to 0"
    )


def test_a_members_event_sent_again_stays_once_on_their_timeline(database: Database) -> None:
    kiosk = new_kiosk(database)
    member = str(uuid.uuid4())
    lift = event(kiosk, 2, "lift", {"session": "s1", "slot": 3, "sku": "A", "member_id": member})
    send(database, kiosk, event(kiosk, 1, "member_signup", signup_payload(member, "13912345678")))
    send(database, kiosk, lift)
    # The kiosk missed HQ's answer and sends the lift again, with its next event.
    drop = {"session": "s1", "slot": 3, "sku": "A", "dwell_ms": 900, "member_id": member}
    outcome = send(database, kiosk, lift, event(kiosk, 3, "drop", drop))
    assert statuses(outcome) == ["duplicate", "accepted"]
    (customer,) = queries.find_by_phone(database, "+8613912345678")
    timeline = queries.timeline(database, customer.customer_id)
    assert timeline is not None
    assert sorted(entry.kind for entry in timeline.interactions) == ["drop", "lift"]


def test_one_person_signing_up_at_two_stores_is_one_customer_with_two_member_ids(
    database: Database,
) -> None:
    nanjing, huaihai = (
        new_kiosk(database, "sh-nanjing-road"),
        new_kiosk(database, "sh-huaihai-road"),
    )
    first, second = str(uuid.uuid4()), str(uuid.uuid4())
    send(
        database,
        nanjing,
        event(nanjing, 1, "member_signup", signup_payload(first, "139 1234 5678", name="王芳")),
    )
    send(
        database,
        huaihai,
        event(
            huaihai,
            1,
            "member_signup",
            signup_payload(second, "+86 139-1234-5678", name="Fang", email="Wang.Fang@Example.COM"),
        ),
    )
    (customer,) = queries.find_by_phone(database, "+8613912345678")
    assert {alias.member_id for alias in customer.member_ids} == {first, second}
    assert {alias.store_id for alias in customer.member_ids} == {
        "sh-nanjing-road",
        "sh-huaihai-road",
    }
    # The later sign-up filled in the missing email and left the name alone.
    assert (customer.name, customer.email, customer.first_store_id) == (
        "王芳",
        "wang.fang@example.com",
        "sh-nanjing-road",
    )
    assert queries.find_by_email(database, "WANG.FANG@example.com") == [customer]
    assert stats.collect(database).customers == 1


def test_two_sign_ups_of_one_number_in_one_batch_make_one_customer(database: Database) -> None:
    kiosk = new_kiosk(database)
    outcome = send(
        database,
        kiosk,
        event(kiosk, 1, "member_signup", signup_payload(str(uuid.uuid4()), "13912345678")),
        event(
            kiosk,
            2,
            "member_signup",
            signup_payload(str(uuid.uuid4()), "139 1234 5678", email="a@b.cn"),
        ),
    )
    assert statuses(outcome) == ["accepted", "accepted"]
    (customer,) = queries.find_by_phone(database, "+8613912345678")
    assert len(customer.member_ids) == 2
    assert customer.email == "a@b.cn"


def test_the_newest_consent_decision_per_purpose_and_channel_is_the_current_state(
    database: Database,
) -> None:
    kiosk = new_kiosk(database)
    member = str(uuid.uuid4())
    at = [(NOW + timedelta(minutes=i)).isoformat() for i in range(4)]
    send(
        database,
        kiosk,
        # Consents may reach HQ before the sign-up they belong to.
        event(
            kiosk,
            1,
            "consent",
            consent_payload(member, "marketing", given=True, channel="sms"),
            occurred_at=at[0],
        ),
        event(
            kiosk,
            2,
            "consent",
            consent_payload(member, "membership", given=True),
            occurred_at=at[0],
        ),
    )
    send(
        database,
        kiosk,
        event(kiosk, 3, "member_signup", signup_payload(member, "13912345678")),
        event(
            kiosk,
            4,
            "consent",
            consent_payload(member, "marketing", given=False, channel="sms"),
            occurred_at=at[2],
        ),
        event(
            kiosk,
            5,
            "consent",
            consent_payload(member, "marketing", given=True, channel="email"),
            occurred_at=at[1],
        ),
    )
    (customer,) = queries.find_by_phone(database, "+8613912345678")
    timeline = queries.timeline(database, customer.customer_id)
    assert timeline is not None
    current = {(c.purpose, c.channel): c.given for c in timeline.consents}
    assert current == {
        ("marketing", "email"): True,
        ("marketing", "sms"): False,
        ("membership", None): True,
    }
    assert [(c.purpose, c.channel, c.given) for c in timeline.consent_history] == [
        ("marketing", "sms", False),
        ("marketing", "email", True),
        ("membership", None, True),  # same time as the next: HQ's arrival order decides
        ("marketing", "sms", True),
    ]


def test_a_members_interactions_are_their_timeline_newest_first(database: Database) -> None:
    kiosk = new_kiosk(database)
    member = str(uuid.uuid4())
    at = [(NOW + timedelta(seconds=i)).isoformat() for i in range(5)]
    send(
        database,
        kiosk,
        event(kiosk, 1, "member_signup", signup_payload(member, "13912345678")),
        event(
            kiosk,
            2,
            "lift",
            {"session": "s1", "slot": 3, "sku": "A", "member_id": member},
            occurred_at=at[1],
        ),
        event(
            kiosk,
            3,
            "drop",
            {"session": "s1", "slot": 3, "sku": "A", "dwell_ms": 900, "member_id": member},
            occurred_at=at[2],
        ),
        event(
            kiosk,
            4,
            "comparison",
            {"session": "s1", "skus": ["A", "B"], "member_id": member},
            occurred_at=at[3],
        ),
        event(kiosk, 5, "lift", {"session": "s2", "slot": 1, "sku": "C"}, occurred_at=at[4]),
        event(kiosk, 6, "alarm", {"slot": 4, "sku": "D", "reason": "CABLE"}),
    )
    (customer,) = queries.find_by_phone(database, "+8613912345678")
    timeline = queries.timeline(database, customer.customer_id)
    assert timeline is not None
    assert [(entry.kind, entry.sku, entry.details) for entry in timeline.interactions] == [
        ("comparison", None, {"skus": ["A", "B"]}),
        ("drop", "A", {"dwell_ms": 900}),
        ("lift", "A", {}),
    ]
    with database.read() as connection:
        alarm = connection.execute(select(alarms)).one()
    assert (alarm.slot, alarm.sku, alarm.reason, alarm.store_id) == (
        4,
        "D",
        "CABLE",
        kiosk.store_id,
    )


def test_customers_export_as_csv_with_their_current_consents(database: Database) -> None:
    kiosk = new_kiosk(database)
    wang, li = str(uuid.uuid4()), str(uuid.uuid4())
    send(
        database,
        kiosk,
        event(
            kiosk,
            1,
            "member_signup",
            signup_payload(wang, "13912345678", name="王芳", email="W@X.CN"),
        ),
        event(
            kiosk,
            2,
            "member_signup",
            signup_payload(li, "13812345678", name="=HYPERLINK(1)"),
            occurred_at=(NOW + timedelta(hours=1)).isoformat(),
        ),
        event(kiosk, 3, "consent", consent_payload(wang, "membership", given=True)),
        event(kiosk, 4, "consent", consent_payload(wang, "marketing", given=True, channel="sms")),
        event(
            kiosk,
            5,
            "consent",
            consent_payload(wang, "marketing", given=False, channel="sms"),
            occurred_at=(NOW + timedelta(hours=2)).isoformat(),
        ),
    )
    out = io.StringIO()
    assert write_customers_csv(database, out) == 2
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert list(rows[0]) == [
        "customer_id",
        "phone_e164",
        "email",
        "name",
        "created_at",
        "first_store_id",
        "consent_membership",
        "consent_marketing",
        "consent_marketing_sms",
        "consent_recognition",
        "consent_personalisation",
    ]
    assert [
        (
            r["phone_e164"],
            r["email"],
            r["name"],
            r["consent_membership"],
            r["consent_marketing_sms"],
            r["consent_marketing"],
        )
        for r in rows
    ] == [
        ("+8613912345678", "w@x.cn", "王芳", "given", "withdrawn", "not_given"),
        ("+8613812345678", "", "'=HYPERLINK(1)", "not_given", "not_given", "not_given"),
    ]
    assert rows[0]["first_store_id"] == kiosk.store_id


@pytest.mark.parametrize("count", [1, 499])
def test_stats_count_events_per_kind_and_refused_batches(database: Database, count: int) -> None:
    kiosk = new_kiosk(database)
    send(
        database,
        kiosk,
        *lifts(kiosk, range(1, count + 1)),
        event(kiosk, count + 1, "alarm", {"slot": 1, "reason": "CABLE"}),
    )
    ingest.record_refusal(
        database, kiosk, ingest.Refusal(2, "2 of 2 events name another store"), refused_at=NOW
    )
    ingest.record_refusal(
        database,
        kiosk,
        ingest.Refusal(1, "1 of 1 events name another kiosk"),
        refused_at=NOW + timedelta(minutes=1),
    )
    collected = stats.collect(database).as_json()
    assert collected == {
        "kiosks": [
            {
                "store_id": kiosk.store_id,
                "kiosk_id": kiosk.kiosk_id,
                "events": {"alarm": 1, "lift": count},
                "highest_seq": count + 1,
                "contiguous_seq": count + 1,
                "gaps": [],
                "rejected": 0,
            }
        ],
        "rejected_total": 0,
        "denied": [
            {
                "kiosk_id": kiosk.kiosk_id,
                "attempts": 2,
                "last_at": (NOW + timedelta(minutes=1)).isoformat(),
            }
        ],
        "customers": 0,
    }


def test_each_batch_is_logged_with_its_counts_and_first_rejection(
    database: Database, caplog: pytest.LogCaptureFixture
) -> None:
    kiosk = new_kiosk(database)
    lift = event(kiosk, 1)
    send(database, kiosk, lift)
    bad = [event(kiosk, seq, "alarm", {"slot": 0, "reason": "CABLE"}) for seq in (3, 4)]
    caplog.clear()
    with caplog.at_level(logging.DEBUG, logger="hq.ingest"):
        send(database, kiosk, lift, event(kiosk, 2), *bad)
    assert [record.getMessage() for record in caplog.records if record.name == "hq.ingest"] == [
        f"kiosk {kiosk.kiosk_id}: 1 accepted, 1 duplicate, 2 rejected; contiguous_seq 4",
        f"kiosk {kiosk.kiosk_id}: 2 events rejected, first seq 3: "
        "payload.slot: Input should be greater than or equal to 1",
    ]


# A batch of seqs new to the kiosk is COPYed on PostgreSQL; anything else is INSERTed
# (and SQLite always INSERTs). These give the same answers on both backends.


def test_a_batch_mixing_every_answer_is_answered_event_by_event(database: Database) -> None:
    kiosk = new_kiosk(database)
    first = lifts(kiosk, range(1, 4))
    bad = event(kiosk, 4, "alarm", {"slot": 0, "reason": "CABLE"})
    assert statuses(send(database, kiosk, *first, bad)) == ["accepted"] * 3 + ["rejected"]
    late = event(kiosk, 5)
    outcome = send(
        database,
        kiosk,
        late,  # new
        first[1],  # stored before: a duplicate
        event(kiosk, 3),  # another event's stored seq
        event(kiosk, 4),  # another event's rejected seq
        {**first[0], "seq": 6},  # a stored event id under another seq
        event(kiosk, 7, "drop", {"session": "s1", "slot": 1, "dwell_ms": -1}),  # bad payload
        dict(late),  # a repeat within the batch
        event(kiosk, 8),  # new
    )
    assert [(r.status, r.reason) for r in outcome.results] == [
        ("accepted", None),
        ("duplicate", None),
        ("rejected", "seq: already used by another event"),
        ("rejected", "seq: already used by another event"),
        ("rejected", "event_id: already stored for another event"),
        ("rejected", "payload.dwell_ms: Input should be greater than or equal to 0"),
        ("duplicate", None),
        ("accepted", None),
    ]
    assert outcome.contiguous_seq == 8
    with database.read() as connection:
        stored = connection.execute(select(events.c.seq).order_by(events.c.id)).scalars().all()
        refused = connection.execute(select(rejections.c.seq)).scalars().all()
    assert stored == [1, 2, 3, 5, 8]
    assert sorted(refused) == [3, 4, 4, 6, 7]


def test_a_new_batch_with_an_event_id_stored_before_loses_none_of_the_rest(
    database: Database,
) -> None:
    kiosk, other = new_kiosk(database), new_kiosk(database)
    theirs = event(other, 1)
    send(database, other, theirs)
    # Every seq is new to the kiosk, so PostgreSQL tries COPY first: the other
    # kiosk's event id fails it, and the batch is stored the INSERT's way.
    outcome = send(
        database,
        kiosk,
        event(kiosk, 1),
        {**theirs, "kiosk_id": kiosk.kiosk_id, "seq": 2},
        event(kiosk, 3),
    )
    assert [(r.status, r.reason) for r in outcome.results] == [
        ("accepted", None),
        ("rejected", "event_id: already stored for another event"),
        ("accepted", None),
    ]
    assert outcome.contiguous_seq == 3
    with database.read() as connection:
        stored = connection.execute(
            select(events.c.kiosk_id, events.c.seq).order_by(events.c.id)
        ).all()
    assert [tuple(row) for row in stored] == [
        (other.kiosk_id, 1),
        (kiosk.kiosk_id, 1),
        (kiosk.kiosk_id, 3),
    ]
    # The next batch of new seqs goes on as before.
    assert statuses(send(database, kiosk, *lifts(kiosk, range(4, 6)))) == ["accepted"] * 2


def test_payload_text_is_stored_exactly_as_sent(database: Database) -> None:
    kiosk = new_kiosk(database)
    texts = ["back\\slash \\N \\t", "tab\there\nnew line\r\n", '"quoted" {json} [x]', "百货 ünï 🙂"]
    sent = [
        event(
            kiosk,
            seq,
            "survey_answer",
            survey_answer_payload("s1", "fit", "why", "text", text=text),
        )
        for seq, text in enumerate(texts, start=1)
    ]
    assert statuses(send(database, kiosk, *sent)) == ["accepted"] * len(texts)
    with database.read() as connection:
        payloads = connection.execute(select(events.c.payload).order_by(events.c.seq)).scalars()
        assert [payload["text"] for payload in payloads] == texts


@pytest.fixture
def postgres(migrated_databases: MigratedDatabases, tmp_path: Path) -> Iterator[Database]:
    with migrated_databases.fresh("postgresql", tmp_path) as url:
        database = Database(url)
        yield database
        database.dispose()


def test_copy_writes_nulls_numbers_and_text_as_given(postgres: Database) -> None:
    names = ("event_id", "member_id", "kind", "session", "sku", "slot", "details")
    rows = [
        ("e1", "m1", "lift", "s\\1\t", None, None, {"a": "x\ty\\z"}),
        ("e2", "m1", "drop", "s2", "SKU-\n1", 2**31 - 1, {}),
    ]
    same = {"store_id": "st", "kiosk_id": "k", "occurred_at": NOW}
    with postgres.write() as connection:
        postgres.copy_rows(connection, interactions, names, rows, same=same)
    with postgres.read() as connection:
        stored = connection.execute(
            select(*(interactions.c[name] for name in (*names, *same))).order_by(interactions.c.id)
        ).all()
    assert [tuple(row) for row in stored] == [(*row, "st", "k", NOW) for row in rows]


@pytest.mark.parametrize("microsecond", [0, 250_000])
def test_copy_refuses_a_time_without_its_zone_and_stores_nothing(
    postgres: Database, microsecond: int
) -> None:
    naive = NOW.replace(tzinfo=None, microsecond=microsecond)
    times = [NOW, naive, NOW.astimezone(timezone(-timedelta(hours=5)))]  # among aware ones
    rows = [(str(uuid.uuid4()), seq, "lift", 1, at, {}) for seq, at in enumerate(times, 1)]
    same = {"kiosk_id": "k", "store_id": "s", "received_at": NOW}
    names = ("event_id", "seq", "kind", "schema_version", "occurred_at", "payload")
    with pytest.raises(ValueError, match="timezone-aware"), postgres.write() as connection:
        postgres.copy_rows(connection, events, names, rows, same=same)
    with postgres.read() as connection:
        assert connection.execute(select(events)).all() == []


def test_copy_refuses_columns_of_different_lengths_and_stores_nothing(postgres: Database) -> None:
    columns = {"event_id": ["e1", "e2"], "member_id": ["m1"], "kind": ["lift", "lift"]}
    same = {"store_id": "st", "kiosk_id": "k", "occurred_at": NOW}
    with pytest.raises(ValueError, match="each row"), postgres.write() as connection:
        postgres.copy_columns(connection, interactions, columns, same=same)
    with postgres.read() as connection:
        assert connection.execute(select(interactions)).all() == []
