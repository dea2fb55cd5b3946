"""The interface every CRM connector implements, and the neutral types it speaks.

A connector turns HQ's records into its CRM's requests and its answers back into
these types; it never touches HQ's database (hq.analytics.crm.sync does). Consents
travel as flags on the customer's own record: one request per batch, and the CRM
never holds a contact without the flags that say whom it may contact.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from hq.analytics.crm.records import ContactChange, CustomerRecord, OptOut
from hq.errors import HqError


class CrmError(HqError):
    """The CRM could not be used this round (what is queued stays queued)."""


class CrmUnavailable(CrmError):
    """Down, overloaded or rate limited after every retry."""


class CrmAuthFailed(CrmError):
    """The CRM refused HQ's credentials."""


class CrmAnswerUnreadable(CrmError):
    """The CRM answered something the connector does not understand."""


@dataclass(frozen=True, slots=True)
class Outbound:
    """A customer record to send, and which of its consent flags to send."""

    record: CustomerRecord
    flags: frozenset[str]


@dataclass(frozen=True, slots=True)
class Refusal:
    """A record the CRM refused: a customer id or an event id, and why (error codes
    and field names only: the CRM's messages may quote the values)."""

    subject: str
    reason: str


@dataclass(frozen=True, slots=True)
class Outcome:
    """What the CRM did with a batch. Subjects in neither list were not acknowledged
    (they stay queued and go again next round)."""

    accepted: Mapping[str, str | None] = field(default_factory=dict)  # subject -> CRM id
    refused: tuple[Refusal, ...] = ()


@dataclass(frozen=True, slots=True)
class CrmEvent:
    """One interaction of a member who consented to personalisation."""

    event_id: str
    customer_id: str
    external_id: str | None  # the CRM's id of the customer, if it told HQ
    kind: str
    sku: str | None
    slot: int | None
    store_id: str
    occurred_at: datetime


@dataclass(frozen=True, slots=True)
class Changes:
    """Opt-outs and contact fields the CRM holds for records changed since a cursor,
    and the cursor to ask from next time (None: the same as before)."""

    opt_outs: tuple[OptOut, ...]
    cursor: str | None
    contacts: tuple[ContactChange, ...] = ()


class CrmConnector(Protocol):
    @property
    def name(self) -> str:
        """ "hubspot", "salesforce": the key of its sync state."""
        ...

    @property
    def customer_batch(self) -> int:
        """Records per upsert request, as the CRM allows."""
        ...

    @property
    def event_batch(self) -> int: ...

    @property
    def sends_events(self) -> bool:
        """False: interactions are not forwarded (not configured)."""
        ...

    def upsert_customers(self, batch: Sequence[Outbound]) -> Outcome:
        """Create or update these customers by HQ's customer id (idempotent)."""
        ...

    def delete_customers(self, customers: Sequence[tuple[str, str | None]]) -> Outcome:
        """Delete these (customer id, CRM id) at the CRM; one already gone counts as deleted."""
        ...

    def send_events(self, batch: Sequence[CrmEvent]) -> Outcome:
        """Record these interactions at the CRM (accepted/refused by event id)."""
        ...

    def changes_since(self, cursor: str | None) -> Changes:
        """Opt-outs and contact fields of records the CRM changed after `cursor`
        (None: from the start)."""
        ...

    def usage(self) -> str | None:
        """The CRM's last word on its rate limits, for `kiosk-hq crm status`."""
        ...

    def close(self) -> None:
        """Close its HTTP session."""
        ...
