"""The attendant's side of the store channel: follow every kiosk of the store. No Qt.

One thread per kiosk endpoint reads its event stream (requests, streamed), opens
each frame with the store's keys, and hands messages to `on_message` in seq order,
each once. It remembers the last seq per kiosk and resumes with `after=N` when a
connection drops or the kiosk restarts; a caller that restarts passes the last
seqs it had shown (`resume`) and catches up from there.

A kiosk that sends garbage, frames over MAX_FRAME_BYTES, frames that do not open
with the store's keys, seqs out of order, or more than the flood allowance is
reported FAULTY through `on_status`; its connection is dropped and tried again
later (FAULT_BACKOFF_S), and the other kiosks' threads never notice.
"""

from __future__ import annotations

import contextlib
import enum
import logging
import random
import socket
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Final

import requests

from backend_client.channel.keys import FrameError, StoreKeys
from backend_client.channel.messages import ChannelMessage
from backend_client.channel.serve import KEEPALIVE_S, PATH

_log = logging.getLogger("backend_client.channel.client")

MAX_FRAME_BYTES: Final = 65_536
"""Longest line accepted from a kiosk. A sealed message is well under 25 KiB (its data is
at most window.MAX_DATA_BYTES); a longer line is a broken or hostile kiosk."""
FLOOD_RATE: Final = 15_000.0
FLOOD_BURST: Final = 600_000
"""Lines per second a kiosk may send on average, and in one burst (a message is three
lines). A kiosk sends a few messages a second, but catching up after a night away sends
its whole window (100,000 messages and more) as fast as the client takes it (about
12,000 a second, bench/store_channel.py): that must never look like a flood. Frames only
a store-key holder can make pass this far, so what this catches is a kiosk of our own
store gone mad, within half a minute at the client's full speed."""
_CHATTER: Final = (20.0, 200)
"""Comment and empty lines (keepalives, one every 5 s) per second and per burst: anyone
can send those, so the allowance is tight."""
_READ_BYTES: Final = 65_536
BACKOFF_S: Final = (0.2, 5.0)
FAULT_BACKOFF_S: Final = 10.0  # a faulty kiosk is not worth a tight loop
READ_TIMEOUT_S: Final = 3 * KEEPALIVE_S  # three missed keepalives: the kiosk is gone


class KioskState(enum.Enum):
    CONNECTING = "connecting"
    LIVE = "live"
    DOWN = "down"  # unreachable or connection dropped: retried
    REFUSED = "refused"  # the kiosk refused our proof: not this store's key (or clock skew)
    FAULTY = "faulty"  # the kiosk sent something no good kiosk sends


@dataclass(frozen=True, slots=True)
class KioskEndpoint:
    kiosk: str
    url: str  # http://host:port


@dataclass(frozen=True, slots=True)
class KioskStatus:
    kiosk: str
    state: KioskState
    reason: str = ""


def _socket_of(response: requests.Response) -> socket.socket | None:
    """The socket under a streamed response, so that stop() can wake its reader: closing
    the response from another thread waits for the reader's lock instead, and a socket
    another thread is in recv() on is woken by shutdown() only. http.client lets go of
    the connection's socket for a stream that ends at close, hence the second path."""
    raw = response.raw
    sock = getattr(getattr(raw, "connection", None), "sock", None)
    if sock is None:
        sock = getattr(
            getattr(getattr(getattr(raw, "_fp", None), "fp", None), "raw", None), "_sock", None
        )
    return sock if isinstance(sock, socket.socket) else None


class _Fault(Exception):
    pass


class _Lines:
    """Splits a byte stream into lines, refusing any line longer than `limit`."""

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._buffer = bytearray()

    def feed(self, chunk: bytes) -> Iterator[bytes]:
        self._buffer += chunk
        start = 0
        while (end := self._buffer.find(b"\n", start)) >= 0:
            if end - start > self._limit:
                raise _Fault(f"a frame over {self._limit} bytes")
            yield bytes(self._buffer[start:end]).rstrip(b"\r")
            start = end + 1
        del self._buffer[:start]
        if len(self._buffer) > self._limit:
            raise _Fault(f"a frame over {self._limit} bytes")


