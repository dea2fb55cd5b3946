"""The attract loop: the playlist's pictures and videos, cross-faded slowly, and the invitation.

The loop plays the entries that play now (dayparting, `content.schedule`,
decided again at every change of entry and every `DAYPART_CHECK_MS`, from the
local clock passed in). A video is decoded by `kiosk/screens/video.py`, imported
only when a playlist holds one; its frames are painted like a picture, so a
video fades in and out as calmly as a poster. A video that cannot be played is
skipped at once and `video_failed` says so; until another entry shows, the last
picture stays on screen.

For proof of play (kiosk/play_counts.py) `item_shown` says when an entry comes on
screen (a picture as it starts to fade in, a video at its first frame) and
`loop_stopped` when the loop leaves the screen.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from PySide6.QtCore import (
    QEasingCurve,
    QRectF,
    QSize,
    QSizeF,
    Qt,
    QTimer,
    QVariantAnimation,
    Signal,
)
from PySide6.QtGui import QColor, QImage, QLinearGradient, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import (
    QBoxLayout,
    QFrame,
    QGraphicsOpacityEffect,
    QHBoxLayout,
    QProgressBar,
    QVBoxLayout,
    QWidget,
)

from content.model import Language, LocalizedText
from content.schedule import dayparted
from kiosk.i18n import tr
from kiosk.images import ImageCache
from kiosk.pages import AttractPage
from kiosk.play_counts import PlayItem
from kiosk.screens.common import Screen, button, label
from kiosk.screens.survey import FACE_COLOURS, FaceButton
from kiosk.survey import SMILEY_SCORES

if TYPE_CHECKING:
    from kiosk.screens.video import VideoPlayer

log = logging.getLogger("kiosk.screens.attract")

FACE_DIAMETER: Final = 104  # the band's faces: a thumb's width and a half, four in a row
FADE_MS: Final = 1200  # slow enough to read as calm, quick enough not to look stuck
# The next slide is decoded this long before it shows (a decode takes ~0.1-0.3 s):
# early enough to be ready, late enough that most of the time only the slide on
# screen (8 MB at 1920x1080) is held.
PRELOAD_LEAD_MS: Final = 2500
# Dayparts are whole minutes: asking twice a minute starts an entry within 30 s of
# its hour even when a single video loops and no entry ever ends. A clock set
# back or forward (NTP, daylight saving) is simply read again.
DAYPART_CHECK_MS: Final = 30_000


def local_now() -> datetime:
    """The machine's wall-clock time, in its own time zone."""
    return datetime.now()


def store_clock(timezone: str) -> Callable[[], datetime]:
    """The store's wall clock (`--timezone`): dayparts are written in the store's time."""
    try:
        zone = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        log.error("unknown time zone %r: dayparts follow this machine's clock", timezone)
        return local_now
    return lambda: datetime.now(zone)


@dataclass(frozen=True, slots=True)
class Slide:
    """One entry of the loop: a picture (`image`) or a video (`video`), and when it plays.

    `seconds`: how long it shows; ignored for a video that `plays_to_end`.
    """

    image: Path | None
    seconds: float
    caption: LocalizedText | None
    video: Path | None = None
    plays_to_end: bool = False
    hours: str | None = None  # see content.model.PlaylistItem
    weekdays: tuple[int, ...] | None = None
    play: PlayItem | None = None  # what proof of play counts it as (None: not counted)


