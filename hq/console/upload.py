"""A bundle folder uploaded as a tar or zip file, unpacked safely into a scratch folder.

Whatever the archive holds, nothing lands outside the scratch folder: absolute
paths, `..`, links, devices and FIFOs are refused (tarfile's `data` filter; the
same rules by hand for zip), and so are archives of more than MAX_MEMBERS
entries or MAX_UNPACKED_BYTES unpacked (a zip bomb is refused before a byte of it
is written). The bundle itself is then checked by HQ's content service as every
kiosk would check it.

The folder may be the archive's root or its one top-level directory (what
`tar czf bundle.tgz bundle/` and "compress folder" make).
"""

from __future__ import annotations

import shutil
import stat
import tarfile
import zipfile
from pathlib import Path, PurePosixPath
from typing import BinaryIO, Final

from hq.errors import HqError

MANIFEST: Final = "manifest.json"
MAX_MEMBERS: Final = 50_000  # a 10,000-product catalog with several pictures each
MAX_UNPACKED_BYTES: Final = 4 * 1024 * 1024 * 1024
# 4 GiB unpacked: four times the upload limit leaves room for compressed documents
# and stops a bomb long before the disk fills.
_CHUNK: Final = 1 << 20


class UploadRefused(HqError):
    """The upload is not a bundle folder in a tar or zip file (the message says why)."""


def unpack(source: BinaryIO, into: Path) -> Path:
    """Unpack the archive in `source` into the empty folder `into`; the bundle folder."""
    head = source.read(4)
    source.seek(0)
    if head.startswith(b"PK"):
        _unzip(source, into)
    else:
        _untar(source, into)
    return _bundle_root(into)


def _untar(source: BinaryIO, into: Path) -> None:
    try:
        with tarfile.open(fileobj=source, mode="r:*") as archive:
            members: list[tarfile.TarInfo] = []
            total = 0
            for member in archive:
                if len(members) >= MAX_MEMBERS:
                    raise UploadRefused(f"the archive has more than {MAX_MEMBERS} entries")
                if not (member.isfile() or member.isdir()):
                    raise UploadRefused(
                        f"{member.name!r} is a link or a special file: a bundle holds files only"
                    )
                total += member.size
                if total > MAX_UNPACKED_BYTES:
                    raise UploadRefused("the archive unpacks to more than 4 GiB")
                members.append(member)
            try:
                archive.extractall(into, members=members, filter="data")
            except tarfile.FilterError as error:
                raise UploadRefused(f"the archive cannot be unpacked safely: {error}") from None
    except tarfile.TarError:
        raise UploadRefused("the upload is not a tar or zip file (or it is damaged)") from None


def _unzip(source: BinaryIO, into: Path) -> None:
    try:
        with zipfile.ZipFile(source) as archive:
            entries = archive.infolist()
            if len(entries) > MAX_MEMBERS:
                raise UploadRefused(f"the archive has more than {MAX_MEMBERS} entries")
            if sum(entry.file_size for entry in entries) > MAX_UNPACKED_BYTES:
                raise UploadRefused("the archive unpacks to more than 4 GiB")
            for entry in entries:
                target = _inside(into, entry.filename)
                # Unix mode bits, when the zip has them; no type bits (as Python's
                # zipfile writes) is a plain file.
                kind = stat.S_IFMT(entry.external_attr >> 16)
                if kind not in {0, stat.S_IFREG, stat.S_IFDIR}:
                    raise UploadRefused(
                        f"{entry.filename!r} is a link or a special file: a bundle holds files only"
                    )
                if entry.is_dir():
                    target.mkdir(parents=True, exist_ok=True)
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                written = 0
                with archive.open(entry) as packed, target.open("xb") as out:
                    while chunk := packed.read(_CHUNK):
                        written += len(chunk)
                        if written > entry.file_size:  # a header that lies about the size
                            raise UploadRefused(f"{entry.filename!r} is larger than it says")
                        out.write(chunk)
    except (zipfile.BadZipFile, EOFError):
        raise UploadRefused("the upload is not a tar or zip file (or it is damaged)") from None
    except FileExistsError:
        raise UploadRefused("the archive holds the same file twice") from None


def _inside(root: Path, name: str) -> Path:
    path = PurePosixPath(name.replace("\\", "/"))
    if path.is_absolute() or ".." in path.parts or not path.parts:
        raise UploadRefused(f"{name!r} points outside the bundle folder")
    return root.joinpath(*path.parts)


def _bundle_root(into: Path) -> Path:
    if (into / MANIFEST).is_file():
        return into
    entries = [entry for entry in into.iterdir() if entry.name != "__MACOSX"]
    if len(entries) == 1 and entries[0].is_dir() and (entries[0] / MANIFEST).is_file():
        return entries[0]
    raise UploadRefused(
        f"no {MANIFEST} at the top of the archive or of its one folder: "
        "pack the bundle folder itself (docs/bundle.md)"
    )


def remove(folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)
