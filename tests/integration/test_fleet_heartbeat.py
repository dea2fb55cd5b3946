"""A kiosk's heartbeat reaches HQ through its real relay child, and a kiosk gone silent
raises an alert at HQ within 3 minutes.

The kiosk's side is what the screen's process runs: a DataLink to a real relay child
(backend_client/relay_child.py), enrolled with a real HQ served on loopback. The
screen's report (its devices' states) goes over the link; the child's heartbeat
carries it, with the outbox, disk and uptime, to `POST /v1/heartbeat`. HQ's clock
is injected: the kiosk stops, the clock moves past 150 s, and HQ's sweep raises the
silence (no test waits three minutes). A kiosk that dies leaves its last crash for
the next heartbeat; one that closes cleanly does not.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest
import requests
from helpers.bundles import sample_bundle
from helpers.content_hq import Publisher
from helpers.hq import enrol, fresh_postgres_database, hq_settings, issue_code, serving
from helpers.pickup import wait_until
from sqlalchemy import select

from backend_client.client import enroll
from backend_client.credentials import save_credentials
from backend_client.data_link import DataLink
from backend_client.kiosk_report import DeviceReport, KioskReport, read_crash
from backend_client.relay_process import RelayProcess
from hq.app import create_app
from hq.db import Database, heartbeat_history
from hq.fleet_health.store import KioskHealth, alerts, read_fleet_health
from hq.fleet_health.sweeper import AlertSweeper
from hq.migrations import migrate
from hq.settings import Settings

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
STORE = "sh-xujiahui"


class Clock:
    """HQ's clock: stands still unless the test moves it."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Hq:
    base_url: str
    settings: Settings
    clock: Clock
    database: Database

    def kiosk(self) -> KioskHealth | None:
        with self.database.read() as connection:
            found = read_fleet_health(connection, self.clock())
        return found[0] if found else None

    def open_alerts(self) -> list[tuple[str, str]]:
        with self.database.read() as connection:
            return sorted((alert.kind, alert.subject) for alert in alerts(connection))


@pytest.fixture
def hq(tmp_path: Path) -> Iterator[Hq]:
    settings = hq_settings(tmp_path / "hq")
    migrate(settings.database_url)
    clock = Clock()
    database = Database(settings.database_url)
    try:
        with serving(create_app(settings, clock=clock)) as base_url:
            yield Hq(base_url, settings, clock, database)
    finally:
        database.dispose()


def report(rfid: str, detail: str = "") -> KioskReport:
    return KioskReport(
        (DeviceReport("pickup", "up", "open"), DeviceReport("rfid", rfid, detail)),  # type: ignore[arg-type]
        "hq-3",
        started_mono=time.monotonic() - 300,  # the screen has been up five minutes
    )


def test_the_heartbeat_carries_the_devices_states_and_silence_raises_an_alert(
    hq: Hq, tmp_path: Path
) -> None:
    data = tmp_path / "kiosk"
    data.mkdir(mode=0o700)
    save_credentials(data, enroll(hq.base_url, issue_code(hq.settings.database_url, STORE)))
    link = DataLink()
    relay = RelayProcess(
        data,
        link=link,
        heartbeat_interval=0.2,
        content_interval=3600,
        store_key_interval=3600,
    )
    link.report(report("down", "[Errno 2] could not open port /dev/kiosk-rfid"))
    relay.start()
    try:
        heard = wait_until(
            lambda: (k := hq.kiosk()) is not None and k.last_heartbeat is not None and k,
            timeout=20,
            what="the first heartbeat at HQ",
        )
        assert [(d.name, d.state) for d in heard.devices] == [("pickup", "up"), ("rfid", "down")]
        assert heard.state.value == "trouble"
        assert heard.content_release == "hq-3"
        assert heard.app_version == metadata.version("lift-and-learn-kiosk")
        assert heard.uptime_s is not None
        assert heard.uptime_s >= 300
        assert heard.disk_free is not None
        assert 0 < heard.disk_free <= (heard.disk_total or 0)
        assert heard.screen in {"on", "off", "unknown"}
        assert hq.open_alerts() == [("device", "rfid")]

        link.report(report("up", "open"))  # the reader is plugged back in
        wait_until(lambda: hq.open_alerts() == [], timeout=20, what="the device alert cleared")
        assert hq.kiosk().state.value == "ok"  # type: ignore[union-attr]
    finally:
        link.close()
        relay.stop()
    assert read_crash(data) is None  # it closed cleanly: no crash to report

    last = hq.kiosk()
    assert last is not None
    assert last.last_heartbeat is not None
    sweeper = AlertSweeper(hq.database, hq.clock)  # what every HQ worker runs every 30 s
    hq.clock.now = last.last_heartbeat + timedelta(seconds=150)
    sweeper.sweep_once()
    assert hq.open_alerts() == []
    hq.clock.now = last.last_heartbeat + timedelta(seconds=180)  # the next sweep, at the latest
    sweeper.sweep_once()
    assert hq.open_alerts() == [("silent", "")]
    with hq.database.read() as connection:
        (silent,) = alerts(connection)
    assert silent.raised_at == last.last_heartbeat + timedelta(seconds=150)
    assert hq.kiosk().state.value == "silent"  # type: ignore[union-attr]


