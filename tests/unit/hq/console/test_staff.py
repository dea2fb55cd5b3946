"""HQ staff accounts: adding, disabling, signing in, the lockout kept in the database."""

from __future__ import annotations

from datetime import timedelta

import pytest
from helpers.console import CHEAP_HASHER, PASSWORD, ConsoleChain

from hq import audit
from hq.console.staff import (
    Role,
    SignInRefusal,
    StaffError,
    disable_staff,
    list_staff,
    sign_in,
)
from hq.errors import UnknownStore


def test_an_account_signs_in_with_its_email_in_any_case_and_its_password(
    chain: ConsoleChain,
) -> None:
    added = chain.add_staff("Ana.Li@HQ.example", Role.CONTENT_EDITOR)
    outcome = sign_in(
        chain.database, CHEAP_HASHER, " ana.li@hq.EXAMPLE ", PASSWORD, now=chain.clock()
    )
    assert outcome.staff is not None
    assert outcome.staff.staff_id == added.staff_id
    assert outcome.staff.email == "ana.li@hq.example"


def test_unknown_email_wrong_password_and_disabled_account_get_the_same_answer(
    chain: ConsoleChain,
) -> None:
    chain.add_staff("ana@hq.example", Role.CONTENT_EDITOR)
    chain.add_staff("bo@hq.example", Role.CONTENT_EDITOR)
    disable_staff(chain.database, "bo@hq.example", now=chain.clock(), by="test")
    answers = {
        sign_in(chain.database, CHEAP_HASHER, email, password, now=chain.clock()).refusal
        for email, password in [
            ("nobody@hq.example", PASSWORD),
            ("ana@hq.example", "wrong password!"),
            ("bo@hq.example", PASSWORD),
            ("not an email", PASSWORD),
        ]
    }
    assert answers == {SignInRefusal.WRONG}


def test_after_five_wrong_passwords_even_the_right_one_waits_then_works(
    chain: ConsoleChain,
) -> None:
    chain.add_staff("ana@hq.example", Role.CONTENT_EDITOR)
    for _ in range(4):
        refused = sign_in(
            chain.database, CHEAP_HASHER, "ana@hq.example", "nope nope nope", now=chain.clock()
        )
        assert refused.refusal is SignInRefusal.WRONG
    fifth = sign_in(
        chain.database, CHEAP_HASHER, "ana@hq.example", "nope nope nope", now=chain.clock()
    )
    assert fifth.refusal is SignInRefusal.LOCKED
    assert fifth.retry_after == timedelta(seconds=30)
    locked = sign_in(chain.database, CHEAP_HASHER, "ana@hq.example", PASSWORD, now=chain.clock())
    assert locked.refusal is SignInRefusal.LOCKED
    (listed,) = list_staff(chain.database)
    assert listed.locked_until == chain.clock() + timedelta(seconds=30)

    chain.clock.advance(timedelta(seconds=30))
    assert sign_in(
        chain.database, CHEAP_HASHER, "ana@hq.example", PASSWORD, now=chain.clock()
    ).staff
    # A right password clears the count: the next slip is free again.
    again = sign_in(
        chain.database, CHEAP_HASHER, "ana@hq.example", "nope nope nope", now=chain.clock()
    )
    assert again.refusal is SignInRefusal.WRONG


def test_the_audit_log_records_accounts_and_sign_ins_by_number_never_by_email(
    chain: ConsoleChain,
) -> None:
    added = chain.add_staff("ana@hq.example", Role.STORE_MANAGER, ["sh-xujiahui"])
    sign_in(chain.database, CHEAP_HASHER, "ana@hq.example", "wrong password", now=chain.clock())
    sign_in(chain.database, CHEAP_HASHER, "ana@hq.example", PASSWORD, now=chain.clock())
    disable_staff(chain.database, "ana@hq.example", now=chain.clock(), by="cli:root")
    lines = [
        (entry.actor, entry.action, entry.target)
        for entry in reversed(audit.recent(chain.database))
    ]
    me = f"staff:{added.staff_id}"
    assert lines[-4:] == [
        ("test", "staff.add", me),
        ("anonymous", "staff.sign_in_refused", me),
        (me, "staff.sign_in", me),
        ("cli:root", "staff.disable", me),
    ]
    assert all("ana@" not in repr(entry.as_json()) for entry in audit.recent(chain.database))


@pytest.mark.parametrize(
    ("role", "stores", "password", "problem"),
    [
        (Role.STORE_MANAGER, [], PASSWORD, "needs at least one store"),
        (Role.CONTENT_EDITOR, ["sh-xujiahui"], PASSWORD, "only store managers have stores"),
        (Role.CONTENT_EDITOR, [], "short", "at least 12 characters"),
    ],
)
def test_an_account_that_makes_no_sense_is_refused_with_the_reason(
    chain: ConsoleChain, role: Role, stores: list[str], password: str, problem: str
) -> None:
    with pytest.raises(StaffError, match=problem):
        chain.add_staff("ana@hq.example", role, stores, password)
    assert list_staff(chain.database) == []


def test_a_store_manager_of_an_unknown_store_is_refused(chain: ConsoleChain) -> None:
    with pytest.raises(UnknownStore):
        chain.add_staff("ana@hq.example", Role.STORE_MANAGER, ["nowhere"])
    assert list_staff(chain.database) == []


def test_two_accounts_with_one_email_are_refused(chain: ConsoleChain) -> None:
    chain.add_staff("ana@hq.example", Role.CONTENT_EDITOR)
    with pytest.raises(StaffError, match="already"):
        chain.add_staff("ANA@hq.example", Role.CHAIN_ADMIN)


def test_disabling_moves_the_session_epoch_on(chain: ConsoleChain) -> None:
    added = chain.add_staff("ana@hq.example", Role.CONTENT_EDITOR)
    disabled = disable_staff(chain.database, "ana@hq.example", now=chain.clock(), by="test")
    assert disabled.disabled
    assert disabled.session_epoch == added.session_epoch + 1
