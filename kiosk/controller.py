"""Runs the session machine on the GUI thread and carries out its effects.

Inputs arrive as device events (through the bridge) and screen intents; the
machine answers with a new state and effects. Effects become outbox records
(queued, never written on this thread), LED commands (queued to the board's
writer), alerts, requests to the reward desk (answered through the bridge) and
live messages for store staff (kiosk.channel_feed decides which, queued to the
channel writer thread). A single-shot timer wakes the machine at its next
deadline.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import UTC, datetime

from PySide6.QtCore import QObject, Qt, QTimer, Signal

from backend_client.records import OutboxRecord
from content.model import Language
from devices.events import Alarm, DeviceHealth, Dropped, HealthStatus, Lifted, Unreadable
from devices.protocols.pickup import LedMode
from kiosk import channel_feed
from kiosk.channel_feed import ChannelNote
from kiosk.device_bridge import BridgeEvent
from kiosk.session import (
    AgeAnswered,
    CheckDraws,
    CheckOffers,
    CouponPrinted,
    DrawOpened,
    DrawPrize,
    DrawRequested,
    DrawSkipped,
    DrawStanding,
    Effect,
    FlowClosed,
    HqLinkChanged,
    IssueCoupon,
    LanguageChosen,
    MemberArrived,
    MemberLeft,
    OfferPrintAsked,
    OfferTaken,
    OfferTakesKnown,
    OfferTextAsked,
    PrintCoupon,
    PrinterReady,
    RaiseAlert,
    RecommendationTapped,
    Record,
    RewardReady,
    SessionInput,
    SessionMachine,
    SessionState,
    SetLed,
    SignupOpened,
    SignupSubmitted,
    SmileyPressed,
    StoreMessage,
    SurveyAnswered,
    SurveyOpened,
    TagPresented,
    TakeOffer,
    Touched,
    Transition,
)
from kiosk.signup import SignupForm
from kiosk.survey import Answer
from kiosk.trace import Trace, wall_clock_at
from rewards.offers import OfferBook

log = logging.getLogger("kiosk.controller")

RECORD_SCHEMA_VERSION = 1

RewardEffect = IssueCoupon | DrawPrize | CheckDraws | CheckOffers | TakeOffer


class SessionController(QObject):
    state_changed = Signal(object)  # SessionState
    alert_raised = Signal(object)  # RaiseAlert, for the attendant channel
    health_changed = Signal(object)  # DeviceHealth

    def __init__(
        self,
        machine: SessionMachine,
        state: SessionState,
        *,
        append_record: Callable[[OutboxRecord], None],
        set_led: Callable[[int, LedMode], None],
        trace: Trace,
        request_reward: Callable[[RewardEffect], None] | None = None,
        publish: Callable[[ChannelNote, datetime], None] | None = None,
        can_bind: Callable[[], bool] = lambda: False,
        clock: Callable[[], float] = time.monotonic,
        print_coupon: Callable[[PrintCoupon], None] | None = None,
        wall_clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        """`request_reward` hands coupon and draw requests to the reward desk, whose
        answers come back as RewardReady through the bridge; `can_bind` says whether
        a fob could be linked at sign-up now (a reader and the chain's tag key);
        `publish` queues a message for the store channel, stamped with when it happened;
        `print_coupon` queues a member offer's coupon for the receipt printer (never
        blocks); `wall_clock` stamps a member's arrival (aware) for the offer decision."""
        super().__init__()
        self._machine = machine
        self._state = state
        self._append_record = append_record
        self._set_led = set_led
        self._trace = trace
        self._request_reward = request_reward
        self._publish = publish
        self._can_bind = can_bind
        self._clock = clock
        self._print_coupon = print_coupon
        self._wall_clock = wall_clock
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.timeout.connect(self._on_deadline)
        self._stopped = False
        self._devices_down: dict[str, bool] = {}  # device -> down, as the trace last said

    @property
    def state(self) -> SessionState:
        return self._state

    @property
    def slot_skus(self) -> Mapping[int, str]:
        """The planogram the session runs on: slot -> sku."""
        return self._machine.slot_skus

    def set_slots(self, slot_skus: Mapping[int, str]) -> None:
        """Staff changed the planogram: the next lift of a slot shows its new phone."""
        if dict(slot_skus) != dict(self._machine.slot_skus):
            log.info("planogram now assigns %d slots", len(slot_skus))
            self._machine = replace(self._machine, slot_skus=dict(slot_skus))

    def set_machine(self, machine: SessionMachine) -> None:
        """A new content release (on the attract loop): its planogram, notices, surveys
        and draws rule from the next input on."""
        log.info("content now assigns %d slots", len(machine.slot_skus))
        self._machine = machine
        self._schedule()

    def set_offers(self, offers: OfferBook | None) -> None:
        """The bundle's member offers, ready to decide with (made after the first frame)."""
        log.info("member offers: %d", 0 if offers is None else len(offers))
        self._machine = replace(self._machine, offers=offers)

    def stop(self) -> None:
        """At shutdown: no more deadlines, and inputs still in flight change nothing."""
        self._stopped = True
        self._timer.stop()

    # -- inputs --

    def on_device_event(self, event: BridgeEvent) -> None:
        """Slot for the device bridge; runs on the GUI thread."""
        match event:
            case DeviceHealth():
                if event.device == "printer":  # the Print button shows only while it is up
                    ready = event.status is HealthStatus.UP
                    self._feed(PrinterReady(ready), self._clock())
                if self._health_news(event):
                    self._trace.emit(
                        "health", mono=event.at, device=event.device, status=event.status.value
                    )
                self.health_changed.emit(event)
                if self._publish is not None:
                    self._tell_staff(channel_feed.device(event), event.at)
            case Lifted() | Dropped():
                self._trace.emit(
                    "device",
                    mono=event.at,
                    event=type(event).__name__.lower(),
                    slot=event.slot,
                    resync=event.resync,
                )
                self._feed(event, event.at)
            case Alarm():
                self._trace.emit(
                    "device", mono=event.at, event="alarm", slot=event.slot, reason=event.reason
                )
                self._feed(event, event.at)
            case Unreadable():
                self._trace.emit("noise", mono=event.at, device=event.device, reason=event.reason)
            case MemberArrived():
                # The offer decision follows the store's days and hours: the wall clock
                # is read here, at the edge, so the machine stays a pure function.
                self._feed(replace(event, wall=self._wall_clock()), self._clock())
            case (
                MemberLeft()
                | TagPresented()
                | RewardReady()
                | DrawStanding()
                | OfferTakesKnown()
                | CouponPrinted()
                | HqLinkChanged()
            ):
                self._feed(event, self._clock())

    def _health_news(self, health: DeviceHealth) -> bool:
        """Whether the trace should note `health`: a device lost, then back, once each.
        A missing reader retries every second or two; each retry is not news."""
        down = health.status is not HealthStatus.UP
        if self._devices_down.get(health.device) == down:
            return False
        self._devices_down[health.device] = down
        return True

    def touched(self) -> None:
        self._feed(Touched(), self._clock())

    def recommendation_tapped(self, sku: str, shelf: str) -> None:
        self._feed(RecommendationTapped(sku, shelf), self._clock())

    def language_chosen(self, language: Language) -> None:
        self._feed(LanguageChosen(language), self._clock())

    def signup_opened(self) -> None:
        self._feed(SignupOpened(), self._clock())

    def age_answered(self, old_enough: bool) -> None:
        self._feed(AgeAnswered(old_enough), self._clock())

    def signup_submitted(self, form: SignupForm) -> None:
        submitted = SignupSubmitted(form, str(uuid.uuid4()), can_bind=self._can_bind())
        self._feed(submitted, self._clock())

    def survey_opened(self, survey_id: str) -> None:
        self._feed(SurveyOpened(survey_id), self._clock())

    def survey_answered(self, answer: Answer) -> None:
        self._feed(SurveyAnswered(answer), self._clock())

    def smiley_pressed(self, score: int) -> None:
        self._feed(SmileyPressed(score), self._clock())

    def draw_opened(self, draw_id: str) -> None:
        self._feed(DrawOpened(draw_id), self._clock())

    def draw_requested(self) -> None:
        self._feed(DrawRequested(), self._clock())

    def draw_skipped(self) -> None:
        self._feed(DrawSkipped(), self._clock())

    def flow_closed(self) -> None:
        self._feed(FlowClosed(), self._clock())

    def offer_taken(self) -> None:
        self._feed(OfferTaken(), self._clock())

    def offer_text_asked(self) -> None:
        self._feed(OfferTextAsked(), self._clock())

    def offer_print_asked(self) -> None:
        self._feed(OfferPrintAsked(), self._clock())

    def _feed(self, event: SessionInput, now: float) -> None:
        if not self._stopped:
            self._apply(self._machine.step(self._state, event, now))

    def _on_deadline(self) -> None:
        if not self._stopped:
            self._apply(self._machine.advance(self._state, self._clock()))

    # -- effects --

    def _apply(self, transition: Transition) -> None:
        before = self._state
        self._state = transition.state
        for effect in transition.effects:
            try:
                self._carry_out(effect)
                if self._publish is not None:  # no channel: no message built either
                    at = effect.at if isinstance(effect, Record) else None
                    self._tell_staff(channel_feed.from_effect(effect), at)
            except Exception:
                # One failing effect (a full disk, a gone port) must not stop the others.
                log.exception("effect %s failed", type(effect).__name__)
        if self._state != before:
            if self._state.view != before.view:
                log.info("screen %s -> %s", before.view.key, self._state.view.key)
                self._trace.emit("screen", view=self._state.view.key)
            self.state_changed.emit(self._state)
        self._schedule()

    def _carry_out(self, effect: Effect) -> None:
        match effect:
            case Record():
                self._append_record(
                    OutboxRecord.new(
                        effect.kind,
                        effect.payload,
                        occurred_at=wall_clock_at(effect.at, self._clock()),
                        schema_version=RECORD_SCHEMA_VERSION,
                    )
                )
            case SetLed():
                self._trace.emit("led", slot=effect.slot, mode=effect.mode.value)
                self._set_led(effect.slot, effect.mode)
            case RaiseAlert():
                log.warning("alarm on slot %d: %s", effect.slot, effect.reason.value)
                self._trace.emit("alert", slot=effect.slot, reason=effect.reason.value)
                self.alert_raised.emit(effect)
            case IssueCoupon() | DrawPrize() | TakeOffer():
                self._trace.emit("reward", request=type(effect).__name__, session=effect.session)
                if self._request_reward is None:  # no reward desk: say so, as the desk would
                    offer = effect.offer if isinstance(effect, TakeOffer) else None
                    refusal = RewardReady(effect.session, None, refusal="unavailable", offer=offer)
                    QTimer.singleShot(0, lambda: self._feed(refusal, self._clock()))
                else:
                    self._request_reward(effect)
            case CheckDraws() | CheckOffers():
                if self._request_reward is not None:  # no desk: the draw says so if tried
                    self._request_reward(effect)
            case PrintCoupon():
                self._trace.emit("print", session=effect.session)
                if self._print_coupon is None:  # no printer: the button was not shown
                    failed = CouponPrinted(effect.job, ok=False)
                    QTimer.singleShot(0, lambda: self._feed(failed, self._clock()))
                else:
                    self._print_coupon(effect)
            case StoreMessage():
                # `message`, not `kind`: a trace line's kind is "store_message".
                self._trace.emit("store_message", message=effect.kind, alert=effect.alert)

    def _tell_staff(self, note: ChannelNote | None, at: float | None) -> None:
        """Queue `note` for the store channel; `at`: when it happened (monotonic), else now."""
        if note is None or self._publish is None:
            return
        now = datetime.now(UTC) if at is None else wall_clock_at(at, self._clock())
        self._publish(note, now)

    def _schedule(self) -> None:
        deadline = self._machine.next_deadline(self._state)
        if deadline is None:
            self._timer.stop()
            return
        delay_ms = max(0, round((deadline - self._clock()) * 1000) + 1)
        self._timer.start(delay_ms)
