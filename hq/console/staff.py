"""HQ staff accounts: who may sign in to the console, with which role, for which stores.

An account is an email (the sign-in name, kept lowercased), a name shown in the
console and the audit log, a role, an Argon2id password hash (argon2-cffi) and,
for a store manager, a set of stores. Accounts are disabled, never deleted: the
audit log keeps naming who did what.

`sign_in` decides with `hq.console.lockout` and records the outcome in the same
transaction as the counters it moves. Nothing here logs or raises an email or a
password; the audit log names staff by number.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final

import argon2
from sqlalchemy import Connection, Row, func, select, update
from sqlalchemy.exc import IntegrityError

from hq import audit
from hq.console import lockout
from hq.db import Database, console_staff, console_staff_stores, stores
from hq.errors import HqError, UnknownStore

MIN_PASSWORD_LENGTH: Final = 12
# Long beats clever: NIST SP 800-63B asks for at least 8 and no composition rules;
# 12 keeps a password out of reach of offline guessing even if a hash leaked.
MAX_PASSWORD_LENGTH: Final = 256  # Argon2 takes any length; this bounds the work per try
NAME_MAX: Final = 100
EMAIL_MAX: Final = 254
_EMAIL: Final = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class Role(enum.StrEnum):
    """What a member of HQ staff does in the console (permissions.py says what each may)."""

    CHAIN_ADMIN = "chain_admin"  # everything, staff accounts and the audit log included
    CONTENT_EDITOR = "content_editor"  # publishes and rolls back for any target
    STORE_MANAGER = "store_manager"  # sees and publishes to their own stores only


ROLE_LABELS: Final = {
    Role.CHAIN_ADMIN: "Chain admin",
    Role.CONTENT_EDITOR: "Content editor",
    Role.STORE_MANAGER: "Store manager",
}


@dataclass(frozen=True, slots=True)
class Staff:
    """A member of HQ staff: the actor behind every console request."""

    staff_id: int
    email: str = field(repr=False)
    name: str = field(repr=False)
    role: Role
    stores: frozenset[str] = frozenset()
    disabled: bool = False
    session_epoch: int = 1

    @property
    def actor(self) -> str:
        """How the audit log names them (a number, not personal data)."""
        return f"staff:{self.staff_id}"


@dataclass(frozen=True, slots=True)
class StaffListing:
    """One row of `console-staff list` and the staff page."""

    staff: Staff
    created_at: datetime
    last_sign_in_at: datetime | None
    locked_until: datetime | None


class StaffError(HqError):
    """A staff account cannot be made or changed as asked (the message says why)."""


class UnknownStaff(StaffError, LookupError):
    def __init__(self) -> None:
        super().__init__("no staff account with that email")


class SignInRefusal(enum.StrEnum):
    WRONG = "wrong"  # unknown email, wrong password or a disabled account: one answer
    LOCKED = "locked"  # too many wrong passwords: wait


@dataclass(frozen=True, slots=True)
class SignInOutcome:
    staff: Staff | None  # signed in
    refusal: SignInRefusal | None = None
    retry_after: timedelta = timedelta(0)  # when locked


class PasswordHasher:
    """Argon2id hashes of staff passwords (argon2-cffi's recommended parameters)."""

    def __init__(self, hasher: argon2.PasswordHasher | None = None) -> None:
        self._hasher = hasher or argon2.PasswordHasher()
        # Checked against when the email is unknown, so that answer takes as long as
        # a wrong password and does not tell which emails have accounts.
        self._decoy = self._hasher.hash("not anybody's password")

    def hash(self, password: str) -> str:
        check_password(password)
        return self._hasher.hash(password)

    def verify(self, encoded: str | None, password: str) -> bool:
        try:
            return self._hasher.verify(encoded or self._decoy, password) and encoded is not None
        except argon2.exceptions.VerificationError:
            return False
        except argon2.exceptions.InvalidHashError:
            return False  # a damaged row: nobody signs in with it, nothing crashes


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise StaffError(f"a password has at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise StaffError(f"a password has at most {MAX_PASSWORD_LENGTH} characters")


def normalise_email(email: str) -> str:
    email = email.strip()
    if len(email) > EMAIL_MAX or not _EMAIL.match(email):
        raise StaffError("not an email address")
    return email.lower()


def add_staff(
    database: Database,
    hasher: PasswordHasher,
    *,
    email: str,
    name: str,
    role: Role,
    stores_managed: Collection[str],
    password: str,
    now: datetime,
    by: str,
) -> Staff:
    """A new account; a store manager needs at least one store, the others none."""
    email = normalise_email(email)
    name = " ".join(name.split())
    if not 1 <= len(name) <= NAME_MAX:
        raise StaffError(f"a name has 1 to {NAME_MAX} characters")
    managed = frozenset(stores_managed)
    if role is Role.STORE_MANAGER and not managed:
        raise StaffError("a store manager needs at least one store (--store)")
    if role is not Role.STORE_MANAGER and managed:
        raise StaffError("only store managers have stores; the other roles see every store")
    password_hash = hasher.hash(password)
    with database.write() as connection:
        for store_id in sorted(managed):
            if (
                connection.execute(
                    select(stores.c.store_id).where(stores.c.store_id == store_id)
                ).first()
                is None
            ):
                raise UnknownStore(store_id)
        try:
            staff_id = connection.execute(
                console_staff.insert()
                .values(
                    email=email,
                    name=name,
                    role=role.value,
                    password_hash=password_hash,
                    created_at=now,
                )
                .returning(console_staff.c.staff_id)
            ).scalar_one()
        except IntegrityError:
            raise StaffError("there is an account with that email already") from None
        if managed:
            connection.execute(
                console_staff_stores.insert(),
                [{"staff_id": staff_id, "store_id": store_id} for store_id in sorted(managed)],
            )
        added = Staff(staff_id, email, name, role, managed)
        audit.record(
            connection,
            by,
            "staff.add",
            added.actor,
            {"role": role.value, "stores": sorted(managed)},
            at=now,
        )
    return added


def disable_staff(database: Database, email: str, *, now: datetime, by: str) -> Staff:
    """Nobody signs in as them any more, and their open sessions end at once."""
    email = normalise_email(email)
    with database.write() as connection:
        row = connection.execute(
            select(console_staff).where(console_staff.c.email == email)
        ).first()
        if row is None:
            raise UnknownStaff()
        connection.execute(
            update(console_staff)
            .where(console_staff.c.staff_id == row.staff_id)
            .values(
                disabled_at=func.coalesce(console_staff.c.disabled_at, now),
                session_epoch=console_staff.c.session_epoch + 1,
            )
        )
        disabled = find_staff(connection, row.staff_id)
        assert disabled is not None
        audit.record(connection, by, "staff.disable", disabled.actor, {}, at=now)
    return disabled


def list_staff(database: Database) -> list[StaffListing]:
    with database.read() as connection:
        rows = connection.execute(select(console_staff).order_by(console_staff.c.staff_id)).all()
        return [
            StaffListing(
                _staff(connection, row),
                row.created_at,
                row.last_sign_in_at,
                lockout.locked_until(row.failed_sign_ins, row.last_failed_at),
            )
            for row in rows
        ]


def find_staff(connection: Connection, staff_id: int) -> Staff | None:
    row = connection.execute(
        select(console_staff).where(console_staff.c.staff_id == staff_id)
    ).first()
    return None if row is None else _staff(connection, row)


def names_of(connection: Connection, staff_ids: Collection[int]) -> dict[int, str]:
    """Staff names for the audit log and release lists."""
    if not staff_ids:
        return {}
    rows = connection.execute(
        select(console_staff.c.staff_id, console_staff.c.name).where(
            console_staff.c.staff_id.in_(sorted(staff_ids))
        )
    ).all()
    return {row.staff_id: row.name for row in rows}


def sign_in(
    database: Database, hasher: PasswordHasher, email: str, password: str, *, now: datetime
) -> SignInOutcome:
    """Check a sign-in; counts a wrong password against the account, records the outcome.

    The password hash is checked outside the transaction (Argon2 takes a good part
    of a second, and the write lock is shared with the rest of HQ); the counters
    then move in one transaction, so two wrong passwords at once both count.
    """
    try:
        email = normalise_email(email)
    except StaffError:
        hasher.verify(None, password)
        return SignInOutcome(None, SignInRefusal.WRONG)
    with database.read() as connection:
        row = connection.execute(
            select(console_staff).where(console_staff.c.email == email)
        ).first()
    if row is None:
        hasher.verify(None, password)
        return SignInOutcome(None, SignInRefusal.WRONG)
    wait = lockout.retry_after(row.failed_sign_ins, row.last_failed_at, now)
    if wait:
        _record(database, row.staff_id, {"reason": "locked"}, now)
        return SignInOutcome(None, SignInRefusal.LOCKED, wait)
    right = hasher.verify(row.password_hash, password)
    with database.write() as connection:
        if right and row.disabled_at is None:
            connection.execute(
                update(console_staff)
                .where(console_staff.c.staff_id == row.staff_id)
                .values(failed_sign_ins=0, last_failed_at=None, last_sign_in_at=now)
            )
            staff = _staff(connection, row)
            audit.record(connection, staff.actor, "staff.sign_in", staff.actor, {}, at=now)
            return SignInOutcome(staff)
        if not right:
            failures = connection.execute(
                update(console_staff)
                .where(console_staff.c.staff_id == row.staff_id)
                .values(failed_sign_ins=console_staff.c.failed_sign_ins + 1, last_failed_at=now)
                .returning(console_staff.c.failed_sign_ins)
            ).scalar_one()
        else:
            failures = row.failed_sign_ins
        audit.record(
            connection,
            "anonymous",
            "staff.sign_in_refused",
            f"staff:{row.staff_id}",
            {"reason": "disabled" if right else "wrong_password", "failures": failures},
            at=now,
        )
    wait = lockout.retry_after(failures, now, now)
    if wait:
        return SignInOutcome(None, SignInRefusal.LOCKED, wait)
    return SignInOutcome(None, SignInRefusal.WRONG)


def _record(database: Database, staff_id: int, detail: dict[str, object], now: datetime) -> None:
    with database.write() as connection:
        audit.record(
            connection, "anonymous", "staff.sign_in_refused", f"staff:{staff_id}", detail, at=now
        )


def _staff(connection: Connection, row: Row[Any]) -> Staff:
    managed = connection.execute(
        select(console_staff_stores.c.store_id).where(
            console_staff_stores.c.staff_id == row.staff_id
        )
    ).scalars()
    return Staff(
        staff_id=row.staff_id,
        email=row.email,
        name=row.name,
        role=Role(row.role),
        stores=frozenset(managed),
        disabled=row.disabled_at is not None,
        session_epoch=row.session_epoch,
    )
