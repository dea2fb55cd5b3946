"""Proof of play end to end: a scripted attract run, counted on the kiosk, synced by the
real relay through the real outbox file to a real HQ on loopback, reported exactly.

The attract screen plays its slides on its own timers (short, so the run is quick);
the wall clock the counts read is driven by the script: each entry lasts exactly
what the script says, and the run crosses an hour boundary.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import requests
from helpers.hq import Hq, hq_of_its_own, issue_code
from PIL import Image
from PySide6.QtCore import QTimer
from pytestqt.qtbot import QtBot
from sqlalchemy import select

from backend_client.client import HqClient, enroll
from backend_client.credentials import Credentials
from backend_client.crypto import PayloadCipher
from backend_client.outbox import Outbox
from backend_client.records import OutboxRecord
from backend_client.sync import SyncRelay, SyncStatus
from devices.events import Lifted
from hq import plays
from hq.db import Database, events
from kiosk.app import count_plays
from kiosk.device_bridge import DeviceBridge
from kiosk.images import ImageCache
from kiosk.play_counts import PlayItem
from kiosk.screens.attract import AttractScreen, Slide

POSTER = PlayItem("x1-poster", "x1-launch")
CASE = PlayItem("case-poster", "case-promo")
HOUSE = PlayItem("slides/welcome.jpg")  # no id in the playlist: its asset's path
LASTS = {POSTER: timedelta(seconds=8), CASE: timedelta(seconds=5), HOUSE: timedelta(seconds=6)}
START = datetime(2026, 12, 6, 9, 59, 40, tzinfo=UTC)  # 20 s before the hour
SHOWS = 7  # POSTER CASE HOUSE POSTER CASE HOUSE POSTER
LIFT_INTO_SHOW = 5  # 3 s into the second CASE: it, and the POSTER before it, were followed


class ScriptClock:
    """The wall clock as the script has it: each show starts when the last one's time is up."""

    def __init__(self) -> None:
        self.now = START
        self.shown: list[tuple[PlayItem, datetime]] = []

    def __call__(self) -> datetime:
        return self.now

    def on_shown(self, item: PlayItem) -> None:
        if self.shown:
            last, began = self.shown[-1]
            self.now = began + LASTS[last]
        self.shown.append((item, self.now))


@pytest.fixture
def hq(tmp_path: Path) -> Iterator[Hq]:
    with hq_of_its_own(tmp_path / "hq") as running:
        yield running


