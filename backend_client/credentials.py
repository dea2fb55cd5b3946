"""The kiosk's identity at HQ: which HQ, which store and kiosk, and the token that proves it.

Enrolment (`kiosk enroll`) writes them to `<data dir>/hq.json`, mode 0600; the
kiosk reads them at start. The token is a secret: it never appears in a repr, a
log line or an error message, and a file others could read is refused rather
than used.

Enrolment also gives the kiosk its number inside coupon codes (`kiosk_no`) and
its coupon key (`coupon_key`, 32 bytes; base64 in the file), as secret as the
token. A file written before HQ gave them out still loads, with both None: that
kiosk issues no coupon codes until it enrols again. Likewise the store's
live-channel key (`channel_key`: version, key, the key before the last rotation).

A store staff device (`kiosk-attendant`) enrols the same way with a code from
`kiosk-hq store enrol-attendant`: its `role` is "attendant" (a file without one
is a kiosk's), it has no kiosk number nor coupon key, and it holds the store's
coupon key (`store_coupon_key`, 32 bytes) to check its store's codes at the till.

HQ's content signing key (`content_key`, the raw 32-byte Ed25519 public key; base64
in the file) is pinned at enrolment: the kiosk installs only content signed by it
or by a key it endorsed (backend_client/release_manifest.py). None: enrolled with
an HQ from before content releases; the kiosk installs nothing from HQ.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import ipaddress
import json
import os
import re
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Literal, get_args
from urllib.parse import urlsplit

from backend_client.private_files import private_dir

CREDENTIALS_FILE: Final = "hq.json"

_PRIVATE_MODE: Final = 0o600
_OTHERS_BITS: Final = 0o077  # group or others may read (or replace) the token: refused

_TOKEN_PATTERN: Final = re.compile(r"[A-Za-z0-9._~+/=-]+")
# RFC 6750's b64token: anything else could not travel in an Authorization header.

_LOOPBACK_NAMES: Final = frozenset({"localhost"})

COUPON_KEY_BYTES: Final = 32
CONTENT_KEY_BYTES: Final = 32  # an Ed25519 public key
MAX_KIOSK_NO: Final = 2**20 - 1  # what a coupon code's kiosk field holds


CHANNEL_KEY_BYTES: Final = 32

Role = Literal["kiosk", "attendant"]
ROLES: Final[tuple[Role, ...]] = get_args(Role)


@dataclass(frozen=True, slots=True)
class ChannelKey:
    """The store's live-channel key from HQ (docs/store-channel.md), and the one
    before HQ's last rotation, still accepted while the store moves over."""

    key_id: int
    key: bytes = field(repr=False)
    previous: bytes | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if isinstance(self.key_id, bool) or not isinstance(self.key_id, int) or self.key_id < 1:
            raise ValueError("channel_key.key_id must be an integer from 1")
        for name in ("key", "previous"):
            value = getattr(self, name)
            if value is None and name == "previous":
                continue
            if not isinstance(value, bytes) or len(value) != CHANNEL_KEY_BYTES:
                raise ValueError(f"channel_key.{name} must be {CHANNEL_KEY_BYTES} bytes")


class CredentialsError(Exception):
    """The credentials file cannot be used; the message says why and what to do."""


