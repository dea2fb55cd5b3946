"""The in-store channel: live messages from this kiosk to the store's attendant view.

One JSON object per UDP datagram, sent to the store LAN's multicast group (TTL 1,
so nothing leaves the store's network) or to any address the store configures.
Sending never blocks and never fails the caller: a message is a live hint for
staff, while the record of what happened is the outbox's, which reaches HQ.

Messages carry no personal data: scores, choices, alerts, session ids. The
attendant application that shows them is a later issue; docs/store-channel.md
describes the format.
"""

from __future__ import annotations

import json
import logging
import socket
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

log = logging.getLogger("kiosk.store_channel")

DEFAULT_GROUP: Final = ("239.255.42.99", 42099)  # organisation-local multicast scope
MAX_DATAGRAM: Final = 1200  # fits one Ethernet frame with room for headers: no fragments
FORMAT_VERSION: Final = 1

JsonValue = str | int | float | bool | None | list["JsonValue"] | dict[str, "JsonValue"]


@dataclass(frozen=True, slots=True)
class ChannelAddress:
    host: str
    port: int

    @classmethod
    def parse(cls, text: str) -> ChannelAddress:
        """`HOST:PORT`, e.g. `239.255.42.99:42099` or `127.0.0.1:42099`."""
        host, sep, port = text.rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError(f"{text!r} is not HOST:PORT")
        return cls(host.strip("[]"), int(port))


class StoreChannel:
    """Publishes messages from the GUI thread; a datagram send takes microseconds."""

    def __init__(self, address: ChannelAddress, *, store_id: str, kiosk_id: str) -> None:
        self._address = (address.host, address.port)
        self._store_id = store_id
        self._kiosk_id = kiosk_id
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._socket.setblocking(False)
        self._socket.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 1)
        self._failing = False

    def publish(self, kind: str, payload: Mapping[str, JsonValue], *, alert: bool) -> None:
        message = {
            "v": FORMAT_VERSION,
            "store_id": self._store_id,
            "kiosk_id": self._kiosk_id,
            "kind": kind,
            "alert": alert,
            "sent_at": time.time(),
            "payload": dict(payload),
        }
        data = json.dumps(message, ensure_ascii=False, separators=(",", ":")).encode()
        if len(data) > MAX_DATAGRAM:
            log.error("store message %s too large (%d bytes): not sent", kind, len(data))
            return
        try:
            self._socket.sendto(data, self._address)
        except OSError as error:  # no network, buffer full: staff miss one live hint
            if not self._failing:
                self._failing = True
                log.warning("store channel unreachable: %s", error.strerror or error)
            return
        if self._failing:
            self._failing = False
            log.info("store channel reachable again")

    def close(self) -> None:
        self._socket.close()
