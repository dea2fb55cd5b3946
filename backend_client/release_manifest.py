"""HQ's signed content manifest: parse the envelope, verify it, decide whether to take it.

Pure: bytes and `now` in, a `ReleaseManifest` or a `Refused` (with the reason
HQ's rollout lists) out. No I/O; the updater (`backend_client.updater`) fetches
and acts. The wire format is docs/content-releases.md:

    {"payload": b64(manifest bytes), "signature": {"key_id", "sig"},
     "keys": [{"key", "key_id", "endorsed_by", "endorsement"}, ...]}

The kiosk pinned one public key at enrolment. `keys` is HQ's rotation chain,
oldest first; from the pinned key forward each key must be endorsed by the one
before it (Ed25519 over `ENDORSEMENT_PREFIX + raw new key`), and the payload
must be signed by the newest key of the chain. The newest key reached becomes
the new pin, so a key HQ retired is never trusted again by this kiosk.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from content.model import ASSET_PATH_PATTERN

ENDORSEMENT_PREFIX: Final = b"kiosk-content-key/1\n"
FORMAT: Final = 1
KEY_BYTES: Final = 32
RELEASE_PREFIX: Final = "hq-"  # a release from HQ is installed as releases/hq-<number>
_SHA256: Final = re.compile(r"[0-9a-f]{64}")
_PATH: Final = re.compile(ASSET_PATH_PATTERN)  # as the bundle loader's
_MAX_FILES: Final = 100_000


class Refused(Exception):
    """HQ's manifest is not taken; `reason` is one of content.reports.REASONS."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True, slots=True)
class ReleaseFile:
    """One file of the release: where it goes in the bundle, and which asset it is."""

    path: str
    sha256: str
    size: int


@dataclass(frozen=True, slots=True)
class ReleaseManifest:
    """A verified manifest: what HQ wants this kiosk to show, and from when."""

    release: int
    name: str
    store: str
    kiosk: str
    created_at: datetime
    not_before: datetime | None
    expires: datetime
    bundle_release: str
    files: tuple[ReleaseFile, ...]

    @property
    def release_name(self) -> str:
        """The name it is installed under in the content store."""
        return release_name(self.release)

    @property
    def total_bytes(self) -> int:
        return sum(f.size for f in self.files)


@dataclass(frozen=True, slots=True)
class Verified:
    """A manifest whose signature holds, and the key to pin from now on."""

    manifest: ReleaseManifest
    newest_key: bytes


def release_name(number: int) -> str:
    return f"{RELEASE_PREFIX}{number}"


def release_number(name: str) -> int | None:
    """The number of a release installed from HQ (`hq-12` -> 12); None for any other."""
    digits = name.removeprefix(RELEASE_PREFIX)
    if digits == name or not digits.isascii() or not digits.isdigit():
        return None
    return int(digits)


def key_id(raw_key: bytes) -> str:
    """HQ's name for a public key: the first 16 hex digits of its SHA-256."""
    return hashlib.sha256(raw_key).hexdigest()[:16]


def verify_envelope(body: bytes, pinned: bytes) -> tuple[bytes, bytes]:
    """(the payload's exact bytes, the newest key reached) if the signature holds.

    Raises Refused("signature") for anything else: not an envelope, a chain that
    does not reach from the pinned key, a signature by another key or over other
    bytes.
    """
    try:
        envelope = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise Refused("signature", "the manifest answer is not JSON") from None
    if not isinstance(envelope, dict):
        raise Refused("signature", "the manifest answer is not a JSON object")
    payload = _b64(envelope.get("payload"), "payload")
    signature = envelope.get("signature")
    if not isinstance(signature, dict):
        raise Refused("signature", "the manifest is unsigned")
    sig = _b64(signature.get("sig"), "signature.sig")
    newest = _walk_chain(envelope.get("keys"), pinned)
    if signature.get("key_id") != key_id(newest):
        raise Refused("signature", "the manifest is not signed by the newest content key")
    try:
        Ed25519PublicKey.from_public_bytes(newest).verify(sig, payload)
    except InvalidSignature:
        raise Refused("signature", "the manifest's signature does not match its bytes") from None
    return payload, newest


def _walk_chain(keys: object, pinned: bytes) -> bytes:
    """The newest key of HQ's chain, each step from `pinned` on endorsed by the one before."""
    if not isinstance(keys, list) or not keys:
        raise Refused("signature", "the manifest carries no key chain")
    raw_keys = []
    for index, entry in enumerate(keys):
        if not isinstance(entry, dict):
            raise Refused("signature", f"keys[{index}] is not an object")
        raw = _b64(entry.get("key"), f"keys[{index}].key")
        if len(raw) != KEY_BYTES:
            raise Refused("signature", f"keys[{index}].key is not a 32-byte Ed25519 key")
        raw_keys.append(raw)
    try:
        start = raw_keys.index(pinned)
    except ValueError:
        raise Refused(
            "signature", f"the manifest is signed by an unknown key (pinned {key_id(pinned)})"
        ) from None
    current = pinned
    for index in range(start + 1, len(raw_keys)):
        entry, new = keys[index], raw_keys[index]
        if entry.get("endorsed_by") != key_id(current):
            raise Refused("signature", f"keys[{index}] is not endorsed by the key before it")
        endorsement = _b64(entry.get("endorsement"), f"keys[{index}].endorsement")
        try:
            Ed25519PublicKey.from_public_bytes(current).verify(
                endorsement, ENDORSEMENT_PREFIX + new
            )
        except InvalidSignature:
            raise Refused("signature", f"keys[{index}]'s endorsement does not hold") from None
        current = new
    return current


