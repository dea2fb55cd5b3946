"""Payloads are sealed with this kiosk's key; the key file is private and never replaced."""

from __future__ import annotations

import base64
import os
import stat
import threading
from pathlib import Path

import pytest

from backend_client.crypto import (
    KEY_BYTES,
    SEALED_PREFIX,
    DecryptionError,
    KeyFileError,
    PayloadCipher,
)

EVENT_ID = b"6f1c2a3e-0000-4000-8000-000000000001"
OTHER_EVENT_ID = b"6f1c2a3e-0000-4000-8000-000000000002"
PAYLOAD = '{"phone":"13800138000","name":"王芳"}'.encode()


@pytest.fixture
def cipher() -> PayloadCipher:
    return PayloadCipher(os.urandom(KEY_BYTES))


def test_sealed_payload_opens_with_the_same_event_id(cipher: PayloadCipher) -> None:
    token = cipher.encrypt(PAYLOAD, EVENT_ID)

    assert token.startswith(SEALED_PREFIX)
    assert not token.startswith("{")
    assert "13800138000" not in token
    assert cipher.decrypt(token, EVENT_ID) == PAYLOAD


def test_the_same_payload_seals_differently_each_time(cipher: PayloadCipher) -> None:
    assert cipher.encrypt(PAYLOAD, EVENT_ID) != cipher.encrypt(PAYLOAD, EVENT_ID)


def test_a_payload_moved_to_another_record_does_not_open(cipher: PayloadCipher) -> None:
    token = cipher.encrypt(PAYLOAD, EVENT_ID)

    with pytest.raises(DecryptionError, match="integrity check"):
        cipher.decrypt(token, OTHER_EVENT_ID)


def test_a_flipped_bit_is_detected(cipher: PayloadCipher) -> None:
    token = cipher.encrypt(PAYLOAD, EVENT_ID)
    raw = bytearray(base64.b64decode(token.removeprefix(SEALED_PREFIX)))
    raw[20] ^= 0x01
    tampered = SEALED_PREFIX + base64.b64encode(bytes(raw)).decode()

    with pytest.raises(DecryptionError, match="integrity check"):
        cipher.decrypt(tampered, EVENT_ID)


def test_another_key_cannot_open_a_payload(cipher: PayloadCipher) -> None:
    token = cipher.encrypt(PAYLOAD, EVENT_ID)

    with pytest.raises(DecryptionError):
        PayloadCipher(os.urandom(KEY_BYTES)).decrypt(token, EVENT_ID)


@pytest.mark.parametrize(
    ("token", "message"),
    [
        ('{"slot": 3}', "known version"),
        ("v2:AAAA", "known version"),
        (SEALED_PREFIX + "not base64!", "base64"),
        (SEALED_PREFIX + base64.b64encode(b"short").decode(), "truncated"),
    ],
)
def test_garbage_is_refused_clearly(cipher: PayloadCipher, token: str, message: str) -> None:
    with pytest.raises(DecryptionError, match=message):
        cipher.decrypt(token, EVENT_ID)


def test_repr_hides_the_key() -> None:
    key = bytes(range(KEY_BYTES))

    assert key.hex() not in repr(PayloadCipher(key))
    assert repr(PayloadCipher(key)) == "PayloadCipher(<key hidden>)"


def test_a_key_of_the_wrong_length_is_refused() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        PayloadCipher(b"short")


# --- the key file -------------------------------------------------------------------


def test_key_file_is_created_private_and_reused(tmp_path: Path) -> None:
    path = tmp_path / "data" / "outbox.key"

    first = PayloadCipher.from_key_file(path)
    token = first.encrypt(PAYLOAD, EVENT_ID)
    second = PayloadCipher.from_key_file(path)

    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.stat().st_size == KEY_BYTES
    assert second.decrypt(token, EVENT_ID) == PAYLOAD
    assert [p.name for p in path.parent.iterdir()] == ["outbox.key"]  # no staging left


def test_processes_racing_to_create_the_key_end_up_with_one(tmp_path: Path) -> None:
    path = tmp_path / "outbox.key"
    ciphers: list[PayloadCipher] = []
    start = threading.Barrier(8)

    def create() -> None:
        start.wait()
        ciphers.append(PayloadCipher.from_key_file(path))

    threads = [threading.Thread(target=create) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    token = ciphers[0].encrypt(PAYLOAD, EVENT_ID)
    assert all(c.decrypt(token, EVENT_ID) == PAYLOAD for c in ciphers)


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o620])
def test_key_file_open_to_others_is_refused(tmp_path: Path, mode: int) -> None:
    path = tmp_path / "outbox.key"
    PayloadCipher.from_key_file(path)
    path.chmod(mode)

    with pytest.raises(KeyFileError, match=f"open to group or others \\(mode 0{mode:o}\\)"):
        PayloadCipher.from_key_file(path)


@pytest.mark.parametrize("size", [0, 16, 33])
def test_key_file_of_the_wrong_size_is_refused_not_replaced(tmp_path: Path, size: int) -> None:
    path = tmp_path / "outbox.key"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    os.write(fd, b"k" * size)
    os.close(fd)

    with pytest.raises(KeyFileError, match=f"holds {size} bytes, expected 32"):
        PayloadCipher.from_key_file(path)
    assert path.read_bytes() == b"k" * size


def test_a_directory_in_place_of_the_key_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "outbox.key"
    path.mkdir(mode=0o700)

    with pytest.raises(KeyFileError, match="not a regular file"):
        PayloadCipher.from_key_file(path)
