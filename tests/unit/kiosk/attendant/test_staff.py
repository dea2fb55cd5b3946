"""Staff sign-in, lockout, idle lock and roles: pure functions fed times by hand."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import argon2
import pytest
from hypothesis import given
from hypothesis import strategies as st

from kiosk.attendant.staff import (
    FIRST_LOCKOUT_S,
    IDLE_LOCK_S,
    MAX_LOCKOUT_S,
    Action,
    ActionRecord,
    NotPermitted,
    PinGuard,
    PinHasher,
    Role,
    SignInRefusal,
    StaffMember,
    StaffSession,
    StaffSource,
    idle_locked,
    local_member,
    lockout_delay,
    permitted,
    sign_in,
    touched,
    valid_pin,
    wait_before_attempt,
)

# Cheap parameters keep the tests quick; the app uses argon2-cffi's defaults.
HASHER = PinHasher(argon2.PasswordHasher(time_cost=1, memory_cost=64, parallelism=1))
LI = StaffMember("staff-7", "Li Wei", Role.ATTENDANT, HASHER.hash("4821"))


def test_right_pin_opens_a_session_and_clears_earlier_failures() -> None:
    guard = PinGuard(failures=2, last_failure_at=10.0)
    result = sign_in(guard, LI, "4821", 11.0, HASHER)
    assert result.session == StaffSession(LI, last_activity=11.0)
    assert result.guard == PinGuard()


def test_wrong_pin_is_refused() -> None:
    result = sign_in(PinGuard(), LI, "4822", 0.0, HASHER)
    assert result.session is None
    assert result.refusal is SignInRefusal.WRONG_PIN
    assert result.guard.failures == 1


def test_a_damaged_hash_refuses_instead_of_crashing() -> None:
    broken = dataclasses.replace(LI, pin_hash="not-a-hash")
    assert sign_in(PinGuard(), broken, "4821", 0.0, HASHER).refusal is SignInRefusal.WRONG_PIN


def test_pins_are_stored_as_argon2id_hashes_and_never_shown() -> None:
    assert LI.pin_hash.startswith("$argon2id$")
    assert "4821" not in LI.pin_hash
    assert LI.pin_hash not in repr(LI)
    assert "Li Wei" not in repr(LI)


@pytest.mark.parametrize("pin", ["123", "123456789", "12a4", "", "١٢٣٤"])
def test_a_pin_is_four_to_eight_ascii_digits(pin: str) -> None:
    assert not valid_pin(pin)
    with pytest.raises(ValueError, match="4 to 8 digits"):
        HASHER.hash(pin)


def test_three_wrong_pins_lock_the_terminal_even_for_the_right_pin() -> None:
    guard = PinGuard()
    for now in (0.0, 1.0, 2.0):
        guard = sign_in(guard, LI, "0000", now, HASHER).guard
    assert wait_before_attempt(guard, 2.0) == FIRST_LOCKOUT_S
    assert sign_in(PinGuard(2, 1.0), LI, "0000", 2.0, HASHER).wait_s == FIRST_LOCKOUT_S
    assert sign_in(guard, LI, "4821", 31.5, HASHER).refusal is SignInRefusal.LOCKED_OUT
    locked = sign_in(guard, LI, "4821", 20.0, HASHER)
    assert locked.refusal is SignInRefusal.LOCKED_OUT
    assert locked.wait_s == pytest.approx(12.0)
    assert locked.guard == guard  # tries while locked do not count
    assert sign_in(guard, LI, "4821", 32.0, HASHER).session is not None


def test_lockout_doubles_with_each_further_wrong_pin_up_to_the_cap() -> None:
    assert [lockout_delay(n) for n in range(1, 8)] == [0, 0, 30, 60, 120, 240, 480]
    assert lockout_delay(8) == MAX_LOCKOUT_S
    assert lockout_delay(10**6) == MAX_LOCKOUT_S


@given(st.integers(0, 10**9), st.integers(0, 10**9))
def test_lockout_never_shrinks_and_never_exceeds_the_cap(a: int, b: int) -> None:
    fewer, more = sorted((a, b))
    assert 0 <= lockout_delay(fewer) <= lockout_delay(more) <= MAX_LOCKOUT_S


def test_idle_lock_after_two_minutes_without_a_touch() -> None:
    session = StaffSession(LI, last_activity=100.0)
    assert not idle_locked(session, 100.0 + IDLE_LOCK_S - 0.5)
    assert idle_locked(session, 100.0 + IDLE_LOCK_S)
    assert not idle_locked(touched(session, 200.0), 100.0 + IDLE_LOCK_S)


def test_attendants_run_the_floor_and_managers_also_run_the_store() -> None:
    for action in (Action.VIEW_FEED, Action.ACKNOWLEDGE, Action.REDEEM):
        assert permitted(Role.ATTENDANT, action)
        assert permitted(Role.MANAGER, action)
    for action in (Action.EDIT_PLANOGRAM, Action.MANAGE_STAFF, Action.SET_THRESHOLDS):
        assert not permitted(Role.ATTENDANT, action)
        assert permitted(Role.MANAGER, action)


def test_an_action_record_names_the_staff_member_not_their_pin() -> None:
    record = ActionRecord("staff-7", Action.ACKNOWLEDGE, datetime.now(UTC), "k3:9", 12.5)
    assert set(dataclasses.asdict(record)) == {
        "staff_id",
        "action",
        "at",
        "subject",
        "after_s",
        "detail",
    }


def test_a_store_manager_adds_staff_locally_with_their_own_pin() -> None:
    boss = StaffMember("boss-1", "Zhang Min", Role.MANAGER, HASHER.hash("9130"))
    new = local_member(
        boss,
        member_id="staff-9",
        display_name="Chen Jie",
        role=Role.ATTENDANT,
        pin="5077",
        hasher=HASHER,
    )
    assert (new.id, new.display_name, new.role) == ("staff-9", "Chen Jie", Role.ATTENDANT)
    assert new.source is StaffSource.LOCAL
    assert sign_in(PinGuard(), new, "5077", 0.0, HASHER).session is not None


def test_an_attendant_cannot_add_staff() -> None:
    with pytest.raises(NotPermitted):
        local_member(
            LI,
            member_id="staff-9",
            display_name="Chen Jie",
            role=Role.MANAGER,
            pin="5077",
            hasher=HASHER,
        )


def test_the_app_hashes_with_argon2id_defaults() -> None:
    hasher = PinHasher()
    member = StaffMember("staff-1", "Wang Fang", Role.MANAGER, hasher.hash("27182818"))
    assert member.pin_hash.startswith("$argon2id$")
    assert hasher.verify(member, "27182818")
    assert not hasher.verify(member, "27182819")