def _b64(value: object, name: str) -> bytes:
    if not isinstance(value, str) or not value:
        raise Refused("signature", f"{name} is missing")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise Refused("signature", f"{name} is not base64") from None


def parse_manifest(payload: bytes) -> ReleaseManifest:
    """The manifest in a verified payload; Refused("bundle_invalid") if HQ signed nonsense."""
    try:
        document = json.loads(payload)
        if not isinstance(document, dict):
            raise TypeError("not a JSON object")
        if document.get("format") != FORMAT:
            raise ValueError(f"format {document.get('format')!r} is not supported")
        return ReleaseManifest(
            release=_positive(document["release"], "release"),
            name=_text(document.get("name", ""), "name"),
            store=_text(document["store"], "store"),
            kiosk=_text(document["kiosk"], "kiosk"),
            created_at=_moment(document["created_at"], "created_at"),
            not_before=None
            if document.get("not_before") is None
            else _moment(document["not_before"], "not_before"),
            expires=_moment(document["expires"], "expires"),
            bundle_release=_text(document.get("bundle_release", ""), "bundle_release"),
            files=_files(document["files"]),
        )
    except KeyError as missing:
        raise Refused("bundle_invalid", f"the manifest lacks {missing}") from None
    except (TypeError, ValueError, UnicodeDecodeError) as exc:
        raise Refused("bundle_invalid", f"the manifest is malformed: {exc}") from None


def _positive(value: object, name: str) -> int:
    if type(value) is not int or value < 1:
        raise ValueError(f"{name} must be a positive integer")
    return value


def _text(value: object, name: str) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{name} must be text")
    return value


def _moment(value: object, name: str) -> datetime:
    moment = datetime.fromisoformat(_text(value, name))
    if moment.tzinfo is None:
        raise ValueError(f"{name} must name its time zone")
    return moment


def _files(items: object) -> tuple[ReleaseFile, ...]:
    if not isinstance(items, list) or not 1 <= len(items) <= _MAX_FILES:
        raise ValueError(f"files must be a list of 1 to {_MAX_FILES}")
    files: list[ReleaseFile] = []
    seen: set[str] = set()
    for index, item in enumerate(items):
        if not isinstance(item, Mapping):
            raise TypeError(f"files[{index}] must be an object")
        path, sha256, size = item.get("path"), item.get("sha256"), item.get("size")
        # A hidden name at the top would collide with the content store's own marks.
        if (
            not isinstance(path, str)
            or not _PATH.fullmatch(path)
            or path == "manifest.json"
            or path.startswith(".")
        ):
            raise ValueError(f"files[{index}].path is not a path inside a bundle")
        if path in seen:
            raise ValueError(f"files[{index}].path is listed twice")
        if not isinstance(sha256, str) or not _SHA256.fullmatch(sha256):
            raise ValueError(f"files[{index}].sha256 must be 64 lower-case hex digits")
        if type(size) is not int or size < 0:
            raise ValueError(f"files[{index}].size must be a whole number of bytes")
        seen.add(path)
        files.append(ReleaseFile(path, sha256, size))
    return tuple(files)


def check_manifest(
    manifest: ReleaseManifest, *, store_id: str, kiosk_id: str, highest: int, now: datetime
) -> None:
    """Raise Refused unless this kiosk may take `manifest` now.

    `highest` is the highest release number this kiosk ever accepted: a lower
    one is a replay of old content (HQ's revoke publishes a higher number too).
    """
    if manifest.store != store_id or manifest.kiosk != kiosk_id:
        raise Refused(
            "wrong_target",
            f"release {manifest.release} is for another kiosk ({manifest.store}/{manifest.kiosk})",
        )
    if manifest.release < highest:
        raise Refused(
            "rollback",
            f"release {manifest.release} is older than release {highest}, already accepted",
        )
    if now >= manifest.expires:
        raise Refused(
            "expired",
            f"release {manifest.release}'s manifest expired at {manifest.expires.isoformat()}",
        )


def verify(
    body: bytes,
    *,
    pinned: bytes,
    store_id: str,
    kiosk_id: str,
    highest: int,
    now: datetime,
) -> Verified:
    """Everything above in order: signature first, so nothing unsigned is even parsed."""
    payload, newest = verify_envelope(body, pinned)
    manifest = parse_manifest(payload)
    check_manifest(manifest, store_id=store_id, kiosk_id=kiosk_id, highest=highest, now=now)
    return Verified(manifest, newest)


def files_document(manifest: ReleaseManifest) -> list[dict[str, Any]]:
    """The `assets` of the bundle manifest.json the kiosk writes for this release."""
    return [{"path": f.path, "sha256": f.sha256, "size": f.size} for f in manifest.files]
