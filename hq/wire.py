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

import re
import uuid
from datetime import UTC, date, datetime
from typing import Annotated, Any, Final, Literal, overload

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StringConstraints,
    model_validator,
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
Text500 = Annotated[str, StringConstraints(max_length=500), _STORABLE]
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
    role: Literal["kiosk"] = "kiosk"
    store_id: str
    kiosk_id: str
    token: str
    # The kiosk's number inside coupon codes, and its coupon key (base64, 32 bytes).
    kiosk_no: int
    coupon_key: str
    # Its seat among the store's kiosks, for its part of the daily budgets and caps.
    budget_seat: int
    budget_seats: int
    # The store's live-channel key (hq.channel_keys), as in StoreChannelKey.
    channel_key: StoreChannelKey
    # HQ's newest content signing key (base64 of the raw 32-byte Ed25519 public key):
    # the kiosk pins it and follows its endorsed successors (docs/content-releases.md).
    content_key: str | None = None


class AttendantEnrolAnswer(_Model):
    """An attendant device's enrolment: no kiosk number, coupon key or seat (it
    issues no coupons); the store's coupon key instead, from which it derives the
    key of each of its store's kiosks to check their codes at the till."""

    role: Literal["attendant"]
    store_id: str
    kiosk_id: str  # the device's id, `<store>-a<n>`: what its events name as kiosk_id
    token: str
    channel_key: StoreChannelKey
    store_coupon_key: str  # base64, 32 bytes


class StoreChannelKey(_Model):
    """What a store's kiosks and attendants share to authenticate and encrypt the
    store's live channel (base64, 32 bytes each). `previous` is the key before the
    last rotation (null before any), accepted while the store moves over."""

    key_id: int
    key: str
    previous: str | None


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


# ---------------------------------------------------------------- surveys and coupons

# The content bundle's ids (surveys, questions, choices, campaigns, draws, prizes).
Slug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]{0,39}$")]
# A coupon code as typed or printed; its form is checked when the event is decided.
CouponCodeText = Annotated[str, StringConstraints(min_length=1, max_length=40), _STORABLE]
SurveyKind = Literal["smiley", "nps", "single", "multiple", "text"]

SMILEY_SCORES: Final = (1, 4)
NPS_SCORES: Final = (0, 10)
MAX_CHOICES: Final = 8


