"""Commands from an attendant device to a kiosk's channel server, and the kiosk's catalog.

    send_command(endpoint, keys, Redeem(code_hash=coupon_hash(text), by="s-07"))
    fetch_catalog(endpoint, keys)

`POST /v1/command` and `GET /v1/catalog` carry the same request proof as `GET
/v1/channel` (keys.StoreKeys.prove, over the path). A command's body is sealed with the
store key, its associated data naming the store, the path and the request's nonce: the
proof's nonce is used once (keys.ReplayGuard), so a captured command cannot be sent
again, and a body moved under another request's headers does not open. Answers are
sealed the same way (another label), so a client knows the answer is the kiosk's
answer to this very request. No Qt; the server side is serve.py with execute.py.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Final, Literal

import requests
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, TypeAdapter, ValidationError

from backend_client.channel.client import KioskEndpoint
from backend_client.channel.keys import FrameError, StoreKeys
from content.model import SKU_PATTERN
from rewards.codes import canonical_text

COMMAND_PATH: Final = "/v1/command"
CATALOG_PATH: Final = "/v1/catalog"
MAX_COMMAND_BYTES: Final = 4_096  # a sealed command is a few hundred bytes
MAX_ANSWER_BYTES: Final = 16 * 1024 * 1024
"""A catalog answer is about 150 bytes a product sealed; 16 MiB holds 100,000 products,
ten times the largest catalog a kiosk takes. More is a broken or hostile kiosk."""
CODE_HASH_CHARS: Final = 32

Refusal = Literal["already_redeemed", "unknown_slot", "unknown_sku", "no_content"]

_Id = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:-]+$")]
_Sku = Annotated[str, StringConstraints(pattern=SKU_PATTERN)]
_CodeHash = Annotated[str, StringConstraints(pattern=rf"^[0-9a-f]{{{CODE_HASH_CHARS}}}$")]
_AlertId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._:-]{1,64}:\d{1,19}$")]


class _Command(BaseModel):
    # Closed like the channel's messages: nothing about a shopper rides along.
    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)


class Ack(_Command):
    """Staff `by` saw to alert `alert` ("<kiosk>:<seq>") `after_s` seconds after it came."""

    kind: Literal["ack"] = "ack"
    alert: _AlertId
    by: _Id
    after_s: float = Field(ge=0, allow_inf_nan=False)


class Redeem(_Command):
    """Claim a coupon code (by its `coupon_hash`) at this kiosk: once per code."""

    kind: Literal["redeem"] = "redeem"
    code_hash: _CodeHash
    by: _Id


class SetSlot(_Command):
    """Put product `sku` on pickup slot `slot` of this kiosk's cabinet."""

    kind: Literal["set_slot"] = "set_slot"
    slot: int = Field(ge=1, le=256)
    sku: _Sku
    by: _Id


Command = Ack | Redeem | SetSlot
_COMMAND: Final = TypeAdapter[Command](Annotated[Command, Field(discriminator="kind")])


@dataclass(frozen=True)
class CommandReply:
    ok: bool
    seq: int | None  # the window message the command became (ack / coupon_redeemed / planogram)
    refusal: Refusal | None
    at: datetime | None = None  # already_redeemed: when; set_slot: when
    by: str | None = None  # already_redeemed: by whom
    before: str | None = None  # set_slot: the sku before


