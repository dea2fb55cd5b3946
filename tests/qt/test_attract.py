"""The attract loop: captions only where a slide has one, pictures released for shoppers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers.touch import tap
from PIL import Image
from PySide6.QtCore import QPoint, QRect, QRectF
from pytestqt.qtbot import QtBot

from content.model import Language, LocalizedText
from kiosk import theme
from kiosk.images import ImageCache
from kiosk.pages import AttractPage
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


def sample_attract(
    qtbot: QtBot, images: ImageCache, tmp_path: Path, size: tuple[int, int]
) -> AttractScreen:
    """The attract screen of `size` with a 16:9 poster, its smiley question and "join"."""
    shown = AttractScreen(images)
    qtbot.addWidget(shown)
    shown.set_portrait(size[1] > size[0])
    shown.setFixedSize(*size)
    shown.show()
    shown.set_slides([slide(tmp_path, "poster", None)])
    shown.show_page(AttractPage(Language.ZH_CN, "今天的购物体验如何？", None, "注册会员"))
    qtbot.waitExposed(shown)
    qtbot.wait(50)  # layouts settle
    return shown


@pytest.mark.parametrize("size", list(theme.SCREEN_SHAPES.values()), ids=list(theme.SCREEN_SHAPES))
def test_the_faces_and_join_have_a_band_of_their_own_below_the_whole_poster(
    qtbot: QtBot, images: ImageCache, tmp_path: Path, size: tuple[int, int]
) -> None:
    screen = sample_attract(qtbot, images, tmp_path, size)
    try:
        picture = screen.picture_rect()
        assert picture.width() > 0
        assert picture.height() / picture.width() == pytest.approx(1080 / 1920, abs=0.01)
        for widget in (screen.smileys, screen.join_button):
            box = QRectF(QRect(widget.mapTo(screen, QPoint(0, 0)), widget.size()))
            assert widget.isVisible()
            assert not box.intersects(picture), f"{widget} covers the poster"
            assert screen.band.geometry().contains(box.toRect())
    finally:
        screen.stop()


def test_a_pressed_face_is_ringed_and_thanked_large_and_the_next_press_is_not_blocked(
    qtbot: QtBot, images: ImageCache, tmp_path: Path
) -> None:
    screen = sample_attract(qtbot, images, tmp_path, theme.SCREEN_SIZE)
    try:
        invite = screen.invite_text()
        with qtbot.waitSignal(screen.smiley_pressed) as pressed:
            tap(screen.faces[3])
        assert pressed.args == [4]
        # The session answers with its thank-you (kiosk/pages.py attract_page).
        screen.show_page(AttractPage(Language.ZH_CN, "今天的购物体验如何？", "谢谢！", "注册会员"))
        assert screen.invite_text() == ("谢谢您的反馈！", "Thank you for your feedback!")
        assert [face.chosen for face in screen.faces] == [False, False, False, True]
        assert all(face.isEnabled() for face in screen.faces)
        with qtbot.waitSignal(screen.smiley_pressed) as again:
            tap(screen.faces[0])  # the next shopper, at once
        assert again.args == [1]
        # Its thank-you over: the invitation is back, no face is ringed.
        screen.show_page(AttractPage(Language.ZH_CN, "今天的购物体验如何？", None, "注册会员"))
        assert screen.invite_text() == invite
        assert not any(face.chosen for face in screen.faces)
    finally:
        screen.stop()
