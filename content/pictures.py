"""The one place a bundle's picture is opened: bounded in pixels, decoded near the size shown.

A picture comes from HQ and is shown on every kiosk of the chain, so a bad one
must cost little and fail cleanly: its header is read first and anything above
`MAX_PIXELS` is refused before a byte of it is decoded (a 50,000 × 50,000 PNG
would need 10 GB); a JPEG is decoded at 1/2, 1/4 or 1/8 scale when it is shown
smaller (`draft`), and every picture is shrunk before it is converted to RGBA.
Whatever goes wrong (not a picture, truncated, too large) is one `PictureError`.

No Qt here: the kiosk turns the RGBA pixels into QImages (`kiosk/images.py`),
and the content store decodes every picture once when it installs a release.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Final

from PIL import Image, ImageOps, UnidentifiedImageError

# An 8K poster (7680 × 4320); the kiosk's screen is 1920 × 1080. Decoding one this
# size costs about 130 MB as RGBA at most, and Pillow's own decompression-bomb
# limit (89 million pixels) is never reached by a picture we accept.
MAX_PIXELS: Final = 7680 * 4320
# What bundles carry (docs/bundle.md). Pillow can open many more formats, some
# through external programs (EPS runs Ghostscript): a picture from HQ may not pick.
FORMATS: Final = ("JPEG", "PNG")
# Checking a picture needs every byte decoded (a truncated one fails only at its
# end), not its pixels at full size: a JPEG is checked at its smallest scale.
_CHECK_BOX: Final = (1, 1)
# EXIF orientations that turn the picture a quarter: the box to fit is turned too.
_QUARTER_TURNS: Final = frozenset({5, 6, 7, 8})
_ORIENTATION_TAG: Final = 0x0112
_BOMB_PIXELS: Final = re.compile(r"\((\d+) pixels\)")  # in Pillow's message


class PictureError(Exception):
    """A picture that cannot be shown; the message says why, without the path."""


def decode(path: Path, box: tuple[int, int]) -> Image.Image:
    """The picture at `path` upright, scaled to fit `box` (never enlarged): RGBA if it
    has transparency, else RGB (a product photo held in a quarter less memory)."""
    try:
        with _open(path) as source:
            width, height = box
            if _orientation(source) in _QUARTER_TURNS:
                width, height = height, width
            source.draft("RGB", (width, height))  # JPEG only; a no-op for the others
            source.load()
            picture = ImageOps.exif_transpose(source)
            picture.thumbnail(box, Image.Resampling.LANCZOS)
            return picture.convert("RGBA" if picture.has_transparency_data else "RGB")
    except PictureError:
        raise
    except Exception as error:
        # Pillow's decoders raise OSError, ValueError, SyntaxError, EOFError,
        # struct.error, ... on bad input: every one means "cannot be shown".
        raise PictureError(_reason(error)) from error


def check(path: Path) -> None:
    """Raise PictureError unless `path` is a picture the kiosk can show."""
    try:
        with _open(path) as source:
            source.draft("RGB", _CHECK_BOX)
            source.load()
    except PictureError:
        raise
    except Exception as error:
        raise PictureError(_reason(error)) from error


def _open(path: Path) -> Image.Image:
    try:
        source = Image.open(path, formats=FORMATS)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        # Pillow's own limit (a warning above 89 million pixels, an error above
        # twice that) is far above ours: say it in our words, with its count.
        found = _BOMB_PIXELS.search(str(error))
        pixels = f"{int(found[1]):,}" if found else f"more than {MAX_PIXELS:,}"
        raise PictureError(_too_large(pixels)) from None
    width, height = source.size
    if width * height > MAX_PIXELS:
        source.close()
        raise PictureError(_too_large(f"{width * height:,} ({width} × {height})"))
    return source


def _too_large(pixels: str) -> str:
    return f"has {pixels} pixels; at most {MAX_PIXELS:,} are allowed"


def _orientation(source: Image.Image) -> int:
    try:
        return int(source.getexif().get(_ORIENTATION_TAG, 1))
    except Exception:  # a broken EXIF block: show the picture as stored
        return 1


def _reason(error: Exception) -> str:
    if isinstance(error, UnidentifiedImageError):
        return f"is not a {' or '.join(FORMATS)} picture"
    if isinstance(error, MemoryError):
        return "needs more memory than the kiosk has"
    text = str(error).replace(str(getattr(error, "filename", "") or "\0"), "").strip(" :'")
    return f"cannot be decoded: {text or type(error).__name__}"
