"""The kiosk's local asset store: content files from HQ by SHA-256, downloaded once, resumed.

    <data>/content/assets/<sha256>            complete and verified
    <data>/content/assets/.partial/<sha256>   a download in progress

A file becomes an asset only after its bytes hash to its name; releases are
hard links to assets (content/store.py `stage`), so an asset held by a release
has more than one link. A partial download is resumed with
`Range: bytes=<size>-` and `If-Range: "<sha256>"`: HQ answers 206 with the rest,
or 200 with the whole file if it no longer has those bytes (the partial file is
then started again). Bytes are written as they arrive, unbuffered, so a killed
relay keeps everything it received; memory stays at one chunk.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import re
from collections.abc import Callable, Collection
from pathlib import Path
from typing import Final

import requests

from backend_client.client import HqClient, HqError, HqRefused, HqUnavailable

_log = logging.getLogger("backend_client.content_assets")

ASSETS: Final = "assets"
PARTIAL: Final = ".partial"
CHUNK: Final = 64 * 1024  # what is held in memory while downloading
_HASH_CHUNK: Final = 1 << 20
_CONTENT_RANGE: Final = re.compile(r"bytes (\d+)-(\d+)/(\d+|\*)")


class AssetMismatch(Exception):
    """HQ's bytes for an asset do not hash to its name (or are longer than the manifest says)."""


class Stopped(Exception):
    """The download was interrupted because the relay is stopping; the partial file stays."""


class AssetStore:
    """The assets of `<content root>/assets`."""

    def __init__(self, content_root: Path) -> None:
        self._dir = content_root / ASSETS
        self._partial = self._dir / PARTIAL

    @property
    def directory(self) -> Path:
        return self._dir

    def path(self, sha256: str) -> Path:
        return self._dir / sha256

    def has(self, sha256: str) -> bool:
        return self.path(sha256).is_file()

    def partial_size(self, sha256: str) -> int:
        try:
            return (self._partial / sha256).stat().st_size
        except FileNotFoundError:
            return 0

    def download(
        self,
        client: HqClient,
        sha256: str,
        size: int,
        *,
        on_bytes: Callable[[int], None] = lambda _: None,
        stopping: Callable[[], bool] = lambda: False,
    ) -> int:
        """Fetch the asset (the rest of it, if partly held) and verify it; bytes received.

        Raises AssetMismatch (the partial file is deleted), HqError when HQ cannot
        be reached or refuses (the partial file stays for the next try), Stopped.
        `on_bytes` is called with each chunk's length as it is written.
        """
        if self.has(sha256):
            return 0
        self._partial.mkdir(parents=True, exist_ok=True)
        partial = self._partial / sha256
        offset = self.partial_size(sha256)
        if offset > size:  # cannot be this asset: start again
            partial.unlink()
            offset = 0
        if offset == size:
            self._promote(partial, sha256, _hash_of(partial))
            return 0
        response, offset = self._request(client, sha256, offset)
        with response:
            digest = _hash_of(partial, offset)
            fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, 0o644)
            try:
                os.ftruncate(fd, offset)
                os.lseek(fd, offset, os.SEEK_SET)
                received = _receive(
                    response, fd, digest, size - offset, on_bytes=on_bytes, stopping=stopping
                )
                os.fsync(fd)
            except AssetMismatch:
                partial.unlink(missing_ok=True)
                raise
            finally:
                os.close(fd)
        self._promote(partial, sha256, digest)
        return received

    def adopt(self, sha256: str, held: Path) -> bool:
        """Take a file the kiosk holds already (in an installed release) as the asset
        `sha256`, by a hard link, if its bytes hash to it; whether it was taken."""
        if self.has(sha256):
            return True
        self._partial.mkdir(parents=True, exist_ok=True)
        candidate = self._partial / f".adopt-{sha256}"
        candidate.unlink(missing_ok=True)
        try:
            os.link(held, candidate, follow_symlinks=False)
            if not candidate.is_file() or candidate.is_symlink():
                raise FileNotFoundError(held)
            self._promote(candidate, sha256, _hash_of(candidate))
        except (OSError, AssetMismatch):
            candidate.unlink(missing_ok=True)
            return False
        return True

    def _request(self, client: HqClient, sha256: str, offset: int) -> tuple[requests.Response, int]:
        """HQ's answer for the asset from `offset` on, and where its body starts."""
        try:
            response = client.open_content_asset(sha256, offset=offset, if_range=f'"{sha256}"')
        except HqRefused as exc:
            if exc.status != 416 or offset == 0:
                raise
            # HQ says the range is past its file's end: ours is not its file. Start over.
            _log.warning("asset %s: HQ refused to resume (416); starting it again", sha256[:12])
            (self._partial / sha256).unlink(missing_ok=True)
            offset = 0
            response = client.open_content_asset(sha256)
        start = _start_of(response.status_code, response.headers.get("Content-Range"))
        if start is None or start not in (0, offset):
            response.close()
            raise HqUnavailable(f"HQ answered {response.status_code} for an asset")
        if start != offset:
            _log.info(
                "asset %s: HQ sent the whole file, not the rest; starting it again", sha256[:12]
            )
        return response, start

    def _promote(self, partial: Path, sha256: str, digest: hashlib._Hash) -> None:
        if digest.hexdigest() != sha256:
            partial.unlink(missing_ok=True)
            raise AssetMismatch(f"bytes hash to {digest.hexdigest()[:12]}…, not {sha256[:12]}…")
        os.replace(partial, self.path(sha256))
        _fsync_dir(self._dir)

    def collect(self, keep: Collection[str]) -> int:
        """Delete assets no release holds (one link left) and not in `keep`, and partial
        downloads not in `keep`; the number of files deleted."""
        deleted = 0
        for folder, unreferenced_only in ((self._dir, True), (self._partial, False)):
            try:
                entries = list(os.scandir(folder))
            except FileNotFoundError:
                continue
            for entry in entries:
                if entry.name.startswith(".") or entry.name in keep:
                    continue
                with contextlib.suppress(OSError):
                    if not entry.is_file(follow_symlinks=False):
                        continue
                    if unreferenced_only and entry.stat(follow_symlinks=False).st_nlink > 1:
                        continue  # a release holds it
                    os.unlink(entry.path)
                    deleted += 1
        return deleted


