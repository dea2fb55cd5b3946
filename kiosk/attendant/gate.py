"""Who is signed in on this attendant device, the wrong-PIN lockout and the idle lock. No Qt.

A thin stateful holder around staff.py's pure rules, on an injected monotonic clock
so tests fix time. The lockout counts wrong PINs on this device for anyone: trying
one colleague after another is no cheaper.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from kiosk.attendant.staff import (
    IDLE_LOCK_S,
    Action,
    PinGuard,
    PinHasher,
    SignInResult,
    StaffMember,
    StaffSession,
    idle_locked,
    permitted,
    sign_in,
    touched,
    wait_before_attempt,
)

log = logging.getLogger("kiosk.attendant.gate")


class StaffGate:
    def __init__(
        self,
        hasher: PinHasher,
        clock: Callable[[], float] = time.monotonic,
        idle_limit: float = IDLE_LOCK_S,
    ) -> None:
        self._hasher, self._clock, self._idle_limit = hasher, clock, idle_limit
        self.guard = PinGuard()
        self.session: StaffSession | None = None

    @property
    def member(self) -> StaffMember | None:
        return None if self.session is None else self.session.member

    def may(self, action: Action) -> bool:
        """The one question screens ask: may whoever is signed in do this?"""
        return self.session is not None and permitted(self.session.member.role, action)

    def try_pin(self, member: StaffMember, pin: str) -> SignInResult:
        result = sign_in(self.guard, member, pin, self._clock(), self._hasher)
        self.guard = result.guard
        if result.session is not None:
            self.session = result.session
        else:
            # Which member, not which PIN: the log must never help a guesser.
            log.info(
                "sign-in refused (%s), %d wrong in a row", result.refusal, result.guard.failures
            )
        return result

    def wait_s(self) -> float:
        """Seconds before the next PIN may be tried (0: now)."""
        return wait_before_attempt(self.guard, self._clock())

    def touch(self) -> None:
        """Any touch or key while signed in keeps the session open."""
        if self.session is not None and not idle_locked(
            self.session, self._clock(), self._idle_limit
        ):
            self.session = touched(self.session, self._clock())

    def idle_due(self) -> bool:
        return self.session is not None and idle_locked(
            self.session, self._clock(), self._idle_limit
        )

    def sign_out(self) -> StaffMember | None:
        member, self.session = self.member, None
        return member
