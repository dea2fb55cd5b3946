"""HTTP to HQ: enrolment, event batches, the member feed, content and heartbeats (docs/hq-api.md).

`HqClient` wraps one `requests.Session` (TLS verified, a timeout on every call,
the kiosk's bearer token) and turns whatever happens on the wire into one of
three errors the relay can act on:

- `HqUnavailable`: try again later (no connection, timeout, 408/429/5xx, a
  redirect, an answer that does not follow the contract), with HQ's
  `Retry-After` in seconds when it sent one;
- `HqUnauthorized`: 401, the token is missing, unknown or revoked;
- `HqRefused`: any other 4xx; HQ will not take this request as it is.

Messages name statuses and HQ's `detail`, never the token or a payload.
"""

from __future__ import annotations

import base64
import binascii
import email.utils
import json
import logging
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from types import TracebackType
from typing import Any, Final, Literal, Self, TypeGuard
from urllib.parse import quote

import requests
from urllib3.exceptions import MaxRetryError

from backend_client.credentials import (
    ChannelKey,
    Credentials,
    channel_key_from_json,
    check_hq_url,
    credentials_from_enrolment,
)
from backend_client.feed import FeedEntry, FeedPage

_log = logging.getLogger("backend_client.client")

DEFAULT_TIMEOUT: Final = (3.05, 30.0)
# (connect, read) seconds. Connect: just over TCP's 3 s retransmission window, as
# requests' docs advise. Read: HQ answers 500 events in well under a second; 30 s
# rides out a congested store uplink without hanging the relay for minutes.

MAX_BATCH: Final = 500
"""Events per `POST /v1/events`, by the contract."""

EVENTS_PATH: Final = "/v1/events"
ENROLL_PATH: Final = "/v1/enroll"
FEED_PATH: Final = "/v1/members/feed"
CHANNEL_KEY_PATH: Final = "/v1/store-channel-key"
CONTENT_MANIFEST_PATH: Final = "/v1/content/manifest"
CONTENT_ASSETS_PATH: Final = "/v1/content/assets/"
CONTENT_STATUS_PATH: Final = "/v1/content/status"
HEARTBEAT_PATH: Final = "/v1/heartbeat"
HEARTBEAT_PACE: Final = range(10, 3601)  # next_in, seconds, by the contract
COMMANDS_PATH: Final = "/v1/commands"

DEFAULT_FEED_PAGE: Final = 5_000
MAX_FEED_PAGE: Final = 20_000
"""Changes per member feed page: HQ's default and its limit, by the contract."""

TAG_KEY_BYTES: Final = 32
_TAG_HASH: Final = re.compile(r"[0-9a-f]{64}", re.ASCII)
_MAX_SLUG: Final = 40  # a tier's or tag's length at most (HQ's slugs, as offers.json's)

_DETAIL_MAX: Final = 300  # characters of HQ's error detail kept: one readable line
_RETRY_STATUSES: Final = frozenset({408, 429})  # plus every 5xx: HQ asks us to come back
_DELTA_SECONDS: Final = re.compile(r"-?[0-9]+", re.ASCII)
_USER_AGENT: Final = "lift-and-learn-kiosk/0.1"


class HqError(Exception):
    """Talking to HQ failed."""


class HqUnavailable(HqError):
    """HQ cannot be reached or asked us to come back later; retrying is safe."""

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


class HqUnauthorized(HqError):
    """HQ does not know this kiosk's token (missing, unknown or revoked)."""


