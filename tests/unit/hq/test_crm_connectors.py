"""CRM connectors against recorded HubSpot and Salesforce answers, served on loopback.

HQ's data comes in through ingest as kiosks send it (SQLite; PostgreSQL too where
the database's dialect matters); the
CRM is tests/helpers/crm_server.py replaying tests/data/crm/. Backoff sleeps are
recorded, not slept.
"""

from __future__ import annotations

import copy
import logging
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from helpers.crm_server import Answer, CrmServer, Received, recorded
from helpers.hq import consent_payload, event_json, signup_payload
from sqlalchemy import func, select, update

from hq import audit, ingest
from hq.analytics.crm import store
from hq.analytics.crm.config import CrmConfig
from hq.analytics.crm.hubspot import HubSpot, HubSpotConfig
from hq.analytics.crm.hubspot import pace as hubspot_pace
from hq.analytics.crm.hubspot import retryable as hubspot_retryable
from hq.analytics.crm.inbound import Applied, apply_contact_changes
from hq.analytics.crm.job import CrmSyncJob
from hq.analytics.crm.records import ContactChange
from hq.analytics.crm.salesforce import Salesforce, SalesforceConfig
from hq.analytics.crm.salesforce import retryable as salesforce_retryable
from hq.analytics.crm.sync import run_round
from hq.analytics.crm.transport import Transport
from hq.crm import merges, recognition
from hq.crm.erasure import erase_member
from hq.crm.queries import find_by_email
from hq.db import (
    Database,
    consents,
    crm_dead_letters,
    crm_queue,
    crm_records,
    customers,
    member_ids,
)
from hq.enrollment import KioskIdentity, issue_code, redeem_code
from hq.fleet import add_store
from hq.wire import EventBatch

NOW = datetime(2026, 12, 6, 10, 0, tzinfo=UTC)
TOKEN = "pat-na1-00000000-test-only-0000-000000000000"  # noqa: S105 (a test fixture)
UPSERT = "/crm/v3/objects/contacts/batch/upsert"
SEARCH = "/crm/v3/objects/contacts/search"
GDPR_DELETE = "/crm/v3/objects/contacts/gdpr-delete"
EVENTS = "/events/v3/send/batch"
SF_DATA = "/services/data/v60.0"
SF_UPSERT = f"{SF_DATA}/composite/sobjects/Contact/Kiosk_Customer_Id__c"
SF_EVENTS = f"{SF_DATA}/composite/sobjects/Kiosk_Interaction__c/Kiosk_Event_Id__c"
SF_QUERY = f"{SF_DATA}/query"
BAD_EMAIL = "wang@example.c"  # HQ takes it; the CRMs' recorded answers refuse it

SQLITE_ONLY = pytest.mark.parametrize("database", ["sqlite"], indirect=True)
# The connectors' own logic runs the same on both; what touches the database's
# dialect (queue and cursors, upserts, the feed, the lease) runs on PostgreSQL too.


class Kiosk:
    """A kiosk's events, stored by HQ's ingest as if they came over the wire."""

    def __init__(self, database: Database) -> None:
        self.database = database
        add_store(database, "sh-nanjing-road", None, now=NOW, exist_ok=True)
        code = issue_code(database, "sh-nanjing-road", now=NOW)
        enrolled = redeem_code(database, code, None, now=NOW)
        self.identity = KioskIdentity(enrolled.kiosk_id, enrolled.store_id)
        self.seq = 0
        self.clock = NOW - timedelta(days=1)

    def send(self, *events: tuple[str, dict[str, Any]]) -> None:
        batch = []
        for kind, payload in events:
            self.seq += 1
            self.clock += timedelta(seconds=1)
            batch.append(
                event_json(
                    self.identity.store_id,
                    self.identity.kiosk_id,
                    self.seq,
                    kind,
                    payload,
                    occurred_at=self.clock.isoformat(),
                )
            )
        plan = ingest.decide(self.identity, EventBatch.model_validate({"events": batch}))
        assert isinstance(plan, ingest.Plan)
        outcome = ingest.store(self.database, self.identity, plan, received_at=NOW)
        assert {r.status for r in outcome.results} == {"accepted"}, outcome

    def member(self, *purposes: str, email: str | None = None) -> str:
        """A member who signed up and said yes to `purposes`; their customer id.
        "marketing:email" is a channel's consent."""
        (customer,) = self.members(1, *purposes, email=email)
        return customer

    def members(self, count: int, *purposes: str, email: str | None = None) -> list[str]:
        """`count` such members, sent in one batch; their customer ids."""
        members = [str(uuid.uuid4()) for _ in range(count)]
        sent: list[tuple[str, dict[str, Any]]] = []
        for member in members:
            phone = f"139{uuid.uuid4().int % 10**8:08d}"
            sent.append(("member_signup", signup_payload(member, phone, email=email, name="王芳")))
            sent.extend(
                (
                    "consent",
                    consent_payload(member, p.split(":")[0], given=True, channel=_channel(p)),
                )
                for p in purposes
            )
        self.send(*sent)
        with self.database.read() as connection:
            customer_of = dict(
                connection.execute(
                    select(member_ids.c.member_id, member_ids.c.customer_id).where(
                        member_ids.c.member_id.in_(members)
                    )
                ).all()
            )
        return [customer_of[member] for member in members]

    def member_id(self, customer: str) -> str:
        with self.database.read() as connection:
            found: str = connection.execute(
                select(member_ids.c.member_id).where(member_ids.c.customer_id == customer)
            ).scalar_one()
        return found


