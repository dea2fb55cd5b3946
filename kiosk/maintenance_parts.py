"""What the maintenance screen drives, as `kiosk.app.build` hands it over. No Qt.

Apart from kiosk/maintenance_door.py so that kiosk.app imports it before PySide6:
dataclasses made after PySide6 has loaded pay for its import hook on every method
they generate (~1 ms each here).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Final

from devices.protocols.pickup import LedMode

if TYPE_CHECKING:
    from backend_client.credentials import Credentials

RESTART_EXIT: Final = 75  # EX_TEMPFAIL: the supervisor (systemd Restart=) starts us again


@dataclass(frozen=True, slots=True)
class MaintenanceTiming:
    idle_close_s: float = 120.0  # a maintenance screen left open closes itself
    led_step_s: float = 0.6  # each slot lit long enough to be seen from the screen


@dataclass(frozen=True, slots=True)
class MaintenanceParts:
    """What the maintenance screen shows and drives, as `kiosk.app.build` has them."""

    data_dir: Path
    set_led: Callable[[int, LedMode], None]
    slots: Callable[[], Collection[int]]  # the cabinet's slots (the planogram's)
    has_board: bool
    shown_release: Callable[[], str | None]
    tag_key: Callable[[], bytes | None]  # the chain's tag key (None before the feed)
    credentials: Credentials | None = None
    timing: MaintenanceTiming = MaintenanceTiming()
    clock: Callable[[], float] = time.monotonic
