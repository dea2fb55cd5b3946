"""Typed events that device drivers hand to the rest of the system.

Drivers convert raw bytes into these frozen values as soon as they arrive;
nothing past a driver ever sees a protocol line or a library object. Every
event carries `at`, the `time.monotonic()` reading taken when the driver
received it, so latency can be measured end to end.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


class AlarmReason(enum.StrEnum):
    """Why a cabinet slot raised an alarm (wire words in docs/protocols.md)."""

    CABLE_CUT = "CABLE"
    PUCK_REMOVED = "PUCK"
    OTHER = "OTHER"


class HealthStatus(enum.StrEnum):
    UP = "up"
    DOWN = "down"
    RECONNECTING = "reconnecting"


@dataclass(frozen=True, slots=True)
class Lifted:
    """A demo phone left its slot. `resync` is True when inferred from a STATE line."""

    slot: int
    at: float
    resync: bool = False


@dataclass(frozen=True, slots=True)
class Dropped:
    """A demo phone is back on its slot."""

    slot: int
    at: float
    resync: bool = False


@dataclass(frozen=True, slots=True)
class Alarm:
    """The security cable of a slot was cut or its puck removed."""

    slot: int
    reason: AlarmReason
    at: float


@dataclass(frozen=True, slots=True)
class DeviceHealth:
    """A device's link changed state; `detail` is safe to log (no personal data)."""

    device: str
    status: HealthStatus
    at: float
    detail: str = ""


@dataclass(frozen=True, slots=True)
class Unreadable:
    """A device sent input its parser rejected (a loose connector, a wrong baud rate):
    one event at the first bad line of a run, however long the run. `reason` is the
    parser's reject reason, never the bytes (an RFID frame is most of a card number)."""

    device: str
    reason: str
    at: float


class TagKind(enum.StrEnum):
    RFID = "rfid"  # a 125 kHz key-fob (EM4100 family)
    IBEACON = "ibeacon"
    EDDYSTONE = "eddystone"  # Eddystone-UID
    MANUFACTURER = "mfr"  # manufacturer data of the configured company id


@dataclass(frozen=True, slots=True)
class TagId:
    """The identity of a member's fob or tag, in one canonical text per kind.

    The value follows a person around, so it is personal data: it is never
    logged, stored or traced; `repr` and `str` hide it. Recognition turns it into
    a keyed hash at once (`canonical` is what gets hashed). Canonical values:

    - rfid: the card number, the low 32 bits of the EM4100 id, as ten decimal
      digits ("0012345678"): what RDM6300 frames, hex line readers and keyboard
      wedges that print decimal all agree on.
    - ibeacon: "<uuid lower-case with dashes>:<major>:<minor>" (decimal).
    - eddystone: "<namespace, 20 hex>:<instance, 12 hex>" (lower-case).
    - mfr: "<company id, 4 hex>:<payload hex>" (lower-case).
    """

    kind: TagKind
    value: str = field(repr=False)

    @property
    def canonical(self) -> str:
        return f"{self.kind.value}:{self.value}"

    def __str__(self) -> str:
        return f"TagId({self.kind.value}, <hidden>)"


@dataclass(frozen=True, slots=True)
class TagSeen:
    """A tag is at a reader: a fob was read, or a BLE tag came within range.

    `reader` names the reader ("rfid", "rfid-wedge", "ble"); `rssi` is the smoothed
    signal (dBm) for BLE."""

    tag: TagId
    reader: str
    at: float
    rssi: float | None = None


@dataclass(frozen=True, slots=True)
class TagAway:
    """A BLE tag left: below the exit threshold, or silent past its away timeout."""

    tag: TagId
    reader: str
    at: float


@dataclass(frozen=True, slots=True)
class Printed:
    """The receipt printer finished a ticket job: `ok`, or why not (`reason`: a
    DeviceHealth detail of the printer such as "paper_out", or "busy", "no_font",
    "stopped"). `job` is the id the kiosk gave the ticket."""

    job: str
    ok: bool
    reason: str
    at: float


DeviceEvent = Lifted | Dropped | Alarm | DeviceHealth | Unreadable | TagSeen | TagAway | Printed
