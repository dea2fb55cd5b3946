"""Salesforce: Contacts by external id, opt-outs back through SOQL.

- Customers: `PATCH /services/data/vXX.X/composite/sobjects/Contact/Kiosk_Customer_Id__c`
  (sObject Collections upsert, up to 200 a request, `allOrNone` false): each record
  is answered on its own; a refused one goes to the dead letters with its status
  codes and fields, except UNABLE_TO_LOCK_ROW, which stays queued for next round.
- Erased customers, and members who withdrew membership:
  `DELETE /services/data/vXX.X/sobjects/Contact/Kiosk_Customer_Id__c/{id}`, one a
  request (404: gone already).
- Interactions: the custom object `Kiosk_Interaction__c`, upserted by its external
  id `Kiosk_Event_Id__c` (so a resent batch makes no duplicates), linked to the
  contact by `Contact__r.Kiosk_Customer_Id__c`.
- Opt-outs and contact changes (Email, LastName, MobilePhone, Kiosk_Language__c):
  `GET /services/data/vXX.X/query` with SOQL on `SystemModstamp >=` the
  cursor, oldest first, following `nextRecordsUrl`. `HasOptedOutOfEmail` (standard),
  `Kiosk_SMS_Opt_Out__c`, `Kiosk_Recognition_Opt_Out__c` and
  `Kiosk_Personalisation_Opt_Out__c` (custom checkboxes) true opt out of the flag.
- Limits: 503 and 5xx, and REQUEST_LIMIT_EXCEEDED (403: the org's API requests) are
  retried with backoff, Retry-After when given; `Sforce-Limit-Info` is kept for
  `kiosk-hq crm status`.
- Authentication: a bearer token given in the settings, or the OAuth 2.0
  client-credentials flow (`POST /services/oauth2/token`), asked again once when
  Salesforce answers 401 INVALID_SESSION_ID.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final
from urllib.parse import quote

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

NAME: Final = "salesforce"
API_VERSION: Final = "v60.0"
EXTERNAL_ID: Final = "Kiosk_Customer_Id__c"
EVENT_OBJECT: Final = "Kiosk_Interaction__c"
EVENT_ID: Final = "Kiosk_Event_Id__c"
CUSTOMER_BATCH: Final = 200  # sObject Collections' limit
EVENT_BATCH: Final = 200
NO_NAME: Final = "Kiosk member"  # LastName is required; the name goes only with consent

FIELDS: Final[Mapping[str, str]] = {
    "email": "Email",
    "phone": "MobilePhone",
    "name": "LastName",
    "language": "Kiosk_Language__c",
    "member_since": "Kiosk_Member_Since__c",
    "first_store_id": "Kiosk_First_Store__c",
}
"""CustomerRecord field -> Contact field."""

OPT_OUT_FIELD: Final[Mapping[str, str]] = {
    "marketing_email": "HasOptedOutOfEmail",
    "marketing_sms": "Kiosk_SMS_Opt_Out__c",
    "recognition": "Kiosk_Recognition_Opt_Out__c",
    "personalisation": "Kiosk_Personalisation_Opt_Out__c",
}
"""Consent flag -> the Contact checkbox that is true when the person opted out."""

TRANSIENT_CODES: Final = frozenset({"UNABLE_TO_LOCK_ROW"})
LIMIT_CODE: Final = "REQUEST_LIMIT_EXCEEDED"

_OK: Final = (200, 201)
_NO_CONTENT: Final = 204
_NOT_FOUND: Final = 404
_UNAUTHORISED: Final = 401


@dataclass(frozen=True, slots=True)
class SalesforceConfig:
    instance_url: str  # https://<my-domain>.my.salesforce.com
    token: str | None = field(default=None, repr=False)  # a bearer token, or:
    client_id: str | None = None  # the connected app's, for client credentials
    client_secret: str | None = field(default=None, repr=False)
    api_version: str = API_VERSION


def retryable(response: requests.Response) -> bool:
    if response.status_code >= 500:
        return True
    if response.status_code == 403:
        return LIMIT_CODE in _error_codes(response)
    return False


def contact_fields(outbound: Outbound) -> dict[str, Any]:
    record = outbound.record
    fields: dict[str, Any] = {"attributes": {"type": "Contact"}, EXTERNAL_ID: record.customer_id}
    for field_name, sf_field in FIELDS.items():
        fields[sf_field] = getattr(record, field_name)
    if fields["LastName"] is None:
        fields["LastName"] = NO_NAME
    for name, given in record.consents:
        if name in outbound.flags:
            fields[OPT_OUT_FIELD[name]] = not given
    return fields


def opt_outs_of(record: Mapping[str, Any]) -> frozenset[Flag]:
    return frozenset(flag for flag in FLAGS if record.get(OPT_OUT_FIELD[FLAG_NAMES[flag]]) is True)


def contact_values(record: Mapping[str, Any]) -> dict[str, str | None]:
    """The contact fields HQ reads back; HQ's own LastName stand-in is no name."""
    values = {
        name: None if record[FIELDS[name]] is None else str(record[FIELDS[name]])
        for name in CONTACT_FIELDS
        if FIELDS[name] in record
    }
    if values.get("name") == NO_NAME:
        values["name"] = None
    return values