def _receive(
    response: requests.Response,
    fd: int,
    digest: hashlib._Hash,
    expected: int,
    *,
    on_bytes: Callable[[int], None],
    stopping: Callable[[], bool],
) -> int:
    """Write the body to `fd` as it arrives, hashing it; the bytes received."""
    received = 0
    try:
        for chunk in response.iter_content(CHUNK):
            if received + len(chunk) > expected:
                raise AssetMismatch("HQ sent more bytes than the manifest says")
            os.write(fd, chunk)  # unbuffered: a killed relay keeps what it received
            digest.update(chunk)
            received += len(chunk)
            on_bytes(len(chunk))
            if stopping():
                raise Stopped
    except requests.RequestException as exc:  # cut off, timed out
        raise HqUnavailable(f"asset download cut off: {type(exc).__name__}") from None
    if received != expected:
        raise HqUnavailable(f"asset download ended {expected - received} bytes short")
    return received


def _start_of(status: int, content_range: str | None) -> int | None:
    """Where the body starts in the file: 0 for a 200, the range's start for a 206."""
    if status == 200:
        return 0
    if status == 206 and content_range is not None:
        match = _CONTENT_RANGE.fullmatch(content_range.strip())
        if match is not None:
            return int(match.group(1))
    return None


def _hash_of(path: Path, length: int | None = None) -> hashlib._Hash:
    """The SHA-256 state after the first `length` bytes of `path` (all of it: None)."""
    digest = hashlib.sha256()
    if length == 0:
        return digest
    left = length
    with path.open("rb") as reader:
        while left is None or left > 0:
            chunk = reader.read(_HASH_CHUNK if left is None else min(_HASH_CHUNK, left))
            if not chunk:
                break
            digest.update(chunk)
            if left is not None:
                left -= len(chunk)
    return digest


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


__all__ = ["ASSETS", "AssetMismatch", "AssetStore", "HqError", "Stopped"]
