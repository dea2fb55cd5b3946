"""ChannelMessage: one fact a kiosk tells the store's attendants (see /docs/store-channel.md).

Each kind has its own `data` model with a closed list of fields (extra fields are
refused), so a phone number, e-mail, typed name, free text, member id or raw tag
id cannot ride along by accident: adding a field means changing this file.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Final, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    StringConstraints,
    model_serializer,
    model_validator,
)

FORMAT_VERSION: Final = 1

_Id = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:-]+$")]
# Codes, skus, reasons and device names: short tokens, never sentences a shopper typed.
_Token = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[\w.:/@+-]+$")]
_Short = Annotated[str, StringConstraints(max_length=120)]
_UtcIso = Annotated[
    str, StringConstraints(pattern=r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?Z$")
]


class _Data(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)


class Heartbeat(_Data):
    uptime_s: int = Field(ge=0)


class MemberArrived(_Data):
    session: _Id
    greeting: _Short | None  # only when the member allowed greeting by name
    # strict=False for the container only: the wire's JSON arrays arrive as Python lists
    # when a frame's data is checked by kind (_data_by_kind); the items stay strict.
    last_viewed: tuple[_Token, ...] = Field(max_length=20, strict=False)
    via: Literal["rfid", "ble"]


class SessionOnly(_Data):
    """member_left and signup: which session, nothing about the person."""

    session: _Id


class Lift(_Data):
    session: _Id
    slot: int = Field(ge=0)
    sku: _Token | None


class Drop(Lift):
    dwell_ms: int = Field(ge=0)


class Comparison(_Data):
    session: _Id
    skus: tuple[_Token, _Token] = Field(strict=False)  # as last_viewed


class SurveyAnswer(_Data):
    session: _Id
    survey: _Token
    question: _Token
    kind: _Token
    score: int | None
    low: bool


class PrizeWon(_Data):
    session: _Id
    draw: _Token
    prize: _Token


class CouponIssued(_Data):
    session: _Id
    campaign: _Token


class CouponRedeemed(_Data):
    code_hash: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{16,128}$")]
    by: _Id


class Alarm(_Data):
    slot: int = Field(ge=0)
    reason: _Token
    sku: _Token | None


class Device(_Data):
    device: _Token
    status: Literal["up", "down", "reconnecting"]
    detail: _Short


class Sync(_Data):
    backlog: int = Field(ge=0)
    dead_letters: int = Field(ge=0)


class Content(_Data):
    """The release the kiosk shows and, while the relay fetches one from HQ, how far it got."""

    release: _Token | None  # None: no content yet (a first install under way)
    # The update: None/"idle" when none is under way. `number` is HQ's release number.
    state: Literal["idle", "downloading", "ready", "failed"] = "idle"
    number: int | None = Field(default=None, ge=1)
    bytes_done: int | None = Field(default=None, ge=0)
    bytes_total: int | None = Field(default=None, ge=0)
    reason: _Token | None = None  # the last failure's reason (docs/content-releases.md)

    @model_validator(mode="after")
    def _progress_fits(self) -> Content:
        if (self.bytes_done is None) != (self.bytes_total is None):
            raise ValueError("bytes_done and bytes_total come together")
        done, total = self.bytes_done, self.bytes_total
        if done is not None and total is not None and done > total:
            raise ValueError("bytes_done exceeds bytes_total")
        return self

    @model_serializer(mode="wrap")
    def _only_what_is_told(self, to_dict: SerializerFunctionWrapHandler) -> dict[str, Any]:
        # Without an update under way the message is what it was before issue 16
        # (`release` only), which attendants updated on a later day still read.
        data: dict[str, Any] = to_dict(self)
        if self.state == "idle":
            return {"release": data["release"]}
        return {
            name: value for name, value in data.items() if value is not None or name == "release"
        }


class Ack(_Data):
    alert: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._:-]{1,64}:\d{1,19}$")]
    by: _Id
    after_s: float = Field(ge=0)


class PlanogramEdit(_Data):
    """Staff put another product on a slot (kind `planogram`): `before` and `after` are skus."""

    slot: int = Field(ge=0)
    before: _Token
    after: _Token
    by: _Id


Kind = Literal[
    "heartbeat", "member_arrived", "member_left", "lift", "drop", "comparison", "signup",
    "survey_answer", "prize_won", "coupon_issued", "coupon_redeemed", "alarm", "device",
    "sync", "content", "ack", "planogram",
]  # fmt: skip

DATA_MODELS: Final[dict[str, type[_Data]]] = {
    "heartbeat": Heartbeat,
    "member_arrived": MemberArrived,
    "member_left": SessionOnly,
    "lift": Lift,
    "drop": Drop,
    "comparison": Comparison,
    "signup": SessionOnly,
    "survey_answer": SurveyAnswer,
    "prize_won": PrizeWon,
    "coupon_issued": CouponIssued,
    "coupon_redeemed": CouponRedeemed,
    "alarm": Alarm,
    "device": Device,
    "sync": Sync,
    "content": Content,
    "ack": Ack,
    "planogram": PlanogramEdit,
}

ChannelData = (
    Heartbeat | MemberArrived | SessionOnly | Drop | Lift | Comparison | SurveyAnswer | PrizeWon
    | CouponIssued | CouponRedeemed | Alarm | Device | Sync | Content | Ack | PlanogramEdit
)  # fmt: skip


def utc_iso(moment: datetime) -> str:
    """`moment` as the wire's `at`: UTC, milliseconds, a trailing Z."""
    if moment.tzinfo is None:
        raise ValueError("a channel time must carry its time zone")
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def data_of(kind: str, data: Any) -> _Data:
    """`data` checked against `kind`'s whitelist (raises pydantic.ValidationError or KeyError)."""
    model = DATA_MODELS[kind]
    return data if type(data) is model else model.model_validate(data)


class ChannelMessage(BaseModel):
    """A message as the attendant sees it once its frame is verified and decrypted."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)

    v: Literal[1]
    store: _Id
    kiosk: _Id
    seq: int = Field(ge=1)
    at: _UtcIso
    kind: Kind
    alert: bool
    data: ChannelData

    @model_validator(mode="before")
    @classmethod
    def _data_by_kind(cls, value: Any) -> Any:
        # A union would pick the first model that fits (member_left's data fits signup's
        # too); the kind names the one model its data must match.
        if isinstance(value, dict) and value.get("kind") in DATA_MODELS:
            return {**value, "data": data_of(value["kind"], value.get("data"))}
        return value

    @property
    def moment(self) -> datetime:
        return datetime.fromisoformat(self.at)

    def wire(self) -> bytes:
        return self.model_dump_json().encode()
