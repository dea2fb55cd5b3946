"""`POST /v1/heartbeat`: what a kiosk says about itself every minute, and HQ's answer.

Bounded (lists and texts have limits, numbers are non-negative 64-bit, strings are
storable), so bad input is a 422 naming the field. Fields HQ does not know are
ignored rather than refused: a kiosk newer than its HQ keeps being heard. Nothing
personal: versions, device states, counts, sizes and times.
"""

from __future__ import annotations

from typing import Annotated, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from hq.wire import INT64_MAX, Text200, Timestamp, Word40

MAX_DEVICES: Final = 16
NEXT_IN_S: Final = 60
# Every kiosk beats once a minute; HQ may ask for another pace in its answer.

Count = Annotated[int, Field(ge=0, le=INT64_MAX)]
DeviceName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.:/@+-]{1,40}$")]


class _Open(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class DeviceReport(_Open):
    name: DeviceName
    state: Literal["up", "down", "reconnecting", "unknown"]
    detail: Text200 = ""


class OutboxReport(_Open):
    backlog: Count = 0  # records in the outbox, not yet acknowledged by HQ
    dead_letters: Count = 0
    state: Literal["idle", "syncing", "backing_off", "unauthorised"] | None = None


class DiskReport(_Open):
    free_bytes: Count
    total_bytes: Count


class CrashReport(_Open):
    at: Timestamp
    kind: Literal["exception", "exited"]  # an exception the kiosk survived; the kiosk died
    what: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.]{0,100}$")] = ""


class Heartbeat(_Open):
    """The kiosk as it is now: only the latest matters, so kiosks never queue these."""

    app_version: Word40
    content_release: Annotated[str, StringConstraints(pattern=r"^[\w.:+-]{1,64}$")] | None = None
    devices: list[DeviceReport] = Field(default_factory=list, max_length=MAX_DEVICES)
    outbox: OutboxReport = Field(default_factory=OutboxReport)
    disk: DiskReport | None = None
    uptime_s: Count = 0  # since the kiosk's screen process started
    last_crash: CrashReport | None = None
    screen: Literal["on", "off", "unknown"] = "unknown"


class _Closed(BaseModel):
    model_config = ConfigDict(frozen=True)


class CommandKey(_Closed):
    """One key of HQ's content key chain (docs/content-releases.md)."""

    key: str
    key_id: str
    endorsed_by: str | None
    endorsement: str


class CommandSignature(_Closed):
    key_id: str
    sig: str


class CommandEnvelope(_Closed):
    """A remote command as signed by HQ: `payload` is base64 of
    b"kiosk-command-v1\n" + canonical JSON of {id, kiosk_id, kind, issued_at,
    expires_at}, signed (Ed25519) by the newest key of `keys`."""

    payload: str
    signature: CommandSignature
    keys: list[CommandKey]


class HeartbeatAnswer(_Closed):
    """HQ's answer: when to beat next, the staff's commands for this kiosk, and what its
    content and member feed are at HQ now (the kiosk fetches them when they moved)."""

    next_in: Annotated[int, Field(ge=10, le=3600)] = NEXT_IN_S
    commands: list[CommandEnvelope] = Field(default_factory=list)
    content_etag: str | None = Field(
        None, description="The ETag `GET /v1/content/manifest` answers now; null: no release"
    )
    feed_version: Annotated[int, Field(ge=0, le=INT64_MAX)] = Field(
        0, description="The member feed's version now (`GET /v1/members/feed`)"
    )


MAX_RESULT_FILE_B64: Final = 8 * 1024 * 1024  # base64 of hq.fleet_health.commands' 6 MiB


class CommandResult(_Closed):
    """`POST /v1/commands/{id}/result`: how the kiosk's command ended. `file`: base64 of
    the screenshot's PNG or the logs' text (for those two kinds, when done)."""

    status: Literal["done", "failed", "refused"]
    detail: Text200 = ""
    file: Annotated[str, StringConstraints(max_length=MAX_RESULT_FILE_B64)] | None = None
