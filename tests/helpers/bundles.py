"""Sample content bundles for tests, and ways to break them.

Generating a bundle draws pictures (a few seconds), so each (products, seed)
is generated once per test session and copied for every test that asks:

    bundle = sample_bundle(tmp_path / "bundle")
    edit_json(bundle, "catalog.json", lambda doc: doc["products"][3]["price"].update(amount="-1"))

Editing helpers keep manifest.json in step (sha256 and size), so a test breaks
exactly one thing; pass `update_manifest=False` to break the manifest match too.
"""

from __future__ import annotations

import atexit
import functools
import hashlib
import io
import json
import os
import shutil
import struct
import tempfile
import threading
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final

import pytest
from PIL import Image

from content.bundle import BundleError, BundleProblem, load_bundle
from content.sample import write_sample_bundle

_generated: dict[tuple[int, int], Path] = {}
_cache_root: list[Path] = []  # created on first use, removed when the test process exits

MANIFEST = "manifest.json"


def sample_bundle(
    dest: Path, *, products: int = 16, seed: int = 1, release: str | None = None
) -> Path:
    """A fresh copy of the generated sample bundle at `dest` (must not exist); returns `dest`."""
    shutil.copytree(_generate(products, seed), dest)
    if release is not None:
        set_release(dest, release)
    return dest


def _generate(products: int, seed: int) -> Path:
    key = (products, seed)
    if key not in _generated:
        if not _cache_root:
            root = Path(tempfile.mkdtemp(prefix="kiosk-test-bundles-"))
            atexit.register(shutil.rmtree, root, ignore_errors=True)
            _cache_root.append(root)
        out = _cache_root[0] / f"sample-{products}-{seed}"
        write_sample_bundle(out, products=products, seed=seed)
        _generated[key] = out
    return _generated[key]


def read_json(bundle: Path, name: str) -> Any:
    return json.loads((bundle / name).read_text(encoding="utf-8"))


def write_json(bundle: Path, name: str, document: Any, *, update_manifest: bool = True) -> None:
    write_file(
        bundle,
        name,
        json.dumps(document, ensure_ascii=False, indent=1).encode(),
        update_manifest=update_manifest,
    )


def edit_json(
    bundle: Path,
    name: str,
    edit: Callable[[Any], object],
    *,
    update_manifest: bool = True,
) -> None:
    """Change a JSON document: `edit` mutates it (what it returns is ignored)."""
    document = read_json(bundle, name)
    edit(document)
    write_json(bundle, name, document, update_manifest=update_manifest)


