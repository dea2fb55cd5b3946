"""A TCP proxy in front of HQ that counts what crosses the wire (for tests and bench/).

    proxy = WireProxy(hq_port, record_requests=True, to_kiosk_rate=4_000_000)
    url = f"http://127.0.0.1:{proxy.port}"      # enrol the kiosk with this
    proxy.to_kiosk                               # bytes HQ sent to the kiosk so far
    proxy.requests()                             # what the kiosk sent (plain HTTP)
    proxy.close()

Plain HTTP only (loopback): the kiosk's requests are read as text, so a test
can tell which ranges it asked for.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time


class WireProxy:
    def __init__(
        self,
        upstream_port: int,
        *,
        record_requests: bool = False,
        to_kiosk_rate: float | None = None,
    ) -> None:
        self._upstream = upstream_port
        self._record = record_requests
        self._rate = to_kiosk_rate  # bytes per second HQ -> kiosk; None: as fast as it goes
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._lock = threading.Lock()
        self.to_kiosk = 0
        self._sent: list[bytes] = []
        self._sockets: list[socket.socket] = []
        self._pumping = 0  # pumps still moving bytes (two per connection)
        threading.Thread(target=self._accept, daemon=True).start()

    def take(self) -> int:
        """Bytes HQ sent to the kiosk since the last take()."""
        with self._lock:
            counted, self.to_kiosk = self.to_kiosk, 0
        return counted

    def connections(self) -> int:
        """Connections still open (either way)."""
        with self._lock:
            return (self._pumping + 1) // 2

    def requests(self) -> bytes:
        """Everything the kiosk sent, in order of arrival (when record_requests)."""
        with self._lock:
            return b"".join(self._sent)

    def close(self) -> None:
        self._listener.close()
        with self._lock:
            sockets, self._sockets = self._sockets, []
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.close()

    def _accept(self) -> None:
        while True:
            try:
                kiosk, _ = self._listener.accept()
                hq = socket.create_connection(("127.0.0.1", self._upstream))
            except OSError:
                return
            with self._lock:
                self._sockets += [kiosk, hq]
                self._pumping += 2
            threading.Thread(target=self._pump, args=(kiosk, hq, False), daemon=True).start()
            threading.Thread(target=self._pump, args=(hq, kiosk, True), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket, to_kiosk: bool) -> None:
        started = time.monotonic()
        moved = 0
        try:
            while data := source.recv(1 << 16):
                if to_kiosk and self._rate is not None:
                    # Paced: the kiosk keeps up, so little sits unread in its buffers.
                    ahead = moved / self._rate - (time.monotonic() - started)
                    if ahead > 0:
                        time.sleep(ahead)
                sink.sendall(data)
                moved += len(data)
                with self._lock:
                    if to_kiosk:
                        self.to_kiosk += len(data)
                    elif self._record:
                        self._sent.append(data)
        except OSError:
            pass
        finally:
            for end in (source, sink):
                with contextlib.suppress(OSError):
                    end.shutdown(socket.SHUT_RDWR)
            with self._lock:
                self._pumping -= 1
