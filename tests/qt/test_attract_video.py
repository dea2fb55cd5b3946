"""Attract videos: decoded frames on screen, a lone video loops, a broken one is skipped and
reported, and dayparted entries play only in their hours (clock injected).

Qt Multimedia's FFmpeg backend decodes here on the offscreen platform (frames are
converted on the CPU when there is no GPU), so these run with the rest of tests/qt.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

import pytest
from helpers.bundles import sample_bundle, write_json
from helpers.qt_kiosk import themed
from helpers.videos import BAD_FRAMES, ORANGE, ORANGE_RGB, add_video
from PIL import Image
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from content import reports
from kiosk import theme
from kiosk.app import Kiosk, KioskOptions, build
from kiosk.images import ImageCache
from kiosk.screens.attract import AttractScreen, Slide

ROOT = Path(__file__).resolve().parents[2]
GREEN = (40, 170, 60)
BLUE = (30, 60, 200)
# The canvas' top middle: above the scrim, clear of the captions and the smileys.
PROBE = (960, 120)


class StoreClock:
    """The store's wall clock, set by the test."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> StoreClock:
    return StoreClock(datetime(2026, 12, 9, 8, 0))  # a Wednesday, 08:00


@pytest.fixture
def screen(qtbot: QtBot, clock: StoreClock) -> Iterator[AttractScreen]:
    """The attract screen on show, full size, reading the test's clock."""
    cache = ImageCache()
    shown = AttractScreen(cache, clock)
    qtbot.addWidget(shown)
    shown.resize(1920, 1080)
    shown.show()
    yield shown
    shown.stop()
    cache.close()


def picture(tmp_path: Path, rgb: tuple[int, int, int], seconds: float = 1, **when: object) -> Slide:
    path = tmp_path / f"{rgb}.png"
    Image.new("RGB", (1920, 1080), rgb).save(path)
    return Slide(path, seconds, None, **when)  # type: ignore[arg-type]


def video(path: Path, seconds: float = 8.0, **fields: object) -> Slide:
    return Slide(None, seconds, None, video=path, **fields)  # type: ignore[arg-type]


def on_screen(screen: AttractScreen) -> tuple[int, int, int]:
    """The colour a shopper sees at PROBE, from a grab of the widget."""
    colour = QColor(screen.grab().toImage().pixel(*PROBE))
    return colour.red(), colour.green(), colour.blue()


def looks_like(rgb: tuple[int, int, int]) -> Callable[[tuple[int, int, int]], bool]:
    return lambda seen: all(abs(a - b) <= 12 for a, b in zip(seen, rgb, strict=True))


def wait_for_colour(qtbot: QtBot, screen: AttractScreen, rgb: tuple[int, int, int]) -> None:
    qtbot.waitUntil(lambda: looks_like(rgb)(on_screen(screen)), timeout=8000)


def test_a_video_shows_its_decoded_frames(screen: AttractScreen, qtbot: QtBot) -> None:
    screen.set_slides([video(ORANGE)])

    wait_for_colour(qtbot, screen, ORANGE_RGB)


def test_a_lone_video_loops_without_ending(screen: AttractScreen, qtbot: QtBot) -> None:
    screen.set_slides([video(ORANGE)])
    wait_for_colour(qtbot, screen, ORANGE_RGB)
    player = screen._video
    assert player is not None

    # 25 frames a second for 1 s: frame 40 is the second time round.
    qtbot.waitUntil(lambda: player.frames >= 40, timeout=8000)
    assert looks_like(ORANGE_RGB)(on_screen(screen))


def test_a_video_plays_to_its_end_then_the_next_entry_shows(
    screen: AttractScreen, qtbot: QtBot, tmp_path: Path
) -> None:
    screen.set_slides([video(ORANGE, plays_to_end=True), picture(tmp_path, GREEN, seconds=30)])
    wait_for_colour(qtbot, screen, ORANGE_RGB)

    wait_for_colour(qtbot, screen, GREEN)  # after 1 s of video, not 30 s of anything
    assert screen._index == 1


