"""Touchscreen calibration: from taps on known targets to libinput's calibration matrix.

What really corrects a misaligned touchscreen is libinput's LIBINPUT_CALIBRATION_MATRIX
udev property: libinput (in cage, the kiosk's compositor) applies it to every touch
before any application sees it, the kiosk's screens, its keyboard and the compositor
alike. Correcting in the kiosk instead would leave every other consumer wrong, and Qt
has no hook to move touch points before widgets get them.

The matrix maps the device's normalised coordinates (0..1 across the panel) to the
screen's: x' = a*x + b*y + c, y' = d*x + e*y + f. The taps the kiosk sees have been
through the matrix in effect already, so the new one is the correction fitted to the
taps, composed with the one in effect. It is written as an environment file that the
appliance's udev rule imports (`IMPORT{file}=`, see README "Maintenance screen"); it
applies when the touchscreen is next added: at the next boot. Until then the one in
effect is still the old one, which the file keeps beside it, so a second calibration
before the reboot is composed on the right base. Pure maths, and small file functions.
"""

from __future__ import annotations

import math
import os
import re
import secrets
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Final

from backend_client.private_files import private_dir

Matrix = tuple[float, float, float, float, float, float]  # a b c d e f
Point = tuple[float, float]  # normalised: 0..1 across the window

IDENTITY: Final[Matrix] = (1.0, 0.0, 0.0, 0.0, 1.0, 0.0)
CALIBRATION_FILE: Final = "touch-calibration.env"
# Corners and middle, away from the bezel where panels are least linear.
TARGETS: Final[tuple[Point, ...]] = ((0.1, 0.1), (0.9, 0.1), (0.9, 0.9), (0.1, 0.9), (0.5, 0.5))
# A fit outside these is a tap beside the target, not a misaligned panel: try again.
MIN_SCALE: Final = 0.5
MAX_SCALE: Final = 2.0
MAX_OFFSET: Final = 0.5
_BASE: Final = "# KIOSK_IN_EFFECT"  # the base a saved matrix was composed on


class CalibrationError(ValueError):
    """The taps do not describe a usable correction; the message says why."""


def fit(touched: Sequence[Point], targets: Sequence[Point]) -> Matrix:
    """The affine map taking each touched point to its target, least squares.

    Raises CalibrationError for fewer than three points, points in a line, or a map
    no real panel needs (a tap far beside its target)."""
    if len(touched) != len(targets) or len(touched) < 3:  # an affine map's minimum
        raise CalibrationError("need a tap on each of at least three targets")
    # Normal equations (A^T A) p = A^T t, with rows A = (u, v, 1): one 3x3 system per axis.
    rows = [(u, v, 1.0) for u, v in touched]
    normal = [[sum(r[i] * r[j] for r in rows) for j in range(3)] for i in range(3)]
    xs = _solve(
        normal, [sum(r[i] * t[0] for r, t in zip(rows, targets, strict=True)) for i in range(3)]
    )
    ys = _solve(
        normal, [sum(r[i] * t[1] for r, t in zip(rows, targets, strict=True)) for i in range(3)]
    )
    matrix: Matrix = (xs[0], xs[1], xs[2], ys[0], ys[1], ys[2])
    a, b, c, d, e, f = matrix
    scale_x, scale_y = math.hypot(a, d), math.hypot(b, e)
    if not (MIN_SCALE <= scale_x <= MAX_SCALE and MIN_SCALE <= scale_y <= MAX_SCALE):
        raise CalibrationError("the taps are too far from the targets: try again")
    if abs(c) > MAX_OFFSET or abs(f) > MAX_OFFSET:
        raise CalibrationError("the taps are too far from the targets: try again")
    return matrix


def _solve(m: list[list[float]], rhs: list[float]) -> list[float]:
    """Cramer's rule for 3x3; CalibrationError when the taps lie on a line."""
    det = _det3(m)
    if abs(det) < 1e-9:  # collinear taps
        raise CalibrationError("the taps lie on a line: tap each target")
    out = []
    for col in range(3):
        replaced = [[rhs[i] if j == col else m[i][j] for j in range(3)] for i in range(3)]
        out.append(_det3(replaced) / det)
    return out


def _det3(m: list[list[float]]) -> float:
    return (
        m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1])
        - m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0])
        + m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0])
    )


def compose(correction: Matrix, in_effect: Matrix) -> Matrix:
    """The matrix that does `in_effect` then `correction` (3x3 with last row 0 0 1)."""
    a1, b1, c1, d1, e1, f1 = correction
    a0, b0, c0, d0, e0, f0 = in_effect
    return (
        a1 * a0 + b1 * d0,
        a1 * b0 + b1 * e0,
        a1 * c0 + b1 * f0 + c1,
        d1 * a0 + e1 * d0,
        d1 * b0 + e1 * e0,
        d1 * c0 + e1 * f0 + f1,
    )


def apply(matrix: Matrix, point: Point) -> Point:
    a, b, c, d, e, f = matrix
    x, y = point
    return (a * x + b * y + c, d * x + e * y + f)


def udev_line(matrix: Matrix) -> str:
    """The udev property line, as libinput reads it (six numbers)."""
    return _line("LIBINPUT_CALIBRATION_MATRIX", matrix)


def _line(name: str, matrix: Matrix) -> str:
    return f'{name}="' + " ".join(f"{v:.6f}" for v in matrix) + '"'


def parse(text: str, name: str = "LIBINPUT_CALIBRATION_MATRIX") -> Matrix:
    """The matrix `name` of an environment file written by `save`; IDENTITY if none."""
    found = re.search(rf'^{re.escape(name)}="([^"]*)"\s*$', text, re.MULTILINE)
    if found is None:
        return IDENTITY
    try:
        values = tuple(float(v) for v in found.group(1).split())
    except ValueError:
        return IDENTITY
    if len(values) != len(IDENTITY) or not all(math.isfinite(v) for v in values):
        return IDENTITY
    return values  # type: ignore[return-value] # six, checked above


def in_effect(text: str, written_at: float, booted_at: float) -> Matrix:
    """The matrix libinput applies now, given the file's text and when it was written
    and the system booted (wall clock). udev imported the file when the touchscreen was
    added at boot: a file written since then has not applied yet, and the one in effect
    is the base it was computed on (its `# KIOSK_IN_EFFECT` line)."""
    if written_at > booted_at:
        return parse(text, _BASE)
    return parse(text)


def load(data_dir: Path, booted_at: float | None = None) -> Matrix:
    """The matrix in effect on this boot (`in_effect`); IDENTITY if none was saved."""
    path = data_dir / CALIBRATION_FILE
    try:
        text = path.read_text(encoding="utf-8")
        written_at = path.stat().st_mtime
    except (FileNotFoundError, UnicodeDecodeError):
        return IDENTITY
    if booted_at is None:
        booted_at = time.time() - time.clock_gettime(time.CLOCK_BOOTTIME)
    return in_effect(text, written_at, booted_at)


def save(data_dir: Path, matrix: Matrix, base: Matrix) -> Path:
    """Write the environment file for the udev rule, replacing the old one at once;
    `base`: the matrix in effect it was computed on, until it applies."""
    private_dir(data_dir)
    path = data_dir / CALIBRATION_FILE
    temporary = data_dir / f".{CALIBRATION_FILE}.{secrets.token_hex(4)}"
    # udev skips the comment line; `in_effect` reads it.
    temporary.write_text(f"{_line(_BASE, base)}\n{udev_line(matrix)}\n", encoding="utf-8")
    os.replace(temporary, path)
    return path