def _channel(purpose: str) -> str | None:
    return purpose.split(":")[1] if ":" in purpose else None


def count(database: Database, table: Any, **where: Any) -> int:
    statement = select(func.count()).select_from(table)
    for name, value in where.items():
        statement = statement.where(table.c[name] == value)
    with database.read() as connection:
        return int(connection.execute(statement).scalar_one())


# ---------------------------------------------------------------- the CRMs' answers


def hubspot_upserts(request: Received) -> Answer:
    """HubSpot's recorded batch upsert answer, one result per input; a batch holding
    an address HubSpot refuses is refused whole, as HubSpot does."""
    if any(item["properties"].get("email") == BAD_EMAIL for item in request.json_inputs):
        return recorded("hubspot", "batch_upsert_invalid_email")
    template = recorded("hubspot", "batch_upsert_ok", customer_id="", contact_id="")
    results = []
    for item in request.json_inputs:
        result = copy.deepcopy(template.body["results"][0])
        contact = str(1000 + int(uuid.UUID(item["id"]).int % 9000))
        result["id"] = result["properties"]["hs_object_id"] = contact
        result["properties"]["kiosk_customer_id"] = item["id"]
        results.append(result)
    return Answer(template.status, template.headers, {**template.body, "results": results})


def salesforce_upserts(request: Received) -> Answer:
    results = []
    for index, item in enumerate(request.body["records"]):
        if item.get("Email") == BAD_EMAIL:
            results.append(recorded("salesforce", "upsert_result_invalid_email").body)
        else:
            record_id = f"0035g00000Kx{index:04d}AAJ"
            results.append(recorded("salesforce", "upsert_result_ok", record_id=record_id).body)
    return Answer(200, {"Sforce-Limit-Info": "api-usage=31/15000"}, results)


@pytest.fixture
def crm() -> Iterator[CrmServer]:
    with CrmServer() as server:
        yield server


@pytest.fixture
def sleeps() -> list[float]:
    return []


def hubspot_at(crm: CrmServer, sleeps: list[float], *, events: bool = False) -> HubSpot:
    transport = Transport(
        "hubspot",
        retryable=hubspot_retryable,
        pace=hubspot_pace,
        sleep=sleeps.append,
        jitter=lambda: 0.5,
    )
    config = HubSpotConfig(
        token=TOKEN,
        base_url=crm.url,
        event_name="pe24681357_kiosk_interaction" if events else None,
    )
    return HubSpot(config, transport)


def salesforce_takes_every_upsert(crm: CrmServer) -> None:
    """Salesforce with no changes to report, answering every upsert as created."""
    crm.script("GET", SF_QUERY, recorded("salesforce", "query_none"))
    crm.script("PATCH", SF_UPSERT, salesforce_upserts)


def salesforce_at(crm: CrmServer, sleeps: list[float], **config: Any) -> Salesforce:
    transport = Transport(
        "salesforce", retryable=salesforce_retryable, sleep=sleeps.append, jitter=lambda: 0.5
    )
    return Salesforce(
        SalesforceConfig(instance_url=crm.url, **({"token": TOKEN} | config)), transport
    )


def sync(database: Database, connector: Any, holder: str = "worker-1") -> Any:
    return run_round(database, connector, clock=lambda: NOW, holder=holder)


# ---------------------------------------------------------------- HubSpot


def test_hubspot_gets_members_in_batches_of_100_by_customer_id_and_a_rerun_sends_nothing(
    database: Database, crm: CrmServer, sleeps: list[float]
) -> None:
    kiosk = Kiosk(database)
    members = kiosk.members(100, "membership")
    by_email = kiosk.member("membership", "marketing:email", email="wang.fang@example.com")
    outsider = kiosk.member("marketing:email", email="no.member@example.com")  # no membership
    crm.script("POST", SEARCH, recorded("hubspot", "search_none"))
    crm.script("POST", UPSERT, hubspot_upserts)

    report = sync(database, hubspot_at(crm, sleeps))

    assert report.error is None
    upserts = crm.requests_to("POST", UPSERT)
    assert [len(r.json_inputs) for r in upserts] == [100, 1]
    sent = {item["id"]: item for r in upserts for item in r.json_inputs}
    assert set(sent) == {*members, by_email}
    assert outsider not in sent
    assert {item["idProperty"] for item in sent.values()} == {"kiosk_customer_id"}
    assert sent[by_email]["properties"] == {
        "kiosk_customer_id": by_email,
        "email": "wang.fang@example.com",
        "mobilephone": "",
        "firstname": "王芳",
        "kiosk_language": "zh-CN",
        "kiosk_member_since": "2026-12-05",
        "kiosk_first_store": "sh-nanjing-road",
        "kiosk_consent_marketing_email": "true",
        "kiosk_consent_marketing_sms": "false",
        "kiosk_consent_recognition": "false",
        "kiosk_consent_personalisation": "false",
    }
    assert sent[members[0]]["properties"]["email"] == ""  # no marketing consent: no address
    assert upserts[0].headers["authorization"] == f"Bearer {TOKEN}"
    assert count(database, crm_records, connector="hubspot") == 101
    assert count(database, crm_queue) == 0

    crm.forget()
    again = sync(database, hubspot_at(crm, sleeps))
    assert again.error is None
    assert crm.requests_to("POST", UPSERT) == []
    assert [r.path for r in crm.received] == [SEARCH]
    assert set(sleeps) == {0.25}  # search pages' pacing only: no backoff


