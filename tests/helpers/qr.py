"""Reading a QR code off the screen with a real decoder (zxing-cpp), as a phone would."""

from __future__ import annotations

import zxingcpp
from PIL import Image
from PySide6.QtGui import QImage


def decode_qr(image: QImage) -> str:
    """The text of the one QR code in `image`; AssertionError if none can be read."""
    grey = image.convertToFormat(QImage.Format.Format_Grayscale8)
    width, height, stride = grey.width(), grey.height(), grey.bytesPerLine()
    rows = bytes(grey.constBits())  # rows padded to `stride` bytes
    picture = Image.frombytes("L", (width, height), rows, "raw", "L", stride)
    found = [
        code
        for code in zxingcpp.read_barcodes(picture)
        if code.format == zxingcpp.BarcodeFormat.QRCode
    ]
    assert len(found) == 1, f"expected one QR code, found {len(found)}"
    return found[0].text
