"""The kiosk <-> HQ wire format (docs/hq-api.md) as pydantic models.

Requests are checked in two layers, as the doc says:

- the envelope (`EventBatch`, `EventEnvelope`): a batch that breaks it is
  malformed, answered 422, and nothing of it is stored;
- the payload of each event, by kind and schema version (`PAYLOADS`): an event
  whose payload breaks its kind's rules is rejected on its own, the rest of the
  batch goes on.

Every string that may reach the database is checked for what PostgreSQL and
SQLite refuse (NUL characters, lone surrogates), so bad input is a 4xx answer or
a rejection, never a 500. Models hold what was sent; normalising (E.164, lower-
cased emails) is the CRM's job.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any, Final, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StringConstraints,
)

MAX_EVENTS_PER_BATCH: Final = 500
INT32_MAX: Final = 2**31 - 1
INT64_MAX: Final = 2**63 - 1
# Numbers land in INTEGER / BIGINT columns: anything larger must fail validation, not the insert.


def _storable(text: str) -> str:
    if "\x00" in text:
        raise ValueError("must not contain NUL characters")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode text") from None
    return text


_STORABLE: Final = AfterValidator(_storable)

# Strings by their limit; all of them storable as they are.
Text35 = Annotated[str, StringConstraints(max_length=35), _STORABLE]
Text100 = Annotated[str, StringConstraints(max_length=100), _STORABLE]
Text200 = Annotated[str, StringConstraints(max_length=200), _STORABLE]
Text254 = Annotated[str, StringConstraints(max_length=254), _STORABLE]
Word40 = Annotated[str, StringConstraints(min_length=1, max_length=40), _STORABLE]
Word50 = Annotated[str, StringConstraints(min_length=1, max_length=50), _STORABLE]
Word100 = Annotated[str, StringConstraints(min_length=1, max_length=100), _STORABLE]


def _to_utc(moment: datetime) -> datetime:
    try:
        return moment.astimezone(UTC)
    except OverflowError:  # year 9999 at -05:00 is year 10000 in UTC
        raise ValueError("is out of range") from None


Timestamp = Annotated[AwareDatetime, AfterValidator(_to_utc)]
Kind = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,39}$")]
StoreId = Annotated[str, StringConstraints(min_length=1, max_length=64)]
KioskId = Annotated[str, StringConstraints(min_length=1, max_length=64)]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True)


# ---------------------------------------------------------------- enrolment


class EnrolRequest(_Model):
    code: Annotated[str, StringConstraints(max_length=64)]
    name: Text100 | None = None


class EnrolAnswer(_Model):
    store_id: str
    kiosk_id: str
    token: str


# ---------------------------------------------------------------- events


class EventEnvelope(_Model):
    event_id: uuid.UUID
    store_id: StoreId
    kiosk_id: KioskId
    seq: Annotated[int, Field(ge=1, le=INT64_MAX)]
    kind: Kind
    schema_version: Annotated[int, Field(ge=1, le=INT32_MAX)]
    occurred_at: Timestamp
    payload: dict[str, Any]


class EventBatch(_Model):
    events: Annotated[list[EventEnvelope], Field(min_length=1, max_length=MAX_EVENTS_PER_BATCH)]


EventStatus = Literal["accepted", "duplicate", "rejected"]


class EventResult(_Model):
    event_id: str
    seq: int
    status: EventStatus
    reason: str | None


class EventsAnswer(_Model):
    results: list[EventResult]
    contiguous_seq: int


class Health(_Model):
    status: Literal["ok"]


# ---------------------------------------------------------------- payloads, schema_version 1

Session = Word100
Sku = Word100
Slot = Annotated[int, Field(ge=1, le=INT32_MAX)]


class _Payload(_Model):
    # Fields a newer kiosk adds are ignored (and not stored); a change that old
    # HQs must not misread gets a new schema_version.
    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)


class LiftPayload(_Payload):
    session: Session
    slot: Slot
    sku: Sku | None = None
    member_id: uuid.UUID | None = None


class DropPayload(LiftPayload):
    dwell_ms: Annotated[int, Field(ge=0, le=INT64_MAX)]


class ComparisonPayload(_Payload):
    session: Session
    skus: tuple[Sku, Sku]
    member_id: uuid.UUID | None = None


class RecommendationTapPayload(_Payload):
    session: Session
    sku: Sku
    shelf: Text100
    from_: Annotated[Text200, Field(alias="from")]
    slot: Annotated[int, Field(ge=-INT32_MAX, le=INT32_MAX)] | None = None
    member_id: uuid.UUID | None = None


class AlarmPayload(_Payload):
    slot: Slot
    sku: Sku | None = None
    reason: Word100


class MemberSignupPayload(_Payload):
    member_id: uuid.UUID
    phone: Word40
    region: Annotated[str, StringConstraints(pattern=r"^[A-Za-z]{2}$")]
    name: Text100 | None = None
    email: Text254 | None = None
    language: Text35
    # May a kiosk that recognises the member greet them by `name`? Unticked by default.
    greet_by_name: StrictBool = False


ConsentPurpose = Literal["membership", "marketing", "recognition", "personalisation"]
ConsentChannel = Literal["sms", "email"]


class ConsentPayload(_Payload):
    member_id: uuid.UUID
    purpose: ConsentPurpose
    channel: ConsentChannel | None = None
    notice_version: Word50
    notice_sha256: Annotated[str, StringConstraints(pattern=r"^[0-9a-fA-F]{64}$")]
    given: StrictBool


TagKind = Literal["rfid", "ibeacon", "eddystone", "mfr"]
TagHash = Annotated[str, StringConstraints(pattern=r"^[0-9a-fA-F]{64}$")]


class TagBoundPayload(_Payload):
    """A member's fob or tag, bound at a kiosk: only its keyed hash travels."""

    member_id: uuid.UUID
    tag_hash: TagHash
    tag_kind: TagKind | None = None


Payload = (
    LiftPayload
    | DropPayload
    | ComparisonPayload
    | RecommendationTapPayload
    | AlarmPayload
    | MemberSignupPayload
    | ConsentPayload
    | TagBoundPayload
)

PAYLOADS: Final[dict[tuple[str, int], type[Payload]]] = {
    ("lift", 1): LiftPayload,
    ("drop", 1): DropPayload,
    ("comparison", 1): ComparisonPayload,
    ("recommendation_tap", 1): RecommendationTapPayload,
    ("alarm", 1): AlarmPayload,
    ("member_signup", 1): MemberSignupPayload,
    ("consent", 1): ConsentPayload,
    ("tag_bound", 1): TagBoundPayload,
}
"""The payload model of each (kind, schema_version) HQ knows."""

KINDS: Final = frozenset(kind for kind, _ in PAYLOADS)


# ---------------------------------------------------------------- member feed (kiosk API)

MAX_FEED_PAGE: Final = 20_000
DEFAULT_FEED_PAGE: Final = 5_000


class MemberFeedEntry(_Model):
    tag_hash: str
    member_id: str
    greeting_name: str | None
    last_viewed: list[str]
    segment: str | None


class MemberFeedPage(_Model):
    """`GET /v1/members/feed`: the changes after `since`, oldest first."""

    version: int
    more: bool
    reset: bool
    tag_key: str
    upserts: list[MemberFeedEntry]
    removed: list[str]


# ---------------------------------------------------------------- tag binding (admin API)


class TagBindRequest(_Model):
    kind: TagKind
    # The raw value, hashed at once; never stored, logged nor quoted in an error.
    value: Annotated[str, StringConstraints(min_length=1, max_length=200), _STORABLE]
