"""The content API's request bodies (docs/content-releases.md) as pydantic models.

Closed and bounded: unknown fields are refused, lists and texts have limits, and
every string is storable (no NUL, valid Unicode), so bad input is a 422 naming
the field, never a 500.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Annotated, Final, Literal, get_args

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from hq.wire import INT64_MAX, Text200

Reason = Literal[
    "no_key",
    "signature",
    "rollback",
    "expired",
    "wrong_target",
    "asset_hash",
    "bundle_invalid",
    "load_failed",
    "crashed",
    "video_failed",
    "download",
]
REASONS: Final[tuple[Reason, ...]] = get_args(Reason)
MAX_DETAIL: Final = 300
MAX_FAILURES: Final = 100  # per report; a kiosk sends what is pending, oldest first
MAX_READY: Final = 20
MAX_EDITS: Final = 1_000

ReleaseNumber = Annotated[int, Field(ge=1, le=INT64_MAX)]
ByteCount = Annotated[int, Field(ge=0, le=INT64_MAX)]


def _storable(text: str) -> str:
    if "\x00" in text:
        raise ValueError("must not contain NUL characters")
    text.encode("utf-8")  # lone surrogates raise UnicodeEncodeError, a ValueError
    return text


Detail = Annotated[str, StringConstraints(max_length=MAX_DETAIL), AfterValidator(_storable)]
Actor = Annotated[str, StringConstraints(min_length=1, max_length=64), AfterValidator(_storable)]


class _Closed(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Downloading(_Closed):
    release: ReleaseNumber
    bytes_done: ByteCount
    bytes_total: ByteCount


class FailureReport(_Closed):
    id: uuid.UUID
    release: ReleaseNumber | None = None
    reason: Reason
    detail: Detail = ""
    at: AwareDatetime


class ContentStatus(_Closed):
    """POST /v1/content/status: what the kiosk runs, holds, downloads, and what failed."""

    active: ReleaseNumber | None = None
    ready: list[ReleaseNumber] = Field(default_factory=list, max_length=MAX_READY)
    downloading: Downloading | None = None
    failures: list[FailureReport] = Field(default_factory=list, max_length=MAX_FAILURES)


class StatusAnswer(_Closed):
    accepted: list[str]  # failure ids HQ holds: the kiosk may forget them


class RevokeRequest(_Closed):
    by: Actor = "admin-api"


class ProductEditRequest(_Closed):
    sku: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    price: Annotated[Decimal, Field(ge=0, max_digits=12, decimal_places=2)] | None = None
    in_stock: bool | None = None
    name_zh: Text200 | None = None
    name_en: Text200 | None = None


class EditRequest(_Closed):
    """POST /v1/admin/content/releases/{base}/edit."""

    edits: list[ProductEditRequest] = Field(min_length=1, max_length=MAX_EDITS)
    target: str | None = None  # default: the base release's
    not_before: AwareDatetime | None = None
    expires: AwareDatetime | None = None
    name: Text200 | None = None
    by: Actor = "admin-api"
