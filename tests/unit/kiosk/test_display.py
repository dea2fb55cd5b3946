"""The screen the kiosk covers and the pixel ratio it shows its layout at."""

from __future__ import annotations

import pytest

from kiosk.app import parse_args
from kiosk.display import choose_screen, early_scale_environment, pixel_ratio_for


@pytest.mark.parametrize(
    ("width", "height", "ratio"),
    [
        (1920, 1080, 1),
        (1080, 1920, 1),
        (2560, 1440, 1),  # room to spare beats a blurred 1.33
        (3840, 2160, 2),
        (2160, 3840, 2),
        (3840, 1080, 1),  # a wide strip: the short side decides
        (1280, 720, 1),
    ],
)
def test_a_panel_shows_the_layout_at_a_whole_pixel_ratio(
    width: int, height: int, ratio: int
) -> None:
    assert pixel_ratio_for(width, height) == ratio


def test_the_screen_named_on_the_command_line_is_chosen() -> None:
    names = ["HDMI-1", "DP-2"]
    assert choose_screen(names, "DP-2") == 1
    assert choose_screen(names, None) is None  # the primary one
    assert choose_screen(names, "VGA-1") is None  # not there: the primary one, logged
    assert parse_args(["--screen", "DP-2"]).screen == "DP-2"
    assert parse_args([]).screen is None


@pytest.mark.parametrize(
    "environ",
    [
        {"QT_QPA_PLATFORM": "offscreen", "DISPLAY": ":0"},
        {},  # no display at all
        {"XDG_SESSION_TYPE": "wayland", "DISPLAY": ":0"},  # Qt would pick Wayland
        {"DISPLAY": ":0", "QT_SCALE_FACTOR": "1.5"},  # chosen by hand
        {"DISPLAY": ":0", "KIOSK_SCREEN_RESCALED": "1"},  # restarted once already
    ],
    ids=["offscreen", "no-display", "wayland", "by-hand", "restarted"],
)
def test_no_early_factor_where_the_x_screen_is_not_asked(environ: dict[str, str]) -> None:
    assert early_scale_environment(environ) == {}
