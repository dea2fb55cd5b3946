"""The content a chain publishes to its kiosks, as frozen typed values.

These pydantic models are the schema of a content bundle: `bundle.py` validates
each JSON document against them, and `docs/bundle.schema.json` is generated
from them (`python -m content.schema`). Unknown fields are refused so a typo in
a document is an error, not silently ignored.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Hashable, Iterable
from datetime import datetime
from decimal import Decimal
from functools import cached_property
from typing import Annotated, Final, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    StringConstraints,
    ValidationInfo,
    model_serializer,
    model_validator,
)

SCHEMA_VERSION: Final = 1

SKU_PATTERN: Final = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
Sku = Annotated[str, StringConstraints(pattern=SKU_PATTERN)]

# One path segment: not empty, not "." and not "..". Written as a plain regular
# expression (no look-ahead) so pydantic checks it in Rust, which matters for
# 20,000 image paths, and so the JSON schema carries the rule too.
_SEGMENT: Final = (
    r"(?:[A-Za-z0-9_-][A-Za-z0-9._-]*|\.[A-Za-z0-9_-][A-Za-z0-9._-]*|\.\.[A-Za-z0-9._-]+)"
)
ASSET_PATH_PATTERN: Final = rf"^{_SEGMENT}(?:/{_SEGMENT})*$"
# Bundle-relative POSIX path; no absolute paths and no climbing out of the bundle.
AssetPath = Annotated[str, StringConstraints(pattern=ASSET_PATH_PATTERN, max_length=200)]
Sha256 = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]


# Exactly the documented shape: date, "T", hours and minutes (seconds, fraction and
# offset optional), ASCII digits. datetime.fromisoformat alone would also take a
# bare date (midnight), "2025-06-18 09" or other digits.
_DATETIME_SHAPE: Final = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]{1,6})?)?"
    r"(?:Z|[+-][0-9]{2}:[0-9]{2})?"
)


def _parse_datetime(value: str) -> datetime | None:
    if not _DATETIME_SHAPE.fullmatch(value):
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:  # the right shape, but e.g. month 13
        return None


def _check_iso_datetime(value: str) -> str:
    if _parse_datetime(value) is None:
        raise ValueError("must be an ISO 8601 date and time, e.g. 2025-06-18T09:30:00+08:00")
    return value


IsoDateTime = Annotated[str, AfterValidator(_check_iso_datetime)]


def _check_zoned_datetime(value: str) -> str:
    # Campaigns and draws open and close at an instant every kiosk must agree
    # on, and kiosks compare them with an aware `now`: a bare local time is
    # ambiguous and would not even compare.
    parsed = _parse_datetime(value)
    if parsed is None or parsed.utcoffset() is None:
        raise ValueError(
            "must be an ISO 8601 date and time with a UTC offset, e.g. 2025-06-18T09:30:00+08:00"
        )
    return value


# IsoDateTime that must carry its UTC offset ("+08:00" or "Z").
ZonedDateTime = Annotated[str, AfterValidator(_check_zoned_datetime)]

TEXT_PATTERN: Final = r"^[^\x00]*$"
# Shown text: a NUL would cut it short in Qt and in C libraries on the way.
Text = Annotated[str, StringConstraints(pattern=TEXT_PATTERN)]

# A minus sign passes here so that the range check can say what is wrong.
DECIMAL_PATTERN: Final = r"^-?[0-9]+(?:\.[0-9]+)?$"
_DECIMAL_SHAPE: Final = re.compile(DECIMAL_PATTERN)


def _exact_decimal(places: int | None) -> BeforeValidator:
    """A decimal written as a JSON string of ASCII digits, e.g. "4999.00".

    Decimal() alone also takes " 1.00", "1_000.00", Arabic-Indic digits, "1e3"
    and JSON numbers (binary floats): money and chances are exact or refused.
    """

    def check(value: object, info: ValidationInfo) -> object:
        if info.mode == "python" and isinstance(value, Decimal):
            return value  # built in code, not read from a document
        if not isinstance(value, str) or not _DECIMAL_SHAPE.fullmatch(value):
            example = "4999.00" if places == 2 else "0.05"
            raise ValueError(f'must be a decimal number in a string, like "{example}"')
        decimals = len(value.partition(".")[2])
        if places is not None and decimals != places and not value.startswith("-"):
            raise ValueError(f"must have exactly {places} decimals")
        return Decimal(value)

    # What the JSON schema tells publishers: the plain shape, without the minus sign.
    shape = rf"^[0-9]+\.[0-9]{{{places}}}$" if places is not None else r"^[0-9]+(?:\.[0-9]+)?$"
    return BeforeValidator(
        check, json_schema_input_type=Annotated[str, StringConstraints(pattern=shape)]
    )


SLUG_PATTERN: Final = r"^[a-z0-9][a-z0-9_-]{0,39}$"
# An id a publisher chooses (survey, question, choice, campaign, draw, prize):
# short and plain, so it reads well in events, logs and reports.
Slug = Annotated[str, StringConstraints(pattern=SLUG_PATTERN)]


class FieldValueError(ValueError):
    """A whole-document check that can still name the offending field.

    Pydantic reports errors of a model validator at the document itself; raising
    this lets `bundle.py` point at e.g. `products[7].sku` instead.

    `loc` is relative to the model (or field) whose validator raises it:
    `load_bundle` prefixes where pydantic found that model.
    """

    def __init__(self, message: str, loc: tuple[str | int, ...]) -> None:
        super().__init__(message)
        self.loc = loc


class Language(enum.StrEnum):
    """Shopper-facing languages; the first is the default for every new session."""

    ZH_CN = "zh-CN"
    EN = "en"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


class LocalizedText(_Frozen):
    zh_cn: Text = Field(alias="zh-CN", min_length=1)
    en: Text = Field(min_length=1)

    def get(self, language: Language) -> str:
        return self.zh_cn if language is Language.ZH_CN else self.en


class Money(_Frozen):
    amount: Annotated[Decimal, _exact_decimal(2)] = Field(ge=0, max_digits=12, decimal_places=2)
    currency: Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")] = "CNY"


class PhoneSpecs(_Frozen):
    """Key specs a shopper compares; units are fixed so screens can format them."""

    display_inches: float = Field(gt=0, lt=20)
    display_type: Text = Field(min_length=1)
    refresh_hz: int = Field(gt=0, le=1000)
    chipset: Text = Field(min_length=1)
    ram_gb: int = Field(gt=0, le=128)
    storage_gb: int = Field(gt=0, le=8192)
    main_camera_mp: int = Field(gt=0, le=1000)
    battery_mah: int = Field(gt=0, le=50000)
    charging_w: int = Field(gt=0, le=1000)
    weight_g: int = Field(gt=0, le=2000)
    network: Text = Field(min_length=1)
    os: Text = Field(min_length=1)


class Product(_Frozen):
    sku: Sku
    brand: Text = Field(min_length=1)
    name: LocalizedText
    colour: LocalizedText
    price: Money
    specs: PhoneSpecs
    images: tuple[AssetPath, ...] = Field(min_length=1)
    tags: tuple[Text, ...] = ()
    in_stock: bool = True


class Catalog(_Frozen):
    products: tuple[Product, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_skus(self) -> Catalog:
        seen: dict[str, int] = {}
        for index, product in enumerate(self.products):
            first = seen.setdefault(product.sku, index)
            if first != index:
                raise FieldValueError(
                    f"duplicate SKU {product.sku!r} (first at products[{first}])",
                    ("products", index, "sku"),
                )
        return self


class SlotAssignment(_Frozen):
    slot: int = Field(ge=1, le=256)
    sku: Sku


class Planogram(_Frozen):
    """Which SKU sits on which pickup slot of this kiosk's cabinet."""

    cabinet: Text = Field(min_length=1)
    slots: tuple[SlotAssignment, ...]
    # What a new release does to the slots store staff changed (attendant app): "keep" them
    # (where the slot and the product still exist), or "replace" them with this planogram.
    store_edits: Literal["keep", "replace"] = "keep"

    @model_validator(mode="after")
    def _unique_slots(self) -> Planogram:
        seen: dict[int, int] = {}
        for index, assignment in enumerate(self.slots):
            first = seen.setdefault(assignment.slot, index)
            if first != index:
                raise FieldValueError(
                    f"slot {assignment.slot} assigned twice (first at slots[{first}])",
                    ("slots", index, "slot"),
                )
        return self


