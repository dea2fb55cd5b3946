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
import hashlib
import json
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

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
