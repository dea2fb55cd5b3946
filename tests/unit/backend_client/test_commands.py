"""HQ's remote commands as the kiosk's relay child checks them: signature from the pinned
key, this kiosk, not expired, never twice (backend_client/commands.py)."""

from __future__ import annotations

import json
import stat
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from helpers.content_server import KIOSK, NOW, STORE, ContentKeys, manifest_payload

from backend_client.command_runner import kiosk_journal, newest
from backend_client.commands import (
    CLOCK_SKEW,
    LEDGER_FILE,
    Command,
    CommandLedger,
    CommandRefused,
    verify_command,
)
from backend_client.release_manifest import Refused, verify

ID = "6f1c2a9e-3b7d-4e0a-9c51-2d8f4b6a7e10"


def command_payload(
    *,
    command_id: str = ID,
    kiosk_id: str = KIOSK,
    kind: str = "screenshot",
    issued_at: datetime = NOW,
    expires_at: datetime | None = None,
) -> bytes:
    """As docs/hq-api.md writes it: the context line, then canonical JSON."""
    document = {
        "id": command_id,
        "kiosk_id": kiosk_id,
        "kind": kind,
        "issued_at": issued_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "expires_at": (expires_at or issued_at + timedelta(minutes=15)).strftime(
            "%Y-%m-%dT%H:%M:%SZ"
        ),
    }
    return (
        b"kiosk-command-v1\n" + json.dumps(document, sort_keys=True, separators=(",", ":")).encode()
    )


def signed(keys: ContentKeys, payload: bytes, **kwargs: Any) -> dict[str, Any]:
    return json.loads(keys.envelope(payload, **kwargs))


def refused(document: object, keys: ContentKeys, now: datetime = NOW) -> CommandRefused:
    with pytest.raises(CommandRefused) as caught:
        verify_command(document, keys.first_public, KIOSK, now)
    return caught.value


def test_a_command_signed_by_hq_for_this_kiosk_is_taken() -> None:
    keys = ContentKeys()
    command = verify_command(signed(keys, command_payload()), keys.first_public, KIOSK, NOW)
    assert command == Command(ID, KIOSK, "screenshot", NOW, NOW + timedelta(minutes=15))


def test_a_command_signed_by_a_rotated_key_endorsed_by_the_pinned_one_is_taken() -> None:
    keys = ContentKeys()
    keys.rotate()
    command = verify_command(signed(keys, command_payload()), keys.first_public, KIOSK, NOW)
    assert command.id == ID


def test_a_forged_signature_is_refused_and_not_worth_reporting() -> None:
    keys = ContentKeys()
    forger = Ed25519PrivateKey.generate()  # a key outside HQ's chain
    refusal = refused(signed(keys, command_payload(), signer=forger), keys)
    assert refusal.reason == "not signed by HQ"
    assert refusal.command_id is None  # a forger's id is not HQ's to hear about


def test_a_stranger_chain_and_a_tampered_payload_are_refused() -> None:
    keys = ContentKeys()
    stranger = ContentKeys()
    assert refused(signed(stranger, command_payload()), keys).reason == "not signed by HQ"
    document = signed(keys, command_payload(kind="identify"))
    document["payload"] = signed(keys, command_payload(kind="restart"))["payload"]
    document["signature"] = signed(keys, command_payload(kind="identify"))["signature"]
    assert refused(document, keys).reason == "not signed by HQ"


@pytest.mark.parametrize(
    "document",
    [None, "restart", {"kind": "restart"}, {"payload": "", "signature": {}, "keys": []}],
)
def test_an_unsigned_command_is_refused(document: object) -> None:
    keys = ContentKeys()
    assert refused(document, keys).reason == "not signed by HQ"


def test_another_kiosks_command_is_refused() -> None:
    keys = ContentKeys()
    refusal = refused(signed(keys, command_payload(kiosk_id=f"{STORE}-k2")), keys)
    assert refusal.reason == "for another kiosk"
    assert refusal.command_id is None


