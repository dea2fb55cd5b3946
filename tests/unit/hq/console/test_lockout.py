"""When a console account may be tried again after wrong passwords (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hq.console.lockout import FREE_ATTEMPTS, MAX_WAIT, locked_until, retry_after, wait_after

NOW = datetime(2026, 12, 6, 10, 0, tzinfo=UTC)


def test_five_wrong_passwords_are_free_then_each_doubles_the_wait() -> None:
    assert [wait_after(n) for n in range(FREE_ATTEMPTS)] == [timedelta(0)] * FREE_ATTEMPTS
    assert wait_after(5) == timedelta(seconds=30)
    assert wait_after(6) == timedelta(seconds=60)
    assert wait_after(7) == timedelta(seconds=120)


def test_the_wait_stops_growing_at_an_hour_however_many_tries() -> None:
    assert wait_after(12) == MAX_WAIT
    assert wait_after(10_000) == MAX_WAIT


def test_an_account_with_few_failures_is_never_locked() -> None:
    assert locked_until(4, NOW) is None
    assert retry_after(4, NOW, NOW) == timedelta(0)


def test_a_locked_account_opens_again_when_its_wait_is_over() -> None:
    assert retry_after(6, NOW, NOW + timedelta(seconds=59)) == timedelta(seconds=1)
    assert retry_after(6, NOW, NOW + timedelta(seconds=60)) == timedelta(0)
