"""A UDP socket on loopback, where the attendant view would listen to the store channel."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def udp_listener(timeout: float = 2.0) -> Iterator[socket.socket]:
    listener = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        listener.bind(("127.0.0.1", 0))
        listener.settimeout(timeout)
        yield listener
    finally:
        listener.close()