def test_a_video_with_seconds_loops_for_that_long_then_the_next_entry_shows(
    screen: AttractScreen, qtbot: QtBot, tmp_path: Path
) -> None:
    screen.set_slides([video(ORANGE, seconds=2.5), picture(tmp_path, GREEN, seconds=30)])
    wait_for_colour(qtbot, screen, ORANGE_RGB)

    wait_for_colour(qtbot, screen, GREEN)

    player = screen._video
    assert player is not None
    assert player.frames > 25  # more than the 1 s video holds: it went round again


def test_a_video_stops_while_a_shopper_browses_and_starts_again_after(
    screen: AttractScreen, qtbot: QtBot
) -> None:
    screen.set_slides([video(ORANGE)])
    wait_for_colour(qtbot, screen, ORANGE_RGB)
    player = screen._video
    assert player is not None

    screen.stop()
    frames = player.frames
    qtbot.wait(300)  # a dozen frames' time: none may arrive

    assert player.frames == frames
    assert screen._canvas.current.isNull()  # the last frame is let go too
    screen.start()
    qtbot.waitUntil(lambda: player.frames > 0 and not screen._canvas.current.isNull())


def test_a_video_that_does_not_decode_is_skipped_at_once_and_reported(
    screen: AttractScreen, qtbot: QtBot, tmp_path: Path
) -> None:
    failures: list[tuple[Path, str]] = []
    screen.video_failed.connect(lambda path, why: failures.append((path, why)))

    screen.set_slides([video(BAD_FRAMES), picture(tmp_path, GREEN, seconds=30)])

    wait_for_colour(qtbot, screen, GREEN)
    assert [path for path, _ in failures] == [BAD_FRAMES]
    assert failures[0][1]  # Qt's reason, e.g. "Invalid data found when processing input"


