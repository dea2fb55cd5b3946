"""HQ's content key: Ed25519 signatures over each manifest's exact bytes.

The private keys live outside the database, in a directory of their own
(`<hq data>/keys` by default, 0700, each file 0600):

- `content-signing-<key_id>.pem`: one private key (PKCS #8);
- `content-keys.json`: the chain of public keys from the first ever, oldest
  first, each later one endorsed by the one before it.

A key's id is the first 16 hex digits of the SHA-256 of its raw 32-byte public
key. The first key is made on first use. `rotate()` makes a new key and has the
newest one sign `b"kiosk-content-key/1\\n" + new raw public key`: a kiosk that
pinned any key of the chain at enrolment walks the endorsements forward to the
newest, so keys change without enrolling kiosks again. (Not TUF: one signer,
one role, one target list per kiosk; an endorsement chain and a monotonic
release number do that job without four metadata documents.)

Creation and rotation hold an flock on `.lock` in the directory, so `kiosk-hq
serve` and a `kiosk-hq content rotate-key` beside it never make two first keys
or lose a rotation. A running HQ notices a rotation by the chain file's
identity (inode, size, mtime), checked at each use.
"""

from __future__ import annotations

import base64
import binascii
import fcntl
import hashlib
import json
import os
import secrets
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from hq.errors import HqError
from hq.private_files import private_dir

ENDORSEMENT_CONTEXT: Final = b"kiosk-content-key/1\n"
CHAIN_FILE: Final = "content-keys.json"
KEY_FILE_PREFIX: Final = "content-signing-"
_LOCK_FILE: Final = ".lock"


class ContentKeyError(HqError):
    """The content key directory cannot be used: unreadable, damaged, or not writable."""


class SignatureRefused(Exception):
    """An envelope or a key chain that does not verify; says why."""


def key_id_of(raw_public_key: bytes) -> str:
    return hashlib.sha256(raw_public_key).hexdigest()[:16]


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def unb64(text: str) -> bytes:
    return base64.b64decode(text.encode("ascii"), validate=True)


@dataclass(frozen=True, slots=True)
class ChainLink:
    """One public key of the chain and the previous key's endorsement of it."""

    key: bytes  # raw 32-byte Ed25519 public key
    endorsed_by: str | None = None  # the previous key's id; None for the first key
    endorsement: bytes = b""  # the previous key's signature over CONTEXT + key

    @property
    def key_id(self) -> str:
        return key_id_of(self.key)

    def as_json(self) -> dict[str, Any]:
        return {
            "key": b64(self.key),
            "key_id": self.key_id,
            "endorsed_by": self.endorsed_by,
            "endorsement": b64(self.endorsement),
        }

    @classmethod
    def from_json(cls, entry: Mapping[str, Any]) -> ChainLink:
        return cls(
            key=unb64(entry["key"]),
            endorsed_by=entry["endorsed_by"],
            endorsement=unb64(entry["endorsement"]),
        )


@dataclass(frozen=True, slots=True)
class Signature:
    key_id: str
    sig: bytes = field(repr=False)