# "HH:MM-HH:MM", 24-hour local time; the end may be before the start (over midnight).
HOURS_PATTERN: Final = r"^(?:[01][0-9]|2[0-3]):[0-5][0-9]-(?:[01][0-9]|2[0-3]):[0-5][0-9]$"
Hours = Annotated[str, StringConstraints(pattern=HOURS_PATTERN)]
Weekday = Annotated[int, Field(ge=1, le=7)]  # ISO 8601: 1 is Monday, 7 is Sunday


class PlaylistItem(_Frozen):
    """One entry of the attract loop: a picture or a video, and when it plays.

    Exactly one of `image` / `video` (an H.264 MP4). `seconds` is how long a
    picture shows; a video without `seconds` plays once to its end, with
    `seconds` it shows that long (looping when shorter). `hours` and `weekdays`
    (dayparting, the kiosk's local time, `content.schedule`) limit when it plays;
    without them it plays all day, every day. `id` names the entry in proof-of-play
    counts (default: its asset's path); `campaign` is the advertiser's or brand
    partner's campaign it belongs to, counted and reported per campaign at HQ.
    """

    # The JSON schema says "exactly one of image / video" too (for editors and HQ tools).
    model_config = ConfigDict(
        json_schema_extra={"oneOf": [{"required": ["image"]}, {"required": ["video"]}]}
    )

    image: AssetPath | None = None
    video: AssetPath | None = None
    seconds: float = Field(default=8.0, ge=1, le=600)
    caption: LocalizedText | None = None
    hours: Hours | None = None
    weekdays: tuple[Weekday, ...] | None = Field(default=None, min_length=1, max_length=7)
    id: Slug | None = None
    campaign: Slug | None = None

    @model_validator(mode="after")
    def _one_medium(self) -> PlaylistItem:
        if self.image is None and self.video is None:
            raise FieldValueError("give either image or video, one of the two", ())
        if self.image is not None and self.video is not None:
            raise FieldValueError("give either image or video, not both", ("video",))
        if self.hours is not None and self.hours[:5] == self.hours[6:]:
            raise FieldValueError(
                f"starts and ends at {self.hours[:5]}: leave hours out to play all day",
                ("hours",),
            )
        twice = _duplicate(self.weekdays) if self.weekdays is not None else None
        if twice is not None:
            index, first = twice
            raise FieldValueError(
                f"a day given twice (first at weekdays[{first}])", ("weekdays", index)
            )
        return self

    @model_serializer(mode="wrap")
    def _written(self, write: SerializerFunctionWrapHandler) -> dict[str, object]:
        # Written back as a publisher would: the medium not used and no dayparting
        # are left out (so a picture entry reads as before videos existed), and a
        # video's `seconds` only when given, so that it still plays to its end.
        written: dict[str, object] = write(self)
        for name in ("image", "video", "hours", "weekdays", "id", "campaign"):
            if written.get(name, ...) is None:
                del written[name]
        if self.plays_to_end:
            written.pop("seconds", None)
        return written

    @property
    def asset(self) -> str:
        """The picture or video this entry shows."""
        medium = self.image if self.image is not None else self.video
        assert medium is not None  # the validator made sure
        return medium

    @property
    def play_id(self) -> str:
        """What proof-of-play counts call this entry: its `id`, else its asset's path."""
        return self.id if self.id is not None else self.asset

    @property
    def plays_to_end(self) -> bool:
        """A video whose `seconds` were left out: it shows until it ends."""
        return self.video is not None and "seconds" not in self.model_fields_set


