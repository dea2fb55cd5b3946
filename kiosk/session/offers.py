"""Member offers in the shopper session: asked for on a member's arrival, shown on the
welcome, taken as a coupon, sent to their phone or printed (the rule is in kiosk.session).

Functions the machine calls, each with its part of the state; where the shopper tapped,
the machine passes the state already touched (SessionMachine._touched).
"""

from __future__ import annotations

from dataclasses import replace

from kiosk.session.effects import CheckOffers, Effect, JsonValue, PrintCoupon, Record, TakeOffer
from kiosk.session.inputs import (
    CouponPrinted,
    MemberArrived,
    MemberVisit,
    OfferTakesKnown,
    RewardReady,
)
from kiosk.session.state import (
    MemberOffer,
    OfferStep,
    PendingPrint,
    PrintStep,
    SessionState,
    Transition,
)
from kiosk.session.views import CouponView, IssuedCoupon, WelcomeView
from rewards.offers import OfferBook, OfferMember


def offer_member(visit: MemberVisit) -> OfferMember:
    """The member as rewards.offers decides about them."""
    return OfferMember(
        member_id=visit.member_id,
        marketing=visit.marketing,
        personalised=visit.personalised,
        tier=visit.tier,
        tags=visit.tags,
        birth_month=visit.birth_month,
        last_seen=visit.last_seen,
        last_viewed=visit.last_viewed,
    )


def check_offers(
    book: OfferBook | None, state: SessionState, arrived: MemberArrived
) -> tuple[SessionState, tuple[Effect, ...]]:
    """Ask the desk for the counts of the offers the member qualifies for; nothing
    at all for a member without marketing consent (OfferBook checks it too)."""
    visit = arrived.visit
    if (
        book is None
        or not len(book)
        or not visit.marketing
        or arrived.wall is None
        or state.member is not visit
    ):
        return state, ()
    candidates = book.candidates(offer_member(visit), arrived.wall)
    if not candidates:
        return state, ()
    asking = MemberOffer(state.number, arrived.wall)
    ids = tuple(offer.id for offer in candidates)
    return replace(state, offer=asking), (CheckOffers(ids, visit.member_id, state.number),)


def offer_takes_known(
    book: OfferBook | None, state: SessionState, known: OfferTakesKnown, now: float
) -> Transition:
    asked, member = state.offer, state.member
    if (
        asked is None
        or book is None
        or member is None
        or known.session != state.number
        or asked.session != known.session
        or asked.step is not OfferStep.CHECKING
    ):
        return Transition(state)  # an answer for a session that is over, or again
    chosen = book.choose(offer_member(member), known.takes, asked.wall)
    if chosen is None:
        return Transition(replace(state, offer=None))
    payload: dict[str, JsonValue] = {
        "session": state.session_id,
        "offer": chosen.id,
        "member_id": member.member_id,
        "campaign": chosen.campaign,
    }
    shown = replace(asked, offer=chosen, step=OfferStep.SHOWN)
    return Transition(replace(state, offer=shown), (Record("offer_shown", payload, now),))


def offer_taken(state: SessionState) -> Transition:
    offer, member = state.offer, state.member
    if not isinstance(state.view, WelcomeView) or offer is None or offer.offer is None:
        return Transition(state)
    if offer.step is OfferStep.TAKEN and offer.coupon is not None:  # "show my coupon"
        again = CouponView(state.number, offer.coupon, offer=offer.offer.id)
        return Transition(replace(state, view=again, return_at=None, wipe_at=None))
    campaign = offer.offer.campaign
    if member is None or campaign is None or offer.step is not OfferStep.SHOWN:
        return Transition(state)  # a message only, or asked already: one tap, one code
    effect = TakeOffer(offer.offer.id, campaign, member.member_id, state.session_id, state.number)
    taking = replace(offer, step=OfferStep.TAKING)
    return Transition(replace(state, offer=taking), (effect,))


def offer_answered(
    state: SessionState, ready: RewardReady, told: tuple[Effect, ...], now: float
) -> Transition:
    offer = state.offer
    if (
        offer is None
        or offer.offer is None
        or ready.session != state.number
        or offer.offer.id != ready.offer
        or offer.step is not OfferStep.TAKING
    ):
        return Transition(state, told)  # they walked away meanwhile: the code stays at HQ
    if ready.coupon is None:
        refused = replace(offer, step=OfferStep.REFUSED, refusal=ready.refusal or "unavailable")
        return Transition(replace(state, offer=refused), told)
    taken = replace(offer, step=OfferStep.TAKEN, coupon=ready.coupon)
    state = replace(state, offer=taken)
    if not isinstance(state.view, WelcomeView):
        return Transition(state, told)  # a phone in hand: the welcome shows it later
    view = CouponView(state.number, ready.coupon, offer=offer.offer.id)
    shown = replace(state, view=view, last_interaction=now, return_at=None, wipe_at=None)
    return Transition(shown, told)


def _offer_coupon(state: SessionState) -> tuple[MemberOffer, IssuedCoupon] | None:
    """The offer whose coupon is on screen, when it is."""
    offer, view = state.offer, state.view
    if (
        not isinstance(view, CouponView)
        or view.offer is None
        or offer is None
        or offer.coupon is None
        or offer.offer is None
        or offer.offer.id != view.offer
    ):
        return None
    return offer, offer.coupon


def offer_text_asked(state: SessionState, now: float) -> Transition:
    shown = _offer_coupon(state)
    if shown is None or state.member is None or shown[0].texted:
        return Transition(state)  # once per coupon: a second tap sends nothing
    offer, coupon = shown
    assert offer.offer is not None
    payload: dict[str, JsonValue] = {
        "session": state.session_id,
        "offer": offer.offer.id,
        "member_id": state.member.member_id,
        "code": coupon.code,
        "campaign": coupon.campaign,
        "expires_on": coupon.expires_on.isoformat(),
        "language": state.language.value,
    }
    texted = replace(state, offer=replace(offer, texted=True))
    return Transition(texted, (Record("offer_text_requested", payload, now),))


def offer_print_asked(state: SessionState) -> Transition:
    shown = _offer_coupon(state)
    if shown is None or state.member is None or not state.printer_ready:
        return Transition(state)
    offer, coupon = shown
    assert offer.offer is not None
    if offer.printing in (PrintStep.PRINTING, PrintStep.PRINTED) or state.print_job:
        return Transition(state)  # one coupon, one ticket
    job = f"{state.session_id}-{coupon.campaign}-{coupon.serial}"
    payload: dict[str, JsonValue] = {
        "session": state.session_id,
        "offer": offer.offer.id,
        "member_id": state.member.member_id,
        "code": coupon.code,
        "campaign": coupon.campaign,
    }
    effect = PrintCoupon(job, offer.offer.id, coupon, state.language, state.number)
    printing = replace(
        state,
        offer=replace(offer, printing=PrintStep.PRINTING),
        print_job=PendingPrint(job, payload),
    )
    return Transition(printing, (effect,))


def coupon_printed(state: SessionState, printed: CouponPrinted, now: float) -> Transition:
    pending = state.print_job
    if pending is None or pending.job != printed.job:
        return Transition(state)
    effects = (Record("offer_printed", pending.payload, now),) if printed.ok else ()
    state = replace(state, print_job=None)
    offer = state.offer
    if offer is not None and offer.printing is PrintStep.PRINTING:
        step = PrintStep.PRINTED if printed.ok else PrintStep.FAILED
        state = replace(state, offer=replace(offer, printing=step))
    return Transition(state, effects)
