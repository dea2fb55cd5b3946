"""What both Qt apps (the kiosk and the attendant app) install at start: log and keep
serving, and quit cleanly on SIGTERM or SIGINT."""

from __future__ import annotations

import faulthandler
import logging
import signal
import socket
import sys
from collections.abc import Callable
from types import TracebackType

from PySide6.QtCore import QSocketNotifier
from PySide6.QtWidgets import QApplication


def install_crash_handlers(
    app: QApplication, log: logging.Logger, who: str
) -> tuple[socket.socket, socket.socket]:
    """An exception in a slot is logged and never takes the screen down (`who` names the
    app in the log line). Returns the signal socket pair: keep it open while the app runs."""
    faulthandler.enable()

    def excepthook(
        kind: type[BaseException], value: BaseException, tb: TracebackType | None
    ) -> None:
        log.critical("unhandled exception; %s keeps running", who, exc_info=(kind, value, tb))

    sys.excepthook = excepthook

    # SIGTERM/SIGINT reach Python only when it runs; a socket pair wakes the Qt loop.
    reader, writer = socket.socketpair()
    writer.setblocking(False)
    signal.set_wakeup_fd(writer.fileno())
    notifier = QSocketNotifier(reader.fileno(), QSocketNotifier.Type.Read, app)

    def on_signal() -> None:
        reader.recv(64)
        app.quit()

    notifier.activated.connect(on_signal)
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: None)
    return reader, writer


def notify_exceptions(on_exception: Callable[[type[BaseException]], None]) -> None:
    """Also tell `on_exception` the type of each exception the crash handler logs (for
    HQ's heartbeat: kiosk/health_report.py). Call after `install_crash_handlers`."""
    logged = sys.excepthook

    def excepthook(
        kind: type[BaseException], value: BaseException, tb: TracebackType | None
    ) -> None:
        logged(kind, value, tb)
        on_exception(kind)

    sys.excepthook = excepthook
