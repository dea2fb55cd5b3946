"""The store key and what is derived from it: frame sealing and request proofs.

HQ hands every kiosk and attendant of a store the same 32-byte store key at
enrolment. The file `store.key` (0600) holds it in base64 on its first line and,
after a rotation, the previous key on the second: holders accept both, so kiosks
and attendants need not switch at the same instant.

From each key, HKDF-SHA256 (salted with the store id) derives three independent
values: a ChaCha20-Poly1305 key that seals frames, an HMAC key for request proofs,
and a short public key id that names the key in frames and requests.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import secrets
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from pydantic import ValidationError

from backend_client.channel import files
from backend_client.channel.messages import ChannelMessage
from backend_client.private_files import PRIVATE_FILE, private_dir

KEY_FILE: Final = files.KEY_FILE  # named here too: its first home
KEY_BYTES: Final = 32
_NONCE_BYTES: Final = 12
MAX_CLOCK_SKEW_S: Final = 60.0
"""A request proof is good this long either side of its time: store PCs keep NTP time,
and a captured request replayed later than this is refused without any memory of it."""
_MAX_REMEMBERED_NONCES: Final = (
    100_000  # a minute of requests from far more clients than a store has
)


class StoreKeyError(Exception):
    """The store key file is missing, malformed or open to others."""


class FrameError(Exception):
    """A frame did not verify: garbage, another store's key, spliced, or malformed inside."""


def _derive(key: bytes, store: str, purpose: bytes, length: int = 32) -> bytes:
    hkdf = HKDF(algorithm=hashes.SHA256(), length=length, salt=store.encode(), info=purpose)
    return hkdf.derive(key)


@dataclass(frozen=True, slots=True, repr=False)
class _Derived:
    kid: str
    seal: ChaCha20Poly1305
    auth: bytes

    @classmethod
    def of(cls, key: bytes, store: str) -> _Derived:
        if len(key) != KEY_BYTES:
            raise StoreKeyError(f"a store key is {KEY_BYTES} bytes, got {len(key)}")
        return cls(
            kid=_derive(key, store, b"store-channel key id v1", 6).hex(),
            seal=ChaCha20Poly1305(_derive(key, store, b"store-channel seal v1")),
            auth=_derive(key, store, b"store-channel auth v1"),
        )


class StoreKeys:
    """A store's current key and, after a rotation, its previous one. Thread-safe (immutable)."""

    __slots__ = ("_by_kid", "_current", "store")

    def __init__(self, store: str, current: bytes, previous: bytes | None = None) -> None:
        self.store = store
        self._current = _Derived.of(current, store)
        self._by_kid = {self._current.kid: self._current}
        if previous is not None:
            older = _Derived.of(previous, store)
            self._by_kid[older.kid] = older

    def __repr__(self) -> str:
        return f"StoreKeys({self.store!r}, kids={sorted(self._by_kid)})"

    @classmethod
    def from_file(cls, store: str, path: Path) -> StoreKeys:
        if os.stat(path).st_mode & 0o077:
            raise StoreKeyError(f"{path} is open to group or others: refused")
        lines = path.read_text(encoding="ascii").split()
        if not 1 <= len(lines) <= 2:
            raise StoreKeyError(f"{path}: one or two keys expected")
        try:
            keys = [base64.b64decode(line, validate=True) for line in lines]
        except binascii.Error as error:
            raise StoreKeyError(f"{path}: not base64") from error
        return cls(store, keys[0], keys[1] if len(keys) == 2 else None)

    @property
    def current_kid(self) -> str:
        return self._current.kid

    # -- frames ---------------------------------------------------------------

    def seal(self, message: ChannelMessage, kid: str | None = None) -> bytes:
        """The frame for `message`: one line of JSON, sealed under the key `kid` names
        (the current key by default). A server seals with the key its client proved it
        holds, so kiosks and attendants can take a rotated key in either order."""
        derived = self._by_kid.get(kid, self._current) if kid else self._current
        nonce = secrets.token_bytes(_NONCE_BYTES)
        sealed = derived.seal.encrypt(
            nonce, message.wire(), _associated(self.store, message.kiosk, message.seq)
        )
        frame = {
            "kid": derived.kid,
            "kiosk": message.kiosk,
            "seq": message.seq,
            "n": base64.b64encode(nonce).decode(),
            "c": base64.b64encode(sealed).decode(),
        }
        return json.dumps(frame, separators=(",", ":")).encode()

    def open(self, frame: bytes) -> ChannelMessage:
        """The message inside `frame`, or FrameError. The associated data binds the
        store, kiosk and seq, so a frame of another store, or one moved to another
        kiosk or seq, fails; the message inside must repeat the same three."""
        try:
            outer = json.loads(frame)
            kiosk, seq = outer["kiosk"], outer["seq"]
            derived = self._by_kid.get(outer["kid"])
            if derived is None:
                raise FrameError("sealed under a key this store does not hold")
            if not isinstance(kiosk, str) or type(seq) is not int:
                raise FrameError("malformed frame")
            plain = derived.seal.decrypt(
                base64.b64decode(outer["n"], validate=True),
                base64.b64decode(outer["c"], validate=True),
                _associated(self.store, kiosk, seq),
            )
            message = ChannelMessage.model_validate_json(plain)
        except FrameError:
            raise
        except InvalidTag as error:
            raise FrameError("does not verify under this store's key") from error
        except ValidationError as error:
            raise FrameError(f"not a channel message ({error.error_count()} errors)") from error
        except (ValueError, KeyError, TypeError, binascii.Error) as error:
            raise FrameError("malformed frame") from error
        if (message.store, message.kiosk, message.seq) != (self.store, kiosk, seq):
            raise FrameError("the message does not match its frame")
        return message

    # -- request and answer bodies (commands) -----------------------------------

    def seal_body(self, plain: bytes, associated: bytes, kid: str | None = None) -> bytes:
        """`plain` sealed under the key `kid` names (the current one by default), bound to
        `associated` (who may open it where: see commands.py)."""
        derived = self._by_kid.get(kid, self._current) if kid else self._current
        nonce = secrets.token_bytes(_NONCE_BYTES)
        sealed = derived.seal.encrypt(nonce, plain, associated)
        body = {
            "n": base64.b64encode(nonce).decode(),
            "c": base64.b64encode(sealed).decode(),
        }
        return json.dumps(body, separators=(",", ":")).encode()

    def open_body(self, body: bytes, associated: bytes, kid: str) -> bytes:
        """What `seal_body` sealed, or FrameError (garbage, another key, other associated data)."""
        derived = self._by_kid.get(kid)
        if derived is None:
            raise FrameError("sealed under a key this store does not hold")
        try:
            outer = json.loads(body)
            return derived.seal.decrypt(
                base64.b64decode(outer["n"], validate=True),
                base64.b64decode(outer["c"], validate=True),
                associated,
            )
        except InvalidTag as error:
            raise FrameError("does not verify under this store's key") from error
        except (ValueError, KeyError, TypeError, binascii.Error) as error:
            raise FrameError("malformed body") from error

    # -- request proofs -------------------------------------------------------

    def prove(self, path: str, after: int, now: float) -> dict[str, str]:
        """Headers that prove this caller holds the store key, for one request."""
        stamp, nonce = str(int(now)), secrets.token_hex(16)
        proof = _proof(self._current.auth, self.store, path, after, stamp, nonce)
        return {
            "X-Channel-Store": self.store,
            "X-Channel-Kid": self._current.kid,
            "X-Channel-Time": stamp,
            "X-Channel-Nonce": nonce,
            "X-Channel-Proof": proof,
        }

    def check_proof(self, headers: dict[str, str], path: str, after: int) -> str | None:
        """Why the request's proof is bad, or None when it was made with a key of this store.
        (Freshness and replays are ReplayGuard's, next.)"""
        derived = self._by_kid.get(headers.get("x-channel-kid", ""))
        if headers.get("x-channel-store") != self.store or derived is None:
            return "not this store's key"
        expected = _proof(
            derived.auth,
            self.store,
            path,
            after,
            headers.get("x-channel-time", ""),
            headers.get("x-channel-nonce", ""),
        )
        if not hmac.compare_digest(expected, headers.get("x-channel-proof", "")):
            return "bad proof"
        return None


