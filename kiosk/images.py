"""Product pictures decoded and scaled off the GUI thread, kept in a bounded cache.

A lift must paint within a frame or two, so the pictures of every phone in the
cabinet (and their recommendations) are decoded in the background after start.
A picture that is not ready when asked for is decoded on the spot: the shopper
sees the real picture on first paint, never a placeholder.

The background thread decodes with Pillow (through `content.pictures`: bounded in
pixels, decoded near the size shown; a picture that cannot be shown draws as
nothing and is logged, it never raises) and hands over plain RGBA bytes; the
QImage is made on the GUI thread, so no Qt object is touched off it: PySide6
has had reference-count bugs with busy Python threads (6.12 aborts with
"deallocating None"; see pyproject.toml), and one thread for Qt keeps us clear.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from PySide6.QtCore import QObject, QSize, Signal
from PySide6.QtGui import QImage

from content.pictures import PictureError, decode

log = logging.getLogger("kiosk.images")

# About twenty hero pictures plus thumbnails; beyond that the least recently used go.
DEFAULT_BUDGET_BYTES: Final = 64 * 1024 * 1024

CacheKey = tuple[str, int, int]


@dataclass(frozen=True, slots=True)
class _Pixels:
    """A decoded picture as plain bytes (RGB, or RGBA when it has transparency): safe to
    pass between threads."""

    data: bytes
    width: int
    height: int


class ImageCache(QObject):
    """Pictures asked for by the box they are shown in, in logical pixels.

    `pixel_ratio`: device pixels per logical pixel of the kiosk's screen (2 on a
    3840x2160 panel, kiosk/display.py). Each picture is decoded at its box times the
    ratio and carries the ratio (QImage.devicePixelRatio), so Qt paints it pixel for
    pixel: crisp, where a picture decoded at the box would be drawn twice as large.
    The budget grows with the pixels: the same pictures fit it at any ratio.
    """

    loaded = Signal()  # a background decode finished; views may repaint

    def __init__(
        self,
        budget_bytes: int = DEFAULT_BUDGET_BYTES,
        pixel_ratio: float = 1.0,
        *,
        compact: bool = False,
    ) -> None:
        """`compact`: keep photos without transparency in 3 bytes a pixel (see `_to_qimage`)."""
        super().__init__()
        self._compact = compact
        self._ratio = max(1.0, pixel_ratio)
        self._budget = round(budget_bytes * self._ratio * self._ratio)
        self._images: OrderedDict[CacheKey, QImage] = OrderedDict()  # GUI thread only
        self._bytes = 0
        self._ready: dict[CacheKey, _Pixels] = {}  # decoded in the background, not yet QImages
        self._pending: set[CacheKey] = set()
        self._lock = threading.Lock()  # guards _ready and _pending
        # One worker: decoding competes with the GUI thread for two cores.
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="image-decode")
        self._closed = False
        # Queued to the GUI thread: decoded bytes become budgeted QImages at once, so
        # nothing waits uncounted in `_ready` for a `get` that may never come.
        self.loaded.connect(self._adopt_ready)

    def get(self, path: Path, box: QSize) -> QImage:
        """The picture scaled to fit `box`; decoded now if the background has not yet."""
        key = _key(path, box)
        image = self._images.get(key)
        if image is not None:
            self._images.move_to_end(key)
            return image
        with self._lock:
            pixels = self._ready.pop(key, None)
        image = self._to_qimage(pixels if pixels is not None else self._decode(path, box))
        self._store(key, image)
        return image

    def preload(self, requests: list[tuple[Path, QSize]]) -> None:
        if self._closed:  # shutting down: a last paint may still ask
            return
        for path, box in requests:
            key = _key(path, box)
            with self._lock:
                if key in self._images or key in self._pending or key in self._ready:
                    continue
                self._pending.add(key)
            self._pool.submit(self._load, key, path)

    def warm(self, path: Path, box: QSize) -> None:
        """Decode now, on the calling thread (not the GUI thread): a worker preparing a
        screen, so its first paint does not decode. Adopted like a background decode."""
        key = _key(path, box)
        pixels = self._decode(path, box)
        with self._lock:
            self._ready[key] = pixels
        self.loaded.emit()

    def has(self, path: Path, box: QSize) -> bool:
        """Whether `get(path, box)` answers without decoding on the calling thread."""
        key = _key(path, box)
        with self._lock:
            return key in self._images or key in self._ready

    @property
    def cached_bytes(self) -> int:
        return self._bytes

    def clear(self) -> None:
        """Forget every picture (decodes under way still land, and are kept)."""
        self._images.clear()
        self._bytes = 0
        with self._lock:
            self._ready.clear()

    def close(self) -> None:
        self._closed = True
        self._pool.shutdown(wait=True, cancel_futures=True)

    def _adopt_ready(self) -> None:
        with self._lock:
            ready, self._ready = self._ready, {}
        for key, pixels in ready.items():
            if key not in self._images:
                self._store(key, self._to_qimage(pixels))

    def _decode(self, path: Path, box: QSize) -> _Pixels:
        return _decode(path, box * self._ratio)

    def _to_qimage(self, pixels: _Pixels) -> QImage:
        image = _to_qimage(pixels, compact=self._compact)
        image.setDevicePixelRatio(self._ratio)
        return image

    def _load(self, key: CacheKey, path: Path) -> None:
        try:
            pixels = self._decode(path, QSize(key[1], key[2]))
        except Exception:
            # Left pending, the key would never be asked for again, nor ever be ready.
            log.exception("decoding %s failed", path.name)
            pixels = _Pixels(b"", 0, 0)
        with self._lock:
            self._pending.discard(key)
            self._ready[key] = pixels
        self.loaded.emit()

    def _store(self, key: CacheKey, image: QImage) -> None:
        self._images[key] = image
        self._bytes += image.sizeInBytes()
        while self._bytes > self._budget and len(self._images) > 1:
            _, old = self._images.popitem(last=False)
            self._bytes -= old.sizeInBytes()


def _key(path: Path, box: QSize) -> CacheKey:
    return (str(path), box.width(), box.height())


def _decode(path: Path, box: QSize) -> _Pixels:
    try:
        picture = decode(path, (max(box.width(), 1), max(box.height(), 1)))
    except PictureError as error:
        # A broken picture must not break the screen: an empty image draws as nothing.
        log.warning("cannot show %s: %s", path.name, error)
        return _Pixels(b"", 0, 0)
    return _Pixels(picture.tobytes(), picture.width, picture.height)


def _to_qimage(pixels: _Pixels, *, compact: bool) -> QImage:
    if not pixels.width:
        return QImage()
    opaque = len(pixels.data) == pixels.width * pixels.height * 3
    image = QImage(
        pixels.data,
        pixels.width,
        pixels.height,
        pixels.width * (3 if opaque else 4),
        QImage.Format.Format_RGB888 if opaque else QImage.Format.Format_RGBA8888,
    )
    # Own the pixels (the bytes object may go). A photo stays in 3 bytes a pixel where
    # the cache is `compact` (the cabinet's phones, held while the attract loop plays:
    # a quarter less); else premultiplied, as Qt paints it fastest (full-screen slides,
    # painted again at every step of a fade).
    if opaque and compact:
        return image.copy()
    return image.convertToFormat(QImage.Format.Format_ARGB32_Premultiplied)
