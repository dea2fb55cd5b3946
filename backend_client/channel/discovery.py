"""Zero-configuration discovery of a store's kiosks on the LAN (multicast DNS, python-zeroconf).

Each channel server advertises `_kiosk-channel._tcp` with its store and kiosk ids
in the TXT record; an attendant browses and follows the kiosks of its own store.
An advertisement proves nothing: a stranger can advertise anything, and the
client then finds that the "kiosk" refuses its proof or sends frames that do not
open (refused / faulty). The first address seen for a kiosk id is kept, and a
configured endpoint always wins over an advertised one.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable
from typing import Final

from zeroconf import (
    InterfaceChoice,
    IPVersion,
    ServiceBrowser,
    ServiceInfo,
    ServiceListener,
    Zeroconf,
)

from backend_client.channel.client import KioskEndpoint

_log = logging.getLogger("backend_client.channel.discovery")

SERVICE_TYPE: Final = "_kiosk-channel._tcp.local."
_INFO_TIMEOUT_MS: Final = 3_000
Interfaces = list[str] | InterfaceChoice


def _zeroconf(interfaces: Interfaces) -> Zeroconf:
    return Zeroconf(interfaces=interfaces, ip_version=IPVersion.V4Only)


def advertise(
    store: str, kiosk: str, port: int, addresses: list[str], interfaces: Interfaces
) -> Callable[[], None]:
    """Announce this kiosk's channel server; returns the function that withdraws it."""
    zeroconf = _zeroconf(interfaces)
    info = ServiceInfo(
        SERVICE_TYPE,
        f"{kiosk}.{SERVICE_TYPE}",
        addresses=[socket.inet_aton(address) for address in addresses],
        port=port,
        properties={"store": store, "kiosk": kiosk, "v": "1"},
        server=f"{kiosk}.local.",
    )
    zeroconf.register_service(info)

    def withdraw() -> None:
        zeroconf.unregister_service(info)
        zeroconf.close()

    return withdraw


def browse(
    store: str, on_found: Callable[[KioskEndpoint], object], interfaces: Interfaces
) -> Callable[[], None]:
    """Call `on_found` for each kiosk of `store` advertised on the LAN (from zeroconf's
    thread); returns the function that stops browsing."""
    zeroconf = _zeroconf(interfaces)

    class _Listener(ServiceListener):
        def add_service(self, zc: Zeroconf, type_: str, name: str) -> None:
            self._look(zc, type_, name)

        def update_service(self, zc: Zeroconf, type_: str, name: str) -> None:
            self._look(zc, type_, name)

        def remove_service(self, zc: Zeroconf, type_: str, name: str) -> None:
            pass  # the client's own state (down) says more than a withdrawn record

        def _look(self, zc: Zeroconf, type_: str, name: str) -> None:
            info = zc.get_service_info(type_, name, timeout=_INFO_TIMEOUT_MS)
            if info is None or info.port is None:
                return
            properties = {
                key.decode(errors="replace"): (value or b"").decode(errors="replace")
                for key, value in info.properties.items()
            }
            addresses = info.parsed_addresses(IPVersion.V4Only)
            if properties.get("store") != store or not properties.get("kiosk") or not addresses:
                return
            endpoint = KioskEndpoint(properties["kiosk"], f"http://{addresses[0]}:{info.port}")
            try:
                on_found(endpoint)
            except Exception:
                _log.exception("a discovery listener failed")

    browser = ServiceBrowser(zeroconf, SERVICE_TYPE, _Listener())

    def stop() -> None:
        browser.cancel()
        zeroconf.close()

    return stop
