"""The kiosk's side of systemd's service protocol (sd_notify(3)): READY=1 once the attract
screen is painted, then WATCHDOG=1 from a timer on the GUI thread, so a frozen screen stops
the pings and systemd restarts the kiosk (deploy/kiosk.service: Type=notify, WatchdogSec).

The protocol is one datagram per message to the AF_UNIX socket named by $NOTIFY_SOCKET;
it is written out here (as systemd's own docs show) rather than taken from a library: the
pure-Python `sdnotify` has not been maintained since 2017, and `systemd-python` is a C
extension to build against libsystemd on every kiosk. Without $NOTIFY_SOCKET (not under
systemd) nothing is sent and no timer runs.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable, MutableMapping
from typing import Final

from PySide6.QtCore import QObject, QTimer, SignalInstance

log = logging.getLogger("kiosk.watchdog")

# Pings four times per watchdog period (systemd advises at least two): one late timer tick
# on a busy GUI thread must not cost a restart; a frozen thread misses them all.
PINGS_PER_PERIOD: Final = 4
# Unset once read, as sd_notify(3)'s unset_environment does: what the kiosk starts from
# then on (a restarted relay child, the channel server) never speaks for the service.
SERVICE_VARIABLES: Final = ("NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID")


def ping_interval_ms(watchdog_usec: str | None) -> int | None:
    """How often to ping for $WATCHDOG_USEC (the unit's WatchdogSec), None if it is off."""
    try:
        usec = int(watchdog_usec or "")
    except ValueError:
        return None
    if usec <= 0:
        return None
    return max(1, usec // 1000 // PINGS_PER_PERIOD)


def socket_address(notify_socket: str) -> str:
    """A path, or an abstract socket ('@name' stands for a leading NUL byte)."""
    return "\0" + notify_socket[1:] if notify_socket.startswith("@") else notify_socket


class ServiceNotifier:
    """Sends sd_notify messages; a failed send is logged once and never raised."""

    def __init__(self, notify_socket: str) -> None:
        self._address = socket_address(notify_socket)
        self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
        self._failing = False

    def send(self, message: str) -> None:
        try:
            self._socket.sendto(message.encode(), self._address)
        except OSError as error:
            if not self._failing:
                log.warning("cannot notify systemd (%s); the watchdog may restart the kiosk", error)
            self._failing = True
        else:
            if self._failing:
                log.info("notifying systemd again")
            self._failing = False

    def close(self) -> None:
        self._socket.close()


def start(
    parent: QObject,
    first_paint: SignalInstance,
    environ: MutableMapping[str, str] = os.environ,
) -> Callable[[], None] | None:
    """Under systemd: READY=1 and the watchdog's pings from the first paint (the attract
    screen, with or without content) on. Returns what to call on the way out (STOPPING=1)."""
    notify_socket = environ.get("NOTIFY_SOCKET")
    interval = ping_interval_ms(environ.get("WATCHDOG_USEC"))
    for name in SERVICE_VARIABLES:
        environ.pop(name, None)
    if not notify_socket:
        return None
    notifier = ServiceNotifier(notify_socket)
    timer = QTimer(parent)  # the GUI thread's: a frozen event loop sends nothing
    timer.timeout.connect(lambda: notifier.send("WATCHDOG=1"))

    def ready(view: str, _mono: float) -> None:
        first_paint.disconnect(ready)
        notifier.send(f"READY=1\nSTATUS=showing {view}")
        if interval is not None:
            timer.start(interval)

    first_paint.connect(ready)

    def stopping() -> None:
        timer.stop()
        notifier.send("STOPPING=1")
        notifier.close()

    return stopping
