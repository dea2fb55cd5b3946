"""The session rules, fed inputs and times by hand: no Qt, no clock, no devices."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from content.model import Language
from devices.events import Alarm, AlarmReason, Dropped, Lifted
from devices.protocols.pickup import LedMode
from kiosk.session import (
    ATTRACT,
    CompareView,
    LanguageChosen,
    MemberArrived,
    MemberLeft,
    MemberVisit,
    ProductView,
    RaiseAlert,
    RecommendationTapped,
    Record,
    SessionConfig,
    SessionInput,
    SessionMachine,
    SessionState,
    SetLed,
    Touched,
    Transition,
    WelcomeView,
)

PLANOGRAM = {1: "XH-N1", 2: "XH-N1P", 3: "LY-A5", 4: "QL-S3"}
ANNA = MemberVisit("7d1c0c1e-5b0e-4c1a-9d4e-0a0a0a0a0a01", "Anna", ("LY-A5", "XH-N1"))
BO = MemberVisit("7d1c0c1e-5b0e-4c1a-9d4e-0a0a0a0a0a02", None, ())
CONFIG = SessionConfig(drop_grace=8.0, bounce=0.15, idle_timeout=120.0, notice_seconds=15.0)


class Driver:
    """Feeds inputs and lets time pass the way the controller does."""

    def __init__(self, config: SessionConfig = CONFIG) -> None:
        self.machine = SessionMachine(config, PLANOGRAM)
        self.state = SessionState(boot="b00t")
        self.effects: list[object] = []

    def at(self, now: float, event: SessionInput | None = None) -> SessionState:
        self._apply(self.machine.advance(self.state, now), now)
        if event is not None:
            self._apply(self.machine.step(self.state, event, now), now)
        return self.state

    def _apply(self, transition: Transition, now: float) -> None:
        for effect in transition.effects:
            if isinstance(effect, Record):  # stamped with when it happened, never later
                assert effect.at <= now, effect
        self.state = transition.state
        self.effects.extend(transition.effects)

    def records(self, kind: str | None = None) -> list[Record]:
        return [e for e in self.effects if isinstance(e, Record) and kind in (None, e.kind)]


def test_lift_during_attract_shows_that_phone_at_once() -> None:
    d = Driver()
    state = d.at(10.0, Lifted(3, 10.0))
    assert state.view == ProductView("LY-A5", in_hand=True)
    assert state.number == 1


def test_second_lift_compares_the_two_phones() -> None:
    d = Driver()
    d.at(10.0, Lifted(3, 10.0))
    state = d.at(12.0, Lifted(1, 12.0))
    assert state.view == CompareView("LY-A5", "XH-N1")


def test_third_lift_compares_the_latest_two() -> None:
    d = Driver()
    d.at(10.0, Lifted(3, 10.0))
    d.at(11.0, Lifted(1, 11.0))
    assert d.at(12.0, Lifted(4, 12.0)).view == CompareView("XH-N1", "QL-S3")
    assert d.at(13.0, Dropped(1, 13.0)).view == CompareView("LY-A5", "QL-S3")


def test_dropping_one_of_two_returns_to_the_remaining_phone() -> None:
    d = Driver()
    d.at(10.0, Lifted(3, 10.0))
    d.at(12.0, Lifted(1, 12.0))
    assert d.at(14.0, Dropped(3, 14.0)).view == ProductView("XH-N1", in_hand=True)


def test_last_drop_keeps_the_screen_for_the_grace_then_attract() -> None:
    d = Driver()
    d.at(10.0, Lifted(3, 10.0))
    d.at(20.0, Dropped(3, 20.0))
    assert d.at(27.9).view == ProductView("LY-A5", in_hand=True)
    assert d.machine.next_deadline(d.state) == pytest.approx(28.0)
    assert d.at(28.0).view == ATTRACT


def test_touch_during_grace_holds_the_screen() -> None:
    d = Driver()
    d.at(10.0, Lifted(3, 10.0))
    d.at(20.0, Dropped(3, 20.0))
    d.at(26.0, Touched())
    assert d.at(33.0).view != ATTRACT
    assert d.at(34.0).view == ATTRACT


def test_idle_timeout_ends_the_session_even_with_a_phone_in_hand() -> None:
    d = Driver()
    d.at(10.0, Lifted(3, 10.0))
    d.at(11.0, LanguageChosen(Language.EN))
    assert d.at(130.9).view != ATTRACT
    state = d.at(131.0)
    assert state.view == ATTRACT
    assert state.language is Language.ZH_CN
    # The phone left on the counter no longer drives the screen of the next shopper.
    assert d.at(140.0, Lifted(1, 140.0)).view == ProductView("XH-N1", in_hand=True)
    assert d.state.number == 2


def test_bounce_is_not_a_pick_and_leaves_no_record() -> None:
    d = Driver()
    d.at(10.0, Lifted(3, 10.0))
    state = d.at(10.1, Dropped(3, 10.1))
    assert state.view == ATTRACT
    d.at(100.0)
    assert d.records() == []


def test_bounce_window_is_configurable() -> None:
    d = Driver(SessionConfig(bounce=0.5))
    d.at(10.0, Lifted(3, 10.0))
    assert d.at(10.4, Dropped(3, 10.4)).view == ATTRACT
    assert d.records() == []


def test_bounce_of_a_second_phone_restores_the_first() -> None:
    d = Driver()
    d.at(10.0, Lifted(3, 10.0))
    d.at(11.0, Lifted(1, 11.0))
    assert d.at(11.05, Dropped(1, 11.05)).view == ProductView("LY-A5", in_hand=True)
    assert [r.kind for r in d.records()] == ["lift"]


def test_bounce_during_grace_keeps_the_grace() -> None:
    d = Driver()
    d.at(10.0, Lifted(3, 10.0))
    d.at(20.0, Dropped(3, 20.0))
    d.at(22.0, Lifted(1, 22.0))
    state = d.at(22.1, Dropped(1, 22.1))
    assert state.view == ProductView("LY-A5", in_hand=True)
    assert state.return_at == pytest.approx(28.0)


def test_lift_and_drop_are_recorded_with_dwell() -> None:
    d = Driver()
    d.at(10.0, Lifted(3, 10.0))
    d.at(10.2)
    d.at(14.5, Dropped(3, 14.5))
    lift, drop = d.records()
    assert lift.kind == "lift"
    assert lift.at == 10.0
    assert lift.payload == {"session": "b00t-1", "slot": 3, "sku": "LY-A5"}
    assert drop.kind == "drop"
    assert drop.payload["dwell_ms"] == 4500


def test_comparison_is_recorded_once_both_phones_are_really_lifted() -> None:
    d = Driver()
    d.at(10.0, Lifted(3, 10.0))
    d.at(12.0, Lifted(1, 12.0))
    d.at(12.2)
    (comparison,) = d.records("comparison")
    assert comparison.payload == {"session": "b00t-1", "skus": ["LY-A5", "XH-N1"]}


def test_repeated_lift_of_the_same_slot_changes_nothing() -> None:
    d = Driver()
    d.at(10.0, Lifted(3, 10.0))
    before = d.state
    assert d.at(10.0, Lifted(3, 10.0, resync=True)) == before


def test_drop_of_a_slot_never_lifted_is_ignored() -> None:
    d = Driver()
    assert d.at(5.0, Dropped(2, 5.0)) == SessionState(boot="b00t")


def test_lift_of_an_unassigned_slot_does_not_leave_attract() -> None:
    d = Driver()
    assert d.at(5.0, Lifted(9, 5.0)).view == ATTRACT


def test_tapping_a_recommendation_in_the_cabinet_lights_its_slot() -> None:
    d = Driver()
    d.at(10.0, Lifted(3, 10.0))
    state = d.at(15.0, RecommendationTapped("QL-S3", "related"))
    assert SetLed(4, LedMode.ON) in d.effects
    assert state.view == ProductView("QL-S3", in_hand=False)
    assert state.notice is not None
    assert state.notice.slot == 4
    assert state.notice.sku == "QL-S3"
    (tap,) = d.records("recommendation_tap")
    assert tap.payload == {
        "session": "b00t-1",
        "sku": "QL-S3",
        "shelf": "related",
        "from": "product:LY-A5",
        "slot": 4,
    }
    assert tap.at == 15.0


def test_lit_slot_goes_dark_when_the_shopper_lifts_that_phone() -> None:
    d = Driver()
    d.at(10.0, Lifted(3, 10.0))
    d.at(15.0, RecommendationTapped("QL-S3", "related"))
    d.at(18.0, Lifted(4, 18.0))
    assert SetLed(4, LedMode.OFF) in d.effects
    assert d.state.lit_slots == frozenset()


def test_lit_slots_go_dark_when_the_session_ends() -> None:
    d = Driver()
    d.at(10.0, Lifted(3, 10.0))
    d.at(15.0, RecommendationTapped("QL-S3", "best_sellers"))
    d.at(16.0, Dropped(3, 16.0))
    d.at(24.0)
    assert d.state.view == ATTRACT
    assert d.effects[-1] == SetLed(4, LedMode.OFF)


def test_lit_slot_goes_dark_when_another_phone_is_lifted() -> None:
    d = Driver()
    d.at(10.0, Lifted(3, 10.0))
    d.at(15.0, RecommendationTapped("QL-S3", "related"))
    state = d.at(18.0, Lifted(1, 18.0))  # the shopper picked another phone instead
    assert state.view == CompareView("LY-A5", "XH-N1")
    assert state.lit_slots == frozenset()
    assert d.effects[-1] == SetLed(4, LedMode.OFF)


def test_a_second_recommendation_moves_the_light() -> None:
    d = Driver()
    d.at(10.0, Lifted(3, 10.0))
    d.at(15.0, RecommendationTapped("QL-S3", "related"))
    state = d.at(16.0, RecommendationTapped("XH-N1P", "related"))
    assert state.lit_slots == {2}
    assert d.effects[-2:] == [SetLed(4, LedMode.OFF), SetLed(2, LedMode.ON)]


def test_lit_slot_stays_while_its_screen_does() -> None:
    d = Driver()
    d.at(10.0, Lifted(3, 10.0))
    d.at(15.0, RecommendationTapped("QL-S3", "related"))
    d.at(16.0, Touched())
    d.at(17.0, LanguageChosen(Language.EN))
    state = d.at(18.0, RecommendationTapped("QL-S3", "related"))  # tapped again
    assert state.lit_slots == {4}
    assert [e for e in d.effects if isinstance(e, SetLed)] == [SetLed(4, LedMode.ON)]


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            [
                Lifted(1, 0.0),
                Lifted(3, 0.0),
                Dropped(1, 0.0),
                Dropped(3, 0.0),
                RecommendationTapped("QL-S3", "related"),
                RecommendationTapped("XH-N1P", "best_sellers"),
                MemberArrived(ANNA, deliberate=True),
                MemberLeft(ANNA.member_id),
                Touched(),
            ]
        ),
        max_size=12,
    )
)
def test_a_slot_is_lit_only_while_the_screen_it_was_lit_for_shows(
    events: list[SessionInput],
) -> None:
    d = Driver()
    board: dict[int, LedMode] = {}  # what the cabinet's LEDs show
    for i, given_event in enumerate(events):
        now = 10.0 + i
        event = given_event
        if isinstance(given_event, Lifted | Dropped):
            event = type(given_event)(given_event.slot, now)
        before = len(d.effects)
        state = d.at(now, event)
        for effect in d.effects[before:]:
            if isinstance(effect, SetLed):
                board[effect.slot] = effect.mode
        lit = {slot for slot, mode in board.items() if mode is LedMode.ON}
        assert lit == state.lit_slots
        if lit:  # lit for the recommended phone on screen, not in hand
            assert isinstance(state.view, ProductView)
            assert state.view.in_hand is False
            assert lit == {d.machine.slot_of(state.view.sku)}


def test_recommendation_outside_the_cabinet_tells_to_ask_staff() -> None:
    d = Driver()
    d.at(10.0, Lifted(3, 10.0))
    state = d.at(15.0, RecommendationTapped("NOT-HERE", "best_sellers"))
    assert state.notice is not None
    assert state.notice.slot is None
    assert not any(isinstance(e, SetLed) for e in d.effects)


def test_notice_disappears_after_its_time() -> None:
    d = Driver()
    d.at(10.0, Lifted(3, 10.0))
    d.at(15.0, RecommendationTapped("QL-S3", "related"))
    assert d.at(29.9).notice is not None
    assert d.at(30.0).notice is None


def test_alarm_is_recorded_and_raised_without_changing_the_screen() -> None:
    d = Driver()
    d.at(10.0, Lifted(3, 10.0))
    before = d.at(10.5)
    state = d.at(11.0, Alarm(3, AlarmReason.CABLE_CUT, 11.0))
    assert state == before
    assert RaiseAlert(3, AlarmReason.CABLE_CUT, "LY-A5") in d.effects
    (alarm,) = d.records("alarm")
    assert alarm.payload == {"slot": 3, "sku": "LY-A5", "reason": "CABLE"}


def test_touch_on_attract_starts_nothing() -> None:
    d = Driver()
    assert d.at(5.0, Touched()) == SessionState(boot="b00t")


def test_language_choice_is_kept_for_the_session() -> None:
    d = Driver()
    d.at(10.0, Lifted(3, 10.0))
    assert d.at(11.0, LanguageChosen(Language.EN)).language is Language.EN
    assert d.at(12.0, Lifted(1, 12.0)).language is Language.EN


inputs = st.one_of(
    st.builds(Lifted, slot=st.integers(1, 5), at=st.just(0.0)),
    st.builds(Dropped, slot=st.integers(1, 5), at=st.just(0.0)),
    st.builds(Touched),
    st.builds(
        RecommendationTapped,
        sku=st.sampled_from(["XH-N1", "QL-S3", "NOPE"]),
        shelf=st.just("related"),
    ),
    st.builds(LanguageChosen, language=st.sampled_from(Language)),
    st.builds(Alarm, slot=st.integers(1, 5), reason=st.sampled_from(AlarmReason), at=st.just(0.0)),
    st.builds(
        MemberArrived,
        visit=st.sampled_from([ANNA, BO]),
        deliberate=st.booleans(),
    ),
    st.builds(MemberLeft, member_id=st.sampled_from([ANNA.member_id, BO.member_id])),
)


@settings(max_examples=300)
@given(st.lists(st.tuples(st.floats(0, 200), inputs), max_size=40))
def test_any_sequence_keeps_the_screen_consistent(steps: list[tuple[float, SessionInput]]) -> None:
    d = Driver()
    now = 0.0
    for gap, event in steps:
        now += gap
        state = d.at(now, event)
        lifted = {p.slot for p in state.picks}
        assert len(lifted) == len(state.picks)
        assert all(p.session <= state.number for p in state.picks)
        if isinstance(state.view, CompareView):
            assert state.view.left != state.view.right
        if isinstance(state.view, WelcomeView):
            assert state.member is not None  # a welcome is always someone's
        if not state.active:
            assert state.member is None  # the attract loop knows nobody
        deadline = d.machine.next_deadline(state)
        assert deadline is None or deadline > now  # nothing is ever left overdue
    # Every drop recorded matches a lift recorded before it.
    lifts = [r.payload["slot"] for r in d.records("lift")]
    drops = [r.payload["slot"] for r in d.records("drop")]
    for slot in set(drops):
        assert drops.count(slot) <= lifts.count(slot)
    # Left alone long enough, any session ends and every light goes out.
    final = d.at(now + 1000)
    assert final.view == ATTRACT
    assert final.lit_slots == frozenset()
    assert final.member is None


def test_comparison_of_two_quick_lifts_is_recorded_once_after_both_lifts() -> None:
    d = Driver()
    d.at(10.0, Lifted(3, 10.0))
    d.at(10.05, Lifted(1, 10.05))
    d.at(10.5)
    assert [r.kind for r in d.records()] == ["lift", "lift", "comparison"]


def test_comparison_with_a_bounced_second_phone_is_not_recorded() -> None:
    d = Driver()
    d.at(10.0, Lifted(3, 10.0))
    d.at(10.05, Lifted(1, 10.05))
    d.at(10.1, Dropped(1, 10.1))
    d.at(11.0)
    assert [r.kind for r in d.records()] == ["lift"]


def test_a_comparison_waits_for_the_second_phone_and_carries_its_lift_time() -> None:
    d = Driver()
    d.at(10.0, Lifted(3, 10.0))
    d.at(10.1, Lifted(1, 10.1))
    d.at(10.2)  # the first phone is in hand, the second may still bounce
    assert d.records("comparison") == []
    d.at(10.3)
    d.at(11.0)
    (comparison,) = d.records("comparison")
    assert comparison.at == 10.1


def test_a_second_phone_bouncing_after_the_first_is_in_hand_records_no_comparison() -> None:
    d = Driver()
    d.at(10.0, Lifted(3, 10.0))
    d.at(10.1, Lifted(1, 10.1))
    d.at(10.2, Dropped(1, 10.2))
    d.at(11.0)
    assert [r.kind for r in d.records()] == ["lift"]


def test_a_phone_put_back_after_its_session_ended_still_records_its_drop() -> None:
    d = Driver()
    d.at(10.0, Lifted(3, 10.0))
    assert d.at(130.0).view == ATTRACT  # idle: the phone stays on the counter
    d.at(140.0, Dropped(3, 140.0))
    (drop,) = d.records("drop")
    assert (drop.payload["slot"], drop.payload["dwell_ms"], drop.at) == (3, 130_000, 140.0)


def test_a_lift_during_the_grace_keeps_the_screen_while_the_phone_is_in_hand() -> None:
    d = Driver()
    d.at(10.0, Lifted(3, 10.0))
    d.at(20.0, Dropped(3, 20.0))
    d.at(25.0, Lifted(1, 25.0))
    assert d.at(20.0 + CONFIG.drop_grace + 1).view == ProductView("XH-N1", in_hand=True)


def test_each_lift_and_drop_holds_off_the_idle_end() -> None:
    d = Driver()
    d.at(10.0, Lifted(3, 10.0))
    d.at(100.0, Lifted(1, 100.0))
    assert d.at(200.0).view == CompareView("LY-A5", "XH-N1")  # idle counts from 100
    d.at(215.0, Dropped(1, 215.0))
    assert d.at(300.0).view == ProductView("LY-A5", in_hand=True)  # and now from 215
    d.at(330.0, Dropped(3, 330.0))  # 115 s after the last: the grace still follows
    assert d.at(336.0).view == ProductView("LY-A5", in_hand=True)
    assert d.at(330.0 + CONFIG.drop_grace).view == ATTRACT


def test_a_lift_clears_the_ask_staff_notice() -> None:
    d = Driver()
    d.at(10.0, Lifted(3, 10.0))
    d.at(15.0, RecommendationTapped("NOT-HERE", "best_sellers"))
    assert d.at(16.0, Lifted(1, 16.0)).notice is None


def test_a_phone_off_the_planogram_during_a_comparison_records_no_second_comparison() -> None:
    d = Driver()
    d.at(10.0, Lifted(3, 10.0))
    d.at(11.0, Lifted(1, 11.0))
    d.at(12.0)
    d.at(13.0, Lifted(7, 13.0))  # a slot the planogram does not assign
    d.at(14.0)
    assert len(d.records("comparison")) == 1


# --- recognised members ------------------------------------------------------------


def test_a_member_tapping_their_fob_is_welcomed() -> None:
    d = Driver()
    state = d.at(10.0, MemberArrived(ANNA, deliberate=True))
    assert state.view == WelcomeView(1)
    assert state.member == ANNA
    assert state.number == 1


def test_a_member_tag_walking_up_to_the_idle_screen_is_welcomed() -> None:
    d = Driver()
    assert d.at(10.0, MemberArrived(ANNA, deliberate=False)).view == WelcomeView(1)


def test_the_members_lifts_drops_and_taps_are_recorded_against_them() -> None:
    d = Driver()
    d.at(10.0, MemberArrived(ANNA, deliberate=True))
    d.at(11.0, Lifted(3, 11.0))
    d.at(12.0, Lifted(1, 12.0))
    d.at(13.0, Dropped(1, 13.0))
    d.at(14.0, RecommendationTapped("QL-S3", "related"))
    kinds = [r.kind for r in d.records()]
    assert kinds == ["lift", "lift", "comparison", "drop", "recommendation_tap"]
    assert {r.payload.get("member_id") for r in d.records()} == {ANNA.member_id}


def test_lifting_from_the_welcome_shows_the_phone() -> None:
    d = Driver()
    d.at(10.0, MemberArrived(ANNA, deliberate=True))
    assert d.at(11.0, Lifted(2, 11.0)).view == ProductView("XH-N1P", in_hand=True)


def test_an_untouched_welcome_returns_to_attract_and_forgets_the_member() -> None:
    d = Driver()
    d.at(10.0, MemberArrived(ANNA, deliberate=True))
    d.at(10.0 + CONFIG.welcome_seconds - 1, Touched())  # a touch keeps it
    assert d.at(10.0 + CONFIG.welcome_seconds + 1).view == WelcomeView(1)
    assert d.at(10.0 + CONFIG.welcome_seconds + CONFIG.drop_grace).view == WelcomeView(1)
    state = d.at(10.0 + 2 * CONFIG.welcome_seconds)
    assert state.view == ATTRACT
    assert state.member is None


def test_a_passing_tag_never_takes_over_someone_elses_session() -> None:
    d = Driver()
    d.at(10.0, Lifted(3, 10.0))
    state = d.at(11.0, MemberArrived(ANNA, deliberate=False))
    assert state.view == ProductView("LY-A5", in_hand=True)
    assert state.member is None
    d.at(12.0, Dropped(3, 12.0))
    assert all("member_id" not in r.payload for r in d.records())


def test_a_fob_tapped_mid_session_claims_it_without_hiding_the_phone_in_hand() -> None:
    d = Driver()
    d.at(10.0, Lifted(3, 10.0))
    state = d.at(11.0, MemberArrived(ANNA, deliberate=True))
    assert state.view == ProductView("LY-A5", in_hand=True)
    assert state.member == ANNA
    d.at(12.0, Dropped(3, 12.0))
    assert d.records("drop")[0].payload["member_id"] == ANNA.member_id


def test_another_members_fob_starts_a_fresh_session() -> None:
    d = Driver()
    d.at(10.0, MemberArrived(ANNA, deliberate=True))
    d.at(11.0, RecommendationTapped("QL-S3", "for_you"))
    assert d.state.lit_slots == {4}
    state = d.at(12.0, MemberArrived(BO, deliberate=True))
    assert state.member == BO
    assert state.view == WelcomeView(2)
    assert state.number == 2
    assert state.lit_slots == frozenset()  # Anna's light is not left on for Bo
    assert SetLed(4, LedMode.OFF) in d.effects


def test_a_phone_from_an_ended_session_going_back_leaves_the_next_welcome_alone() -> None:
    d = Driver()
    d.at(10.0, Lifted(3, 10.0))
    assert d.at(130.0).view == ATTRACT  # idle: the phone stays on the counter
    d.at(140.0, MemberArrived(ANNA, deliberate=True))
    d.at(141.0, Dropped(3, 141.0))
    assert d.at(141.0 + CONFIG.drop_grace + 1).view == WelcomeView(2)
    assert d.at(140.0 + CONFIG.welcome_seconds).view == ATTRACT


def test_a_member_is_served_in_their_own_language() -> None:
    visit = MemberVisit(ANNA.member_id, "Anna", (), language=Language.EN)
    assert Driver().at(10.0, MemberArrived(visit, deliberate=True)).language is Language.EN


def test_a_fob_tapped_with_a_phone_in_hand_keeps_the_phone_past_the_welcome_time() -> None:
    d = Driver()
    d.at(10.0, Lifted(3, 10.0))
    d.at(11.0, MemberArrived(ANNA, deliberate=True))
    assert d.at(12.0 + CONFIG.welcome_seconds).view == ProductView("LY-A5", in_hand=True)


def test_the_members_tag_leaving_ends_their_welcome() -> None:
    d = Driver()
    d.at(10.0, MemberArrived(ANNA, deliberate=False))
    state = d.at(11.0, MemberLeft(ANNA.member_id))
    assert state.view == ATTRACT
    assert state.member is None


def test_after_the_member_leaves_the_phones_in_hand_are_nobodys() -> None:
    d = Driver()
    d.at(10.0, MemberArrived(ANNA, deliberate=False))
    d.at(11.0, Lifted(3, 11.0))
    state = d.at(12.0, MemberLeft(ANNA.member_id))
    assert state.view == ProductView("LY-A5", in_hand=True)
    d.at(13.0, Dropped(3, 13.0))
    assert "member_id" not in d.records("drop")[0].payload


def test_someone_elses_tag_leaving_changes_nothing() -> None:
    d = Driver()
    d.at(10.0, MemberArrived(ANNA, deliberate=False))
    assert d.at(11.0, MemberLeft(BO.member_id)).member == ANNA


def test_the_stores_lifts_reach_the_shelves_when_a_session_ends_not_during_it() -> None:
    d = Driver()
    d.at(10.0, Lifted(3, 10.0))
    d.at(11.0, Dropped(3, 11.0))
    state = d.at(12.0, Lifted(1, 12.0))
    assert state.store_lifts == {}  # the panels prepared for this session still hold
    d.at(13.0, Lifted(3, 13.0))  # a bounce is not a lift: only confirmed ones count
    d.at(13.05, Dropped(3, 13.05))
    d.at(14.0, Dropped(1, 14.0))
    state = d.at(30.0)  # the grace is over
    assert state.view == ATTRACT
    assert state.store_lifts == {"LY-A5": pytest.approx(1.0, rel=1e-4), "XH-N1": 1.0}
    d.at(40.0, Lifted(1, 40.0))
    d.at(41.0, Dropped(1, 41.0))
    state = d.at(60.0)
    assert state.store_lifts["XH-N1"] == pytest.approx(1.0)
    assert state.store_lifts["LY-A5"] == pytest.approx(0.5, rel=1e-3)
