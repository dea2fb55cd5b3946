"""The kiosk's channel writer: a thread that appends messages to the window file.

The GUI thread only puts messages on a queue (`put` never blocks and never touches
SQLite); this thread owns the one Window instance, appends each message (a durable
SQLite transaction, see window.py, which also prunes every 1,000 appends) and
appends a heartbeat every HEARTBEAT_S so attendants can tell a quiet kiosk from a
dead one. The channel server, another process, serves what lands in the file.

A message that cannot be written is lost, logged once by kind (its data may be
personal): the channel is the live view; the outbox keeps the record.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

from backend_client.channel.window import WINDOW_FILE, Window, WindowError

_log = logging.getLogger("backend_client.channel.writer")

HEARTBEAT_S: Final = 5.0  # as often as the server's keepalive: the docs' "every 5 s"
MAX_QUEUED: Final = 10_000
"""Messages waiting for the disk; beyond that (a disk stuck for minutes) new ones are
dropped rather than let the kiosk's memory grow."""
_STOP_TIMEOUT: Final = 5.0


@dataclass(frozen=True, slots=True)
class _Message:
    kind: str
    data: Any
    at: datetime
    alert: bool


@dataclass(frozen=True, slots=True)
class _Flush:
    done: threading.Event


def _wall_clock() -> datetime:
    return datetime.now(UTC)


class ChannelWriter:
    """Appends to `<data_dir>/channel.sqlite` for kiosk `kiosk` of store `store`."""

    def __init__(
        self,
        data_dir: Path,
        *,
        store: str,
        kiosk: str,
        heartbeat_s: float = HEARTBEAT_S,
        uptime: Callable[[], float] | None = None,
        clock: Callable[[], datetime] = _wall_clock,
        open_window: Callable[[Path, str, str], Window] | None = None,
    ) -> None:
        """`uptime` gives the heartbeat's uptime in seconds (default: since start);
        `open_window` lets a test watch the appends (default: Window)."""
        self._path = data_dir / WINDOW_FILE
        self._store, self._kiosk = store, kiosk
        self._heartbeat_s = heartbeat_s
        started = time.monotonic()
        self._uptime = uptime or (lambda: time.monotonic() - started)
        self._clock = clock
        self._open = open_window or (lambda path, s, k: Window(path, store=s, kiosk=k))
        self._queue: queue.Queue[_Message | _Flush | None] = queue.Queue(MAX_QUEUED)
        self._thread: threading.Thread | None = None
        self._dropped = 0
        self._failing = False
        self.written = 0
        """Messages appended so far (heartbeats included)."""

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError("a ChannelWriter starts once")
        self._thread = threading.Thread(target=self._run, name="channel-writer", daemon=True)
        self._thread.start()

    def put(self, kind: str, data: Any, *, at: datetime | None = None, alert: bool = False) -> None:
        """Queue one message (any thread; never blocks). `data`: the kind's model or a dict."""
        try:
            self._queue.put_nowait(_Message(kind, data, at or self._clock(), alert))
        except queue.Full:
            self._dropped += 1
            if self._dropped == 1:
                _log.warning("channel writer behind by %d messages; dropping new ones", MAX_QUEUED)

    def stop(self, timeout: float = _STOP_TIMEOUT) -> bool:
        """Write what is queued, then stop; False if the thread is still busy after `timeout`."""
        thread = self._thread
        if thread is None:
            return True
        self._queue.put(None)  # behind everything queued: all of it is written first
        thread.join(timeout)
        return not thread.is_alive()

    def flush(self, timeout: float = _STOP_TIMEOUT) -> bool:
        """Wait until everything queued so far is written (for tests and benches)."""
        done = threading.Event()
        try:
            self._queue.put(_Flush(done), timeout=timeout)
        except queue.Full:
            return False
        return done.wait(timeout)

    # --- the writer thread ---------------------------------------------------------

    def _run(self) -> None:
        try:
            window = self._open(self._path, self._store, self._kiosk)
        except Exception:
            _log.exception("cannot open the channel window; the store channel is silent")
            return
        try:
            window.prune(now=self._clock())  # a kiosk restarted often never reaches 1,000
            self._loop(window)
        except Exception:
            _log.exception("channel window unusable; the store channel is silent")
        finally:
            window.close()

    def _loop(self, window: Window) -> None:
        next_beat = time.monotonic()
        while True:
            wait = next_beat - time.monotonic()
            if wait <= 0:
                self._append(window, "heartbeat", {"uptime_s": int(self._uptime())}, self._clock())
                next_beat = time.monotonic() + self._heartbeat_s
                continue
            try:
                message = self._queue.get(timeout=wait)
            except queue.Empty:
                continue
            if message is None:
                return
            if isinstance(message, _Flush):
                message.done.set()
                continue
            self._append(window, message.kind, message.data, message.at, message.alert)

    def _append(
        self, window: Window, kind: str, data: Any, at: datetime, alert: bool = False
    ) -> None:
        try:
            window.append(kind, data, at=at, alert=alert)
        except WindowError:
            _log.warning("a %s message was refused by the window; not sent", kind)
            return
        except Exception as exc:  # a full disk, a locked file: log once, keep going
            if not self._failing:
                self._failing = True
                _log.warning("channel window not writable (%s); messages lost", type(exc).__name__)
            return
        self.written += 1
        if self._failing:
            self._failing = False
            _log.info("channel window writable again")
