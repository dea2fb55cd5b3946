"""The attract loop: captions only where a slide has one, pictures released for shoppers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image
from pytestqt.qtbot import QtBot

from content.model import LocalizedText
from kiosk.images import ImageCache
from kiosk.screens.attract import AttractScreen, Slide


def slide(tmp_path: Path, name: str, caption: LocalizedText | None) -> Slide:
    path = tmp_path / f"{name}.jpg"
    Image.new("RGB", (1920, 1080), (40, 60, 90)).save(path)
    return Slide(path, seconds=1, caption=caption)


@pytest.fixture
def images() -> Iterator[ImageCache]:
    cache = ImageCache()
    yield cache
    cache.close()


@pytest.fixture
def screen(qtbot: QtBot, images: ImageCache) -> Iterator[AttractScreen]:
    """The attract screen on show, full size; its timers stopped afterwards."""
    shown = AttractScreen(images)
    qtbot.addWidget(shown)
    shown.resize(1920, 1080)
    shown.show()
    yield shown
    shown.stop()


def test_caption_shows_only_on_slides_that_have_one(
    screen: AttractScreen, qtbot: QtBot, tmp_path: Path
) -> None:
    captioned = slide(tmp_path, "a", LocalizedText(zh_cn="新品到店", en="New in store"))
    screen.set_slides([captioned, slide(tmp_path, "b", None)])
    assert screen.caption.isVisible()
    assert screen.caption.text() == "新品到店"
    qtbot.waitUntil(lambda: not screen.caption.isVisible(), timeout=3000)


def test_slides_are_released_while_a_shopper_browses(
    screen: AttractScreen, images: ImageCache, tmp_path: Path
) -> None:
    screen.set_slides([slide(tmp_path, "a", None), slide(tmp_path, "b", None)])
    assert images.cached_bytes > 0
    screen.stop()
    assert images.cached_bytes == 0
    screen.start()
    assert images.cached_bytes > 0


def test_between_fades_only_the_slide_on_screen_is_held(
    screen: AttractScreen, images: ImageCache, qtbot: QtBot, tmp_path: Path
) -> None:
    one_slide = 1920 * 1080 * 4
    first, second = slide(tmp_path, "a", None), slide(tmp_path, "b", None)
    screen.set_slides([Slide(first.image, 3.0, None), Slide(second.image, 3.0, None)])
    assert images.cached_bytes == one_slide  # the next one is not decoded yet
    # ...but it is before its turn (0.5 s in, 2.5 s ahead), so the change is smooth.
    qtbot.waitUntil(lambda: images.cached_bytes == 2 * one_slide, timeout=2000)
    # After the cross-fade the outgoing picture is let go.
    qtbot.waitUntil(lambda: screen._index == 1, timeout=4000)
    # A lambda: the canvas swaps in a new QImage, so the bound method would go stale.
    qtbot.waitUntil(lambda: screen._canvas.previous.isNull(), timeout=3000)  # noqa: PLW0108
