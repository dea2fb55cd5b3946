"""The maintenance screen's controller: what each tap does, on the GUI thread.

Built by the door (kiosk/maintenance_door.py) when staff make the gesture on a kiosk
with a PIN; it lives until the screen closes (a tap on Close, or two minutes without
a touch). Decisions come from kiosk/maintenance.py and kiosk/maintenance_calibration.py;
what the screen shows of the network and content are the relay child's last reports,
read from the door: nothing here waits on the network or the disk, except saving a
calibration (one small file, when staff finish one). Checking a PIN (Argon2id) takes
the GUI thread some tens of milliseconds, with the screen covered and nobody shopping.
"""

from __future__ import annotations

import logging
import math
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QTimer

from content.model import Language
from devices.protocols.pickup import LedMode
from kiosk import maintenance_calibration as calibration
from kiosk.attendant.staff import PinGuard, PinHasher, wait_before_attempt
from kiosk.i18n import tr
from kiosk.maintenance import (
    TagReading,
    TagsHeard,
    check_pin,
    content_lines,
    enrolment_lines,
    heard,
    led_sequence,
    network_lines,
    wait_text,
)
from kiosk.screens.maintenance import MaintenanceScreen

if TYPE_CHECKING:
    from kiosk.maintenance_door import MaintenanceDoor

log = logging.getLogger("kiosk.maintenance")

TICK_MS = 1000  # the lockout countdown and the reports refresh


