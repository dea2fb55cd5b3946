"""`kiosk-hq fleet`: the fleet page in a terminal, as a table, only the trouble, or as JSON."""

from __future__ import annotations

import json
import os
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from helpers.console import ConsoleChain
from helpers.hq import KIOSK_HQ

from hq import audit
from hq.cli import main
from hq.content.signing import ContentKeys, verify_envelope
from hq.db import Database
from hq.enrollment import KioskIdentity
from hq.fleet_health.commands import KEEP, deliver, record_result
from hq.fleet_health.store import record_heartbeat
from hq.fleet_health.sweeper import AlertSweeper
from hq.fleet_health.wire import Heartbeat
from hq.migrations import migrate
from hq.settings import sqlite_url

pytestmark = pytest.mark.slow


def beat(database: Database, kiosk_id: str, at: datetime, *, rfid: str = "up") -> None:
    record_heartbeat(
        database,
        KioskIdentity(kiosk_id, kiosk_id.rsplit("-k", 1)[0]),
        Heartbeat.model_validate(
            {
                "app_version": "0.1.0",
                "content_release": "hq-9",
                "devices": [{"name": "rfid", "state": rfid, "detail": ""}],
                "outbox": {"backlog": 4, "dead_letters": 0},
                "disk": {"free_bytes": 12 << 30, "total_bytes": 32 << 30},
                "uptime_s": 5400,
            }
        ),
        now=at,
    )


def fleet(data: Path, url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("KIOSK_HQ_")}
    return subprocess.run(
        [str(KIOSK_HQ), "--data-dir", str(data), "--database-url", url, "fleet", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=env,
    )


def test_fleet_lists_kiosks_and_raises_silence_before_it_shows_the_trouble(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "hq.sqlite3")
    migrate(url)
    database = Database(url)
    now = datetime.now(UTC)
    try:
        ConsoleChain(database, tmp_path / "chain")  # three stores, five kiosks
        beat(database, "sh-nanjing-road-k1", now)
        beat(database, "sh-nanjing-road-k2", now, rfid="down")
        beat(database, "bj-sanlitun-k1", now - timedelta(minutes=10))  # silent since
    finally:
        database.dispose()

    trouble = fleet(tmp_path / "hq", url, "--trouble")
    assert trouble.returncode == 0, trouble.stderr
    rows = {line.split()[1]: line.split()[2] for line in trouble.stdout.splitlines()[1:] if line}
    assert rows.get("sh-nanjing-road-k2") == "trouble"
    assert rows.get("bj-sanlitun-k1") == "silent"
    assert "sh-nanjing-road-k1" not in rows  # well: not trouble
    assert "bj-sanlitun-k1  silent  no heartbeat for 10 min" in trouble.stdout

    listed = fleet(tmp_path / "hq", url, "--json")
    assert listed.returncode == 0, listed.stderr
    document = json.loads(listed.stdout)
    states = {kiosk["kiosk_id"]: kiosk["state"] for kiosk in document["kiosks"]}
    assert states == {
        "bj-sanlitun-k1": "silent",
        "bj-sanlitun-k2": "never",
        "sh-nanjing-road-k1": "ok",
        "sh-nanjing-road-k2": "trouble",
        "sh-xujiahui-k1": "never",
    }
    assert sorted((a["kiosk_id"], a["kind"]) for a in document["alerts"]) == [
        ("bj-sanlitun-k1", "silent"),
        ("sh-nanjing-road-k2", "device"),
    ]


def test_fleet_command_sends_a_signed_command_and_lists_its_result(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = sqlite_url(tmp_path / "hq.sqlite3")
    migrate(url)

    def kiosk_hq(*args: str) -> tuple[int, str, str]:  # in-process: no interpreter start-up
        code = main(["--data-dir", str(tmp_path / "hq"), "--database-url", url, "fleet", *args])
        out, err = capsys.readouterr()
        return code, out, err

    database = Database(url)
    try:
        ConsoleChain(database, tmp_path / "chain")
        code, out, err = kiosk_hq("command", "sh-nanjing-road-k2", "screenshot")
        assert code == 0, err
        command_id = out.split()[1]
        assert out.endswith("sent with its next heartbeat\n")
        (envelope,) = deliver(database, "sh-nanjing-road-k2", datetime.now(UTC))
        chain = ContentKeys(tmp_path / "hq" / "keys").chain()
        assert verify_envelope(envelope, chain[0].key).startswith(b"kiosk-command-v1\n")
        record_result(
            database, kiosk_id="sh-nanjing-road-k2", command_id=command_id, status="done",
            detail="1920x1080 PNG", file=b"\x89PNG...", now=datetime.now(UTC),
        )  # fmt: skip
        assert audit.recent(database)[0].action == "kiosk.command"
    finally:
        database.dispose()

    code, out, err = kiosk_hq("commands", "sh-nanjing-road-k2", "--json")
    assert code == 0, err
    (command,) = json.loads(out)
    assert (command["id"], command["kind"], command["state"]) == (command_id, "screenshot", "done")
    assert command["issued_by"].startswith("cli:")
    shot = tmp_path / "shot.png"
    code, out, err = kiosk_hq(
        "commands", "sh-nanjing-road-k2", "--save-file", command_id, str(shot)
    )
    assert code == 0, err
    assert shot.read_bytes() == b"\x89PNG..."

    code, out, err = kiosk_hq("command", "nowhere-k9", "restart")
    assert code == 1
    assert "no kiosk 'nowhere-k9'" in err

    # A month on, HQ's sweeper forgets the command with its screenshot.
    database = Database(url)
    try:
        issued = datetime.fromisoformat(command["issued_at"])
        AlertSweeper(database, lambda: issued + KEEP).prune_once()
        code, out, err = kiosk_hq("commands", "sh-nanjing-road-k2", "--json")
        assert json.loads(out) == [command]  # not yet: KEEP to the second
        AlertSweeper(database, lambda: issued + KEEP + timedelta(minutes=1)).prune_once()
    finally:
        database.dispose()
    code, out, err = kiosk_hq("commands", "sh-nanjing-road-k2", "--json")
    assert code == 0, err
    assert json.loads(out) == []