class HqRefused(HqError):
    """HQ answered 4xx (not 401/408/429): it will not take this request as it is."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"HQ refused the request: {status} {message}")
        self.status = status
        self.message = message


class EventStatus(StrEnum):
    ACCEPTED = "accepted"
    DUPLICATE = "duplicate"
    REJECTED = "rejected"


@dataclass(frozen=True, slots=True)
class WireEvent:
    """One event as HQ receives it (the contract's envelope)."""

    event_id: uuid.UUID
    store_id: str
    kiosk_id: str
    seq: int
    kind: str
    schema_version: int
    occurred_at: datetime
    payload: Mapping[str, Any] = field(repr=False)  # may be personal data

    def to_json(self) -> dict[str, Any]:
        return {
            "event_id": str(self.event_id),
            "store_id": self.store_id,
            "kiosk_id": self.kiosk_id,
            "seq": self.seq,
            "kind": self.kind,
            "schema_version": self.schema_version,
            "occurred_at": self.occurred_at.isoformat(),
            "payload": dict(self.payload),
        }


@dataclass(frozen=True, slots=True)
class EventResult:
    """HQ's verdict on one event. `reason` is set for rejected events."""

    event_id: uuid.UUID
    seq: int
    status: EventStatus
    reason: str | None


@dataclass(frozen=True, slots=True)
class BatchAnswer:
    """HQ's answer to a batch: one result per event, in request order."""

    results: tuple[EventResult, ...]
    contiguous_seq: int


class _BearerAuth(requests.auth.AuthBase):
    """Sets the token on every request; also keeps requests from adding ~/.netrc logins."""

    def __init__(self, token: str | None) -> None:
        self._token = token

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        if self._token is not None:
            request.headers["Authorization"] = f"Bearer {self._token}"
        return request

    def __repr__(self) -> str:
        return "_BearerAuth(<hidden>)"


class HqClient:
    """The kiosk's calls to HQ. One session; use it from one thread at a time."""

    def __init__(
        self,
        credentials: Credentials,
        *,
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
        ca_bundle: Path | None = None,
    ) -> None:
        self._events_url = credentials.hq_url + EVENTS_PATH
        self._feed_url = credentials.hq_url + FEED_PATH
        self._channel_key_url = credentials.hq_url + CHANNEL_KEY_PATH
        self._hq_url = credentials.hq_url
        self._timeout = timeout
        self._verify = _verify_setting(ca_bundle)
        self._session = requests.Session()
        self._session.auth = _BearerAuth(credentials.token)
        self._session.headers.update({"User-Agent": _USER_AGENT, "Accept": "application/json"})

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._session.close()

    def post_events(self, events: Sequence[WireEvent]) -> BatchAnswer:
        """Send `events` (1 to 500) and return HQ's per-event verdicts.

        Raises HqUnavailable, HqUnauthorized or HqRefused; an answer that does not
        follow the contract is HqUnavailable, since retrying a batch is always safe.
        """
        if not 1 <= len(events) <= MAX_BATCH:
            raise ValueError(f"a batch holds 1 to {MAX_BATCH} events, got {len(events)}")
        body = {"events": [event.to_json() for event in events]}
        response = _post(
            self._session, self._events_url, body, timeout=self._timeout, verify=self._verify
        )
        return _batch_answer(_json_body(response), events)

    def get_member_feed(self, since: int, limit: int = DEFAULT_FEED_PAGE) -> FeedPage:
        """The member feed's changes after version `since` (0: a full snapshot).

        Raises HqUnavailable, HqUnauthorized or HqRefused as `post_events` does; an
        answer that does not follow the contract is HqUnavailable.
        """
        if since < 0:
            raise ValueError(f"since must be >= 0, got {since}")
        if not 1 <= limit <= MAX_FEED_PAGE:
            raise ValueError(f"limit must be 1 to {MAX_FEED_PAGE}, got {limit}")
        response = _send(
            self._session,
            "GET",
            self._feed_url,
            params={"since": str(since), "limit": str(limit)},
            timeout=self._timeout,
            verify=self._verify,
        )
        return _feed_page(_json_body(response), since, limit)

    def get_store_channel_key(self) -> ChannelKey:
        """The store's live-channel key as HQ holds it now (and the one before).

        Raises HqUnavailable, HqUnauthorized or HqRefused as `post_events` does; an
        answer that does not follow the contract is HqUnavailable.
        """
        response = _send(
            self._session, "GET", self._channel_key_url, timeout=self._timeout, verify=self._verify
        )
        try:
            key = channel_key_from_json(_json_body(response))
        except (KeyError, TypeError, ValueError) as exc:
            # The messages name fields, never a key's value.
            raise HqUnavailable(f"HQ's store channel key answer is malformed: {exc}") from None
        if key is None:
            raise HqUnavailable("HQ's store channel key answer is empty")
        return key

    # --- content releases (docs/content-releases.md) --------------------------------

    def get_content_manifest(self, etag: str | None) -> ManifestAnswer:
        """This kiosk's signed manifest; `not_modified` when HQ's ETag is still `etag`,
        `body` None when HQ has no release for this kiosk (404).

        Raises HqUnavailable, HqUnauthorized or HqRefused as `post_events` does.
        """
        headers = {} if etag is None else {"If-None-Match": etag}
        try:
            response = _send(
                self._session,
                "GET",
                self._hq_url + CONTENT_MANIFEST_PATH,
                headers=headers,
                timeout=self._timeout,
                verify=self._verify,
                passes=_NOT_MODIFIED,
            )
        except HqRefused as exc:
            if exc.status == 404:
                return ManifestAnswer(body=None, etag=None, not_modified=False)
            raise
        if response.status_code == 304:
            return ManifestAnswer(body=None, etag=etag, not_modified=True)
        return ManifestAnswer(
            body=response.content, etag=response.headers.get("ETag"), not_modified=False
        )

    def open_content_asset(
        self, sha256: str, *, offset: int = 0, if_range: str | None = None
    ) -> requests.Response:
        """The asset's bytes as a streamed response (the caller closes it): 200 whole,
        or 206 from `offset` when `offset` > 0 and HQ still holds the same bytes
        (`If-Range`). A range past the end is HqRefused(416).
        """
        headers: dict[str, str] = {"Accept": "*/*", "Accept-Encoding": "identity"}
        if offset > 0:
            headers["Range"] = f"bytes={offset}-"
            if if_range is not None:
                headers["If-Range"] = if_range
        return _send(
            self._session,
            "GET",
            self._hq_url + CONTENT_ASSETS_PATH + sha256,
            headers=headers,
            timeout=self._timeout,
            verify=self._verify,
            stream=True,
        )

    def post_content_status(self, report: Mapping[str, Any]) -> list[str]:
        """Tell HQ this kiosk's releases and failures; the failure ids HQ now holds."""
        response = _post(
            self._session,
            self._hq_url + CONTENT_STATUS_PATH,
            report,
            timeout=self._timeout,
            verify=self._verify,
        )
        document = _json_body(response)
        accepted = document.get("accepted") if isinstance(document, dict) else None
        if not isinstance(accepted, list) or not all(isinstance(i, str) for i in accepted):
            raise HqUnavailable("HQ's content status answer is malformed")
        return accepted

    # --- fleet health (docs/hq-api.md) ------------------------------------------------

    def post_heartbeat(self, heartbeat: Mapping[str, Any]) -> HeartbeatReply:
        """Tell HQ how this kiosk is; the seconds HQ wants until the next heartbeat, and
        HQ's commands for this kiosk (signed envelopes, not yet verified)."""
        response = _post(
            self._session,
            self._hq_url + HEARTBEAT_PATH,
            heartbeat,
            timeout=self._timeout,
            verify=self._verify,
        )
        document = _json_body(response)
        next_in = document.get("next_in") if isinstance(document, dict) else None
        if not _is_int(next_in) or next_in not in HEARTBEAT_PACE:
            raise HqUnavailable("HQ's heartbeat answer is malformed")
        commands = document.get("commands", [])
        if not isinstance(commands, list):
            raise HqUnavailable("HQ's heartbeat answer is malformed")
        return HeartbeatReply(next_in, tuple(commands), _hints(document))

    def post_command_result(self, command_id: str, result: Mapping[str, Any]) -> None:
        """How HQ's command `command_id` ended here (docs/hq-api.md)."""
        _post(
            self._session,
            f"{self._hq_url}{COMMANDS_PATH}/{quote(command_id, safe='')}/result",
            result,
            timeout=self._timeout,
            verify=self._verify,
        )


@dataclass(frozen=True, slots=True)
class HqHints:
    """What HQ holds for this kiosk now: the manifest's ETag (None: no release) and the
    member feed's version. The relay fetches either only when it moved."""

    content_etag: str | None
    feed_version: int


@dataclass(frozen=True, slots=True)
class HeartbeatReply:
    """HQ's answer to a heartbeat; `hints` None from an HQ that sends none."""

    next_in: int
    commands: tuple[object, ...] = ()
    hints: HqHints | None = None


@dataclass(frozen=True, slots=True)
class ManifestAnswer:
    """HQ's answer to GET /v1/content/manifest."""

    body: bytes | None = field(repr=False)
    etag: str | None
    not_modified: bool


_NOT_MODIFIED: Final = frozenset({304})


def enroll(
    hq_url: str,
    code: str,
    *,
    name: str | None = None,
    ca_bundle: Path | None = None,
    timeout: tuple[float, float] = DEFAULT_TIMEOUT,
) -> Credentials:
    """Trade a one-time enrolment code for this kiosk's credentials.

    ValueError for an HQ URL the kiosk may not use; HqRefused (403) for a code HQ
    does not know, already used or expired; HqUnavailable if HQ cannot be reached.
    """
    url = check_hq_url(hq_url)
    body: dict[str, Any] = {"code": code}
    if name is not None:
        body["name"] = name
    with requests.Session() as session:
        session.auth = _BearerAuth(None)  # enrolment carries no token
        session.headers.update({"User-Agent": _USER_AGENT, "Accept": "application/json"})
        response = _post(
            session, url + ENROLL_PATH, body, timeout=timeout, verify=_verify_setting(ca_bundle)
        )
        document = _json_body(response)
    if not isinstance(document, dict):
        raise HqUnavailable("HQ's enrolment answer is not a JSON object")
    try:
        return credentials_from_enrolment(url, document)
    except KeyError as missing:
        raise HqUnavailable(f"HQ's enrolment answer lacks {missing}") from None
    except (TypeError, ValueError) as exc:
        raise HqUnavailable(f"HQ's enrolment answer is malformed: {exc}") from None


def retry_after_seconds(header: str | None, now: datetime) -> float | None:
    """Seconds a `Retry-After` value asks us to wait, counted from `now`.

    Delta-seconds or an HTTP date (RFC 9110 10.2.3); None when absent or garbage;
    0 for a time already past. `now` must be timezone-aware.
    """
    if header is None:
        return None
    value = header.strip()
    if _DELTA_SECONDS.fullmatch(value):
        # More digits than a float holds is still "a very long time".
        return max(0.0, float(value)) if len(value) < 300 else float("inf")
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, OverflowError, IndexError):
        return None
    if moment.tzinfo is None:  # "-0000" means UTC with no claim about local time
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, (moment - now).total_seconds())