class Playlist(_Frozen):
    items: tuple[PlaylistItem, ...] = Field(min_length=1)


class Recommendations(_Frozen):
    related: dict[Sku, tuple[Sku, ...]] = {}
    best_sellers: tuple[Sku, ...] = ()


Score = Annotated[float, Field(ge=0, le=1)]
# A model's score, scaled so the best of its list is 1: comparable between SKUs and
# with the kiosk's own counts (content.recommend mixes them).
Scored = tuple[Sku, Score]


class RecommendationModel(_Frozen):
    """HQ's trained recommendation model (optional `recommender.json`, docs/bundle.md).

    `related[sku]`: other SKUs shoppers looked at (lifted, compared, bought) in the same
    visit as `sku`, best first, time-decayed; `popularity`: SKUs by decayed interest,
    best first. Where a bundle has it, the kiosk ranks its shelves by it mixed with the
    store's own lift counts; HQ's hand tables in recommendations.json stay the fallback
    for SKUs the model does not know.
    """

    model: Annotated[str, StringConstraints(pattern=SKU_PATTERN)]  # HQ's model version
    trained_at: ZonedDateTime
    half_life_days: float = Field(gt=0, le=3650)
    popularity: tuple[Scored, ...] = ()
    related: dict[Sku, tuple[Scored, ...]] = {}

    # Lookups by SKU, built at the first recommendation asked for (the product panels
    # are prepared ahead during the attract loop, so never on a lift).
    @cached_property
    def neighbours(self) -> dict[str, dict[str, float]]:
        return {sku: dict(scored) for sku, scored in self.related.items()}

    @cached_property
    def interest(self) -> dict[str, float]:
        return dict(self.popularity)

    def skus(self) -> set[str]:
        """Every SKU the model names."""
        named = {sku for sku, _ in self.popularity} | self.related.keys()
        named.update(other for scored in self.related.values() for other, _ in scored)
        return named