_ISO_DAY: Final = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _iso_day(value: object) -> date:
    """Only the text YYYY-MM-DD: pydantic's own date would also take numbers and times."""
    if isinstance(value, str) and _ISO_DAY.fullmatch(value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise ValueError("must be a date YYYY-MM-DD")


IsoDay = Annotated[date, BeforeValidator(_iso_day)]


class SurveyAnswerPayload(_Payload):
    """One answer; all of score, choices and text null: an optional question skipped."""

    session: Session
    survey: Slug
    question: Slug
    kind: SurveyKind
    score: Annotated[int, Field(ge=0, le=10)] | None = None
    choices: Annotated[list[Slug], Field(min_length=1, max_length=MAX_CHOICES)] | None = None
    text: Text500 | None = None
    member_id: uuid.UUID | None = None
    low: StrictBool = False

    @model_validator(mode="after")
    def _fits_its_kind(self) -> SurveyAnswerPayload:
        scored = self.kind in {"smiley", "nps"}
        if self.score is not None:
            if not scored:
                raise ValueError(f"score: a {self.kind} answer has none")
            lowest, highest = SMILEY_SCORES if self.kind == "smiley" else NPS_SCORES
            if not lowest <= self.score <= highest:
                raise ValueError(f"score: a {self.kind} score is {lowest} to {highest}")
        if self.choices is not None:
            if self.kind not in {"single", "multiple"}:
                raise ValueError(f"choices: a {self.kind} answer has none")
            if self.kind == "single" and len(self.choices) != 1:
                raise ValueError("choices: a single-choice answer has exactly one")
            if len(set(self.choices)) != len(self.choices):
                raise ValueError("choices: each choice at most once")
        if self.text is not None and self.kind != "text":
            raise ValueError(f"text: a {self.kind} answer has none")
        return self


class SurveyCompletedPayload(_Payload):
    session: Session
    survey: Slug
    member_id: uuid.UUID | None = None
    answers: Annotated[int, Field(ge=0, le=INT32_MAX)]
    reward_code: CouponCodeText | None = None


CouponReason = Literal["survey", "draw", "signup", "offer"]


class CouponIssuedPayload(_Payload):
    """A code the kiosk issued; its fields must be the code's own."""

    session: Session
    code: CouponCodeText
    campaign: Slug
    campaign_no: Annotated[int, Field(ge=0, le=2**12 - 1)]
    serial: Annotated[int, Field(ge=0, le=2**24 - 1)]
    expires_on: IsoDay
    reason: CouponReason
    member_id: uuid.UUID | None = None
    offer: Slug | None = None  # the member offer taken (reason "offer" only)

    @model_validator(mode="after")
    def _offer_with_its_reason(self) -> CouponIssuedPayload:
        if (self.offer is None) != (self.reason != "offer"):
            raise ValueError("offer: given exactly when the reason is offer")
        if self.reason == "offer" and self.member_id is None:
            raise ValueError("member_id: an offer's coupon belongs to a member")
        return self


class CouponRedeemedPayload(_Payload):
    """A store redeemed a code (offline, say) and reports it."""

    code: CouponCodeText
    redeemed_at: Timestamp
    by: Annotated[str, StringConstraints(min_length=1, max_length=64), _STORABLE]


class PrizeDrawPayload(_Payload):
    session: Session
    draw: Slug
    member_id: uuid.UUID
    prize: Slug | None = None  # None: no win
    code: CouponCodeText | None = None

    @model_validator(mode="after")
    def _code_only_with_a_prize(self) -> PrizeDrawPayload:
        if self.code is not None and self.prize is None:
            raise ValueError("code: only a won prize has a code")
        return self


# ---------------------------------------------------------------- member offers (offers.json)

OfferLanguage = Literal["zh-CN", "en"]


class OfferShownPayload(_Payload):
    """A recognised member with marketing consent was shown `offer` on the welcome."""

    session: Session
    offer: Slug
    member_id: uuid.UUID
    campaign: Slug | None = None  # the coupon campaign it gives; None: a message only


class OfferTextRequestedPayload(_Payload):
    """The member asked for `code` by text message. HQ looks up their number on record
    and sends it (hq/sms/); the kiosk never holds the number."""

    session: Session
    offer: Slug
    member_id: uuid.UUID
    code: CouponCodeText
    campaign: Slug
    expires_on: IsoDay
    language: OfferLanguage


class OfferPrintedPayload(_Payload):
    """The kiosk's receipt printer printed `code` for the member."""

    session: Session
    offer: Slug
    member_id: uuid.UUID
    code: CouponCodeText
    campaign: Slug


# ---------------------------------------------------------------- store staff (attendant devices)

StaffId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._:-]{1,64}$")]
# A staff id token as the attendant app keeps it, never a person's name.
KioskRef = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._:-]{1,64}$")]
AlertKind = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,39}$")]
MAX_ACK_AFTER_S: Final = 30 * 24 * 3600.0  # an alert left a month is still answered


class AlertAckPayload(_Payload):
    """Staff acknowledged a kiosk's alert (the channel message `alert_seq` of `kiosk`)."""

    kiosk: KioskRef
    alert_seq: Annotated[int, Field(ge=1, le=INT64_MAX)]
    alert_kind: AlertKind
    by: StaffId
    after_s: Annotated[float, Field(ge=0, le=MAX_ACK_AFTER_S, allow_inf_nan=False)]


class PlanogramEditPayload(_Payload):
    """Staff put `after` in a kiosk's `slot` (`before`: what it held; null: nothing)."""

    kiosk: KioskRef
    slot: Slot
    before: Sku | None = None
    after: Sku
    by: StaffId


# ---------------------------------------------------------------- proof of play

MAX_PLAY_ROWS: Final = 2000
# A record covers a few minutes (kiosk/play_counts.py): a playlist of hundreds of
# entries over an hour boundary still fits; more is not a kiosk's record.
HOUR_MS: Final = 3_600_000
PlayItemId = Annotated[str, StringConstraints(min_length=1, max_length=200), _STORABLE]


def _whole_hour(moment: datetime) -> datetime:
    if (moment.minute, moment.second, moment.microsecond) != (0, 0, 0):
        raise ValueError("must be the start of an hour")
    return moment


