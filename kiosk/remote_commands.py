"""The screen's part of HQ's remote commands: screenshot, identify, restart.

The relay child verifies each command (backend_client/command_runner.py: HQ's
signature, this kiosk, not expired, never run before); only verified ones reach
this process, as `ScreenCommand`s on the data link's thread. They are carried out
on the GUI thread (a queued signal), and answered with `ScreenDone`:

- screenshot: the window grabs itself (what the shopper sees, at the window's size);
  the PNG is encoded on a thread of its own (about 0.1 s for a full-HD window), not
  on the GUI thread;
- identify: a card naming the kiosk and its store (kiosk/screens/identify.py);
- restart: the kiosk exits with RESTART_EXIT, as the maintenance screen's restart
  does, and its supervisor starts it again (the child has reported it first); with a
  shopper at the screen it waits until the session is back on the attract loop
  (sessions end by themselves when the shopper walks away).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QObject, Qt, Signal
from PySide6.QtGui import QImage, QImageWriter
from PySide6.QtWidgets import QWidget

from backend_client.data_link import DataLink, ScreenCommand, ScreenDone

_log = logging.getLogger("kiosk.remote_commands")


class RemoteCommands(QObject):
    """Serves the screen's commands from `link` for `window` (made on the GUI thread)."""

    _arrived = Signal(object)

    def __init__(
        self,
        window: QWidget,
        link: DataLink,
        *,
        restart: Callable[[], None],
        identity: Callable[[], tuple[str, str] | None],
        free: Callable[[], bool] = lambda: True,
    ) -> None:
        """`identity`: (kiosk id, store id), None before enrolment; `free`: no shopper at
        the screen now (call `session_changed` when that may have changed)."""
        super().__init__(window)
        self._window = window
        self._link = link
        self._restart = restart
        self._identity = identity
        self._free = free
        self._restart_wanted = False
        self._arrived.connect(self._run, Qt.ConnectionType.QueuedConnection)
        link.serve_screen_commands(self._arrived.emit)

    def _run(self, command: ScreenCommand) -> None:
        try:
            match command.kind:
                case "screenshot":
                    self._screenshot(command.command_id)
                case "identify":
                    self._identify(command.command_id)
                case "restart":
                    self._restart_wanted = True
                    if not self._restart_when_free():
                        _log.info("HQ asked for a restart: held until the shopper is done")
                case _:
                    self._answer(command.command_id, False, "not a screen command")
        except Exception:  # never to the shopper's screen: HQ hears it failed
            _log.exception("HQ command %s failed on the screen", command.kind)
            self._answer(command.command_id, False, "the screen could not carry it out")

    def session_changed(self, _state: object = None) -> None:
        """The shopper's session changed (GUI thread): a held restart may go now."""
        if self._restart_wanted:
            self._restart_when_free()

    def _restart_when_free(self) -> bool:
        if not self._free():
            return False
        _log.info("HQ asked for a restart: exiting for the supervisor")
        self._restart_wanted = False
        self._restart()
        return True

    def _screenshot(self, command_id: str) -> None:
        image = self._window.grab().toImage()  # QPixmap: GUI thread only; QImage is not

        def encode() -> None:
            try:
                png = encode_png(image)
            except Exception:  # HQ hears it failed; the shopper sees nothing of it
                _log.exception("a screenshot could not be encoded")
                png = None
            if png is None:
                self._answer(command_id, False, "the screenshot could not be encoded")
            else:
                self._answer(command_id, True, f"{image.width()}x{image.height()} PNG", png)

        threading.Thread(target=encode, name="screenshot-png", daemon=True).start()

    def _identify(self, command_id: str) -> None:
        identity = self._identity()
        if identity is None:
            self._answer(command_id, False, "this kiosk is not enrolled")
            return
        from kiosk.screens.identify import IDENTIFY_S, IdentifyCard  # noqa: PLC0415 - rare

        IdentifyCard(self._window, *identity)
        self._answer(command_id, True, f"shown for {IDENTIFY_S:.0f} s")

    def _answer(self, command_id: str, ok: bool, detail: str, data: bytes | None = None) -> None:
        self._link.screen_done(ScreenDone(command_id, ok, detail, data))


def encode_png(image: QImage) -> bytes | None:
    """`image` as PNG bytes (any thread: QImage and QBuffer are reentrant)."""
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    ok = QImageWriter(buffer, QByteArray(b"png")).write(image)
    buffer.close()
    return bytes(data.data()) if ok else None