def test_what_a_scripted_attract_run_showed_is_what_hq_reports(
    qtbot: QtBot, tmp_path: Path, hq: Hq
) -> None:
    images = ImageCache()
    screen = AttractScreen(images)
    qtbot.addWidget(screen)
    clock = ScriptClock()
    screen.item_shown.connect(clock.on_shown)  # first: the clock moves before it is read
    bridge = DeviceBridge()
    made: list[OutboxRecord] = []
    play_log = count_plays(screen, bridge, made.append, clock)
    screen.resize(960, 540)
    screen.show()

    def lift() -> None:  # 3 s into the 5th show, by the script's clock
        clock.now += timedelta(seconds=3)
        bridge.post(Lifted(slot=2, at=time.monotonic()))

    def finish() -> None:  # the 7th show's time is up: the loop leaves the screen
        clock.now = clock.shown[-1][1] + LASTS[clock.shown[-1][0]]
        # A phone the board reports off its slot when it (re)connects: no shopper's hand.
        bridge.post(Lifted(slot=3, at=time.monotonic(), resync=True))
        screen.set_unavailable()

    def script(_: PlayItem) -> None:
        # Once the slot returns: before the next slide's timer (0.1 s) is due.
        if len(clock.shown) == LIFT_INTO_SHOW:
            QTimer.singleShot(0, lift)
        elif len(clock.shown) == SHOWS:
            QTimer.singleShot(0, finish)

    screen.item_shown.connect(script)
    try:
        screen.set_slides([_slide(tmp_path, item) for item in (POSTER, CASE, HOUSE)])
        qtbot.waitUntil(lambda: not screen.band.isVisible(), timeout=5000)
    finally:
        screen.stop()
        images.close()
    play_log.close()
    assert [item for item, _ in clock.shown] == [POSTER, CASE, HOUSE] * 2 + [POSTER]

    # Counted per UTC hour: the 4th show (POSTER, 09:59:59) runs 1 s before the hour
    # and 7 s after it; the lift at 10:00:10 follows the CASE on screen and the POSTER
    # that left 3 s before it, not the HOUSE slide 11 s before; the board's resync at
    # the end follows nothing.
    nine, ten = datetime(2026, 12, 6, 9, tzinfo=UTC), datetime(2026, 12, 6, 10, tzinfo=UTC)
    expected = {
        ("x1-launch", nine): plays.Plays(shows=2, ms=9_000, lifted=1),
        ("x1-launch", ten): plays.Plays(shows=1, ms=15_000, lifted=0),
        ("case-promo", nine): plays.Plays(shows=1, ms=5_000, lifted=0),
        ("case-promo", ten): plays.Plays(shows=1, ms=5_000, lifted=1),
        (None, nine): plays.Plays(shows=1, ms=6_000, lifted=0),
        (None, ten): plays.Plays(shows=1, ms=6_000, lifted=0),
    }

    data = tmp_path / "kiosk"
    data.mkdir()
    credentials = enroll(hq.base_url, issue_code(hq.database_url, "store-pop"))
    _sync(data, credentials, made)
    assert _reported(hq) == expected

    # The relay's answer lost, it sends the same record again: HQ counts it once.
    repeat = _stored_event(hq, str(made[0].event_id))
    answer = requests.post(
        f"{hq.base_url}/v1/events",
        json={"events": [repeat]},
        headers={"Authorization": f"Bearer {credentials.token}"},
        timeout=30,
    )
    assert answer.json()["results"][0]["status"] == "duplicate"
    assert _reported(hq) == expected


def _slide(folder: Path, item: PlayItem) -> Slide:
    path = folder / f"{item.item.replace('/', '-')}.jpg"
    Image.new("RGB", (192, 108), (40, 60, 90)).save(path)
    return Slide(path, seconds=0.1, caption=None, play=item)


def _sync(data: Path, credentials: Credentials, made: list[OutboxRecord]) -> None:
    """The records into the kiosk's outbox file, and the relay drains it to HQ."""
    cipher = PayloadCipher.from_key_file(data / "outbox.key")
    with Outbox(data / "outbox.sqlite3", cipher=cipher) as outbox:
        assert len(outbox.append_many(made)) == len(made)
    drained = threading.Event()

    def on_status(status: SyncStatus) -> None:
        if status.pending == 0 and status.state == "idle":
            drained.set()

    relay = SyncRelay(
        data / "outbox.sqlite3",
        HqClient(credentials),
        credentials,
        cipher=cipher,
        base_delay=0.05,
        max_delay=0.5,
        on_status=on_status,
    )
    relay.start()
    try:
        assert drained.wait(timeout=30)
    finally:
        relay.stop()


def _reported(hq: Hq) -> dict[tuple[str | None, datetime], plays.Plays]:
    database = Database(hq.database_url)
    try:
        found = plays.report(
            database,
            first=START.date(),
            last=START.date(),
            zone=ZoneInfo("UTC"),
            per="hour",
        )
    finally:
        database.dispose()
    assert all(
        [store for store, _ in campaign.by_store] == ["store-pop"] for campaign in found.campaigns
    )
    return {
        (campaign.campaign, start): hourly
        for campaign in found.campaigns
        for start, hourly in campaign.by_time
    }


def _stored_event(hq: Hq, event_id: str) -> dict[str, object]:
    """The event as HQ stored it, as the kiosk's relay sends it."""
    database = Database(hq.database_url)
    try:
        with database.read() as connection:
            row = (
                connection.execute(select(events).where(events.c.event_id == event_id))
                .mappings()
                .one()
            )
    finally:
        database.dispose()
    return {
        "event_id": event_id,
        "store_id": row["store_id"],
        "kiosk_id": row["kiosk_id"],
        "seq": row["seq"],
        "kind": row["kind"],
        "schema_version": row["schema_version"],
        "occurred_at": row["occurred_at"].isoformat(),
        "payload": row["payload"],
    }