class AssetEntry(_Frozen):
    path: AssetPath
    sha256: Sha256
    size: int = Field(ge=0)


class Manifest(_Frozen):
    schema_version: int
    release: Annotated[str, StringConstraints(pattern=SKU_PATTERN)]  # same shape as a SKU
    created_at: IsoDateTime
    assets: tuple[AssetEntry, ...]

    @model_validator(mode="after")
    def _supported(self) -> Manifest:
        if self.schema_version != SCHEMA_VERSION:
            raise FieldValueError(
                f"schema_version {self.schema_version} is not supported"
                f" (expected {SCHEMA_VERSION})",
                ("schema_version",),
            )
        return self


# --- Consent, surveys, coupons and prize draws (optional documents) -------------


def _duplicate(values: Iterable[Hashable]) -> tuple[int, int] | None:
    """(index, index of the first occurrence) of the first repeated value, or None."""
    seen: dict[Hashable, int] = {}
    for index, value in enumerate(values):
        first = seen.setdefault(value, index)
        if first != index:
            return index, first
    return None


def _check_window(starts_at: str, ends_at: str) -> None:
    if datetime.fromisoformat(ends_at) <= datetime.fromisoformat(starts_at):
        raise FieldValueError(f"must be after starts_at ({starts_at})", ("ends_at",))


class ConsentPurpose(enum.StrEnum):
    """What a shopper may agree to, each separately and each an unticked choice."""

    MEMBERSHIP = "membership"
    MARKETING = "marketing"  # offers by SMS and email
    RECOGNITION = "recognition"  # being recognised by a member fob or tag
    PERSONALISATION = "personalisation"  # recommendations from what they looked at


NOTICE_TEXT_MAX: Final = 2000  # a notice longer than a screenful is not read


def _check_notice_text(text: LocalizedText) -> LocalizedText:
    for loc, value in (("zh-CN", text.zh_cn), ("en", text.en)):
        if len(value) > NOTICE_TEXT_MAX:
            raise FieldValueError(
                f"is {len(value)} characters; a notice has at most {NOTICE_TEXT_MAX}", (loc,)
            )
    return text


class ConsentNotice(_Frozen):
    """The tick-box line for one purpose and the notice shown beside it.

    `version` is recorded with every consent, so change it whenever the text changes.
    """

    purpose: ConsentPurpose
    version: Text = Field(min_length=1, max_length=50)
    label: LocalizedText
    text: Annotated[LocalizedText, AfterValidator(_check_notice_text)]


class Notices(_Frozen):
    """notices.json: one notice for each purpose, all four."""

    notices: tuple[ConsentNotice, ...]

    @model_validator(mode="after")
    def _each_purpose_once(self) -> Notices:
        twice = _duplicate(notice.purpose for notice in self.notices)
        if twice is not None:
            index, first = twice
            raise FieldValueError(
                f"a second notice for {self.notices[index].purpose.value!r}"
                f" (first at notices[{first}])",
                ("notices", index, "purpose"),
            )
        missing = [p.value for p in ConsentPurpose if p not in {n.purpose for n in self.notices}]
        if missing:
            raise FieldValueError(f"no notice for {', '.join(missing)}", ("notices",))
        return self


class QuestionKind(enum.StrEnum):
    SMILEY = "smiley"  # four faces, 1 (very unhappy) .. 4 (very happy)
    NPS = "nps"  # 0..10, "how likely are you to recommend us"
    SINGLE = "single"  # one of the choices
    MULTIPLE = "multiple"  # any of the choices
    TEXT = "text"  # free text, up to max_length characters


END: Final = "end"  # branch target: the survey ends here
MIN_CHOICES: Final = 2
MAX_CHOICES: Final = 8  # more than fit as buttons on one screen
_SCORE_KEYS: Final = {
    QuestionKind.SMILEY: tuple(str(score) for score in range(1, 5)),
    QuestionKind.NPS: tuple(str(score) for score in range(11)),
}


