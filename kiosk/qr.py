"""QR codes as Qt images, made with the `qrcode` library.

Sized in whole pixels per module so every module is a crisp square: a phone
photographing the screen at an angle still finds the finder patterns.
"""

from __future__ import annotations

from typing import Final

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QImage, QPainter

QUIET_ZONE: Final = 4  # modules of white around the code, as ISO/IEC 18004 asks


def qr_image(text: str, *, size: int) -> QImage:
    """A black-on-white QR code of `text`, at most `size` px square (error correction M:
    a glare or a smudge on the photo still reads)."""
    # qrcode (with its image back ends) costs ~4 MB: only once a code is shown.
    import qrcode  # noqa: PLC0415

    code = qrcode.QRCode(border=0, error_correction=qrcode.ERROR_CORRECT_M)
    code.add_data(text)
    code.make(fit=True)
    modules = code.get_matrix()
    count = len(modules) + 2 * QUIET_ZONE
    scale = max(1, size // count)
    side = count * scale
    image = QImage(side, side, QImage.Format.Format_RGB32)
    image.fill(Qt.GlobalColor.white)
    painter = QPainter(image)
    black = QColor(Qt.GlobalColor.black)
    for row, line in enumerate(modules):
        for column, dark in enumerate(line):
            if dark:
                painter.fillRect(
                    (column + QUIET_ZONE) * scale, (row + QUIET_ZONE) * scale, scale, scale, black
                )
    painter.end()
    return image