@SQLITE_ONLY
def test_hubspot_429_waits_for_retry_after_then_the_batch_goes_through(
    database: Database, crm: CrmServer, sleeps: list[float]
) -> None:
    kiosk = Kiosk(database)
    member = kiosk.member("membership")
    crm.script("POST", SEARCH, recorded("hubspot", "search_none"))
    crm.script("POST", UPSERT, recorded("hubspot", "rate_limited"), times=1)
    crm.script("POST", UPSERT, hubspot_upserts)

    report = sync(database, hubspot_at(crm, sleeps))

    assert report.error is None
    assert len(crm.requests_to("POST", UPSERT)) == 2
    assert 2.0 in sleeps  # the Retry-After, not a guess
    assert count(database, crm_records, customer_id=member) == 1


@SQLITE_ONLY
def test_hubspot_spent_ten_second_window_makes_the_next_request_wait(
    database: Database, crm: CrmServer, sleeps: list[float]
) -> None:
    kiosk = Kiosk(database)
    kiosk.members(101, "membership")

    def spent(request: Received) -> Answer:
        answer = hubspot_upserts(request)
        return Answer(
            answer.status, {**answer.headers, "X-HubSpot-RateLimit-Remaining": "0"}, answer.body
        )

    crm.script("POST", SEARCH, recorded("hubspot", "search_none"))
    crm.script("POST", UPSERT, spent)

    sync(database, hubspot_at(crm, sleeps))

    # Search pages are paced at 0.25 s; after the first upsert spent the window, 10 s.
    assert sleeps == [0.25, 10.0]


@SQLITE_ONLY
def test_hubspot_failing_every_retry_ends_the_round_and_keeps_the_queue(
    database: Database, crm: CrmServer, sleeps: list[float]
) -> None:
    kiosk = Kiosk(database)
    member = kiosk.member("membership")
    crm.script("POST", SEARCH, recorded("hubspot", "search_none"))
    crm.script("POST", UPSERT, recorded("hubspot", "rate_limited"))

    report = sync(database, hubspot_at(crm, sleeps))

    assert report.error == "hubspot answered HTTP 429 5 times"
    assert sleeps[1:] == [2.0, 2.0, 2.0, 2.0]
    assert count(database, crm_queue, customer_id=member) == 1
    with database.read() as connection:
        state = store.read_state(connection, "hubspot")
    assert state is not None
    assert (state.last_error, state.last_success_at) == (report.error, None)

    crm.script("POST", UPSERT, hubspot_upserts)
    assert sync(database, hubspot_at(crm, sleeps)).customers_sent == 1
    assert count(database, crm_queue) == 0


@SQLITE_ONLY
def test_a_contact_hubspot_refuses_is_a_dead_letter_and_the_rest_of_its_batch_goes_through(
    database: Database, crm: CrmServer, sleeps: list[float]
) -> None:
    kiosk = Kiosk(database)
    good = [
        kiosk.member("membership", "marketing:email", email=f"m{i}@example.com") for i in range(3)
    ]
    bad = kiosk.member("membership", "marketing:email", email=BAD_EMAIL)
    crm.script("POST", SEARCH, recorded("hubspot", "search_none"))
    crm.script("POST", UPSERT, hubspot_upserts)

    report = sync(database, hubspot_at(crm, sleeps))

    assert (report.customers_sent, report.refused) == (3, 1)
    assert {cid for cid in good if count(database, crm_records, customer_id=cid)} == set(good)
    with database.read() as connection:
        (letter,) = connection.execute(select(crm_dead_letters)).all()
    assert (letter.kind, letter.subject) == ("customer", bad)
    assert letter.reason == "VALIDATION_ERROR INVALID_EMAIL(email)"  # never the address
    assert count(database, crm_queue) == 0


