"""The attendant's links to the store's kiosks: where each one is, whether its channel
stream is live, and the commands sent to them (backend_client.channel.commands). No Qt;
written by the channel client's and discovery's threads, read by the GUI thread and the
command workers (hence the lock). Commands block: call them on a worker thread."""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence

from backend_client.channel.client import KioskEndpoint, KioskState, KioskStatus
from backend_client.channel.commands import (
    Ack,
    CommandError,
    CommandReply,
    KioskCatalog,
    Redeem,
    SetSlot,
    fetch_catalog,
    send_command,
)
from backend_client.channel.keys import StoreKeys
from kiosk.attendant.till import ClaimAnswer, Claimed, ClaimRefused, Unreachable

log = logging.getLogger("kiosk.attendant.links")


class KioskLinks:
    def __init__(self, keys: StoreKeys | None = None) -> None:
        self._keys = keys
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

    # -- commands (worker threads) ------------------------------------------------------

    def _target(self, kiosk: str) -> tuple[KioskEndpoint, StoreKeys]:
        endpoint = self.endpoint(kiosk)
        if endpoint is None or self._keys is None:
            raise CommandError("unreachable", "no address or no store key")
        return endpoint, self._keys

    def claim(self, kiosk: str, code_hash: str, by: str) -> ClaimAnswer:
        """Claim a coupon code's hash at `kiosk` (till.py's round of claims)."""
        try:
            reply = send_command(*self._target(kiosk), Redeem(code_hash=code_hash, by=by))
        except CommandError as error:
            log.info("coupon claim at %s: %s", kiosk, error.reason)
            return Unreachable(kiosk)
        if reply.ok:
            return Claimed(kiosk)
        if reply.refusal == "already_redeemed":
            return ClaimRefused(kiosk, reply.at, reply.by)
        log.warning("kiosk %s refused a coupon claim: %s", kiosk, reply.refusal)
        return Unreachable(kiosk)

    def ack(self, alert: str, by: str, after_s: float, order: Sequence[str]) -> str | None:
        """Put the ack on the channel through the first kiosk of `order` that takes it
        (any kiosk may carry an ack for another's alert); the kiosk that did, or None."""
        command = Ack(alert=alert, by=by, after_s=after_s)
        for kiosk in order:
            try:
                reply = send_command(*self._target(kiosk), command)
            except CommandError as error:
                log.info("ack through %s: %s", kiosk, error.reason)
                continue
            if reply.ok:
                return kiosk
        log.warning("no kiosk took the ack of %s: the other attendants do not see it", alert)
        return None

    def catalog(self, kiosk: str) -> KioskCatalog:
        """The kiosk's products and slots now; CommandError if it cannot say."""
        return fetch_catalog(*self._target(kiosk))

    def set_slot(self, kiosk: str, slot: int, sku: str, by: str) -> CommandReply:
        return send_command(*self._target(kiosk), SetSlot(slot=slot, sku=sku, by=by))
