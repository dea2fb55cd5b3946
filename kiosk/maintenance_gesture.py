"""The hidden gesture that asks for the maintenance PIN. Pure: no Qt, time is each touch's.

Staff hold a finger on the screen's top-left corner for HOLD_S, lift it, then tap the
bottom-right corner within TAP_WITHIN_S. A shopper never does that by chance: corners
hold no buttons worth holding, and nobody reaches across the whole screen within
seconds of a long press. Corners scale with the screen's short side, so the gesture
is the same on a landscape and a portrait screen. Any other press in between starts
over. Touches arrive twice on some stacks (a touch, then the mouse event Qt makes of
it): a second press on the held corner keeps the first one's time, a release with
nothing held changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Final

HOLD_S: Final = 3.0  # longer than any shopper rests a finger on a corner
TAP_WITHIN_S: Final = 5.0  # time to reach across the screen, not to wander off
CORNER_SHARE: Final = 0.12  # of the short side: ~130 px on a 1080 px side
CORNER_MIN_PX: Final = 96  # never smaller than a thumb (theme.TOUCH_MIN is 88)


class Corner(Enum):
    HOLD = "top-left"
    TAP = "bottom-right"


@dataclass(frozen=True, slots=True)
class Touch:
    """A finger down (`pressed`) or up at (x, y) of a window `width` x `height`, at `at`:
    the input event's timestamp in seconds (the device's clock: only differences count)."""

    pressed: bool
    x: float
    y: float
    width: float
    height: float
    at: float


@dataclass(frozen=True, slots=True)
class GestureProgress:
    held_since: float | None = None  # the hold corner pressed, not yet released
    armed_at: float | None = None  # the hold done: the tap corner may open the door


def in_corner(touch: Touch, corner: Corner) -> bool:
    side = max(CORNER_MIN_PX, CORNER_SHARE * min(touch.width, touch.height))
    if corner is Corner.HOLD:
        return touch.x <= side and touch.y <= side
    return touch.x >= touch.width - side and touch.y >= touch.height - side


def gesture_step(progress: GestureProgress, touch: Touch) -> tuple[GestureProgress, bool]:
    """The progress after `touch`, and whether the gesture is now complete."""
    now = touch.at
    if touch.pressed:
        armed = progress.armed_at is not None and now - progress.armed_at <= TAP_WITHIN_S
        if armed and in_corner(touch, Corner.TAP):
            return GestureProgress(), True
        if in_corner(touch, Corner.HOLD):
            held = progress.held_since if progress.held_since is not None else now
            return GestureProgress(held_since=held), False
        return GestureProgress(), False
    if progress.held_since is None:
        return progress, False  # a release already counted, or of a press that did not count
    if now - progress.held_since >= HOLD_S and in_corner(touch, Corner.HOLD):
        return GestureProgress(armed_at=now), False
    return GestureProgress(), False