def test_an_opt_out_at_hubspot_is_a_withdrawal_at_hq_and_leaves_the_member_feed(
    database: Database, crm: CrmServer, sleeps: list[float]
) -> None:
    kiosk = Kiosk(database)
    customer = kiosk.member("membership", "recognition", "marketing:email", email="f@example.com")
    member = kiosk.member_id(customer)
    binding, _ = recognition.bind_tag(database, member, "rfid", "0012345678", now=NOW)
    before = recognition.read_feed(database, 0, 100)
    assert binding.tag_hash in dict(before.upserts)
    modified = "2026-12-06T09:30:00.000Z"  # after the member's consents, before NOW
    crm.script(
        "POST",
        SEARCH,
        recorded("hubspot", "search_opt_out", customer_id=customer, modified=modified),
    )
    crm.script("POST", UPSERT, hubspot_upserts)

    report = sync(database, hubspot_at(crm, sleeps))

    assert (report.opt_outs_applied, report.feed_entries_removed) == (2, 1)
    page = recognition.read_feed(database, before.version, 100)
    assert page.removed == (binding.tag_hash,)
    with database.read() as connection:
        withdrawn = connection.execute(
            select(consents.c.purpose, consents.c.channel, consents.c.recorded_by).where(
                consents.c.source == "crm"
            )
        ).all()
    assert sorted(withdrawn, key=str) == sorted(
        [("marketing", "email", "hubspot"), ("recognition", None, "hubspot")], key=str
    )
    # HQ sends back what it now holds: the flags it changed, as false.
    (upsert,) = crm.requests_to("POST", UPSERT)
    properties = upsert.json_inputs[0]["properties"]
    assert properties["kiosk_consent_recognition"] == "false"
    assert properties["email"] == ""

    crm.forget()
    again = sync(database, hubspot_at(crm, sleeps))
    assert again.opt_outs_applied == 0  # the same contact again: nothing more to withdraw
    assert count(database, consents, source="crm") == 2
    (search,) = crm.requests_to("POST", SEARCH)
    filters = search.body["filterGroups"][0]["filters"]
    assert {
        "propertyName": "lastmodifieddate",
        "operator": "GTE",
        "value": "1796549400000",  # 2026-12-06T09:30:00Z, the contact's lastmodifieddate
    } in filters


@SQLITE_ONLY
def test_an_erased_member_is_deleted_at_hubspot_and_never_sent_again(
    database: Database, crm: CrmServer, sleeps: list[float]
) -> None:
    kiosk = Kiosk(database)
    customer = kiosk.member("membership", "marketing:email", email="f@example.com")
    crm.script("POST", SEARCH, recorded("hubspot", "search_none"))
    crm.script("POST", UPSERT, hubspot_upserts)
    crm.script("POST", GDPR_DELETE, recorded("hubspot", "gdpr_delete"))
    sync(database, hubspot_at(crm, sleeps))
    erase_member(database, kiosk.member_id(customer), now=NOW)
    crm.forget()

    report = sync(database, hubspot_at(crm, sleeps))

    assert report.customers_deleted == 1
    (deletion,) = crm.requests_to("POST", GDPR_DELETE)
    assert deletion.body == {"objectId": customer, "idProperty": "kiosk_customer_id"}
    assert crm.requests_to("POST", UPSERT) == []
    assert count(database, crm_records) == 0
    crm.forget()
    sync(database, hubspot_at(crm, sleeps))
    assert [r.path for r in crm.received] == [SEARCH]


@SQLITE_ONLY
def test_interactions_reach_hubspot_only_for_members_who_consented_to_personalisation(
    database: Database, crm: CrmServer, sleeps: list[float]
) -> None:
    kiosk = Kiosk(database)
    personal = kiosk.member("membership", "personalisation")
    plain = kiosk.member("membership")
    crm.script("POST", SEARCH, recorded("hubspot", "search_none"))
    crm.script("POST", UPSERT, hubspot_upserts)
    crm.script("POST", EVENTS, recorded("hubspot", "events_accepted"))
    sync(database, hubspot_at(crm, sleeps, events=True))  # customers; events from next round
    for customer in (personal, plain):
        lift = {"session": "s1", "slot": 3, "sku": "P-7", "member_id": kiosk.member_id(customer)}
        kiosk.send(("lift", lift))
    sync(database, hubspot_at(crm, sleeps, events=True))  # sees the lifts arrive
    crm.forget()

    report = sync(database, hubspot_at(crm, sleeps, events=True))

    assert report.events_sent == 1
    (sent,) = crm.requests_to("POST", EVENTS)
    (event,) = sent.json_inputs
    with database.read() as connection:
        contact = connection.execute(
            select(crm_records.c.external_id).where(crm_records.c.customer_id == personal)
        ).scalar_one()
    assert event["eventName"] == "pe24681357_kiosk_interaction"
    assert event["objectId"] == contact
    assert event["properties"] == {
        "kiosk_kind": "lift",
        "kiosk_sku": "P-7",
        "kiosk_slot": "3",
        "kiosk_store": "sh-nanjing-road",
    }
    crm.forget()
    assert sync(database, hubspot_at(crm, sleeps, events=True)).events_sent == 0
    assert crm.requests_to("POST", EVENTS) == []


def test_one_worker_at_a_time_runs_a_connectors_round(
    database: Database, crm: CrmServer, sleeps: list[float]
) -> None:
    assert store.take_lease(database, "hubspot", "worker-1", now=NOW)
    report = sync(database, hubspot_at(crm, sleeps), holder="worker-2")
    assert not report.ran
    assert crm.received == []
    store.release_lease(database, "hubspot", "worker-1")
    crm.script("POST", SEARCH, recorded("hubspot", "search_none"))
    assert sync(database, hubspot_at(crm, sleeps), holder="worker-2").ran
    # A worker that died holding it: the lease runs out.
    assert store.take_lease(database, "hubspot", "worker-3", now=NOW)
    assert store.take_lease(database, "hubspot", "worker-4", now=NOW + store.LEASE * 2)


# ---------------------------------------------------------------- Salesforce