def test_a_video_that_shows_no_picture_in_time_is_skipped(
    screen: AttractScreen, qtbot: QtBot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A decoder that never answers: here, one not given the time to.
    from kiosk.screens import video as player  # noqa: PLC0415

    monkeypatch.setattr(player, "FIRST_FRAME_MS", 0)
    failures: list[str] = []
    screen.video_failed.connect(lambda _path, why: failures.append(why))

    screen.set_slides([video(ORANGE), picture(tmp_path, GREEN, seconds=30)])

    wait_for_colour(qtbot, screen, GREEN)
    assert failures == ["no picture from the decoder"]


def test_after_a_broken_video_the_picture_before_it_stays(
    screen: AttractScreen, qtbot: QtBot, tmp_path: Path
) -> None:
    failures: list[Path] = []
    screen.video_failed.connect(lambda path, _why: failures.append(path))
    screen.set_slides([picture(tmp_path, GREEN), video(BAD_FRAMES)])
    wait_for_colour(qtbot, screen, GREEN)

    qtbot.waitUntil(lambda: failures == [BAD_FRAMES], timeout=8000)

    assert looks_like(GREEN)(on_screen(screen))  # never a black screen
    assert screen._playing == (0,)  # not tried again in this loop


def test_dayparted_entries_play_only_in_their_hours(
    screen: AttractScreen, qtbot: QtBot, tmp_path: Path, clock: StoreClock
) -> None:
    breakfast = picture(tmp_path, GREEN, seconds=30, hours="07:00-10:30")
    rest_of_day = picture(tmp_path, BLUE, seconds=30, hours="10:30-07:00")
    screen.set_slides([breakfast, rest_of_day])
    wait_for_colour(qtbot, screen, GREEN)

    clock.now = clock.now.replace(hour=10, minute=30)
    screen.refresh_daypart()  # what the 30 s timer does

    wait_for_colour(qtbot, screen, BLUE)
    clock.now = clock.now.replace(hour=23, minute=50)
    screen.refresh_daypart()
    assert screen._index == 1  # still the evening's entry: nothing to change


def test_a_looping_video_gives_way_when_its_hours_end(
    screen: AttractScreen, qtbot: QtBot, tmp_path: Path, clock: StoreClock
) -> None:
    screen.set_slides(
        [video(ORANGE, hours="07:00-09:00"), picture(tmp_path, GREEN, hours="09:00-07:00")]
    )
    wait_for_colour(qtbot, screen, ORANGE_RGB)

    clock.now = clock.now.replace(hour=9)
    screen.refresh_daypart()

    wait_for_colour(qtbot, screen, GREEN)


def test_weekdays_choose_the_entries_from_the_store_clock(
    screen: AttractScreen, qtbot: QtBot, tmp_path: Path, clock: StoreClock
) -> None:
    weekend = picture(tmp_path, GREEN, seconds=30, weekdays=(6, 7))
    weekday = picture(tmp_path, BLUE, seconds=30, weekdays=(1, 2, 3, 4, 5))
    screen.set_slides([weekend, weekday])

    wait_for_colour(qtbot, screen, BLUE)  # Wednesday


def test_qt_multimedia_is_loaded_only_for_a_playlist_with_a_video(tmp_path: Path) -> None:
    # A child process: this one has long loaded it for the tests above.
    Image.new("RGB", (64, 36), GREEN).save(tmp_path / "a.png")
    script = textwrap.dedent(
        f"""
        import sys
        from pathlib import Path
        from PySide6.QtWidgets import QApplication
        app = QApplication([])
        from kiosk.images import ImageCache
        from kiosk.screens.attract import AttractScreen, Slide
        screen = AttractScreen(ImageCache())
        screen.set_slides([Slide(Path({str(tmp_path / "a.png")!r}), 8.0, None)])
        before = "PySide6.QtMultimedia" in sys.modules
        screen.set_slides([Slide(None, 8.0, None, video=Path({str(ORANGE)!r}))])
        print(before, "PySide6.QtMultimedia" in sys.modules)
        screen.stop()
        """
    )
    run = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
        check=False,
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.split() == ["False", "True"]


def test_the_kiosk_reports_a_skipped_video_to_hq_and_in_its_trace(
    qtbot: QtBot, qapp: QApplication, tmp_path: Path
) -> None:
    bundle_dir = sample_bundle(tmp_path / "bundle", release="hq-41")
    add_video(bundle_dir, "attract/spring.mp4", BAD_FRAMES.read_bytes())
    # The broken video first: it is what the kiosk tries at start.
    playlist = json.loads((bundle_dir / "playlist.json").read_text())
    playlist["items"].insert(0, playlist["items"].pop())
    write_json(bundle_dir, "playlist.json", playlist)
    themed(qapp)
    options = KioskOptions(
        content=bundle_dir, data_dir=tmp_path / "data", trace=tmp_path / "trace.jsonl"
    )
    kiosk: Kiosk = build(options, qapp)
    try:
        kiosk.window.resize(*theme.SCREEN_SIZE)
        kiosk.window.show()

        qtbot.waitUntil(lambda: bool(reports.pending(tmp_path / "data" / "content")), timeout=8000)
        (report,) = reports.pending(tmp_path / "data" / "content")
        assert (report.release, report.reason) == (41, "video_failed")
        assert report.detail.startswith("attract/spring.mp4: ")
        assert kiosk.window.attract._index == 1  # the first poster shows instead
    finally:
        kiosk.close()
    lines = [json.loads(line) for line in (tmp_path / "trace.jsonl").read_text().splitlines()]
    skipped = [line for line in lines if line["kind"] == "attract"]
    assert [(s["status"], s["release"], s["video"]) for s in skipped] == [
        ("video_failed", "hq-41", "attract/spring.mp4")
    ]
