"""HQ's signed manifest: every reason a kiosk refuses one, with real Ed25519 keys."""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from helpers.content_server import KIOSK, NOW, STORE, ContentKeys, manifest_payload, raw_public

from backend_client.release_manifest import (
    Refused,
    ReleaseFile,
    key_id,
    release_number,
    verify,
)

SHA = "ab" * 32
FILES = [{"path": "catalog.json", "sha256": SHA, "size": 10}]


def check(body: bytes, keys: ContentKeys, **overrides: Any) -> Any:
    arguments: dict[str, Any] = {
        "pinned": keys.first_public,
        "store_id": STORE,
        "kiosk_id": KIOSK,
        "highest": 0,
        "now": NOW,
        **overrides,
    }
    return verify(body, **arguments)


def refusal(body: bytes, keys: ContentKeys, **overrides: Any) -> tuple[str, str]:
    with pytest.raises(Refused) as caught:
        check(body, keys, **overrides)
    return caught.value.reason, caught.value.detail


def test_a_signed_manifest_for_this_kiosk_is_taken() -> None:
    keys = ContentKeys()
    not_before = NOW + timedelta(hours=15)
    body = keys.envelope(manifest_payload(FILES, release=12, not_before=not_before))

    verified = check(body, keys)

    assert verified.manifest.release == 12
    assert verified.manifest.release_name == "hq-12"
    assert verified.manifest.not_before == not_before
    assert verified.manifest.files == (ReleaseFile("catalog.json", SHA, 10),)
    assert verified.newest_key == keys.first_public


def test_an_unsigned_manifest_is_refused() -> None:
    keys = ContentKeys()
    envelope = json.loads(keys.envelope(manifest_payload(FILES, release=1)))
    del envelope["signature"]

    assert refusal(json.dumps(envelope).encode(), keys)[0] == "signature"


def test_a_tampered_manifest_is_refused() -> None:
    keys = ContentKeys()
    envelope = json.loads(keys.envelope(manifest_payload(FILES, release=1)))
    payload = base64.b64decode(envelope["payload"]).replace(b"release 1", b"release 9")
    envelope["payload"] = base64.b64encode(payload).decode()

    reason, detail = refusal(json.dumps(envelope).encode(), keys)
    assert reason == "signature"
    assert "does not match" in detail


def test_a_manifest_signed_by_a_stranger_is_refused() -> None:
    keys = ContentKeys()
    stranger = ContentKeys()  # its own chain: the kiosk never pinned any of it

    reason, detail = refusal(stranger.envelope(manifest_payload(FILES, release=1)), keys)
    assert reason == "signature"
    assert "unknown key" in detail


def test_a_signature_by_a_key_outside_the_chain_is_refused() -> None:
    keys = ContentKeys()
    body = keys.envelope(manifest_payload(FILES, release=1), signer=Ed25519PrivateKey.generate())

    assert refusal(body, keys)[0] == "signature"


def test_a_rotated_key_endorsed_by_the_pinned_one_is_followed_and_pinned() -> None:
    keys = ContentKeys()
    pinned = keys.first_public
    keys.rotate()
    keys.rotate()

    verified = check(keys.envelope(manifest_payload(FILES, release=3)), keys, pinned=pinned)

    assert verified.newest_key == keys.newest_public != pinned


def test_after_rotation_the_retired_key_signs_nothing() -> None:
    keys = ContentKeys()
    old = keys.private[0]
    keys.rotate()

    body = keys.envelope(manifest_payload(FILES, release=3), signer=old)
    reason, detail = refusal(body, keys)
    assert reason == "signature"
    assert "newest" in detail


def test_a_forged_endorsement_breaks_the_chain() -> None:
    keys = ContentKeys()
    keys.rotate()
    # An attacker's key, "endorsed" by itself instead of by HQ's previous key.
    forged = Ed25519PrivateKey.generate()
    keys.private[-1] = forged
    keys.endorsements[-1] = forged.sign(b"kiosk-content-key/1\n" + raw_public(forged))

    reason, detail = refusal(keys.envelope(manifest_payload(FILES, release=2)), keys)
    assert reason == "signature"
    assert "endorsement" in detail


def test_a_kiosk_pinned_to_a_newer_key_ignores_the_older_ones() -> None:
    keys = ContentKeys()
    keys.rotate()
    keys.endorsements[1] = b"not checked: the kiosk already trusts this key"

    verified = check(
        keys.envelope(manifest_payload(FILES, release=2)), keys, pinned=keys.newest_public
    )
    assert verified.newest_key == keys.newest_public


def test_an_older_release_than_the_highest_accepted_is_a_rollback() -> None:
    keys = ContentKeys()
    body = keys.envelope(manifest_payload(FILES, release=11))

    assert refusal(body, keys, highest=12)[0] == "rollback"
    assert check(body, keys, highest=11).manifest.release == 11  # the same one again is fine


def test_an_expired_manifest_is_refused() -> None:
    keys = ContentKeys()
    body = keys.envelope(manifest_payload(FILES, release=5, expires=NOW + timedelta(minutes=1)))

    assert check(body, keys).manifest.release == 5
    assert refusal(body, keys, now=NOW + timedelta(minutes=1))[0] == "expired"


@pytest.mark.parametrize(("store", "kiosk"), [("S002", KIOSK), (STORE, "S001-k2")])
def test_a_manifest_for_another_store_or_kiosk_is_refused(store: str, kiosk: str) -> None:
    keys = ContentKeys()
    body = keys.envelope(manifest_payload(FILES, release=5, store=store, kiosk=kiosk))

    assert refusal(body, keys)[0] == "wrong_target"


@pytest.mark.parametrize(
    "files",
    [
        [],
        [{"path": "../etc/passwd", "sha256": SHA, "size": 1}],
        [{"path": ".staged.json", "sha256": SHA, "size": 1}],
        [{"path": "manifest.json", "sha256": SHA, "size": 1}],
        [{"path": "a.png", "sha256": "AB" * 32, "size": 1}],
        [{"path": "a.png", "sha256": SHA, "size": -1}],
        [{"path": "a.png", "sha256": SHA, "size": 1}, {"path": "a.png", "sha256": SHA, "size": 1}],
    ],
)
def test_a_signed_but_malformed_manifest_is_refused_as_invalid(files: list[Any]) -> None:
    keys = ContentKeys()

    assert refusal(keys.envelope(manifest_payload(files, release=5)), keys)[0] == "bundle_invalid"


@pytest.mark.parametrize("body", [b"", b"[]", b"not json", b'{"payload": "***"}'])
def test_garbage_is_refused_as_unsigned(body: bytes) -> None:
    assert refusal(body, ContentKeys())[0] == "signature"


def test_key_ids_and_release_names() -> None:
    assert key_id(bytes(32)) == "66687aadf862bd77"
    assert release_number("hq-12") == 12
    assert release_number("sample-16-1") is None
    assert release_number("hq-") is None