@SQLITE_ONLY
def test_salesforce_upserts_200_a_request_by_external_id_and_refusals_are_dead_letters(
    database: Database, crm: CrmServer, sleeps: list[float]
) -> None:
    kiosk = Kiosk(database)
    kiosk.members(200, "membership")
    bad = kiosk.member("membership", "marketing:email", email=BAD_EMAIL)
    crm.script("GET", SF_QUERY, recorded("salesforce", "query_none"))
    crm.script("PATCH", SF_UPSERT, recorded("salesforce", "request_limit_exceeded"), times=1)
    crm.script("PATCH", SF_UPSERT, salesforce_upserts)

    report = sync(database, salesforce_at(crm, sleeps))

    assert report.error is None
    upserts = crm.requests_to("PATCH", SF_UPSERT)
    assert [len(r.body["records"]) for r in upserts] == [200, 200, 1]  # the first refused
    assert {r.body["allOrNone"] for r in upserts} == {False}
    assert upserts[0].headers["authorization"] == f"Bearer {TOKEN}"
    assert sleeps == [0.75]  # backoff after REQUEST_LIMIT_EXCEEDED: 1 s, half of it jittered
    record = upserts[-1].body["records"][0]
    assert record["attributes"] == {"type": "Contact"}
    assert (report.customers_sent, report.refused) == (200, 1)
    with database.read() as connection:
        (letter,) = connection.execute(select(crm_dead_letters)).all()
    assert (letter.subject, letter.reason) == (bad, "INVALID_EMAIL_ADDRESS(Email)")
    assert report.rate_limit == "api-usage=31/15000"


@SQLITE_ONLY
def test_a_record_salesforce_could_not_lock_stays_queued_for_the_next_round(
    database: Database, crm: CrmServer, sleeps: list[float]
) -> None:
    kiosk = Kiosk(database)
    customer = kiosk.member("membership")
    crm.script("GET", SF_QUERY, recorded("salesforce", "query_none"))
    crm.script(
        "PATCH",
        SF_UPSERT,
        Answer(200, {}, [recorded("salesforce", "upsert_result_locked").body]),
        times=1,
    )
    crm.script("PATCH", SF_UPSERT, salesforce_upserts)

    assert sync(database, salesforce_at(crm, sleeps)).customers_sent == 0
    assert count(database, crm_queue, customer_id=customer) == 1
    assert count(database, crm_dead_letters) == 0
    assert sync(database, salesforce_at(crm, sleeps)).customers_sent == 1


@SQLITE_ONLY
def test_an_opt_out_at_salesforce_is_read_by_soql_and_withdrawn_at_hq(
    database: Database, crm: CrmServer, sleeps: list[float]
) -> None:
    kiosk = Kiosk(database)
    customer = kiosk.member("membership", "recognition", "marketing:email", email="f@example.com")
    modified = "2026-12-06T09:30:00.000+0000"
    crm.script("GET", f"{SF_DATA}/query/01g", recorded("salesforce", "query_none"))
    crm.script(
        "GET",
        SF_QUERY,
        recorded("salesforce", "query_opt_out", customer_id=customer, modified=modified),
        times=1,
    )
    crm.script("GET", SF_QUERY, recorded("salesforce", "query_page_1"))
    crm.script("PATCH", SF_UPSERT, salesforce_upserts)

    report = sync(database, salesforce_at(crm, sleeps))

    assert report.opt_outs_applied == 2
    assert count(database, consents, source="crm", recorded_by="salesforce") == 2
    (query,) = crm.requests_to("GET", SF_QUERY)
    soql = query.query["q"][0]
    assert soql.startswith("SELECT Id, Kiosk_Customer_Id__c, SystemModstamp, HasOptedOutOfEmail")
    assert "SystemModstamp" not in soql.split("WHERE")[1].split("ORDER")[0]  # from the start

    crm.forget()
    sync(database, salesforce_at(crm, sleeps))
    first, following = crm.requests_to("GET", SF_QUERY)
    assert "SystemModstamp >= 2026-12-06T09:30:00.000Z" in first.query["q"][0]
    assert following.path == f"{SF_DATA}/query/01gRO0000016PIAYA2-2000"  # nextRecordsUrl


@SQLITE_ONLY
def test_salesforce_takes_a_token_by_client_credentials_and_a_new_one_when_it_expires(
    database: Database, crm: CrmServer, sleeps: list[float]
) -> None:
    crm.script(
        "POST", "/services/oauth2/token", recorded("salesforce", "token", instance_url=crm.url)
    )
    crm.script("GET", SF_QUERY, recorded("salesforce", "invalid_session"), times=1)
    crm.script("GET", SF_QUERY, recorded("salesforce", "query_none"))
    connector = salesforce_at(
        crm,
        sleeps,
        token=None,
        client_id="3MVG9test",
        client_secret="s3cr3t",  # noqa: S106 (a test fixture)
    )

    report = sync(database, connector)

    assert report.error is None
    tokens = crm.requests_to("POST", "/services/oauth2/token")
    assert len(tokens) == 2
    assert tokens[0].body == {
        "grant_type": "client_credentials",
        "client_id": "3MVG9test",
        "client_secret": "s3cr3t",
    }
    queries = crm.requests_to("GET", SF_QUERY)
    assert {q.headers["authorization"] for q in queries} == {
        "Bearer 00D5g000004FAKE!AQ0AQtestonlytestonlytestonlytestonly"
    }


