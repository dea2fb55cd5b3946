"""HQ staff's remote commands reach the real kiosk process and come back, once each.

HQ is served on loopback; the kiosk is the real `kiosk` process (offscreen), enrolled
with it, beating every 0.3 s (`--heartbeat-interval`) so nothing waits a minute.
A screenshot comes back as a PNG the size of the kiosk's window; a command HQ hands
out again (a replay: the same signed bytes) is refused and not run again; a command
whose signature does not hold is refused and never reported; a restart makes the
kiosk exit with RESTART_EXIT. (That the ledger outlives a restart is
tests/unit/backend_client/test_commands.py's: a second kiosk start costs seconds.)
"""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from helpers.bundles import sample_bundle
from helpers.hq import hq_settings, issue_code, serving
from helpers.kiosk_process import start_kiosk
from helpers.pickup import wait_until
from PIL import Image
from sqlalchemy import update

from backend_client.client import enroll
from backend_client.commands import CommandLedger
from backend_client.credentials import save_credentials
from hq.app import create_app
from hq.content.signing import ContentKeys
from hq.db import Database, kiosk_commands
from hq.fleet_health.commands import KioskCommand, command_file, find_command, issue
from hq.migrations import migrate
from hq.settings import Settings
from kiosk.maintenance_parts import RESTART_EXIT
from kiosk.theme import SCREEN_SIZE

pytestmark = pytest.mark.slow

STORE = "sh-jingan"
BEAT = ["--heartbeat-interval", "0.3", "--no-channel"]


@dataclass
class Hq:
    base_url: str
    settings: Settings
    database: Database

    def send(self, kiosk_id: str, kind: str) -> str:
        keys = ContentKeys(self.settings.content_key_dir)
        now = datetime.now(UTC)
        return issue(self.database, keys, kiosk_id=kiosk_id, kind=kind, actor="test", now=now).id

    def get(self, command_id: str) -> KioskCommand:
        with self.database.read() as connection:
            found = find_command(connection, command_id)
        assert found is not None
        return found

    def finished(self, command_id: str) -> KioskCommand:
        return wait_until(
            lambda: (command := self.get(command_id)).status is not None and command,
            timeout=20,
            what=f"the result of command {command_id}",
        )

    def hand_out_again(self, command_id: str, **changes: object) -> None:
        """As a replaying attacker would: the same signed command, delivered anew."""
        with self.database.write() as connection:
            connection.execute(
                update(kiosk_commands)
                .where(kiosk_commands.c.id == command_id)
                .values(delivered_at=None, status=None, detail="", file=None, **changes)
            )


@pytest.fixture
def hq(tmp_path: Path) -> Iterator[Hq]:
    settings = hq_settings(tmp_path / "hq")
    migrate(settings.database_url)
    database = Database(settings.database_url)
    try:
        with serving(create_app(settings)) as base_url:
            yield Hq(base_url, settings, database)
    finally:
        database.dispose()


def tampered(envelope: str, kind: str) -> str:
    """The envelope with its payload's kind changed; the signature left as it was."""
    document = json.loads(envelope)
    payload = base64.b64decode(document["payload"])
    head, _, body = payload.partition(b"\n")
    fields = json.loads(body)
    fields["kind"] = kind
    forged = head + b"\n" + json.dumps(fields, sort_keys=True, separators=(",", ":")).encode()
    document["payload"] = base64.b64encode(forged).decode()
    return json.dumps(document)


def test_a_screenshot_comes_back_as_a_png_and_a_replayed_command_is_refused(
    hq: Hq, tmp_path: Path
) -> None:
    data = tmp_path / "kiosk"
    data.mkdir(mode=0o700)
    credentials = enroll(hq.base_url, issue_code(hq.settings.database_url, STORE))
    save_credentials(data, credentials)
    kiosk_id = credentials.kiosk_id
    bundle = sample_bundle(tmp_path / "bundle")

    kiosk = start_kiosk(bundle, data, extra=BEAT)
    try:
        shot = hq.finished(hq.send(kiosk_id, "screenshot"))
        assert (shot.status, shot.file_type) == ("done", "image/png"), shot.detail
        with hq.database.read() as connection:
            found = command_file(connection, shot.id)
        assert found is not None
        image = Image.open(io.BytesIO(found[3]))
        assert image.format == "PNG"
        assert image.size == SCREEN_SIZE  # the kiosk's window, as the shopper sees it
        image.load()  # decodes whole
        # Verified in the relay child: the screen's process never loads `cryptography`.
        assert "cryptography" not in Path(f"/proc/{kiosk.pid}/maps").read_text()
        assert image.getextrema() != ((0, 0),) * len(image.getbands())  # not blank

        hq.hand_out_again(shot.id)  # the same signed bytes, once more
        replay = hq.finished(shot.id)
        assert (replay.status, replay.detail, replay.file_type) == (
            "refused",
            "executed here already",
            None,
        )

        # A signature that does not hold: refused, never run, never reported.
        forged = hq.send(kiosk_id, "identify")
        with hq.database.read() as connection:
            envelope = connection.execute(
                kiosk_commands.select().where(kiosk_commands.c.id == forged)
            ).one()
        wait_until(lambda: hq.get(forged).state(datetime.now(UTC)) != "pending", timeout=20,
                   what="the identify delivered")  # fmt: skip
        hq.finished(forged)  # the real one runs
        hq.hand_out_again(forged, envelope=tampered(envelope.envelope, "restart"))
        wait_until(lambda: hq.get(forged).delivered_at is not None, timeout=20, what="delivery")
        logs = hq.finished(hq.send(kiosk_id, "upload-logs"))  # a command after it: in order
        assert (logs.status, logs.detail) == (
            "failed",
            "no journal: the kiosk is not running as a systemd service",
        )
        assert hq.get(forged).status is None  # the forged one was never reported
        assert kiosk.poll() is None  # nor carried out: the kiosk did not restart

        restart = hq.send(kiosk_id, "restart")
        assert kiosk.wait(timeout=20) == RESTART_EXIT
        assert hq.get(restart).status == "done"
        first_run = kiosk.communicate()[1].decode(errors="replace")
    except BaseException:
        kiosk.kill()
        print(kiosk.communicate()[1].decode(errors="replace")[-4000:])  # shown on failure
        raise
    assert first_run.count(f"HQ command {shot.id}: screenshot") == 1
    assert "HQ command refused: not signed by HQ" in first_run
    # What the restarted kiosk's child reads: every command run, none of the forged.
    ledger = CommandLedger(data, datetime.now(UTC))
    assert all(ledger.seen(command_id) for command_id in (shot.id, restart, logs.id))
