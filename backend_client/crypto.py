"""Payload encryption at rest: what a stolen kiosk's disk gives away about shoppers.

Outbox payloads may carry personal data (a member's phone number, name, consents)
until HQ acknowledges them. They are sealed with AES-256-GCM under a key that
belongs to this kiosk alone and lives in a file only the kiosk's user can read.

A sealed payload is a text token: `SEALED_PREFIX` followed by base64 of the
nonce and the ciphertext (which ends with GCM's 16-byte tag). The caller passes
associated data (the outbox uses the event id), so a token copied onto another
record fails to decrypt instead of quietly telling the wrong story.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import os
import stat
from pathlib import Path
from typing import Final, Self

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from backend_client.private_files import private_dir

KEY_BYTES: Final = 32
"""AES-256: the key file holds exactly these raw bytes."""

NONCE_BYTES: Final = 12
# GCM's standard nonce size. Random nonces under one key stay safe for about 2**32
# messages; a kiosk writes a few thousand events a day, so never comes near it.

_TAG_BYTES: Final = 16

SEALED_PREFIX: Final = "v1:"
"""Version of the token format. Never starts with "{", so JSON text is told apart."""

_PRIVATE_MODE: Final = 0o600
_OTHERS_BITS: Final = 0o077  # any access for group or others: refused, as ssh does


class KeyFileError(Exception):
    """The key file cannot be used: wrong size, too open, or unreadable."""


class DecryptionError(Exception):
    """A token did not decrypt: tampered with, moved to another record, or another key."""


class PayloadCipher:
    """Seals and opens payloads with this kiosk's key. Safe to share between threads."""

    __slots__ = ("_aead",)

    def __init__(self, key: bytes) -> None:
        if len(key) != KEY_BYTES:
            raise ValueError(f"a payload key is {KEY_BYTES} bytes, got {len(key)}")
        self._aead = AESGCM(key)

    def __repr__(self) -> str:
        return "PayloadCipher(<key hidden>)"

    @classmethod
    def from_key_file(cls, path: Path) -> Self:
        """The cipher for the key in `path`; the key is made on first use.

        A new key is written to a private temporary file and linked into place, so
        `path` never exists half-written, and two processes starting together end
        up with the same key (the loser of the race reads the winner's).
        """
        try:
            return cls(_read_key(path))
        except FileNotFoundError:
            pass
        with contextlib.suppress(FileExistsError):
            _create_key(path)
        return cls(_read_key(path))

    def encrypt(self, plaintext: bytes, associated: bytes) -> str:
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, plaintext, associated)
        return SEALED_PREFIX + base64.b64encode(nonce + sealed).decode("ascii")

    def decrypt(self, token: str, associated: bytes) -> bytes:
        """The plaintext of `token`; DecryptionError if it is not intact."""
        if not token.startswith(SEALED_PREFIX):
            raise DecryptionError("not an encrypted payload of a known version")
        try:
            raw = base64.b64decode(token[len(SEALED_PREFIX) :], validate=True)
        except (binascii.Error, ValueError):
            raise DecryptionError("encrypted payload is not valid base64") from None
        if len(raw) < NONCE_BYTES + _TAG_BYTES:
            raise DecryptionError("encrypted payload is truncated")
        try:
            return self._aead.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], associated)
        except InvalidTag:
            raise DecryptionError(
                "encrypted payload failed its integrity check "
                "(altered, moved from another record, or sealed with another key)"
            ) from None


def _read_key(path: Path) -> bytes:
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise KeyFileError(f"payload key {path} is not a regular file")
        if info.st_mode & _OTHERS_BITS:
            raise KeyFileError(
                f"payload key {path} is open to group or others "
                f"(mode {stat.S_IMODE(info.st_mode):04o}); chmod 600 it"
            )
        key = os.read(fd, KEY_BYTES + 1)
    finally:
        os.close(fd)
    if len(key) != KEY_BYTES:
        # Never replaced silently: a new key would make every sealed payload unreadable.
        raise KeyFileError(
            f"payload key {path} holds {len(key)} bytes, expected {KEY_BYTES}; "
            "restore it from a backup (a new key cannot read what the old one sealed)"
        )
    return key


def _create_key(path: Path) -> None:
    """Write a fresh key to `path`; FileExistsError if another process was first."""
    private_dir(path.parent)
    staging = path.with_name(f".{path.name}.{os.getpid()}.{os.urandom(4).hex()}")
    fd = os.open(staging, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, _PRIVATE_MODE)
    try:
        try:
            key = AESGCM.generate_key(bit_length=KEY_BYTES * 8)
            if os.write(fd, key) != len(key):
                raise OSError(f"short write to {staging}")
            os.fsync(fd)
        finally:
            os.close(fd)
        os.link(staging, path)  # fails with FileExistsError instead of replacing a key
    finally:
        staging.unlink(missing_ok=True)
    _fsync_directory(path.parent)


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