class SurveyChoice(_Frozen):
    id: Slug
    label: LocalizedText


class SurveyQuestion(_Frozen):
    """One question; `branches` maps an answer to the id of the next question or "end".

    Keys are a choice id (single), "1".."4" (smiley) or "0".."10" (nps); other
    kinds cannot branch. Without a branch the next question in order follows.
    """

    id: Slug
    kind: QuestionKind
    prompt: LocalizedText
    choices: tuple[SurveyChoice, ...] = ()
    max_length: int = Field(default=200, ge=1, le=500)  # text questions only
    optional: bool = False
    branches: dict[str, str] = {}

    @model_validator(mode="after")
    def _fits_its_kind(self) -> SurveyQuestion:
        with_choices = self.kind in (QuestionKind.SINGLE, QuestionKind.MULTIPLE)
        if with_choices and not MIN_CHOICES <= len(self.choices) <= MAX_CHOICES:
            raise FieldValueError(
                f"a {self.kind.value} question needs {MIN_CHOICES} to {MAX_CHOICES} choices,"
                f" not {len(self.choices)}",
                ("choices",),
            )
        if not with_choices and self.choices:
            raise FieldValueError(f"a {self.kind.value} question has no choices", ("choices",))
        twice = _duplicate(choice.id for choice in self.choices)
        if twice is not None:
            index, first = twice
            raise FieldValueError(
                f"duplicate choice id {self.choices[index].id!r} (first at choices[{first}])",
                ("choices", index, "id"),
            )
        if self.kind is QuestionKind.SINGLE:
            keys: tuple[str, ...] = tuple(choice.id for choice in self.choices)
            expected = "a choice id of this question"
        elif self.kind in _SCORE_KEYS:
            keys = _SCORE_KEYS[self.kind]
            expected = f'"{keys[0]}" to "{keys[-1]}"'
        else:
            keys, expected = (), ""
        for key in self.branches:
            if not keys:
                raise FieldValueError(
                    f"a {self.kind.value} question cannot branch"
                    " (only single, smiley and nps questions can)",
                    ("branches", key),
                )
            if key not in keys:
                raise FieldValueError(
                    f"{key!r} is not an answer to this {self.kind.value} question"
                    f" (expected {expected})",
                    ("branches", key),
                )
        return self


class LowScore(_Frozen):
    """Answers at or below these alert the store's staff."""

    smiley: int = Field(default=2, ge=1, le=4)
    nps: int = Field(default=6, ge=0, le=10)  # 0..6: NPS detractors


MAX_QUESTIONS: Final = 10  # a kiosk survey longer than this is abandoned half way


class Survey(_Frozen):
    id: Slug
    title: LocalizedText
    questions: tuple[SurveyQuestion, ...] = Field(min_length=1, max_length=MAX_QUESTIONS)
    reward: str | None = None  # coupon campaign id given on completion
    low_score: LowScore = LowScore()
    terminal: bool = False  # a one-question smiley "HappyOrNot" survey

    @model_validator(mode="after")
    def _flows_forward(self) -> Survey:
        position: dict[str, int] = {}
        for index, question in enumerate(self.questions):
            if question.id == END:
                raise FieldValueError(
                    f"{END!r} is reserved for ending the survey", ("questions", index, "id")
                )
            first = position.setdefault(question.id, index)
            if first != index:
                raise FieldValueError(
                    f"duplicate question id {question.id!r} (first at questions[{first}])",
                    ("questions", index, "id"),
                )
        for index, question in enumerate(self.questions):
            for key, target in question.branches.items():
                where = ("questions", index, "branches", key)
                if target == END:
                    continue
                if target not in position:
                    raise FieldValueError(
                        f"no question {target!r} in this survey (or {END!r} to end it)", where
                    )
                if position[target] <= index:
                    # Only forward jumps, so every run of the survey ends.
                    raise FieldValueError(
                        f"question {target!r} is not after this one; a branch can only go"
                        f" forward (or to {END!r})",
                        where,
                    )
        if self.terminal:
            if len(self.questions) != 1:
                raise FieldValueError("a terminal survey has exactly one question", ("questions",))
            if self.questions[0].kind is not QuestionKind.SMILEY:
                raise FieldValueError(
                    "a terminal survey asks a smiley question", ("questions", 0, "kind")
                )
        return self