@SQLITE_ONLY
def test_an_erased_member_is_deleted_at_salesforce_by_external_id(
    database: Database, crm: CrmServer, sleeps: list[float]
) -> None:
    kiosk = Kiosk(database)
    customer = kiosk.member("membership")
    salesforce_takes_every_upsert(crm)
    crm.script("DELETE", f"{SF_DATA}/sobjects/Contact/", recorded("salesforce", "delete_ok"))
    sync(database, salesforce_at(crm, sleeps))
    erase_member(database, kiosk.member_id(customer), now=NOW)

    assert sync(database, salesforce_at(crm, sleeps)).customers_deleted == 1

    (deletion,) = crm.requests_to("DELETE", SF_DATA)
    assert deletion.path == f"{SF_DATA}/sobjects/Contact/Kiosk_Customer_Id__c/{customer}"
    assert count(database, crm_records) == 0


@SQLITE_ONLY
def test_a_member_who_withdrew_membership_is_deleted_at_salesforce(
    database: Database, crm: CrmServer, sleeps: list[float]
) -> None:
    kiosk = Kiosk(database)
    customer = kiosk.member("membership")
    salesforce_takes_every_upsert(crm)
    crm.script("DELETE", f"{SF_DATA}/sobjects/Contact/", recorded("salesforce", "delete_gone"))
    sync(database, salesforce_at(crm, sleeps))
    member = kiosk.member_id(customer)
    kiosk.send(("consent", consent_payload(member, "membership", given=False)))

    report = sync(database, salesforce_at(crm, sleeps))

    assert report.customers_deleted == 1  # 404: gone there already counts as deleted
    assert len(crm.requests_to("PATCH", SF_UPSERT)) == 1  # only the first round's
    assert count(database, crm_records) == 0


@SQLITE_ONLY
def test_interactions_reach_salesforce_by_event_id_linked_to_the_contact(
    database: Database, crm: CrmServer, sleeps: list[float]
) -> None:
    kiosk = Kiosk(database)
    customer = kiosk.member("membership", "personalisation")
    salesforce_takes_every_upsert(crm)
    crm.script("PATCH", SF_EVENTS, salesforce_upserts)
    sync(database, salesforce_at(crm, sleeps))
    kiosk.send(
        ("lift", {"session": "s1", "slot": 2, "sku": "P-2", "member_id": kiosk.member_id(customer)})
    )
    sync(database, salesforce_at(crm, sleeps))

    assert sync(database, salesforce_at(crm, sleeps)).events_sent == 1

    (sent,) = crm.requests_to("PATCH", SF_EVENTS)
    (record,) = sent.body["records"]
    assert record["Contact__r"] == {"Kiosk_Customer_Id__c": customer}
    assert record["attributes"] == {"type": "Kiosk_Interaction__c"}
    assert (record["Kind__c"], record["Sku__c"], record["Slot__c"]) == ("lift", "P-2", 2)
    assert uuid.UUID(record["Kiosk_Event_Id__c"])


def test_hubspot_search_follows_paging_and_hands_back_the_newest_time_as_cursor(
    crm: CrmServer, sleeps: list[float]
) -> None:
    first = recorded(
        "hubspot", "search_opt_out", customer_id="c-1", modified="2026-12-06T09:00:00.000Z"
    )
    second = recorded(
        "hubspot", "search_opt_out", customer_id="c-2", modified="2026-12-06T09:05:00.000Z"
    )
    crm.script(
        "POST", SEARCH, Answer(200, {}, {**first.body, "paging": {"next": {"after": "1"}}}), times=1
    )
    crm.script("POST", SEARCH, second)

    changes = hubspot_at(crm, sleeps).changes_since("2026-12-06T08:00:00.000Z")

    assert [o.customer_id for o in changes.opt_outs] == ["c-1", "c-2"]
    assert changes.opt_outs[0].flags == {("recognition", None), ("marketing", "email")}
    assert changes.cursor == "2026-12-06T09:05:00Z"
    asked = crm.requests_to("POST", SEARCH)
    assert [r.body.get("after") for r in asked] == [None, "1"]
    assert asked[0].body["limit"] == 100
    assert asked[0].body["sorts"] == [
        {"propertyName": "lastmodifieddate", "direction": "ASCENDING"}
    ]
    assert sleeps == [0.25]  # search pages paced


@SQLITE_ONLY
def test_hqs_job_says_once_that_a_crm_fails_and_once_that_it_works_again(
    database: Database, crm: CrmServer, caplog: pytest.LogCaptureFixture
) -> None:
    config = CrmConfig(hubspot=HubSpotConfig(token=TOKEN, base_url=crm.url), salesforce=None)
    job = CrmSyncJob(database, config, clock=lambda: NOW)
    refused = Answer(401, {}, {"status": "error", "category": "INVALID_AUTHENTICATION"})
    crm.script("POST", SEARCH, refused, times=2)
    crm.script("POST", SEARCH, recorded("hubspot", "search_none"))
    try:
        with caplog.at_level(logging.INFO, logger="hq.crm_connectors"):
            for _ in range(4):
                job.run_once()
    finally:
        job.stop()
    said = [r.getMessage() for r in caplog.records if "CRM sync with" in r.getMessage()]
    assert said == [
        "CRM sync with hubspot is failing: HubSpot refused HQ's token (HTTP 401)",
        "CRM sync with hubspot works again",
    ]
    assert TOKEN not in caplog.text


