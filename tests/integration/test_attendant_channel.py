"""Attendants following their store's kiosks, end to end on loopback: kiosks' channel
servers as real processes over windows the test appends to as kiosks do, and attendant
desks (ChannelClient -> queued Qt signals -> AttendantDesk) in this process. What is
checked is what the desk shows: its feed by (kiosk, seq), its alerts, its kiosk health.

The bare client's own faults and refusals are in tests/unit/backend_client/channel/
test_client.py and tests/integration/test_store_channel.py."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
import requests
from helpers.attendant_channel import (
    DeskAttendant,
    append_shopper_message,
    feed_seqs_of,
    low_score_alerts_of,
)
from helpers.channel import (
    KEY,
    OTHER_KEY,
    OTHER_STORE,
    STORE,
    Kiosk,
    ScriptedKiosk,
    event,
    serve_all,
)
from helpers.gui_thread import collect_on_the_gui_thread
from PySide6.QtCore import QTimer
from pytestqt.qtbot import QtBot

from backend_client.channel.client import KioskState
from backend_client.channel.keys import StoreKeys, new_store_key
from backend_client.channel.messages import ChannelMessage
from backend_client.channel.protocol import PATH

__all__ = ["collect_on_the_gui_thread"]

pytestmark = pytest.mark.slow

_FAST: dict[str, Any] = {"backoff": (0.05, 0.5), "fault_backoff": 0.2}  # seen quickly
_WAIT_MS = 30_000  # generous for a loaded machine; passing waits take well under a second
KEYS = StoreKeys(STORE, KEY)


@pytest.fixture
def kiosks(tmp_path: Path) -> Iterator[tuple[Kiosk, Kiosk]]:
    first, second = Kiosk(tmp_path / "k1", f"{STORE}-k1"), Kiosk(tmp_path / "k2", f"{STORE}-k2")
    try:
        serve_all(first, second)
        yield first, second
    finally:
        first.close()
        second.close()


class Writer:
    """The kiosks' writer threads: one message to each kiosk's window in turn, at a busy
    kiosk's pace, as many rounds as `allow` grants (so the windows stay small enough for
    the desk's feed to hold everything)."""

    def __init__(self, kiosks: Sequence[Kiosk]) -> None:
        self._kiosks = kiosks
        self._changed = threading.Condition()
        self._allowed = self._written = 0
        self._closing = False
        self._thread = threading.Thread(target=self._write)
        self._thread.start()

    def allow(self, rounds: int) -> None:
        with self._changed:
            self._allowed += rounds
            self._changed.notify_all()

    def done(self) -> bool:
        with self._changed:
            return self._written == self._allowed

    def close(self) -> None:
        with self._changed:
            self._closing = True
            self._changed.notify_all()
        self._thread.join()

    def _write(self) -> None:
        while True:
            with self._changed:
                self._changed.wait_for(lambda: self._closing or self._written < self._allowed)
                if self._closing:
                    return
                n = self._written + 1
            for kiosk in self._kiosks:
                append_shopper_message(kiosk.window, n)
            with self._changed:
                self._written = n
            time.sleep(0.004)


def _attendant(kiosks: Sequence[Kiosk], keys: StoreKeys = KEYS, **options: Any) -> DeskAttendant:
    attendant = DeskAttendant([kiosk.endpoint for kiosk in kiosks], keys, **{**_FAST, **options})
    attendant.start()
    return attendant


def _seen(attendant: DeskAttendant, kiosk: Kiosk) -> int:
    return attendant.last_seqs().get(kiosk.kiosk, 0)


def _grown(kiosk: Kiosk, more: int) -> Callable[[], bool]:
    mark = kiosk.window.last_seq()
    return lambda: kiosk.window.last_seq() >= mark + more


