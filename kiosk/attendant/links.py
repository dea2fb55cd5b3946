"""The attendant's links to the store's kiosks: where each one is and whether its
channel stream is live. No Qt; written by the channel client's and discovery's
threads, read by the GUI thread and the command workers (hence the lock)."""

from __future__ import annotations

import threading

from backend_client.channel.client import KioskEndpoint, KioskState, KioskStatus


class KioskLinks:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._endpoints: dict[str, KioskEndpoint] = {}
        self._states: dict[str, KioskState] = {}

    def found(self, endpoint: KioskEndpoint) -> None:
        """A configured or discovered kiosk; the first address seen for an id stays."""
        with self._lock:
            self._endpoints.setdefault(endpoint.kiosk, endpoint)

    def status(self, status: KioskStatus) -> None:
        with self._lock:
            self._states[status.kiosk] = status.state

    def endpoint(self, kiosk: str) -> KioskEndpoint | None:
        with self._lock:
            return self._endpoints.get(kiosk)

    def states(self) -> dict[str, str]:
        """Each known kiosk's link: connecting, live, down, refused or faulty."""
        with self._lock:
            return {
                kiosk: self._states.get(kiosk, KioskState.CONNECTING).value
                for kiosk in self._endpoints
            }

    def live(self) -> list[str]:
        """Kiosks whose stream is open now, in kiosk-id order."""
        with self._lock:
            return sorted(
                kiosk for kiosk, state in self._states.items() if state is KioskState.LIVE
            )
