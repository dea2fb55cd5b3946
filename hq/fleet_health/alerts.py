"""The fleet's alert rules: pure functions of each kiosk's last heartbeat and `now`.

    wanted = conditions(beats, now)              # the alerts that should be open
    change = reconcile(open_alerts, wanted)      # what to raise, what to clear

A kiosk is *silent* when its last heartbeat is older than `silent_after` (150 s: it
sends one a minute, so two missed and a slow network are not yet silence, and the
sweep every 30 s raises it within 3 minutes). Its other alerts come from what that
heartbeat said: a device not up, an outbox backlog or dead letters at a threshold, a
disk running out. A silent kiosk keeps those as last heard: nothing says they ended.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

SILENT_AFTER: Final = timedelta(seconds=150)
BACKLOG_ALERT: Final = 5_000
# Records waiting in a kiosk's outbox: a busy hour's worth. A kiosk offline for the
# lunch hour catches up by itself; one that cannot send all afternoon needs a person.
DEAD_LETTERS_ALERT: Final = 1  # a record HQ refused for good is always worth a look
LOW_DISK_BYTES: Final = 1 << 30
# Under 1 GiB free, the next content release (videos) may not fit: its download fails.
FAILED_STATES: Final = frozenset({"down", "reconnecting"})
# "unknown": the kiosk has not heard from the device yet (just started); not a failure.


class AlertKind(enum.StrEnum):
    SILENT = "silent"
    DEVICE = "device"
    BACKLOG = "backlog"
    DEAD_LETTERS = "dead_letters"
    DISK = "disk"


@dataclass(frozen=True, slots=True)
class Thresholds:
    silent_after: timedelta = SILENT_AFTER
    backlog: int = BACKLOG_ALERT
    dead_letters: int = DEAD_LETTERS_ALERT
    low_disk_bytes: int = LOW_DISK_BYTES


DEFAULT_THRESHOLDS: Final = Thresholds()


@dataclass(frozen=True, slots=True)
class DeviceState:
    name: str  # pickup, rfid, ble...
    state: str  # up, down, reconnecting, unknown
    detail: str = ""


@dataclass(frozen=True, slots=True)
class Beat:
    """A kiosk's last heartbeat, as the rules read it."""

    kiosk_id: str
    store_id: str
    received_at: datetime
    devices: tuple[DeviceState, ...] = ()
    backlog: int = 0
    dead_letters: int = 0
    disk_free: int | None = None


@dataclass(frozen=True, slots=True)
class Condition:
    """An alert that should be open: since when, and what to tell staff."""

    kiosk_id: str
    store_id: str
    kind: AlertKind
    subject: str  # the device of a DEVICE alert; else ""
    detail: str
    since: datetime

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.kiosk_id, self.kind.value, self.subject)


@dataclass(frozen=True, slots=True)
class OpenAlert:
    """An alert raised and not cleared, as stored."""

    alert_id: int
    kiosk_id: str
    kind: str
    subject: str

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.kiosk_id, self.kind, self.subject)


@dataclass(frozen=True, slots=True)
class Reconciled:
    raise_: tuple[Condition, ...]
    clear: tuple[OpenAlert, ...]


def conditions_of(
    beat: Beat, now: datetime, thresholds: Thresholds = DEFAULT_THRESHOLDS
) -> list[Condition]:
    """The alerts `beat` calls for at `now`."""

    def condition(
        kind: AlertKind, detail: str, subject: str = "", since: datetime | None = None
    ) -> Condition:
        return Condition(
            beat.kiosk_id, beat.store_id, kind, subject, detail, since or beat.received_at
        )

    found: list[Condition] = []
    silent_since = beat.received_at + thresholds.silent_after
    if now > silent_since:
        found.append(
            condition(
                AlertKind.SILENT,
                f"no heartbeat for {_duration(now - beat.received_at)}",
                since=silent_since,
            )
        )
    for device in beat.devices:
        if device.state in FAILED_STATES:
            said = f": {device.detail}" if device.detail else ""
            found.append(
                condition(AlertKind.DEVICE, f"{device.name} {device.state}{said}", device.name)
            )
    if beat.backlog >= thresholds.backlog:
        found.append(condition(AlertKind.BACKLOG, f"{beat.backlog} records waiting to sync"))
    if beat.dead_letters >= thresholds.dead_letters:
        found.append(
            condition(
                AlertKind.DEAD_LETTERS, f"{beat.dead_letters} records HQ refused (dead letters)"
            )
        )
    if beat.disk_free is not None and beat.disk_free < thresholds.low_disk_bytes:
        found.append(condition(AlertKind.DISK, f"{beat.disk_free // (1 << 20)} MB free"))
    return found


def conditions(
    beats: Iterable[Beat], now: datetime, thresholds: Thresholds = DEFAULT_THRESHOLDS
) -> list[Condition]:
    """The alerts the kiosks' last heartbeats call for at `now`."""
    return [found for beat in beats for found in conditions_of(beat, now, thresholds)]


def reconcile(open_alerts: Sequence[OpenAlert], wanted: Sequence[Condition]) -> Reconciled:
    """What to raise (wanted, not open) and what to clear (open, no longer wanted).

    The caller passes the open alerts of the kiosks it evaluated (one kiosk on its
    heartbeat, every kiosk in a sweep): an open alert of a kiosk not among `wanted`'s
    is cleared, so a sweep also clears the alerts of kiosks revoked since."""
    open_keys = {alert.key for alert in open_alerts}
    wanted_keys = {condition.key for condition in wanted}
    return Reconciled(
        tuple(condition for condition in wanted if condition.key not in open_keys),
        tuple(alert for alert in open_alerts if alert.key not in wanted_keys),
    )


class KioskState(enum.StrEnum):
    """The badge a kiosk wears on the fleet page."""

    OK = "ok"
    TROUBLE = "trouble"  # heard from, with something wrong
    SILENT = "silent"  # not heard from for `silent_after`
    NEVER = "never"  # no heartbeat yet (enrolled, not installed, or an older kiosk version)


def kiosk_state(beat: Beat | None, found: Sequence[Condition]) -> KioskState:
    if beat is None:
        return KioskState.NEVER
    if any(condition.kind is AlertKind.SILENT for condition in found):
        return KioskState.SILENT
    return KioskState.TROUBLE if found else KioskState.OK


class Filter(enum.StrEnum):
    """The fleet page's and `kiosk-hq fleet`'s filters."""

    ALL = "all"
    TROUBLE = "trouble"  # anything but OK, silence included
    SILENT = "silent"  # silent, or never heard from
    DEVICE = "device"  # a device failed
    BACKLOG = "backlog"  # a backlog or dead letters


def shown(state: KioskState, found: Sequence[Condition], wanted: Filter) -> bool:
    """Whether a kiosk in `state` with alerts `found` passes filter `wanted`."""
    kinds = {condition.kind for condition in found}
    match wanted:
        case Filter.ALL:
            return True
        case Filter.TROUBLE:
            return state is not KioskState.OK
        case Filter.SILENT:
            return state in {KioskState.SILENT, KioskState.NEVER}
        case Filter.DEVICE:
            return AlertKind.DEVICE in kinds
        case Filter.BACKLOG:
            pass
    return bool(kinds & {AlertKind.BACKLOG, AlertKind.DEAD_LETTERS})  # Filter.BACKLOG


def _duration(span: timedelta) -> str:
    seconds = int(span.total_seconds())
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 2 * 3600:
        return f"{seconds // 60} min"
    if seconds < 2 * 86400:
        return f"{seconds // 3600} h"
    return f"{seconds // 86400} days"
