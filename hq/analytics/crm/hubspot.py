"""HubSpot: contacts by HQ's customer id, opt-outs back through the search API.

- Customers: `POST /crm/v3/objects/contacts/batch/upsert`, up to 100 a request,
  `idProperty` `kiosk_customer_id` (a unique custom property the chain creates).
  A batch HubSpot refuses as a whole (400) is split in halves until the refused
  contact is alone: it goes to the dead letters, the others go through.
- Erased customers, and members who withdrew membership:
  `POST /crm/v3/objects/contacts/gdpr-delete` by `kiosk_customer_id` (a
  permanent deletion, not the archive's 90 days), one a request.
- Interactions: custom behavioural events, `POST /events/v3/send/batch` (up to
  500), only when an event name is configured (an Enterprise feature).
- Opt-outs and contact changes (email, firstname, mobilephone, kiosk_language):
  `POST /crm/v3/objects/contacts/search`, contacts with a
  `kiosk_customer_id` and `lastmodifieddate` >= the cursor, oldest first, 100 a page.
  `kiosk_consent_<flag>` "false" opts out of that flag; HubSpot's own
  `hs_email_optout` "true" (unsubscribed from all email) opts out of marketing by email.
- Rate limits: 429 and 5xx are retried with backoff (Retry-After when given); when
  `X-HubSpot-RateLimit-Remaining` reaches 0 the next request waits out the window
  (`X-HubSpot-RateLimit-Interval-Milliseconds`, 10 s); search pages (4 a second
  per account, and no such headers) are paced at 0.25 s.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

import requests

from hq.analytics.crm.connector import (
    Changes,
    CrmAnswerUnreadable,
    CrmAuthFailed,
    CrmEvent,
    Outbound,
    Outcome,
    Refusal,
)
from hq.analytics.crm.records import CONTACT_FIELDS, FLAG_NAMES, FLAGS, ContactChange, Flag, OptOut
from hq.analytics.crm.transport import Transport, json_object

NAME: Final = "hubspot"
DEFAULT_URL: Final = "https://api.hubapi.com"
ID_PROPERTY: Final = "kiosk_customer_id"
CUSTOMER_BATCH: Final = 100  # HubSpot's limit for batch upsert
EVENT_BATCH: Final = 500  # and for a batch of custom events
SEARCH_PAGE: Final = 100  # the search API's largest page
SEARCH_MAX: Final = 10_000  # the search API returns no more for one query
SEARCH_PAUSE_S: Final = 0.25  # its limit: 4 requests a second per account

FIELDS: Final[Mapping[str, str]] = {
    "email": "email",
    "phone": "mobilephone",
    "name": "firstname",
    "language": "kiosk_language",
    "member_since": "kiosk_member_since",
    "first_store_id": "kiosk_first_store",
}
"""CustomerRecord field -> HubSpot contact property."""

CONSENT_PROPERTY: Final[Mapping[str, str]] = {
    name: f"kiosk_consent_{name}" for name in FLAG_NAMES.values()
}
EMAIL_OPTOUT: Final = "hs_email_optout"  # HubSpot's "unsubscribed from all email"

_OK: Final = (200, 201)
_MULTI_STATUS: Final = 207
_BAD_REQUEST: Final = 400
_NOT_FOUND: Final = 404
_GONE: Final = (204, 404)
_AUTH: Final = (401, 403)


@dataclass(frozen=True, slots=True)
class HubSpotConfig:
    token: str = field(repr=False)
    base_url: str = DEFAULT_URL
    event_name: str | None = None  # e.g. "pe12345678_kiosk_interaction"


def pace(response: requests.Response) -> float:
    """Seconds to wait before the next request after `response`."""
    if response.request.path_url.endswith("/search"):
        return SEARCH_PAUSE_S
    remaining = response.headers.get("X-HubSpot-RateLimit-Remaining")
    interval = response.headers.get("X-HubSpot-RateLimit-Interval-Milliseconds")
    if remaining is not None and interval is not None and remaining.strip() == "0":
        try:
            return int(interval) / 1000
        except ValueError:
            return 10.0
    return 0.0


def retryable(response: requests.Response) -> bool:
    return response.status_code == 429 or response.status_code >= 500


def contact_properties(outbound: Outbound) -> dict[str, str]:
    """The contact's properties as HubSpot takes them (text; "" clears a property)."""
    record = outbound.record
    properties = {ID_PROPERTY: record.customer_id}
    for field_name, prop in FIELDS.items():
        value = getattr(record, field_name)
        properties[prop] = "" if value is None else str(value)
    for name, given in record.consents:
        if name in outbound.flags:
            properties[CONSENT_PROPERTY[name]] = "true" if given else "false"
    return properties


