"""The duplicate finder, households and the stricter consent rule: pure functions."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from hq.crm import dedupe
from hq.crm.dedupe import CandidateRow, Decision, HouseholdRow

T0 = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)


def row(customer_id: str, phone: str, **fields: object) -> CandidateRow:
    values: dict[str, object] = {
        "email": None,
        "name": None,
        "address": None,
        "created_at": T0 + timedelta(days=int(customer_id[-1], 16)),
        "tag_hashes": frozenset(),
        **fields,
    }
    return CandidateRow(customer_id, phone, **values)  # type: ignore[arg-type]


def pairs(*rows: CandidateRow) -> dict[tuple[str, str], tuple[str, ...]]:
    return {(p.first, p.second): p.reasons for p in dedupe.find_duplicates(rows)}


def test_the_same_number_in_an_older_form_is_one_person_and_the_e164_record_is_kept() -> None:
    found = pairs(
        row("c1", "13800138000"),  # an imported row, national form
        row("c2", "+8613800138000"),
        row("c3", "008613800138000"),
        row("c4", "+8613900139000"),
    )
    assert found == {
        ("c2", "c1"): ("phone",),
        ("c2", "c3"): ("phone",),
        ("c1", "c3"): ("phone",),
    }


def test_the_same_email_ignores_case_and_spaces() -> None:
    found = pairs(
        row("c1", "+8613800138000", email=" Wang.Fang@Example.cn "),
        row("c2", "+8613900139000", email="wang.fang@example.cn"),
        row("c3", "+8613700137000", email="wang.fang2@example.cn"),
    )
    assert found == {("c1", "c2"): ("email",)}


def test_the_same_name_with_the_same_fob_pairs_but_a_fob_passed_to_someone_else_does_not() -> None:
    found = pairs(
        row("c1", "+8613800138000", name="王芳", tag_hashes=frozenset({"ab" * 32})),
        row("c2", "+8613900139000", name="王 芳", tag_hashes=frozenset({"ab" * 32})),
        row("c3", "+8613700137000", name="李娜", tag_hashes=frozenset({"ab" * 32})),
        row("c4", "+8613600136000", name="王芳"),  # same name, no shared fob
    )
    assert found == {("c1", "c2"): ("name_and_tag",)}


def test_near_identical_names_at_one_address_pair_but_a_family_does_not() -> None:
    found = pairs(
        row("c1", "+8613800138000", name="Wang Fang", address="上海市徐汇区漕溪北路 88 号 1201 室"),
        row("c2", "+8613900139000", name="wang fnag", address="上海市徐汇区漕溪北路88號1201室"),
        row("c3", "+8613700137000", name="张伟", address="上海市徐汇区漕溪北路88号1201室"),
        row("c4", "+8613600136000", name="张炜", address="上海市徐汇区漕溪北路88号1201室"),
        row("c5", "+8613500135000", name="Wang Fang", address="北京市朝阳区三里屯路19号"),
    )
    assert found == {("c1", "c2"): ("name_at_address",)}


def test_different_people_make_no_pair() -> None:
    assert (
        pairs(
            row("c1", "+8613800138000", name="王芳", email="a@example.cn", address="A 路 1 号"),
            row("c2", "+8613900139000", name="王芳", email="b@example.cn", address="B 路 2 号"),
            row("c3", "not a number", name="李娜"),
            row("c4", "also not", name="李娜"),
        )
        == {}
    )


def test_reasons_add_up_and_the_surest_pair_comes_first() -> None:
    found = dedupe.find_duplicates(
        [
            row("c1", "13800138000", email="x@example.cn"),
            row("c2", "+8613800138000", email="x@example.cn"),
            row("c3", "+8613900139000", email="y@example.cn"),
            row("c4", "+8613700137000", email="y@example.cn"),
        ]
    )
    assert [(p.first, p.second, p.reasons) for p in found] == [
        ("c2", "c1", ("phone", "email")),
        ("c3", "c4", ("email",)),
    ]
    assert found[0].score == pytest.approx(1 - 0.05 * 0.15)
    assert found[1].score == pytest.approx(0.85)


def test_a_placeholder_shared_by_many_records_pairs_nobody() -> None:
    rows = [
        row(f"c{n:x}", f"+86139{n:08d}", email="none@none.cn") for n in range(dedupe.MAX_GROUP + 1)
    ]
    assert dedupe.find_duplicates(rows) == []


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ("王芳", "王 芳", True),
        ("Wang Fang", "FANG wang", True),
        ("Wang Fang", "Wang Fnag", True),  # a swap
        ("Wang Fang", "Wang Fan", True),  # a dropped letter
        ("Li Na", "Li Ni", False),  # short: a letter is a different name
        ("张伟", "张炜", False),
        ("Ｗａｎｇ Ｆａｎｇ", "wang fang", True),  # full-width
        (None, "王芳", False),
    ],
)
def test_near_identical_names(a: str | None, b: str | None, same: bool) -> None:
    assert dedupe.near_identical_names(a, b) is same


def test_addresses_normalise_width_spacing_case_and_common_words() -> None:
    assert dedupe.address_key("８８ Caoxi North Road, Apartment 12") == dedupe.address_key(
        "88 caoxi north rd apt 12"
    )
    assert dedupe.address_key("   ") is None


def test_masks_show_the_country_the_start_and_the_last_four() -> None:
    assert dedupe.mask_phone("+8613812345678") == "+86 138****5678"
    assert dedupe.mask_phone("13812345678") == "+86 138****5678"
    assert dedupe.mask_email("wang.fang@example.cn") == "w***@example.cn"


def test_households_link_a_shared_address_or_a_phone_in_another_form() -> None:
    found = dedupe.households(
        [
            HouseholdRow("c1", "+8613800138000", "上海徐汇漕溪北路88号"),
            HouseholdRow("c2", "+8613900139000", "上海徐汇漕溪北路88号"),
            HouseholdRow("c3", "13900139000", None),  # c2's number, older form
            HouseholdRow("c4", "+8613700137000", "北京三里屯路19号"),
        ]
    )
    assert set(found) == {"c1", "c2", "c3"}
    assert len(set(found.values())) == 1
    assert found["c1"] == dedupe.household_id(["c3", "c1", "c2"]).lower()


def decision(purpose: str, given: bool, minutes: int, row_id: int = 1) -> Decision:
    return Decision(purpose, None, given, T0 + timedelta(minutes=minutes), row_id, "v1", "5e" * 32)


def test_a_withdrawal_in_either_record_wins_over_a_newer_yes_in_the_other() -> None:
    needed = dedupe.stricter_consents(
        [
            [decision("recognition", True, 10), decision("marketing", True, 1)],
            [
                decision("recognition", True, 0),
                decision("recognition", False, 5),  # withdrawn, before the other's yes
                decision("marketing", True, 2),
            ],
        ]
    )
    assert [(d.purpose, d.given, d.occurred_at) for d in needed] == [
        ("recognition", False, T0 + timedelta(minutes=5))
    ]


def test_a_newest_refusal_needs_nothing_added_and_no_decision_is_no_refusal() -> None:
    assert (
        dedupe.stricter_consents(
            [
                [decision("recognition", True, 0), decision("marketing", True, 0)],
                [decision("recognition", False, 5)],  # newest of all already; marketing: none
            ]
        )
        == []
    )


def test_a_dismissed_pair_stays_hidden_until_a_new_reason_links_it() -> None:
    older = row("c1", "13800138000", name="王芳")  # kept second: its phone is not E.164
    newer = row("c2", "+8613800138000", name="王芳")
    found = dedupe.find_duplicates([older, newer, row("c3", "+8613900139000")])
    assert [(p.first, p.second) for p in found] == [("c2", "c1")]
    # Kept in id order, whichever record the finder suggests keeping.
    dismissed = {dedupe.pair_key("c2", "c1"): ["phone"]}
    assert dismissed == {("c1", "c2"): ["phone"]}
    assert dedupe.undismissed(found, dismissed) == []

    fob = frozenset({"ab" * 32})  # later the same fob is bound to a member of each
    again = dedupe.find_duplicates(
        [row("c1", "13800138000", name="王芳", tag_hashes=fob), replace(newer, tag_hashes=fob)]
    )
    assert [p.reasons for p in dedupe.undismissed(again, dismissed)] == [("phone", "name_and_tag")]
    # A dismissal for more reasons than the pair meets now keeps it hidden.
    assert dedupe.undismissed(found, {("c1", "c2"): ["phone", "email"]}) == []