class ContentKeys:
    """The content signing keys in one directory: sign, read the chain, rotate."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._lock = threading.Lock()
        self._identity: tuple[int, int, int] | None = None
        self._chain: tuple[ChainLink, ...] = ()
        self._signer: Ed25519PrivateKey | None = None

    @property
    def chain_path(self) -> Path:
        return self.directory / CHAIN_FILE

    def chain(self) -> tuple[ChainLink, ...]:
        """The key chain, oldest first; makes the first key if there is none yet."""
        with self._lock:
            self._refresh()
            return self._chain

    def current(self) -> ChainLink:
        """The newest key: what signs manifests, and what enrolment hands out."""
        return self.chain()[-1]

    def sign(self, payload: bytes) -> tuple[Signature, tuple[ChainLink, ...]]:
        """`payload` signed by the newest key, and the chain that signature belongs to."""
        with self._lock:
            self._refresh()
            assert self._signer is not None
            return Signature(self._chain[-1].key_id, self._signer.sign(payload)), self._chain

    def rotate(self) -> ChainLink:
        """A new key, endorsed by the newest one; manifests are signed by it from now on."""
        with self._lock, self._locked():
            chain = self._read_chain() or self._create_first()
            previous = chain[-1]
            old_signer = self._read_private(previous.key_id)
            new_signer = Ed25519PrivateKey.generate()
            raw = _raw(new_signer.public_key())
            link = ChainLink(
                key=raw,
                endorsed_by=previous.key_id,
                endorsement=old_signer.sign(ENDORSEMENT_CONTEXT + raw),
            )
            self._write_private(link.key_id, new_signer)
            self._write_chain((*chain, link))
            self._identity = None  # read again at the next use
            return link

    def _refresh(self) -> None:
        identity = self._file_identity()
        if identity is not None and identity == self._identity:
            return
        with self._locked():
            chain = self._read_chain() or self._create_first()
            signer = self._read_private(chain[-1].key_id)
            if _raw(signer.public_key()) != chain[-1].key:
                raise ContentKeyError(
                    f"the private key file of {chain[-1].key_id} holds another key"
                )
            self._chain, self._signer = chain, signer
            self._identity = self._file_identity()

    def _file_identity(self) -> tuple[int, int, int] | None:
        try:
            info = self.chain_path.stat()
        except FileNotFoundError:
            return None
        except OSError as error:
            raise ContentKeyError(f"cannot read {self.chain_path}: {error.strerror}") from None
        return (info.st_ino, info.st_size, info.st_mtime_ns)

    @contextmanager
    def _locked(self) -> Iterator[None]:
        try:
            private_dir(self.directory)
            fd = os.open(self.directory / _LOCK_FILE, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        except OSError as error:
            raise ContentKeyError(
                f"cannot use the content key directory {self.directory}: {error.strerror}"
            ) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # releases the flock

    def _read_chain(self) -> tuple[ChainLink, ...]:
        try:
            document = json.loads(self.chain_path.read_bytes())
            chain = tuple(ChainLink.from_json(entry) for entry in document["keys"])
        except FileNotFoundError:
            return ()
        except (OSError, ValueError, KeyError, TypeError, binascii.Error) as error:
            raise ContentKeyError(
                f"the content key chain {self.chain_path} is damaged: {error}"
            ) from None
        if not chain:
            raise ContentKeyError(f"the content key chain {self.chain_path} lists no key")
        try:
            verify_chain(chain)
        except SignatureRefused as refused:
            raise ContentKeyError(f"the content key chain {self.chain_path}: {refused}") from None
        return chain

    def _create_first(self) -> tuple[ChainLink, ...]:
        signer = Ed25519PrivateKey.generate()
        chain = (ChainLink(key=_raw(signer.public_key())),)
        self._write_private(chain[0].key_id, signer)
        self._write_chain(chain)
        return chain

    def _read_private(self, key_id: str) -> Ed25519PrivateKey:
        path = self.directory / f"{KEY_FILE_PREFIX}{key_id}.pem"
        try:
            loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
        except FileNotFoundError:
            raise ContentKeyError(f"the private key of {key_id} is missing ({path})") from None
        except (OSError, ValueError) as error:
            raise ContentKeyError(f"cannot read the private key {path}: {error}") from None
        if not isinstance(loaded, Ed25519PrivateKey):
            raise ContentKeyError(f"{path} is not an Ed25519 key")
        return loaded

    def _write_private(self, key_id: str, signer: Ed25519PrivateKey) -> None:
        pem = signer.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        _write_atomically(self.directory / f"{KEY_FILE_PREFIX}{key_id}.pem", pem)

    def _write_chain(self, chain: Sequence[ChainLink]) -> None:
        document = {"format": 1, "keys": [link.as_json() for link in chain]}
        _write_atomically(self.chain_path, json.dumps(document, indent=2).encode() + b"\n")


def _raw(public: Ed25519PublicKey) -> bytes:
    return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def _write_atomically(path: Path, data: bytes) -> None:
    """0600, complete or absent: written beside, fsynced, renamed, the folder fsynced."""
    draft = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
    try:
        fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        with os.fdopen(fd, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(draft, path)
        folder = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            os.fsync(folder)
        finally:
            os.close(folder)
    except OSError as error:
        raise ContentKeyError(f"cannot write {path}: {error.strerror}") from None
    finally:
        draft.unlink(missing_ok=True)


# ---------------------------------------------------------------- the envelope


def envelope(payload: bytes, signature: Signature, chain: Sequence[ChainLink]) -> dict[str, Any]:
    """The manifest as served: docs/content-releases.md."""
    return {
        "payload": b64(payload),
        "signature": {"key_id": signature.key_id, "sig": b64(signature.sig)},
        "keys": [link.as_json() for link in chain],
    }


def verify_chain(chain: Sequence[ChainLink], pinned: bytes | None = None) -> bytes:
    """Walk the chain from `pinned` (default: its first key) forward, checking each
    endorsement; the newest key reached. SignatureRefused if `pinned` is not in it
    or an endorsement does not verify."""
    if not chain:
        raise SignatureRefused("the key chain is empty")
    keys = [link.key for link in chain]
    start = 0 if pinned is None else next((i for i, key in enumerate(keys) if key == pinned), -1)
    if start < 0:
        raise SignatureRefused("the pinned key is not in the key chain")
    for previous, link in zip(chain[start:], chain[start + 1 :], strict=False):
        if link.endorsed_by != previous.key_id:
            raise SignatureRefused(f"key {link.key_id} is not endorsed by the key before it")
        try:
            Ed25519PublicKey.from_public_bytes(previous.key).verify(
                link.endorsement, ENDORSEMENT_CONTEXT + link.key
            )
        except (InvalidSignature, ValueError):
            raise SignatureRefused(
                f"the endorsement of key {link.key_id} does not verify"
            ) from None
    return chain[-1].key


def verify_envelope(document: Mapping[str, Any], pinned: bytes) -> bytes:
    """The payload bytes of a served envelope, if it verifies for a kiosk that pinned
    `pinned`: the chain walked from there, the signature by its newest key.
    (HQ's reference of what kiosks check; the kiosk has its own copy.)"""
    try:
        chain = [ChainLink.from_json(entry) for entry in document["keys"]]
        payload = unb64(document["payload"])
        key_id = document["signature"]["key_id"]
        sig = unb64(document["signature"]["sig"])
    except (KeyError, TypeError, ValueError, binascii.Error):
        raise SignatureRefused("not a signed manifest envelope") from None
    newest = verify_chain(chain, pinned)
    if key_id != key_id_of(newest):
        raise SignatureRefused(f"signed by key {key_id}, not by the newest key of the chain")
    try:
        Ed25519PublicKey.from_public_bytes(newest).verify(sig, payload)
    except (InvalidSignature, ValueError):
        raise SignatureRefused("the signature does not match the payload") from None
    return payload
