"""An attract video's container, checked from its boxes before any kiosk tries to play it.

Bundles carry H.264 video in MP4 files (ISO base media format, ISO/IEC 14496-12
and -14). The kiosk decodes with Qt Multimedia's FFmpeg backend, which would
also try a QuickTime movie, an MKV or H.265; an H.265 video plays on some kiosks
and stutters or fails on others, so publishing one is refused up front. Only
the boxes are read (the `ftyp` brand, then the sample descriptions in `moov`),
never the media data: checking a 500 MB video reads a few kilobytes.

What this cannot tell is whether the frames themselves decode: the kiosk skips
a video that fails to play and reports it (`kiosk/screens/attract.py`).
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from typing import BinaryIO, Final

# A 10-minute 1080p H.264 video at a signage bitrate (6 Mbit/s) is about 450 MB.
MAX_BYTES: Final = 512 * 1024 * 1024
# MP4 brands (major or compatible) of the ISO family; a QuickTime movie ("qt  ")
# has none of them. "M4V " is Apple's MP4 and plays like any other.
MP4_BRANDS: Final = frozenset(
    {b"isom", b"iso2", b"iso3", b"iso4", b"iso5", b"iso6", b"mp41", b"mp42", b"avc1", b"M4V "}
)
H264_ENTRIES: Final = frozenset({b"avc1", b"avc3"})  # sample entries of H.264 video
# The movie box holds the sample tables: a few hundred kilobytes for a long video.
# Larger is refused rather than read whole.
_MOOV_MAX: Final = 16 * 1024 * 1024
_FTYP_MAX: Final = 4096
_HEADER: Final = struct.Struct(">I4s")
_LARGE_SIZE: Final = struct.Struct(">Q")
# Boxes whose children are boxes, on the way from moov down to the sample descriptions.
_CONTAINERS: Final = frozenset({b"trak", b"mdia", b"minf", b"stbl"})


class VideoError(Exception):
    """A video a kiosk must not be asked to play; the message says why, without the path."""


def check(file: BinaryIO, size: int) -> None:
    """Raise VideoError unless `file` (`size` bytes, positioned at 0) is an H.264 MP4."""
    if size > MAX_BYTES:
        raise VideoError(f"is {size:,} bytes; a video may have at most {MAX_BYTES:,}")
    if file.read(_HEADER.size)[4:] != b"ftyp":  # a JPEG, a text file, a QuickTime movie...
        raise VideoError("is not an MP4 video (it does not start with an ftyp box)")
    boxes = _boxes(file, 0, size)
    first = next(boxes)
    _check_brands(_read(file, first, _FTYP_MAX))
    for kind, start, end in boxes:
        if kind == b"moov":
            _check_tracks(_read(file, (kind, start, end), _MOOV_MAX))
            return
    raise VideoError("is not a complete MP4 video (it has no moov box)")


def _check_brands(ftyp: bytes) -> None:
    if len(ftyp) < 8:
        raise VideoError("is not an MP4 video (its ftyp box is too short)")
    brands = {ftyp[0:4]} | {ftyp[index : index + 4] for index in range(8, len(ftyp) - 3, 4)}
    if not brands & MP4_BRANDS:
        major = ftyp[0:4].decode("ascii", "replace")
        raise VideoError(f"is not an MP4 video (brand {major!r}; an MP4 is isom, mp41 or mp42)")


def _check_tracks(moov: bytes) -> None:
    entries = [entry for trak in _children(moov, b"trak") for entry in _video_entries(trak)]
    if not entries:
        raise VideoError("has no video track")
    for entry in entries:
        if entry not in H264_ENTRIES:
            codec = entry.decode("ascii", "replace")
            raise VideoError(f"is {codec!r} video; a kiosk plays H.264 (avc1) MP4 only")


def _video_entries(trak: bytes) -> list[bytes]:
    """The sample entry types (codecs) of `trak` when it is a video track, else none."""
    for mdia in _children(trak, b"mdia"):
        # hdlr: version+flags (4), pre_defined (4), then the handler type.
        handlers = [hdlr[8:12] for hdlr in _children(mdia, b"hdlr")]
        if b"vide" not in handlers:
            return []
        stsd = [
            box
            for minf in _children(mdia, b"minf")
            for stbl in _children(minf, b"stbl")
            for box in _children(stbl, b"stsd")
        ]
        # stsd: version+flags (4), entry count (4), then sample entries (boxes).
        return [kind for body in stsd for kind, _ in _walk(body, 8)]
    return []


def _children(body: bytes, wanted: bytes) -> Iterator[bytes]:
    return (child for kind, child in _walk(body, 0) if kind == wanted)


def _walk(body: bytes, offset: int) -> Iterator[tuple[bytes, bytes]]:
    """The boxes packed in `body` from `offset`: (type, contents)."""
    while offset + _HEADER.size <= len(body):
        size, kind = _HEADER.unpack_from(body, offset)
        header = _HEADER.size
        if size == 1 and offset + 16 <= len(body):
            (size,) = _LARGE_SIZE.unpack_from(body, offset + 8)
            header = 16
        elif size == 0:
            size = len(body) - offset
        if size < header or offset + size > len(body):
            raise VideoError("is not a valid MP4 video (a box runs past its parent)")
        yield kind, body[offset + header : offset + size]
        offset += size


def _boxes(file: BinaryIO, offset: int, end: int) -> Iterator[tuple[bytes, int, int]]:
    """The top-level boxes of the file: (type, start of contents, end), seeking over bodies."""
    while offset + _HEADER.size <= end:
        file.seek(offset)
        head = file.read(16)
        if len(head) < _HEADER.size:
            raise VideoError("is truncated")
        size, kind = _HEADER.unpack_from(head)
        header = _HEADER.size
        if size == 1:
            if len(head) < 16:
                raise VideoError("is truncated")
            (size,) = _LARGE_SIZE.unpack_from(head, 8)
            header = 16
        elif size == 0:  # the last box, to the end of the file
            size = end - offset
        if size < header or offset + size > end:
            raise VideoError("is not a valid MP4 video (a box runs past the end of the file)")
        yield kind, offset + header, offset + size
        offset += size


def _read(file: BinaryIO, box: tuple[bytes, int, int], limit: int) -> bytes:
    kind, start, end = box
    if end - start > limit:
        name = kind.decode("ascii", "replace")
        raise VideoError(f"has a {name} box of {end - start:,} bytes; at most {limit:,} is read")
    file.seek(start)
    data = file.read(end - start)
    if len(data) != end - start:
        raise VideoError("is truncated")
    return data
