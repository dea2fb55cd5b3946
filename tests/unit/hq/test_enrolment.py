"""Enrolment: one-time codes for staff to type, traded once for a kiosk's own token."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from hq.db import Database, enrolment_codes, kiosks, stores
from hq.enrollment import (
    CODE_ALPHABET,
    EnrolmentRefused,
    authenticate,
    canonical_code,
    issue_code,
    new_code,
    redeem_code,
    revoke,
    sha256_hex,
)
from hq.errors import SeatsInUse, StoreFull, UnknownKiosk, UnknownStore
from hq.fleet import add_store, set_kiosk_seats

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def test_a_new_code_is_twelve_crockford_characters_in_groups_of_four() -> None:
    codes = {new_code() for _ in range(200)}
    assert len(codes) == 200
    for code in codes:
        assert re.fullmatch(rf"[{CODE_ALPHABET}]{{4}}(-[{CODE_ALPHABET}]{{4}}){{2}}", code)


def test_dashes_spaces_and_case_do_not_matter_in_a_code() -> None:
    assert canonical_code("7kq2-m9xd-4hrt") == "7KQ2M9XD4HRT"
    assert canonical_code(" 7KQ2 M9XD 4HRT ") == "7KQ2M9XD4HRT"
    assert canonical_code("7KQ2M9XD4HRT") == "7KQ2M9XD4HRT"


def test_letters_crockford_reads_as_digits_are_read_as_digits() -> None:
    assert canonical_code("IL0O-0000-0000") == canonical_code("1100-0000-0000")


@pytest.mark.parametrize(
    "typed", ["", "7KQ2-M9XD", "7KQ2-M9XD-4HRT-AAAA", "7KQ2-M9XD-4HRU", "7KQ2_M9XD_4HRT", "é" * 12]
)
def test_text_that_cannot_be_a_code_is_not_one(typed: str) -> None:
    assert canonical_code(typed) is None


def test_hq_keeps_only_hashes_of_codes_and_tokens(database: Database) -> None:
    add_store(database, "sh-nanjing-road", None, now=NOW)
    code = issue_code(database, "sh-nanjing-road", now=NOW)
    enrolment = redeem_code(database, code, "entrance screen", now=NOW)
    with database.read() as connection:
        (code_hash,) = connection.execute(select(enrolment_codes.c.code_sha256)).one()
        kiosk = connection.execute(select(kiosks)).one()
    assert code_hash == sha256_hex(canonical_code(code) or "")
    assert kiosk.token_sha256 == sha256_hex(enrolment.token)
    assert enrolment.token not in kiosk
    assert kiosk.name == "entrance screen"


def test_redeeming_a_code_makes_a_kiosk_of_its_store_with_a_working_token(
    database: Database,
) -> None:
    add_store(database, "sh-nanjing-road", None, now=NOW)
    first = redeem_code(database, issue_code(database, "sh-nanjing-road", now=NOW), None, now=NOW)
    second = redeem_code(database, issue_code(database, "sh-nanjing-road", now=NOW), None, now=NOW)
    assert (first.store_id, first.kiosk_id) == ("sh-nanjing-road", "sh-nanjing-road-k1")
    assert second.kiosk_id == "sh-nanjing-road-k2"
    assert len(first.token) >= 43
    identity = authenticate(database, first.token)
    assert identity is not None
    assert (identity.kiosk_id, identity.store_id) == ("sh-nanjing-road-k1", "sh-nanjing-road")


def test_second_use_of_an_enrolment_code_is_refused(database: Database) -> None:
    add_store(database, "sh-nanjing-road", None, now=NOW)
    code = issue_code(database, "sh-nanjing-road", now=NOW)
    redeem_code(database, code, None, now=NOW)
    with pytest.raises(EnrolmentRefused):
        redeem_code(database, code.lower(), None, now=NOW)


def test_an_expired_enrolment_code_is_refused(database: Database) -> None:
    add_store(database, "sh-nanjing-road", None, now=NOW)
    code = issue_code(database, "sh-nanjing-road", now=NOW, valid_for=timedelta(hours=24))
    with pytest.raises(EnrolmentRefused):
        redeem_code(database, code, None, now=NOW + timedelta(hours=24, seconds=1))
    # Still unused, so still good just before it expires.
    assert redeem_code(database, code, None, now=NOW + timedelta(hours=23, minutes=59))


def test_an_unknown_code_is_refused(database: Database) -> None:
    with pytest.raises(EnrolmentRefused):
        redeem_code(database, new_code(), None, now=NOW)
    with pytest.raises(EnrolmentRefused):
        redeem_code(database, "not a code at all", None, now=NOW)


def test_no_code_is_issued_for_a_store_hq_does_not_know(database: Database) -> None:
    with pytest.raises(UnknownStore, match="no store 'nowhere'"):
        issue_code(database, "nowhere", now=NOW)


def test_a_revoked_token_no_longer_authenticates(database: Database) -> None:
    add_store(database, "sh-nanjing-road", None, now=NOW)
    enrolment = redeem_code(
        database, issue_code(database, "sh-nanjing-road", now=NOW), None, now=NOW
    )
    assert revoke(database, enrolment.kiosk_id, now=NOW) == NOW
    assert authenticate(database, enrolment.token) is None
    # Revoking again keeps the first time.
    assert revoke(database, enrolment.kiosk_id, now=NOW + timedelta(days=1)) == NOW
    with pytest.raises(UnknownKiosk):
        revoke(database, "no-such-kiosk", now=NOW)


def test_missing_and_unknown_tokens_do_not_authenticate(database: Database) -> None:
    assert authenticate(database, None) is None
    assert authenticate(database, "") is None
    assert authenticate(database, "x" * 43) is None


def test_each_kiosk_of_a_store_gets_its_own_seat_for_the_store_budgets(
    database: Database,
) -> None:
    add_store(database, "sh-xujiahui", None, now=NOW, kiosk_seats=2)
    first = redeem_code(database, issue_code(database, "sh-xujiahui", now=NOW), None, now=NOW)
    second = redeem_code(database, issue_code(database, "sh-xujiahui", now=NOW), None, now=NOW)
    assert {(first.budget_seat, first.budget_seats), (second.budget_seat, second.budget_seats)} == {
        (0, 2),
        (1, 2),
    }


def test_a_full_store_refuses_another_kiosk_until_one_is_revoked(database: Database) -> None:
    add_store(database, "sh-xujiahui", None, now=NOW, kiosk_seats=1)
    first = redeem_code(database, issue_code(database, "sh-xujiahui", now=NOW), None, now=NOW)
    with pytest.raises(StoreFull, match="1 kiosk seat"):
        issue_code(database, "sh-xujiahui", now=NOW)
    revoke(database, first.kiosk_id, now=NOW)
    code = issue_code(database, "sh-xujiahui", now=NOW)
    replacement = redeem_code(database, code, None, now=NOW)
    assert (replacement.budget_seat, replacement.budget_seats) == (0, 1)


def test_a_code_refused_for_a_full_store_stays_usable(database: Database) -> None:
    add_store(database, "sh-xujiahui", None, now=NOW, kiosk_seats=1)
    spare = issue_code(database, "sh-xujiahui", now=NOW)  # issued while a seat was free
    first = redeem_code(database, issue_code(database, "sh-xujiahui", now=NOW), None, now=NOW)
    with pytest.raises(StoreFull):
        redeem_code(database, spare, None, now=NOW)
    revoke(database, first.kiosk_id, now=NOW)
    assert redeem_code(database, spare, None, now=NOW).budget_seat == 0


def test_seats_change_only_while_no_kiosk_holds_one(database: Database) -> None:
    add_store(database, "sh-xujiahui", None, now=NOW, kiosk_seats=1)
    kiosk = redeem_code(database, issue_code(database, "sh-xujiahui", now=NOW), None, now=NOW)
    with pytest.raises(SeatsInUse):
        set_kiosk_seats(database, "sh-xujiahui", 3)
    with database.read() as connection:
        assert connection.execute(select(stores.c.kiosk_seats)).scalar_one() == 1
    revoke(database, kiosk.kiosk_id, now=NOW)
    set_kiosk_seats(database, "sh-xujiahui", 3)
    again = redeem_code(database, issue_code(database, "sh-xujiahui", now=NOW), None, now=NOW)
    assert (again.budget_seat, again.budget_seats) == (0, 3)
    with pytest.raises(UnknownStore):
        set_kiosk_seats(database, "no-such-store", 2)
