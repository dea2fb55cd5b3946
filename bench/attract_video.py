"""What an attract video costs the kiosk: CPU and memory while a 1080p H.264 video loops.

Three kiosk processes in turn (offscreen, the 16-product sample bundle): the
sample's picture loop; the loop with one 1920x1080 30 fps H.264 video added as
an entry; and that video alone (it loops without a gap). For each, after the
attract screen's first paint and a settling pause: RSS, and the process's CPU
time over the measuring window (user + system, in % of one core). The video is
made once with ffmpeg (Debian's `apt-get install ffmpeg`; only this bench needs it).

    .venv/bin/python bench/attract_video.py [--seconds 20] [--only looping]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from harness import CACHE, running_kiosk, sample_bundle

VIDEO = CACHE / "attract-1080p30-10s.mp4"


def make_video() -> Path:
    if not VIDEO.exists():
        if shutil.which("ffmpeg") is None:
            raise SystemExit("ffmpeg is missing: apt-get install ffmpeg (only for this bench)")
        subprocess.run(
            [
                "ffmpeg", "-v", "error", "-y",
                "-f", "lavfi", "-i", "testsrc2=s=1920x1080:r=30:d=10",
                "-c:v", "libx264", "-profile:v", "high", "-b:v", "6M",
                "-pix_fmt", "yuv420p", "-movflags", "+faststart", "-an",
                str(VIDEO),
            ],
            check=True,
        )  # fmt: skip
    return VIDEO


def with_video(source: Path, dest: Path, *, alone: bool) -> Path:
    """A copy of `source` whose playlist plays the bench video (alone, or first)."""
    shutil.copytree(source, dest)
    data = make_video().read_bytes()
    (dest / "attract" / "bench.mp4").write_bytes(data)
    manifest = json.loads((dest / "manifest.json").read_text())
    playlist = json.loads((dest / "playlist.json").read_text())
    entry = {"video": "attract/bench.mp4"}
    playlist["items"] = [entry] if alone else [entry, *playlist["items"]]
    playlist_bytes = json.dumps(playlist).encode()
    (dest / "playlist.json").write_bytes(playlist_bytes)
    listed = {asset["path"]: asset for asset in manifest["assets"]}
    for path, content in (("attract/bench.mp4", data), ("playlist.json", playlist_bytes)):
        listed[path] = {
            "path": path,
            "sha256": hashlib.sha256(content).hexdigest(),
            "size": len(content),
        }
    manifest["assets"] = sorted(listed.values(), key=lambda asset: asset["path"])
    (dest / "manifest.json").write_text(json.dumps(manifest))
    return dest


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def measure(name: str, bundle: Path, seconds: float) -> None:
    with running_kiosk(bundle) as kiosk:
        time.sleep(3)  # the first video frames, the first cross-fade
        rss = [kiosk.rss_bytes()]
        cpu_before, wall_before = cpu_seconds(kiosk.process.pid), time.monotonic()
        while time.monotonic() - wall_before < seconds:
            time.sleep(1)
            rss.append(kiosk.rss_bytes())
        cpu = cpu_seconds(kiosk.process.pid) - cpu_before
        wall = time.monotonic() - wall_before
    half = rss[len(rss) // 2 :]
    print(
        f"{name:<28} CPU {100 * cpu / wall:5.1f} % of a core over {wall:.0f} s;"
        f" RSS {rss[0] / 2**20:.0f} MB at the start, max {max(rss) / 2**20:.0f} MB,"
        f" second half {min(half) / 2**20:.0f}-{max(half) / 2**20:.0f} MB,"
        f" end {rss[-1] / 2**20:.0f} MB"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--only", help="run the variants whose name contains this")
    args = parser.parse_args()
    pictures = sample_bundle(16)
    with tempfile.TemporaryDirectory(prefix="kiosk-bench-video-") as tmp:
        mixed = with_video(pictures, Path(tmp) / "mixed", alone=False)
        alone = with_video(pictures, Path(tmp) / "alone", alone=True)
        print(f"cores: {os.cpu_count()}; video: 1920x1080, 30 fps, H.264 6 Mbit/s, offscreen")
        variants = {
            "pictures only": pictures,
            "video first, then pictures": mixed,
            "one video, looping": alone,
        }
        for name, bundle in variants.items():
            if args.only is None or args.only in name:
                measure(name, bundle, args.seconds)


if __name__ == "__main__":
    main()
