"""The relay child of an attendant device and of a kiosk, against a real HQ on loopback.

Both keep the store's channel key from HQ (at start, then every interval: a
short one here), so a `kiosk-hq store rotate-channel-key` reaches their
`store.key` with the old key kept as the previous one. Only the kiosk keeps a
member directory. The attendant's outbox reaches HQ as a kiosk's does.
"""

from __future__ import annotations

import base64
import json
import os
import stat
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from helpers.hq import Hq, hq_cli, hq_of_its_own, issue_code, new_store_id
from helpers.pickup import wait_until

from backend_client.crypto import PayloadCipher
from backend_client.enroll import main as enroll_main
from backend_client.members import MEMBERS_FILE
from backend_client.outbox import Outbox, OutboxRecord
from backend_client.relay_process import KEY_FILE as OUTBOX_KEY
from backend_client.relay_process import OUTBOX_FILE, RelayProcess
from backend_client.store_key_refresh import held_key
from hq.db import alert_acks

pytestmark = pytest.mark.slow

WAIT_S = 30.0  # generous: the child starts a Python interpreter and asks HQ twice a second


@pytest.fixture
def hq(tmp_path: Path) -> Iterator[Hq]:
    with hq_of_its_own(tmp_path / "hq") as running:
        yield running


def enrolled(data: Path, hq: Hq, code: str) -> Path:
    assert enroll_main(["--hq", hq.base_url, "--code", code, "--data-dir", str(data)]) == 0
    return data


def relay(data: Path) -> RelayProcess:
    return RelayProcess(data, store_key_interval=0.5, restart_delay=0.2)


def test_a_rotated_store_key_reaches_both_roles_and_only_the_kiosk_keeps_members(
    hq: Hq, tmp_path: Path
) -> None:
    store = new_store_id()
    kiosk_dir = enrolled(tmp_path / "kiosk", hq, issue_code(hq.database_url, store))
    done = hq_cli(hq, "store", "enrol-attendant", store)
    assert done.returncode == 0, done.stderr
    attendant_dir = enrolled(tmp_path / "attendant", hq, done.stdout.strip())
    old = held_key(attendant_dir)
    assert old is not None
    assert held_key(kiosk_dir) == old

    relays = [relay(kiosk_dir), relay(attendant_dir)]
    for each in relays:
        each.start()
    try:
        # The kiosk's member feed runs at start: its directory file appears.
        wait_until((kiosk_dir / MEMBERS_FILE).exists, WAIT_S, "the kiosk's members")
        rotated = hq_cli(hq, "store", "rotate-channel-key", store)
        assert rotated.returncode == 0, rotated.stderr
        for data in (kiosk_dir, attendant_dir):
            wait_until(lambda data=data: held_key(data) not in {None, old}, WAIT_S, "a new key")
    finally:
        for each in relays:
            each.stop()

    lines = (attendant_dir / "store.key").read_text().split()
    assert lines[1] == base64.b64encode(old).decode()  # the old key still accepted
    assert (kiosk_dir / "store.key").read_text() == (attendant_dir / "store.key").read_text()
    assert stat.S_IMODE(os.stat(attendant_dir / "store.key").st_mode) == 0o600
    saved = json.loads((attendant_dir / "hq.json").read_text())
    assert saved["channel_key"]["key_id"] == 2
    assert saved["channel_key"]["key"] == lines[0]
    assert saved["role"] == "attendant"
    assert not (attendant_dir / MEMBERS_FILE).exists()


def test_an_attendants_outbox_reaches_hq_through_its_relay(hq: Hq, tmp_path: Path) -> None:
    store = new_store_id()
    kiosk_dir = enrolled(tmp_path / "kiosk", hq, issue_code(hq.database_url, store))
    kiosk_id = json.loads((kiosk_dir / "hq.json").read_text())["kiosk_id"]
    done = hq_cli(hq, "store", "enrol-attendant", store)
    assert done.returncode == 0, done.stderr
    attendant_dir = enrolled(tmp_path / "attendant", hq, done.stdout.strip())
    ack = {
        "kiosk": kiosk_id,
        "alert_seq": 3,
        "alert_kind": "survey_answer",
        "by": "staff-2",
        "after_s": 40.0,
    }
    cipher = PayloadCipher.from_key_file(attendant_dir / OUTBOX_KEY)
    with Outbox(attendant_dir / OUTBOX_FILE, cipher=cipher) as outbox:
        outbox.append_many(
            [
                OutboxRecord(uuid.uuid4(), "alert_ack", 1, ack, datetime.now(UTC)),
            ]
        )
    attendant = relay(attendant_dir)
    attendant.start()
    try:
        wait_until(lambda: hq.count(alert_acks, store_id=store) == 1, WAIT_S, "the ack at HQ")
        wait_until(
            lambda: attendant.status is not None and attendant.status.pending == 0,
            WAIT_S,
            "an empty outbox",
        )
    finally:
        attendant.stop()
