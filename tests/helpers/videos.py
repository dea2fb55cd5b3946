"""The attract video fixtures (tests/data/video, made with ffmpeg: see its README) and
a way to put one in a bundle's playlist."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final

from helpers.bundles import edit_json, write_file

VIDEOS: Final = Path(__file__).resolve().parents[1] / "data" / "video"
ORANGE: Final = VIDEOS / "orange-1s.mp4"  # H.264, 320x180, 1 s of (224, 112, 32)
ORANGE_RGB: Final = (0xE0, 0x70, 0x20)
HEVC: Final = VIDEOS / "hevc-1s.mp4"  # H.265: refused by bundles
GARBAGE: Final = VIDEOS / "garbage.mp4"  # an ftyp box, then text: refused by bundles
BAD_FRAMES: Final = VIDEOS / "bad-frames.mp4"  # valid boxes, media data that never decodes


def add_video(bundle: Path, path: str, data: bytes, **item: Any) -> None:
    """Ship `data` as `path` and append a playlist entry playing it (with `item`'s fields)."""
    write_file(bundle, path, data)
    edit_json(bundle, "playlist.json", lambda doc: doc["items"].append({"video": path, **item}))