def test_both_attendants_show_both_kiosks_in_order_through_a_kill_9_and_a_restart(
    kiosks: tuple[Kiosk, Kiosk], qtbot: QtBot
) -> None:
    first, second = kiosks
    attendants = [_attendant(kiosks), _attendant(kiosks)]
    writer = Writer(kiosks)
    restarted: DeskAttendant | None = None
    try:
        # Mid-stream, the first kiosk's channel server dies hard; its kiosk goes on
        # appending while it is down; it comes back.
        writer.allow(100)
        qtbot.waitUntil(lambda: _seen(attendants[0], first) >= 20, timeout=_WAIT_MS)
        first.kill()
        appended_while_down = _grown(first, 50)
        writer.allow(60)
        qtbot.waitUntil(appended_while_down, timeout=_WAIT_MS)
        first.serve()
        # The second attendant's device restarts mid-stream and resumes from the last
        # seqs its desk showed; the kiosks append while it is away.
        mark = second.window.last_seq()
        writer.allow(100)
        qtbot.waitUntil(lambda: _seen(attendants[1], second) >= mark + 20, timeout=_WAIT_MS)
        attendants[1].stop()
        shown = attendants[1].last_seqs()
        appended_while_away = _grown(second, 50)
        writer.allow(60)
        qtbot.waitUntil(appended_while_away, timeout=_WAIT_MS)
        restarted = _attendant(kiosks, resume=shown)
        writer.allow(60)
        qtbot.waitUntil(writer.done, timeout=_WAIT_MS)
        for attendant in (attendants[0], restarted):
            for kiosk in kiosks:
                qtbot.waitUntil(
                    lambda: _seen(attendant, kiosk) == kiosk.window.last_seq(),  # noqa: B023
                    timeout=_WAIT_MS,
                )
    finally:
        writer.close()
        for stopping in (*attendants, restarted):
            if stopping is not None:
                stopping.stop()
    assert restarted is not None

    alerts = low_score_alerts_of(first.window) | low_score_alerts_of(second.window)
    assert alerts  # the day had low scores
    for kiosk in kiosks:
        expected = feed_seqs_of(kiosk.window)
        # The attendant that stayed: every message once, in order, across the kill.
        assert attendants[0].feed_seqs(kiosk.kiosk) == expected
        # The one that restarted: what it showed before, then the rest, nothing twice.
        before, after = attendants[1].feed_seqs(kiosk.kiosk), restarted.feed_seqs(kiosk.kiosk)
        assert before + after == expected
        assert all(seq <= shown[kiosk.kiosk] < later for seq in before for later in after)
        for attendant in (attendants[0], restarted):
            health = attendant.desk.state.kiosks[kiosk.kiosk]
            assert (health.missed, health.dropped) == (0, 0)
    assert {alert.id for alert in attendants[0].desk.state.alerts} == alerts
    both = attendants[1].desk.state.alerts + restarted.desk.state.alerts
    assert sorted(alert.id for alert in both) == sorted(alerts)  # each raised once
    assert KioskState.DOWN in attendants[0].states(first.kiosk)  # the kill was noticed
    assert KioskState.FAULTY not in attendants[0].states(first.kiosk)


class _CapturingKeys(StoreKeys):
    """Our attendant's keys, keeping every request proof it makes, as an eavesdropper on
    the store's network would see them."""

    def __init__(self, store: str, key: bytes) -> None:
        super().__init__(store, key)
        self.captured: list[dict[str, str]] = []

    def prove(self, path: str, after: int, now: float) -> dict[str, str]:
        headers = super().prove(path, after, now)
        self.captured.append(headers)
        return headers


