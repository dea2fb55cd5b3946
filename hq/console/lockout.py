"""When a staff member may try their password again (pure: counts and `now` in, times out).

Five wrong passwords in a row are free (a typo, a caps lock); after that each
wrong one doubles the wait from 30 s, up to an hour. While locked the password
is not even checked, so guessing costs the wait whatever is typed. A right
password ends it all.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Final

FREE_ATTEMPTS: Final = 5
FIRST_WAIT: Final = timedelta(seconds=30)
MAX_WAIT: Final = timedelta(hours=1)
# An hour caps what a stranger can do to a colleague by typing their email wrongly on
# purpose; 30 s doubling reaches it after 7 more tries, about 2 hours of guessing for 12.


def wait_after(failures: int) -> timedelta:
    """How long the account waits after `failures` wrong passwords in a row."""
    if failures < FREE_ATTEMPTS:
        return timedelta(0)
    doublings = min(failures - FREE_ATTEMPTS, 20)  # 2**20 x 30 s is far past the cap
    wait: timedelta = FIRST_WAIT * (2**doublings)
    return min(wait, MAX_WAIT)


def locked_until(failures: int, last_failed_at: datetime | None) -> datetime | None:
    """The moment the account may be tried again; None when it is not locked at all."""
    wait = wait_after(failures)
    if last_failed_at is None or not wait:
        return None
    return last_failed_at + wait


def retry_after(failures: int, last_failed_at: datetime | None, now: datetime) -> timedelta:
    """Time left before the next try (zero when it may be tried now)."""
    until = locked_until(failures, last_failed_at)
    if until is None or until <= now:
        return timedelta(0)
    return until - now