def write_file(bundle: Path, path: str, data: bytes, *, update_manifest: bool = True) -> None:
    """Write a file into the bundle; with `update_manifest`, list it with its hash and size."""
    target = bundle / path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    if update_manifest and path != MANIFEST:
        manifest = read_json(bundle, MANIFEST)
        entry = {"path": path, "sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
        others = [asset for asset in manifest["assets"] if asset["path"] != path]
        manifest["assets"] = sorted([*others, entry], key=lambda asset: asset["path"])
        write_json(bundle, MANIFEST, manifest)


def set_release(bundle: Path, release: str) -> None:
    """Relabel the bundle as another release (the manifest is not hashed itself)."""
    edit_json(bundle, MANIFEST, lambda manifest: manifest.update(release=release))


def flip_byte(bundle: Path, path: str, offset: int = -1) -> None:
    """Corrupt a file without changing its size: only the hash can tell."""
    target = bundle / path
    data = bytearray(target.read_bytes())
    data[offset] ^= 0xFF
    target.write_bytes(bytes(data))


def remove_file(bundle: Path, path: str) -> None:
    (bundle / path).unlink()


def image_paths(bundle: Path) -> list[str]:
    """Every image listed in the manifest."""
    return [
        asset["path"]
        for asset in read_json(bundle, MANIFEST)["assets"]
        if asset["path"].endswith((".jpg", ".png"))
    ]


# --- Pictures a kiosk cannot show (docs/bundle.md: pictures) --------------------


@functools.cache
def bomb_png() -> bytes:
    """A real decompression bomb: a 50,000 × 50,000 1-bit PNG, 300 KB on disk, 312 MB of rows.

    Decoding it as RGBA would need 10 GB. Made once per test session (about 1.5 s).
    """
    width = height = 50_000
    rows = (b"\0" * (1 + width // 8)) * 1000  # filter byte + packed bits, 1000 rows at a time
    packer = zlib.compressobj(9)
    idat = b"".join(packer.compress(rows) for _ in range(height // 1000)) + packer.flush()
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)  # 1 bit grey
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", idat)
        + (_png_chunk(b"IEND", b""))
    )


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


@functools.cache
def huge_jpeg() -> bytes:
    """A 12,000 × 12,000 JPEG of 1.7 MB: 144 million pixels, 576 MB as RGBA."""
    out = io.BytesIO()
    Image.new("L", (12_000, 12_000), 128).save(out, "JPEG", quality=75)
    return out.getvalue()


def truncated_jpeg() -> bytes:
    """The first half of a real JPEG: the header is fine, the pixels stop half way."""
    out = io.BytesIO()
    Image.new("RGB", (640, 480), (200, 40, 40)).save(out, "JPEG", quality=90)
    data = out.getvalue()
    return data[: len(data) // 2]


NOT_A_PICTURE: Final = b"This is a text file with a picture's name.\n"

# Each makes bytes to put where a picture should be.
BAD_PICTURES: Final[dict[str, Callable[[], bytes]]] = {
    "bomb-png": bomb_png,
    "huge-jpeg": huge_jpeg,
    "truncated-jpeg": truncated_jpeg,
    "text-file": lambda: NOT_A_PICTURE,
}


def attract_picture(bundle: Path) -> str:
    """The picture of the first attract slide (painted first at start)."""
    return str(read_json(bundle, "playlist.json")["items"][0]["image"])


def product_picture(bundle: Path, index: int = 0) -> str:
    return str(read_json(bundle, "catalog.json")["products"][index]["images"][0])


def link_outside(bundle: Path, path: str) -> Path:
    """Replace `path` by a link to a copy outside the bundle (manifest unchanged: same bytes)."""
    outside = bundle.parent / f"outside-{bundle.name}-{path.replace('/', '-')}"
    shutil.copyfile(bundle / path, outside)
    (bundle / path).unlink()
    os.symlink(outside, bundle / path)
    return outside


def make_fifo(bundle: Path, path: str) -> None:
    """Replace `path` by a named pipe: opening it to read waits for a writer that never comes."""
    (bundle / path).unlink()
    os.mkfifo(bundle / path)


# Whatever a bundle contains, the kiosk must keep showing its last good release:
# each of these breaks a good bundle in one way (for tests and bench/bad_bundle_start.py).
BAD_BUNDLES: Final[dict[str, Callable[[Path], object]]] = {
    "bomb-png-attract": lambda b: write_file(b, attract_picture(b), bomb_png()),
    "bomb-png-product": lambda b: write_file(b, product_picture(b), bomb_png()),
    "huge-jpeg-attract": lambda b: write_file(b, attract_picture(b), huge_jpeg()),
    "truncated-jpeg-product": lambda b: write_file(b, product_picture(b), truncated_jpeg()),
    "text-as-attract-picture": lambda b: write_file(b, attract_picture(b), NOT_A_PICTURE),
    "symlinked-picture": lambda b: link_outside(b, attract_picture(b)),
    "symlinked-catalog": lambda b: link_outside(b, "catalog.json"),
    "fifo-catalog": lambda b: make_fifo(b, "catalog.json"),
    "loose-price": lambda b: edit_json(
        b, "catalog.json", lambda doc: doc["products"][0]["price"].update(amount=" 1.00")
    ),
    "loose-slot": lambda b: edit_json(
        b, "planogram.json", lambda doc: doc["slots"][0].update(slot="1")
    ),
}


def without_waiting_on(fifo: Path, call: Callable[[], object], timeout: float = 60) -> object:
    """`call()`'s result or exception; a test failure if it is still waiting on `fifo` after
    `timeout` (the FIFO is then fed an end of file, so the stuck call returns and the test ends)."""
    outcome: list[object] = []

    def run() -> None:
        try:
            outcome.append(call())
        except Exception as error:  # handed to the test
            outcome.append(error)

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(timeout)
    if worker.is_alive():
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))  # a writer that says nothing
        worker.join(timeout)
        raise AssertionError(f"waited on the FIFO {fifo.name} for {timeout:.0f} s")
    return outcome[0]


def problems_of(root: Path, *, verify_hashes: bool = True) -> tuple[BundleProblem, ...]:
    """Every problem `load_bundle` names for `root` (it must refuse it)."""
    with pytest.raises(BundleError) as caught:
        load_bundle(root, verify_hashes=verify_hashes)
    return caught.value.problems


def only_problem(root: Path, *, verify_hashes: bool = True) -> BundleProblem:
    problems = problems_of(root, verify_hashes=verify_hashes)
    assert len(problems) == 1, problems
    return problems[0]
