"""The picture cache: a picture that cannot be shown draws as nothing, it never raises;
photos are held compactly and paint as they were."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers.bundles import BAD_PICTURES
from PIL import Image
from PySide6.QtCore import QSize
from PySide6.QtGui import QColor, QImage, QPainter
from pytestqt.qtbot import QtBot

from kiosk.images import ImageCache

HERO = QSize(800, 800)


@pytest.fixture
def images() -> Iterator[ImageCache]:
    cache = ImageCache()
    yield cache
    cache.close()


@pytest.mark.parametrize("kind", sorted(BAD_PICTURES))
def test_a_picture_that_cannot_be_shown_is_an_empty_image_asked_for_on_lift(
    images: ImageCache, tmp_path: Path, kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "front.jpg"
    path.write_bytes(BAD_PICTURES[kind]())

    with caplog.at_level(logging.WARNING, logger="kiosk.images"):
        image = images.get(path, HERO)  # on the GUI thread, as on a lift

    assert image.isNull()
    assert any("front.jpg" in r.getMessage() for r in caplog.records)


def test_a_picture_that_cannot_be_shown_is_an_empty_image_when_preloaded(
    images: ImageCache, tmp_path: Path, qtbot: QtBot
) -> None:
    path = tmp_path / "front.png"
    path.write_bytes(BAD_PICTURES["bomb-png"]())

    with qtbot.waitSignal(images.loaded, timeout=10_000):
        images.preload([(path, HERO)])

    assert images.get(path, HERO).isNull()


def test_a_large_picture_is_kept_at_the_size_shown(images: ImageCache, tmp_path: Path) -> None:
    path = tmp_path / "poster.jpg"
    Image.new("RGB", (6000, 4000), (90, 30, 30)).save(path)

    image = images.get(path, QSize(1920, 1080))

    assert (image.width(), image.height()) == (1620, 1080)


@pytest.mark.parametrize("ratio", [1, 2])
def test_pictures_are_decoded_for_the_screens_pixels_and_drawn_at_their_box(
    tmp_path: Path, ratio: int
) -> None:
    """At 4K (device pixel ratio 2) a picture has twice the pixels each way, and Qt draws
    it in the same box: crisp, where one decoded at the box would be stretched."""
    path = tmp_path / "front.png"
    Image.new("RGB", (2400, 2400), (200, 30, 30)).save(path)
    cache = ImageCache(pixel_ratio=ratio)
    try:
        image = cache.get(path, HERO)
    finally:
        cache.close()
    assert (image.width(), image.height()) == (HERO.width() * ratio, HERO.height() * ratio)
    assert image.devicePixelRatio() == ratio
    assert image.deviceIndependentSize().toSize() == HERO


def test_a_photo_is_held_in_three_bytes_a_pixel_and_paints_the_same(tmp_path: Path) -> None:
    photo, cutout = tmp_path / "front.jpg", tmp_path / "cutout.png"
    Image.new("RGB", (400, 300), (10, 200, 30)).save(photo)
    Image.new("RGBA", (400, 300), (0, 0, 255, 128)).save(cutout)

    images = ImageCache(compact=True)  # the product pictures' cache
    try:
        held = images.get(photo, QSize(400, 300))
        kept = images.get(cutout, QSize(400, 300))
    finally:
        images.close()

    assert held.sizeInBytes() == 400 * 300 * 3  # a quarter less than 4 bytes a pixel
    assert kept.hasAlphaChannel()  # a cut-out keeps what shows through it
    canvas = QImage(800, 300, QImage.Format.Format_ARGB32_Premultiplied)
    canvas.fill(QColor("white"))
    painter = QPainter(canvas)
    painter.drawImage(0, 0, held)
    painter.drawImage(400, 0, kept)
    painter.end()
    photo_pixel, cutout_pixel = canvas.pixelColor(200, 150), canvas.pixelColor(600, 150)
    assert (photo_pixel.red(), photo_pixel.green(), photo_pixel.blue()) == pytest.approx(
        (10, 200, 30), abs=3
    )
    assert (cutout_pixel.red(), cutout_pixel.green(), cutout_pixel.blue()) == pytest.approx(
        (127, 127, 255), abs=3
    )


def test_full_screen_slides_are_held_as_qt_paints_fastest(tmp_path: Path) -> None:
    slide = tmp_path / "slide.jpg"
    Image.new("RGB", (1920, 1080), (90, 30, 30)).save(slide)
    cache = ImageCache()  # as the attract loop's: painted at every step of a fade
    try:
        image = cache.get(slide, QSize(1920, 1080))
    finally:
        cache.close()
    assert image.format() == QImage.Format.Format_ARGB32_Premultiplied
