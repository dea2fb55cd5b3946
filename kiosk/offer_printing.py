"""Between the session machine and the receipt printer: a member offer's coupon on paper.

Loaded only when the kiosk is given `--printer`. The machine asks for a print as
an effect (`PrintCoupon`); this turns it into the driver's `CouponTicket` in the
shopper's language (the offer's title, the campaign's terms, the code and its
expiry) and queues it: `ReceiptPrinter.print_ticket` returns at once, so a
printer that stalls never holds the GUI thread. The driver's reports come back
from its thread through the bridge: its health as it is (staff's attendant view,
HQ's heartbeat, and the machine, which hides "print" while it is down) and each
ticket's outcome as `CouponPrinted`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Final, Literal

from content.bundle import Bundle
from content.model import Language
from devices.events import DeviceEvent, DeviceHealth, Printed
from devices.printer import CouponTicket, ReceiptPrinter
from kiosk.i18n import tr
from kiosk.session import CouponPrinted, PrintCoupon

log = logging.getLogger("kiosk.printing")

LANGUAGES: Final = {Language.ZH_CN: "zh-CN", Language.EN: "en"}


def coupon_ticket(bundle: Bundle | None, effect: PrintCoupon) -> CouponTicket:
    """The ticket for `effect`: the offer's title and the campaign's terms from the
    bundle, in the shopper's language (the bare campaign id if they are gone)."""
    language = effect.language
    offer = None if bundle is None else bundle.offer(effect.offer)
    campaign = None if bundle is None else bundle.campaign(effect.coupon.campaign)
    title = effect.coupon.campaign if offer is None else offer.title.get(language)
    return CouponTicket(
        job=effect.job,
        heading=tr(language, "member_offer.ticket_heading"),
        title=title,
        terms="" if campaign is None else campaign.terms.get(language),
        code=effect.coupon.code,
        expires_on=effect.coupon.expires_on,
        language=LANGUAGES[language],
    )


class CouponPrinting:
    """The kiosk's receipt printer, fed from the GUI thread, answering through `post`."""

    def __init__(
        self,
        port: str,
        post: Callable[[DeviceEvent | CouponPrinted], None],
        bundle: Bundle | None,
        *,
        paper_mm: Literal[58, 80] = 80,
    ) -> None:
        self._post = post
        self._bundle = bundle
        self._printer = ReceiptPrinter(port, on_event=self._on_event, paper_mm=paper_mm)

    def set_bundle(self, bundle: Bundle) -> None:
        """A new content release (GUI thread): its offers' titles and terms from now on."""
        self._bundle = bundle

    def start(self) -> None:
        self._printer.start()

    def stop(self) -> None:
        self._printer.stop()

    def print_coupon(self, effect: PrintCoupon) -> None:
        """GUI thread: queue the ticket; returns at once, whatever the printer does."""
        try:
            self._printer.print_ticket(coupon_ticket(self._bundle, effect))
        except Exception:  # a driver fault is the printer's, never the shopper's screen's
            log.exception("coupon ticket not queued")
            self._post(CouponPrinted(effect.job, ok=False))

    def _on_event(self, event: DeviceEvent) -> None:
        """The driver's thread: health passes on as it is; a ticket's outcome is named
        by its job for the session machine."""
        if isinstance(event, Printed):
            if not event.ok:
                log.warning("coupon ticket not printed: %s", event.reason)
            self._post(CouponPrinted(event.job, event.ok))
        elif isinstance(event, DeviceHealth):
            self._post(event)
