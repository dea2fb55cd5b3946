"""A bundle uploaded as a tar (plain, gzip, bzip2, xz) or zip archive, unpacked safely.

An archive comes from a staff member's computer: it may hold anything. Only
regular files and folders are unpacked, each under the target folder (no
absolute path, no `..`, no link, device or FIFO), with bounds on the number of
entries and the bytes of each and all (counted as they are written: a zip's
declared sizes may lie). Anything else refuses the whole archive, naming the
entry; nothing of a refused archive is left behind.

When the archive's files all sit in one top folder (`spring/manifest.json`),
that folder is the bundle.
"""

from __future__ import annotations

import os
import shutil
import stat
import tarfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO, Final

from hq.errors import HqError

MAX_ARCHIVE_BYTES: Final = 4 * 1024**3  # a 500 MB release with room for video
MAX_UNPACKED_BYTES: Final = 4 * 1024**3
MAX_ENTRIES: Final = 50_000  # a 10,000-product catalog's pictures, several per product
MAX_PATH: Final = 255
_CHUNK: Final = 1 << 20


class UploadRefused(HqError):
    """The archive is not one HQ unpacks; says which entry and why."""


@dataclass(frozen=True, slots=True)
class Limits:
    unpacked_bytes: int = MAX_UNPACKED_BYTES
    entries: int = MAX_ENTRIES


def unpack(archive: Path, into: Path, *, limits: Limits = Limits()) -> Path:
    """Unpack `archive` into the empty or missing folder `into`; the bundle folder."""
    into.mkdir(parents=True, exist_ok=True)
    try:
        if zipfile.is_zipfile(archive):
            _unpack_zip(archive, into, limits)
        else:
            _unpack_tar(archive, into, limits)
    except BaseException:
        shutil.rmtree(into, ignore_errors=True)
        raise
    entries = [entry for entry in into.iterdir() if not entry.name.startswith(".")]
    if len(entries) == 1 and entries[0].is_dir() and not (into / "manifest.json").exists():
        return entries[0]
    return into


def _unpack_tar(archive: Path, into: Path, limits: Limits) -> None:
    try:
        opened = tarfile.open(archive, mode="r:*")  # noqa: SIM115 (closed by the with below)
    except (tarfile.TarError, OSError) as error:
        raise UploadRefused(f"not a tar or zip archive ({error})") from None
    with opened, _Budget(limits) as budget:
        try:
            for member in opened:
                name = _safe_name(member.name)
                budget.entry()
                if name is None and member.isdir():
                    continue
                if name is None:
                    raise UploadRefused(f"{member.name!r}: a file without a name")
                if member.isdir():
                    _make_dir(into, name)
                elif member.isreg():
                    source = opened.extractfile(member)
                    assert source is not None
                    with source:
                        budget.copy(source, _new_file(into, name), name)
                else:
                    raise UploadRefused(
                        f"{name}: is a link or a special file; a bundle holds regular files only"
                    )
        except (tarfile.TarError, EOFError, OSError) as error:
            raise UploadRefused(f"the archive is damaged ({error})") from None


def _unpack_zip(archive: Path, into: Path, limits: Limits) -> None:
    try:
        opened = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError) as error:
        raise UploadRefused(f"not a zip archive ({error})") from None
    with opened, _Budget(limits) as budget:
        try:
            for info in opened.infolist():
                name = _safe_name(info.filename)
                budget.entry()
                if name is None and info.is_dir():
                    continue
                if name is None:
                    raise UploadRefused(f"{info.filename!r}: a file without a name")
                mode = info.external_attr >> 16
                if info.is_dir():
                    _make_dir(into, name)
                    continue
                # Unix-made zips carry the file type; others (and writestr) leave it 0.
                if stat.S_IFMT(mode) and not stat.S_ISREG(mode):
                    raise UploadRefused(
                        f"{name}: is a link or a special file; a bundle holds regular files only"
                    )
                with opened.open(info) as source:
                    budget.copy(source, _new_file(into, name), name)
        except (zipfile.BadZipFile, EOFError, OSError, NotImplementedError) as error:
            raise UploadRefused(f"the archive is damaged ({error})") from None


def _safe_name(raw: str) -> str | None:
    """The entry's path inside the bundle (None for the top folder itself, `./`);
    UploadRefused if it could point outside."""
    if not raw or "\x00" in raw or "\\" in raw or len(raw) > MAX_PATH:
        raise UploadRefused(f"{raw[:80]!r}: not a usable path inside a bundle")
    path = PurePosixPath(raw)
    parts = [part for part in path.parts if part not in ("", ".")]
    if path.is_absolute() or ".." in parts:
        raise UploadRefused(f"{raw[:80]!r}: a path outside the bundle")
    return "/".join(parts) or None


def _make_dir(into: Path, name: str) -> Path:
    folder = into
    for part in name.split("/"):
        folder = folder / part
        try:
            info = os.lstat(folder)
        except FileNotFoundError:
            folder.mkdir(mode=0o700)
            continue
        if not stat.S_ISDIR(info.st_mode):
            raise UploadRefused(f"{name}: {part} is there already as a file")
    return folder


def _new_file(into: Path, name: str) -> Path:
    folder, _, file_name = name.rpartition("/")
    parent = _make_dir(into, folder) if folder else into
    return parent / file_name


class _Budget:
    """Counts entries and bytes written against the limits."""

    def __init__(self, limits: Limits) -> None:
        self._limits = limits
        self._entries = 0
        self._bytes = 0

    def __enter__(self) -> _Budget:
        return self

    def __exit__(self, *_: object) -> None:
        return None

    def entry(self) -> None:
        self._entries += 1
        if self._entries > self._limits.entries:
            raise UploadRefused(f"more than {self._limits.entries:,} entries")

    def copy(self, source: IO[bytes], target: Path, name: str) -> None:
        with _exclusive(target, name) as out:
            while chunk := source.read(_CHUNK):
                self._bytes += len(chunk)
                if self._bytes > self._limits.unpacked_bytes:
                    raise UploadRefused(
                        f"unpacks to more than {self._limits.unpacked_bytes:,} bytes"
                    )
                out.write(chunk)


@contextmanager
def _exclusive(target: Path, name: str) -> Iterator[IO[bytes]]:
    try:
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    except FileExistsError:
        raise UploadRefused(f"{name}: is in the archive twice") from None
    with os.fdopen(fd, "wb") as out:
        yield out
