"""Where HQ keeps the bytes of content: each file once, named by its SHA-256.

`AssetStore` is the small interface publishing and serving use; the directory
store below is the default (`<hq data>/assets/ab/<sha256>`, "ab" the hash's
first two hex digits so no folder holds more than a few thousand files). An
S3-compatible object store can take its place later: it needs the same five
methods, and serving would redirect to it (or a CDN) instead of sending files.

A file is written under a temporary name, fsynced and renamed into place, so a
reader (or a crash) never sees half of one; its hash is computed while it is
copied and checked against the hash it was expected to have, so an asset's
name is always the hash of its bytes. Writing one that is there already is a
no-op (deduplication).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Final, Protocol

from hq.private_files import private_dir

SHA256_HEX: Final = re.compile(r"^[0-9a-f]{64}$")
_CHUNK: Final = 1 << 20  # 1 MiB: large reads suit hashlib and the disk
_TEMPORARY: Final = ".incoming"


class AssetError(Exception):
    """An asset could not be stored: its bytes do not match its hash, or the disk failed."""


@dataclass(frozen=True, slots=True)
class StoredAsset:
    sha256: str
    size: int


class AssetStore(Protocol):
    """Content-addressed file storage."""

    def put_stream(self, source: BinaryIO, *, expected_sha256: str | None = None) -> StoredAsset:
        """Store what `source` holds; AssetError if it does not hash to `expected_sha256`."""
        ...

    def put_bytes(self, data: bytes) -> StoredAsset: ...

    def has(self, sha256: str) -> bool: ...

    def local_path(self, sha256: str) -> Path | None:
        """A file on this machine holding the asset (to send it, or hard-link it);
        None if the store has no such asset here."""
        ...

    def open(self, sha256: str) -> contextlib.AbstractContextManager[BinaryIO]:
        """The asset's bytes; FileNotFoundError if there is none."""
        ...


class DirectoryAssetStore:
    """Assets as files under one directory (HQ's data directory by default)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._made = False

    def _ensure(self) -> None:
        if not self._made:
            private_dir(self.root)
            private_dir(self.root / _TEMPORARY)
            self._made = True

    def path_of(self, sha256: str) -> Path:
        if not SHA256_HEX.fullmatch(sha256):
            raise ValueError("not a SHA-256 in lower-case hex")
        return self.root / sha256[:2] / sha256

    def has(self, sha256: str) -> bool:
        return SHA256_HEX.fullmatch(sha256) is not None and self.path_of(sha256).is_file()

    def local_path(self, sha256: str) -> Path | None:
        return self.path_of(sha256) if self.has(sha256) else None

    @contextlib.contextmanager
    def open(self, sha256: str) -> Iterator[BinaryIO]:
        with self.path_of(sha256).open("rb") as file:
            yield file

    def put_bytes(self, data: bytes) -> StoredAsset:
        sha256 = hashlib.sha256(data).hexdigest()
        if self.has(sha256):
            return StoredAsset(sha256, len(data))
        return self._write(iter((data,)), expected_sha256=sha256)

    def put_stream(self, source: BinaryIO, *, expected_sha256: str | None = None) -> StoredAsset:
        if expected_sha256 is not None and self.has(expected_sha256):
            return StoredAsset(expected_sha256, self.path_of(expected_sha256).stat().st_size)
        return self._write(iter(lambda: source.read(_CHUNK), b""), expected_sha256=expected_sha256)

    def _write(self, chunks: Iterator[bytes], *, expected_sha256: str | None) -> StoredAsset:
        self._ensure()
        draft = self.root / _TEMPORARY / secrets.token_hex(8)
        digest = hashlib.sha256()
        size = 0
        try:
            fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
            with os.fdopen(fd, "wb") as out:
                for chunk in chunks:
                    digest.update(chunk)
                    size += len(chunk)
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            sha256 = digest.hexdigest()
            if expected_sha256 is not None and sha256 != expected_sha256:
                raise AssetError(
                    f"bytes hash to {sha256[:12]}..., expected {expected_sha256[:12]}... "
                    "(the file changed while it was being published?)"
                )
            target = self.path_of(sha256)
            if not target.parent.is_dir():
                private_dir(target.parent)
            # rename() replaces atomically; another writer of the same hash wrote the
            # same bytes, so whichever lands last changes nothing.
            os.replace(draft, target)
            _fsync_dir(target.parent)
        except OSError as error:
            raise AssetError(f"cannot store an asset in {self.root}: {error.strerror}") from None
        finally:
            draft.unlink(missing_ok=True)
        return StoredAsset(sha256, size)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