class _SlideCanvas(QWidget):
    """Paints the current slide whole (never cropped: the phone on a poster stays in
    view), the outgoing slide fading beneath it."""

    def __init__(self) -> None:
        super().__init__()
        self.current = QImage()
        self.previous = QImage()
        self.fade = 1.0
        self.scrim = False  # a caption is drawn over the picture: darken under it
        self._edges: dict[tuple[int, str], QImage] = {}  # (cacheKey, side) -> its edge line

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        painter.fillRect(self.rect(), QColor("#101114"))
        if not self.previous.isNull() and self.fade < 1.0:
            self._draw(painter, self.previous)
        if not self.current.isNull():
            painter.setOpacity(self.fade)
            self._draw(painter, self.current)
            painter.setOpacity(1.0)
        if self.scrim:
            scrim = QLinearGradient(0, self.height() * 0.45, 0, self.height())
            scrim.setColorAt(0, QColor(0, 0, 0, 0))
            scrim.setColorAt(1, QColor(0, 0, 0, 170))
            painter.fillRect(self.rect(), scrim)

    def picture_rect(self, image: QImage) -> QRectF:
        """Where `image` shows: fitted whole and centred."""
        size = image.deviceIndependentSize().scaled(
            QSizeF(self.size()), Qt.AspectRatioMode.KeepAspectRatio
        )
        x = (self.width() - size.width()) / 2
        y = (self.height() - size.height()) / 2
        return QRectF(x, y, size.width(), size.height())

    def _draw(self, painter: QPainter, image: QImage) -> None:
        """The picture fitted whole; the room beside it (or above and below it) filled
        with its own edges drawn out, so a studio backdrop simply carries on."""
        picture = self.picture_rect(image)
        x, y = picture.x(), picture.y()
        if x >= 1:
            painter.drawImage(QRectF(0, y, x + 1, picture.height()), self._edge(image, "left"))
            right = QRectF(picture.right() - 1, y, x + 1, picture.height())
            painter.drawImage(right, self._edge(image, "right"))
        if y >= 1:
            painter.drawImage(QRectF(x, 0, picture.width(), y + 1), self._edge(image, "top"))
            bottom = QRectF(x, picture.bottom() - 1, picture.width(), y + 1)
            painter.drawImage(bottom, self._edge(image, "bottom"))
        painter.drawImage(picture, image)

    def _edge(self, image: QImage, side: str) -> QImage:
        """The outer 2% of `side`, averaged to a line of 48 pixels: stretched over the
        room beside the picture it reads as the backdrop's own gradient."""
        key = (image.cacheKey(), side)
        edge = self._edges.get(key)
        if edge is None:
            width, height = image.width(), image.height()
            strip = max(1, round((width if side in ("left", "right") else height) * 0.02))
            box = {
                "left": (0, 0, strip, height),
                "right": (width - strip, 0, strip, height),
                "top": (0, 0, width, strip),
                "bottom": (0, height - strip, width, strip),
            }[side]
            line = (1, 48) if side in ("left", "right") else (48, 1)
            edge = image.copy(*box).scaled(
                *line,
                Qt.AspectRatioMode.IgnoreAspectRatio,
                Qt.TransformationMode.SmoothTransformation,
            )
            # Video frames are new images each time: keep the edges of the last few only.
            self._edges = dict(list(self._edges.items())[-8:])
            self._edges[key] = edge
        return edge


class _BandFace(FaceButton):
    """A face of the attract band: ringed once pressed, the others stepped back, and
    every one still pressable (the next shopper need not wait for a thank-you)."""

    def __init__(self, score: int, diameter: int) -> None:
        super().__init__(score, diameter)
        self.chosen = False
        self._dim = QGraphicsOpacityEffect(self)
        self._dim.setOpacity(0.35)
        self._dim.setEnabled(False)
        self.setGraphicsEffect(self._dim)

    def show_choice(self, chosen: int | None) -> None:
        self.chosen = chosen == self.score
        self._dim.setEnabled(chosen is not None and not self.chosen)
        self.update()

    def paintEvent(self, event: QPaintEvent) -> None:
        super().paintEvent(event)
        if self.chosen:
            painter = QPainter(self)
            painter.setRenderHint(QPainter.RenderHint.Antialiasing)
            painter.setPen(QPen(QColor(FACE_COLOURS[self.score - 1]), 4))
            painter.drawEllipse(QRectF(self.rect()).adjusted(2, 2, -2, -2))


