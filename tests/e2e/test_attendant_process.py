"""The real `kiosk-attendant` process: its staff subcommand, and the app following a real
kiosk channel server, stopped with SIGTERM and started again where it left off."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from helpers.channel import KEY, STORE, Kiosk
from helpers.pickup import wait_until

from backend_client.channel.keys import write_store_key
from backend_client.credentials import Credentials, save_credentials
from kiosk.attendant.store import open_store

pytestmark = pytest.mark.slow

APP = [sys.executable, "-m", "kiosk.attendant.cli"]
K1 = f"{STORE}-k1"


def staff(data: Path, *args: str, pin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*APP, "staff", *args, "--data-dir", str(data)],
        input=pin + "\n",
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_staff_add_makes_a_manager_who_is_listed_and_refuses_a_bad_pin(tmp_path: Path) -> None:
    data = tmp_path / "attendant"
    added = staff(data, "add", "--name", "李店长", "--role", "manager", "--pin-stdin", pin="2468")
    assert added.returncode == 0, added.stderr
    assert "2468" not in added.stdout + added.stderr
    listed = staff(data, "list")
    (line,) = listed.stdout.splitlines()
    assert line.split("\t")[1:] == ["manager", "李店长"]
    short = staff(data, "add", "--name", "王芳", "--pin-stdin", pin="12")
    assert short.returncode == 1
    again = staff(data, "add", "--name", "李店长", "--pin-stdin", pin="1357")
    assert again.returncode == 1
    assert len(staff(data, "list").stdout.splitlines()) == 1


@pytest.fixture
def kiosk(tmp_path: Path) -> Iterator[Kiosk]:
    served = Kiosk(tmp_path / "k1", K1)
    try:
        served.serve()
        yield served
    finally:
        served.close()


def start_app(data: Path, kiosk: Kiosk, log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    with log.open("ab") as out:
        return subprocess.Popen(
            [*APP, "--data-dir", str(data), "--no-discover", "--kiosk",
             f"{K1}={kiosk.endpoint.url}"],
            stdout=out, stderr=subprocess.STDOUT, env=env,
        )  # fmt: skip


def alarm(kiosk: Kiosk) -> None:
    kiosk.window.append("alarm", {"slot": 2, "reason": "CABLE", "sku": None}, at=datetime.now(UTC))


def alarms_raised(log: Path) -> int:
    return log.read_text().count("alert alarm at")  # the desk's log line for a new alert


def stop_app(app: subprocess.Popen[bytes]) -> None:
    try:
        app.send_signal(signal.SIGTERM)
        assert app.wait(30) == 0
    finally:
        if app.poll() is None:
            app.kill()
            app.wait(10)


def test_the_app_follows_a_kiosk_stops_on_sigterm_and_resumes_where_it_was(
    tmp_path: Path, kiosk: Kiosk
) -> None:
    data = tmp_path / "attendant"
    save_credentials(
        data, Credentials("http://127.0.0.1:9", STORE, f"{STORE}-a1", "attendant-token")
    )
    write_store_key(data, KEY)
    log = tmp_path / "attendant.log"
    for uptime in range(3):
        kiosk.append_heartbeat(uptime)
    alarm(kiosk)  # seq 4, after the heartbeats: seen means all were seen
    app = start_app(data, kiosk, log)
    try:
        wait_until(lambda: alarms_raised(log) == 1, 60, "the alarm raised")
    finally:
        stop_app(app)
    store = open_store(data)
    assert store.resume_points() == {K1: 4}
    store.close()
    alarm(kiosk)  # seq 5, while the app was away
    again = start_app(data, kiosk, log)
    try:
        wait_until(lambda: f": {K1}:5" in log.read_text(), 60, "the new alarm raised")
    finally:
        stop_app(again)
    assert log.read_text().count(f"kiosk {K1} live") == 2
    # Resumed after seq 4: messages come in seq order, so a replayed first alarm would
    # have been raised again before the new one.
    assert log.read_text().count(f": {K1}:4") == 1
    store = open_store(data)
    assert store.resume_points() == {K1: 5}
    store.close()
