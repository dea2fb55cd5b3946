"""The shopper session as a pure state machine.

`SessionMachine.step(state, input, now)` and `SessionMachine.advance(state, now)`
return the next state and the effects to carry out; nothing here touches Qt,
files, devices or the clock, so every rule is tested by feeding inputs and
times. `now` is a `time.monotonic()` reading.

Rules, in the shop's words:
- Lifting a phone shows it at once; lifting a second compares the two latest.
- A phone put back within the bounce window was never picked: no records.
- Putting the last phone back keeps its screen for a grace period; every
  touch restarts the grace. Then the attract loop returns.
- With no interaction for the idle timeout, the session ends, whatever the
  cabinet says: the next shopper starts clean, in the default language.
- Tapping a recommended phone that sits in this cabinet lights its slot.
- A recognised member (their fob tapped, or their tag walking up to an idle
  screen) is welcomed with what they looked at last time; their lifts and taps
  are recorded against them until the session ends or their tag leaves. A tag
  passing by never takes over a screen someone else is using; a fob tapped by
  another member starts a fresh session, so nobody sees another's picks.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import assert_never

from content.model import Language
from devices.events import Alarm, AlarmReason, Dropped, Lifted
from devices.protocols.pickup import LedMode

log = logging.getLogger("kiosk.session")

JsonValue = str | int | float | bool | None | list["JsonValue"] | dict[str, "JsonValue"]


# --- what the screen shows -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AttractView:
    @property
    def key(self) -> str:
        return "attract"


@dataclass(frozen=True, slots=True)
class ProductView:
    sku: str
    # False when the shopper tapped a recommendation rather than lifting the phone.
    in_hand: bool

    @property
    def key(self) -> str:
        return f"product:{self.sku}"


@dataclass(frozen=True, slots=True)
class CompareView:
    left: str
    right: str

    @property
    def key(self) -> str:
        return f"compare:{self.left}:{self.right}"


@dataclass(frozen=True, slots=True)
class WelcomeView:
    """A recognised member's welcome: greeting, what they looked at last time, picks.

    One per session, so the next member's welcome is a new screen. The key names
    no one (screen keys go to the trace): only the session number."""

    session: int

    @property
    def key(self) -> str:
        return f"welcome:{self.session}"


View = AttractView | ProductView | CompareView | WelcomeView
ATTRACT = AttractView()


@dataclass(frozen=True, slots=True)
class LocateNotice:
    """Tells the shopper where a tapped phone is: a slot of this cabinet, or ask staff."""

    sku: str
    slot: int | None
    until: float


# --- inputs from the screen (device inputs are devices.events) ---------------------------


@dataclass(frozen=True, slots=True)
class Touched:
    """Any touch on the screen: the shopper is still there."""


@dataclass(frozen=True, slots=True)
class RecommendationTapped:
    sku: str
    shelf: str  # which list it came from: "related" or "best_sellers"


@dataclass(frozen=True, slots=True)
class LanguageChosen:
    language: Language


@dataclass(frozen=True, slots=True)
class MemberVisit:
    """A member the kiosk recognised, as the member feed describes them.

    Only members who consented to recognition are in the feed; `greeting_name`
    is set only where they allowed being greeted by name."""

    member_id: str
    greeting_name: str | None = field(repr=False)
    last_viewed: tuple[str, ...]  # SKUs, most recent first
    language: Language | None = None  # their language, when the feed knows it


@dataclass(frozen=True, slots=True)
class MemberArrived:
    """A reader recognised a member. `deliberate`: a fob tapped on the reader, as
    opposed to a tag that came within range."""

    visit: MemberVisit
    deliberate: bool


@dataclass(frozen=True, slots=True)
class MemberLeft:
    """The member's tag left the kiosk's range."""

    member_id: str


SessionInput = (
    Lifted
    | Dropped
    | Alarm
    | Touched
    | RecommendationTapped
    | LanguageChosen
    | MemberArrived
    | MemberLeft
)


# --- effects for the controller to carry out ---------------------------------------------


@dataclass(frozen=True, slots=True)
class Record:
    """Append a fact to the outbox; `at` is the monotonic time it happened."""

    kind: str
    payload: Mapping[str, JsonValue]
    at: float


@dataclass(frozen=True, slots=True)
class SetLed:
    slot: int
    mode: LedMode


@dataclass(frozen=True, slots=True)
class RaiseAlert:
    """For store staff only; the shopper's screen never shows it."""

    slot: int
    reason: AlarmReason
    sku: str | None


Effect = Record | SetLed | RaiseAlert


# --- state -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Pick:
    """A phone off its slot. `confirmed` once it outlived the bounce window."""

    slot: int
    sku: str | None
    lifted_at: float
    session: int
    confirmed: bool = False
    # What the screen showed before this lift, restored if the lift was only a bounce.
    before: View = ATTRACT
    before_return_at: float | None = None