class Surveys(_Frozen):
    """surveys.json."""

    surveys: tuple[Survey, ...]

    @model_validator(mode="after")
    def _unique_ids(self) -> Surveys:
        twice = _duplicate(survey.id for survey in self.surveys)
        if twice is not None:
            index, first = twice
            raise FieldValueError(
                f"duplicate survey id {self.surveys[index].id!r} (first at surveys[{first}])",
                ("surveys", index, "id"),
            )
        return self


MAX_CAMPAIGN_NUMBER: Final = 4095  # 12 bits in a coupon code


class CouponCampaign(_Frozen):
    """A kind of coupon kiosks may issue: what it is worth, when, and how many.

    A code is issued only from `starts_at` until `ends_at` (exclusive) and
    expires at the end of local day issue day + `valid_days` - 1.
    """

    id: Slug
    number: int = Field(ge=1, le=MAX_CAMPAIGN_NUMBER)  # the campaign's number inside codes
    title: LocalizedText
    terms: LocalizedText
    value: Money | None = None  # exactly one of value / percent_off
    percent_off: int | None = Field(default=None, ge=1, le=100)
    starts_at: ZonedDateTime
    ends_at: ZonedDateTime
    valid_days: int = Field(default=30, ge=1, le=366)
    daily_budget: int = Field(ge=0)  # codes this kiosk may issue per local day
    per_member_limit: int = Field(default=1, ge=1)
    welcome: bool = False  # given to each new member as they sign up at a kiosk

    @model_validator(mode="after")
    def _consistent(self) -> CouponCampaign:
        if self.value is None and self.percent_off is None:
            raise FieldValueError(
                "give either value (money off) or percent_off, one of the two", ()
            )
        if self.value is not None and self.percent_off is not None:
            raise FieldValueError("give either value or percent_off, not both", ("percent_off",))
        if self.value is not None and self.value.amount <= 0:
            raise FieldValueError("a coupon must be worth more than 0", ("value", "amount"))
        _check_window(self.starts_at, self.ends_at)
        return self


class CouponCampaigns(_Frozen):
    """coupons.json: campaign ids and numbers unique."""

    campaigns: tuple[CouponCampaign, ...]

    @model_validator(mode="after")
    def _unique(self) -> CouponCampaigns:
        for name in ("id", "number"):
            twice = _duplicate(getattr(campaign, name) for campaign in self.campaigns)
            if twice is not None:
                index, first = twice
                value = getattr(self.campaigns[index], name)
                raise FieldValueError(
                    f"duplicate campaign {name} {value!r} (first at campaigns[{first}])",
                    ("campaigns", index, name),
                )
        return self


class Prize(_Frozen):
    id: Slug
    campaign: str  # coupon campaign id won
    chance: Annotated[Decimal, _exact_decimal(None)] = Field(
        gt=0, le=1
    )  # Decimal: chances must add up exactly
    daily_cap: int = Field(ge=0)  # wins per local day on this kiosk
    image: AssetPath | None = None  # the prize's picture on the draw screen


MAX_PRIZES: Final = 20


class PrizeDraw(_Frozen):
    id: Slug
    title: LocalizedText
    prizes: tuple[Prize, ...] = Field(min_length=1, max_length=MAX_PRIZES)
    draws_per_member_per_day: int = Field(default=1, ge=1)
    starts_at: ZonedDateTime
    ends_at: ZonedDateTime
    rules: LocalizedText | None = None  # the small print; none: the kiosk's own lines

    @model_validator(mode="after")
    def _consistent(self) -> PrizeDraw:
        twice = _duplicate(prize.id for prize in self.prizes)
        if twice is not None:
            index, first = twice
            raise FieldValueError(
                f"duplicate prize id {self.prizes[index].id!r} (first at prizes[{first}])",
                ("prizes", index, "id"),
            )
        total = sum((prize.chance for prize in self.prizes), Decimal(0))
        if total > 1:
            raise FieldValueError(
                f"chances add up to {total}; at most 1 (the rest is no prize)", ("prizes",)
            )
        _check_window(self.starts_at, self.ends_at)
        return self


class PrizeDraws(_Frozen):
    """prizes.json."""

    draws: tuple[PrizeDraw, ...]

    @model_validator(mode="after")
    def _unique_ids(self) -> PrizeDraws:
        twice = _duplicate(draw.id for draw in self.draws)
        if twice is not None:
            index, first = twice
            raise FieldValueError(
                f"duplicate draw id {self.draws[index].id!r} (first at draws[{first}])",
                ("draws", index, "id"),
            )
        return self
