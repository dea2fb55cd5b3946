"""HQ's content key: signatures a kiosk can check, tampering and wrong keys refused,
rotation endorsed by the old key, keys kept private on disk."""

from __future__ import annotations

import base64
import json
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from hq.content.signing import (
    ENDORSEMENT_CONTEXT,
    ChainLink,
    ContentKeyError,
    ContentKeys,
    SignatureRefused,
    envelope,
    key_id_of,
    verify_envelope,
)

PAYLOAD = b'{"format":1,"release":12,"store":"s001"}'


def signed(keys: ContentKeys, payload: bytes = PAYLOAD) -> dict[str, object]:
    signature, chain = keys.sign(payload)
    # As served: JSON text, read back by the kiosk.
    return json.loads(json.dumps(envelope(payload, signature, chain)))


def test_a_signed_manifest_verifies_with_the_key_pinned_at_enrolment(tmp_path: Path) -> None:
    keys = ContentKeys(tmp_path / "keys")
    pinned = keys.current().key

    assert verify_envelope(signed(keys), pinned) == PAYLOAD


def test_the_first_key_is_made_once_and_kept_private(tmp_path: Path, no_umask: None) -> None:
    directory = tmp_path / "keys"
    first = ContentKeys(directory).current()
    again = ContentKeys(directory).current()

    assert again == first
    assert first.key_id == key_id_of(first.key)
    assert len(first.key) == 32
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    files = sorted(directory.iterdir())
    assert {path.name for path in files} >= {
        "content-keys.json",
        f"content-signing-{first.key_id}.pem",
    }
    assert all(stat.S_IMODE(path.stat().st_mode) == 0o600 for path in files)


def test_a_tampered_payload_is_refused(tmp_path: Path) -> None:
    keys = ContentKeys(tmp_path / "keys")
    document = signed(keys)
    document["payload"] = base64.b64encode(PAYLOAD.replace(b"12", b"13")).decode()

    with pytest.raises(SignatureRefused, match="does not match"):
        verify_envelope(document, keys.current().key)


def test_a_manifest_signed_by_another_hq_is_refused(tmp_path: Path) -> None:
    ours = ContentKeys(tmp_path / "ours")
    theirs = ContentKeys(tmp_path / "theirs")

    with pytest.raises(SignatureRefused, match="pinned key is not in the key chain"):
        verify_envelope(signed(theirs), ours.current().key)


def test_a_signature_by_an_older_key_of_the_chain_is_refused(tmp_path: Path) -> None:
    keys = ContentKeys(tmp_path / "keys")
    first = keys.current()
    old_signature = signed(keys)["signature"]
    keys.rotate()
    document = signed(keys)
    document["signature"] = old_signature

    with pytest.raises(SignatureRefused, match="not by the newest key"):
        verify_envelope(document, first.key)


def test_after_rotations_a_kiosk_pinned_to_any_earlier_key_follows_the_chain(
    tmp_path: Path,
) -> None:
    keys = ContentKeys(tmp_path / "keys")
    first = keys.current()
    second = keys.rotate()
    third = keys.rotate()

    document = signed(keys)
    chain = document["keys"]
    assert isinstance(chain, list)
    assert [entry["key_id"] for entry in chain] == [first.key_id, second.key_id, third.key_id]
    assert chain[0]["endorsed_by"] is None
    assert chain[0]["endorsement"] == ""
    assert chain[2]["endorsed_by"] == second.key_id
    for pinned in (first, second, third):
        assert verify_envelope(document, pinned.key) == PAYLOAD
    assert document["signature"]["key_id"] == third.key_id  # type: ignore[index]


def test_a_key_slipped_into_the_chain_without_the_old_keys_endorsement_is_refused(
    tmp_path: Path,
) -> None:
    keys = ContentKeys(tmp_path / "keys")
    first = keys.current()
    intruder = Ed25519PrivateKey.generate()
    raw = intruder.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    # Endorsed by itself, not by the key before it.
    forged = ChainLink(raw, first.key_id, intruder.sign(ENDORSEMENT_CONTEXT + raw))
    payload = PAYLOAD
    document = {
        "payload": base64.b64encode(payload).decode(),
        "signature": {
            "key_id": forged.key_id,
            "sig": base64.b64encode(intruder.sign(payload)).decode(),
        },
        "keys": [first.as_json(), forged.as_json()],
    }

    with pytest.raises(SignatureRefused, match="endorsement of key"):
        verify_envelope(document, first.key)


def test_an_unsigned_document_is_refused(tmp_path: Path) -> None:
    keys = ContentKeys(tmp_path / "keys")

    with pytest.raises(SignatureRefused, match="not a signed manifest"):
        verify_envelope({"payload": base64.b64encode(PAYLOAD).decode()}, keys.current().key)


def test_a_running_hq_signs_with_the_key_another_process_rotated_to(tmp_path: Path) -> None:
    serving = ContentKeys(tmp_path / "keys")
    first = serving.current()
    rotated = ContentKeys(tmp_path / "keys").rotate()  # `kiosk-hq content rotate-key`

    document = signed(serving)

    assert document["signature"]["key_id"] == rotated.key_id  # type: ignore[index]
    assert verify_envelope(document, first.key) == PAYLOAD


def test_a_damaged_key_chain_is_a_clear_error_not_a_new_key(tmp_path: Path) -> None:
    keys = ContentKeys(tmp_path / "keys")
    keys.current()
    keys.chain_path.write_text("{not json")

    with pytest.raises(ContentKeyError, match="is damaged"):
        ContentKeys(tmp_path / "keys").current()