def test_salesforce_in_maintenance_is_asked_again_after_its_retry_after(
    crm: CrmServer, sleeps: list[float]
) -> None:
    crm.script("GET", SF_QUERY, recorded("salesforce", "unavailable"), times=2)
    crm.script("GET", SF_QUERY, recorded("salesforce", "query_none"))

    changes = salesforce_at(crm, sleeps).changes_since(None)

    assert changes.opt_outs == ()
    assert sleeps == [3.0, 3.0]
    assert len(crm.requests_to("GET", SF_QUERY)) == 3


@SQLITE_ONLY
def test_a_duplicate_merged_away_leaves_hubspot_and_comes_back_when_the_merge_is_undone(
    database: Database, crm: CrmServer, sleeps: list[float]
) -> None:
    kiosk = Kiosk(database)
    keep = kiosk.member("membership")
    other = kiosk.member("membership", "marketing:email", email="wang.fang@example.com")
    crm.script("POST", SEARCH, recorded("hubspot", "search_none"))
    crm.script("POST", UPSERT, hubspot_upserts)
    crm.script("POST", GDPR_DELETE, recorded("hubspot", "gdpr_delete"))
    sync(database, hubspot_at(crm, sleeps))
    merged = merges.merge(database, keep, other, by="test", now=NOW)
    crm.forget()

    report = sync(database, hubspot_at(crm, sleeps))

    assert report.customers_deleted == 1
    (deletion,) = crm.requests_to("POST", GDPR_DELETE)
    assert deletion.body["objectId"] == other
    (upsert,) = crm.requests_to("POST", UPSERT)  # the one kept: the joined consents
    (item,) = upsert.json_inputs
    assert item["id"] == keep
    assert item["properties"]["email"] == "wang.fang@example.com"

    merges.undo(database, merged.merge_id, by="test", now=NOW)
    crm.forget()
    sync(database, hubspot_at(crm, sleeps))
    sent = {item["id"] for r in crm.requests_to("POST", UPSERT) for item in r.json_inputs}
    assert sent == {keep, other}


# ---------------------------------------------------------------- the CRM's contact changes


def contact_changed(crm_name: str, customer: str, modified: str, **values: str) -> Answer:
    """The recorded search/query answer of one contact whose fields a CRM user edited."""
    return recorded(
        crm_name,
        f"{'search' if crm_name == 'hubspot' else 'query'}_contact_changed",
        customer_id=customer,
        modified=modified,
        **values,
    )


def customer_row(database: Database, customer: str) -> Any:
    with database.read() as connection:
        return connection.execute(
            select(customers).where(customers.c.customer_id == customer)
        ).one()


def test_an_email_and_a_name_changed_at_hubspot_land_on_hqs_customer_once(
    database: Database, crm: CrmServer, sleeps: list[float]
) -> None:
    kiosk = Kiosk(database)
    customer = kiosk.member("membership", "marketing:email", "marketing:sms", email="f@example.com")
    phone = customer_row(database, customer).phone_e164
    crm.script("POST", SEARCH, recorded("hubspot", "search_none"), times=1)
    crm.script("POST", UPSERT, hubspot_upserts)
    assert sync(database, hubspot_at(crm, sleeps)).customers_sent == 1
    modified = "2026-12-06T09:30:00.000Z"  # after the sign-up, before NOW
    # An agent corrected the address and the name, and typed another mobile number.
    crm.script(
        "POST",
        SEARCH,
        contact_changed(
            "hubspot",
            customer,
            modified,
            email="fang.wang@example.org",
            contact_name="Wang Fang",
            phone="+8613900000001",
            language="zh-CN",
        ),
    )
    crm.forget()

    report = sync(database, hubspot_at(crm, sleeps))

    assert (report.changes_applied, report.phone_conflicts, report.refused) == (1, 1, 0)
    (found,) = find_by_email(database, "fang.wang@example.org")
    assert (found.customer_id, found.name, found.phone_e164) == (customer, "Wang Fang", phone)
    (line,) = [e for e in audit.recent(database) if e.action == "customers.crm_change"]
    assert (line.actor, line.target, dict(line.detail)) == (
        "hubspot",
        f"customer:{customer}",
        {"fields": ["email", "name"]},
    )
    assert "fang" not in str(line.as_json()).lower()
    (search,) = crm.requests_to("POST", SEARCH)
    assert {"email", "firstname", "mobilephone", "kiosk_language"} <= set(search.body["properties"])
    assert crm.requests_to("POST", UPSERT) == []  # what the CRM holds is not sent back

    crm.forget()
    again = sync(database, hubspot_at(crm, sleeps))  # the same contact is read again
    assert (again.changes_applied, again.phone_conflicts, again.customers_sent) == (0, 0, 0)
    assert crm.requests_to("POST", UPSERT) == []
    (state,) = store.states(database)
    assert (state.changes_applied, state.phone_conflicts) == (1, 1)
    assert customer_row(database, customer).phone_e164 == phone

    # Erased: the CRM's changes no longer reach them; HQ keeps only the id to delete.
    erase_member(database, kiosk.member_id(customer), now=NOW)
    with database.read() as connection:
        (held,) = connection.execute(select(crm_records.c.sent_fields)).scalars().all()
    assert held is None
    assert (
        apply_contact_changes(
            database, "hubspot", [ContactChange(customer, {"email": "x@example.org"}, NOW)], now=NOW
        )
        == Applied()
    )


