"""Bytes moved to a kiosk when one picture of a large release changes.

    .venv/bin/python bench/content_delta.py [--total-mb 500] [--picture-mb 5]

A real `kiosk-hq serve` on loopback publishes a release of about `--total-mb`
(the sample catalog plus attract pictures of about `--picture-mb` each, noise
JPEGs the kiosk decodes like any picture), a kiosk enrolled through a counting
TCP proxy downloads and stages it with the content updater
(`backend_client.updater`), then HQ publishes a second release where one
picture changes. Every byte HQ sends through the proxy is counted: manifest,
asset bodies, headers, status answers.

Target (issue 16): bytes moved for the second release under 1.05 x (the changed
picture + the manifest).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import tarfile
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))

import requests  # noqa: E402
from helpers.hq_process import HqProcess  # noqa: E402
from helpers.wire_proxy import WireProxy  # noqa: E402
from PIL import Image  # noqa: E402

from backend_client.client import HqClient, enroll  # noqa: E402
from backend_client.updater import ContentUpdater  # noqa: E402
from content.sample import write_sample_bundle  # noqa: E402

STORE = "bench-delta"
BYTES_PER_PIXEL = 0.9  # a noise JPEG at quality 90, measured


def noise_picture(path: Path, megabytes: float) -> None:
    """A JPEG of about `megabytes`: noise, so no two are alike and none compresses."""
    side = int((megabytes * 1e6 / BYTES_PER_PIXEL) ** 0.5)
    pixels = os.urandom(side * side * 3)
    Image.frombytes("RGB", (side, side), pixels).save(path, "JPEG", quality=90)


def relist(bundle: Path) -> None:
    """Write manifest.json again for the files in the bundle."""
    manifest = json.loads((bundle / "manifest.json").read_text())
    assets = []
    for path in sorted(bundle.rglob("*")):
        if path.is_file() and path.name != "manifest.json":
            data = path.read_bytes()
            assets.append(
                {
                    "path": str(path.relative_to(bundle)),
                    "sha256": hashlib.sha256(data).hexdigest(),
                    "size": len(data),
                }
            )
    manifest["assets"] = assets
    (bundle / "manifest.json").write_text(json.dumps(manifest, indent=1))


def make_release(bundle: Path, total_mb: float, picture_mb: float) -> list[str]:
    write_sample_bundle(bundle, products=16, release="bench-1")
    count = max(1, round(total_mb / picture_mb))
    (bundle / "attract").mkdir(exist_ok=True)
    names = []
    for n in range(count):
        name = f"attract/big-{n:03d}.jpg"
        noise_picture(bundle / name, picture_mb)
        names.append(name)
    playlist = json.loads((bundle / "playlist.json").read_text())
    playlist["items"] = [*playlist["items"], *({"image": name} for name in names)]
    (bundle / "playlist.json").write_text(json.dumps(playlist, indent=1))
    relist(bundle)
    return names


def publish(hq: HqProcess, bundle: Path, scratch: Path) -> int:
    archive = scratch / "release.tar"
    with tarfile.open(archive, "w") as tar:
        for path in sorted(bundle.rglob("*")):
            if path.is_file():
                tar.add(path, arcname=str(path.relative_to(bundle)))
    token = (hq.data_dir / "admin-token").read_text().strip()
    with archive.open("rb") as body:
        answer = requests.post(
            f"{hq.base_url}/v1/admin/content/releases",
            params={"to": f"store:{STORE}", "by": "bench"},
            data=body,
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/x-tar"},
            timeout=600,
        )
    archive.unlink()
    answer.raise_for_status()
    return int(answer.json()["release"]["release"])


def stage(updater: ContentUpdater, number: int) -> float:
    started = time.perf_counter()
    for _ in range(5):
        updater.poll_once()
        if f"hq-{number}" in updater.store.releases():
            return time.perf_counter() - started
    raise SystemExit(f"release {number} was not staged; see the log")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--total-mb", type=float, default=500.0)
    parser.add_argument("--picture-mb", type=float, default=5.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="content-delta-") as scratch_name:
        scratch = Path(scratch_name)
        bundle = scratch / "bundle"
        names = make_release(bundle, args.total_mb, args.picture_mb)
        hq = HqProcess(scratch / "hq")
        hq.start()
        try:
            proxy = WireProxy(hq.port)
            credentials = enroll(f"http://127.0.0.1:{proxy.port}", hq.enroll_code(STORE))
            data = scratch / "kiosk"
            updater = ContentUpdater(data, credentials, HqClient(credentials))

            first = publish(hq, bundle, scratch)
            proxy.take()
            seconds = stage(updater, first)
            first_bytes = proxy.take()
            total = sum(p.stat().st_size for p in bundle.rglob("*") if p.is_file())
            print(
                f"release {first}: {total / 1e6:.1f} MB in {len(names) + 1} pictures and documents;"
                f" {first_bytes / 1e6:.1f} MB moved, staged in {seconds:.1f} s"
            )

            changed = bundle / names[len(names) // 2]
            noise_picture(changed, args.picture_mb)
            manifest = json.loads((bundle / "manifest.json").read_text())
            manifest["release"] = "bench-2"
            (bundle / "manifest.json").write_text(json.dumps(manifest))
            relist(bundle)
            second = publish(hq, bundle, scratch)
            envelope = requests.get(
                f"{hq.base_url}/v1/content/manifest",
                headers={"Authorization": f"Bearer {credentials.token}"},
                timeout=10,
            ).content
            proxy.take()
            seconds = stage(updater, second)
            moved = proxy.take()
            picture = changed.stat().st_size
            floor = picture + len(envelope)
            print(
                f"release {second}: one picture of {picture / 1e6:.2f} MB changed;"
                f" manifest {len(envelope) / 1e3:.1f} kB; staged in {seconds:.1f} s"
            )
            print(
                f"bytes moved {moved:,} vs picture + manifest {floor:,}:"
                f" {moved / floor:.4f} x (target < 1.05 x)"
            )
        finally:
            hq.stop()
    return 0 if moved < 1.05 * floor else 1


if __name__ == "__main__":
    sys.exit(main())