def test_an_expired_command_is_refused_beyond_the_clock_skew_allowed() -> None:
    keys = ContentKeys()
    document = signed(keys, command_payload())
    expires = NOW + timedelta(minutes=15)
    assert verify_command(document, keys.first_public, KIOSK, expires + CLOCK_SKEW).id == ID
    refusal = refused(document, keys, now=expires + CLOCK_SKEW + timedelta(seconds=1))
    assert (refusal.reason, refusal.command_id) == ("expired", ID)
    early = refused(document, keys, now=NOW - CLOCK_SKEW - timedelta(seconds=1))
    assert early.reason == "issued at an impossible time"


def test_a_manifest_signature_never_passes_as_a_command_nor_the_reverse() -> None:
    keys = ContentKeys()
    manifest = manifest_payload([], release=3)
    refusal = refused(signed(keys, manifest), keys)
    assert refusal.reason == "signed by HQ, but not a command"
    command_body = keys.envelope(command_payload())
    with pytest.raises(Refused):
        verify(
            command_body, pinned=keys.first_public, store_id=STORE, kiosk_id=KIOSK,
            highest=0, now=NOW,
        )  # fmt: skip


def test_a_command_runs_once_even_across_a_restart(tmp_path: Path) -> None:
    command = Command(ID, KIOSK, "restart", NOW, NOW + timedelta(minutes=15))
    ledger = CommandLedger(tmp_path, NOW)
    assert ledger.claim(command, NOW)
    assert not ledger.claim(command, NOW)  # replayed in the same run
    assert not CommandLedger(tmp_path, NOW).claim(command, NOW)  # after a restart
    mode = stat.S_IMODE((tmp_path / LEDGER_FILE).stat().st_mode)
    assert mode == 0o600


def test_the_ledger_forgets_ids_once_their_command_has_expired(tmp_path: Path) -> None:
    old = Command(ID, KIOSK, "identify", NOW, NOW + timedelta(minutes=15))
    CommandLedger(tmp_path, NOW).claim(old, NOW)
    later = NOW + timedelta(hours=2)
    fresh = Command("c2", KIOSK, "identify", later, later + timedelta(minutes=15))
    assert CommandLedger(tmp_path, later).claim(fresh, later)
    assert json.loads((tmp_path / LEDGER_FILE).read_text()).keys() == {"c2"}


def test_a_damaged_ledger_refuses_every_command_issued_before_it_was_found(
    tmp_path: Path,
) -> None:
    (tmp_path / LEDGER_FILE).write_text("{not json")
    ledger = CommandLedger(tmp_path, NOW)
    earlier = Command(ID, KIOSK, "restart", NOW - timedelta(minutes=1), NOW + timedelta(minutes=14))
    assert not ledger.claim(earlier, NOW)  # it may have run before the damage
    later = NOW + CLOCK_SKEW + timedelta(minutes=1)
    new = Command("c3", KIOSK, "restart", later, later + timedelta(minutes=15))
    assert ledger.claim(new, later)


def test_the_logs_are_the_kiosk_units_last_hour_of_journal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cgroup = tmp_path / "cgroup"
    cgroup.write_text("0::/user.slice/user-1000.slice/user@1000.service/app.slice/kiosk.service\n")
    journalctl = tmp_path / "journalctl"
    journalctl.write_text('#!/bin/sh\necho "$@"\n')
    journalctl.chmod(0o700)
    monkeypatch.delenv("INVOCATION_ID", raising=False)
    with pytest.raises(OSError, match="not running as a systemd service"):
        kiosk_journal(cgroup, str(journalctl))
    monkeypatch.setenv("INVOCATION_ID", "0123")
    logs = kiosk_journal(cgroup, str(journalctl))
    assert logs == b"--unit kiosk.service --since -1h --no-pager -o short-iso\n"


def test_logs_over_the_bound_keep_the_newest_whole_lines() -> None:
    text = b"".join(b"line %d\n" % n for n in range(1000))
    kept = newest(text, 100)
    assert len(kept) <= 100
    assert kept.endswith(b"line 999\n")
    assert kept.startswith(b"line ")
    assert newest(b"short\n", 100) == b"short\n"
