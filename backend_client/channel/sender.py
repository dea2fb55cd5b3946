"""The kiosk's side of the channel hand-off: messages kept until the server child wrote them.

The GUI thread (and the relay's thread) `put` messages; each becomes a line for the
server child's stdin (intake.py) and stays here until the child says it wrote it
(`written`, from the child's `channel wrote <id>` line). A child that starts, or
starts again after a kill -9, says it is `ready`: everything not yet acknowledged
goes to it, and it skips what it wrote before. So a message put before the child is
up, or while it restarts, reaches the window once, in order.

`put` never blocks and touches no file: it encodes the line and writes it to the pipe
(the supervisor's write never blocks). At most WINDOW_BYTES of lines are sent and not
yet acknowledged, so the pipe (64 KiB on Linux) never fills and no line is cut; the
rest wait here and go as acknowledgements come. Lines sent that get no answer within
RESEND_S (a line lost on its way, a child stuck) are sent again.

While nobody takes them, at most MAX_QUEUED messages wait here: over that the oldest
that is not an alert goes (logged once per kind, since the data may be personal), and
only the newest unsent heartbeat is kept. A thread here sends a heartbeat every
HEARTBEAT_S, so attendants hear from the kiosk's own process that it is alive.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from backend_client.channel import intake

_log = logging.getLogger("backend_client.channel.sender")

HEARTBEAT_S: Final = 5.0  # as often as the server's keepalive: the docs' "every 5 s"
MAX_QUEUED: Final = 10_000
"""Messages waiting for the server child; beyond that (a child down for hours) the oldest
go rather than let the kiosk's memory grow."""
WINDOW_BYTES: Final = 32_768
"""Lines sent and not yet acknowledged: with one more line (intake.MAX_LINE_BYTES) still
under the pipe's 64 KiB, so a write never finds the pipe full."""
RESEND_S: Final = 2.0  # a child appends a batch in milliseconds: this long silent, send again
_TICK_S: Final = 0.5  # how often the thread looks for a silence to resend after


@dataclass(slots=True)
class _Line:
    id: int
    kind: str
    alert: bool
    body: bytes
    wire: int = 0  # the bytes of the line as last sent (body, ids and sender)


def _wall_clock() -> datetime:
    return datetime.now(UTC)


def _nowhere(_data: bytes) -> None:
    pass


