"""QObject around the attendant model: feeds it messages, taps and time; hands effects on.

The console (console.py) calls `receive` with the channel's messages, and carries out
what comes out of `ack_to_send`, `action_to_record` and `sound`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Final

from PySide6.QtCore import QObject, QTimer, Signal

from kiosk.attendant.model import (
    Acknowledge,
    AlertThresholds,
    AttendantInput,
    AttendantState,
    ChangeThresholds,
    ChannelMessageLike,
    KioskMisbehaved,
    Received,
    RecordAction,
    Refused,
    SendAck,
    SoundAlert,
    Transition,
    advance,
    step,
)
from kiosk.attendant.staff import Role

log = logging.getLogger("kiosk.attendant")

SWEEP_MS: Final = 5000  # silences are judged in minutes; every 5 s is plenty


class AttendantDesk(QObject):
    changed = Signal(object, float)  # AttendantState, now: after every change
    # Once per pass of the event loop after changes: when to redraw. A busy store sends
    # hundreds of messages a second; redrawing after each would starve the screen.
    settled = Signal()
    sound = Signal(str)  # alert id: play the alert sound
    ack_to_send = Signal(object)  # SendAck
    action_to_record = Signal(object)  # RecordAction
    refused = Signal(object)  # Refused

    def __init__(self, state: AttendantState, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self.state = state
        self.staff_id: str | None = None  # set at sign-in; no taps count without it
        self._clock = clock
        self._settling = False
        self._sweep = QTimer(self)
        self._sweep.setInterval(SWEEP_MS)
        self._sweep.timeout.connect(self.sweep)

    def start(self) -> None:
        self._sweep.start()

    def stop(self) -> None:
        self._sweep.stop()

    def receive(self, message: ChannelMessageLike) -> None:
        self._apply(Received(message))

    def misbehaved(self, kiosk: str, reason: str) -> None:
        """The channel dropped `kiosk` for garbage, a flood or a bad frame: shown faulty."""
        self._apply(KioskMisbehaved(kiosk, reason))

    def acknowledge(self, alert_id: str) -> None:
        if self.staff_id is None:
            log.warning("acknowledge tapped with nobody signed in: ignored")
            return
        self._apply(Acknowledge(alert_id, self.staff_id))

    def change_thresholds(self, thresholds: AlertThresholds, staff_id: str, role: Role) -> None:
        self._apply(ChangeThresholds(thresholds, staff_id, role))

    def sweep(self) -> None:
        """Also redraws when nothing changed: kiosks' last contact ages on screen."""
        self._carry_out(advance(self.state, self._clock()), redraw=True)

    def _apply(self, event: AttendantInput) -> None:
        self._carry_out(step(self.state, event, self._clock()))

    def _carry_out(self, transition: Transition, *, redraw: bool = False) -> None:
        changed = redraw or transition.state is not self.state
        self.state = transition.state
        for effect in transition.effects:
            match effect:
                case SoundAlert(alert_id):
                    self.sound.emit(alert_id)
                case SendAck():
                    self.ack_to_send.emit(effect)
                case RecordAction():
                    self.action_to_record.emit(effect)
                case Refused():
                    self.refused.emit(effect)
        if changed:
            self.changed.emit(self.state, self._clock())
            if not self._settling:
                # A zero-time single shot is queued behind the messages already waiting.
                self._settling = True
                QTimer.singleShot(0, self._settle)

    def _settle(self) -> None:
        self._settling = False
        self.settled.emit()
