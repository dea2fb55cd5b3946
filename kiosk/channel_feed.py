"""What the store's attendants see of this kiosk: effects and device reports as channel messages.

Pure (no Qt, no I/O): the controller and the channel link call these and hand the
result to the channel sender (backend_client.channel.sender). Each message's
data is built field by field into its closed model (backend_client.channel.messages),
so nothing a shopper typed, no member id and no tag id can reach the channel:

- lift, drop, comparison: from the outbox records the session makes (the channel is
  the live view of the outbox), without the member id;
- alarm: from the session's RaiseAlert, always an alert;
- member_arrived, member_left, signup, survey_answer, prize_won, coupon_issued: from
  the session's StoreMessage effects (facts the outbox either does not hold or holds
  with personal data); a low survey score is an alert;
- device, sync, content, heartbeat: from the devices' health, the relay's status,
  the content release and the kiosk's uptime.

A message whose data does not fit its model is dropped (logged by kind only, since the
data might be personal) rather than raised: staff miss one live hint, the outbox still
has the record.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal

from pydantic import BaseModel, ValidationError

from backend_client.channel import messages as m
from backend_client.status import SyncStatus
from devices.events import DeviceHealth
from kiosk.session import Effect, JsonValue, RaiseAlert, Record, StoreMessage

log = logging.getLogger("kiosk.channel_feed")

DETAIL_CHARS: Final = 120  # the device message's detail limit
LAST_VIEWED: Final = 20  # member_arrived's last_viewed limit
_NOT_TOKEN: Final = re.compile(r"[^\w.:/@+-]")
# Download progress goes to staff every few percent and seconds (each message stays in
# the kiosk's window for followers to catch up on).
PROGRESS_EVERY_S: Final = 2.0
PROGRESS_STEP_PERCENT: Final = 5


@dataclass(frozen=True, slots=True)
class ChannelNote:
    """One message for the window, before it gets a time (on publish) and a seq (in the window)."""

    kind: str
    data: m.ChannelData
    alert: bool = False


@dataclass(frozen=True, slots=True)
class ContentUpdate:
    """A release from HQ on its way: downloading (with bytes), ready, or failed (reason)."""

    state: Literal["idle", "downloading", "ready", "failed"]
    number: int | None = None
    bytes_done: int | None = None
    bytes_total: int | None = None
    reason: str | None = None


def from_effect(effect: Effect) -> ChannelNote | None:
    """The message staff see for one of the session's effects, or None."""
    match effect:
        case Record(kind="lift" | "drop" | "comparison"):
            return _note(effect.kind, effect.payload, alert=False)
        case RaiseAlert():
            return _checked(
                "alarm",
                lambda: m.Alarm(slot=effect.slot, reason=effect.reason.value, sku=effect.sku),
                alert=True,
            )
        case StoreMessage() if effect.kind in _FROM_STORE_MESSAGES:
            return _note(effect.kind, effect.payload, alert=effect.alert)
    return None


def device(health: DeviceHealth) -> ChannelNote | None:
    """A device's health report (up, down, reconnecting) as staff see it."""
    name = _NOT_TOKEN.sub("_", health.device)[:64] or "device"
    return _checked(
        "device",
        lambda: m.Device(
            device=name, status=health.status.value, detail=health.detail[:DETAIL_CHARS]
        ),
        alert=False,
    )


def sync(status: SyncStatus) -> ChannelNote:
    """The relay's backlog and dead letters."""
    return ChannelNote("sync", m.Sync(backlog=status.pending, dead_letters=status.dead_letters))


def content(release: str | None, update: ContentUpdate | None = None) -> ChannelNote | None:
    """The content release this kiosk shows, and the update under way (if any)."""
    if update is None:
        return _checked("content", lambda: m.Content(release=release), alert=False)
    return _checked(
        "content",
        lambda: m.Content(
            release=release,
            state=update.state,
            number=update.number,
            bytes_done=update.bytes_done,
            bytes_total=update.bytes_total,
            reason=update.reason,
        ),
        alert=False,
    )


def download_percent(update: ContentUpdate | None) -> int | None:
    """The no-content welcome's progress bar: a percentage while a download is under way."""
    if update is None or update.state != "downloading" or not update.bytes_total:
        return None
    return (update.bytes_done or 0) * 100 // update.bytes_total


def progress_worth_telling(
    last: tuple[ContentUpdate | None, float] | None, update: ContentUpdate | None, now: float
) -> bool:
    """Whether staff should get this update: a new state or release at once, the bytes
    every few percent and seconds (each channel message stays in the kiosk's window)."""
    if last is None:
        return True
    before, at = last
    if (
        before is None
        or update is None
        or (before.state, before.number)
        != (
            update.state,
            update.number,
        )
    ):
        return before != update
    step = abs((download_percent(update) or 0) - (download_percent(before) or 0))
    return step >= PROGRESS_STEP_PERCENT and now - at >= PROGRESS_EVERY_S


def heartbeat(uptime_s: float) -> ChannelNote:
    return ChannelNote("heartbeat", m.Heartbeat(uptime_s=max(0, int(uptime_s))))


# --- from the session's payloads -----------------------------------------------------

# Which payload fields each kind keeps; everything else (member_id, text, choices...)
# stays in the outbox.
_FIELDS: Final[Mapping[str, tuple[str, ...]]] = {
    "lift": ("session", "slot", "sku"),
    "drop": ("session", "slot", "sku", "dwell_ms"),
    "comparison": ("session", "skus"),
    "member_arrived": ("session", "greeting", "last_viewed", "via"),
    "member_left": ("session",),
    "signup": ("session",),
    "survey_answer": ("session", "survey", "question", "kind", "score", "low"),
    "prize_won": ("session", "draw", "prize"),
    "coupon_issued": ("session", "campaign"),
}
_FROM_STORE_MESSAGES: Final = frozenset(_FIELDS) - {"lift", "drop", "comparison"}


def _note(kind: str, payload: Mapping[str, JsonValue], *, alert: bool) -> ChannelNote | None:
    data: dict[str, Any] = {name: payload.get(name) for name in _FIELDS[kind]}
    if kind == "comparison" and isinstance(data["skus"], list):
        data["skus"] = tuple(data["skus"])
    if kind == "member_arrived" and isinstance(data["last_viewed"], list | tuple):
        data["last_viewed"] = tuple(data["last_viewed"][:LAST_VIEWED])
    model = m.DATA_MODELS[kind]
    return _checked(kind, lambda: model.model_validate(data), alert=alert)


def _checked(kind: str, make: Callable[[], BaseModel], *, alert: bool) -> ChannelNote | None:
    try:
        data = make()
    except ValidationError:
        # The error's text quotes the data, which may be personal: name the kind only.
        log.warning("a %s message does not fit the channel's model; not sent", kind)
        return None
    return ChannelNote(kind, data, alert)  # type: ignore[arg-type]  # a ChannelData member