class ChannelSender:
    """Messages for the channel server child, kept until it wrote them."""

    def __init__(
        self,
        *,
        heartbeat_s: float = HEARTBEAT_S,
        resend_s: float = RESEND_S,
        max_queued: int = MAX_QUEUED,
        uptime: Callable[[], float] | None = None,
        clock: Callable[[], datetime] = _wall_clock,
    ) -> None:
        """`uptime` gives the heartbeat's uptime in seconds (default: since this was made)."""
        self._sender = secrets.token_hex(8)  # ids restart with the process: this tells them apart
        self._heartbeat_s, self._resend_s, self._max_queued = heartbeat_s, resend_s, max_queued
        started = time.monotonic()
        self._uptime = uptime or (lambda: time.monotonic() - started)
        self._clock = clock
        self._write: Callable[[bytes], None] = _nowhere
        self._child_up = False  # from its READY line to its end: lines sent before would be lost
        self._lock = threading.Condition()
        self._pending: deque[_Line] = deque()
        self._sent = 0  # how many of _pending (always its first ones) went to the child
        self._sent_bytes = 0
        self._sent_upto = 0  # the id of the last line sent: the next one's prev
        self._acknowledged = 0
        self._quiet_since = time.monotonic()  # the last acknowledgement or (re)send
        self._last_beat: _Line | None = None
        self._next_id = 1
        self._dropped: dict[str, int] = {}
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self.written_count = 0
        """Messages the child said it wrote (or skipped as written before)."""

    def connect(self, write: Callable[[bytes], None]) -> None:
        """Where lines go: the server child's stdin (a write that never blocks)."""
        with self._lock:
            self._write = write

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError("a ChannelSender starts once")
        self._thread = threading.Thread(target=self._run, name="channel-sender", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 2.0) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout)

    @property
    def waiting(self) -> int:
        """Messages not yet acknowledged by the child."""
        with self._lock:
            return len(self._pending)

    def put(self, kind: str, data: Any, *, at: datetime | None = None, alert: bool = False) -> None:
        """Hand one message on (any thread; never blocks). `data`: the kind's model or a dict."""
        try:
            body = intake.body(kind, data, at or self._clock(), alert)
        except (TypeError, ValueError):  # not JSON: the text may quote the data
            _log.warning("a %s message cannot be encoded; not sent", kind)
            return
        if len(body) > intake.MAX_LINE_BYTES - 64:
            _log.warning("a %s message of %d bytes is too big; not sent", kind, len(body))
            return
        with self._lock:
            line = _Line(self._next_id, kind, alert, body)
            self._next_id += 1
            if kind == "heartbeat":
                self._forget_unsent_beat()
                self._last_beat = line
            self._pending.append(line)
            if len(self._pending) > self._max_queued:
                self._drop_oldest()
            self._send_more()

    def ready(self) -> None:
        """A child reads its stdin now (its READY line): send it everything not acknowledged."""
        with self._lock:
            self._child_up = True
            self._resend()

    def gone(self) -> None:
        """The child ended: keep everything for the next one."""
        with self._lock:
            self._child_up = False
            self._sent, self._sent_bytes = 0, 0

    def written(self, last: int) -> None:
        """The child wrote (or had written) every message up to id `last`."""
        with self._lock:
            if last <= self._acknowledged:
                return
            self._acknowledged = last
            while self._pending and self._pending[0].id <= last:
                line = self._pending.popleft()
                self.written_count += 1
                if self._sent:
                    self._sent -= 1
                    self._sent_bytes -= line.wire
            self._quiet_since = time.monotonic()
            if not self._pending:
                self._caught_up()
                self._lock.notify_all()
            self._send_more()

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait until the child wrote everything put so far; False if it did not in `timeout`."""
        with self._lock:
            return self._lock.wait_for(lambda: not self._pending, timeout)

    # --- under the lock --------------------------------------------------------------

    def _send_more(self) -> None:
        if not self._child_up:
            return
        while self._sent < len(self._pending) and self._sent_bytes < WINDOW_BYTES:
            line = self._pending[self._sent]
            if not self._sent:
                self._quiet_since = time.monotonic()  # nothing was waiting for an answer
            wire = intake.line(self._sender, line.id, self._sent_upto, line.body)
            self._write(wire)
            line.wire = len(wire)
            self._sent += 1
            self._sent_bytes += line.wire
            self._sent_upto = line.id

    def _resend(self) -> None:
        if not self._child_up:
            return
        self._sent, self._sent_bytes = 0, 0
        self._sent_upto = self._acknowledged  # what the child has is all it needs first
        self._send_more()

    def _forget_unsent_beat(self) -> None:
        # A heartbeat nobody took yet says less than the one about to be put.
        beat = self._last_beat
        if beat is None:
            return
        for index in range(len(self._pending) - 1, self._sent - 1, -1):
            if self._pending[index] is beat:
                del self._pending[index]
                return

    def _drop_oldest(self) -> None:
        victim = next(
            (index for index, line in enumerate(self._pending) if not line.alert), 0
        )  # all alerts: the oldest alert
        line = self._pending[victim]
        del self._pending[victim]
        if victim < self._sent:
            self._sent -= 1
            self._sent_bytes -= line.wire
        count = self._dropped.get(line.kind, 0)
        if count == 0:
            _log.warning(
                "channel server not taking messages: over %d waiting, dropping the oldest %s",
                self._max_queued,
                line.kind,
            )
        self._dropped[line.kind] = count + 1

    def _caught_up(self) -> None:
        if self._dropped:
            _log.info(
                "channel server caught up; dropped meanwhile: %s",
                ", ".join(f"{count} {kind}" for kind, count in sorted(self._dropped.items())),
            )
            self._dropped = {}

    # --- the thread ------------------------------------------------------------------

    def _run(self) -> None:
        next_beat = time.monotonic()
        while not self._stopping.is_set():
            now = time.monotonic()
            if now >= next_beat:
                self.put("heartbeat", {"uptime_s": max(0, int(self._uptime()))})
                next_beat = now + self._heartbeat_s
            with self._lock:
                if self._sent and time.monotonic() - self._quiet_since >= self._resend_s:
                    self._resend()
            self._stopping.wait(min(_TICK_S, self._resend_s / 2, max(0.0, next_beat - now)))
