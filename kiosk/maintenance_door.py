"""The way into the maintenance screen, present from start and kept small.

It watches touches for the hidden gesture (kiosk/maintenance_gesture.py), keeps the
relay child's latest reports for the screen, and while the screen is open takes the
fob and BLE readings away from recognition (nobody is logged in as a member during
maintenance). The PIN pad, the screen and their logic (kiosk/maintenance_desk.py)
are imported and built only when the gesture is made on a kiosk that has a PIN: the
attract loop pays for none of them.
"""

from __future__ import annotations

import logging
import secrets
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal

from backend_client.status import ContentStatus, SyncStatus
from devices.events import DeviceEvent, TagSeen
from kiosk.maintenance_gesture import GestureProgress, Touch, gesture_step
from kiosk.maintenance_parts import MaintenanceParts

if TYPE_CHECKING:
    from kiosk.attendant.staff import PinGuard
    from kiosk.maintenance import TagReading
    from kiosk.maintenance_desk import MaintenanceDesk
    from kiosk.screens.window import KioskWindow

log = logging.getLogger("kiosk.maintenance")


class MaintenanceDoor(QObject):
    """Made before the relay and the readers start (it listens to both); `attach` gives
    it the window and what the screen drives once those exist."""

    tag_read = Signal(object)  # a TagReading while open, from a reader's thread

    def __init__(
        self,
        pass_sync: Callable[[SyncStatus], None] | None = None,
        pass_content: Callable[[ContentStatus], None] | None = None,
    ) -> None:
        """`pass_sync`, `pass_content`: who else hears the relay's reports."""
        super().__init__()
        self._pass_sync, self._pass_content = pass_sync, pass_content
        self._window: KioskWindow | None = None
        self._parts: MaintenanceParts | None = None
        # What "restart" does: main() makes it quit the app for the supervisor to restart.
        self.restart: Callable[[], None] = lambda: log.warning("restart: nothing wired")
        self._progress = GestureProgress()
        self._open = threading.Event()  # read by reader threads
        self.desk: MaintenanceDesk | None = None
        self.guard: PinGuard | None = None  # the wrong-PIN lockout, kept across openings
        # Written by the relay's supervisor thread, read on the GUI thread: each is one
        # reference replaced whole, so a reader sees an old report or a new one.
        self.sync: SyncStatus | None = None
        self.content: ContentStatus | None = None
        # Fobs are shown by their hash under the chain's key; before the feed brought it,
        # under one made up for this run (comparable only while the kiosk runs).
        self.fallback_key = secrets.token_bytes(32)

    def attach(self, window: KioskWindow, parts: MaintenanceParts) -> None:
        self._window, self._parts = window, parts
        window.staff_touch.connect(self.on_touch)

    @property
    def parts(self) -> MaintenanceParts:
        assert self._parts is not None, "attach() first"
        return self._parts

    def on_sync(self, status: SyncStatus) -> None:  # the relay's supervisor thread
        self.sync = status
        if self._pass_sync is not None:
            self._pass_sync(status)

    def on_content(self, status: ContentStatus) -> None:  # the relay's supervisor thread
        self.content = status
        if self._pass_content is not None:
            self._pass_content(status)

    def divert(self, pass_on: Callable[[DeviceEvent], None]) -> Callable[[DeviceEvent], None]:
        """A readers' `on_event`: tags seen while the screen is open go to it, not on."""

        def on_event(event: DeviceEvent) -> None:  # a reader's thread
            if isinstance(event, TagSeen) and self._open.is_set():
                self.tag_read.emit(self._reading(event))
            else:
                pass_on(event)

        return on_event

    def _reading(self, seen: TagSeen) -> TagReading:
        """The tag hashed here, on the reader's thread: its id goes no further."""
        from kiosk.maintenance import TagReading, short_form  # noqa: PLC0415 - loaded by open()

        try:
            key = self.parts.tag_key() or self.fallback_key
        except Exception:  # a damaged member file: still show that a tag was read
            key = self.fallback_key
        return TagReading(
            seen.tag.kind.value, seen.reader, short_form(key, seen.tag), seen.rssi, seen.at
        )

    def on_touch(self, touch: Touch) -> None:
        """Every press and release on the window (GUI thread)."""
        if self.desk is not None:
            self.desk.touched()
            return
        self._progress, complete = gesture_step(self._progress, touch)
        if complete and self._window is not None:
            self.open()

    def open(self) -> None:
        """The gesture was made: the PIN pad, if a PIN is set (else nothing at all)."""
        from kiosk.maintenance import load_pin_hash  # noqa: PLC0415 - only for staff

        pin_hash = load_pin_hash(self.parts.data_dir)  # one small local file
        if pin_hash is None:
            log.info("maintenance gesture made, but no PIN is set: ignored")
            return
        from kiosk.maintenance_desk import MaintenanceDesk  # noqa: PLC0415 - only for staff

        log.info("maintenance PIN pad opened")
        self._open.set()
        self.desk = MaintenanceDesk(self, pin_hash)
        assert self._window is not None
        self._window.show_overlay(self.desk.screen)

    def close(self) -> None:
        desk, self.desk = self.desk, None
        if desk is None:
            return
        desk.stop()
        self._open.clear()
        if self._window is not None:
            self._window.close_overlay()
        log.info("maintenance screen closed")