def parse_time(text: str) -> datetime:
    """Salesforce's 2026-12-06T10:15:00.000+0000 (or ...Z)."""
    text = text.replace("Z", "+00:00")
    if len(text) > 5 and text[-5] in "+-" and text[-3] != ":":
        text = f"{text[:-2]}:{text[-2:]}"
    return datetime.fromisoformat(text).astimezone(UTC)


def soql_time(moment: datetime) -> str:
    """A SOQL dateTime literal (UTC, milliseconds)."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


class Salesforce:
    name: Final = NAME
    customer_batch: Final = CUSTOMER_BATCH
    event_batch: Final = EVENT_BATCH
    sends_events: Final = True

    def __init__(self, config: SalesforceConfig, transport: Transport) -> None:
        if config.token is None and (config.client_id is None or config.client_secret is None):
            raise CrmAuthFailed("Salesforce needs a token, or a client id and secret")
        self._config = config
        self._http = transport
        self._url = config.instance_url.rstrip("/")
        self._data = f"{self._url}/services/data/{config.api_version}"
        self._token = config.token
        self._usage: str | None = None

    def usage(self) -> str | None:
        return self._usage

    def close(self) -> None:
        self._http.close()

    def _fetch_token(self) -> str:
        response = self._http.send(
            "POST",
            f"{self._url}/services/oauth2/token",
            data={
                "grant_type": "client_credentials",
                "client_id": self._config.client_id or "",
                "client_secret": self._config.client_secret or "",
            },
        )
        if response.status_code not in _OK:
            raise CrmAuthFailed(
                f"Salesforce refused HQ's client credentials (HTTP {response.status_code})"
            )
        token = json_object(response, "Salesforce").get("access_token")
        if not isinstance(token, str) or not token:
            raise CrmAnswerUnreadable("Salesforce's token answer has no access_token")
        return token

    def _call(self, method: str, url: str, body: Any = None) -> requests.Response:
        for fresh in (False, True):
            if self._token is None:
                self._token = self._fetch_token()
            response = self._http.send(
                method, url, headers={"Authorization": f"Bearer {self._token}"}, json=body
            )
            if limit := response.headers.get("Sforce-Limit-Info"):
                self._usage = limit[:100]
            if response.status_code != _UNAUTHORISED:
                return response
            if fresh or self._config.client_id is None:
                break
            self._token = None  # expired: ask for a new one, once
        raise CrmAuthFailed("Salesforce refused HQ's token (HTTP 401)")

    # ------------------------------------------------------------ customers

    def upsert_customers(self, batch: Sequence[Outbound]) -> Outcome:
        if not batch:
            return Outcome()
        response = self._call(
            "PATCH",
            f"{self._data}/composite/sobjects/Contact/{EXTERNAL_ID}",
            {"allOrNone": False, "records": [contact_fields(o) for o in batch]},
        )
        return _collection_outcome(response, [o.record.customer_id for o in batch], "upsert")

    def delete_customers(self, customers: Sequence[tuple[str, str | None]]) -> Outcome:
        accepted: dict[str, str | None] = {}
        refused: list[Refusal] = []
        for customer_id, external_id in customers:
            response = self._call(
                "DELETE", f"{self._data}/sobjects/Contact/{EXTERNAL_ID}/{quote(customer_id)}"
            )
            if response.status_code in (_NO_CONTENT, _NOT_FOUND):
                accepted[customer_id] = external_id
            elif response.status_code < 500:
                refused.append(Refusal(customer_id, " ".join(_error_codes(response))[:500]))
            else:
                raise CrmAnswerUnreadable(
                    f"Salesforce answered HTTP {response.status_code} to a delete"
                )
        return Outcome(accepted=accepted, refused=tuple(refused))

    # ------------------------------------------------------------ events

    def send_events(self, batch: Sequence[CrmEvent]) -> Outcome:
        if not batch:
            return Outcome()
        records = [
            {
                "attributes": {"type": EVENT_OBJECT},
                EVENT_ID: event.event_id,
                "Contact__r": {EXTERNAL_ID: event.customer_id},
                "Kind__c": event.kind,
                "Sku__c": event.sku,
                "Slot__c": event.slot,
                "Store_Id__c": event.store_id,
                "Occurred_At__c": soql_time(event.occurred_at),
            }
            for event in batch
        ]
        response = self._call(
            "PATCH",
            f"{self._data}/composite/sobjects/{EVENT_OBJECT}/{EVENT_ID}",
            {"allOrNone": False, "records": records},
        )
        return _collection_outcome(response, [e.event_id for e in batch], "event upsert")

    # ------------------------------------------------------------ opt-outs

    def changes_since(self, cursor: str | None) -> Changes:
        fields = [
            "Id",
            EXTERNAL_ID,
            "SystemModstamp",
            *OPT_OUT_FIELD.values(),
            *(FIELDS[name] for name in CONTACT_FIELDS),
        ]
        where = f"{EXTERNAL_ID} != null"
        if cursor is not None:
            where += f" AND SystemModstamp >= {soql_time(parse_time(cursor))}"
        # Field names and a formatted time only: nothing from outside goes into the query.
        soql = f"SELECT {', '.join(fields)} FROM Contact WHERE {where} ORDER BY SystemModstamp ASC"  # noqa: S608
        url: str | None = f"{self._data}/query?q={quote(soql)}"
        found: list[OptOut] = []
        contacts: list[ContactChange] = []
        newest: datetime | None = None
        while url is not None:
            response = self._call("GET", url)
            if response.status_code not in _OK:
                raise CrmAnswerUnreadable(
                    f"Salesforce answered HTTP {response.status_code} to a query"
                )
            page = json_object(response, "Salesforce")
            for record in page.get("records", []):
                stamp, customer = record.get("SystemModstamp"), record.get(EXTERNAL_ID)
                if not stamp or not customer:
                    continue
                at = parse_time(str(stamp))
                newest = at if newest is None or at > newest else newest
                if flags := opt_outs_of(record):
                    found.append(OptOut(str(customer), flags, at))
                contacts.append(ContactChange(str(customer), contact_values(record), at))
            following = page.get("nextRecordsUrl")
            url = None if page.get("done", True) or not following else f"{self._url}{following}"
        cursor = None if newest is None else soql_time(newest)
        return Changes(tuple(found), cursor, tuple(contacts))


def _collection_outcome(response: requests.Response, subjects: list[str], what: str) -> Outcome:
    if response.status_code not in _OK:
        codes = " ".join(_error_codes(response))
        raise CrmAnswerUnreadable(
            f"Salesforce answered HTTP {response.status_code} to an {what} {codes}".strip()
        )
    try:
        results = response.json()
    except ValueError:
        raise CrmAnswerUnreadable("Salesforce's answer is not JSON") from None
    if not isinstance(results, list) or len(results) != len(subjects):
        raise CrmAnswerUnreadable(f"Salesforce answered an {what} with the wrong number of results")
    accepted: dict[str, str | None] = {}
    refused: list[Refusal] = []
    for subject, result in zip(subjects, results, strict=True):
        if result.get("success"):
            accepted[subject] = result.get("id")
            continue
        errors = result.get("errors") or []
        statuses = {str(error.get("statusCode")) for error in errors}
        if statuses & TRANSIENT_CODES:
            continue  # not acknowledged: sent again next round
        reason = " ".join(
            f"{error.get('statusCode')}({','.join(map(str, error.get('fields') or []))})"
            for error in errors
        )
        refused.append(Refusal(subject, reason[:500] or "refused"))
    return Outcome(accepted=accepted, refused=tuple(refused))


def _error_codes(response: requests.Response) -> list[str]:
    """The errorCode of each error in a Salesforce error answer (a JSON list)."""
    try:
        body = response.json()
    except ValueError:
        return []
    if not isinstance(body, list):
        return []
    return [str(item.get("errorCode")) for item in body if isinstance(item, dict)]