def _verify_setting(ca_bundle: Path | None) -> bool | str:
    if ca_bundle is None:
        return True
    if not ca_bundle.is_file():
        raise ValueError(f"CA bundle {ca_bundle} is not a file")
    return str(ca_bundle)


def _post(
    session: requests.Session,
    url: str,
    body: Mapping[str, Any],
    *,
    timeout: tuple[float, float],
    verify: bool | str,
) -> requests.Response:
    """POST `body` as JSON; the response if 2xx, else the matching HqError."""
    data = json.dumps(body, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode()
    return _send(session, "POST", url, data=data, timeout=timeout, verify=verify)


def _send(
    session: requests.Session,
    method: str,
    url: str,
    *,
    data: bytes | None = None,
    params: Mapping[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
    timeout: tuple[float, float],
    verify: bool | str,
    stream: bool = False,
    passes: frozenset[int] = frozenset(),
) -> requests.Response:
    """One request; the response if 2xx (or a status in `passes`), else the matching
    HqError."""
    headers = {
        **({"Content-Type": "application/json"} if data is not None else {}),
        **(headers or {}),
    }
    try:
        # verify is passed per call: a session's own setting loses to REQUESTS_CA_BUNDLE.
        response = session.request(
            method,
            url,
            data=data,
            params=params,
            headers=headers,
            timeout=timeout,
            verify=verify,
            allow_redirects=False,
            stream=stream,
        )
    except requests.Timeout as exc:
        raise HqUnavailable(f"HQ did not answer in time ({type(exc).__name__})") from None
    except requests.exceptions.SSLError as exc:
        raise HqUnavailable(f"TLS with HQ failed: {_cause(exc)}") from None
    except requests.ConnectionError as exc:
        raise HqUnavailable(f"cannot reach HQ: {_cause(exc)}") from None
    except (requests.RequestException, OSError) as exc:
        raise HqUnavailable(f"request to HQ failed: {_cause(exc)}") from None
    status = response.status_code
    if 200 <= status < 300 or status in passes:
        return response
    if status == 401:
        raise HqUnauthorized(f"HQ does not accept this kiosk's token: {_detail(response)}")
    if status in _RETRY_STATUSES or status >= 500:
        header = response.headers.get("Retry-After")
        raise HqUnavailable(
            f"HQ answered {status} {response.reason or ''}".rstrip(),
            retry_after_seconds(header, datetime.now(UTC)),
        )
    if 300 <= status < 400:
        raise HqUnavailable(f"HQ answered {status} (a redirect); check the HQ URL")
    raise HqRefused(status, _detail(response))


def _json_body(response: requests.Response) -> Any:
    try:
        return response.json()
    except (requests.JSONDecodeError, ValueError):
        raise HqUnavailable(f"HQ answered {response.status_code} without valid JSON") from None


def _detail(response: requests.Response) -> str:
    """HQ's `detail` as one short line: FastAPI's string, or its 422 list of fields."""
    try:
        detail = response.json().get("detail")
    except (ValueError, AttributeError):
        detail = None
    if isinstance(detail, str):
        text = detail
    elif isinstance(detail, list):
        # Only `loc` and `msg`: FastAPI's `input` would quote the payload back.
        parts = []
        for item in detail:
            if isinstance(item, dict):
                location = ".".join(str(part) for part in item.get("loc", ()))
                parts.append(f"{location}: {item.get('msg', '')}")
        text = "; ".join(parts)
    else:
        text = ""
    text = " ".join(text.split()) or response.reason or "no detail"
    return text if len(text) <= _DETAIL_MAX else text[: _DETAIL_MAX - 3] + "..."


def _cause(exc: BaseException) -> str:
    """The innermost reason of a requests/urllib3 failure, e.g. 'Connection refused'."""
    inner: BaseException = exc
    for _ in range(10):  # the chain is short; the bound only guards against a cycle
        nested = inner.args[0] if inner.args else None
        if isinstance(inner, MaxRetryError) and inner.reason is not None:
            inner = inner.reason
        elif isinstance(nested, BaseException):
            inner = nested
        elif inner.__cause__ is not None:
            inner = inner.__cause__
        else:
            break
    if isinstance(inner, OSError) and inner.strerror:
        return inner.strerror
    text = str(inner)
    # urllib3 prefixes "<connection object at 0x...>: "; keep what follows.
    text = text.rsplit(">: ", 1)[-1]
    return text[:_DETAIL_MAX] or type(inner).__name__


def _batch_answer(document: Any, events: Sequence[WireEvent]) -> BatchAnswer:
    """Check HQ's answer against the batch sent; HqUnavailable if it breaks the contract."""

    def malformed(why: str) -> HqUnavailable:
        _log.debug("HQ's answer to a batch breaks the contract: %s", why)
        return HqUnavailable(f"HQ's answer breaks the contract: {why}")

    if not isinstance(document, dict):
        raise malformed("not a JSON object")
    results = document.get("results")
    contiguous_seq = document.get("contiguous_seq")
    if not isinstance(results, list):
        raise malformed("no results list")
    if len(results) != len(events):
        raise malformed(f"{len(results)} results for {len(events)} events")
    if not _is_int(contiguous_seq) or contiguous_seq < 0:
        raise malformed("contiguous_seq is not a non-negative integer")
    parsed: list[EventResult] = []
    for index, (event, item) in enumerate(zip(events, results, strict=True)):
        if not isinstance(item, dict):
            raise malformed(f"result {index} is not an object")
        try:
            event_id = uuid.UUID(str(item.get("event_id")))
        except ValueError:
            raise malformed(f"result {index} has no valid event_id") from None
        seq = item.get("seq")
        if event_id != event.event_id or seq != event.seq or not _is_int(seq):
            raise malformed(f"result {index} is not for the event sent in that place")
        try:
            status = EventStatus(str(item.get("status")))
        except ValueError:
            raise malformed(f"result {index} has an unknown status") from None
        reason = item.get("reason")
        if reason is not None and not isinstance(reason, str):
            raise malformed(f"result {index} has a reason that is not text")
        parsed.append(EventResult(event_id, event.seq, status, reason))
    return BatchAnswer(tuple(parsed), contiguous_seq)


def _hints(document: dict[str, Any]) -> HqHints | None:
    if "content_etag" not in document or "feed_version" not in document:
        return None  # an HQ from before hints: the relay polls at its own pace
    etag, version = document["content_etag"], document["feed_version"]
    if not (etag is None or isinstance(etag, str)) or not _is_int(version) or version < 0:
        raise HqUnavailable("HQ's heartbeat answer is malformed")
    return HqHints(etag, version)


def _is_int(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _feed_page(document: Any, since: int, limit: int) -> FeedPage:
    """Check a member feed page against the contract; HqUnavailable if it breaks it."""

    def malformed(why: str) -> HqUnavailable:
        # Says which rule broke, never the entry: it is personal data.
        _log.debug("HQ's member feed page breaks the contract: %s", why)
        return HqUnavailable(f"HQ's member feed breaks the contract: {why}")

    if not isinstance(document, dict):
        raise malformed("not a JSON object")
    version, more, reset = document.get("version"), document.get("more"), document.get("reset")
    if not _is_int(version) or version < 0:
        raise malformed("version is not a non-negative integer")
    if not isinstance(more, bool) or not isinstance(reset, bool):
        raise malformed("more and reset must be true or false")
    if not reset and version < since:
        raise malformed("version went back without a reset")
    if more and not reset and version == since:
        raise malformed("more pages promised without progress")
    try:
        tag_key = base64.b64decode(str(document.get("tag_key")), validate=True)
    except (binascii.Error, ValueError):
        raise malformed("tag_key is not base64") from None
    if len(tag_key) != TAG_KEY_BYTES:
        raise malformed(f"tag_key is not {TAG_KEY_BYTES} bytes")
    changes = _feed_changes(document.get("upserts"), document.get("removed"), limit)
    if isinstance(changes, str):
        raise malformed(changes)
    entries, removed = changes
    return FeedPage(version, more, reset, tag_key, entries, removed)


def _feed_changes(
    upserts: Any, removed: Any, limit: int
) -> tuple[tuple[FeedEntry, ...], tuple[str, ...]] | str:
    """The page's entries and removals, or what is wrong with them."""
    if not isinstance(upserts, list) or not isinstance(removed, list):
        return "upserts and removed must be lists"
    if len(upserts) + len(removed) > limit:
        return f"more than {limit} changes in one page"
    entries = []
    for index, item in enumerate(upserts):
        entry = _feed_entry(item)
        if entry is None:
            return f"upserts[{index}] is not a feed entry"
        entries.append(entry)
    for index, tag_hash in enumerate(removed):
        if not isinstance(tag_hash, str) or not _TAG_HASH.fullmatch(tag_hash):
            return f"removed[{index}] is not a tag hash"
    return tuple(entries), tuple(removed)


def _feed_entry(item: Any) -> FeedEntry | None:
    if not isinstance(item, dict):
        return None
    tag_hash, member_id = item.get("tag_hash"), item.get("member_id")
    name, skus = item.get("greeting_name"), item.get("last_viewed")
    if (
        not isinstance(tag_hash, str)
        or not _TAG_HASH.fullmatch(tag_hash)
        or not isinstance(member_id, str)
        or not member_id
        or not (name is None or isinstance(name, str))
        or not isinstance(skus, list)
        or not all(isinstance(sku, str) for sku in skus)
    ):
        return None
    last_seen = _feed_time(item.get("last_seen"))
    personalised = item.get("personalised", False)  # absent: an HQ from before it
    offers = _feed_offers(item)
    if last_seen is False or not isinstance(personalised, bool) or offers is None:
        return None
    marketing, tier, tags, birth_month = offers
    return FeedEntry(
        tag_hash,
        member_id,
        name,
        tuple(skus),
        tier,
        last_seen,
        personalised,
        marketing,
        tags,
        birth_month,
    )


def _feed_offers(
    item: dict[str, Any],
) -> tuple[bool, str | None, tuple[str, ...], int | None] | None:
    """An entry's marketing consent, tier, tags and birth month; None if malformed.

    Absent (an HQ from before them): no consent. Without marketing consent the kiosk
    keeps none of the rest, whatever came (HQ sends none; an older HQ's `segment`
    is not a tier and is not read)."""
    marketing = item.get("marketing", False)
    tier, tags, month = item.get("tier"), item.get("tags", []), item.get("birth_month")
    if (
        not isinstance(marketing, bool)
        or not (tier is None or (isinstance(tier, str) and 0 < len(tier) <= _MAX_SLUG))
        or not isinstance(tags, list)
        or not all(isinstance(tag, str) and 0 < len(tag) <= _MAX_SLUG for tag in tags)
        or not (month is None or (type(month) is int and 1 <= month <= 12))
    ):
        return None
    if not marketing:
        return False, None, (), None
    return True, tier, tuple(sorted(set(tags))), month


def _feed_time(value: Any) -> datetime | Literal[False] | None:
    """An entry's `last_seen`: absent or null is None (HQ before it sent them); a time
    without its zone, or not a time, is False (the entry is malformed)."""
    if value is None:
        return None
    if not isinstance(value, str):
        return False
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return False
    return False if moment.tzinfo is None else moment
