"""The relay's timing decisions: full-jitter backoff, Retry-After, and the two combined."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backend_client.sync import (
    DEFAULT_MAX_DELAY,
    RETRY_AFTER_LIMIT,
    full_jitter_delay,
    retry_after_seconds,
    retry_delay,
)

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


class FixedDraw(random.Random):
    """A random source whose every draw is `value`, to pin a jitter at its edges."""

    def __init__(self, value: float) -> None:
        super().__init__(0)
        self.value = value

    def random(self) -> float:
        return self.value


attempts = st.integers(min_value=0, max_value=5000)
bases = st.floats(min_value=0.001, max_value=100.0)
caps = st.floats(min_value=0.0, max_value=10_000.0)
draws = st.floats(min_value=0.0, max_value=1.0, exclude_max=True)
aware_times = st.datetimes(
    min_value=datetime(1971, 1, 1), max_value=datetime(9000, 1, 1), timezones=st.just(UTC)
)


def window(attempt: int, base: float, cap: float) -> float:
    """min(cap, base * 2**attempt), in exact integers for the exponent."""
    return cap if attempt > 64 else min(cap, base * 2**attempt)


# --- full jitter ------------------------------------------------------------------


@given(attempt=attempts, base=bases, cap=caps, seed=st.integers())
def test_full_jitter_stays_within_its_window(
    attempt: int, base: float, cap: float, seed: int
) -> None:
    delay = full_jitter_delay(attempt, base=base, cap=cap, rng=random.Random(seed))

    assert 0.0 <= delay <= window(attempt, base, cap)


@given(attempt=attempts, base=bases, cap=caps)
def test_full_jitter_reaches_both_ends_of_the_window(attempt: int, base: float, cap: float) -> None:
    assert full_jitter_delay(attempt, base=base, cap=cap, rng=FixedDraw(0.0)) == 0.0
    highest = full_jitter_delay(attempt, base=base, cap=cap, rng=FixedDraw(0.999999))
    assert highest == pytest.approx(window(attempt, base, cap), rel=1e-5)


@given(attempt=attempts, base=bases, cap=caps, draw=draws)
def test_the_window_never_shrinks_as_attempts_grow(
    attempt: int, base: float, cap: float, draw: float
) -> None:
    rng = FixedDraw(draw)

    assert full_jitter_delay(attempt + 1, base=base, cap=cap, rng=rng) >= full_jitter_delay(
        attempt, base=base, cap=cap, rng=rng
    )


def test_the_window_doubles_from_base_until_the_cap() -> None:
    top = FixedDraw(0.999999)
    ceilings = [
        round(full_jitter_delay(n, base=1.0, cap=DEFAULT_MAX_DELAY, rng=top)) for n in range(12)
    ]

    assert ceilings == [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 900, 900]


def test_negative_inputs_are_refused() -> None:
    with pytest.raises(ValueError, match=">= 0"):
        full_jitter_delay(-1, base=1.0, cap=1.0, rng=random.Random())


# --- Retry-After ------------------------------------------------------------------


@given(seconds=st.integers(min_value=-(10**6), max_value=10**12))
def test_delta_seconds_are_read_and_negative_means_now(seconds: int) -> None:
    assert retry_after_seconds(str(seconds), NOW) == max(0, seconds)
    assert retry_after_seconds(f"  {seconds} ", NOW) == max(0, seconds)


@given(moment=aware_times, now=aware_times)
def test_an_http_date_is_seconds_from_now_or_zero_if_past(moment: datetime, now: datetime) -> None:
    header = format_datetime(moment, usegmt=True)  # whole seconds on the wire

    expected = max(0.0, (moment.replace(microsecond=0) - now).total_seconds())
    assert retry_after_seconds(header, now) == pytest.approx(expected)


@given(header=st.text())
def test_any_header_gives_none_or_a_non_negative_wait(header: str) -> None:
    seconds = retry_after_seconds(header, NOW)

    assert seconds is None or seconds >= 0


@pytest.mark.parametrize(
    "header",
    [None, "", "soon", "1.5", "+5", "1e3", "٣", "Wed, 21 Oct 2015 99:28:00 GMT", "Mon, 99"],
)
def test_garbage_is_no_retry_after(header: str | None) -> None:
    assert retry_after_seconds(header, NOW) is None


def test_an_http_date_in_other_spellings() -> None:
    assert retry_after_seconds("Mon, 23 Nov 2026 09:02:00 GMT", NOW) == 120.0
    assert retry_after_seconds("Mon, 23 Nov 2026 17:02:00 +0800", NOW) == 120.0
    assert retry_after_seconds("Mon, 23 Nov 2026 09:02:00 -0000", NOW) == 120.0
    assert retry_after_seconds("Sun, 22 Nov 2026 09:00:00 GMT", NOW) == 0.0


def test_an_absurdly_long_number_is_a_very_long_wait() -> None:
    assert retry_after_seconds("9" * 400, NOW) == float("inf")


# --- the delay rule ---------------------------------------------------------------


@given(
    attempt=attempts,
    retry_after=st.none() | st.floats(min_value=0.0, max_value=1e12),
    base=bases,
    cap=caps,
    seed=st.integers(),
)
def test_never_sooner_than_retry_after_and_otherwise_full_jitter(
    attempt: int, retry_after: float | None, base: float, cap: float, seed: int
) -> None:
    delay = retry_delay(attempt, retry_after, base=base, cap=cap, rng=random.Random(seed))

    jitter = full_jitter_delay(attempt, base=base, cap=cap, rng=random.Random(seed))
    if retry_after is None:
        assert delay == jitter
    else:
        floor = min(retry_after, RETRY_AFTER_LIMIT)
        assert delay == max(jitter, floor)
        assert delay >= floor


def test_a_retry_after_beyond_an_hour_is_honoured_for_an_hour() -> None:
    delay = retry_delay(0, timedelta(days=30).total_seconds(), base=1, cap=900, rng=FixedDraw(0.5))

    assert delay == RETRY_AFTER_LIMIT