class ReplayGuard:
    """Refuses a request proof that is stale or whose nonce was seen: a captured request
    replayed within the skew is caught by its nonce, later by its time. One per server."""

    __slots__ = ("_seen",)

    def __init__(self) -> None:
        self._seen: OrderedDict[str, float] = OrderedDict()

    def admit(self, stamp: str, nonce: str, now: float) -> str | None:
        try:
            moment = float(int(stamp))
        except ValueError:
            return "bad time"
        if abs(now - moment) > MAX_CLOCK_SKEW_S:
            return "stale or future request"
        if len(nonce) != 32 or nonce in self._seen:
            return "replayed request"
        while self._seen and (
            len(self._seen) >= _MAX_REMEMBERED_NONCES
            or next(iter(self._seen.values())) < now - 2 * MAX_CLOCK_SKEW_S
        ):
            self._seen.popitem(last=False)
        self._seen[nonce] = now
        return None


def _associated(store: str, kiosk: str, seq: int) -> bytes:
    return f"{store}|{kiosk}|{seq}".encode()


def _proof(auth: bytes, *fields: object) -> str:
    """HMAC of store, path, after, time and nonce: a proof good for this one request."""
    text = "|".join(str(field) for field in fields).encode()
    return hmac.new(auth, text, hashlib.sha256).hexdigest()


def new_store_key() -> bytes:
    return secrets.token_bytes(KEY_BYTES)


def write_store_key(
    data_dir: Path, key: bytes, *, keep_previous: bool = True, previous: bytes | None = None
) -> Path:
    """Install `key` as the current store key in `data_dir` (enrolment or rotation).

    The file is replaced atomically (0600). The previous key is `previous` when HQ
    names it; otherwise the key the file held before, unless `keep_previous` is false."""
    for value in (key, previous):
        if value is not None and len(value) != KEY_BYTES:
            raise StoreKeyError(f"a store key is {KEY_BYTES} bytes, got {len(value)}")
    private_dir(data_dir)
    path = data_dir / KEY_FILE
    lines = [base64.b64encode(key).decode()]
    if previous is not None:
        lines.append(base64.b64encode(previous).decode())
    elif keep_previous and path.exists():
        old = path.read_text(encoding="ascii").split()
        if old and old[0] != lines[0]:
            lines.append(old[0])
    temporary = path.with_name(f".{KEY_FILE}.{os.getpid()}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, PRIVATE_FILE)
    try:
        os.fchmod(fd, PRIVATE_FILE)
        os.write(fd, ("\n".join(lines) + "\n").encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(temporary, path)
    return path
