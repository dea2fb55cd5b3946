"""Opening a bundle's picture: bounded in pixels, decoded near the size shown, one error type."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from helpers.bundles import BAD_PICTURES
from PIL import Image

from content import pictures

SCREEN = (1920, 1080)


def saved(tmp_path: Path, image: Image.Image, fmt: str, **options: object) -> Path:
    path = tmp_path / f"picture.{fmt.lower()}"
    image.save(path, fmt, **options)
    return path


@pytest.mark.parametrize("kind", sorted(BAD_PICTURES))
def test_a_picture_the_kiosk_cannot_show_is_one_clear_error(tmp_path: Path, kind: str) -> None:
    path = tmp_path / "picture.png"
    path.write_bytes(BAD_PICTURES[kind]())

    with pytest.raises(pictures.PictureError) as checked:
        pictures.check(path)
    with pytest.raises(pictures.PictureError) as decoded:
        pictures.decode(path, SCREEN)

    assert str(checked.value) == str(decoded.value)
    assert str(tmp_path) not in str(checked.value)  # the caller names the file


def test_too_many_pixels_are_refused_before_decoding_and_say_how_many(tmp_path: Path) -> None:
    path = tmp_path / "huge.jpg"
    path.write_bytes(BAD_PICTURES["huge-jpeg"]())

    expected = r"has 144,000,000 pixels.*; at most 33,177,600 are allowed"
    with pytest.raises(pictures.PictureError, match=expected):
        pictures.check(path)


def test_a_large_jpeg_is_decoded_at_a_reduced_scale_and_fits_the_box(tmp_path: Path) -> None:
    # 6000 × 4000 is 24 million pixels: allowed, but shown in a 480 × 320 box.
    path = saved(tmp_path, Image.new("RGB", (6000, 4000), (10, 200, 30)), "JPEG")
    requested: list[tuple[int, int]] = []
    original_load = Image.Image.load

    def watching_load(self: Image.Image) -> object:
        requested.append(self.size)  # the size Pillow is about to decode at
        return original_load(self)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Image.Image, "load", watching_load)
        picture = pictures.decode(path, (480, 320))

    assert picture.size == (480, 320)
    assert picture.mode == "RGB"  # a photo: no transparency to keep, a quarter less memory
    assert picture.getpixel((240, 160))[:3] == pytest.approx((10, 200, 30), abs=8)
    assert requested[0] == (750, 500)  # 1/8 scale: 3 MB decoded, not 96 MB


def test_a_picture_is_never_enlarged_and_keeps_its_shape(tmp_path: Path) -> None:
    path = saved(tmp_path, Image.new("RGBA", (200, 100), (0, 0, 255, 128)), "PNG")

    picture = pictures.decode(path, SCREEN)

    assert picture.size == (200, 100)
    assert picture.getpixel((0, 0)) == (0, 0, 255, 128)  # its transparency kept


def test_an_upright_picture_is_fitted_after_turning(tmp_path: Path) -> None:
    # Stored landscape with EXIF "turn a quarter" (6): shown portrait.
    exif = Image.Exif()
    exif[0x0112] = 6
    path = saved(tmp_path, Image.new("RGB", (800, 400), (1, 2, 3)), "JPEG", exif=exif)

    picture = pictures.decode(path, (200, 400))

    assert picture.size == (200, 400)


def test_formats_other_than_jpeg_and_png_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "picture.gif"
    Image.new("P", (10, 10)).save(path, "GIF")

    with pytest.raises(pictures.PictureError, match="is not a JPEG or PNG picture"):
        pictures.check(path)


def test_a_good_picture_passes_the_check(tmp_path: Path) -> None:
    out = io.BytesIO()
    Image.new("RGB", (1920, 1080), (5, 5, 5)).save(out, "JPEG")
    path = tmp_path / "poster.jpg"
    path.write_bytes(out.getvalue())

    pictures.check(path)