class MaintenanceDesk(QObject):
    def __init__(self, door: MaintenanceDoor, pin_hash: str) -> None:
        super().__init__()
        self._door = door
        self._parts = door.parts
        self._pin_hash = pin_hash
        self._hasher = PinHasher()
        self._language = Language.ZH_CN
        self._unlocked = False
        self._tags = TagsHeard()
        self._led_slots: list[int] = []
        self._led_lit: int | None = None
        self._led_count = 0
        self._taps: list[calibration.Point] = []
        self._calibration_note = ""

        self.screen = screen = MaintenanceScreen()
        screen.pin.entered.connect(self._pin_entered)
        screen.pin.close_button.clicked.connect(door.close)
        sections = screen.sections
        sections.closed.connect(door.close)
        sections.language_chosen.connect(self._set_language)
        sections.led_test.connect(self._start_led_test)
        sections.restart.connect(self._restart)
        sections.calibrate.connect(self._start_calibration)
        screen.calibration.tapped.connect(self._calibration_tap)
        door.tag_read.connect(self._tag_read)
        self._led_timer = QTimer(self)
        self._led_timer.setSingleShot(True)
        self._led_timer.timeout.connect(self._next_led)
        self._idle = QTimer(self)
        self._idle.setSingleShot(True)
        self._idle.setInterval(round(self._parts.timing.idle_close_s * 1000))
        self._idle.timeout.connect(self._idle_close)
        self._idle.start()
        self._tick = QTimer(self)
        self._tick.timeout.connect(self._on_tick)
        self._tick.start(TICK_MS)
        screen.retranslate(self._language)
        screen.show_page(screen.pin)
        self._show_lockout()

    # -- from the door ----------------------------------------------------------------

    def touched(self) -> None:
        self._idle.start()  # counts again from this touch

    def stop(self) -> None:
        """Closing: timers off, a slot left lit turned off, the widgets gone."""
        self._tick.stop()
        self._idle.stop()
        self._led_timer.stop()
        if self._led_lit is not None:
            self._parts.set_led(self._led_lit, LedMode.OFF)
            self._led_lit = None
        self._door.tag_read.disconnect(self._tag_read)
        self.screen.deleteLater()

    # -- the PIN ----------------------------------------------------------------------

    @property
    def _guard(self) -> PinGuard:
        return self._door.guard or PinGuard()

    def _pin_entered(self, pin: str) -> None:
        result = check_pin(self._guard, self._pin_hash, pin, self._parts.clock(), self._hasher)
        self._door.guard = result.guard
        if result.session is not None:
            log.info("maintenance screen unlocked")
            self._unlocked = True
            self.screen.show_page(self.screen.sections)
            self._refresh()
            return
        log.info("maintenance PIN refused, %d wrong in a row", result.guard.failures)
        if result.wait_s > 0:
            self._show_lockout()
        else:
            self.screen.pin.show_message(tr(self._language, "maint.pin.wrong"))

    def _show_lockout(self) -> None:
        wait = wait_before_attempt(self._guard, self._parts.clock())
        if wait > 0:
            self.screen.pin.show_message(wait_text(self._language, wait), locked=True)
        elif not self.screen.pin.enter.isEnabled():
            self.screen.pin.show_message("")

    # -- every second -----------------------------------------------------------------

    def _idle_close(self) -> None:
        log.info(
            "maintenance screen untouched for %.0f s: closing", self._parts.timing.idle_close_s
        )
        self._door.close()

    def _on_tick(self) -> None:
        if self._unlocked:
            self._refresh()
        else:
            self._show_lockout()

    def _set_language(self, language: Language) -> None:
        self._language = language
        self.screen.retranslate(language)
        self._refresh()

    def _refresh(self) -> None:
        language, door, parts = self._language, self._door, self._parts
        sections = self.screen.sections
        sections.devices.show_lines(self._device_lines())
        sections.network.show_lines(network_lines(language, door.sync, datetime.now(UTC)))
        sections.enrolment.show_lines(enrolment_lines(language, parts.credentials))
        sections.content.show_lines(content_lines(language, parts.shown_release(), door.content))
        sections.restarting.show_lines([tr(language, "maint.restart.explain")])
        sections.calibration.show_lines(
            [tr(language, "maint.calibrate.explain"), self._calibration_note]
        )

    # -- device test ------------------------------------------------------------------

    def _device_lines(self) -> list[str]:
        language = self._language
        self.screen.sections.led_button.setEnabled(self._parts.has_board)
        if not self._parts.has_board:
            lines = [tr(language, "maint.leds.none")]
        elif self._led_lit is not None:
            lines = [tr(language, "maint.leds.lit", slot=self._led_lit)]
        elif self._led_count:
            lines = [tr(language, "maint.leds.done", count=self._led_count)]
        else:
            lines = []
        fob = self._tags.fob
        lines.append(
            tr(language, "maint.fob.wait")
            if fob is None
            else tr(language, "maint.fob.read", short=fob.short)
        )
        lines.append(tr(language, "maint.ble", count=len(self._tags.ble)))
        strongest = sorted(self._tags.ble.values(), key=lambda r: -(r.rssi or -999))[:5]
        lines += [
            tr(
                language,
                "maint.ble.tag",
                short=r.short,
                rssi="?" if r.rssi is None else round(r.rssi),
            )
            for r in strongest
        ]
        return lines

    def _start_led_test(self) -> None:
        if not self._parts.has_board or self._led_timer.isActive():
            self._refresh()
            return
        self._led_slots = led_sequence(self._parts.slots())
        self._led_count = len(self._led_slots)
        log.info("maintenance LED test of %d slots", self._led_count)
        self._next_led()

    def _next_led(self) -> None:
        if self._led_lit is not None:
            self._parts.set_led(self._led_lit, LedMode.OFF)
            self._led_lit = None
        if self._led_slots:
            self._led_lit = self._led_slots.pop(0)
            self._parts.set_led(self._led_lit, LedMode.ON)
            self._led_timer.start(round(self._parts.timing.led_step_s * 1000))
        if self._unlocked:
            self._refresh()

    def _tag_read(self, reading: TagReading) -> None:
        self._tags = heard(self._tags, reading)
        if self._unlocked:
            self._refresh()

    # -- restart ----------------------------------------------------------------------

    def _restart(self) -> None:
        log.info("restart asked for on the maintenance screen")
        self._door.close()
        self._door.restart()

    # -- calibration ------------------------------------------------------------------

    def _start_calibration(self) -> None:
        self._taps = []
        self.screen.show_page(self.screen.calibration)
        self.screen.calibration.show_target(calibration.TARGETS[0])

    def _calibration_tap(self, x: float, y: float) -> None:
        self._taps.append((x, y))
        targets = calibration.TARGETS
        if len(self._taps) < len(targets):
            self.screen.calibration.show_target(targets[len(self._taps)])
            return
        self.screen.calibration.show_target(None)
        self.screen.show_page(self.screen.sections)
        self._calibration_note = self._finish_calibration(self._taps)
        self._refresh()

    def _finish_calibration(self, taps: list[calibration.Point]) -> str:
        language, targets = self._language, calibration.TARGETS
        try:
            correction = calibration.fit(taps, targets)
        except calibration.CalibrationError as error:
            log.info("calibration refused: %s", error)
            return tr(language, "maint.calibrate.failed", reason=str(error))
        base = calibration.load(self._parts.data_dir)  # what the taps came through
        matrix = calibration.compose(correction, base)
        path = calibration.save(self._parts.data_dir, matrix, base)
        width, height = self.screen.width(), self.screen.height()
        worst = max(
            math.hypot((cx - tx) * width, (cy - ty) * height)
            for (cx, cy), (tx, ty) in (
                (calibration.apply(correction, p), t) for p, t in zip(taps, targets, strict=True)
            )
        )
        log.info("touch calibration saved to %s: %s", path, calibration.udev_line(matrix))
        return tr(language, "maint.calibrate.saved", error=round(worst))