def opt_outs_of(properties: Mapping[str, Any]) -> frozenset[Flag]:
    """The flags a contact's properties opt out of."""
    found: set[Flag] = set()
    for flag in FLAGS:
        if str(properties.get(CONSENT_PROPERTY[FLAG_NAMES[flag]])).lower() == "false":
            found.add(flag)
    if str(properties.get(EMAIL_OPTOUT)).lower() == "true":
        found.add(("marketing", "email"))
    return frozenset(found)


def contact_values(properties: Mapping[str, Any]) -> dict[str, str | None]:
    """The contact fields HQ reads back (a property HubSpot did not return is absent)."""
    return {
        name: None if properties[FIELDS[name]] is None else str(properties[FIELDS[name]])
        for name in CONTACT_FIELDS
        if FIELDS[name] in properties
    }


def parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


class HubSpot:
    name: Final = NAME
    customer_batch: Final = CUSTOMER_BATCH
    event_batch: Final = EVENT_BATCH

    def __init__(self, config: HubSpotConfig, transport: Transport) -> None:
        self._config = config
        self._http = transport
        self._url = config.base_url.rstrip("/")
        self._usage: str | None = None
        self.sends_events = config.event_name is not None

    def _post(self, path: str, body: Any) -> requests.Response:
        response = self._http.send(
            "POST",
            f"{self._url}{path}",
            headers={"Authorization": f"Bearer {self._config.token}"},
            json=body,
        )
        self._note_usage(response)
        if response.status_code in _AUTH:
            raise CrmAuthFailed(f"HubSpot refused HQ's token (HTTP {response.status_code})")
        return response

    def _note_usage(self, response: requests.Response) -> None:
        headers = response.headers
        if "X-HubSpot-RateLimit-Remaining" in headers:
            self._usage = (
                f"{headers.get('X-HubSpot-RateLimit-Remaining')}/"
                f"{headers.get('X-HubSpot-RateLimit-Max')} per 10 s, "
                f"{headers.get('X-HubSpot-RateLimit-Daily-Remaining')}/"
                f"{headers.get('X-HubSpot-RateLimit-Daily')} today"
            )

    def usage(self) -> str | None:
        return self._usage

    def close(self) -> None:
        self._http.close()

    # ------------------------------------------------------------ customers

    def upsert_customers(self, batch: Sequence[Outbound]) -> Outcome:
        if not batch:
            return Outcome()
        inputs = [
            {
                "idProperty": ID_PROPERTY,
                "id": o.record.customer_id,
                "properties": contact_properties(o),
            }
            for o in batch
        ]
        response = self._post("/crm/v3/objects/contacts/batch/upsert", {"inputs": inputs})
        status = response.status_code
        if status == _BAD_REQUEST:
            if len(batch) == 1:
                return Outcome(refused=(Refusal(batch[0].record.customer_id, _reason(response)),))
            half = len(batch) // 2
            return _joined(self.upsert_customers(batch[:half]), self.upsert_customers(batch[half:]))
        if status not in (*_OK, _MULTI_STATUS):
            raise CrmAnswerUnreadable(f"HubSpot answered HTTP {status} to a batch upsert")
        body = json_object(response, "HubSpot")
        accepted: dict[str, str | None] = {}
        for result in body.get("results", []):
            customer = (result.get("properties") or {}).get(ID_PROPERTY)
            if customer:
                accepted[str(customer)] = str(result.get("id")) if result.get("id") else None
        refused: list[Refusal] = []
        for error in body.get("errors", []):
            context = error.get("context") or {}
            for subject in context.get("ids", context.get("id", [])):
                if subject not in accepted:
                    refused.append(Refusal(str(subject), _error_reason(error)))
        return Outcome(accepted=accepted, refused=tuple(refused))

    def delete_customers(self, customers: Sequence[tuple[str, str | None]]) -> Outcome:
        accepted: dict[str, str | None] = {}
        refused: list[Refusal] = []
        for customer_id, external_id in customers:
            response = self._post(
                "/crm/v3/objects/contacts/gdpr-delete",
                {"objectId": customer_id, "idProperty": ID_PROPERTY},
            )
            if response.status_code in _GONE:
                accepted[customer_id] = external_id
            elif response.status_code == _BAD_REQUEST:
                refused.append(Refusal(customer_id, _reason(response)))
            else:
                raise CrmAnswerUnreadable(
                    f"HubSpot answered HTTP {response.status_code} to a GDPR delete"
                )
        return Outcome(accepted=accepted, refused=tuple(refused))

    # ------------------------------------------------------------ events

    def send_events(self, batch: Sequence[CrmEvent]) -> Outcome:
        if not batch or self._config.event_name is None:
            return Outcome()
        unknown = tuple(
            Refusal(e.event_id, "no HubSpot contact id") for e in batch if not e.external_id
        )
        sendable = [e for e in batch if e.external_id]
        if not sendable:
            return Outcome(refused=unknown)
        inputs = [
            {
                "eventName": self._config.event_name,
                "objectId": event.external_id,
                "occurredAt": event.occurred_at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
                "properties": {
                    "kiosk_kind": event.kind,
                    "kiosk_sku": event.sku or "",
                    "kiosk_slot": "" if event.slot is None else str(event.slot),
                    "kiosk_store": event.store_id,
                },
            }
            for event in sendable
        ]
        response = self._post("/events/v3/send/batch", {"inputs": inputs})
        if response.status_code == _BAD_REQUEST:
            if len(sendable) == 1:
                return _joined(
                    Outcome(refused=(Refusal(sendable[0].event_id, _reason(response)),)),
                    Outcome(refused=unknown),
                )
            half = len(sendable) // 2
            return _joined(
                self.send_events(sendable[:half]),
                self.send_events(sendable[half:]),
                Outcome(refused=unknown),
            )
        if response.status_code not in (*_OK, 204):
            raise CrmAnswerUnreadable(f"HubSpot answered HTTP {response.status_code} to events")
        return Outcome(accepted={e.event_id: None for e in sendable}, refused=unknown)

    # ------------------------------------------------------------ opt-outs

    def changes_since(self, cursor: str | None) -> Changes:
        filters: list[dict[str, str]] = [{"propertyName": ID_PROPERTY, "operator": "HAS_PROPERTY"}]
        if cursor is not None:
            since_ms = int(parse_time(cursor).timestamp() * 1000)
            filters.append(
                {"propertyName": "lastmodifieddate", "operator": "GTE", "value": str(since_ms)}
            )
        properties = [
            ID_PROPERTY,
            EMAIL_OPTOUT,
            "lastmodifieddate",
            *CONSENT_PROPERTY.values(),
            *(FIELDS[name] for name in CONTACT_FIELDS),
        ]
        found: list[OptOut] = []
        contacts: list[ContactChange] = []
        newest: datetime | None = None
        after: str | None = None
        seen = 0
        while seen < SEARCH_MAX:
            body: dict[str, Any] = {
                "filterGroups": [{"filters": filters}],
                "sorts": [{"propertyName": "lastmodifieddate", "direction": "ASCENDING"}],
                "properties": properties,
                "limit": SEARCH_PAGE,
            }
            if after is not None:
                body["after"] = after
            response = self._post("/crm/v3/objects/contacts/search", body)
            if response.status_code not in _OK:
                raise CrmAnswerUnreadable(f"HubSpot answered HTTP {response.status_code} to search")
            page = json_object(response, "HubSpot")
            for contact in page.get("results", []):
                seen += 1
                props = contact.get("properties") or {}
                stamp = props.get("lastmodifieddate") or contact.get("updatedAt")
                customer = props.get(ID_PROPERTY)
                if not stamp or not customer:
                    continue
                at = parse_time(str(stamp))
                newest = at if newest is None or at > newest else newest
                if flags := opt_outs_of(props):
                    found.append(OptOut(str(customer), flags, at))
                contacts.append(ContactChange(str(customer), contact_values(props), at))
            after = ((page.get("paging") or {}).get("next") or {}).get("after")
            if not after:
                break
        next_cursor = None if newest is None else newest.isoformat().replace("+00:00", "Z")
        return Changes(tuple(found), next_cursor, tuple(contacts))