class PlayRow(_Model):
    """What one item of one campaign did in one UTC hour, since the kiosk's last record."""

    hour: Annotated[Timestamp, AfterValidator(_whole_hour)]
    item: PlayItemId
    campaign: Slug | None = None
    shows: Annotated[int, Field(ge=0, le=INT32_MAX)]
    ms: Annotated[int, Field(ge=0, le=HOUR_MS)]  # on screen, within that hour
    lifted: Annotated[int, Field(ge=0, le=INT32_MAX)]  # shows a lift followed


class PlayCountsPayload(_Payload):
    """The attract loop's counts from `from` to `to` (kiosk/play_counts.py)."""

    since: Timestamp = Field(alias="from")
    to: Timestamp
    rows: Annotated[list[PlayRow], Field(min_length=1, max_length=MAX_PLAY_ROWS)]

    @model_validator(mode="after")
    def _consistent(self) -> PlayCountsPayload:
        if self.to < self.since:
            raise ValueError("to: must not be before from")
        keys = [(row.hour, row.item, row.campaign) for row in self.rows]
        if len(set(keys)) != len(keys):
            raise ValueError("rows: an hour, item and campaign given twice")
        return self


Payload = (
    LiftPayload
    | DropPayload
    | ComparisonPayload
    | RecommendationTapPayload
    | AlarmPayload
    | MemberSignupPayload
    | ConsentPayload
    | TagBoundPayload
    | SurveyAnswerPayload
    | SurveyCompletedPayload
    | CouponIssuedPayload
    | CouponRedeemedPayload
    | PrizeDrawPayload
    | OfferShownPayload
    | OfferTextRequestedPayload
    | OfferPrintedPayload
    | AlertAckPayload
    | PlanogramEditPayload
    | PlayCountsPayload
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
    ("survey_answer", 1): SurveyAnswerPayload,
    ("survey_completed", 1): SurveyCompletedPayload,
    ("coupon_issued", 1): CouponIssuedPayload,
    ("coupon_redeemed", 1): CouponRedeemedPayload,
    ("prize_draw", 1): PrizeDrawPayload,
    ("offer_shown", 1): OfferShownPayload,
    ("offer_text_requested", 1): OfferTextRequestedPayload,
    ("offer_printed", 1): OfferPrintedPayload,
    ("alert_ack", 1): AlertAckPayload,
    ("planogram_edit", 1): PlanogramEditPayload,
    ("play_counts", 1): PlayCountsPayload,
}
"""The payload model of each (kind, schema_version) HQ knows."""

KINDS: Final = frozenset(kind for kind, _ in PAYLOADS)

ATTENDANT_KINDS: Final = frozenset({"coupon_redeemed", "alert_ack", "planogram_edit"})
"""What an attendant device may send; a kiosk sends every other kind, and coupon_redeemed."""
KIOSK_KINDS: Final = KINDS - {"alert_ack", "planogram_edit"}


# ---------------------------------------------------------------- member feed (kiosk API)

MAX_FEED_PAGE: Final = 20_000
DEFAULT_FEED_PAGE: Final = 5_000


class MemberFeedEntry(_Model):
    tag_hash: str
    member_id: str
    greeting_name: str | None
    last_viewed: list[str]
    tier: str | None = None  # loyalty tier; only with marketing consent
    last_seen: datetime | None = None  # the newest lift, to the hour (UTC)
    personalised: bool = False  # consented to personalised recommendations
    # Marketing consent on record (member offers), and with it only: tags, birth month.
    marketing: bool = False
    tags: list[str] = []
    birth_month: int | None = None  # 1-12


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


# ---------------------------------------------------------------- coupons (admin API)


class CouponRedeemRequest(_Model):
    code: CouponCodeText
    store_id: Annotated[str, StringConstraints(min_length=1, max_length=40), _STORABLE]
    by: Annotated[str, StringConstraints(min_length=1, max_length=64), _STORABLE] = "admin-api"
    # The store's own date, which decides expiry; HQ's UTC date when not given.
    local_date: IsoDay | None = None


# ---------------------------------------------------------------- consents (admin API)


class ConsentWithdrawRequest(_Model):
    """A withdrawal staff took, say on the hotline: recorded as of HQ's clock."""

    purpose: ConsentPurpose
    by: Annotated[str, StringConstraints(min_length=1, max_length=64), _STORABLE] = "admin-api"


@overload
def utc_text(moment: datetime) -> str: ...
@overload
def utc_text(moment: None) -> None: ...
def utc_text(moment: datetime | None) -> str | None:
    """A time as HQ's documents and answers write it: UTC, to the second, with `Z`."""
    return None if moment is None else moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
