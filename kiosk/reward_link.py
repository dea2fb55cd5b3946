"""Between the session machine and the reward desk: requests out, answers back.

The machine asks for a coupon (a survey's reward), a draw, a member's offer counts
or a taken member offer as an effect; this turns it into a request the desk
understands, with the campaign (or offer) from the bundle and the wall-clock time
(campaign windows, offer limits and daily caps are in the store's days). The
desk answers on its own thread; the answer goes back to the GUI thread through
the bridge as `RewardReady` (or `DrawStanding`, `OfferTakesKnown`) for the
session that asked.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Protocol

from content.bundle import Bundle
from kiosk.session import (
    CheckDraws,
    CheckOffers,
    DrawPrize,
    DrawStanding,
    IssueCoupon,
    IssuedCoupon,
    OfferTakesKnown,
    RewardReady,
    TakeOffer,
)
from rewards.answers import (
    DrawOutcome,
    DrawRequest,
    Issued,
    IssueReason,
    IssueRequest,
    OfferStanding,
    OfferTakesRequest,
    Refused,
    RewardAnswer,
    RewardRequest,
    Standing,
    StandingRequest,
    TakeOfferRequest,
)
from rewards.issuing import Refusal

log = logging.getLogger("kiosk.rewards")


class Desk(Protocol):
    """Where requests go: the relay child's reward desk, through backend_client/data_link.py."""

    def submit(self, request: RewardRequest) -> None: ...


def _wall_clock() -> datetime:
    return datetime.now(UTC)


class RewardLink:
    def __init__(
        self,
        bundle: Bundle | None,
        post: Callable[[RewardReady | DrawStanding | OfferTakesKnown], None],
        *,
        clock: Callable[[], datetime] = _wall_clock,
    ) -> None:
        self._bundle = bundle
        self._post = post
        self._clock = clock
        self._desk: Desk | None = None
        self._lock = threading.Lock()  # the desk thread answers while the GUI thread asks
        # id(request) -> session, and the draw or member offer asked about
        self._sessions: dict[int, tuple[int, str | None]] = {}

    def attach(self, desk: Desk) -> None:
        self._desk = desk

    def set_bundle(self, bundle: Bundle) -> None:
        """A new content release (GUI thread): its campaigns and draws from now on."""
        self._bundle = bundle

    def request(
        self, effect: IssueCoupon | DrawPrize | CheckDraws | CheckOffers | TakeOffer
    ) -> None:
        """On the GUI thread: queue the request; never blocks."""
        desk, bundle = self._desk, self._bundle
        offer = effect.offer if isinstance(effect, TakeOffer) else None
        if desk is None or bundle is None:
            # Unknown standing: the draw will say; unknown offer counts: no offer shown.
            if not isinstance(effect, CheckDraws | CheckOffers):
                self._refuse(effect.session, Refusal.UNAVAILABLE, offer)
            return
        now = self._clock()
        asked: RewardRequest
        match effect:
            case CheckOffers():
                asked = OfferTakesRequest(effect.offers, effect.member_id, now)
            case TakeOffer():
                taken, campaign = bundle.offer(effect.offer), bundle.campaign(effect.campaign)
                if taken is None or campaign is None:
                    self._refuse(effect.session, Refusal.ENDED, offer)
                    return
                asked = TakeOfferRequest(taken, campaign, effect.member_id, effect.session_id, now)
            case CheckDraws():
                known = (bundle.prize_draw(d) for d in effect.draws)
                asked = StandingRequest(
                    tuple(d for d in known if d is not None), effect.member_id, now
                )
            case IssueCoupon():
                campaign = bundle.campaign(effect.campaign)
                if campaign is None:
                    self._refuse(effect.session, Refusal.ENDED)
                    return
                reason: IssueReason = "signup" if effect.reason == "signup" else "survey"
                asked = IssueRequest(campaign, effect.member_id, effect.session_id, reason, now)
            case DrawPrize():
                prize_draw = bundle.prize_draw(effect.draw)
                if prize_draw is None:
                    self._refuse(effect.session, Refusal.ENDED)
                    return
                asked = DrawRequest(
                    prize_draw,
                    bundle.campaigns,
                    effect.member_id,
                    effect.session_id,
                    now,
                )
        draw = effect.draw if isinstance(effect, DrawPrize) else offer
        with self._lock:
            self._sessions[id(asked)] = (effect.session, draw)
        try:
            desk.submit(asked)
        except RuntimeError:  # stopped: the kiosk is shutting down
            with self._lock:
                self._sessions.pop(id(asked), None)

    def on_answer(self, answer: RewardAnswer) -> None:
        """On the desk thread: hand the outcome to the session that asked."""
        with self._lock:
            asked = self._sessions.pop(id(answer.request), None)
        if asked is None:
            return
        session, draw = asked
        offer = draw if isinstance(answer.request, TakeOfferRequest) else None
        match answer.outcome:
            case Issued(code=code, campaign=campaign):
                coupon = IssuedCoupon(code.text, campaign, code.expires_on, code.serial)
                self._post(RewardReady(session, coupon, offer=offer))
            case DrawOutcome(prize=prize, code=code) if prize is not None and code is not None:
                coupon = IssuedCoupon(code.text, prize.campaign, code.expires_on, code.serial)
                self._post(RewardReady(session, coupon, prize=prize.id, draw=draw))
            case DrawOutcome():
                self._post(RewardReady(session, None, refusal="no_win"))
            case Standing(refusals=refusals):
                for draw_id, refusal in refusals.items():
                    why = None if refusal is None else refusal.value
                    self._post(DrawStanding(session, draw_id, why))
            case OfferStanding(takes=takes):
                self._post(OfferTakesKnown(session, dict(takes)))
            case Refused(reason=reason) if isinstance(answer.request, StandingRequest):
                pass  # the desk is down: the draw will say so if they try
            case Refused(reason=reason) if isinstance(answer.request, OfferTakesRequest):
                # Counts unknown: no offer is shown rather than one past its limits.
                log.warning("offer counts unavailable (%s): no member offer", reason.value)
            case Refused(reason=reason):
                self._refuse(session, reason, offer)

    def _refuse(self, session: int, reason: Refusal, offer: str | None = None) -> None:
        if reason is Refusal.UNAVAILABLE:
            log.warning("reward desk unavailable: nothing given for this session")
        self._post(RewardReady(session, None, refusal=reason.value, offer=offer))
