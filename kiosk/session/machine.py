"""The rules of the shopper session: `SessionMachine`, and the helpers they share.

The rules in the shop's words are in kiosk.session's docstring.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import assert_never

from content.model import ConsentNotice, ConsentPurpose, PrizeDraw, Survey, SurveyQuestion
from content.recommend import lift_shares, tally_lift
from devices.events import Alarm, Dropped, Lifted
from devices.protocols.pickup import LedMode
from kiosk import signup, survey
from kiosk.session.effects import (
    CheckDraws,
    DrawPrize,
    Effect,
    IssueCoupon,
    JsonValue,
    RaiseAlert,
    Record,
    SetLed,
    StoreMessage,
)
from kiosk.session.inputs import (
    AgeAnswered,
    CouponPrinted,
    DrawOpened,
    DrawRequested,
    DrawSkipped,
    DrawStanding,
    FlowClosed,
    HqLinkChanged,
    LanguageChosen,
    MemberArrived,
    MemberLeft,
    MemberVisit,
    OfferPrintAsked,
    OfferTaken,
    OfferTakesKnown,
    OfferTextAsked,
    PrinterReady,
    RecommendationTapped,
    RewardReady,
    SessionInput,
    SignupOpened,
    SignupSubmitted,
    SmileyPressed,
    SurveyAnswered,
    SurveyOpened,
    TagPresented,
    Touched,
)
from kiosk.session.offers import (
    check_offers,
    coupon_printed,
    offer_answered,
    offer_print_asked,
    offer_taken,
    offer_takes_known,
    offer_text_asked,
)
from kiosk.session.state import (
    Pick,
    SessionConfig,
    SessionState,
    Transition,
)
from kiosk.session.views import (
    ATTRACT,
    Binding,
    CompareView,
    CouponView,
    DrawView,
    FlowView,
    FobView,
    LocateNotice,
    ProductView,
    RewardStatus,
    SignupStep,
    SignupView,
    SurveyView,
    ThanksView,
    View,
    WelcomeView,
)
from rewards.offers import OfferBook

log = logging.getLogger("kiosk.session")


@dataclass(frozen=True, slots=True)
class SessionMachine:
    """The rules, bound to this cabinet's planogram (slot -> SKU)."""

    config: SessionConfig
    slot_skus: Mapping[int, str]
    # What the content bundle offers besides phones.
    notices: tuple[ConsentNotice, ...] = ()
    surveys: tuple[Survey, ...] = ()
    draws: tuple[PrizeDraw, ...] = ()
    welcome: str | None = None  # the coupon campaign each new member is given
    offers: OfferBook | None = None  # member offers (rewards.offers), built once per bundle
    _sku_slots: Mapping[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_sku_slots", {sku: s for s, sku in self.slot_skus.items()})

    def slot_of(self, sku: str) -> int | None:
        return self._sku_slots.get(sku)

    # -- inputs --

    def step(self, state: SessionState, event: SessionInput, now: float) -> Transition:
        """Deadlines that passed by `now` apply first, whether or not a timer fired yet."""
        due = self.advance(state, now)
        handled = _lights_follow_view(self._handle(due.state, event, now))
        return Transition(handled.state, due.effects + handled.effects)

    def _handle(  # noqa: PLR0911, PLR0912 - one return per kind of input
        self, state: SessionState, event: SessionInput, now: float
    ) -> Transition:
        match event:
            case Lifted():
                return self._lifted(state, event.slot, now)
            case Dropped():
                return self._dropped(state, event.slot, now)
            case Alarm():
                return self._alarm(state, event, now)
            case Touched():
                return Transition(self._touched(state, now))
            case RecommendationTapped():
                return self._recommendation(state, event, now)
            case LanguageChosen():
                touched = self._touched(state, now)
                return Transition(replace(touched, language=event.language))
            case MemberArrived():
                return self._member_arrived(state, event, now)
            case MemberLeft():
                return self._member_left(state, event)
            case TagPresented():
                return self._tag_presented(state, event, now)
            case SignupOpened():
                return self._signup_opened(state, now)
            case AgeAnswered():
                return self._age_answered(state, event, now)
            case SignupSubmitted():
                return self._signup_submitted(state, event, now)
            case SurveyOpened():
                return self._survey_opened(state, event, now)
            case SurveyAnswered():
                return self._survey_answered(state, event, now)
            case SmileyPressed():
                return self._smiley_pressed(state, event, now)
            case DrawOpened():
                return self._draw_opened(state, event, now)
            case DrawRequested():
                return self._draw_requested(state, now)
            case DrawSkipped():
                return self._draw_skipped(state, now)
            case DrawStanding():
                return Transition(_with_standing(state, event))
            case RewardReady():
                return self._reward_ready(state, event, now)
            case FlowClosed():
                return self._flow_closed(state, now)
            case OfferTakesKnown():
                return offer_takes_known(self.offers, state, event, now)
            case OfferTaken():
                return offer_taken(self._touched(state, now))
            case OfferTextAsked():
                return offer_text_asked(self._touched(state, now), now)
            case OfferPrintAsked():
                return offer_print_asked(self._touched(state, now))
            case CouponPrinted():
                return coupon_printed(state, event, now)
            case PrinterReady():
                return Transition(replace(state, printer_ready=event.ready))
            case HqLinkChanged():
                return Transition(replace(state, hq_online=event.online))
            case _:
                assert_never(event)

    def _lifted(self, state: SessionState, slot: int, now: float) -> Transition:
        if any(p.slot == slot for p in state.picks):
            return Transition(state)  # repeated or resynchronised: nothing new
        sku = self.slot_skus.get(slot)
        effects: list[Effect] = []
        if sku is not None and not state.active:
            state = _start_session(state, now)
        pick = Pick(
            slot, sku, now, state.number, before=state.view, before_return_at=state.return_at
        )
        state = replace(state, picks=(*state.picks, pick), notice=None)
        if slot in state.lit_slots:  # the shopper found the phone we lit up
            effects.append(SetLed(slot, LedMode.OFF))
            state = replace(state, lit_slots=state.lit_slots - {slot})
        if sku is None:
            log.warning("lift on slot %d, which the planogram does not assign", slot)
            return Transition(state, tuple(effects))
        view = state.view if _in_flow(state) else _view_for_picks(state) or state.view
        return Transition(
            replace(state, view=view, last_interaction=now, return_at=None, wipe_at=None),
            tuple(effects),
        )

    def _dropped(  # noqa: PLR0911 - one return per outcome, in the order they are decided
        self, state: SessionState, slot: int, now: float
    ) -> Transition:
        pick = next((p for p in state.picks if p.slot == slot), None)
        if pick is None:
            return Transition(state)
        state = replace(state, picks=tuple(p for p in state.picks if p.slot != slot))
        effects: list[Effect] = []
        if pick.confirmed:
            dwell_ms = round((now - pick.lifted_at) * 1000)
            payload = _pick_payload(state, pick) | {"dwell_ms": dwell_ms}
            effects.append(Record("drop", payload, now))
        if pick.session != state.number or not state.active:
            return Transition(state, tuple(effects))  # a phone from an ended session
        if _in_flow(state):  # the form or survey stays; the phone is simply back
            return Transition(replace(state, last_interaction=now), tuple(effects))
        view = _view_for_picks(state)
        if view is not None:
            return Transition(replace(state, view=view, last_interaction=now), tuple(effects))
        if not pick.confirmed:  # a bounce: as if the phone had never left
            if pick.before == ATTRACT:
                return Transition(_end_session(state), tuple(effects) + _leds_off(state))
            return Transition(
                replace(state, view=pick.before, return_at=pick.before_return_at), tuple(effects)
            )
        return_at = now + self.config.drop_grace
        return Transition(replace(state, last_interaction=now, return_at=return_at), tuple(effects))

    def _alarm(self, state: SessionState, alarm: Alarm, now: float) -> Transition:
        sku = self.slot_skus.get(alarm.slot)
        payload: dict[str, JsonValue] = {
            "slot": alarm.slot,
            "sku": sku,
            "reason": alarm.reason.value,
        }
        return Transition(
            state, (Record("alarm", payload, now), RaiseAlert(alarm.slot, alarm.reason, sku))
        )

    def _touched(self, state: SessionState, now: float) -> SessionState:
        if not state.active:
            return state
        return_at = None if state.return_at is None else now + self._linger(state.view)
        return replace(state, last_interaction=now, return_at=return_at, wipe_at=None)

    def _linger(self, view: View) -> float:
        """How long a screen with no phone in hand stays after the last touch."""
        if isinstance(view, WelcomeView):
            return self.config.welcome_seconds
        if isinstance(view, FobView):
            return self.config.fob_seconds
        return self.config.drop_grace

    def _member_arrived(
        self, state: SessionState, arrived: MemberArrived, now: float
    ) -> Transition:
        visit = arrived.visit
        if state.member is not None and state.member.member_id == visit.member_id:
            return Transition(self._touched(state, now))  # seen again: still here
        if isinstance(state.view, SignupView) and state.view.binding is Binding.WAITING:
            if arrived.deliberate:  # the fob the new member tapped is someone else's
                taken = replace(state.view, binding=Binding.TAKEN)
                return Transition(replace(self._touched(state, now), view=taken))
            return Transition(state)
        if state.active and not arrived.deliberate:
            # A tag walking past must not take over, nor be credited with, a session
            # that someone else is using.
            return Transition(state)
        effects: tuple[Effect, ...] = ()
        if state.member is not None:  # another member tapped in: they start afresh
            effects = _leds_off(state)
            state = _end_session(state)
        if not state.active:
            state = _start_session(state, now)
            if visit.language is not None:
                state = replace(state, language=visit.language)
        holding = _view_for_picks(state) is not None
        view = state.view if holding else WelcomeView(state.number)
        return_at = state.return_at if holding else now + self.config.welcome_seconds
        state = replace(
            state,
            member=visit,
            view=view,
            last_interaction=now,
            return_at=return_at,
            notice=None,
            wipe_at=None,
        )
        # Staff may greet them: by name only if they allowed it (greeting_name is None
        # otherwise), never with their member id.
        arrived_message = StoreMessage(
            "member_arrived",
            {
                "session": state.session_id,
                "greeting": visit.greeting_name,
                "last_viewed": list(visit.last_viewed),
                "via": "rfid" if arrived.deliberate else "ble",
            },
        )
        effects += self._check_draws(state)
        state, asked = check_offers(self.offers, state, arrived)
        return Transition(state, (*effects, *asked, arrived_message))

    def _check_draws(self, state: SessionState) -> tuple[Effect, ...]:
        if state.member is None or not self.draws:
            return ()
        draws = tuple(d.id for d in self.draws)
        return (CheckDraws(draws, state.member.member_id, state.number),)

    def _member_left(self, state: SessionState, left: MemberLeft) -> Transition:
        if state.member is None or state.member.member_id != left.member_id:
            return Transition(state)
        message = StoreMessage("member_left", {"session": state.session_id})
        if isinstance(state.view, WelcomeView):
            # Their welcome must not wait for the next person to walk up.
            return Transition(_end_session(state), (message, *_leds_off(state)))
        # Someone may carry on with the phones; what they do is no longer the member's.
        return Transition(replace(state, member=None), (message,))

    def _recommendation(
        self, state: SessionState, tap: RecommendationTapped, now: float
    ) -> Transition:
        if not state.active:
            return Transition(state)
        shown = state.view
        state = self._touched(state, now)
        slot = self.slot_of(tap.sku)
        payload: dict[str, JsonValue] = {
            "session": state.session_id,
            "sku": tap.sku,
            "shelf": tap.shelf,
            "from": shown.key,
            "slot": slot,
        }
        effects: list[Effect] = [Record("recommendation_tap", payload, now)]
        in_hand = any(p.slot == slot for p in state.picks)
        view = ProductView(tap.sku, in_hand=in_hand)
        # The light of the screen the shopper leaves goes off; this screen's comes on.
        lit = state.lit_slots if state.lit_view == view else frozenset[int]()
        if slot is not None and not in_hand:
            lit |= {slot}
        effects.extend(SetLed(s, LedMode.OFF) for s in sorted(state.lit_slots - lit))
        effects.extend(SetLed(s, LedMode.ON) for s in sorted(lit - state.lit_slots))
        if state.member is not None:
            payload["member_id"] = state.member.member_id
        notice = LocateNotice(tap.sku, slot, now + self.config.notice_seconds)
        state = replace(state, lit_slots=lit, lit_view=view if lit else None)
        return Transition(replace(state, view=view, notice=notice), tuple(effects))

    # -- sign-up, surveys, draws --

    def _open(
        self, state: SessionState, make: Callable[[int], FlowView], now: float
    ) -> SessionState:
        """Show the flow screen `make(session)`; a session starts if none is running."""
        if not state.active:
            state = _start_session(state, now)
        return replace(
            state,
            view=make(state.number),
            last_interaction=now,
            return_at=None,
            wipe_at=None,
            notice=None,
        )

    def _signup_opened(self, state: SessionState, now: float) -> Transition:
        if not signup.can_sign_up(self.notices) or state.member is not None:
            return Transition(self._touched(state, now))
        return Transition(self._open(state, SignupView, now))

    def _age_answered(self, state: SessionState, answer: AgeAnswered, now: float) -> Transition:
        view = state.view
        if not isinstance(view, SignupView) or view.step is not SignupStep.AGE:
            return Transition(self._touched(state, now))
        step = SignupStep.FORM if answer.old_enough else SignupStep.UNDER_AGE
        return Transition(replace(self._touched(state, now), view=replace(view, step=step)))

    def _signup_submitted(
        self, state: SessionState, submitted: SignupSubmitted, now: float
    ) -> Transition:
        view = state.view
        state = self._touched(state, now)
        if not isinstance(view, SignupView) or view.step is not SignupStep.FORM:
            return Transition(state)
        region = self.config.phone_region
        checked = signup.check(submitted.form, region=region)
        if not isinstance(checked, signup.CheckedSignup):
            return Transition(replace(state, view=replace(view, problems=checked)))
        member_id = submitted.member_id
        effects: list[Effect] = [
            Record(r.kind, r.payload | {"session": state.session_id}, now)
            for r in signup.signup_records(
                checked,
                member_id=member_id,
                region=region,
                language=state.language,
                notices=self.notices,
            )
        ]
        effects.append(StoreMessage("signup", {"session": state.session_id}))
        recognised = ConsentPurpose.RECOGNITION in checked.consents
        member = MemberVisit(
            member_id=member_id,
            greeting_name=checked.name if checked.greet_by_name else None,
            last_viewed=tuple(
                p.sku for p in state.picks if p.session == state.number and p.sku is not None
            ),
            language=state.language,
            joined=True,
            personalised=ConsentPurpose.PERSONALISATION in checked.consents,
        )
        binding = Binding.WAITING if recognised and submitted.can_bind else Binding.NONE
        reward = RewardStatus.NONE
        if self.welcome is not None:
            reward = RewardStatus.PENDING
            effects.append(
                IssueCoupon(self.welcome, "signup", member_id, state.session_id, state.number)
            )
        done = SignupView(
            state.number, SignupStep.DONE, binding=binding, name=checked.name, reward=reward
        )
        return Transition(replace(state, view=done, member=member), tuple(effects))

    def _tag_presented(
        self, state: SessionState, presented: TagPresented, now: float
    ) -> Transition:
        view = state.view
        if isinstance(view, SignupView) and view.binding is Binding.WAITING:
            return self._bind(state, view, presented, now)
        if _in_flow(state) or presented.tag_kind != "rfid":
            return Transition(state)  # someone mid-form: a stray fob must not take over
        # Whatever the fob is (a stranger's, a member's who did not consent to being
        # recognised, one from before the feed arrived): one and the same answer.
        if not state.active:
            state = _start_session(state, now)
        state = replace(
            state,
            view=FobView(state.number),
            last_interaction=now,
            return_at=now + self.config.fob_seconds,
            notice=None,
        )
        return Transition(state)

    def _bind(
        self, state: SessionState, view: SignupView, presented: TagPresented, now: float
    ) -> Transition:
        assert state.member is not None, "a sign-up that is done has its member"
        if presented.tag_hash is None:
            return Transition(state)  # without the tag key nothing can be bound
        payload: dict[str, JsonValue] = {
            "member_id": state.member.member_id,
            "tag_hash": presented.tag_hash,
            "tag_kind": presented.tag_kind,
        }
        state = replace(self._touched(state, now), view=replace(view, binding=Binding.BOUND))
        return Transition(state, (Record("tag_bound", payload, now),))

    def _survey_opened(self, state: SessionState, opened: SurveyOpened, now: float) -> Transition:
        chosen = self._survey(opened.survey)
        if chosen is None or state.surveyed:
            return Transition(self._touched(state, now))
        first = survey.first_question(chosen).id
        return Transition(
            self._open(state, lambda number: SurveyView(number, chosen.id, first), now)
        )

    def _survey_answered(
        self, state: SessionState, answered: SurveyAnswered, now: float
    ) -> Transition:
        view = state.view
        state = self._touched(state, now)
        if not isinstance(view, SurveyView):
            return Transition(state)
        current = self._survey(view.survey)
        asked = None if current is None else survey.question(current, view.question)
        if current is None or asked is None:
            return Transition(state)
        try:
            answer = survey.check_answer(asked, answered.answer)
        except survey.InvalidAnswer as problem:
            log.warning("survey answer ignored: %s", problem)
            return Transition(state)
        low = survey.is_low(current, asked, answer)
        payload = _answer_payload(state, current, asked, answer, low)
        effects: list[Effect] = [Record("survey_answer", payload, now)]
        # Staff see scores and choices live; free text may hold anything, so it goes to HQ only.
        live = {k: v for k, v in payload.items() if k not in {"text", "member_id"}}
        effects.append(StoreMessage("survey_answer", live, alert=low))
        following = survey.next_question(current, asked, answer)
        if following is not None:
            view = replace(view, question=following.id, answered=view.answered + 1)
            return Transition(replace(state, view=view), tuple(effects))
        return self._survey_done(state, current, view.answered + 1, effects, now)

    def _survey_done(
        self, state: SessionState, done: Survey, answers: int, effects: list[Effect], now: float
    ) -> Transition:
        member_id = None if state.member is None else state.member.member_id
        effects.append(
            Record(
                "survey_completed",
                {
                    "session": state.session_id,
                    "survey": done.id,
                    "member_id": member_id,
                    "answers": answers,
                    "reward_code": None,  # the coupon_issued record names the session
                },
                now,
            )
        )
        reward = RewardStatus.NONE
        if done.reward is not None:
            reward = RewardStatus.PENDING
            effects.append(
                IssueCoupon(done.reward, "survey", member_id, state.session_id, state.number)
            )
        view = ThanksView(state.number, done.id, reward)
        return Transition(replace(state, view=view, surveyed=True), tuple(effects))

    def _smiley_pressed(
        self, state: SessionState, pressed: SmileyPressed, now: float
    ) -> Transition:
        terminal = survey.terminal_survey(self.surveys)
        if terminal is None or state.active or pressed.score not in survey.SMILEY_SCORES:
            return Transition(state)
        thanks = replace(state, smiley_thanks_until=now + self.config.smiley_thanks)
        last = state.smiley_counted_at
        if last is not None and now - last < self.config.smiley_interval:
            return Transition(thanks)  # a repeated press: thanked, not counted
        asked = survey.first_question(terminal)
        answer = survey.Answer(score=pressed.score)
        low = survey.is_low(terminal, asked, answer)
        payload = _answer_payload(state, terminal, asked, answer, low)
        payload["session"] = f"{state.boot}-terminal"
        effects = (
            Record("survey_answer", payload, now),
            StoreMessage("survey_answer", payload, alert=low),
        )
        return Transition(replace(thanks, smiley_counted_at=now), effects)

    def _draw_opened(self, state: SessionState, opened: DrawOpened, now: float) -> Transition:
        if state.member is None or not any(d.id == opened.draw for d in self.draws):
            return Transition(self._touched(state, now))  # only members draw
        return Transition(self._open(state, lambda number: DrawView(number, opened.draw), now))

    def _draw_requested(self, state: SessionState, now: float) -> Transition:
        view = state.view
        state = self._touched(state, now)
        if not isinstance(view, DrawView) or view.drawing or view.outcome is not None:
            return Transition(state)  # one press, one draw
        if state.member is None:  # their tag left meanwhile: the draw is theirs alone
            return Transition(replace(state, view=replace(view, outcome="member_gone")))
        refusal = draw_refusal(state, view.draw)
        if refusal is not None:  # the screen said so already; a stale tap changes nothing
            return Transition(replace(state, view=replace(view, outcome=refusal)))
        effect = DrawPrize(view.draw, state.member.member_id, state.session_id, state.number)
        drawing = replace(view, drawing=True, started_at=now)
        return Transition(replace(state, view=drawing), (effect,))

    def _draw_skipped(self, state: SessionState, now: float) -> Transition:
        view = state.view
        state = self._touched(state, now)
        if not isinstance(view, DrawView) or not view.drawing or view.skipped:
            return Transition(state)
        state = replace(state, view=replace(view, skipped=True))
        if view.held is None:
            return Transition(state)  # shown the moment the desk answers
        return self._reveal(state, view.held, told=())

    def _reward_ready(self, state: SessionState, ready: RewardReady, now: float) -> Transition:
        view = state.view
        told = _reward_messages(state, ready)  # issued, whether or not they are still here
        if ready.offer is not None:
            return offer_answered(state, ready, told, now)
        if ready.session == state.number and isinstance(view, SignupView):
            # The new member's welcome coupon, shown on the sign-up's last screen.
            got = replace(view, reward=RewardStatus.NONE, coupon=ready.coupon)
            if ready.coupon is None:
                got = replace(view, reward=RewardStatus.REFUSED)
            return Transition(replace(state, view=got), told)
        if isinstance(view, DrawView) and (
            not view.drawing or (ready.coupon is not None and ready.prize is None)
        ):
            # Not this draw's answer (a draw's win names its prize): a welcome coupon come
            # after the new member went on to the draw. It is theirs (at HQ); it must not
            # pass for a prize.
            return Transition(state, told)
        if isinstance(view, DrawView) and ready.session == state.number and view.drawing:
            reveal_at = (view.started_at or now) + self.config.draw_suspense
            if not view.skipped and now < reveal_at:
                return Transition(replace(state, view=replace(view, held=ready)), told)
        return self._reveal(state, ready, told)

    def _reveal(
        self, state: SessionState, ready: RewardReady, told: tuple[Effect, ...]
    ) -> Transition:
        view = state.view
        if ready.session != state.number or not isinstance(view, ThanksView | DrawView):
            return Transition(state, told)  # they walked away meanwhile: the code stays at HQ
        if isinstance(view, DrawView) and ready.refusal not in _DRAW_NOT_HELD:
            # Won, lost or refused for the day: no second draw offered to them today.
            state = _with_standing(state, DrawStanding(state.number, view.draw, "member_limit"))
        if ready.coupon is not None:
            won = CouponView(state.number, ready.coupon, ready.prize)
            return Transition(replace(state, view=won), told)
        if isinstance(view, DrawView):
            outcome = ready.refusal or "no_win"
            done = replace(view, drawing=False, outcome=outcome, held=None)
            return Transition(replace(state, view=done))
        return Transition(replace(state, view=replace(view, reward=RewardStatus.REFUSED)))

    def _flow_closed(self, state: SessionState, now: float) -> Transition:
        if not _in_flow(state) and not isinstance(state.view, FobView):
            return Transition(self._touched(state, now))
        state = replace(self._touched(state, now), wipe_at=None)
        view = _view_for_picks(state)
        if view is not None:  # a phone still in hand: back to it
            return Transition(replace(state, view=view))
        if state.member is not None:
            welcome = WelcomeView(state.number)
            return_at = now + self.config.welcome_seconds
            return Transition(replace(state, view=welcome, return_at=return_at))
        return Transition(_end_session(state), _leds_off(state))

    def _survey(self, survey_id: str) -> Survey | None:
        return next((s for s in self.surveys if s.id == survey_id), None)

    # -- time --

    def advance(self, state: SessionState, now: float) -> Transition:
        """Apply every deadline that has passed by `now`."""
        effects: list[Effect] = []
        if any(not p.confirmed and now >= p.lifted_at + self.config.bounce for p in state.picks):
            state, confirmed = self._confirm_picks(state, now)
            effects.extend(confirmed)
        if state.notice is not None and now >= state.notice.until:
            state = replace(state, notice=None)
        if state.smiley_thanks_until is not None and now >= state.smiley_thanks_until:
            state = replace(state, smiley_thanks_until=None)
        reveal_at = _reveal_at(state, self.config.draw_suspense)
        if reveal_at is not None and now >= reveal_at:
            assert isinstance(state.view, DrawView)
            assert state.view.held is not None
            revealed = self._reveal(state, state.view.held, told=())
            state = revealed.state
            effects.extend(revealed.effects)
        if _in_flow(state):
            countdown_from = state.last_interaction + self.config.form_timeout
            if state.wipe_at is None and now >= countdown_from:
                state = replace(state, wipe_at=countdown_from + self.config.form_countdown)
            if state.wipe_at is not None and now >= state.wipe_at:
                log.info("session ends: walked away from %s", type(state.view).__name__)
                effects.extend(_leds_off(state))
                return Transition(_end_session(state), tuple(effects))
            return Transition(state, tuple(effects))
        if state.active:
            grace_over = state.return_at is not None and now >= state.return_at
            idle = now >= state.last_interaction + self.config.idle_timeout
            if grace_over or idle:
                log.info("session ends: %s", "grace over" if grace_over else "idle")
                effects.extend(_leds_off(state))
                state = _end_session(state)
        return Transition(state, tuple(effects))

    def _confirm_picks(self, state: SessionState, now: float) -> tuple[SessionState, list[Effect]]:
        effects: list[Effect] = []
        picks = []
        newly: set[str | None] = set()
        for old in state.picks:
            pick = old
            if not old.confirmed and now >= old.lifted_at + self.config.bounce:
                pick = replace(old, confirmed=True)
                effects.append(Record("lift", _pick_payload(state, pick), pick.lifted_at))
                newly.add(pick.sku)
                if pick.sku is not None:
                    tally = tally_lift(state.lift_tally, pick.sku, pick.lifted_at)
                    state = replace(state, lift_tally=tally)
            picks.append(pick)
        state = replace(state, picks=tuple(picks))
        view = state.view
        # A comparison counts once both phones are really in hand, recorded by the later one.
        if isinstance(view, CompareView) and newly & {view.left, view.right}:
            held = {p.sku: p for p in state.picks if p.session == state.number}
            both = [held.get(view.left), held.get(view.right)]
            if all(p is not None and p.confirmed for p in both):
                at = max(p.lifted_at for p in both if p is not None)
                skus: list[JsonValue] = [view.left, view.right]
                payload: dict[str, JsonValue] = {"session": state.session_id, "skus": skus}
                if state.member is not None:
                    payload["member_id"] = state.member.member_id
                effects.append(Record("comparison", payload, at))
        return state, effects

    def next_deadline(self, state: SessionState) -> float | None:
        """The earliest time at which `advance` would change something."""
        deadlines = [p.lifted_at + self.config.bounce for p in state.picks if not p.confirmed]
        if state.notice is not None:
            deadlines.append(state.notice.until)
        if state.smiley_thanks_until is not None:
            deadlines.append(state.smiley_thanks_until)
        reveal_at = _reveal_at(state, self.config.draw_suspense)
        if reveal_at is not None:
            deadlines.append(reveal_at)
        if _in_flow(state):
            if state.wipe_at is not None:
                deadlines.append(state.wipe_at)
            else:
                deadlines.append(state.last_interaction + self.config.form_timeout)
        elif state.active:
            deadlines.append(state.last_interaction + self.config.idle_timeout)
            if state.return_at is not None:
                deadlines.append(state.return_at)
        return min(deadlines, default=None)


def _start_session(state: SessionState, now: float) -> SessionState:
    return replace(state, number=state.number + 1, last_interaction=now)


def _end_session(state: SessionState) -> SessionState:
    """Back to attract; phones still off their slots stay known but belong to no one."""
    return SessionState(
        boot=state.boot,
        number=state.number,
        picks=state.picks,
        last_interaction=state.last_interaction,
        smiley_counted_at=state.smiley_counted_at,
        smiley_thanks_until=state.smiley_thanks_until,
        printer_ready=state.printer_ready,
        hq_online=state.hq_online,
        print_job=state.print_job,
        lift_tally=state.lift_tally,
        store_lifts=lift_shares(state.lift_tally),
    )


_DRAW_NOT_HELD = ("unavailable", "not_started", "ended", "member_gone")
"""Draw answers after which the member has not had their draw: no "come back tomorrow"."""


def draw_refusal(state: SessionState, draw: str) -> str | None:
    """Why this session's member may not draw `draw` today, as far as the kiosk knows."""
    return dict(state.draw_refusals).get(draw)


def _with_standing(state: SessionState, standing: DrawStanding) -> SessionState:
    if standing.session != state.number or state.member is None:
        return state  # an answer about a session that is over
    refusals = dict(state.draw_refusals)
    if standing.refusal is None:
        refusals.pop(standing.draw, None)
    else:
        refusals[standing.draw] = standing.refusal
    return replace(state, draw_refusals=tuple(sorted(refusals.items())))


def _reveal_at(state: SessionState, suspense: float) -> float | None:
    """When a held draw result shows: the end of the animation."""
    view = state.view
    if not isinstance(view, DrawView) or view.held is None or view.started_at is None:
        return None
    return view.started_at + suspense


def _in_flow(state: SessionState) -> bool:
    return isinstance(state.view, FlowView)


def _leds_off(state: SessionState) -> tuple[Effect, ...]:
    return tuple(SetLed(slot, LedMode.OFF) for slot in sorted(state.lit_slots))


def _lights_follow_view(done: Transition) -> Transition:
    """A lit slot belongs to the screen it was lit for: when that screen goes (another
    phone lifted, a flow opened, back to attract), its light goes off."""
    state = done.state
    if not state.lit_slots or state.view == state.lit_view:
        return done
    dark = replace(state, lit_slots=frozenset(), lit_view=None)
    return Transition(dark, done.effects + _leds_off(state))


def _view_for_picks(state: SessionState) -> View | None:
    """The latest phones in this session's hands decide the view; None if there are none."""
    skus = [p.sku for p in state.picks if p.session == state.number and p.sku is not None]
    if len(skus) >= 2:
        return CompareView(skus[-2], skus[-1])
    if skus:
        return ProductView(skus[-1], in_hand=True)
    return None


def _pick_payload(state: SessionState, pick: Pick) -> dict[str, JsonValue]:
    session = f"{state.boot}-{pick.session}"
    payload: dict[str, JsonValue] = {"session": session, "slot": pick.slot, "sku": pick.sku}
    if state.member is not None and pick.session == state.number:
        payload["member_id"] = state.member.member_id
    return payload


def _reward_messages(state: SessionState, ready: RewardReady) -> tuple[Effect, ...]:
    if ready.coupon is None:
        return ()
    session = f"{state.boot}-{ready.session}"
    issued = StoreMessage("coupon_issued", {"session": session, "campaign": ready.coupon.campaign})
    if ready.prize is None or ready.draw is None:
        return (issued,)
    won = StoreMessage("prize_won", {"session": session, "draw": ready.draw, "prize": ready.prize})
    return (won, issued)


def _answer_payload(
    state: SessionState,
    answered: Survey,
    asked: SurveyQuestion,
    answer: survey.Answer,
    low: bool,
) -> dict[str, JsonValue]:
    return {
        "session": state.session_id,
        "survey": answered.id,
        "question": asked.id,
        "kind": asked.kind.value,
        "score": answer.score,
        "choices": list(answer.choices) if answer.choices else None,
        "text": answer.text or None,
        "member_id": None if state.member is None else state.member.member_id,
        "low": low,
    }
