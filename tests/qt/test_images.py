"""The picture cache: a picture that cannot be shown draws as nothing, it never raises."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers.bundles import BAD_PICTURES
from PIL import Image
from PySide6.QtCore import QSize
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
