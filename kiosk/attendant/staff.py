"""Store staff on the attendant app: who they are, their PINs, what each role may do.

Everything that decides is a pure function of its inputs and `now` (a
`time.monotonic()` reading): the lockout after wrong PINs, the idle lock, the
role check. Only `PinHasher` does work (Argon2id), and it keeps no state.

The action log records which staff member did what and when; it never holds a
PIN, a PIN hash or anything about a shopper.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Final

import argon2

# Three tries forgive a slip of the finger; after that every wrong PIN doubles the wait
# from 30 s, capped at 15 min so a locked tablet is still usable within a shift.
FREE_ATTEMPTS: Final = 3
FIRST_LOCKOUT_S: Final = 30.0
MAX_LOCKOUT_S: Final = 15 * 60.0
# A tablet left on the counter locks itself after two minutes without a touch.
IDLE_LOCK_S: Final = 120.0
PIN_PATTERN: Final = re.compile(r"[0-9]{4,8}")


class Role(enum.StrEnum):
    ATTENDANT = "attendant"
    MANAGER = "manager"


class Action(enum.StrEnum):
    """What a staff member can do on the attendant app (the action log's words)."""

    SIGN_IN = "sign_in"
    SIGN_OUT = "sign_out"  # tapped, or the idle lock (detail "idle")
    VIEW_FEED = "view_feed"
    ACKNOWLEDGE = "acknowledge"
    REDEEM = "redeem"
    EDIT_PLANOGRAM = "edit_planogram"
    MANAGE_STAFF = "manage_staff"
    SET_THRESHOLDS = "set_thresholds"


_ATTENDANT_ACTIONS: Final = frozenset(
    {Action.SIGN_IN, Action.SIGN_OUT, Action.VIEW_FEED, Action.ACKNOWLEDGE, Action.REDEEM}
)
PERMISSIONS: Final[Mapping[Role, frozenset[Action]]] = {
    Role.ATTENDANT: _ATTENDANT_ACTIONS,
    Role.MANAGER: _ATTENDANT_ACTIONS
    | {Action.EDIT_PLANOGRAM, Action.MANAGE_STAFF, Action.SET_THRESHOLDS},
}


def permitted(role: Role, action: Action) -> bool:
    """The one question every screen asks before acting for a staff member."""
    return action in PERMISSIONS[role]


class StaffSource(enum.StrEnum):
    HQ = "hq"  # from the chain's staff list
    LOCAL = "local"  # created on this store's attendant by a store manager


@dataclass(frozen=True, slots=True)
class StaffMember:
    id: str
    display_name: str = field(repr=False)
    role: Role
    pin_hash: str = field(repr=False)
    source: StaffSource = StaffSource.HQ


def valid_pin(pin: str) -> bool:
    """4 to 8 digits: typed on the tablet's number pad."""
    return PIN_PATTERN.fullmatch(pin) is not None


class PinHasher:
    """Argon2id hashes of staff PINs (argon2-cffi's recommended parameters by default)."""

    def __init__(self, hasher: argon2.PasswordHasher | None = None) -> None:
        self._hasher = hasher or argon2.PasswordHasher()

    def hash(self, pin: str) -> str:
        if not valid_pin(pin):
            raise ValueError("a PIN is 4 to 8 digits")
        return self._hasher.hash(pin)

    def verify(self, member: StaffMember, pin: str) -> bool:
        try:
            return self._hasher.verify(member.pin_hash, pin)
        except argon2.exceptions.VerificationError:
            return False
        except argon2.exceptions.InvalidHashError:
            # A damaged record from HQ: nobody signs in with it, nothing crashes.
            return False


class NotPermitted(PermissionError):
    pass


def local_member(
    by: StaffMember,
    *,
    member_id: str,
    display_name: str,
    role: Role,
    pin: str,
    hasher: PinHasher,
) -> StaffMember:
    """A staff member a store manager adds on this attendant (HQ's list has not got them
    yet). Refused for anyone but a manager."""
    if not permitted(by.role, Action.MANAGE_STAFF):
        raise NotPermitted("only a store manager adds staff")
    return StaffMember(member_id, display_name, role, hasher.hash(pin), StaffSource.LOCAL)


# --- lockout after wrong PINs --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PinGuard:
    """Wrong PINs typed on this terminal since the last right one (for any staff member:
    guessing one colleague's PIN after another is no cheaper)."""

    failures: int = 0
    last_failure_at: float | None = None


def lockout_delay(failures: int) -> float:
    """How long the terminal waits after `failures` wrong PINs in a row."""
    if failures < FREE_ATTEMPTS:
        return 0.0
    # Computed in steps so a huge count cannot overflow a float power.
    doublings = min(failures - FREE_ATTEMPTS, 32)
    return min(FIRST_LOCKOUT_S * 2.0**doublings, MAX_LOCKOUT_S)


def wait_before_attempt(guard: PinGuard, now: float) -> float:
    """Seconds left before a PIN may be tried again (0 when it may)."""
    if guard.last_failure_at is None:
        return 0.0
    return max(0.0, guard.last_failure_at + lockout_delay(guard.failures) - now)


def after_failure(guard: PinGuard, now: float) -> PinGuard:
    return PinGuard(failures=guard.failures + 1, last_failure_at=now)


class SignInRefusal(enum.StrEnum):
    LOCKED_OUT = "locked_out"  # too many wrong PINs: wait
    WRONG_PIN = "wrong_pin"


@dataclass(frozen=True, slots=True)
class StaffSession:
    member: StaffMember
    last_activity: float


@dataclass(frozen=True, slots=True)
class SignInResult:
    guard: PinGuard
    session: StaffSession | None = None
    refusal: SignInRefusal | None = None
    wait_s: float = 0.0  # when locked out (or just locked out by this failure)


def sign_in(
    guard: PinGuard, member: StaffMember, pin: str, now: float, hasher: PinHasher
) -> SignInResult:
    """A staff member chose their tile and typed a PIN. While locked out the PIN is not
    even checked, so waiting is the only way forward."""
    wait = wait_before_attempt(guard, now)
    if wait > 0:
        return SignInResult(guard, refusal=SignInRefusal.LOCKED_OUT, wait_s=wait)
    if hasher.verify(member, pin):
        return SignInResult(PinGuard(), session=StaffSession(member, last_activity=now))
    failed = after_failure(guard, now)
    return SignInResult(
        failed, refusal=SignInRefusal.WRONG_PIN, wait_s=wait_before_attempt(failed, now)
    )


# --- idle lock -----------------------------------------------------------------------------


def idle_locked(session: StaffSession, now: float, limit: float = IDLE_LOCK_S) -> bool:
    return now - session.last_activity >= limit


def touched(session: StaffSession, now: float) -> StaffSession:
    """Any touch keeps the session open (a touch after the idle lock does not reopen it:
    callers check `idle_locked` first)."""
    return replace(session, last_activity=max(session.last_activity, now))


# --- action log ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ActionRecord:
    """One line of the attendant's action log: who did what, when, to what.

    `subject` names a thing of the store (an alert "kiosk:seq", a kiosk, a slot),
    never a shopper; `at` is the wall time the edge stamped when it wrote the line."""

    staff_id: str
    action: Action
    at: datetime
    subject: str | None = None
    after_s: float | None = None  # for acknowledgements: how long the alert waited
    detail: str | None = None  # the outcome in a word or two ("forged", "slot 3: A -> B")