@SQLITE_ONLY
def test_an_invalid_email_from_hubspot_is_refused_with_a_reason_and_hq_keeps_its_own(
    database: Database, crm: CrmServer, sleeps: list[float], caplog: pytest.LogCaptureFixture
) -> None:
    kiosk = Kiosk(database)
    customer = kiosk.member("membership", "marketing:email", email="f@example.com")
    crm.script("POST", SEARCH, recorded("hubspot", "search_none"), times=1)
    crm.script("POST", UPSERT, hubspot_upserts)
    sync(database, hubspot_at(crm, sleeps))
    crm.script(
        "POST",
        SEARCH,
        contact_changed(
            "hubspot",
            customer,
            "2026-12-06T09:30:00.000Z",
            email="fang.wang at example",
            contact_name="",
            phone="",
            language="zh-CN",
        ),
    )
    with caplog.at_level(logging.DEBUG):
        report = sync(database, hubspot_at(crm, sleeps))
        again = sync(database, hubspot_at(crm, sleeps))

    assert (report.changes_applied, report.refused, again.refused) == (0, 1, 0)
    assert customer_row(database, customer).email == "f@example.com"
    with database.read() as connection:
        (letter,) = connection.execute(select(crm_dead_letters)).all()
    assert (letter.kind, letter.subject) == ("change", customer)
    assert letter.reason == "crm value refused: invalid email(email)"
    assert "example" not in caplog.text


@SQLITE_ONLY
def test_a_value_hq_sent_is_not_taken_back_as_the_crms_change(
    database: Database, crm: CrmServer, sleeps: list[float]
) -> None:
    kiosk = Kiosk(database)
    customer = kiosk.member("membership", "marketing:email", email="f@example.com")
    crm.script("POST", SEARCH, recorded("hubspot", "search_none"), times=1)
    crm.script("POST", UPSERT, hubspot_upserts)
    sync(database, hubspot_at(crm, sleeps))
    # HQ's value changes after it was sent; HubSpot still holds (and echoes) the old one.
    with database.write() as connection:
        connection.execute(
            update(customers)
            .where(customers.c.customer_id == customer)
            .values(email="fang@example.net")
        )
    crm.script(
        "POST",
        SEARCH,
        contact_changed(
            "hubspot",
            customer,
            "2026-12-06T09:30:00.000Z",
            email="f@example.com",
            contact_name="",
            phone="",
            language="zh-CN",
        ),
    )
    report = sync(database, hubspot_at(crm, sleeps))
    assert report.changes_applied == 0
    assert customer_row(database, customer).email == "fang@example.net"


@SQLITE_ONLY
def test_salesforce_contact_changes_come_back_and_its_name_stand_in_is_no_name(
    database: Database, crm: CrmServer, sleeps: list[float]
) -> None:
    kiosk = Kiosk(database)
    customer = kiosk.member("membership", "marketing:email", email="f@example.com")
    named = kiosk.member("membership")  # no marketing: sent as "Kiosk member", no email
    phone = customer_row(database, customer).phone_e164
    crm.script("GET", SF_QUERY, recorded("salesforce", "query_none"), times=1)
    crm.script("PATCH", SF_UPSERT, salesforce_upserts)
    assert sync(database, salesforce_at(crm, sleeps)).customers_sent == 2
    modified = "2026-12-06T09:30:00.000+0000"
    changed = contact_changed(
        "salesforce",
        customer,
        modified,
        email="fang.wang@example.org",
        contact_name="Wang Fang",
        phone="+8613900000001",
        language="en-GB",
    )
    echoed = contact_changed(
        "salesforce",
        named,
        modified,
        email="",
        contact_name="Kiosk member",
        phone="",
        language="zh-CN",
    )
    records = [*changed.body["records"], *echoed.body["records"]]
    crm.script("GET", SF_QUERY, Answer(200, changed.headers, {**changed.body, "records": records}))
    crm.forget()

    report = sync(database, salesforce_at(crm, sleeps))
    again = sync(database, salesforce_at(crm, sleeps))

    assert (report.changes_applied, report.phone_conflicts) == (1, 1)
    assert (again.changes_applied, again.phone_conflicts) == (0, 0)
    row = customer_row(database, customer)
    assert (row.email, row.name, row.language, row.phone_e164) == (
        "fang.wang@example.org",
        "Wang Fang",
        "en-GB",
        phone,
    )
    assert customer_row(database, named).name == "王芳"
    soql = crm.requests_to("GET", SF_QUERY)[0].query["q"][0]
    assert "Email, LastName, Kiosk_Language__c, MobilePhone" in soql
    assert crm.requests_to("PATCH", SF_UPSERT) == []
