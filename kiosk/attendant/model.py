"""The attendant's view of the store, reduced from channel messages and staff inputs.

`step(state, input, now)` and `advance(state, now)` return the next state and the
effects to carry out; nothing here touches Qt, sockets or the clock. `now` is a
`time.monotonic()` reading on the attendant's own machine: silences are measured
on its clock, never on a kiosk's `at` (kiosk clocks drift).

Rules, in the shop's words:
- The feed shows what happens at every kiosk of the store, newest first; it
  keeps the latest entries only, so a busy day never fills the tablet's memory.
  Heartbeats, sync and content reports update the kiosk's health, not the feed.
- A member's arrival shows their greeting name only if they allowed it
  (otherwise "member") and the phones they looked at last time.
- Alerts: a low survey score, a security alarm, a kiosk silent for more than
  a minute, a device not up for more than a minute. Each stays open until a
  staff member acknowledges it, here or on another attendant of the store
  (an `ack` message); it is acknowledged once, by whoever was first.
- Each sender's `seq` only grows: a repeated or late message is dropped and
  counted. A message that does not fit the contract is dropped and marks its
  kiosk faulty, as does the transport reporting garbage or a flood.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Final, Protocol, assert_never

from kiosk.attendant.staff import Action, Role, permitted

log = logging.getLogger("kiosk.attendant")

FEED_LIMIT: Final = 2000  # a busy Saturday's last hour or so; older entries are in HQ's records
# Alerts kept once acknowledged (open ones are always kept, up to MAX_OPEN_ALERTS).
CLOSED_ALERTS_KEPT: Final = 200
# A flooding kiosk that raises alarm after alarm must not grow memory without bound;
# beyond this the oldest open alert gives way (staff already have plenty to act on).
MAX_OPEN_ALERTS: Final = 500
# A store has a few dozen kiosks; ids beyond this are garbage, not new kiosks.
MAX_SENDERS: Final = 256
MAX_DEVICES: Final = 16  # pickup board, readers, BLE adapter, ... per kiosk
# A kiosk stays shown as faulty for a minute after its last bad message.
FAULT_SHOWN_S: Final = 60.0
CONTRACT_VERSION: Final = 1

JsonValue = str | int | float | bool | None | list["JsonValue"] | dict[str, "JsonValue"]


class ChannelMessageLike(Protocol):
    """The fields of a channel message this model reads (the shared contract). The
    transport's pydantic ChannelMessage (backend_client/channel/messages.py, on its own
    branch) carries `at` as text and `data` as a model; it becomes one of these with
    `PlainMessage(m.v, m.store, m.kiosk, m.seq, m.moment, m.kind, m.alert, m.data.model_dump())`."""

    @property
    def v(self) -> int: ...
    @property
    def store(self) -> str: ...
    @property
    def kiosk(self) -> str: ...
    @property
    def seq(self) -> int: ...
    @property
    def at(self) -> datetime: ...
    @property
    def kind(self) -> str: ...
    @property
    def alert(self) -> bool: ...
    @property
    def data(self) -> Mapping[str, object]: ...


@dataclass(frozen=True, slots=True)
class PlainMessage:
    """A channel message as a plain value, until the transport's model lands."""

    v: int
    store: str
    kiosk: str
    seq: int
    at: datetime
    kind: str
    alert: bool
    data: Mapping[str, object]


# --- what the screen shows -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FeedEntry:
    kiosk: str
    seq: int
    at: datetime
    kind: str
    received: float
    # member_arrived: the greeting name if the member allowed it, else None ("member").
    greeting: str | None = field(default=None, repr=False)
    last_viewed: tuple[str, ...] = ()
    # The contract's whitelisted fields, as text, in the contract's order.
    details: tuple[tuple[str, str], ...] = ()
    alert_id: str | None = None  # the alert this entry raised, if any


class AlertKind:
    LOW_SCORE: Final = "low_score"
    ALARM: Final = "alarm"
    KIOSK_SILENT: Final = "kiosk_silent"
    DEVICE_DOWN: Final = "device_down"


@dataclass(frozen=True, slots=True)
class Acknowledgement:
    by: str  # staff id
    after_s: float  # how long the alert waited for staff


@dataclass(frozen=True, slots=True)
class Alert:
    """`id` is "<kiosk>:<seq>" of the message that raised it (the contract's ack
    reference); silences, having no message, are "<kiosk>:silent:<last seq heard>" so
    every attendant of the store names the same silence the same way, and the id still
    ends in ":<digits>" as the channel's ack validation wants."""

    id: str
    kiosk: str
    kind: str
    raised: float
    detail: str = ""  # the alarm reason, the device, the survey: no shopper data
    acknowledged: Acknowledgement | None = None

    @property
    def open(self) -> bool:
        return self.acknowledged is None


