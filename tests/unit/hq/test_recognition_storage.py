"""The member feed as ingest, staff and erasure change it, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from helpers.hq import consent_payload, event_json, signup_payload
from sqlalchemy import select

from hq import ingest
from hq.crm import recognition
from hq.crm.erasure import erase_member
from hq.crm.recognition import FeedContent, FeedPage, read_feed
from hq.crm.tags import canonical, tag_hash
from hq.db import (
    Database,
    consents,
    customers,
    events,
    interactions,
    member_feed,
    member_ids,
    metadata,
    tag_bindings,
)
from hq.enrollment import KioskIdentity, issue_code, redeem_code
from hq.fleet import add_store
from hq.wire import EventBatch

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
FOB = "0012345678"


class Shop:
    """A kiosk of one store sending events straight to ingest, with its own seqs."""

    def __init__(self, database: Database, store_id: str = "sh-nanjing-road") -> None:
        add_store(database, store_id, None, now=NOW, exist_ok=True)
        enrolment = redeem_code(database, issue_code(database, store_id, now=NOW), None, now=NOW)
        self.database = database
        self.kiosk = KioskIdentity(enrolment.kiosk_id, enrolment.store_id)
        self.seq = 0
        self.clock = NOW

    def send(self, *sent: tuple[str, dict[str, Any]]) -> list[str]:
        """Events (kind, payload), each a second after the one before; their statuses."""
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
        return [result.status for result in outcome.results]


def new_phone() -> str:
    return f"139{uuid.uuid4().int % 10**8:08d}"


def signup(member: str, **changes: Any) -> tuple[str, dict[str, Any]]:
    return "member_signup", signup_payload(member, new_phone(), name="王芳", **changes)


def consent(member: str, *, given: bool = True) -> tuple[str, dict[str, Any]]:
    return "consent", consent_payload(member, "recognition", given=given)


def lift(member: str, sku: str) -> tuple[str, dict[str, Any]]:
    return "lift", {"session": "s1", "slot": 1, "sku": sku, "member_id": member}


def bound(member: str, hashed: str) -> tuple[str, dict[str, Any]]:
    return "tag_bound", {"member_id": member, "tag_hash": hashed, "tag_kind": "rfid"}


def hash_of(database: Database, value: str = FOB) -> str:
    return tag_hash(recognition.tag_key(database), canonical("rfid", value))


def feed(database: Database, since: int = 0, limit: int = 5000) -> FeedPage:
    return read_feed(database, since, limit)


def entries(database: Database) -> dict[str, FeedContent]:
    return dict(feed(database).upserts)


def version(database: Database) -> int:
    return feed(database).version


def new_member() -> str:
    return str(uuid.uuid4())


# ---------------------------------------------------------------- who is in the feed


def test_a_consenting_members_tag_is_in_the_feed_with_what_they_lifted_last(
    database: Database,
) -> None:
    shop, member = Shop(database), new_member()
    hashed = hash_of(database)
    statuses = shop.send(
        signup(member),
        consent(member),
        bound(member, hashed),
        *(lift(member, sku) for sku in ["P-1", "P-2", "P-1", "P-3", "P-4", "P-5", "P-6", "P-7"]),
    )
    assert set(statuses) == {"accepted"}
    assert entries(database) == {
        # When they last lifted a phone, to the hour: what a kiosk's welcome says.
        hashed: FeedContent(member, None, ("P-7", "P-6", "P-5", "P-4", "P-3", "P-1"), None, NOW)
    }
    with database.read() as connection:
        (row,) = connection.execute(select(tag_bindings)).all()
    assert (row.member_id, row.kind, row.source, row.store_id) == (
        member,
        "rfid",
        "kiosk",
        shop.kiosk.store_id,
    )


def test_without_recognition_consent_a_bound_tag_is_not_in_the_feed(database: Database) -> None:
    shop, member, other = Shop(database), new_member(), new_member()
    shop.send(
        signup(member),
        bound(member, hash_of(database, "1")),
        signup(other),
        ("consent", consent_payload(other, "marketing", given=True, channel="sms")),
        bound(other, hash_of(database, "2")),
    )
    assert entries(database) == {}
    assert version(database) == 0


def test_a_withdrawal_leaves_a_tombstone_that_keeps_nothing_about_the_member(
    database: Database,
) -> None:
    shop, member = Shop(database), new_member()
    hashed = hash_of(database)
    shop.send(signup(member, greet_by_name=True), consent(member), bound(member, hashed))
    before = version(database)
    shop.send(consent(member, given=False))
    delta = feed(database, before)
    assert (delta.upserts, delta.removed, delta.version) == ((), (hashed,), before + 1)
    with database.read() as connection:
        row = connection.execute(select(member_feed)).one()
    assert row.removed
    assert (row.member_id, row.greeting_name, row.last_viewed, row.tier) == (None,) * 4
    assert (row.marketing, row.tags, row.birth_month) == (False, None, None)
    shop.send(consent(member, given=True))
    assert entries(database) == {hashed: FeedContent(member, "王芳", (), None)}


def test_consent_lifts_and_tags_count_across_one_customers_member_ids(
    database: Database,
) -> None:
    nanjing, huaihai = Shop(database), Shop(database, "sh-huaihai-road")
    first, second = new_member(), new_member()
    phone = new_phone()
    hashed = hash_of(database)
    nanjing.send(
        ("member_signup", signup_payload(first, phone, name="王芳")),
        consent(first),
        lift(first, "P-1"),
    )
    huaihai.clock = nanjing.clock  # the second sign-up is the newer one
    huaihai.send(
        ("member_signup", signup_payload(second, phone, greet_by_name=True)),
        bound(second, hashed),
    )
    assert entries(database) == {hashed: FeedContent(second, "王芳", ("P-1",), None, NOW)}
    nanjing.send(lift(first, "P-2"))
    assert entries(database)[hashed].last_viewed == ("P-2", "P-1")


def test_the_newest_signup_of_a_customer_decides_greeting_by_name(database: Database) -> None:
    shop, first, second = Shop(database), new_member(), new_member()
    phone = new_phone()
    hashed = hash_of(database)
    shop.send(
        ("member_signup", signup_payload(first, phone, name="王芳", greet_by_name=True)),
        consent(first),
        bound(first, hashed),
    )
    assert entries(database)[hashed].greeting_name == "王芳"
    shop.send(("member_signup", signup_payload(second, phone)))
    assert entries(database)[hashed].greeting_name is None


def test_a_batch_of_many_lifts_changes_a_members_entry_once(database: Database) -> None:
    shop, member = Shop(database), new_member()
    shop.send(signup(member), consent(member), bound(member, hash_of(database)))
    before = version(database)
    shop.send(*(lift(member, f"P-{n}") for n in range(50)))
    assert version(database) == before + 1
    assert len(feed(database, before).upserts) == 1


def test_a_lift_that_leaves_last_viewed_as_it_was_changes_nothing(database: Database) -> None:
    shop, member = Shop(database), new_member()
    shop.send(signup(member), consent(member), bound(member, hash_of(database)), lift(member, "P"))
    before = version(database)
    shop.send(lift(member, "P"), ("drop", {**lift(member, "Q")[1], "dwell_ms": 5}))
    assert version(database) == before


def test_a_tag_bound_later_at_another_kiosk_moves_to_that_member_an_older_binding_does_not(
    database: Database,
) -> None:
    first_shop, second_shop = Shop(database), Shop(database, "sh-huaihai-road")
    first, second = new_member(), new_member()
    hashed = hash_of(database)
    first_shop.send(signup(first), consent(first), bound(first, hashed))
    second_shop.clock = first_shop.clock + timedelta(hours=1)
    second_shop.send(signup(second), bound(second, hashed))
    # The tag is the second member's now, who did not consent: gone from the feed.
    assert entries(database) == {}
    first_shop.send(bound(first, hashed))  # sent late, from before the move
    assert entries(database) == {}
    with database.read() as connection:
        assert connection.execute(select(tag_bindings.c.member_id)).scalar_one() == second


def test_every_change_gets_the_next_version_and_pages_follow_the_versions(
    database: Database,
) -> None:
    shop = Shop(database)
    members = [new_member() for _ in range(5)]
    hashes = [hash_of(database, str(n)) for n in range(5)]
    for member, hashed in zip(members, hashes, strict=True):
        shop.send(signup(member), consent(member), bound(member, hashed))
    shop.send(consent(members[1], given=False))
    assert version(database) == 6
    # Versions 1 to 5 bound the tags; 6 removed the second (its row moved to 6).
    first = feed(database, 0, limit=2)
    assert (first.reset, first.more, first.version) == (True, True, 3)
    assert [h for h, _ in first.upserts] == [hashes[0], hashes[2]]  # a reset has no tombstones
    rest = feed(database, first.version, limit=2)
    assert (rest.reset, rest.more, rest.version) == (False, True, 5)
    assert [h for h, _ in rest.upserts] == hashes[3:]
    last = feed(database, rest.version, limit=2)
    assert (last.more, last.version, last.removed) == (False, 6, (hashes[1],))
    assert feed(database, 6) == FeedPage(6, False, False, last.tag_key, (), ())


def test_a_kiosk_ahead_of_hq_gets_a_reset(database: Database) -> None:
    page = feed(database, 7)
    assert (page.reset, page.version, page.upserts) == (True, 0, ())


def test_the_tag_key_is_made_once_and_kept(database: Database) -> None:
    key = recognition.tag_key(database)
    assert len(key) == 32
    assert recognition.tag_key(database) == key == feed(database).tag_key


# ---------------------------------------------------------------- staff binding tags


def test_staff_bind_a_tag_by_its_value_which_hq_keeps_only_as_a_hash(database: Database) -> None:
    shop, member = Shop(database), new_member()
    shop.send(signup(member), consent(member))
    binding, new = recognition.bind_tag(database, member, "rfid", "12345678", now=NOW)
    assert new
    assert binding.tag_hash == hash_of(database, FOB)
    assert list(entries(database)) == [binding.tag_hash]
    again, new = recognition.bind_tag(database, member, "rfid", FOB, now=NOW)
    assert (again.tag_hash, new) == (binding.tag_hash, False)
    assert_value_not_stored(database, "12345678")


def test_a_tag_can_be_bound_only_to_a_known_member_and_only_once(database: Database) -> None:
    shop, member, other = Shop(database), new_member(), new_member()
    shop.send(signup(member), signup(other))
    with pytest.raises(recognition.UnknownMember):
        recognition.bind_tag(database, new_member(), "rfid", FOB, now=NOW)
    recognition.bind_tag(database, member, "rfid", FOB, now=NOW)
    with pytest.raises(recognition.TagTaken):
        recognition.bind_tag(database, other, "rfid", FOB, now=NOW)


def test_unbinding_a_tag_removes_it_from_the_feed(database: Database) -> None:
    shop, member = Shop(database), new_member()
    shop.send(signup(member), consent(member))
    binding, _ = recognition.bind_tag(database, member, "rfid", FOB, now=NOW)
    before = version(database)
    with pytest.raises(recognition.UnknownTag):
        recognition.unbind_tag(database, new_member(), binding.tag_hash, now=NOW)
    recognition.unbind_tag(database, member, binding.tag_hash.upper(), now=NOW)
    assert feed(database, before).removed == (binding.tag_hash,)
    assert recognition.bindings_of(database, member) == []


# ---------------------------------------------------------------- erasure


def test_erasure_takes_the_person_their_feed_entries_and_the_personal_part_of_their_events(
    database: Database,
) -> None:
    nanjing, huaihai = Shop(database), Shop(database, "sh-huaihai-road")
    first, second, bystander = new_member(), new_member(), new_member()
    phone = new_phone()
    hashed = hash_of(database)
    nanjing.send(
        ("member_signup", signup_payload(first, phone, name="王芳", email="wf@example.com")),
        consent(first),
        bound(first, hashed),
        lift(first, "P-1"),
        signup(bystander),
    )
    huaihai.send(("member_signup", signup_payload(second, phone)), lift(second, "P-2"))
    before = version(database)

    erased = erase_member(database, second, now=NOW)

    assert erased is not None
    assert (set(erased.member_ids), erased.already, erased.feed_entries_removed) == (
        {first, second},
        False,
        1,
    )
    assert erased.events_scrubbed == 6
    assert feed(database, before).removed == (hashed,)
    with database.read() as connection:
        for table in (tag_bindings, consents, interactions):
            assert connection.execute(select(table.c.member_id)).scalars().all() == []
        assert connection.execute(select(member_ids.c.member_id)).scalars().all() == [bystander]
        assert connection.execute(select(customers.c.phone_e164)).scalars().all() != []
        payloads = {
            row.kind: row.payload
            for row in connection.execute(select(events.c.kind, events.c.payload))
            if row.payload.get("erased")
        }
    assert payloads["member_signup"] == {"erased": True}
    assert payloads["tag_bound"] == {"erased": True}
    assert payloads["lift"]["sku"] in {"P-1", "P-2"}
    assert "member_id" not in payloads["lift"]
    assert payloads["consent"]["purpose"] == "recognition"
    assert_value_not_stored(database, phone[3:])
    assert_value_not_stored(database, "wf@example.com")
    assert erase_member(database, new_member(), now=NOW) is None


def test_events_of_an_erased_member_that_arrive_later_are_stored_without_the_person(
    database: Database,
) -> None:
    shop, member = Shop(database), new_member()
    shop.send(signup(member), consent(member))
    assert erase_member(database, member, now=NOW) is not None
    phone = new_phone()
    late = shop.send(
        ("member_signup", signup_payload(member, phone, name="王芳")),
        consent(member),
        bound(member, hash_of(database)),
        lift(member, "P-1"),
    )
    assert late == ["accepted"] * 4
    assert entries(database) == {}
    with database.read() as connection:
        for table in (member_ids, consents, interactions, tag_bindings):
            assert connection.execute(select(table)).all() == []
    assert_value_not_stored(database, phone[3:])
    again = erase_member(database, member, now=NOW + timedelta(days=1))
    assert again is not None
    assert (again.already, again.erased_at) == (True, NOW)


# ---------------------------------------------------------------- compaction


def test_compaction_drops_old_tombstones_and_a_kiosk_from_before_them_starts_again(
    database: Database,
) -> None:
    shop, member, other = Shop(database), new_member(), new_member()
    shop.send(signup(member), consent(member), bound(member, hash_of(database, "1")))
    shop.send(signup(other), consent(other), bound(other, hash_of(database, "2")))
    kiosk_holds = version(database)
    shop.send(consent(member, given=False))
    assert recognition.compact(database, now=shop.clock + timedelta(days=29)) == 0
    assert recognition.compact(database, now=shop.clock + timedelta(days=31)) == 1
    stats = recognition.feed_stats(database)
    assert (stats.entries, stats.tombstones, stats.version, stats.compacted_through) == (
        1,
        0,
        3,
        3,
    )
    page = feed(database, kiosk_holds)
    assert (page.reset, [h for h, _ in page.upserts]) == (True, [hash_of(database, "2")])
    assert feed(database, 3).reset is False


# ---------------------------------------------------------------- concurrency


def test_a_withdrawal_and_a_lift_in_concurrent_batches_never_leave_the_member_in_the_feed(
    database: Database,
) -> None:
    shop = Shop(database)
    lifter = Shop(database, "sh-huaihai-road")
    for round_ in range(8):
        member = new_member()
        shop.send(signup(member), consent(member), bound(member, hash_of(database, str(round_))))
        lifter.clock = shop.clock
        together(
            lambda: shop.send(consent(member, given=False)),  # noqa: B023 - called at once
            lambda: lifter.send(*(lift(member, f"P-{n}") for n in range(20))),  # noqa: B023
        )
        assert member not in {content.member_id for content in entries(database).values()}


def together(*calls: Any) -> None:
    """Run `calls` on threads of their own, released at the same moment."""
    barrier = threading.Barrier(len(calls))
    failures: list[BaseException] = []

    def run(call: Any) -> None:
        barrier.wait()
        try:
            call()
        except BaseException as error:
            failures.append(error)

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []


def assert_value_not_stored(database: Database, value: str) -> None:
    """No column of any table holds `value` (as text, or inside JSON)."""
    with database.read() as connection:
        for table in metadata.sorted_tables:
            for row in connection.execute(select(table)):
                assert value not in repr(tuple(row)), f"{table.name} holds it"


def test_the_feed_tells_kiosks_who_consented_to_personalised_recommendations(
    database: Database,
) -> None:
    from hq.crm.withdrawal import withdraw  # noqa: PLC0415

    shop, member = Shop(database), new_member()
    hashed = hash_of(database)
    shop.send(signup(member), consent(member), bound(member, hashed))
    assert not entries(database)[hashed].personalised
    shop.send(("consent", consent_payload(member, "personalisation", given=True)))
    assert entries(database)[hashed].personalised
    upserts = recognition.feed_page_json(feed(database))["upserts"]
    assert [entry["personalised"] for entry in upserts] == [True]

    withdraw(database, member, "personalisation", by="staff:li", now=NOW + timedelta(hours=1))

    assert hashed in entries(database)  # still recognised
    assert not entries(database)[hashed].personalised
