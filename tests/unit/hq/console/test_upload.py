"""Unpacking an uploaded bundle: nothing lands outside the scratch folder, whatever it holds."""

from __future__ import annotations

import io
import tarfile
import zipfile
from pathlib import Path

import pytest

from hq.console.upload import UploadRefused, unpack


def tar(entries: list[tarfile.TarInfo], payloads: dict[str, bytes] | None = None) -> io.BytesIO:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for entry in entries:
            data = (payloads or {}).get(entry.name, b"")
            entry.size = len(data) if entry.isfile() else 0
            archive.addfile(entry, io.BytesIO(data) if entry.isfile() else None)
    buffer.seek(0)
    return buffer


def file_entry(name: str) -> tarfile.TarInfo:
    return tarfile.TarInfo(name)


def link_entry(name: str, target: str, kind: bytes = tarfile.SYMTYPE) -> tarfile.TarInfo:
    entry = tarfile.TarInfo(name)
    entry.type = kind
    entry.linkname = target
    return entry


def test_a_tarball_with_one_folder_unpacks_to_that_folder(tmp_path: Path) -> None:
    archive = tar(
        [file_entry("b/manifest.json"), file_entry("b/catalog.json")], {"b/manifest.json": b"{}"}
    )
    root = unpack(archive, tmp_path / "out")
    assert root == tmp_path / "out" / "b"
    assert (root / "manifest.json").read_bytes() == b"{}"


@pytest.mark.parametrize(
    "entry",
    [
        link_entry("b/catalog.json", "/etc/passwd"),
        link_entry("b/catalog.json", "../../outside", tarfile.LNKTYPE),
        file_entry("../escape.json"),
        file_entry("/abs/escape.json"),
    ],
)
def test_links_and_paths_outside_the_folder_are_refused(
    tmp_path: Path, entry: tarfile.TarInfo
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(UploadRefused):
        unpack(tar([file_entry("b/manifest.json"), entry]), out)
    assert not (tmp_path / "escape.json").exists()
    assert not (tmp_path / "abs").exists()


def test_a_zip_entry_climbing_out_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("manifest.json", "{}")
        archive.writestr("../escape.json", "x")
    buffer.seek(0)
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(UploadRefused, match="outside"):
        unpack(buffer, out)
    assert not (tmp_path / "escape.json").exists()


def test_a_zip_symlink_is_refused(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("manifest.json", "{}")
        link = zipfile.ZipInfo("catalog.json")
        link.external_attr = 0o120777 << 16
        archive.writestr(link, "/etc/passwd")
    buffer.seek(0)
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(UploadRefused, match="link"):
        unpack(buffer, out)


def test_a_zip_that_says_it_unpacks_to_more_than_4_gib_is_refused_unread(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("manifest.json", "{}")
        archive.writestr("big-1.bin", b"\0" * 1024)
        archive.writestr("big-2.bin", b"\0" * 1024)
    data = bytearray(buffer.getvalue())
    # Make the central directory claim 3 GiB for each (a bomb's own words).
    for name in (b"big-1.bin", b"big-2.bin"):
        index = data.rfind(name)
        header = data.rfind(b"PK\x01\x02", 0, index)
        data[header + 24 : header + 28] = (3 << 30).to_bytes(4, "little")
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(UploadRefused, match="4 GiB"):
        unpack(io.BytesIO(bytes(data)), out)
    assert list(out.iterdir()) == []


def test_an_archive_without_a_manifest_says_how_to_pack_it(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(UploadRefused, match=r"no manifest\.json"):
        unpack(tar([file_entry("a/b/manifest.json")]), out)
