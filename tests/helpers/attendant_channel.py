"""An attendant device in a test, wired as the attendant app wires it: the channel
client's threads hand messages and kiosk states to the GUI thread by queued Qt
signals, and an AttendantDesk there takes them. Also what a kiosk's writer appends:
a shopper's day in the channel's message kinds."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from PySide6.QtCore import QCoreApplication, QObject, Signal, Slot

from backend_client.channel.client import ChannelClient, KioskEndpoint, KioskState, KioskStatus
from backend_client.channel.keys import StoreKeys
from backend_client.channel.messages import ChannelMessage
from backend_client.channel.window import Window
from kiosk.attendant.desk import AttendantDesk
from kiosk.attendant.model import FEED_KINDS, AttendantState, PlainMessage


def plain(message: ChannelMessage) -> PlainMessage:
    """The transport's message as the attendant model reads it (model.ChannelMessageLike)."""
    return PlainMessage(
        message.v, message.store, message.kiosk, message.seq, message.moment, message.kind,
        message.alert, message.data.model_dump(),
    )  # fmt: skip


class DeskAttendant(QObject):
    """ChannelClient -> queued signals -> AttendantDesk. Create, use and stop it on the
    GUI thread; the client's threads only emit."""

    _arrived = Signal(object)  # ChannelMessage
    _told = Signal(object)  # KioskStatus

    def __init__(
        self,
        endpoints: Sequence[KioskEndpoint],
        keys: StoreKeys,
        *,
        resume: Mapping[str, int] | None = None,
        **client_options: Any,
    ) -> None:
        super().__init__()
        self.desk = AttendantDesk(AttendantState(keys.store))
        self.statuses: list[KioskStatus] = []
        # Emitted on the client's threads, received here on the GUI thread: queued.
        self._arrived.connect(self._take)
        self._told.connect(self._status)
        self.client = ChannelClient(
            endpoints, keys, self._arrived.emit, self._told.emit, resume=resume, **client_options
        )

    def start(self) -> None:
        self.desk.start()
        self.client.start()

    def stop(self) -> None:
        """No more messages: the client's threads are gone and what they had handed over
        has reached the desk."""
        self.client.stop()
        QCoreApplication.sendPostedEvents(self)
        self.desk.stop()

    @Slot(object)
    def _take(self, message: ChannelMessage) -> None:
        self.desk.receive(plain(message))

    @Slot(object)
    def _status(self, status: KioskStatus) -> None:
        self.statuses.append(status)
        if status.state is KioskState.FAULTY:
            self.desk.misbehaved(status.kiosk, status.reason)

    # -- what the desk shows ----------------------------------------------------------------

    def feed_seqs(self, kiosk: str) -> list[int]:
        """Seqs of the kiosk's entries in the desk's feed, in the order they arrived."""
        return [entry.seq for entry in reversed(self.desk.state.feed) if entry.kiosk == kiosk]

    def last_seqs(self) -> dict[str, int]:
        """What an attendant app keeps to resume from after a restart."""
        return {kiosk: health.last_seq for kiosk, health in self.desk.state.kiosks.items()}

    def states(self, kiosk: str) -> list[KioskState]:
        return [status.state for status in self.statuses if status.kiosk == kiosk]


# -- what kiosks append ------------------------------------------------------------------------

_SKUS = ("XH-N1", "LY-A5", "OP-R9", "HW-P70")


def shopper_message(n: int) -> tuple[str, dict[str, Any], bool]:
    """The n-th message of a kiosk's busy day: sessions of lifts, drops, comparisons and
    survey answers (every fourth answer a low score, an alert), the pickup board
    reconnecting and back, and a heartbeat now and then (health only, not a feed row)."""
    session, slot = f"s{n // 10:05d}", n % 8
    sku = _SKUS[slot % len(_SKUS)]
    score = 1 if n % 40 == 6 else 4
    lift = {"session": session, "slot": slot, "sku": sku}
    day: tuple[tuple[str, dict[str, Any]], ...] = (
        ("member_arrived", {"session": session, "greeting": None, "last_viewed": [sku],
                            "via": "ble"}),
        ("lift", lift),
        ("drop", {**lift, "dwell_ms": 4000}),
        ("comparison", {"session": session, "skus": [sku, _SKUS[0]]}),
        ("lift", lift),
        ("drop", {**lift, "dwell_ms": 900}),
        ("survey_answer", {"session": session, "survey": "visit", "question": "experience",
                           "kind": "smiley", "score": score, "low": score <= 2}),
        ("heartbeat", {"uptime_s": n}),
        # The board drops and comes back in turn: each report is a change the feed shows.
        ("device", {"device": "pickup", "status": ("reconnecting", "up")[n // 10 % 2],
                    "detail": ""}),
        ("member_left", {"session": session}),
    )  # fmt: skip
    kind, data = day[n % len(day)]
    return kind, data, kind == "survey_answer" and score <= 2


def append_shopper_message(window: Window, n: int) -> ChannelMessage:
    kind, data, alert = shopper_message(n)
    return window.append(kind, data, at=datetime.now(UTC), alert=alert)


def feed_seqs_of(window: Window) -> list[int]:
    """Seqs of a window's messages an attendant's feed shows (not heartbeats)."""
    return [message.seq for message in window.after(0, limit=10**6) if message.kind in FEED_KINDS]


def low_score_alerts_of(window: Window) -> set[str]:
    return {
        f"{message.kiosk}:{message.seq}"
        for message in window.after(0, limit=10**6)
        if message.kind == "survey_answer" and message.alert
    }
