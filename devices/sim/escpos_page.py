"""The simulated printer's paper: ESC/POS bytes in, one picture per cut ticket out.

`PageDecoder` reads the host's byte stream as a printer's command
interpreter does and lays what it prints onto a page: bit images (GS v 0
raster, ESC * columns, GS ( L graphics), plain ASCII text in a built-in font,
line feeds (LF, ESC d, ESC J, ESC 2 / ESC 3 spacing), alignment (ESC a); each
cut (GS V) ends a page. The other commands a host sends are skipped by their
length; a command it cannot size is counted in `unknown` and skipped as two
bytes. `RealtimeScanner` finds DLE EOT status requests anywhere in the stream,
as a printer's receive interrupt does, even inside an image's data.

No I/O: `devices.sim.printer` feeds it from the pty. `read_qr_codes` reads the
page with zxing-cpp (a test dependency; None without it).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Final

from PIL import Image, ImageDraw, ImageFont

from devices.protocols.escpos import DLE, EOT

ESC: Final = 0x1B
GS: Final = 0x1D
FS: Final = 0x1C
LF: Final = 0x0A

DEFAULT_LINE_DOTS: Final = 30  # ESC 2: 1/6 inch at 180 dpi, what Epson prints by default
_CHAR_DOTS: Final = 12  # font A is 12 x 24 dots
_MARGIN_DOTS: Final = 16  # white above and below a page, so a reader sees its edges

# ESC and GS commands by their byte count (command bytes included), for skipping.
_ESC_LENGTHS: Final = {
    b"@": 2, b"2": 2, b"<": 2,
    b"!": 3, b"-": 3, b"3": 3, b"E": 3, b"G": 3, b"M": 3, b"R": 3, b"S": 2, b"T": 3,
    b"U": 3, b"V": 3, b"a": 3, b"c": 4, b"d": 3, b"e": 3, b"J": 3, b"K": 3, b"r": 3,
    b"t": 3, b"{": 3, b" ": 3, b"$": 4, b"\\": 4, b"p": 5, b"=": 3, b"i": 2, b"m": 2,
}  # fmt: skip
_GS_LENGTHS: Final = {
    b"!": 3, b"B": 3, b"H": 3, b"f": 3, b"h": 3, b"w": 3, b"a": 3, b"b": 3, b"I": 3,
    b"r": 3, b"L": 4, b"W": 4, b"P": 4, b"$": 4, b"\\": 4, b":": 2, b"^": 5,
}  # fmt: skip
_FS_LENGTHS: Final = {b"&": 2, b".": 2, b"!": 3, b"-": 3, b"C": 3, b"W": 3, b"S": 4}


@dataclass(slots=True)
class _Line:
    """What is on the print line before the LF that prints it."""

    text: str = ""
    images: list[tuple[int, Image.Image]] = field(default_factory=list)  # (x, column band)
    x: int = 0


class PageDecoder:
    """ESC/POS bytes -> pages; see the module docstring."""

    def __init__(self, dots: int = 576) -> None:
        self._dots = dots
        self._pending = bytearray()
        self.unknown = 0  # commands skipped without knowing their length
        self.raster_images = 0
        self.column_bands = 0
        self._graphic: Image.Image | None = None  # GS ( L's stored graphic
        self._start_page()

    def reset(self) -> None:
        """Power cycle: what was half received or not cut yet is gone."""
        self._pending.clear()
        self._start_page()

    def feed(self, data: bytes) -> list[Image.Image]:
        """Take bytes from the host; return the pages cut since the last call."""
        self._pending += data
        cut: list[Image.Image] = []
        offset = 0
        while offset < len(self._pending):
            used, page = self._command(offset)
            if used == 0:
                break  # the rest of a command is still on its way
            offset += used
            if page is not None:
                cut.append(page)
        del self._pending[:offset]
        return cut

    # -- one command at a time -----------------------------------------------

    def _command(self, at: int) -> tuple[int, Image.Image | None]:  # noqa: PLR0911, PLR0912
        """Bytes used by the command at `at` (0: incomplete) and the page, if it cut one."""
        buf = self._pending
        first = buf[at]
        if first == LF:
            self._print_line()
            return 1, None
        if first == 0x09:  # HT: tab stops every 8 characters
            self._line.text += " " * (8 - len(self._line.text) % 8)
            return 1, None
        if first >= 0x20 and first != 0x7F:
            self._line.text += chr(first) if first < 0x7F else "?"  # no code page here
            return 1, None
        if first == DLE:
            if at + 1 >= len(buf):
                return 0, None
            realtime = {EOT: 3, 0x05: 3, 0x14: 5}.get(buf[at + 1], 2)
            return (realtime, None) if at + realtime <= len(buf) else (0, None)
        if first not in (ESC, GS, FS):
            return 1, None  # CR, NUL and other controls print nothing
        if at + 1 >= len(buf):
            return 0, None
        key = bytes(buf[at + 1 : at + 2])
        length: int | None
        if first == ESC:
            if key == b"*":
                return self._column_image(at)
            length = _ESC_LENGTHS.get(key)
        elif first == GS:
            if key == b"v":
                return self._raster_image(at)
            if key == b"V":
                return self._cut(at)
            if key == b"(":
                return self._extended(at)
            length = _GS_LENGTHS.get(key)
        else:
            length = _FS_LENGTHS.get(key)
        if length is None:
            self.unknown += 1
            return 2, None
        if at + length > len(buf):
            return 0, None
        self._apply(first, key, buf[at + 2 : at + length])
        return length, None

    def _apply(self, first: int, key: bytes, args: bytearray) -> None:
        if first != ESC:
            return
        if key == b"@":
            self._align, self._spacing = 0, DEFAULT_LINE_DOTS
        elif key == b"a":
            self._align = args[0] % 48 if args[0] >= 48 else args[0]  # 0/1/2 or "0"/"1"/"2"
        elif key == b"2":
            self._spacing = DEFAULT_LINE_DOTS
        elif key == b"3":
            self._spacing = args[0]
        elif key == b"d":
            self._print_line()
            self._y += max(0, args[0] - 1) * self._spacing
        elif key == b"J":
            self._flush_line()
            self._y += args[0]
        elif key == b"$":
            self._line.x = args[0] + 256 * args[1]

    def _raster_image(self, at: int) -> tuple[int, None]:
        """GS v 0 m xL xH yL yH, then (xL + 256 xH) * (yL + 256 yH) bytes, rows of bits."""
        buf = self._pending
        if at + 8 > len(buf):
            return 0, None
        mode = buf[at + 3] % 48 if buf[at + 3] >= 48 else buf[at + 3]
        width_bytes = buf[at + 4] + 256 * buf[at + 5]
        height = buf[at + 6] + 256 * buf[at + 7]
        end = at + 8 + width_bytes * height
        if end > len(buf):
            return 0, None
        image = _bits_to_image(bytes(buf[at + 8 : end]), width_bytes * 8, height)
        if mode & 1:
            image = image.resize((image.width * 2, image.height))
        if mode & 2:
            image = image.resize((image.width, image.height * 2))
        self._flush_line()
        self._place(image)
        self.raster_images += 1
        return end - at, None

    def _column_image(self, at: int) -> tuple[int, None]:
        """ESC * m nL nH, then columns of 1 (m 0/1) or 3 (m 32/33) bytes, top bit first."""
        buf = self._pending
        if at + 5 > len(buf):
            return 0, None
        mode, columns = buf[at + 2], buf[at + 3] + 256 * buf[at + 4]
        rows_bytes = 3 if mode >= 32 else 1
        end = at + 5 + columns * rows_bytes
        if end > len(buf):
            return 0, None
        data = bytes(buf[at + 5 : end])
        band = Image.new("L", (columns, rows_bytes * 8), 255)
        pixels = band.load()
        assert pixels is not None
        for column in range(columns):
            for row_byte in range(rows_bytes):
                value = data[column * rows_bytes + row_byte]
                for bit in range(8):
                    if value & (0x80 >> bit):
                        pixels[column, row_byte * 8 + bit] = 0
        if mode in (0, 32):  # single density across: each column is two dots wide
            band = band.resize((columns * 2, band.height))
        if mode in (0, 1):  # 8-dot modes are a third of the vertical density
            band = band.resize((band.width, band.height * 3))
        self._line.images.append((self._line.x, band))
        self._line.x += band.width
        self.column_bands += 1
        return end - at, None

    def _extended(self, at: int) -> tuple[int, None]:
        """GS ( X pL pH and pL + 256 pH bytes; GS ( L 0x70 stores a graphic, 0x32 prints it."""
        buf = self._pending
        if at + 5 > len(buf):
            return 0, None
        size = buf[at + 3] + 256 * buf[at + 4]
        end = at + 5 + size
        if end > len(buf):
            return 0, None
        body = bytes(buf[at + 5 : end])
        if buf[at + 2] == ord("L") and len(body) >= 10 and body[1] == 0x70:
            width, height = body[6] + 256 * body[7], body[8] + 256 * body[9]
            self._graphic = _bits_to_image(body[10:], width, height)
        elif (
            buf[at + 2] == ord("L")
            and len(body) >= 2
            and body[1] == 0x32
            and self._graphic is not None
        ):
            self._flush_line()
            self._place(self._graphic)
            self.raster_images += 1
        return end - at, None

    def _cut(self, at: int) -> tuple[int, Image.Image | None]:
        """GS V m (m 0, 1, 48, 49), or GS V m n (m 65, 66, 97..104: feed n, then cut)."""
        buf = self._pending
        if at + 3 > len(buf):
            return 0, None
        mode = buf[at + 2]
        length = 3 if mode in (0, 1, 48, 49) else 4
        if at + length > len(buf):
            return 0, None
        self._flush_line()
        if length == 4:
            self._y += buf[at + 3]
        page = self._finish_page()
        return length, page

    # -- the page ---------------------------------------------------------------

    def _start_page(self) -> None:
        self._placed: list[tuple[int, int, Image.Image]] = []  # (x, y, picture)
        self._y = _MARGIN_DOTS
        self._line = _Line()
        self._align = 0
        self._spacing = DEFAULT_LINE_DOTS
        self._graphic = None

    def _place(self, image: Image.Image) -> None:
        """Put a picture on the paper at the current line, aligned, and move below it."""
        free = max(0, self._dots - image.width)
        x = (0, free // 2, free)[min(self._align, 2)]
        self._placed.append((x, self._y, image))
        self._y += image.height

    def _flush_line(self) -> None:
        """Print what is on the line without moving the paper further (as before an image)."""
        if self._line.text or self._line.images:
            self._print_line()

    def _print_line(self) -> None:
        """LF: print the line and feed one line (a line of bands moves by its own height)."""
        line, self._line = self._line, _Line()
        height = self._spacing
        if line.images:
            height = max(band.height for _, band in line.images)
            for x, band in line.images:
                self._placed.append((x, self._y, band))
        if line.text:
            text = _text_image(line.text)
            free = max(0, self._dots - text.width)
            x = (0, free // 2, free)[min(self._align, 2)]
            self._placed.append((x, self._y, text))
            height = max(height, text.height)
        self._y += height

    def _finish_page(self) -> Image.Image:
        width = max([self._dots, *(x + picture.width for x, _, picture in self._placed)])
        page = Image.new("L", (width, self._y + _MARGIN_DOTS), 255)
        for x, y, picture in self._placed:
            page.paste(picture.convert("L"), (x, y))
        self._start_page()
        return page


def _bits_to_image(data: bytes, width: int, height: int) -> Image.Image:
    """Rows of bits, 1 = a black dot, most significant bit leftmost."""
    picture = Image.frombytes("1", (width, height), data, "raw", "1;I")
    return picture.convert("L")


def _text_image(text: str) -> Image.Image:
    font = ImageFont.load_default(size=20)
    picture = Image.new("L", (max(1, len(text) * _CHAR_DOTS), 24), 255)
    ImageDraw.Draw(picture).text((0, 0), text, font=font, fill=0)
    return picture


class RealtimeScanner:
    """Finds DLE EOT n (n 1 to 4) in a byte stream, across chunk boundaries."""

    def __init__(self) -> None:
        self._tail = b""

    def reset(self) -> None:
        self._tail = b""

    def feed(self, data: bytes) -> Iterator[int]:
        """The `n` of each status request that ends in `data`, in order."""
        joined = self._tail + data
        for index in range(len(joined) - 2):
            if joined[index] == DLE and joined[index + 1] == EOT and 1 <= joined[index + 2] <= 4:
                yield joined[index + 2]
        self._tail = joined[-2:]


def read_qr_codes(page: Image.Image) -> list[str] | None:
    """The texts of the QR codes on a page (zxing-cpp), or None if zxing-cpp is missing."""
    try:
        import zxingcpp  # noqa: PLC0415 - a test/demo dependency, not the kiosk's
    except ImportError:
        return None
    return [
        code.text
        for code in zxingcpp.read_barcodes(page)
        if code.format == zxingcpp.BarcodeFormat.QRCode
    ]