class CommandError(Exception):
    """The command did not get an answer: `reason` is "unreachable" (no connection or no
    answer in time: it may or may not have been carried out), "refused" (401: not this
    store's key, or the clock is off) or "faulty" (an answer no good kiosk gives)."""

    def __init__(self, reason: Literal["unreachable", "refused", "faulty"], detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason


@dataclass(frozen=True)
class CatalogProduct:
    sku: str
    name_zh: str
    name_en: str
    brand: str


@dataclass(frozen=True)
class PlanogramSlot:
    slot: int
    sku: str  # what the kiosk shows for this slot now
    bundle_sku: str  # what the content release put there
    edited_by: str | None  # the store edit that decides it, if any
    edited_at: datetime | None


LabelKind = Literal["survey", "campaign", "draw", "prize"]


@dataclass(frozen=True)
class CatalogLabel:
    """The name staff see for an id the channel carries (survey_answer's survey,
    coupon_issued's campaign, prize_won's draw and prize). A prize's id is
    "<draw>/<prize>" (prize ids are unique within their draw only); its name is the
    title of the coupon campaign it wins."""

    kind: LabelKind
    id: str
    name_zh: str
    name_en: str


@dataclass(frozen=True)
class KioskCatalog:
    kiosk: str
    release: str  # "" when the kiosk has no content
    products: tuple[CatalogProduct, ...]
    slots: tuple[PlanogramSlot, ...]
    labels: tuple[CatalogLabel, ...] = ()


def prize_label_id(draw: str, prize: str) -> str:
    return f"{draw}/{prize}"


def coupon_hash(code_text: str) -> str:
    """The hash a coupon code travels as (channel and commands): the code itself never does.
    ValueError when `code_text` cannot be a code."""
    canonical = canonical_text(code_text)
    if canonical is None:
        raise ValueError("not a coupon code")
    return hashlib.sha256(canonical.encode()).hexdigest()[:CODE_HASH_CHARS]


# -- the wire (both ends) -------------------------------------------------------


def request_associated(store: str, path: str, nonce: str) -> bytes:
    return f"command|{store}|{path}|{nonce}".encode()


def answer_associated(store: str, path: str, nonce: str) -> bytes:
    return f"answer|{store}|{path}|{nonce}".encode()


def parse_command(plain: bytes) -> Command:
    """The command in an opened body (pydantic.ValidationError when it is none)."""
    return _COMMAND.validate_json(plain)


class _Answer(BaseModel):
    """A kiosk's answer. Fields it has and we do not know are ignored: a store updates its
    kiosks and its attendant devices on different days, and a newer kiosk's catalog must
    not look broken to an older attendant."""

    model_config = ConfigDict(strict=True, extra="ignore", frozen=True)


class _ReplyWire(_Answer):
    ok: bool
    seq: int | None
    refusal: Refusal | None
    at: datetime | None
    by: _Id | None
    before: _Sku | None


class _ProductWire(_Answer):
    sku: str
    name_zh: str
    name_en: str
    brand: str


class _SlotWire(_Answer):
    slot: int
    sku: str
    bundle_sku: str
    edited_by: str | None
    edited_at: datetime | None


class _LabelWire(_Answer):
    kind: LabelKind
    id: str
    name_zh: str
    name_en: str


class _CatalogWire(_Answer):
    kiosk: str
    release: str
    products: list[_ProductWire]
    slots: list[_SlotWire]
    labels: list[_LabelWire] = []  # absent from kiosks older than the labels


def reply_json(reply: CommandReply) -> bytes:
    return _ReplyWire(**vars(reply)).model_dump_json().encode()


def catalog_json(catalog: KioskCatalog) -> bytes:
    wire = _CatalogWire(
        kiosk=catalog.kiosk,
        release=catalog.release,
        products=[_ProductWire(**vars(product)) for product in catalog.products],
        slots=[_SlotWire(**vars(slot)) for slot in catalog.slots],
        labels=[_LabelWire(**vars(label)) for label in catalog.labels],
    )
    return wire.model_dump_json().encode()


# -- the attendant's side -------------------------------------------------------


def send_command(
    endpoint: KioskEndpoint, keys: StoreKeys, command: Command, *, timeout: float = 2.0
) -> CommandReply:
    """Carry `command` out at the kiosk; its answer, or CommandError."""
    headers = keys.prove(COMMAND_PATH, 0, time.time())
    body = keys.seal_body(
        command.model_dump_json().encode(),
        request_associated(keys.store, COMMAND_PATH, headers["X-Channel-Nonce"]),
    )
    plain = _exchange(
        endpoint, keys, "POST", COMMAND_PATH, headers=headers, body=body, timeout=timeout
    )
    try:
        wire = _ReplyWire.model_validate_json(plain)
    except ValidationError:
        raise CommandError("faulty", "not a command reply") from None
    return CommandReply(wire.ok, wire.seq, wire.refusal, wire.at, wire.by, wire.before)


def fetch_catalog(
    endpoint: KioskEndpoint, keys: StoreKeys, *, timeout: float = 3.0
) -> KioskCatalog:
    """The kiosk's products and its slots as it shows them now (store edits included),
    and the names of its surveys, coupon campaigns, draws and prizes."""
    headers = keys.prove(CATALOG_PATH, 0, time.time())
    plain = _exchange(
        endpoint, keys, "GET", CATALOG_PATH, headers=headers, body=None, timeout=timeout
    )
    catalog = parse_catalog(plain)
    if catalog.kiosk != endpoint.kiosk:
        raise CommandError("faulty", "the catalog of another kiosk")
    return catalog


def parse_catalog(plain: bytes) -> KioskCatalog:
    """An opened catalog answer (catalog_json's, or an older kiosk's without labels);
    CommandError "faulty" when it is none."""
    try:
        wire = _CatalogWire.model_validate_json(plain)
    except ValidationError:
        raise CommandError("faulty", "not a catalog") from None
    return KioskCatalog(
        kiosk=wire.kiosk,
        release=wire.release,
        products=tuple(CatalogProduct(**p.model_dump()) for p in wire.products),
        slots=tuple(PlanogramSlot(**s.model_dump()) for s in wire.slots),
        labels=tuple(CatalogLabel(**label.model_dump()) for label in wire.labels),
    )


def _exchange(
    endpoint: KioskEndpoint,
    keys: StoreKeys,
    method: str,
    path: str,
    *,
    headers: Mapping[str, str],
    body: bytes | None,
    timeout: float,
) -> bytes:
    """One request; the opened answer."""
    try:
        with requests.request(
            method,
            endpoint.url.rstrip("/") + path,
            data=body,
            headers={**headers, "Content-Type": "application/octet-stream"},
            timeout=timeout,
            stream=True,
        ) as response:
            if response.status_code == 401:
                raise CommandError("refused", "the kiosk refused this store key")
            if response.status_code != 200:
                raise CommandError("faulty", f"HTTP {response.status_code}")
            answer = bytearray()
            for chunk in response.iter_content(65_536):
                answer += chunk
                if len(answer) > MAX_ANSWER_BYTES:
                    raise CommandError("faulty", f"an answer over {MAX_ANSWER_BYTES} bytes")
    except (requests.ConnectionError, requests.Timeout) as error:
        raise CommandError("unreachable", type(error).__name__) from None
    except requests.RequestException as error:
        raise CommandError("faulty", type(error).__name__) from None
    try:
        return keys.open_body(
            bytes(answer),
            answer_associated(keys.store, path, headers["X-Channel-Nonce"]),
            headers["X-Channel-Kid"],
        )
    except FrameError as error:
        raise CommandError("faulty", str(error)) from None