class DeviceStatus:
    UP: Final = "up"
    DOWN: Final = "down"
    RECONNECTING: Final = "reconnecting"


DEVICE_STATUSES: Final = frozenset({DeviceStatus.UP, DeviceStatus.DOWN, DeviceStatus.RECONNECTING})


@dataclass(frozen=True, slots=True)
class DeviceHealth:
    status: str
    detail: str
    since: float  # when it entered this status (down and reconnecting count as one outage)
    seq: int  # the message that reported the outage: the device alert's id
    alerted: bool = False


@dataclass(frozen=True, slots=True)
class ContentUpdate:
    """A release from HQ on its way to a kiosk, as its `content` messages tell it."""

    state: str  # downloading, ready, failed
    number: int | None
    bytes_done: int | None
    bytes_total: int | None
    reason: str | None

    @property
    def percent(self) -> int | None:
        """How much is downloaded, 0-100; None when the size is not known."""
        if self.bytes_done is None or not self.bytes_total:
            return None
        return max(0, min(100, self.bytes_done * 100 // self.bytes_total))


@dataclass(frozen=True, slots=True)
class KioskHealth:
    last_seq: int = 0
    last_contact: float | None = None
    devices: Mapping[str, DeviceHealth] = field(default_factory=dict)
    backlog: int | None = None
    dead_letters: int | None = None
    release: str | None = None
    update: ContentUpdate | None = None  # None: nothing under way
    dropped: int = 0  # repeated or late messages
    missed: int = 0  # seq numbers skipped: lost on the way
    garbage: int = 0  # messages that did not fit the contract, and transport reports
    last_fault: float | None = None
    fault_reason: str = ""
    silence_alerted_at_seq: int | None = None

    def faulty(self, now: float) -> bool:
        return self.last_fault is not None and now - self.last_fault < FAULT_SHOWN_S


@dataclass(frozen=True, slots=True)
class AlertThresholds:
    """Set by a store manager."""

    silence_s: float = 60.0  # heartbeats come every 15 s: four missed is an outage
    device_down_s: float = 60.0  # a reader reconnects within seconds; a minute is real
    low_score: int = 2  # a score at or below is low (1-5 faces), besides the kiosk's own flag


@dataclass(frozen=True, slots=True)
class AttendantState:
    store: str
    thresholds: AlertThresholds = AlertThresholds()
    feed: tuple[FeedEntry, ...] = ()  # newest first
    alerts: tuple[Alert, ...] = ()  # newest first
    kiosks: Mapping[str, KioskHealth] = field(default_factory=dict)
    foreign: int = 0  # messages of another store or contract version, dropped

    def open_alerts(self) -> tuple[Alert, ...]:
        return tuple(alert for alert in self.alerts if alert.open)

    def alert(self, alert_id: str) -> Alert | None:
        return next((alert for alert in self.alerts if alert.id == alert_id), None)


def visible_feed(
    state: AttendantState, kiosk: str | None = None, kinds: frozenset[str] | None = None
) -> tuple[FeedEntry, ...]:
    """The feed as filtered on screen: one kiosk and/or some kinds (None: all)."""
    return tuple(
        entry
        for entry in state.feed
        if (kiosk is None or entry.kiosk == kiosk) and (kinds is None or entry.kind in kinds)
    )


# --- inputs ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Received:
    message: ChannelMessageLike


@dataclass(frozen=True, slots=True)
class KioskMisbehaved:
    """The transport dropped a kiosk's datagrams: undecodable, bad signature, flooding."""

    kiosk: str
    reason: str  # "garbage", "flood", ...


@dataclass(frozen=True, slots=True)
class Acknowledge:
    """A staff member tapped "acknowledge" on an alert."""

    alert_id: str
    staff_id: str


@dataclass(frozen=True, slots=True)
class ChangeThresholds:
    thresholds: AlertThresholds
    staff_id: str
    role: Role


AttendantInput = Received | KioskMisbehaved | Acknowledge | ChangeThresholds


# --- effects -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SoundAlert:
    """A new alert: the screen makes it stand out and plays the alert sound."""

    alert_id: str


@dataclass(frozen=True, slots=True)
class SendAck:
    """Tell every attendant of the store (the contract's `ack` message data)."""

    alert: str
    by: str
    after_s: float


@dataclass(frozen=True, slots=True)
class RecordAction:
    """Write a line of the action log (the edge stamps the wall time)."""

    staff_id: str
    action: Action
    subject: str | None = None
    after_s: float | None = None


@dataclass(frozen=True, slots=True)
class Refused:
    """The staff member's role does not allow this."""

    staff_id: str
    action: Action


Effect = SoundAlert | SendAck | RecordAction | Refused


@dataclass(frozen=True, slots=True)
class Transition:
    state: AttendantState
    effects: tuple[Effect, ...] = ()


# --- message data: what each kind must carry -----------------------------------------------


class Malformed(ValueError):
    pass


def _optional_text(data: Mapping[str, object], key: str) -> str | None:
    value = data.get(key)
    if value is not None and not isinstance(value, str):
        raise Malformed(f"{key} is not text")
    return value


def _text(data: Mapping[str, object], key: str) -> str:
    value = _optional_text(data, key)
    if value is None:
        raise Malformed(f"{key} is missing")
    return value


def _optional_int(data: Mapping[str, object], key: str) -> int | None:
    value = data.get(key)
    # bool is an int to Python, not to the contract.
    if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
        raise Malformed(f"{key} is not a whole number")
    return value


def _int(data: Mapping[str, object], key: str) -> int:
    value = _optional_int(data, key)
    if value is None:
        raise Malformed(f"{key} is missing")
    return value


def _skus(data: Mapping[str, object], key: str) -> tuple[str, ...]:
    value = data.get(key, [])
    if not isinstance(value, list | tuple) or not all(isinstance(sku, str) for sku in value):
        raise Malformed(f"{key} is not a list of SKUs")
    return tuple(value)


# Fields shown in the feed per kind, as the contract lists them. Kinds not here have no
# place in the feed (health reports); kinds in neither are garbage.
_FEED_FIELDS: Final[Mapping[str, tuple[str, ...]]] = {
    "member_arrived": ("via",),
    "member_left": (),
    "lift": ("slot", "sku"),
    "drop": ("slot", "sku", "dwell_ms"),
    "comparison": ("skus",),
    "signup": (),
    "survey_answer": ("survey", "question", "score"),
    "prize_won": ("draw", "prize"),
    "coupon_issued": ("campaign",),
    "coupon_redeemed": ("by",),
    "alarm": ("slot", "reason", "sku"),
    "device": ("device", "status", "detail"),
    "ack": ("alert", "by"),
    "planogram": ("slot", "before", "after", "by"),
}
_HEALTH_KINDS: Final = frozenset({"heartbeat", "sync", "content"})
FEED_KINDS: Final = tuple(_FEED_FIELDS)  # what the feed can be filtered by, in the contract's order


def _shown(value: object) -> str:
    if isinstance(value, list | tuple):
        return " / ".join(str(item) for item in value)
    return "" if value is None else str(value)


# --- the machine ---------------------------------------------------------------------------


def step(state: AttendantState, event: AttendantInput, now: float) -> Transition:
    match event:
        case Received(message):
            return _received(state, message, now)
        case KioskMisbehaved(kiosk, reason):
            return Transition(_fault(state, kiosk, reason, now))
        case Acknowledge(alert_id, staff_id):
            return _acknowledge(state, alert_id, staff_id, now)
        case ChangeThresholds(thresholds, staff_id, role):
            if not permitted(role, Action.SET_THRESHOLDS):
                return Transition(state, (Refused(staff_id, Action.SET_THRESHOLDS),))
            return Transition(
                replace(state, thresholds=thresholds),
                (RecordAction(staff_id, Action.SET_THRESHOLDS),),
            )
        case _:
            assert_never(event)


def advance(state: AttendantState, now: float) -> Transition:
    """Called every few seconds: silent kiosks and devices down too long become alerts."""
    alerts: list[Alert] = []
    kiosks = dict(state.kiosks)
    for name, health in state.kiosks.items():
        updated = health
        if (
            health.last_contact is not None
            and now - health.last_contact > state.thresholds.silence_s
            and health.silence_alerted_at_seq != health.last_seq
        ):
            alerts.append(
                Alert(f"{name}:silent:{health.last_seq}", name, AlertKind.KIOSK_SILENT, now)
            )
            updated = replace(updated, silence_alerted_at_seq=health.last_seq)
        devices = dict(updated.devices)
        for device, status in updated.devices.items():
            if (
                status.status != DeviceStatus.UP
                and not status.alerted
                and now - status.since > state.thresholds.device_down_s
            ):
                alerts.append(
                    Alert(f"{name}:{status.seq}", name, AlertKind.DEVICE_DOWN, now, device)
                )
                devices[device] = replace(status, alerted=True)
        if devices != updated.devices:
            updated = replace(updated, devices=devices)
        if updated is not health:
            kiosks[name] = updated
    if not alerts:
        return Transition(state)
    state = replace(state, kiosks=kiosks)
    for alert in alerts:
        state = _raise(state, alert)
    return Transition(state, tuple(SoundAlert(alert.id) for alert in alerts))


def _received(state: AttendantState, message: ChannelMessageLike, now: float) -> Transition:
    if message.store != state.store or message.v != CONTRACT_VERSION:
        return Transition(replace(state, foreign=state.foreign + 1))
    health = state.kiosks.get(message.kiosk)
    if health is None:
        if len(state.kiosks) >= MAX_SENDERS:
            return Transition(replace(state, foreign=state.foreign + 1))
        health = KioskHealth()
    if message.seq <= health.last_seq:
        return Transition(
            _with_health(state, message.kiosk, replace(health, dropped=health.dropped + 1))
        )
    try:
        return _accepted(state, message, health, now)
    except Malformed as problem:
        # The contract's kinds are known; anything else is a kiosk gone wrong. The reason
        # names a field, never its value (which might be personal data typed by mistake).
        return Transition(_fault(state, message.kiosk, f"{message.kind}: {problem}", now))


def _accepted(
    state: AttendantState, message: ChannelMessageLike, health: KioskHealth, now: float
) -> Transition:
    kind, data = message.kind, message.data
    if kind not in _FEED_FIELDS and kind not in _HEALTH_KINDS:
        raise Malformed("unknown kind")
    if not isinstance(data, Mapping):
        raise Malformed("data is not an object")
    missed = max(0, message.seq - health.last_seq - 1) if health.last_seq else 0
    health = replace(health, last_seq=message.seq, last_contact=now, missed=health.missed + missed)
    # Read everything first: a malformed message changes nothing but the fault count.
    before = health
    health = _health_report(health, message, now)
    alert = _alert_of(state, message, now)
    if kind == "ack":
        return _remote_ack(_with_health(state, message.kiosk, health), message, now)
    greeting: str | None = None
    last_viewed: tuple[str, ...] = ()
    if kind == "member_arrived":
        greeting = _optional_text(data, "greeting")
        last_viewed = _skus(data, "last_viewed")
    state = _with_health(state, message.kiosk, health)
    effects: tuple[Effect, ...] = ()
    if alert is not None:  # its id is new: a message's seq is never seen twice
        state = _raise(state, alert)
        effects = (SoundAlert(alert.id),)
    if kind in _FEED_FIELDS and not _same_device_status(before, health, data):
        entry = FeedEntry(
            message.kiosk,
            message.seq,
            message.at,
            kind,
            now,
            greeting,
            last_viewed,
            tuple((key, _shown(data[key])) for key in _FEED_FIELDS[kind] if key in data),
            alert.id if alert is not None else None,
        )
        state = _with_entry(state, entry)
    return Transition(state, effects)


def _same_device_status(
    before: KioskHealth, after: KioskHealth, data: Mapping[str, object]
) -> bool:
    """A device report that only repeats its status (a reader's reconnect attempt after
    attempt) updates health but adds no feed line: the feed is for what changed."""
    device = data.get("device")
    if not isinstance(device, str):
        return False
    old, new = before.devices.get(device), after.devices.get(device)
    return old is not None and new is not None and old.status == new.status


def _health_report(health: KioskHealth, message: ChannelMessageLike, now: float) -> KioskHealth:
    data = message.data
    match message.kind:
        case "heartbeat":
            _int(data, "uptime_s")
            return health
        case "sync":
            return replace(
                health, backlog=_int(data, "backlog"), dead_letters=_int(data, "dead_letters")
            )
        case "content":
            return replace(
                health, release=_optional_text(data, "release"), update=_content_update(data)
            )
        case "device":
            return _device_report(health, data, message.seq, now)
        case _:
            return health


def _content_update(data: Mapping[str, object]) -> ContentUpdate | None:
    state = _optional_text(data, "state") or "idle"  # kiosks before issue 16 send no state
    if state == "idle":
        return None
    return ContentUpdate(
        state,
        _optional_int(data, "number"),
        _optional_int(data, "bytes_done"),
        _optional_int(data, "bytes_total"),
        _optional_text(data, "reason"),
    )


def _alert_of(state: AttendantState, message: ChannelMessageLike, now: float) -> Alert | None:
    """The alert a message raises by the attendant's own rules (the kiosk's `alert`
    hint is not trusted alone: a low score is judged against the store's threshold)."""
    data, ref = message.data, f"{message.kiosk}:{message.seq}"
    if message.kind == "survey_answer":
        score = _optional_int(data, "score")
        low = data.get("low", False)
        if not isinstance(low, bool):
            raise Malformed("low is not true or false")
        if low or (score is not None and score <= state.thresholds.low_score):
            survey = _optional_text(data, "survey") or ""
            return Alert(ref, message.kiosk, AlertKind.LOW_SCORE, now, survey)
    elif message.kind == "alarm":
        _int(data, "slot")
        return Alert(ref, message.kiosk, AlertKind.ALARM, now, _text(data, "reason"))
    return None


def _with_entry(state: AttendantState, entry: FeedEntry) -> AttendantState:
    return replace(state, feed=(entry, *state.feed[: FEED_LIMIT - 1]))


def _device_report(
    health: KioskHealth, data: Mapping[str, object], seq: int, now: float
) -> KioskHealth:
    device = _text(data, "device")
    status = _text(data, "status")
    detail = _optional_text(data, "detail") or ""
    if status not in DEVICE_STATUSES:
        raise Malformed("status is not up, down or reconnecting")
    previous = health.devices.get(device)
    if previous is None and len(health.devices) >= MAX_DEVICES:
        raise Malformed("too many devices")
    if previous is not None and (previous.status == DeviceStatus.UP) == (status == DeviceStatus.UP):
        # Down -> reconnecting is still the same outage: its clock keeps running.
        report = replace(previous, status=status, detail=detail)
    else:
        report = DeviceHealth(status, detail, since=now, seq=seq)
    return replace(health, devices={**health.devices, device: report})


def _remote_ack(state: AttendantState, message: ChannelMessageLike, now: float) -> Transition:
    """Another attendant (or this one, echoed back) acknowledged an alert."""
    data = message.data
    alert_id = _text(data, "alert")
    by = _text(data, "by")
    after_s = data.get("after_s")
    if (
        not isinstance(after_s, int | float)
        or isinstance(after_s, bool)
        or not 0 <= after_s < math.inf
    ):
        raise Malformed("after_s is not a number of seconds")
    entry = FeedEntry(
        message.kiosk,
        message.seq,
        message.at,
        message.kind,
        now,
        details=(("alert", alert_id), ("by", by)),
    )
    return Transition(
        _close(_with_entry(state, entry), alert_id, Acknowledgement(by, float(after_s)))
    )


def _acknowledge(state: AttendantState, alert_id: str, staff_id: str, now: float) -> Transition:
    alert = state.alert(alert_id)
    if alert is None or not alert.open:
        return Transition(state)  # someone else was first: nothing to send or record
    after_s = max(0.0, now - alert.raised)
    return Transition(
        _close(state, alert_id, Acknowledgement(staff_id, after_s)),
        (
            SendAck(alert_id, staff_id, after_s),
            RecordAction(staff_id, Action.ACKNOWLEDGE, alert_id, after_s),
        ),
    )


def _close(state: AttendantState, alert_id: str, ack: Acknowledgement) -> AttendantState:
    alerts = tuple(
        replace(alert, acknowledged=ack) if alert.id == alert_id and alert.open else alert
        for alert in state.alerts
    )
    return replace(state, alerts=_pruned(alerts))


def _raise(state: AttendantState, alert: Alert) -> AttendantState:
    log.info("alert %s at %s: %s", alert.kind, alert.kiosk, alert.id)
    return replace(state, alerts=_pruned((alert, *state.alerts)))


def _pruned(alerts: tuple[Alert, ...]) -> tuple[Alert, ...]:
    """All open alerts up to MAX_OPEN_ALERTS, and the latest acknowledged ones."""
    kept: list[Alert] = []
    open_count = closed_count = 0
    for alert in alerts:  # newest first
        if alert.open:
            open_count += 1
            if open_count <= MAX_OPEN_ALERTS:
                kept.append(alert)
        else:
            closed_count += 1
            if closed_count <= CLOSED_ALERTS_KEPT:
                kept.append(alert)
    return alerts if len(kept) == len(alerts) else tuple(kept)


def _fault(state: AttendantState, kiosk: str, reason: str, now: float) -> AttendantState:
    health = state.kiosks.get(kiosk)
    if health is None:
        if len(state.kiosks) >= MAX_SENDERS:
            return replace(state, foreign=state.foreign + 1)
        health = KioskHealth()
    if not health.faulty(now):
        log.warning("kiosk %s is faulty: %s", kiosk, reason)  # once per fault, not per message
    return _with_health(
        state,
        kiosk,
        replace(health, garbage=health.garbage + 1, last_fault=now, fault_reason=reason),
    )


def _with_health(state: AttendantState, kiosk: str, health: KioskHealth) -> AttendantState:
    return replace(state, kiosks={**state.kiosks, kiosk: health})
