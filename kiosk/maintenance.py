"""The maintenance screen's decisions and words. No Qt; time is a parameter.

Staff open it with the hidden gesture (kiosk/maintenance_gesture.py) and the store's
maintenance PIN. The PIN is kept as an Argon2id hash (the attendant's `PinHasher`) in
a 0600 file of the kiosk's 0700 data directory, set with `kiosk set-maintenance-pin`;
with no PIN set the gesture opens nothing. Wrong PINs lock the pad out for growing
times (the attendant's rules, kiosk/attendant/staff.py), and the screen closes itself
after two minutes without a touch (kiosk/maintenance_door.py).

What the screen shows about the kiosk comes from what the kiosk already holds: the
relay child's last sync and content status, the enrolment read at start, the release
on screen. A fob or BLE tag read while it is open shows as a short keyed hash, never
its id, and logs nobody in.
"""

from __future__ import annotations

import argparse
import getpass
import logging
import os
import secrets
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Final

from backend_client.member_file import tag_hash
from backend_client.private_files import PRIVATE_FILE, private_dir
from backend_client.status import ContentStatus, SyncState, SyncStatus
from content.model import Language
from devices.events import TagId
from kiosk.i18n import tr

if TYPE_CHECKING:
    from backend_client.credentials import Credentials
    from kiosk.attendant.staff import PinGuard, PinHasher, SignInResult

log = logging.getLogger("kiosk.maintenance")

PIN_FILE: Final = "maintenance-pin"
SHORT_HASH: Final = 8  # hex digits: enough to tell two fobs apart, useless to look one up


# --- the PIN -------------------------------------------------------------------------------


def load_pin_hash(data_dir: Path) -> str | None:
    """The stored PIN hash; None when none is set (the gesture then opens nothing)."""
    try:
        text = (data_dir / PIN_FILE).read_text(encoding="ascii").strip()
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as error:  # e.g. set by root, not the kiosk's user
        log.warning("maintenance PIN file unusable (%s): set it again", type(error).__name__)
        return None
    return text or None


def save_pin(data_dir: Path, pin: str, hasher: PinHasher) -> None:
    """Store `pin`'s hash, 0600 whatever the umask, replacing any earlier one at once."""
    hashed = hasher.hash(pin)  # ValueError for anything but 4 to 8 digits
    private_dir(data_dir)
    temporary = data_dir / f".{PIN_FILE}.{secrets.token_hex(4)}"
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, PRIVATE_FILE)
    try:
        os.fchmod(fd, PRIVATE_FILE)
        os.write(fd, hashed.encode("ascii") + b"\n")
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(temporary, data_dir / PIN_FILE)


def check_pin(
    guard: PinGuard, pin_hash: str, pin: str, now: float, hasher: PinHasher
) -> SignInResult:
    """The attendant's sign-in rules for the one maintenance PIN: while locked out the PIN
    is not even checked; each wrong one past the free tries doubles the wait."""
    from kiosk.attendant.staff import Role, StaffMember, sign_in  # noqa: PLC0415 - argon2

    staff = StaffMember("maintenance", "", Role.MANAGER, pin_hash)
    return sign_in(guard, staff, pin, now, hasher)


def set_pin_main(argv: Sequence[str], default_data_dir: Path) -> int:
    """`kiosk set-maintenance-pin [--data-dir DIR]`: the PIN from a prompt (twice) or,
    when stdin is not a terminal, its first line."""
    from kiosk.attendant.staff import PinHasher, valid_pin  # noqa: PLC0415 - argon2

    parser = argparse.ArgumentParser(
        prog="kiosk set-maintenance-pin",
        description="Set the PIN staff type after the hidden gesture (4 to 8 digits).",
    )
    parser.add_argument("--data-dir", type=Path, default=default_data_dir)
    args = parser.parse_args(argv)
    if sys.stdin.isatty():
        pin = getpass.getpass("New maintenance PIN (4-8 digits): ")
        if getpass.getpass("Again: ") != pin:
            print("The two PINs differ: nothing changed.", file=sys.stderr)
            return 1
    else:
        pin = sys.stdin.readline().strip()
    if not valid_pin(pin):
        print("A maintenance PIN is 4 to 8 digits: nothing changed.", file=sys.stderr)
        return 1
    save_pin(args.data_dir, pin, PinHasher())
    print(f"Maintenance PIN set in {args.data_dir / PIN_FILE}.")
    return 0


