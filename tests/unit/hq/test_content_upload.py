"""Uploaded archives unpack only regular files inside the bundle, within bounds."""

from __future__ import annotations

import io
import tarfile
import zipfile
from pathlib import Path

import pytest

from hq.content.upload import Limits, UploadRefused, unpack


def write_zip(path: Path, entries: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return path


def write_tar(path: Path, entries: dict[str, bytes], mode: str = "w:gz") -> Path:
    with tarfile.open(path, mode) as archive:
        for name, data in entries.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return path


@pytest.mark.parametrize("writer", [write_zip, write_tar])
def test_an_archive_with_one_top_folder_unpacks_to_that_folder(
    tmp_path: Path, writer: object
) -> None:
    archive = writer(
        tmp_path / "upload", {"spring/manifest.json": b"{}", "spring/images/a.png": b"x"}
    )  # type: ignore[operator]

    bundle = unpack(archive, tmp_path / "out")

    assert bundle == tmp_path / "out" / "spring"
    assert (bundle / "manifest.json").read_bytes() == b"{}"
    assert (bundle / "images" / "a.png").read_bytes() == b"x"


def test_files_at_the_root_are_the_bundle(tmp_path: Path) -> None:
    archive = write_tar(
        tmp_path / "upload.tar", {"./manifest.json": b"{}", "./catalog.json": b"[]"}, "w"
    )

    assert unpack(archive, tmp_path / "out") == tmp_path / "out"


def test_a_zip_bomb_is_stopped_at_the_byte_limit_and_leaves_nothing(tmp_path: Path) -> None:
    archive = write_zip(tmp_path / "bomb.zip", {"big.bin": b"\0" * 5_000_000})

    with pytest.raises(UploadRefused, match="unpacks to more than 1,000,000 bytes"):
        unpack(archive, tmp_path / "out", limits=Limits(unpacked_bytes=1_000_000))

    assert not (tmp_path / "out").exists()


def test_too_many_entries_are_refused(tmp_path: Path) -> None:
    archive = write_zip(tmp_path / "many.zip", {f"f{n}.json": b"{}" for n in range(11)})

    with pytest.raises(UploadRefused, match="more than 10 entries"):
        unpack(archive, tmp_path / "out", limits=Limits(entries=10))


def test_an_entry_twice_is_refused(tmp_path: Path) -> None:
    buffer = tmp_path / "twice.tar"
    with tarfile.open(buffer, "w") as archive:
        for _ in range(2):
            info = tarfile.TarInfo("manifest.json")
            info.size = 2
            archive.addfile(info, io.BytesIO(b"{}"))

    with pytest.raises(UploadRefused, match=r"manifest\.json: is in the archive twice"):
        unpack(buffer, tmp_path / "out")


@pytest.mark.parametrize("name", ["../x", "a/../../x", "/abs", "a\\b"])
def test_paths_that_could_leave_the_bundle_are_refused(tmp_path: Path, name: str) -> None:
    archive = write_zip(tmp_path / "evil.zip", {name: b"x"})

    with pytest.raises(UploadRefused):
        unpack(archive, tmp_path / "out")

    assert not (tmp_path / "x").exists()


def test_a_hard_link_or_device_in_a_tar_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "links.tar"
    with tarfile.open(path, "w") as archive:
        info = tarfile.TarInfo("catalog.json")
        info.type = tarfile.LNKTYPE
        info.linkname = "manifest.json"
        archive.addfile(info)

    with pytest.raises(UploadRefused, match=r"catalog\.json: is a link or a special file"):
        unpack(path, tmp_path / "out")
