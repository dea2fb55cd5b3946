"""The alert sound: a short two-tone chime, generated as a WAV file and played by Qt.

The chime is made here (no audio asset to ship or license): two sine tones, E6 then
C6, with soft edges so it does not click. `AlertPlayer` is what the app asks to play;
tests pass their own player and count the requests.
"""

from __future__ import annotations

import io
import logging
import math
import struct
import wave
from pathlib import Path
from typing import Final, Protocol

from PySide6.QtCore import QLoggingCategory, QUrl

log = logging.getLogger("kiosk.attendant.sound")

SOUND_FILE: Final = "alert.wav"
RATE: Final = 22_050
TONES: Final = ((1318.5, 0.18), (1046.5, 0.32))  # E6 then C6, seconds: heard over a shop
VOLUME: Final = 0.6
FADE_S: Final = 0.01


class AlertPlayer(Protocol):
    def play(self) -> None: ...


def chime_wav() -> bytes:
    """The chime as a 16-bit mono WAV file."""
    frames = bytearray()
    fade = int(FADE_S * RATE)
    for frequency, seconds in TONES:
        count = int(seconds * RATE)
        for n in range(count):
            edge = min(1.0, n / fade, (count - n) / fade)
            sample = VOLUME * edge * math.sin(2 * math.pi * frequency * n / RATE)
            frames += struct.pack("<h", int(sample * 32767))
    out = io.BytesIO()
    with wave.open(out, "wb") as file:
        file.setnchannels(1)
        file.setsampwidth(2)
        file.setframerate(RATE)
        file.writeframes(bytes(frames))
    return out.getvalue()


class ChimePlayer:
    """QSoundEffect on the chime, written once into `directory`. With no audio device
    Qt plays nothing and says so in its log; the alert still stands out on screen."""

    def __init__(self, directory: Path) -> None:
        path = directory / SOUND_FILE
        wav = chime_wav()
        if not path.exists() or path.read_bytes() != wav:
            path.write_bytes(wav)
        # Qt Multimedia probes PipeWire first and warns when it is missing, at every start of
        # every store PC without it; PulseAudio or ALSA play the chime just as well.
        QLoggingCategory.setFilterRules("qt.multimedia.symbolsresolver.warning=false")
        # Imported here: `kiosk-attendant --help` and the staff subcommands need no audio.
        from PySide6.QtMultimedia import QSoundEffect  # noqa: PLC0415

        self._effect = QSoundEffect()
        self._effect.setSource(QUrl.fromLocalFile(str(path)))
        self._effect.setVolume(1.0)

    def play(self) -> None:
        self._effect.play()
