"""A member-offer coupon ticket as the ESC/POS bytes a receipt printer prints.

Thermal printers' character ROMs differ (many have no Chinese, the rest pick
different code pages), so nothing is sent as text: the whole ticket (heading,
title, the code's QR, the code, terms, expiry) is drawn with Pillow in a CJK
font of the system, and python-escpos turns the picture into raster bit images
(GS v 0, or ESC * for printers without it) followed by a feed and a cut. Every
printer then prints the same ticket.

Imported only when a ticket is printed: Pillow, qrcode and python-escpos stay
out of the kiosk's start-up. The code is personal to one shopper's coupon: it
never reaches a log line or an exception message.
"""

from __future__ import annotations

import json
import os
import pickle
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Literal

import qrcode
from PIL import Image, ImageDraw, ImageFont

if TYPE_CHECKING:
    from escpos.printer import Dummy

    from devices.printer import CouponTicket

ImageMode = Literal["raster", "column"]
_ESCPOS_IMPL: Final = {"raster": "bitImageRaster", "column": "bitImageColumn"}

FRAGMENT_DOTS: Final = 256
"""Rows per bit image: a real printer's receive buffer holds a few kB, and a
576-dot row is 72 bytes, so 256 rows (18 kB) is one image it can take in one go."""

# Fonts the kiosk image ships (./run's fonts-noto-cjk), then others Debian has, for
# when fontconfig cannot be asked. (path, face index): Noto's collection holds JP, KR,
# SC, TC, HK in that order; SC is the one whose glyph shapes a mainland shopper expects.
_KNOWN_FONTS: Final = (
    ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", 2),
    ("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", 0),
    ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", 0),
)


@dataclass(frozen=True, slots=True)
class FontFile:
    path: str
    index: int = 0


def find_cjk_font() -> FontFile | None:
    """A font with Chinese glyphs: fontconfig's choice for zh-CN, else a known Debian path."""
    fc_match = shutil.which("fc-match")
    if fc_match is not None:
        try:
            answer = subprocess.run(  # noqa: S603 - fc-match, with arguments of our own
                [fc_match, "-f", "%{file}|%{index}", "sans-serif:lang=zh-cn"],
                capture_output=True,
                text=True,
                timeout=5,
                check=True,
            ).stdout
            found, _, face = answer.partition("|")
            if found and _has_cjk(found, int(face or 0)):
                return FontFile(found, int(face or 0))
        except (OSError, subprocess.SubprocessError, ValueError):
            pass  # fall through to the known paths
    for path, index in _KNOWN_FONTS:
        if Path(path).is_file():
            return FontFile(path, index)
    return None


def _has_cjk(path: str, index: int) -> bool:
    """Whether the font draws 中 (fontconfig falls back to a Latin font without one)."""
    try:
        font = ImageFont.truetype(path, 24, index=index)
    except OSError:
        return False
    han, missing = _glyph(font, "中"), _glyph(font, "\uffff")  # U+FFFF: never a glyph
    return any(han) and han != missing


def _glyph(font: ImageFont.FreeTypeFont, char: str) -> bytes:
    picture = Image.new("L", (32, 32), 0)
    ImageDraw.Draw(picture).text((0, 0), char, font=font, fill=255)
    return picture.tobytes()


def ticket_bytes(
    ticket: CouponTicket, *, dots: int, font: FontFile, image_mode: ImageMode = "raster"
) -> bytes:
    """The ESC/POS bytes of one ticket: init, the picture as bit images, feed, cut."""
    printer = _dummy_printer(dots)
    printer.hw("INIT")
    picture = ticket_picture(ticket, dots=dots, font=font)
    printer.image(picture, impl=_ESCPOS_IMPL[image_mode], fragment_height=FRAGMENT_DOTS)
    printer.cut()
    return bytes(printer.output)