class _Bucket:
    """Token bucket on a monotonic clock: False once a kiosk sends faster than allowed."""

    def __init__(self, rate: float, burst: int, now: float) -> None:
        self._rate, self._burst = rate, burst
        self._tokens, self._at = float(burst), now

    def take(self, now: float) -> bool:
        self._tokens = min(self._burst, self._tokens + (now - self._at) * self._rate)
        self._at = now
        self._tokens -= 1
        return self._tokens >= 0


class ChannelClient:
    """Follows `endpoints` on threads of its own; `start()`, then `stop()`."""

    def __init__(
        self,
        endpoints: Sequence[KioskEndpoint],
        keys: StoreKeys,
        on_message: Callable[[ChannelMessage], None],
        on_status: Callable[[KioskStatus], None],
        *,
        resume: Mapping[str, int] | None = None,
        max_frame: int = MAX_FRAME_BYTES,
        flood: tuple[float, int] = (FLOOD_RATE, FLOOD_BURST),
        backoff: tuple[float, float] = BACKOFF_S,
        fault_backoff: float = FAULT_BACKOFF_S,
    ) -> None:
        self._endpoints = list(endpoints)
        self._keys = keys
        self._on_message, self._on_status = on_message, on_status
        self._last = {endpoint.kiosk: 0 for endpoint in self._endpoints}
        self._resume = dict(resume or {})
        self._last.update(self._resume)
        self._started = False
        self._max_frame, self._flood = max_frame, flood
        self._backoff, self._fault_backoff = backoff, fault_backoff
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._sockets: dict[str, socket.socket | None] = {}
        self._threads: list[threading.Thread] = []
        self._shown: dict[str, KioskState] = {}  # each written by its kiosk's thread only

    def start(self) -> None:
        with self._lock:
            self._started = True
            for endpoint in self._endpoints:
                self._spawn(endpoint)

    def add(self, endpoint: KioskEndpoint) -> bool:
        """Follow one more kiosk (found by discovery); from any thread. A kiosk already
        followed keeps its endpoint (configured ones win). True if it was new."""
        with self._lock:
            if endpoint.kiosk in self._last or self._stopping.is_set():
                return False
            self._endpoints.append(endpoint)
            self._last[endpoint.kiosk] = self._resume.get(endpoint.kiosk, 0)
            if self._started:
                self._spawn(endpoint)
            return True

    def _spawn(self, endpoint: KioskEndpoint) -> None:
        thread = threading.Thread(
            target=self._follow, args=(endpoint,), name=f"channel-{endpoint.kiosk}", daemon=True
        )
        self._threads.append(thread)
        thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stopping.set()
        with self._lock:
            sockets = [sock for sock in self._sockets.values() if sock is not None]
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        with self._lock:
            threads = list(self._threads)
        for thread in threads:
            thread.join(timeout)

    def last_seq(self, kiosk: str) -> int:
        return self._last[kiosk]

    def endpoint(self, kiosk: str) -> KioskEndpoint | None:
        """Where `kiosk` is followed (for commands to it), or None if it is not."""
        with self._lock:
            return next((e for e in self._endpoints if e.kiosk == kiosk), None)

    def states(self) -> dict[str, KioskState]:
        """Every followed kiosk's state as last reported (connecting before the first report)."""
        with self._lock:
            return {
                endpoint.kiosk: self._shown.get(endpoint.kiosk, KioskState.CONNECTING)
                for endpoint in self._endpoints
            }

    # -- one thread per kiosk -------------------------------------------------

    def _follow(self, endpoint: KioskEndpoint) -> None:
        delay = self._backoff[0]
        with requests.Session() as session:
            while not self._stopping.is_set():
                self._set(endpoint.kiosk, KioskState.CONNECTING)
                try:
                    state, reason = self._connect(session, endpoint)
                except _Fault as fault:
                    state, reason = KioskState.FAULTY, str(fault)
                except Exception as error:
                    if self._stopping.is_set():
                        return  # stop() closed the stream under the reader
                    # Whatever a stream can throw (requests', urllib3's, a socket's): this thread
                    # is the kiosk's only follower, so it reports and tries again, never dies.
                    state, reason = KioskState.DOWN, type(error).__name__
                if self._stopping.is_set():
                    return
                if self._shown.get(endpoint.kiosk) is KioskState.LIVE:
                    delay = self._backoff[0]  # it worked until now: try again soon
                self._set(endpoint.kiosk, state, reason)
                pause = self._fault_backoff if state is KioskState.FAULTY else delay
                delay = min(self._backoff[1], delay * 2)
                self._stopping.wait(pause * random.uniform(0.8, 1.2))

    def _connect(
        self, session: requests.Session, endpoint: KioskEndpoint
    ) -> tuple[KioskState, str]:
        after = self._last[endpoint.kiosk]
        response = session.get(
            endpoint.url.rstrip("/") + PATH,
            params={"after": str(after)},
            headers=self._keys.prove(PATH, after, time.time()),
            stream=True,
            timeout=(3.0, READ_TIMEOUT_S),
        )
        with self._lock:
            self._sockets[endpoint.kiosk] = _socket_of(response)
        if self._stopping.is_set():  # stop() came between the request and the line above
            response.close()
            return KioskState.DOWN, "stopping"
        try:
            if response.status_code == 401:
                return KioskState.REFUSED, "the kiosk refused this store key"
            if response.status_code != 200:
                return KioskState.DOWN, f"HTTP {response.status_code}"
            self._set(endpoint.kiosk, KioskState.LIVE)
            self._read(response, endpoint)
            return KioskState.DOWN, "stream ended"
        finally:
            with self._lock:
                self._sockets.pop(endpoint.kiosk, None)
            response.close()

    def _read(self, response: requests.Response, endpoint: KioskEndpoint) -> None:
        lines = _Lines(self._max_frame)
        now = time.monotonic()
        lines_allowed, chatter_allowed = _Bucket(*self._flood, now), _Bucket(*_CHATTER, now)
        data: bytes | None = None
        # read1: whatever has arrived, chunked or not (iter_content would wait to fill its
        # chunk size, or for the end of a stream that has no chunks).
        while chunk := response.raw.read1(_READ_BYTES):
            for line in lines.feed(chunk):
                if self._stopping.is_set():
                    return
                now = time.monotonic()
                chatter = line.startswith(b":") or (not line and data is None)
                if not lines_allowed.take(now) or (chatter and not chatter_allowed.take(now)):
                    raise _Fault("flood: more lines than any kiosk sends")
                if line.startswith(b"data:"):
                    data = line[5:].lstrip(b" ")
                elif not line and data is not None:
                    self._deliver(endpoint, data)
                    data = None
                elif line and not line.startswith((b":", b"id:")):
                    raise _Fault("garbage in the event stream")

    def _deliver(self, endpoint: KioskEndpoint, frame: bytes) -> None:
        try:
            message = self._keys.open(frame)
        except FrameError as error:
            raise _Fault(str(error)) from None
        last = self._last[endpoint.kiosk]
        if message.kiosk != endpoint.kiosk:
            raise _Fault("a frame of another kiosk")
        if message.seq <= last:
            raise _Fault(f"seq {message.seq} after {last}: out of order or repeated")
        if message.seq > last + 1 and last:
            _log.warning(
                "%s: messages %d to %d are gone", endpoint.kiosk, last + 1, message.seq - 1
            )
        self._last[endpoint.kiosk] = message.seq
        try:
            self._on_message(message)
        except Exception:  # one broken listener must not stop the feed
            _log.exception("a channel message listener failed")

    def _set(self, kiosk: str, state: KioskState, reason: str = "") -> None:
        # Told once per change: a kiosk that stays down is not reported every retry.
        # CONNECTING is only told the first time (after that, DOWN or FAULTY stands).
        previous = self._shown.get(kiosk)
        if state is previous or (state is KioskState.CONNECTING and previous is not None):
            return
        with self._lock:  # states() reads it from other threads
            self._shown[kiosk] = state
        self._report(KioskStatus(kiosk, state, reason))

    def _report(self, status: KioskStatus) -> None:
        if status.state in (KioskState.FAULTY, KioskState.REFUSED):
            _log.warning("kiosk %s %s: %s", status.kiosk, status.state.value, status.reason)
        else:
            _log.info("kiosk %s %s %s", status.kiosk, status.state.value, status.reason)
        try:
            self._on_status(status)
        except Exception:
            _log.exception("a channel status listener failed")