@dataclass(frozen=True, slots=True)
class SessionState:
    boot: str  # id of this kiosk run; with `number` it makes session ids unique
    number: int = 0  # current (or last) shopper session; 0 before the first
    view: View = ATTRACT
    picks: tuple[Pick, ...] = ()  # every phone off its slot, in lift order
    language: Language = Language.ZH_CN
    last_interaction: float = 0.0
    return_at: float | None = None  # grace deadline after the last phone went back
    notice: LocateNotice | None = None
    lit_slots: frozenset[int] = frozenset()
    member: MemberVisit | None = None  # the recognised member this session belongs to

    @property
    def active(self) -> bool:
        return self.view != ATTRACT

    @property
    def session_id(self) -> str:
        return f"{self.boot}-{self.number}"


@dataclass(frozen=True, slots=True)
class SessionConfig:
    drop_grace: float = 8.0  # seconds the last product stays after it is put back
    bounce: float = 0.150  # a phone back within this is a bounce, not a pick
    idle_timeout: float = 120.0  # no touch, lift or drop for this long ends the session
    notice_seconds: float = 15.0  # how long "find it on slot N" stays up
    welcome_seconds: float = 30.0  # a welcome nobody touches returns to attract


@dataclass(frozen=True, slots=True)
class Transition:
    state: SessionState
    effects: tuple[Effect, ...] = ()


@dataclass(frozen=True, slots=True)
class SessionMachine:
    """The rules, bound to this cabinet's planogram (slot -> SKU)."""

    config: SessionConfig
    slot_skus: Mapping[int, str]
    _sku_slots: Mapping[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_sku_slots", {sku: s for s, sku in self.slot_skus.items()})

    def slot_of(self, sku: str) -> int | None:
        return self._sku_slots.get(sku)

    # -- inputs --

    def step(self, state: SessionState, event: SessionInput, now: float) -> Transition:
        """Deadlines that passed by `now` apply first, whether or not a timer fired yet."""
        due = self.advance(state, now)
        handled = self._handle(due.state, event, now)
        return Transition(handled.state, due.effects + handled.effects)

    def _handle(  # noqa: PLR0911 - one return per kind of input
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
        view = _view_for_picks(state) or state.view
        return Transition(
            replace(state, view=view, last_interaction=now, return_at=None), tuple(effects)
        )

    def _dropped(self, state: SessionState, slot: int, now: float) -> Transition:
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
        return replace(state, last_interaction=now, return_at=return_at)

    def _linger(self, view: View) -> float:
        """How long a screen with no phone in hand stays after the last touch."""
        if isinstance(view, WelcomeView):
            return self.config.welcome_seconds
        return self.config.drop_grace

    def _member_arrived(
        self, state: SessionState, arrived: MemberArrived, now: float
    ) -> Transition:
        visit = arrived.visit
        if state.member is not None and state.member.member_id == visit.member_id:
            return Transition(self._touched(state, now))  # seen again: still here
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
            state, member=visit, view=view, last_interaction=now, return_at=return_at, notice=None
        )
        return Transition(state, effects)

    def _member_left(self, state: SessionState, left: MemberLeft) -> Transition:
        if state.member is None or state.member.member_id != left.member_id:
            return Transition(state)
        if isinstance(state.view, WelcomeView):
            # Their welcome must not wait for the next person to walk up.
            return Transition(_end_session(state), _leds_off(state))
        # Someone may carry on with the phones; what they do is no longer the member's.
        return Transition(replace(state, member=None))

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
        if slot is not None and not in_hand and slot not in state.lit_slots:
            effects.append(SetLed(slot, LedMode.ON))
            state = replace(state, lit_slots=state.lit_slots | {slot})
        if state.member is not None:
            payload["member_id"] = state.member.member_id
        notice = LocateNotice(tap.sku, slot, now + self.config.notice_seconds)
        view = ProductView(tap.sku, in_hand=in_hand)
        return Transition(replace(state, view=view, notice=notice), tuple(effects))

    # -- time --

    def advance(self, state: SessionState, now: float) -> Transition:
        """Apply every deadline that has passed by `now`."""
        effects: list[Effect] = []
        if any(not p.confirmed and now >= p.lifted_at + self.config.bounce for p in state.picks):
            state, confirmed = self._confirm_picks(state, now)
            effects.extend(confirmed)
        if state.notice is not None and now >= state.notice.until:
            state = replace(state, notice=None)
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
        if state.active:
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
    )


def _leds_off(state: SessionState) -> tuple[Effect, ...]:
    return tuple(SetLed(slot, LedMode.OFF) for slot in sorted(state.lit_slots))


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