# --- device test ---------------------------------------------------------------------------


def led_sequence(slots: Iterable[int]) -> list[int]:
    """The slots to light one after the other (each off again before the next)."""
    return sorted(set(slots))


@dataclass(frozen=True, slots=True)
class TagReading:
    """A fob or BLE tag read while the maintenance screen is open: its short keyed hash."""

    kind: str  # devices.events.TagKind value
    reader: str
    short: str
    rssi: float | None
    at: float


def short_form(key: bytes, tag: TagId) -> str:
    """The first digits of the tag's keyed hash: what staff compare, never the id."""
    return tag_hash(key, tag)[:SHORT_HASH]


@dataclass(frozen=True, slots=True)
class TagsHeard:
    """Tag readings so far: the last fob, and each BLE tag's newest signal."""

    fob: TagReading | None = None
    ble: dict[str, TagReading] = field(default_factory=dict)


def heard(tags: TagsHeard, reading: TagReading) -> TagsHeard:
    if reading.kind == "rfid":
        return TagsHeard(reading, tags.ble)
    return TagsHeard(tags.fob, {**tags.ble, reading.short: reading})


# --- what the screen says ------------------------------------------------------------------


def ago(language: Language, then: datetime | None, now: datetime) -> str:
    """How long ago, in the unit a person reads at a glance."""
    if then is None:
        return tr(language, "maint.never")
    seconds = max(0, round((now - then).total_seconds()))
    if seconds < 120:  # two minutes still read best in seconds
        return tr(language, "maint.ago", seconds=seconds)
    if seconds < 2 * 3600:
        return tr(language, "maint.ago.minutes", minutes=seconds // 60)
    return tr(language, "maint.ago.hours", hours=seconds // 3600)


def network_lines(language: Language, sync: SyncStatus | None, now: datetime) -> list[str]:
    """HQ reachability as the relay child last reported it."""
    if sync is None:
        return [tr(language, "maint.net.no_report")]
    state = {
        SyncState.IDLE: "maint.net.idle",
        SyncState.SYNCING: "maint.net.syncing",
        SyncState.BACKING_OFF: "maint.net.backing_off",
        SyncState.UNAUTHORISED: "maint.net.unauthorised",
    }[sync.state]
    lines = [
        tr(language, state),
        tr(language, "maint.net.last_success", when=ago(language, sync.last_success, now)),
        tr(language, "maint.net.pending", pending=sync.pending, dead=sync.dead_letters),
    ]
    if sync.retry_in is not None:
        lines.append(tr(language, "maint.net.retry", seconds=round(sync.retry_in)))
    return lines


def enrolment_lines(language: Language, credentials: Credentials | None) -> list[str]:
    if credentials is None:
        return [tr(language, "maint.enrol.none")]
    return [
        tr(language, "maint.enrol.yes"),
        tr(language, "maint.enrol.ids", store=credentials.store_id, kiosk=credentials.kiosk_id),
        credentials.hq_url,
    ]


def content_lines(language: Language, shown: str | None, status: ContentStatus | None) -> list[str]:
    lines = [tr(language, "maint.content.active", release=shown or "—")]
    if status is None:
        return [*lines, tr(language, "maint.content.no_report")]
    staged = ", ".join(status.staged) or "—"
    lines.append(tr(language, "maint.content.staged", releases=staged))
    if status.downloading is not None:
        number, done, total = status.downloading
        percent = 0 if total <= 0 else min(100, done * 100 // total)
        lines.append(tr(language, "maint.content.downloading", release=number, percent=percent))
    if status.last_failure is not None:
        failed, reason = status.last_failure
        release = "—" if failed is None else str(failed)
        lines.append(tr(language, "maint.content.failure", release=release, reason=reason[:120]))
    return lines


def wait_text(language: Language, seconds: float) -> str:
    return tr(language, "maint.pin.locked", seconds=int(seconds + 0.999))
