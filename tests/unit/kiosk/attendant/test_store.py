"""attendant.sqlite: staff, the action log, resume points and thresholds survive a restart."""

from __future__ import annotations

import stat
from datetime import UTC, datetime
from pathlib import Path

import argon2
import pytest

from kiosk.attendant.model import AlertThresholds
from kiosk.attendant.staff import Action, ActionRecord, PinHasher, Role, StaffMember, StaffSource
from kiosk.attendant.store import STORE_FILE, AttendantStore, StaffError, open_store

HASHER = PinHasher(argon2.PasswordHasher(time_cost=1, memory_cost=64, parallelism=1))
NOW = datetime(2026, 12, 6, 8, 0, tzinfo=UTC)


def member(member_id: str, name: str, role: Role = Role.ATTENDANT) -> StaffMember:
    return StaffMember(member_id, name, role, HASHER.hash("4821"), StaffSource.LOCAL)


@pytest.fixture
def store(tmp_path: Path) -> AttendantStore:
    opened = open_store(tmp_path / "data")
    yield opened  # type: ignore[misc]
    opened.close()


@pytest.mark.usefixtures("no_umask")
def test_the_file_and_its_directory_are_private(tmp_path: Path) -> None:
    open_store(tmp_path / "data").close()
    assert stat.S_IMODE((tmp_path / "data").stat().st_mode) == 0o700
    assert stat.S_IMODE((tmp_path / "data" / STORE_FILE).stat().st_mode) == 0o600


def test_staff_and_their_pin_hashes_are_there_after_a_restart(tmp_path: Path) -> None:
    first = open_store(tmp_path)
    boss = member("st-1", "李店长", Role.MANAGER)
    first.add_staff(boss, by=None, at=NOW)
    first.add_staff(member("st-2", "王芳"), by="st-1", at=NOW)
    first.close()
    again = open_store(tmp_path)
    assert again.staff() == (boss, member_with_hash(again, "st-2"))
    assert HASHER.verify(again.staff()[0], "4821")
    again.close()


def member_with_hash(store: AttendantStore, member_id: str) -> StaffMember:
    return next(m for m in store.staff() if m.id == member_id)


def test_a_second_member_with_the_same_name_is_refused(store: AttendantStore) -> None:
    store.add_staff(member("st-1", "王芳"), by=None, at=NOW)
    with pytest.raises(StaffError, match="name_taken"):
        store.add_staff(member("st-2", "王芳"), by=None, at=NOW)


def test_the_last_store_manager_cannot_be_removed(store: AttendantStore) -> None:
    store.add_staff(member("st-1", "李店长", Role.MANAGER), by=None, at=NOW)
    store.add_staff(member("st-2", "王芳"), by="st-1", at=NOW)
    with pytest.raises(StaffError, match="last_manager"):
        store.remove_staff("st-1")
    store.remove_staff("st-2")
    assert [m.id for m in store.staff()] == ["st-1"]
    store.add_staff(member("st-3", "赵经理", Role.MANAGER), by="st-1", at=NOW)
    store.remove_staff("st-1")
    assert [m.id for m in store.staff()] == ["st-3"]


def test_the_action_log_reads_back_newest_first(store: AttendantStore) -> None:
    store.record(ActionRecord("st-1", Action.SIGN_IN, NOW))
    store.record(ActionRecord("st-1", Action.ACKNOWLEDGE, NOW, "k1:9", 12.5))
    store.record(ActionRecord("st-1", Action.REDEEM, NOW, "7K2M", None, "forged"))
    assert store.actions(2) == (
        ActionRecord("st-1", Action.REDEEM, NOW, "7K2M", None, "forged"),
        ActionRecord("st-1", Action.ACKNOWLEDGE, NOW, "k1:9", 12.5),
    )


def test_resume_points_keep_the_latest_seq_per_kiosk(store: AttendantStore) -> None:
    store.save_resume_points({"k1": 5, "k2": 9})
    store.save_resume_points({"k1": 7})
    assert store.resume_points() == {"k1": 7, "k2": 9}


def test_thresholds_default_until_a_manager_sets_them(store: AttendantStore) -> None:
    assert store.thresholds() == AlertThresholds()
    chosen = AlertThresholds(silence_s=90.0, device_down_s=120.0, low_score=1)
    store.save_thresholds(chosen)
    assert store.thresholds() == chosen