@dataclass(frozen=True, slots=True)
class Credentials:
    """What enrolment gave this kiosk. `hq_url` has no trailing slash."""

    hq_url: str
    store_id: str
    kiosk_id: str
    token: str = field(repr=False)
    # Both or neither: what this kiosk issues coupon codes with.
    kiosk_no: int | None = None
    coupon_key: bytes | None = field(default=None, repr=False)
    # This kiosk's seat among its store's, for its part of the store's daily coupon
    # budgets and prize caps (seat 0 of 1: the whole of them).
    budget_seat: int = 0
    budget_seats: int = 1
    # None: enrolled with an HQ from before the live channel; enrol again for it.
    channel_key: ChannelKey | None = None
    # "attendant": a store staff device, which issues no coupons (no kiosk_no nor
    # coupon_key) and checks its store's codes with the store's coupon key.
    role: Role = "kiosk"
    store_coupon_key: bytes | None = field(default=None, repr=False)
    # HQ's content signing key as pinned at enrolment (None: installs nothing from HQ).
    content_key: bytes | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "hq_url", check_hq_url(self.hq_url))
        for name in ("store_id", "kiosk_id"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value.strip():
                raise ValueError(f"{name} must be a non-empty string")
        if not isinstance(self.token, str) or not _TOKEN_PATTERN.fullmatch(self.token):
            raise ValueError("token must be a non-empty bearer token (letters, digits, ._~+/=-)")
        if (self.kiosk_no is None) != (self.coupon_key is None):
            raise ValueError("kiosk_no and coupon_key go together")
        if self.kiosk_no is not None and (
            isinstance(self.kiosk_no, bool)
            or not isinstance(self.kiosk_no, int)
            or not 0 <= self.kiosk_no <= MAX_KIOSK_NO
        ):
            raise ValueError(f"kiosk_no must be an integer from 0 to {MAX_KIOSK_NO}")
        for name in ("budget_seat", "budget_seats"):
            if isinstance(getattr(self, name), bool) or not isinstance(getattr(self, name), int):
                raise ValueError(f"{name} must be an integer")
        if not 0 <= self.budget_seat < self.budget_seats:
            raise ValueError("budget_seat must be from 0 to budget_seats - 1")
        if self.role not in ROLES:
            raise ValueError(f"role must be one of {', '.join(ROLES)}")
        if self.role == "attendant" and self.kiosk_no is not None:
            raise ValueError("an attendant device has no kiosk_no nor coupon_key")
        for name, length in (
            ("coupon_key", COUPON_KEY_BYTES),
            ("store_coupon_key", COUPON_KEY_BYTES),
            ("content_key", CONTENT_KEY_BYTES),
        ):
            key = getattr(self, name)
            if key is not None and (not isinstance(key, bytes) or len(key) != length):
                raise ValueError(f"{name} must be {length} bytes")


def credentials_from_enrolment(hq_url: str, answer: Mapping[str, Any]) -> Credentials:
    """Credentials from HQ's enrolment answer (docs/hq-api.md): KeyError for a missing
    field, TypeError or ValueError for a malformed one; messages never quote secrets.

    An answer without `kiosk_no` and `coupon_key` (an HQ from before coupons) gives
    credentials without them; one without `budget_seat`/`budget_seats`, seat 0 of 1;
    one without `role`, a kiosk's.
    """
    return Credentials(
        hq_url=hq_url,
        store_id=answer["store_id"],
        kiosk_id=answer["kiosk_id"],
        token=answer["token"],
        kiosk_no=answer.get("kiosk_no"),
        coupon_key=_coupon_key(answer.get("coupon_key")),
        budget_seat=answer.get("budget_seat", 0),
        budget_seats=answer.get("budget_seats", 1),
        channel_key=channel_key_from_json(answer.get("channel_key")),
        role=answer.get("role", "kiosk"),
        store_coupon_key=_base64(answer.get("store_coupon_key"), "store_coupon_key"),
        content_key=_base64(answer.get("content_key"), "content_key"),
    )


def channel_key_from_json(document: object) -> ChannelKey | None:
    """The `channel_key` object of HQ's answers (enrolment, GET /v1/store-channel-key)."""
    if document is None:
        return None
    if not isinstance(document, Mapping):
        raise TypeError("channel_key must be an object")
    key = _base64(document["key"], "channel_key.key")
    if key is None:
        raise TypeError("channel_key.key must be base64 text")
    return ChannelKey(
        key_id=document["key_id"],
        key=key,
        previous=_base64(document.get("previous"), "channel_key.previous"),
    )


def _coupon_key(encoded: object) -> bytes | None:
    return _base64(encoded, "coupon_key")


def _base64(encoded: object, name: str) -> bytes | None:
    if encoded is None:
        return None
    if not isinstance(encoded, str):
        raise TypeError(f"{name} must be base64 text")
    try:
        return base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError(f"{name} must be base64 text") from None


def check_hq_url(url: str) -> str:
    """`url` without a trailing slash if the kiosk may talk to it; ValueError if not.

    HQ is reached over https. Plain http is allowed only for a loopback host
    (127.0.0.0/8, ::1, localhost): the demo's embedded HQ, where nothing crosses
    a wire that someone else could listen on.
    """
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    try:
        parts.port  # noqa: B018 - raises ValueError for a port out of range or not a number
    except ValueError:
        raise ValueError(f"HQ URL {url!r} has an invalid port") from None
    if scheme not in {"https", "http"} or not parts.hostname:
        raise ValueError(f"HQ URL {url!r} must look like https://hq.example.com")
    if parts.username is not None or parts.password is not None:
        raise ValueError("HQ URL must not carry a user name or password")
    if parts.query or parts.fragment:
        raise ValueError(f"HQ URL {url!r} must not have a query or fragment")
    if scheme == "http" and not _is_loopback(parts.hostname):
        raise ValueError(
            f"HQ URL {url!r} must use https:// (plain http:// only for this machine's "
            "loopback address: 127.0.0.1, ::1 or localhost)"
        )
    return f"{scheme}://{parts.netloc}{parts.path}".rstrip("/")


def _is_loopback(host: str) -> bool:
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def credentials_path(data_dir: Path) -> Path:
    return data_dir / CREDENTIALS_FILE


def load_credentials(data_dir: Path) -> Credentials | None:
    """The saved credentials, or None if this kiosk has not been enrolled."""
    path = credentials_path(data_dir)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise CredentialsError(f"cannot read {path}: {exc.strerror}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise CredentialsError(f"{path} is not a regular file")
        if info.st_mode & _OTHERS_BITS:
            raise CredentialsError(
                f"{path} is open to group or others (mode {stat.S_IMODE(info.st_mode):04o}): "
                "the token may have leaked; chmod 600 it, or revoke the kiosk and enrol it again"
            )
        with os.fdopen(os.dup(fd), "rb") as file:
            raw = file.read()
    except OSError as exc:
        raise CredentialsError(f"cannot read {path}: {exc.strerror}") from None
    finally:
        os.close(fd)
    return _parse(path, raw)


def _parse(path: Path, raw: bytes) -> Credentials:
    try:
        document: Any = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise CredentialsError(f"{path} is not valid JSON; enrol the kiosk again") from None
    if not isinstance(document, dict):
        raise CredentialsError(f"{path} must hold a JSON object; enrol the kiosk again")
    missing = [name for name in ("hq_url", "store_id", "kiosk_id", "token") if name not in document]
    if missing:
        raise CredentialsError(f"{path} lacks {', '.join(missing)}; enrol the kiosk again")
    try:
        return credentials_from_enrolment(document["hq_url"], document)
    except (TypeError, ValueError, AttributeError) as exc:
        # The messages name fields and the URL, never the token's value.
        raise CredentialsError(f"{path}: {exc}") from None


def save_credentials(data_dir: Path, credentials: Credentials) -> Path:
    """Write `credentials` to `<data_dir>/hq.json` (mode 0600) atomically; returns the path.

    The file is written under a temporary name and renamed over the old one, so a
    crash leaves either the old credentials or the new ones, never half a file.
    """
    private_dir(data_dir)
    path = credentials_path(data_dir)
    document: dict[str, Any] = {
        "role": credentials.role,
        "hq_url": credentials.hq_url,
        "store_id": credentials.store_id,
        "kiosk_id": credentials.kiosk_id,
        "token": credentials.token,
    }
    if credentials.kiosk_no is not None and credentials.coupon_key is not None:
        document["kiosk_no"] = credentials.kiosk_no
        document["coupon_key"] = _text(credentials.coupon_key)
    document["budget_seat"] = credentials.budget_seat
    document["budget_seats"] = credentials.budget_seats
    if credentials.channel_key is not None:
        key = credentials.channel_key
        document["channel_key"] = {
            "key_id": key.key_id,
            "key": _text(key.key),
            "previous": None if key.previous is None else _text(key.previous),
        }
    if credentials.store_coupon_key is not None:
        document["store_coupon_key"] = _text(credentials.store_coupon_key)
    if credentials.content_key is not None:
        document["content_key"] = _text(credentials.content_key)
    encoded = (json.dumps(document, indent=2, ensure_ascii=False) + "\n").encode()
    staging = path.with_name(f".{path.name}.{os.getpid()}.{os.urandom(4).hex()}")
    fd = os.open(staging, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, _PRIVATE_MODE)
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(encoded)
            file.flush()
            os.fsync(file.fileno())
        os.replace(staging, path)
    except BaseException:
        with contextlib.suppress(OSError):
            staging.unlink()
        raise
    _fsync_directory(data_dir)
    return path


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _text(key: bytes) -> str:
    return base64.b64encode(key).decode("ascii")