class AttractScreen(Screen):
    BOX = QSize(1920, 1080)
    smiley_pressed = Signal(int)  # score 1..4
    join = Signal()
    video_failed = Signal(object, str)  # video Path, why (skipped for this playlist)
    item_shown = Signal(object)  # PlayItem: an entry came on screen
    loop_stopped = Signal()  # no entry of the loop is on screen any more

    def __init__(self, images: ImageCache, local_clock: Callable[[], datetime] = local_now) -> None:
        """`images` is this screen's own cache, sized for a few slides."""
        super().__init__()
        self._images = images
        self._local_clock = local_clock
        self._slides: list[Slide] = []
        self._index = 0  # into _slides
        self._playing: tuple[int, ...] = ()  # indexes of the slides that play now
        self._failed: set[Path] = set()  # videos that could not be played
        self._video: VideoPlayer | None = None  # made when a video first shows
        self._awaiting_frame = False  # a video started; its first frame fades it in
        self._animate = False
        self._running = False  # the loop is on screen (not stopped for a shopper)
        self._language = Language.ZH_CN
        self._canvas = _SlideCanvas()
        # For slides whose picture carries no headline of its own; in the shopper's language.
        self.caption = label(role="caption", wrap=True)
        # Only on the no-content welcome, under its title (there is no band then).
        self.notice = label(role="caption-body", wrap=True)
        self.notice.hide()
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

        # The invitation, the always-on smiley question and "join" have a band of their
        # own under the slide, so none of them covers the phone a poster shows.
        self.join_button = button("", "action")
        self.join_button.clicked.connect(self.join)
        self.smileys = QFrame()
        self.smileys.setProperty("role", "smileys")
        self.smiley_question = label(role="smiley-question")
        self.smiley_question.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.faces = [_BandFace(score, diameter=FACE_DIAMETER) for score in SMILEY_SCORES]
        self._pressed: int | None = None  # the face pressed last, ringed while thanked
        self._thanked = False  # the thank-you shows in the invitation's place
        faces = QHBoxLayout()
        faces.setSpacing(20)
        for face in self.faces:
            face.clicked.connect(lambda _=False, s=face.score: self._press(s))
            faces.addWidget(face)
        column = QVBoxLayout(self.smileys)
        column.setContentsMargins(28, 12, 28, 16)
        column.setSpacing(8)
        column.addWidget(self.smiley_question)
        column.addLayout(faces)
        self.invite_column = QVBoxLayout()
        self.invite_column.setSpacing(4)
        self.invite_column.addStretch(1)
        self.invite_column.addWidget(self._invite)
        self.invite_column.addWidget(self._invite_other)
        self.invite_column.addStretch(1)
        self.band = QFrame()
        self.band.setProperty("role", "attract-band")
        self._band_layout = QBoxLayout(QBoxLayout.Direction.LeftToRight, self.band)
        self._band_layout.addLayout(self.invite_column, 1)
        self._band_layout.addWidget(self.smileys, 0, Qt.AlignmentFlag.AlignCenter)
        self._band_layout.addWidget(self.join_button, 0, Qt.AlignmentFlag.AlignCenter)

        # Over the picture only what belongs to it: a caption, or the first download.
        texts = QVBoxLayout(self._canvas)
        texts.setContentsMargins(120, 80, 120, 64)
        texts.addStretch(1)
        texts.addWidget(self.caption)
        texts.addWidget(self.notice)
        texts.addSpacing(24)
        texts.addWidget(self.download_text)
        texts.addWidget(self.download_bar)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self._canvas, 1)
        layout.addWidget(self.band)
        self.set_portrait(False)

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
        self._daypart = QTimer(self)
        self._daypart.setInterval(DAYPART_CHECK_MS)
        self._daypart.timeout.connect(self.refresh_daypart)

    def set_slides(self, slides: list[Slide]) -> None:
        self._slides = slides
        self._failed = set()
        self._running = True
        self._playing = self._decide()
        self._index = self._playing[0] if self._playing else 0
        self._daypart.start()
        self.band.show()
        self.notice.hide()
        self._welcome_title(False)
        self.show_download(None)
        self._show_slide(animate=False)

    def _welcome_title(self, welcome: bool) -> None:
        """The caption as the no-content welcome's large title, or as a slide's caption."""
        self.caption.setProperty("welcome", welcome)
        self.caption.style().unpolish(self.caption)
        self.caption.style().polish(self.caption)

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
        self._playing = ()
        self._running = False
        self._timer.stop()
        self._preload.stop()
        self._daypart.stop()
        self._stop_video()
        self.loop_stopped.emit()
        self._canvas.current = QImage()
        self.caption.setText(tr(self._language, "unavailable.title"))
        self._welcome_title(True)
        self.caption.show()
        self.notice.setText(tr(self._language, "unavailable.body"))
        self.notice.show()
        self.band.hide()  # nothing to invite to, nothing to rate: a calm dark screen
        self._canvas.update()

    def set_portrait(self, portrait: bool) -> None:
        """Landscape: one band across the bottom, the invitation left, the faces and
        "join" right. Portrait: the band stacks them, centred, under the picture."""
        layout = self._band_layout
        if portrait:
            layout.setDirection(QBoxLayout.Direction.TopToBottom)
            layout.setContentsMargins(64, 48, 64, 64)
            layout.setSpacing(36)
            centre = Qt.AlignmentFlag.AlignHCenter
        else:
            layout.setDirection(QBoxLayout.Direction.LeftToRight)
            layout.setContentsMargins(96, 20, 64, 20)
            layout.setSpacing(40)
            centre = Qt.AlignmentFlag.AlignLeft
        for text in (self._invite, self._invite_other):
            text.setAlignment(centre | Qt.AlignmentFlag.AlignVCenter)
            text.setWordWrap(portrait)

    def picture_rect(self) -> QRectF:
        """Where the slide on screen shows, in this screen's coordinates (empty: none)."""
        if self._canvas.current.isNull():
            return QRectF()
        return self._canvas.picture_rect(self._canvas.current).translated(self._canvas.pos())

    def invite_text(self) -> tuple[str, str]:
        """The band's large line and the one under it."""
        return self._invite.text(), self._invite_other.text()

    def _press(self, score: int) -> None:
        self._pressed = score
        self.smiley_pressed.emit(score)

    def show_page(self, page: AttractPage) -> None:
        self._language = page.language
        if self._slides:
            self._show_texts()
        self.join_button.setVisible(page.join is not None)
        self.join_button.setText(page.join or "")
        self.smileys.setVisible(page.smiley_prompt is not None)
        thanked = page.smiley_thanks is not None
        self.smiley_question.setText(page.smiley_thanks or page.smiley_prompt or "")
        if self._slides and thanked != self._thanked:
            self._thanked = thanked
            self._show_invite()
        restyled = (self.smileys, self.smiley_question, self._invite)
        for widget in restyled:
            widget.setProperty("thanked", thanked)
        for widget in restyled:
            widget.style().unpolish(widget)
            widget.style().polish(widget)
        for face in self.faces:
            face.show_choice(self._pressed if thanked else None)

    def start(self) -> None:
        """Resume the loop from the first slide (each new attract period starts fresh)."""
        if self._slides:
            self._running = True
            self._playing = self._decide()
            self._index = self._playing[0] if self._playing else 0
            self._daypart.start()
            self._show_slide(animate=False)

    def stop(self) -> None:
        """A shopper took over: full-screen slides are 8 MB each, so let them go."""
        if self._running:
            self.loop_stopped.emit()
        self._running = False
        self._timer.stop()
        self._preload.stop()
        self._daypart.stop()
        self._fade.stop()
        self._stop_video()
        self._canvas.current = self._canvas.previous = QImage()
        self._images.clear()

    def refresh_daypart(self) -> None:
        """Decide again which entries play now; called every `DAYPART_CHECK_MS`.

        A changed list takes effect at the next change of entry; at once when the
        entry on screen no longer plays, or when it is the only one (it would
        never end: a lone picture or a looping video).
        """
        if not self._slides or not self._running:
            return
        playing = self._decide()
        if playing == self._playing:
            return
        alone = len(self._playing) <= 1
        self._playing = playing
        if self._index not in playing or alone:
            self._next()

    def _decide(self) -> tuple[int, ...]:
        """The slides that play now, as indexes; none when every slide failed to play."""
        candidates = [
            index
            for index, slide in enumerate(self._slides)
            if slide.video is None or slide.video not in self._failed
        ]
        now = self._local_clock()
        chosen = dayparted([self._slides[index] for index in candidates], now)
        # By identity: two equal slides are still two places in the loop.
        chosen_ids = {id(slide) for slide in chosen}
        return tuple(index for index in candidates if id(self._slides[index]) in chosen_ids)

    def _next(self) -> None:
        if not self._running:
            return  # a late signal from a video stopped for a shopper
        self._playing = self._decide()
        if not self._playing:
            return  # nothing left that plays: the last picture stays
        later = [index for index in self._playing if index > self._index]
        following = later[0] if later else self._playing[0]
        if following == self._index and self._slides[following].video is None:
            return  # the one picture that plays is on screen already
        self._index = following
        self._show_slide(animate=True)

    def _show_slide(self, *, animate: bool) -> None:
        if not self._playing:
            return
        slide = self._slides[self._index]
        self._timer.stop()
        self._preload.stop()
        if slide.video is not None:
            self._show_video(slide, slide.video, animate=animate)
            return
        assert slide.image is not None  # a slide is a picture or a video
        self._stop_video()
        self._canvas.previous = self._canvas.current
        self._canvas.current = self._images.get(slide.image, self.BOX)
        self._shown(slide)
        self._show_texts()
        if animate:
            self._fade.start()
        else:
            self._canvas.fade = 1.0
            self._canvas.update()
        self._timer.start(round(slide.seconds * 1000))
        self._preload.start(max(0, round(slide.seconds * 1000) - PRELOAD_LEAD_MS))

    def _show_video(self, slide: Slide, path: Path, *, animate: bool) -> None:
        """Start the video; what is on screen stays until its first frame fades it in."""
        alone = len(self._playing) == 1
        self._awaiting_frame = True
        self._animate = animate
        self._player().play(path, loop=alone or not slide.plays_to_end)
        if not alone and not slide.plays_to_end:
            self._timer.start(round(slide.seconds * 1000))
        self._preload.start(0)  # the next picture, if any, while the video plays

    def _player(self) -> VideoPlayer:
        if self._video is None:
            from kiosk.screens.video import VideoPlayer  # noqa: PLC0415  Qt Multimedia: lazily

            self._video = VideoPlayer(self)
            self._video.frame.connect(self._on_video_frame)
            self._video.ended.connect(self._next)
            # Queued: a failure may be found inside play(), and the handler plays the next.
            self._video.failed.connect(self._on_video_failed, Qt.ConnectionType.QueuedConnection)
        return self._video

    def _shown(self, slide: Slide) -> None:
        if slide.play is not None:
            self.item_shown.emit(slide.play)

    def _stop_video(self) -> None:
        self._awaiting_frame = False
        if self._video is not None:
            self._video.stop()

    def _on_video_frame(self, image: QImage) -> None:
        if not self._running:
            return
        if self._awaiting_frame:
            self._awaiting_frame = False
            self._canvas.previous = self._canvas.current
            self._canvas.current = image
            self._shown(self._slides[self._index])
            self._show_texts()
            if self._animate:
                self._fade.start()
            else:
                self._canvas.fade = 1.0
                self._canvas.update()
            return
        self._canvas.current = image
        self._canvas.update()

    def _on_video_failed(self, path: Path, reason: str) -> None:
        if path in self._failed:
            return
        log.warning("attract video %s skipped: %s", path.name, reason)
        self._failed.add(path)
        self.video_failed.emit(path, reason)
        on_screen = self._slides[self._index] if self._playing and self._running else None
        if on_screen is not None and on_screen.video == path:
            self._awaiting_frame = False
            self._next()

    def _show_texts(self) -> None:
        slide = self._slides[self._index]
        self.caption.setText(slide.caption.get(self._language) if slide.caption else "")
        self.caption.setVisible(slide.caption is not None)
        self._canvas.scrim = slide.caption is not None
        self._show_invite()

    def _show_invite(self) -> None:
        """The invitation in both languages (the shopper has not chosen one yet); a face
        just pressed: the thank-you in its place, as large, for as long as the session
        says (SessionConfig.smiley_thanks; the faces stay pressable all along)."""
        other = Language.EN if self._language is Language.ZH_CN else Language.ZH_CN
        key = "smiley.thanks_feedback" if self._thanked else "attract.invite"
        self._invite.setText(tr(self._language, key))
        self._invite_other.setText(tr(other, key))

    def _preload_next(self) -> None:
        if not self._playing:
            return
        later = [index for index in self._playing if index > self._index]
        upcoming = self._slides[later[0] if later else self._playing[0]]
        if upcoming.image is not None:
            self._images.preload([(upcoming.image, self.BOX)])

    def _faded(self) -> None:
        self._canvas.previous = QImage()  # faded out: no need to hold its 8 MB

    def _on_fade(self, value: object) -> None:
        self._canvas.fade = float(value)  # type: ignore[arg-type]
        self._canvas.update()
