"""A customer's loyalty tier, tags and birth month: set by staff or imported, kept, sent
to kiosks only with marketing consent, gone with erasure; on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from helpers.customers import add_demo_customers
from sqlalchemy import select, update

from hq import audit
from hq.crm import merges, recognition, segments
from hq.crm.erasure import erase_member
from hq.crm.merges import UnknownCustomer
from hq.crm.segments import BadSegment, Segment
from hq.db import Database, customers, member_ids, metadata
from hq.store_places import ImportRefused

NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
WANG_PHONE = "+8613812345678"  # helpers.customers' 王芳, recognised, marketing by SMS


def live_feed(database: Database) -> dict[str, recognition.FeedContent]:
    return dict(recognition.read_feed(database, 0, 1000).upserts)


def feed_of(database: Database, customer_id: str) -> list[recognition.FeedContent]:
    with database.read() as connection:
        members = set(
            connection.execute(
                select(member_ids.c.member_id).where(member_ids.c.customer_id == customer_id)
            ).scalars()
        )
    return [entry for entry in live_feed(database).values() if entry.member_id in members]


def member_of(database: Database, customer_id: str) -> str:
    with database.read() as connection:
        return str(
            connection.execute(
                select(member_ids.c.member_id)
                .where(member_ids.c.customer_id == customer_id)
                .order_by(member_ids.c.member_id)
            )
            .scalars()
            .first()
        )


@pytest.fixture
def ids(database: Database) -> dict[str, str]:
    return add_demo_customers(database, NOW - timedelta(days=1))


# ---------------------------------------------------------------- one record


def test_staff_set_a_tier_tags_and_birth_month_and_kiosks_get_them_in_the_feed(
    database: Database, ids: dict[str, str]
) -> None:
    done = segments.set_segment(
        database,
        {"tier": "gold", "tags": ("vip", "student", "vip"), "birth_month": "5"},
        customer_id=ids["wang"],
        by="staff:li",
        now=NOW,
    )
    assert done.fields_changed == ("birth_month", "tags", "tier")
    assert done.feed_entries_changed == 1  # her one fob
    assert segments.segment_of(database, ids["wang"]) == Segment("gold", ("student", "vip"), 5)
    (entry,) = feed_of(database, ids["wang"])
    assert (entry.marketing, entry.tier, entry.tags, entry.birth_month) == (
        True,
        "gold",
        ("student", "vip"),
        5,
    )
    line = audit.recent(database)[0]
    assert (line.actor, line.action, line.target) == (
        "staff:li",
        "customers.segment",
        f"customer:{ids['wang']}",
    )
    assert line.detail == {"fields": ["birth_month", "tags", "tier"], "via": "cli"}

    again = segments.set_segment(
        database, {"tier": "gold"}, customer_id=ids["wang"], by="staff:li", now=NOW
    )
    assert (again.fields_changed, again.feed_entries_changed) == ((), 0)
    cleared = segments.set_segment(
        database,
        {"tags": (), "birth_month": None},
        phone="138 1234 5678",  # a national number, as staff type it
        by="staff:li",
        now=NOW,
    )
    assert cleared.fields_changed == ("birth_month", "tags")
    assert segments.segment_of(database, ids["wang"]) == Segment("gold", (), None)
    with database.read() as connection:
        stored = connection.execute(
            select(customers.c.tags).where(customers.c.customer_id == ids["wang"])
        ).scalar_one()
    assert stored is None  # no tags: nothing kept
    (entry,) = feed_of(database, ids["wang"])
    assert (entry.tier, entry.tags, entry.birth_month) == ("gold", (), None)


def test_a_member_without_marketing_consent_has_a_segment_at_hq_and_none_in_the_feed(
    database: Database, ids: dict[str, str]
) -> None:
    from hq.crm.withdrawal import withdraw  # noqa: PLC0415

    member = member_of(database, ids["wang"])
    withdraw(database, member, "marketing", by="hotline-7", now=NOW)
    segments.set_segment(
        database, {"tier": "gold", "birth_month": 5}, customer_id=ids["wang"], by="s", now=NOW
    )
    (entry,) = feed_of(database, ids["wang"])  # still recognised
    assert (entry.marketing, entry.tier, entry.tags, entry.birth_month) == (False, None, (), None)
    page = recognition.feed_page_json(recognition.read_feed(database, 0, 1000))
    (sent,) = [e for e in page["upserts"] if e["member_id"] == member]
    assert (sent["marketing"], sent["tier"], sent["tags"], sent["birth_month"]) == (
        False,
        None,
        [],
        None,
    )
    assert segments.segment_of(database, ids["wang"]) == Segment("gold", (), 5)


BAD_CHANGES = [
    ({"tier": "Gold"}, "tier: 'Gold' is not a lowercase slug"),
    ({"tier": "gold tier"}, "tier: 'gold tier' is not a lowercase slug"),
    ({"tags": ("vip", "VIP")}, "tags: 'VIP' is not a lowercase slug"),
    ({"tags": tuple(f"t{n}" for n in range(21))}, "tags: 21 tags; a member has at most 20"),
    ({"birth_month": "13"}, "birth month: '13' is not a month number from 1 to 12"),
    ({"birth_month": "0"}, "birth month: '0' is not a month number"),
    ({"birth_month": "1990-05-14"}, "birth month: a date: give only the month"),
    ({"segment": "gold"}, "no such field: segment"),
    ({}, "nothing to change"),
]


@pytest.mark.parametrize(("changes", "message"), BAD_CHANGES)
def test_a_value_hq_cannot_use_is_refused_and_nothing_changes(
    database: Database, ids: dict[str, str], changes: dict[str, object], message: str
) -> None:
    with pytest.raises(BadSegment, match=message.replace("(", r"\(")):
        segments.set_segment(database, changes, customer_id=ids["wang"], by="s", now=NOW)
    assert segments.segment_of(database, ids["wang"]) == Segment()


def test_an_unknown_record_or_number_is_refused_without_quoting_the_number(
    database: Database, ids: dict[str, str]
) -> None:
    with pytest.raises(UnknownCustomer):
        segments.set_segment(database, {"tier": "gold"}, customer_id="nobody", by="s", now=NOW)
    with pytest.raises(UnknownCustomer):
        segments.set_segment(database, {"tier": "gold"}, phone="13900009999", by="s", now=NOW)
    with pytest.raises(BadSegment) as raised:
        segments.set_segment(database, {"tier": "gold"}, phone="139000", by="s", now=NOW)
    assert "139000" not in str(raised.value)


def test_a_merged_record_stands_for_the_record_it_went_into(
    database: Database, ids: dict[str, str]
) -> None:
    merges.merge(database, ids["wang"], ids["wang-old"], by="staff:1", now=NOW)
    by_id = segments.set_segment(
        database, {"tier": "silver"}, customer_id=ids["wang-old"], by="s", now=NOW
    )
    assert by_id.customer_id == ids["wang"]
    # Her number as an older CRM held it (00 form) names the live record too.
    by_phone = segments.set_segment(
        database, {"tags": ("vip",)}, phone="008613812345678", by="s", now=NOW
    )
    assert by_phone.customer_id == ids["wang"]
    assert segments.segment_of(database, ids["wang"]) == Segment("silver", ("vip",), None)
    assert segments.segment_of(database, ids["wang-old"]) == Segment()


# ---------------------------------------------------------------- import


def write(tmp_path: Path, text: str, name: str = "loyalty.csv") -> tuple[bytes, str]:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path.read_bytes(), str(path)


def test_an_import_sets_every_row_in_one_go_and_republishes_the_feed(
    database: Database, ids: dict[str, str], tmp_path: Path
) -> None:
    data, source = write(
        tmp_path,
        "\ufeffcustomer_id,phone,tier,tags,birth_month\n"
        f"{ids['wang']},,gold,vip;student,5\n"
        f",+8613900001111,silver,,\n"  # 李娜, by her number
        f"{ids['zhao']},,,staff family,12\n"
        "\n",
    )
    rows = segments.read_import(data, source)
    report = segments.apply_import(database, rows, source=source, by="loyalty-sync", now=NOW)
    assert (report.rows, report.customers_changed) == (3, 3)
    assert report.feed_entries_changed == 3  # each has one fob, recognition and marketing
    assert segments.segment_of(database, ids["wang"]) == Segment("gold", ("student", "vip"), 5)
    assert segments.segment_of(database, ids["li"]) == Segment("silver", (), None)
    assert segments.segment_of(database, ids["zhao"]) == Segment(None, ("family", "staff"), 12)
    (entry,) = feed_of(database, ids["zhao"])
    assert (entry.tags, entry.birth_month) == (("family", "staff"), 12)
    lines = [e for e in audit.recent(database) if e.action == "customers.segment"]
    assert {(e.actor, e.target) for e in lines} == {
        ("loyalty-sync", f"customer:{ids[key]}") for key in ("wang", "li", "zhao")
    }
    assert all(e.detail["via"] == "import" for e in lines)

    # The same file again changes nothing; a file without a column leaves that field.
    again = segments.apply_import(database, rows, source=source, by="loyalty-sync", now=NOW)
    assert (again.customers_changed, again.feed_entries_changed) == (0, 0)
    data, source = write(tmp_path, f"customer_id,tier\n{ids['wang']},platinum\n", "tiers.csv")
    segments.apply_import(
        database, segments.read_import(data, source), source=source, by="s", now=NOW
    )
    assert segments.segment_of(database, ids["wang"]) == Segment("platinum", ("student", "vip"), 5)


def test_a_file_with_problems_names_each_by_file_line_and_field_and_changes_nothing(
    tmp_path: Path,
) -> None:
    data, source = write(
        tmp_path,
        "customer_id,phone,tier,tags,birth_month\n"
        "c-1,,gold,vip,5\n"
        "c-2,,Gold,vip,5\n"
        ",13912,gold,,\n"
        "c-3,+8613900001111,gold,,\n"
        ",,gold,,\n"
        "c-4,,gold,VIP student,13\n"
        "c-5,,gold,,1990-05-14\n"
        "c-1,,silver,,\n"
        "c-6,,gold\n",
    )
    with pytest.raises(ImportRefused) as raised:
        segments.read_import(data, source)
    assert raised.value.problems == (
        f"{source}:3: tier: 'Gold' is not a lowercase slug [a-z0-9_-], 1 to 40 characters",
        f"{source}:4: phone: not a valid phone number for its region",
        f"{source}:5: customer_id, phone: give one of them, not both",
        f"{source}:6: customer_id, phone: both empty: which record is it?",
        f"{source}:7: tags: 'VIP' is not a lowercase slug [a-z0-9_-], 1 to 40 characters",
        f"{source}:7: birth_month: '13' is not a month number from 1 to 12",
        f"{source}:8: birth_month: a date: give only the month, 1-12 (HQ keeps no birth date)",
        f"{source}:9: customer_id: the same as on line 2",
        f"{source}:10: 5 cells expected, 3 found",
    )
    assert "13912" not in str(raised.value)
    assert "13900001111" not in str(raised.value)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("customer_id,tier,colour\n", "header: unknown column(s) colour"),
        ("tier,tags\n", "header: no customer_id or phone column"),
        ("customer_id\n", "header: none of the columns tier, tags, birth_month"),
        ("customer_id,tier,tier\n", "header: a column is named twice"),
        ('customer_id,tier\nc-1,"gold\n', "not CSV"),
    ],
)
def test_a_file_that_is_not_a_segment_file_is_refused_with_what_is_wrong(
    tmp_path: Path, text: str, problem: str
) -> None:
    data, source = write(tmp_path, text)
    with pytest.raises(ImportRefused, match=problem.replace("(", r"\(").replace(")", r"\)")):
        segments.read_import(data, source)
    with pytest.raises(ImportRefused, match="not UTF-8"):
        segments.read_import("customer_id,tier\n王,gold\n".encode("gb18030"), source)


def test_an_import_naming_an_unknown_or_the_same_customer_twice_applies_nothing(
    database: Database, ids: dict[str, str], tmp_path: Path
) -> None:
    merges.merge(database, ids["wang"], ids["wang-old"], by="staff:1", now=NOW)
    data, source = write(
        tmp_path,
        "customer_id,phone,tier\n"
        f"{ids['li']},,gold\n"
        ",+8613700009999,gold\n"  # nobody's
        "00000000-0000-4000-8000-000000000000,,gold\n"
        f"{ids['wang']},,gold\n"
        f"{ids['wang-old']},,silver\n",  # merged into wang since
    )
    rows = segments.read_import(data, source)
    with pytest.raises(ImportRefused) as raised:
        segments.apply_import(database, rows, source=source, by="s", now=NOW)
    assert raised.value.problems == (
        f"{source}:3: phone: HQ has no such customer",
        f"{source}:4: customer_id: HQ has no such customer",
        f"{source}:6: customer_id: the same customer as line 5",
    )
    assert segments.segment_of(database, ids["li"]) == Segment()  # line 2 was good: not applied
    assert not [e for e in audit.recent(database) if e.action == "customers.segment"]


# ---------------------------------------------------------------- merges and erasure


def test_merge_fills_the_segment_from_the_other_record_and_undo_returns_both_exactly(
    database: Database, ids: dict[str, str]
) -> None:
    keep, other = ids["li"], ids["li-new"]
    segments.set_segment(database, {"birth_month": 9}, customer_id=keep, by="s", now=NOW)
    segments.set_segment(
        database,
        {"tier": "gold", "tags": ("vip",), "birth_month": 3},
        customer_id=other,
        by="s",
        now=NOW,
    )

    def both() -> list[tuple[object, ...]]:
        with database.read() as connection:
            return [
                tuple(row)
                for row in connection.execute(
                    select(customers)
                    .where(customers.c.customer_id.in_([keep, other]))
                    .order_by(customers.c.customer_id)
                )
            ]

    before = both()
    done = merges.merge(database, keep, other, by="staff:1", now=NOW)
    assert segments.segment_of(database, keep) == Segment("gold", ("vip",), 9)
    assert all(e.tier == "gold" for e in feed_of(database, keep))
    merges.undo(database, done.merge_id, by="staff:1", now=NOW + timedelta(minutes=1))
    assert both() == before
    assert [e.tier for e in feed_of(database, keep)] == [None]


def test_undo_keeps_a_segment_staff_changed_after_the_merge(
    database: Database, ids: dict[str, str]
) -> None:
    keep, other = ids["li"], ids["li-new"]
    segments.set_segment(database, {"tier": "gold"}, customer_id=other, by="s", now=NOW)
    done = merges.merge(database, keep, other, by="staff:1", now=NOW)
    segments.set_segment(database, {"tier": "platinum"}, customer_id=keep, by="s", now=NOW)
    merges.undo(database, done.merge_id, by="staff:1", now=NOW)
    assert segments.segment_of(database, keep).tier == "platinum"
    assert segments.segment_of(database, other).tier == "gold"


def assert_not_stored(database: Database, *values: str) -> None:
    """No column of any table holds any of `values` (as text, or inside JSON)."""
    with database.read() as connection:
        for table in metadata.sorted_tables:
            for row in connection.execute(select(table)):
                for value in values:
                    assert value not in repr(tuple(row)), f"{table.name} holds {value}"


def test_erasure_leaves_no_trace_of_the_segment_of_a_merged_person(
    database: Database, ids: dict[str, str]
) -> None:
    segments.set_segment(
        database,
        {"tier": "tier-of-wang", "tags": ("tag-of-wang",), "birth_month": 7},
        customer_id=ids["wang"],
        by="s",
        now=NOW,
    )
    segments.set_segment(
        database, {"tier": "tier-of-old-wang"}, customer_id=ids["wang-old"], by="s", now=NOW
    )
    merges.merge(database, ids["wang"], ids["wang-old"], by="staff:1", now=NOW)
    assert_not_stored(database, "nothing-like-it")  # the check can pass
    with pytest.raises(AssertionError):
        assert_not_stored(database, "tier-of-old-wang")  # ... and fail: it is in the snapshot

    erase_member(database, member_of(database, ids["wang"]), now=NOW)

    assert_not_stored(database, "tier-of-wang", "tag-of-wang", "tier-of-old-wang")
    with database.read() as connection:
        assert (
            connection.execute(
                select(customers).where(customers.c.customer_id.in_([ids["wang"], ids["wang-old"]]))
            ).all()
            == []
        )
    assert feed_of(database, ids["wang"]) == []


def test_a_segment_change_of_a_member_without_tags_touches_no_feed_entry(
    database: Database, ids: dict[str, str]
) -> None:
    before = recognition.read_feed(database, 0, 1).version
    done = segments.set_segment(
        database,
        {"tier": "gold"},
        customer_id=ids["sun"],
        by="s",
        now=NOW,  # no fob
    )
    assert (done.fields_changed, done.feed_entries_changed) == (("tier",), 0)
    assert recognition.read_feed(database, 0, 1).version == before
    with database.write() as connection:  # a row an older tool left with [] is "no tags"
        connection.execute(
            update(customers).where(customers.c.customer_id == ids["sun"]).values(tags=[])
        )
    assert segments.segment_of(database, ids["sun"]) == Segment("gold", (), None)