def _error_reason(error: Mapping[str, Any]) -> str:
    """An error's category and codes, and property names: never its message (it may
    quote the value)."""
    parts = [str(error.get("category") or error.get("status") or "error")]
    details = list(error.get("errors") or [])
    # A validation error lists each property in its message, as JSON after a colon.
    message = str(error.get("message") or "")
    if not details and ": [" in message:
        try:
            listed = json.loads(message[message.index(": [") + 2 :])
        except ValueError:
            listed = []
        details = [item for item in listed if isinstance(item, dict)]
    for detail in details:
        code = detail.get("code") or detail.get("error")
        names = (detail.get("context") or {}).get("propertyName") or []
        if detail.get("name"):
            names = [*names, detail["name"]]
        parts.append(f"{code or 'invalid'}({','.join(map(str, names))})")
    return " ".join(parts)[:500]


def _reason(response: requests.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return f"HTTP {response.status_code}"
    return _error_reason(body) if isinstance(body, dict) else f"HTTP {response.status_code}"


def _joined(*outcomes: Outcome) -> Outcome:
    accepted: dict[str, str | None] = {}
    refused: list[Refusal] = []
    for outcome in outcomes:
        accepted.update(outcome.accepted)
        refused.extend(outcome.refused)
    return Outcome(accepted=accepted, refused=tuple(refused))
