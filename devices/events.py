"""Typed events that device drivers hand to the rest of the system.

Drivers convert raw bytes into these frozen values as soon as they arrive;
nothing past a driver ever sees a protocol line or a library object. Every
event carries `at`, the `time.monotonic()` reading taken when the driver
received it, so latency can be measured end to end.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


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


DeviceEvent = Lifted | Dropped | Alarm | DeviceHealth