def ticket_picture(ticket: CouponTicket, *, dots: int, font: FontFile) -> Image.Image:
    """The ticket drawn black on white, `dots` wide (mode "1", what the printer prints)."""
    chinese = ticket.language.lower().startswith("zh")
    expiry = (
        f"有效期至 {ticket.expires_on.isoformat()}"
        if chinese
        else f"Valid until {ticket.expires_on.isoformat()}"
    )
    margin = dots // 24
    width = dots - 2 * margin
    heading = _font(font, dots // 16)
    title = _font(font, dots // 12)
    body = _font(font, dots // 20)
    code = _font(font, dots // 17)
    while code.size > 10 and code.getlength(ticket.code) > width:  # the code on one line
        code = _font(font, int(code.size) - 1)
    blocks: list[Image.Image] = [
        *_text_lines(ticket.heading, heading, width),
        _gap(dots // 24),
        *_text_lines(ticket.title, title, width),
        _gap(dots // 32),
        _qr(ticket.code, dots),
        *_text_lines(ticket.code, code, width),
        _gap(dots // 24),
        *_text_lines(ticket.terms, body, width),
        _gap(dots // 48),
        *_text_lines(expiry, body, width),
    ]
    height = sum(block.height for block in blocks)
    page = Image.new("L", (dots, height), 255)
    y = 0
    for block in blocks:
        page.paste(block, ((dots - block.width) // 2, y))
        y += block.height
    # A hard threshold, not dithering: thermal dots are on or off, and grey speckle
    # around glyph edges only makes small CJK strokes blur together.
    return page.point(lambda value: 255 if value >= 160 else 0).convert("1")


def _font(font: FontFile, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(font.path, size, index=font.index)


def _gap(height: int) -> Image.Image:
    return Image.new("L", (1, max(1, height)), 255)


def _qr(code: str, dots: int) -> Image.Image:
    # Medium error correction survives a smudge or a fold; a 4-module quiet zone is what
    # phone scanners need. Modules are whole dots, about half the paper wide in all.
    maker = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=4)
    maker.add_data(code)
    maker.make(fit=True)
    modules = maker.modules_count + 2 * 4
    maker.box_size = max(2, (dots // 2) // modules)
    picture: Any = maker.make_image()
    return picture.get_image().convert("L")  # type: ignore[no-any-return]


def _text_lines(text: str, font: ImageFont.FreeTypeFont, width: int) -> Iterator[Image.Image]:
    """`text` wrapped to `width` dots (at spaces, or between CJK characters); an image a line."""
    ascent, descent = font.getmetrics()
    line_height = ascent + descent + max(2, (ascent + descent) // 6)
    for paragraph in text.splitlines() or [""]:
        for line in _wrap(paragraph, font, width):
            picture = Image.new("L", (width, line_height), 255)
            drawn = ImageDraw.Draw(picture)
            drawn.text(((width - font.getlength(line)) / 2, 0), line, font=font, fill=0)
            yield picture


def _wrap(text: str, font: ImageFont.FreeTypeFont, width: int) -> list[str]:
    lines: list[str] = []
    line = ""
    for token in _tokens(text):
        candidate = line + token
        if line and font.getlength(candidate.rstrip()) > width:
            lines.append(line.rstrip())
            line = token.lstrip()
        else:
            line = candidate
        while font.getlength(line) > width and len(line) > 1:  # one word wider than the paper
            cut = len(line) - 1
            while cut > 1 and font.getlength(line[:cut]) > width:
                cut -= 1
            lines.append(line[:cut])
            line = line[cut:]
    if line.strip() or not lines:
        lines.append(line.rstrip())
    return lines


def _tokens(text: str) -> Iterator[str]:
    """Latin words with the spaces before them, and each CJK character on its own."""
    word = ""
    for char in text:
        if _is_wide(char):
            if word:
                yield word
                word = ""
            yield char
        elif char.isspace() and word.strip():
            yield word
            word = char
        else:
            word += char
    if word:
        yield word


def _is_wide(char: str) -> bool:
    point = ord(char)
    return (
        0x2E80 <= point <= 0x9FFF  # CJK radicals, punctuation, kana, unified ideographs
        or 0xF900 <= point <= 0xFAFF
        or 0xFF00 <= point <= 0xFFEF  # full-width forms
    )


# -- python-escpos ---------------------------------------------------------------------

_escpos_lock = threading.Lock()


def _dummy_printer(dots: int) -> Dummy:
    """python-escpos's in-memory printer, told the paper's width (it prints a warning to
    stdout without one)."""
    with _escpos_lock:
        _import_escpos()
        from escpos.printer import Dummy  # noqa: PLC0415 - only when a ticket is printed

    printer = Dummy()
    # A copy: the profile's data is the library's shared dict.
    media = json.loads(json.dumps(printer.profile.profile_data.get("media", {})))
    media.setdefault("width", {})["pixels"] = dots
    printer.profile.profile_data = {**printer.profile.profile_data, "media": media}
    return printer


def _import_escpos() -> None:
    """Import python-escpos, handing it its printer database ready-made.

    On import the library parses its 600 kB capabilities.json with pure-Python YAML
    (about a second of CPU with the GIL held, while the kiosk draws) and caches the
    result as a pickle in a fresh temporary directory it never removes. The file is
    JSON: read it with json (milliseconds), give the pickle in a directory of our own,
    and remove that directory once the library has read it.
    """
    if "escpos.capabilities" in sys.modules:
        return
    cache = tempfile.mkdtemp(prefix="kiosk-escpos-")
    try:
        database = resources.files("escpos") / "capabilities.json"
        capabilities = json.loads(database.read_text(encoding="utf-8"))
        pickled = Path(cache, f"{platform.python_version()}.capabilities.pickle")
        pickled.write_bytes(pickle.dumps(capabilities, protocol=2))
        os.environ.setdefault("ESCPOS_CAPABILITIES_PICKLE_DIR", cache)
        import escpos.capabilities  # noqa: F401, PLC0415
    finally:
        shutil.rmtree(cache, ignore_errors=True)
