"""A provider's pace: a token bucket on a monotonic clock the caller passes in.

`take(now)` spends one token and says how long to wait before sending (0: at once);
tokens spent ahead of time make the next caller wait longer, so a burst drains at
`rate`. `hold(until)` stops sending until then: a provider's Retry-After.
"""

from __future__ import annotations


class TokenBucket:
    def __init__(self, rate: float, *, burst: float | None = None, now: float) -> None:
        if rate <= 0:
            raise ValueError("rate must be more than 0")
        self.rate = rate
        self.burst = max(1.0, rate if burst is None else burst)
        self._tokens = self.burst
        self._at = now
        self._held_until = now

    def take(self, now: float) -> float:
        """Spend a token; the seconds to wait before using it."""
        if now > self._at:
            self._tokens = min(self.burst, self._tokens + (now - self._at) * self.rate)
            self._at = now
        self._tokens -= 1.0
        wait = 0.0 if self._tokens >= 0 else -self._tokens / self.rate
        return max(wait, self._held_until - now)

    def hold(self, until: float) -> None:
        """Send nothing before `until` (a provider asked for a pause)."""
        self._held_until = max(self._held_until, until)