def test_attendants_without_our_store_key_show_nothing_and_a_captured_request_is_refused(
    kiosks: tuple[Kiosk, Kiosk], qtbot: QtBot
) -> None:
    first, _ = kiosks
    keys = _CapturingKeys(STORE, KEY)
    ours = _attendant([first], keys)
    strangers = [
        _attendant([first], StoreKeys(STORE, new_store_key())),  # our store's name, no key
        _attendant([first], StoreKeys(OTHER_STORE, OTHER_KEY)),  # another store's attendant
    ]
    try:
        for n in range(1, 41):
            append_shopper_message(first.window, n)
        qtbot.waitUntil(lambda: _seen(ours, first) == first.window.last_seq(), timeout=_WAIT_MS)
        for stranger in strangers:
            qtbot.waitUntil(
                lambda: KioskState.REFUSED in stranger.states(first.kiosk),  # noqa: B023
                timeout=_WAIT_MS,
            )
    finally:
        for attendant in (ours, *strangers):
            attendant.stop()
    assert ours.feed_seqs(first.kiosk) == feed_seqs_of(first.window)
    for stranger in strangers:
        assert stranger.desk.state.feed == ()
        assert stranger.desk.state.kiosks == {}
    # Our attendant's own request, captured off the network and sent again as it was.
    replayed = requests.get(
        first.endpoint.url + PATH, params={"after": "0"}, headers=keys.captured[0], timeout=5
    )
    assert (replayed.status_code, replayed.content) == (401, b"")


def _sealed(kiosk: str, *seqs: int) -> bytes:
    return b"".join(
        event(KEYS.seal(ChannelMessage.model_validate(
            {"v": 1, "store": STORE, "kiosk": kiosk, "seq": seq, "at": "2026-12-06T05:50:00.250Z",
             "kind": "lift", "alert": False, "data": {"session": "s1", "slot": 1, "sku": "X1"}}
        )))
        for seq in seqs
    )  # fmt: skip


def test_a_kiosk_gone_bad_shows_faulty_and_the_desk_keeps_up_with_the_good_one(
    tmp_path: Path, qtbot: QtBot
) -> None:
    rogue_id = f"{STORE}-k7"

    def misbehave(after: int) -> bytes:
        """A different fault on each connection, then a quiet stream."""
        match rogue.requests:
            case 1:
                return b"data: {not json\n\nhello, this is not an event stream\n\n"
            case 2:
                return b"data: " + b"A" * 1_000_000 + b"\n\n"
            case 3:
                return _sealed(rogue_id, after + 1, after + 3, after + 2)
            case 4:
                return _sealed(rogue_id, *range(after + 1, after + 2_001))  # a flood
            case _:
                return b": quiet now\n\n"

    rogue = ScriptedKiosk(misbehave)
    good = Kiosk(tmp_path / "k1", f"{STORE}-k1")
    ticks: list[float] = []
    ticker = QTimer()
    ticker.setInterval(20)
    ticker.timeout.connect(lambda: ticks.append(time.monotonic()))
    writer = Writer([good])
    attendant: DeskAttendant | None = None
    try:
        good.serve()
        attendant = DeskAttendant(
            [rogue.endpoint(rogue_id), good.endpoint], KEYS, **{**_FAST, "flood": (100.0, 1_000)}
        )
        attendant.start()
        ticker.start()
        writer.allow(150)
        qtbot.waitUntil(
            lambda: attendant.states(rogue_id).count(KioskState.FAULTY) == 4, timeout=_WAIT_MS
        )
        # The desk is still responsive: its timers fire, and the good kiosk's messages,
        # appended after the faults, keep arriving.
        ticked = len(ticks)
        writer.allow(50)
        qtbot.waitUntil(writer.done, timeout=_WAIT_MS)
        qtbot.waitUntil(lambda: _seen(attendant, good) == good.window.last_seq(), timeout=_WAIT_MS)
        qtbot.waitUntil(lambda: len(ticks) >= ticked + 10, timeout=_WAIT_MS)
        health = attendant.desk.state.kiosks[rogue_id]
        shown_faulty = health.faulty(time.monotonic())
    finally:
        ticker.stop()
        writer.close()
        if attendant is not None:
            attendant.stop()
        rogue.close()
        good.close()
    assert attendant is not None
    assert shown_faulty
    assert health.garbage == 4  # each fault reported once
    assert "flood" in health.fault_reason  # the latest
    rogue_seqs = attendant.feed_seqs(rogue_id)
    assert rogue_seqs == sorted(set(rogue_seqs))  # nothing out of order or repeated shown
    assert attendant.feed_seqs(good.kiosk) == feed_seqs_of(good.window)
    assert not attendant.desk.state.kiosks[good.kiosk].faulty(time.monotonic())
