"""Product pictures decoded and scaled off the GUI thread, kept in a bounded cache.

A lift must paint within a frame or two, so the pictures of every phone in the
cabinet (and their recommendations) are decoded in the background after start.
A picture that is not ready when asked for is decoded on the spot: the shopper
sees the real picture on first paint, never a placeholder.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Final

from PySide6.QtCore import QObject, QSize, Qt, Signal
from PySide6.QtGui import QImage, QImageReader

log = logging.getLogger("kiosk.images")

# About twenty hero pictures plus thumbnails; beyond that the least recently used go.
DEFAULT_BUDGET_BYTES: Final = 64 * 1024 * 1024

CacheKey = tuple[str, int, int]


class ImageCache(QObject):
    loaded = Signal()  # a background decode finished; views may repaint

    def __init__(self, budget_bytes: int = DEFAULT_BUDGET_BYTES) -> None:
        super().__init__()
        self._budget = budget_bytes
        self._images: OrderedDict[CacheKey, QImage] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self._pending: set[CacheKey] = set()
        # One worker: decoding competes with the GUI thread for two cores.
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="image-decode")

    def get(self, path: Path, box: QSize) -> QImage:
        """The picture scaled to fit `box`; decoded now if the background has not yet."""
        key = _key(path, box)
        with self._lock:
            image = self._images.get(key)
            if image is not None:
                self._images.move_to_end(key)
                return image
        image = _decode(path, box)
        self._store(key, image)
        return image

    def preload(self, requests: list[tuple[Path, QSize]]) -> None:
        for path, box in requests:
            key = _key(path, box)
            with self._lock:
                if key in self._images or key in self._pending:
                    continue
                self._pending.add(key)
            self._pool.submit(self._load, key, path, box)

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)

    def _load(self, key: CacheKey, path: Path, box: QSize) -> None:
        try:
            self._store(key, _decode(path, box))
        finally:
            with self._lock:
                self._pending.discard(key)
        self.loaded.emit()

    def _store(self, key: CacheKey, image: QImage) -> None:
        with self._lock:
            if key in self._images:
                return
            self._images[key] = image
            self._bytes += image.sizeInBytes()
            while self._bytes > self._budget and len(self._images) > 1:
                _, old = self._images.popitem(last=False)
                self._bytes -= old.sizeInBytes()


def _key(path: Path, box: QSize) -> CacheKey:
    return (str(path), box.width(), box.height())


def _decode(path: Path, box: QSize) -> QImage:
    reader = QImageReader(str(path))
    reader.setAutoTransform(True)
    image = reader.read()
    if image.isNull():
        # A broken picture must not break the screen: an empty image draws as nothing.
        log.warning("cannot decode %s: %s", path.name, reader.errorString())
        return QImage()
    scaled = image.scaled(
        box, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation
    )
    return scaled.convertToFormat(QImage.Format.Format_ARGB32_Premultiplied)
