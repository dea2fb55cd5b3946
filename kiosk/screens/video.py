"""The attract loop's video player: Qt Multimedia's decoder, frames handed over as pictures.

Imported only when a playlist holds a video (`kiosk/screens/attract.py`): Qt
Multimedia and its FFmpeg libraries cost start-up time and memory that a
kiosk showing pictures never needs.

Frames come out of a QVideoSink as QImages, so the attract canvas paints a
video exactly like a picture: covering the screen, cross-faded, under the
same scrim and texts. No audio output is attached: attract videos are muted
(a store plays its own music). A video that cannot be played is reported once
through `failed`, whatever went wrong: Qt's error, media it calls invalid, an
end without a single frame, no frame within `FIRST_FRAME_MS`, or none for
`STALL_MS` after that (a loop must never hang on a frozen video).
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
# Signage video runs at a constant 25-60 frames a second; a still part is still
# encoded as frames. Ten seconds without one is a decoder that stopped.
STALL_MS: Final = 10_000


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
        self._watchdog = QTimer(self)  # no frame in time: the video cannot be played
        self._watchdog.setSingleShot(True)
        self._watchdog.timeout.connect(self._on_silence)
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
        self._watchdog.start(FIRST_FRAME_MS)
        self._player.play()

    def stop(self) -> None:
        """Stop and let the decoder and its buffers go."""
        self._playing = False
        self._watchdog.stop()
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
        # Frames are decoded on Qt's thread and queued to this one. When the GUI
        # thread was busy (a product screen drawn), several wait: convert only the
        # newest, so a slow moment drops frames instead of piling them up (each
        # queued frame holds a decoded picture; converting each costs ~10 ms).
        if frame != self._sink.videoFrame():
            return
        image = frame.toImage()
        if image.isNull():
            return
        self._frames += 1
        self._watchdog.start(STALL_MS)
        self.frame.emit(image)

    def _on_silence(self) -> None:
        self._fail("the decoder stopped" if self._frames else "no picture from the decoder")

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
                self._watchdog.stop()
                self.ended.emit()

    def _fail(self, reason: str) -> None:
        if not self._playing or self._path is None:
            return  # one report per play, however many ways it fails
        self.stop()
        self.failed.emit(self._path, reason)
