"""The one seam between device threads and the GUI thread.

Drivers call `post` from their own threads; the event reaches Qt slots on the
GUI thread through a queued signal, so no widget or session code ever runs on
a driver thread.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from kiosk.recognition import RecognitionEvent
from kiosk.session import (
    CouponPrinted,
    DrawStanding,
    HqLinkChanged,
    OfferTakesKnown,
    RewardReady,
)

BridgeEvent = (
    RecognitionEvent | RewardReady | DrawStanding | OfferTakesKnown | CouponPrinted | HqLinkChanged
)


class DeviceBridge(QObject):
    # A devices.events value, a member recognised / gone / a stranger's fob, or the
    # reward desk's answer.
    event_received = Signal(object)

    def post(self, event: BridgeEvent) -> None:
        """Thread-safe: may be called from any thread."""
        self.event_received.emit(event)
