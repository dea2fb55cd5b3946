"""The attract loop: the playlist's pictures, cross-faded slowly, and the invitation."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Final

from PySide6.QtCore import (
    QEasingCurve,
    QRectF,
    QSize,
    Qt,
    QTimer,
    QVariantAnimation,
    Signal,
)
from PySide6.QtGui import QColor, QImage, QLinearGradient, QPainter, QPaintEvent
from PySide6.QtWidgets import QFrame, QHBoxLayout, QProgressBar, QVBoxLayout, QWidget

from content.model import Language, LocalizedText
from kiosk.i18n import tr
from kiosk.images import ImageCache
from kiosk.pages import AttractPage
from kiosk.screens.common import Screen, button, label
from kiosk.screens.survey import FaceButton
from kiosk.survey import SMILEY_SCORES

FADE_MS: Final = 1200  # slow enough to read as calm, quick enough not to look stuck
# The next slide is decoded this long before it shows (a decode takes ~0.1-0.3 s):
# early enough to be ready, late enough that most of the time only the slide on
# screen (8 MB at 1920x1080) is held.
PRELOAD_LEAD_MS: Final = 2500


@dataclass(frozen=True, slots=True)
class Slide:
    image: Path
    seconds: float
    caption: LocalizedText | None


class _SlideCanvas(QWidget):
    """Paints the current slide, the outgoing one fading beneath it, and a legibility scrim."""

    def __init__(self) -> None:
        super().__init__()
        self.current = QImage()
        self.previous = QImage()
        self.fade = 1.0

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        painter.fillRect(self.rect(), QColor("#101114"))
        if not self.previous.isNull() and self.fade < 1.0:
            self._cover(painter, self.previous)
        if not self.current.isNull():
            painter.setOpacity(self.fade)
            self._cover(painter, self.current)
            painter.setOpacity(1.0)
        scrim = QLinearGradient(0, self.height() * 0.45, 0, self.height())
        scrim.setColorAt(0, QColor(0, 0, 0, 0))
        scrim.setColorAt(1, QColor(0, 0, 0, 170))
        painter.fillRect(self.rect(), scrim)

    def _cover(self, painter: QPainter, image: QImage) -> None:
        """Scale to cover the whole screen, cropping the overflow evenly."""
        size = image.size().scaled(self.size(), Qt.AspectRatioMode.KeepAspectRatioByExpanding)
        x = (self.width() - size.width()) / 2
        y = (self.height() - size.height()) / 2
        painter.drawImage(QRectF(x, y, size.width(), size.height()), image)


class AttractScreen(Screen):
    BOX = QSize(1920, 1080)
    smiley_pressed = Signal(int)  # score 1..4
    join = Signal()

    def __init__(self, images: ImageCache) -> None:
        """`images` is this screen's own cache, sized for a few slides."""
        super().__init__()
        self._images = images
        self._slides: list[Slide] = []
        self._index = 0
        self._language = Language.ZH_CN
        self._canvas = _SlideCanvas()
        # For slides whose picture carries no headline of its own; in the shopper's language.
        self.caption = label(role="caption", wrap=True)
        self._invite = label(role="invite")
        self._invite_other = label(role="invite-other")
        # Only on the no-content welcome: a first release on its way from HQ.
        self._download = -1  # the percentage shown; -1: none
        self.download_text = label(role="download")
        self.download_bar = QProgressBar()
        self.download_bar.setProperty("role", "download")
        self.download_bar.setRange(0, 100)
        self.download_bar.setTextVisible(False)
        self.download_bar.setFixedWidth(720)
        for widget in (self.download_text, self.download_bar):
            widget.hide()

        # The always-on smiley question and "join": bottom right, out of the invitation's way.
        self.join_button = button("", "action")
        self.join_button.clicked.connect(self.join)
        self.smileys = QFrame()
        self.smileys.setProperty("role", "smileys")
        self.smiley_question = label(role="smiley-question", wrap=True)
        self.faces = [FaceButton(score, diameter=112) for score in SMILEY_SCORES]
        faces = QHBoxLayout()
        faces.setSpacing(16)
        for face in self.faces:
            face.clicked.connect(lambda _=False, s=face.score: self.smiley_pressed.emit(s))
            faces.addWidget(face)
        column = QVBoxLayout(self.smileys)
        column.setContentsMargins(32, 20, 32, 24)
        column.addWidget(self.smiley_question)
        column.addLayout(faces)
        side = QVBoxLayout()
        side.setSpacing(24)
        side.addWidget(self.join_button, 0, Qt.AlignmentFlag.AlignRight)
        side.addWidget(self.smileys)

        texts = QVBoxLayout()
        texts.addStretch(1)
        texts.addWidget(self.caption)
        texts.addSpacing(24)
        texts.addWidget(self._invite)
        texts.addWidget(self._invite_other)
        texts.addSpacing(32)
        texts.addWidget(self.download_text)
        texts.addWidget(self.download_bar)
        overlay = QHBoxLayout(self._canvas)
        overlay.setContentsMargins(120, 80, 96, 100)
        overlay.addLayout(texts, 1)
        overlay.addLayout(side, 0)
        side.insertStretch(0, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self._canvas)

        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self._next)
        self._fade = QVariantAnimation(self)
        self._fade.setStartValue(0.0)
        self._fade.setEndValue(1.0)
        self._fade.setDuration(FADE_MS)
        self._fade.setEasingCurve(QEasingCurve.Type.InOutSine)
        self._fade.valueChanged.connect(self._on_fade)
        self._fade.finished.connect(self._faded)
        self._preload = QTimer(self)
        self._preload.setSingleShot(True)
        self._preload.timeout.connect(self._preload_next)

    def set_slides(self, slides: list[Slide]) -> None:
        self._slides = slides
        self._index = 0
        self.show_download(None)
        self._show_slide(animate=False)

    def show_download(self, percent: int | None) -> None:
        """How far the first release's download got (None: hide). Shown only on the
        no-content welcome: a kiosk with content keeps its loop while it downloads."""
        if self._slides:
            percent = None
        if percent is not None:
            percent = max(0, min(100, percent))
        if (percent if percent is not None else -1) == self._download:
            return
        self._download = -1 if percent is None else percent
        for widget in (self.download_text, self.download_bar):
            widget.setVisible(percent is not None)
        if percent is not None:
            self.download_bar.setValue(percent)
            self.download_text.setText(
                tr(self._language, "unavailable.downloading", percent=percent)
            )

    def set_unavailable(self) -> None:
        """No content at all: a calm welcome instead of a broken loop."""
        self._slides = []
        self._timer.stop()
        self._preload.stop()
        self._canvas.current = QImage()
        self.caption.setText(tr(self._language, "unavailable.title"))
        self._invite.setText(tr(self._language, "unavailable.body"))
        self._invite_other.clear()
        self._canvas.update()

    def show_page(self, page: AttractPage) -> None:
        self._language = page.language
        if self._slides:
            self._show_texts()
        self.join_button.setVisible(page.join is not None)
        self.join_button.setText(page.join or "")
        self.smileys.setVisible(page.smiley_prompt is not None)
        self.smiley_question.setText(page.smiley_thanks or page.smiley_prompt or "")
        for face in self.faces:
            face.setEnabled(page.smiley_thanks is None)

    def start(self) -> None:
        """Resume the loop from the first slide (each new attract period starts fresh)."""
        if self._slides:
            self._index = 0
            self._show_slide(animate=False)

    def stop(self) -> None:
        """A shopper took over: full-screen slides are 8 MB each, so let them go."""
        self._timer.stop()
        self._preload.stop()
        self._fade.stop()
        self._canvas.current = self._canvas.previous = QImage()
        self._images.clear()

    def _next(self) -> None:
        if len(self._slides) > 1:
            self._index = (self._index + 1) % len(self._slides)
            self._show_slide(animate=True)

    def _show_slide(self, *, animate: bool) -> None:
        slide = self._slides[self._index]
        self._canvas.previous = self._canvas.current
        self._canvas.current = self._images.get(slide.image, self.BOX)
        self._show_texts()
        if animate:
            self._fade.start()
        else:
            self._canvas.fade = 1.0
            self._canvas.update()
        self._timer.start(round(slide.seconds * 1000))
        self._preload.start(max(0, round(slide.seconds * 1000) - PRELOAD_LEAD_MS))

    def _show_texts(self) -> None:
        slide = self._slides[self._index]
        # Both languages invite: the shopper has not chosen one yet.
        other = Language.EN if self._language is Language.ZH_CN else Language.ZH_CN
        self.caption.setText(slide.caption.get(self._language) if slide.caption else "")
        self.caption.setVisible(slide.caption is not None)
        self._invite.setText(tr(self._language, "attract.invite"))
        self._invite_other.setText(tr(other, "attract.invite"))

    def _preload_next(self) -> None:
        if not self._slides:
            return
        upcoming = self._slides[(self._index + 1) % len(self._slides)]
        self._images.preload([(upcoming.image, self.BOX)])

    def _faded(self) -> None:
        self._canvas.previous = QImage()  # faded out: no need to hold its 8 MB

    def _on_fade(self, value: object) -> None:
        self._canvas.fade = float(value)  # type: ignore[arg-type]
        self._canvas.update()
