"""The attract loop's video player: Qt Multimedia's decoder, frames handed over as pictures.

Imported only when a playlist holds a video (`kiosk/screens/attract.py`): Qt
Multimedia and its FFmpeg libraries cost start-up time and memory that a
kiosk showing pictures never needs.

Frames come out of a QVideoSink as QImages, so the attract canvas paints a
video exactly like a picture: covering the screen, cross-faded, under the
same scrim and texts. No audio output is attached: attract videos are muted
(a store plays its own music). A video that cannot be played is reported once
through `failed`, whatever went wrong: Qt's error, media it calls invalid, an
end without a single frame, or no frame within `FIRST_FRAME_MS`.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Final

from PySide6.QtCore import QObject, QTimer, QUrl, Signal
from PySide6.QtMultimedia import QMediaPlayer, QVideoFrame, QVideoSink

log = logging.getLogger("kiosk.screens.video")

# A kiosk's software decoder shows the first frame of a 1080p H.264 video in well
# under a second; nothing after this long means it never will (a stalled decoder
# or media data that only errors quietly).
FIRST_FRAME_MS: Final = 4000


class VideoPlayer(QObject):
    """Plays one video at a time; `frame` for each decoded picture, `ended`, `failed`."""

    frame = Signal(object)  # QImage of the frame now showing
    ended = Signal()  # played to its end (never when looping)
    failed = Signal(object, str)  # the video's Path, why it cannot be played (Qt's words)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._player = QMediaPlayer(self)
        self._sink = QVideoSink(self)
        self._player.setVideoSink(self._sink)
        self._sink.videoFrameChanged.connect(self._on_frame)
        self._player.errorOccurred.connect(self._on_error)
        self._player.mediaStatusChanged.connect(self._on_status)
        self._first_frame = QTimer(self)
        self._first_frame.setSingleShot(True)
        self._first_frame.setInterval(FIRST_FRAME_MS)
        self._first_frame.timeout.connect(lambda: self._fail("no picture from the decoder"))
        self._playing = False  # between play() and stop(), ended or failed
        self._frames = 0
        self._path: Path | None = None

    def play(self, path: Path, *, loop: bool) -> None:
        """Start `path` from its beginning; `loop` plays it again and again without a gap."""
        self._player.stop()
        self._playing = True
        self._frames = 0
        self._path = path
        infinite = QMediaPlayer.Loops.Infinite.value
        self._player.setLoops(infinite if loop else QMediaPlayer.Loops.Once.value)
        self._player.setSource(QUrl.fromLocalFile(str(path)))
        self._first_frame.start()
        self._player.play()

    def stop(self) -> None:
        """Stop and let the decoder and its buffers go."""
        self._playing = False
        self._first_frame.stop()
        self._player.stop()
        self._player.setSource(QUrl())

    @property
    def frames(self) -> int:
        """Frames shown since the last `play` (for tests and diagnostics)."""
        return self._frames

    def _on_frame(self, frame: QVideoFrame) -> None:
        # At the end of the media (and on stop) the sink is handed an empty frame:
        # keep the last picture rather than paint black.
        if not self._playing or not frame.isValid():
            return
        image = frame.toImage()
        if image.isNull():
            return
        self._frames += 1
        self._first_frame.stop()
        self.frame.emit(image)

    def _on_error(self, error: QMediaPlayer.Error, message: str) -> None:
        if error != QMediaPlayer.Error.NoError:
            self._fail(message or error.name)

    def _on_status(self, status: QMediaPlayer.MediaStatus) -> None:
        if not self._playing:
            return
        if status == QMediaPlayer.MediaStatus.InvalidMedia:
            self._fail(self._player.errorString() or "invalid media")
        elif status == QMediaPlayer.MediaStatus.EndOfMedia:
            if self._frames == 0:
                self._fail(self._player.errorString() or "no frame could be decoded")
            else:
                self._playing = False
                self.ended.emit()

    def _fail(self, reason: str) -> None:
        if not self._playing or self._path is None:
            return  # one report per play, however many ways it fails
        self.stop()
        self.failed.emit(self._path, reason)