def test_a_kiosk_that_dies_leaves_its_last_crash_for_the_heartbeat(tmp_path: Path) -> None:
    before = datetime.now(UTC)
    script = textwrap.dedent(
        f"""
        import os
        from pathlib import Path
        from backend_client.data_link import DataLink
        from backend_client.relay_process import RelayProcess
        link = DataLink()
        relay = RelayProcess(Path({str(tmp_path)!r}), link=link)
        relay.start()
        while not link.connected:
            pass
        os._exit(1)  # as a segfault would: no close, no goodbye
        """
    )
    subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=60,
        check=False,
    )
    crash = wait_until(lambda: read_crash(tmp_path), timeout=20, what="the crash noted")
    assert crash.kind == "exited"
    assert before <= crash.at <= datetime.now(UTC)


def test_the_endpoint_wants_a_kiosks_token_and_a_well_formed_heartbeat(hq: Hq) -> None:
    url = f"{hq.base_url}/v1/heartbeat"
    body = {"app_version": "0.1.0", "devices": [{"name": "pickup", "state": "up"}]}
    assert requests.post(url, json=body, timeout=10).status_code == 401
    kiosk = enrol(hq.base_url, issue_code(hq.settings.database_url, STORE)).json()
    staff = enrol(hq.base_url, issue_code(hq.settings.database_url, STORE, role="attendant"))
    as_kiosk = {"Authorization": f"Bearer {kiosk['token']}"}
    as_staff = {"Authorization": f"Bearer {staff.json()['token']}"}
    assert requests.post(url, json=body, headers=as_staff, timeout=10).status_code == 403
    for bad in (
        {"devices": []},  # no app version
        {**body, "devices": [{"name": "pickup", "state": "melted"}]},
        {**body, "outbox": {"backlog": -1}},
        {**body, "devices": [{"name": f"d{n}", "state": "up"} for n in range(17)]},
    ):
        answer = requests.post(url, json=bad, headers=as_kiosk, timeout=10)
        assert answer.status_code == 422, bad
    assert hq.kiosk() is not None
    assert hq.kiosk().last_heartbeat is None  # type: ignore[union-attr]  # nothing stored
    answer = requests.post(
        url, json={**body, "later": "a newer kiosk's field"}, headers=as_kiosk, timeout=10
    )
    assert answer.status_code == 200
    assert answer.json() == {
        "next_in": 60,
        "commands": [],
        "content_etag": None,  # no release for the kiosk yet
        "feed_version": 0,
    }
    assert hq.kiosk().last_heartbeat == hq.clock()  # type: ignore[union-attr]


def test_the_answer_carries_the_etag_a_manifest_poll_would_get_now(hq: Hq, tmp_path: Path) -> None:
    kiosk = enrol(hq.base_url, issue_code(hq.settings.database_url, STORE)).json()
    as_kiosk = {"Authorization": f"Bearer {kiosk['token']}"}

    def beat() -> dict[str, Any]:
        answer = requests.post(
            f"{hq.base_url}/v1/heartbeat",
            json={"app_version": "0.1.0"},
            headers=as_kiosk,
            timeout=10,
        )
        assert answer.status_code == 200, answer.text
        document: dict[str, Any] = answer.json()
        return document

    def manifest_etag() -> str:
        answer = requests.get(f"{hq.base_url}/v1/content/manifest", headers=as_kiosk, timeout=10)
        assert answer.status_code == 200, answer.text
        return answer.headers["ETag"]

    assert beat()["content_etag"] is None
    publisher = Publisher(hq.settings)
    publisher.publish(sample_bundle(tmp_path / "first", release="hq-1"), f"store:{STORE}")
    first = beat()["content_etag"]
    assert first == manifest_etag()
    publisher.publish(sample_bundle(tmp_path / "second", seed=2), f"store:{STORE}")
    second = beat()["content_etag"]
    assert second == manifest_etag()
    assert second != first


@pytest.fixture(params=["sqlite", "postgresql"])
def any_hq(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Hq]:
    with ExitStack() as stack:
        url = None if request.param == "sqlite" else stack.enter_context(fresh_postgres_database())
        settings = hq_settings(tmp_path / "hq", url)
        migrate(settings.database_url)
        clock = Clock()
        database = Database(settings.database_url)
        stack.callback(database.dispose)
        base_url = stack.enter_context(serving(create_app(settings, clock=clock)))
        yield Hq(base_url, settings, clock, database)


def test_history_and_alerts_follow_the_heartbeats_posted(any_hq: Hq) -> None:
    """The endpoint reads the kiosk's last history row and open alerts with its token
    check, in one statement: the rows it keeps are those the rules ask for."""
    hq = any_hq
    kiosk = enrol(hq.base_url, issue_code(hq.settings.database_url, STORE)).json()
    start = hq.clock.now

    def beat(minutes: int, rfid: str = "up") -> None:
        hq.clock.now = start + timedelta(minutes=minutes)
        body = {
            "app_version": "0.1.0",
            "devices": [{"name": "pickup", "state": "up"}, {"name": "rfid", "state": rfid}],
        }
        answer = requests.post(
            f"{hq.base_url}/v1/heartbeat",
            json=body,
            headers={"Authorization": f"Bearer {kiosk['token']}"},
            timeout=10,
        )
        assert answer.status_code == 200, answer.text

    def history() -> int:
        with hq.database.read() as connection:
            return len(connection.execute(select(heartbeat_history.c.id)).all())

    beat(0)
    assert (history(), hq.open_alerts()) == (1, [])
    beat(1)  # nothing changed: no row
    assert (history(), hq.open_alerts()) == (1, [])
    beat(2, rfid="down")
    assert (history(), hq.open_alerts()) == (2, [("device", "rfid")])
    beat(3, rfid="down")
    assert (history(), hq.open_alerts()) == (2, [("device", "rfid")])
    beat(4)
    assert (history(), hq.open_alerts()) == (3, [])
    beat(14)  # ten minutes since the last row
    assert history() == 4
