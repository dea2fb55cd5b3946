"""The simulated printer's paper: ESC/POS bytes laid onto pages, and the coupon ticket
drawn by devices.ticket coming back off them."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date

import pytest
from PIL import Image

from devices.printer import CouponTicket
from devices.sim.escpos_page import PageDecoder, RealtimeScanner, read_qr_codes
from devices.ticket import FontFile, ImageMode, find_cjk_font, ticket_bytes, ticket_picture

CODE = "7K2M-Q9TX-ABCD-EFGH-JKMN-PQRS"


def coupon(language: str = "zh-CN", title: str = "会员专享：咖啡机立减 200 元") -> CouponTicket:
    return CouponTicket(
        "job-1", "星河百货", title, "本券限本店使用。", CODE, date(2026, 12, 31), language
    )


@pytest.fixture(scope="module")
def font() -> FontFile:
    found = find_cjk_font()
    assert found is not None, "no CJK font: ./run installs fonts-noto-cjk"
    return found


def dark_dots(page: Image.Image) -> int:
    return sum(1 for value in page.convert("L").tobytes() if value < 128)


@pytest.mark.parametrize(("paper", "dots"), [(58, 384), (80, 576)])
@pytest.mark.parametrize("mode", ["raster", "column"])
def test_a_ticket_fed_in_small_pieces_comes_out_as_one_page_with_its_qr(
    font: FontFile,
    paper: int,
    dots: int,
    mode: ImageMode,
) -> None:
    data = ticket_bytes(coupon(), dots=dots, font=font, image_mode=mode)
    decoder = PageDecoder(dots)
    pages: list[Image.Image] = []
    for start in range(0, len(data), 333):  # commands cut across reads, as on a serial line
        pages += decoder.feed(data[start : start + 333])
    assert len(pages) == 1
    assert pages[0].width == dots
    assert read_qr_codes(pages[0]) == [CODE]
    assert decoder.unknown == 0
    assert (decoder.raster_images > 0) == (mode == "raster")
    assert (decoder.column_bands > 0) == (mode == "column")


def test_the_chinese_title_is_drawn_not_left_blank(font: FontFile) -> None:
    with_title = ticket_picture(coupon(), dots=384, font=font)
    without = ticket_picture(coupon(title=""), dots=384, font=font)
    # The title's lines are extra height full of ink; a font without the glyphs would
    # draw nothing (or the same empty box for every character).
    assert with_title.height > without.height
    assert dark_dots(with_title) - dark_dots(without) > 1500


def test_english_and_chinese_tickets_say_the_expiry_in_their_language(font: FontFile) -> None:
    chinese = ticket_picture(coupon(), dots=384, font=font)
    english = ticket_picture(coupon("en", "Coffee machines: 200 off"), dots=384, font=font)
    assert chinese.tobytes() != english.tobytes()
    assert read_qr_codes(english.convert("L")) == [CODE]


def test_a_long_title_wraps_within_the_paper(font: FontFile) -> None:
    long_title = "Members only: " + "an unusually long offer title that keeps going " * 4
    picture = ticket_picture(coupon("en", long_title), dots=384, font=font)
    assert picture.width == 384  # nothing drawn past the edge of a 58 mm roll


def test_text_feeds_and_cuts_make_pages() -> None:
    decoder = PageDecoder(384)
    pages = decoder.feed(b"\x1b@\x1ba\x01HELLO\n\x1bd\x03\x1bJ\x10WORLD\n\x1dV\x00")
    pages += decoder.feed(b"\x1b@SECOND\n\x1dVA\x10")  # GS V 65 n: feed n dots, then cut
    assert len(pages) == 2
    assert dark_dots(pages[0]) > 0
    assert dark_dots(pages[1]) > 0
    assert decoder.unknown == 0


def test_a_command_it_cannot_size_is_counted_and_skipped() -> None:
    decoder = PageDecoder(384)
    assert decoder.feed(b"\x1b\xeeAB\n\x1dV\x00") != []
    assert decoder.unknown == 1


def test_half_a_raster_waits_for_the_rest() -> None:
    decoder = PageDecoder(384)
    header = b"\x1dv0\x00\x02\x00\x02\x00"  # 2 bytes wide, 2 rows
    assert decoder.feed(header + b"\xff") == []
    assert decoder.feed(b"\xff\x00\x00\x1dV\x00") != []
    assert decoder.raster_images == 1


def test_status_requests_are_found_anywhere_even_split_across_reads() -> None:
    scanner = RealtimeScanner()
    assert list(scanner.feed(b"\x10\x04")) == []
    assert list(scanner.feed(b"\x01image\x10\x04\x02\x10")) == [1, 2]
    assert list(scanner.feed(b"\x04\x04")) == [4]
    assert list(scanner.feed(b"\x10\x04\x09")) == []  # n 9 is no status request


def test_the_driver_loads_no_drawing_library_until_a_ticket_is_printed() -> None:
    """The kiosk builds its printer at start-up; python-escpos (a second of import),
    Pillow and qrcode wait for the first ticket."""
    probe = (
        "import json, sys; import devices.printer; "
        "print(json.dumps(sorted(m for m in ('escpos', 'PIL', 'qrcode') if m in sys.modules)))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout
    assert json.loads(loaded) == []
