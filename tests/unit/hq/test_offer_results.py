"""Member offers at HQ, on SQLite and PostgreSQL: kiosks' offer events through ingest,
each offer's results per store (counted here again from the events the test made),
`kiosk-hq offers stats`, a member's offer moments on their timeline, erasure and merges.

Texts asked for come in as kiosks send them (`offer_text_requested`) and are sent by
hq/sms's sender through the log-only provider: "sent" is what the provider accepted."""

from __future__ import annotations

import csv
import io
import json
import random
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from helpers.hq import (
    consent_payload,
    coupon_issued_payload,
    coupon_redeemed_payload,
    event_json,
    signup_payload,
)
from helpers.offers import offer_printed_payload
from sqlalchemy import func, select

from hq import ingest
from hq.analytics import offers
from hq.cli import main
from hq.crm import coupons, merges, queries
from hq.crm.coupon_codes import CouponCode, issue
from hq.crm.erasure import erase_member
from hq.db import Database, coupons_issued, events, member_ids, offer_events
from hq.enrollment import Enrolment, KioskIdentity, issue_code, redeem_code
from hq.fleet import add_store
from hq.sms.config import SmsConfig
from hq.sms.sender import SmsSender
from hq.wire import EventBatch

NOW = datetime(2026, 12, 10, 12, 0, tzinfo=UTC)
FIRST = datetime(2026, 11, 1, tzinfo=UTC)  # the range asked about: November, UTC
END = datetime(2026, 12, 1, tzinfo=UTC)
GOOD_THROUGH = date(2027, 1, 31)
OFFERS = {"welcome-back": "phone-50", "birthday-gift": "bday-100", "new-watch": None}
Sent = tuple[str, dict[str, Any], datetime]  # an event's kind, payload and time


@dataclass
class Kiosk:
    enrolment: Enrolment
    seq: int = 0
    serial: int = 0

    @property
    def store_id(self) -> str:
        return self.enrolment.store_id

    def code(self) -> CouponCode:
        self.serial += 1
        return issue(
            self.enrolment.coupon_key,
            campaign_no=3,
            kiosk_no=self.enrolment.kiosk_no,
            serial=self.serial,
            expires_on=GOOD_THROUGH,
        )

    def send(self, database: Database, *sent: Sent) -> None:
        batch = []
        for kind, payload, at in sent:
            self.seq += 1
            batch.append(
                event_json(
                    self.store_id,
                    self.enrolment.kiosk_id,
                    self.seq,
                    kind,
                    payload,
                    occurred_at=at.isoformat(),
                )
            )
        identity = KioskIdentity(self.enrolment.kiosk_id, self.store_id)
        plan = ingest.decide(identity, EventBatch.model_validate({"events": batch}))
        assert isinstance(plan, ingest.Plan)
        outcome = ingest.store(database, identity, plan, received_at=NOW)
        assert {result.status for result in outcome.results} == {"accepted"}, outcome.results


def enrol(database: Database, store_id: str) -> Kiosk:
    add_store(database, store_id, None, now=NOW, exist_ok=True)
    return Kiosk(redeem_code(database, issue_code(database, store_id, now=NOW), None, now=NOW))


def shown(offer: str, member: str, session: str = "s1") -> dict[str, Any]:
    return {"session": session, "offer": offer, "member_id": member, "campaign": OFFERS[offer]}


def taken(code: CouponCode, offer: str, member: str, session: str = "s1") -> dict[str, Any]:
    campaign = OFFERS[offer]
    assert campaign is not None
    return coupon_issued_payload(
        code, campaign, reason="offer", offer=offer, member_id=member, session=session
    )


def text_requested(
    code: CouponCode, offer: str, member: str, session: str = "s1"
) -> dict[str, Any]:
    """The member's "send to my phone" for the code they took."""
    return {
        "session": session,
        "offer": offer,
        "member_id": member,
        "code": code.text,
        "campaign": OFFERS[offer],
        "expires_on": code.expires_on.isoformat(),
        "language": "zh-CN",
    }


def send_texts(database: Database) -> dict[str, int]:
    """One round of hq/sms's sender (log-only provider) at NOW: its outcomes."""
    sender = SmsSender(
        database, SmsConfig(provider="log", rate=1000.0), clock=lambda: NOW, jitter=lambda: 0.0
    )
    try:
        report = sender.send_once()
    finally:
        sender.close()
    assert report.error is None
    return dict(report.outcomes)


@dataclass
class Generated:
    """What the test sent, and so what each offer's results must be."""

    expected: Counter[tuple[str, str, str]] = field(default_factory=Counter)
    # (offer, store, figure) -> count, for what happened in November


def _generate(database: Database, seed: int = 20) -> Generated:
    """A month of members at two stores: shown offers, some taken, texted, printed and
    redeemed; with events in October and December that November must not count.

    A text asked for is sent to a member with a number on record; one without a number
    or who withdrew marketing consent is not, and one asked for after the sender's
    round is still queued."""
    rng = random.Random(seed)
    kiosks = [enrol(database, "sh-nanjing-road"), enrol(database, "bj-wangfujing")]
    made = Generated()
    waiting: list[tuple[Kiosk, Sent]] = []
    texted: Counter[str] = Counter()
    for n in range(160):
        kiosk = rng.choice(kiosks)
        offer = rng.choice(list(OFFERS))
        member = str(uuid.uuid4())
        session = f"s{n}"
        at = FIRST + timedelta(days=rng.randrange(-3, 33), minutes=rng.randrange(1440))
        inside = FIRST <= at < END

        def count(figure: str) -> None:
            if inside:  # noqa: B023 (used at once, in this loop round)
                made.expected[(offer, kiosk.store_id, figure)] += 1  # noqa: B023

        sent: list[Sent] = [("offer_shown", shown(offer, member, session), at)]
        count("shown")
        if OFFERS[offer] is not None and rng.random() < 0.6:
            code = kiosk.code()
            later = at + timedelta(seconds=20)
            sent.append(("coupon_issued", taken(code, offer, member, session), later))
            count("taken")
            if rng.random() < 0.4:
                fate, before, asked = _asked_by_text(rng, n, code, offer, member, session, later)
                sent += before
                if fate == "queued":
                    waiting.append((kiosk, asked))
                else:
                    sent.append(asked)
                texted[fate] += 1
                count("text_requested")
                if fate == "sent":
                    count("sent")
            if rng.random() < 0.3:
                sent.append(
                    (
                        "offer_printed",
                        offer_printed_payload(code, offer, OFFERS[offer], member),
                        later,
                    )
                )
                count("printed")
            if rng.random() < 0.5:
                # Redeemed at a till through HQ, or at a store offline and reported later.
                if rng.random() < 0.5:
                    found = coupons.redeem(
                        database, code.text, store_id=kiosk.store_id, by="till-1", now=NOW
                    )
                    assert isinstance(found, coupons.Redeemed)
                else:
                    sent.append(("coupon_redeemed", coupon_redeemed_payload(code.text), NOW))
                count("redeemed")
        kiosk.send(database, *sent)
    # A survey's coupon redeemed is no offer's.
    kiosk = kiosks[0]
    survey_code = kiosk.code()
    kiosk.send(database, ("coupon_issued", coupon_issued_payload(survey_code), FIRST))
    assert isinstance(
        coupons.redeem(database, survey_code.text, store_id=kiosk.store_id, by="t", now=NOW),
        coupons.Redeemed,
    )
    assert send_texts(database) == {fate: n for fate, n in texted.items() if fate != "queued"}
    for kiosk, asked in waiting:
        kiosk.send(database, asked)
    return made


def _asked_by_text(
    rng: random.Random,
    n: int,
    code: CouponCode,
    offer: str,
    member: str,
    session: str,
    at: datetime,
) -> tuple[str, list[Sent], Sent]:
    """A text the member asks for at `at`: what becomes of it ("sent"; "no_number";
    "withdrawn"; "queued": asked for after the sender's round), the events that make it
    so (a sign-up with a number, marketing consent withdrawn) and the request."""
    fate = rng.choice(("sent", "sent", "no_number", "withdrawn", "queued"))
    before: list[Sent] = []
    if fate != "no_number":
        before.append(("member_signup", signup_payload(member, f"+86138{n:08d}"), at))
    if fate == "withdrawn":
        no = consent_payload(member, "marketing", given=False, channel="sms")
        before.append(("consent", no, at))
    asked = ("offer_text_requested", text_requested(code, offer, member, session), at)
    return fate, before, asked


def _figures(row: offers.OfferResult) -> dict[str, int]:
    return {
        "shown": row.shown,
        "taken": row.taken,
        "text_requested": row.text_requested,
        "sent": row.sent,
        "printed": row.printed,
        "redeemed": row.redeemed,
    }


FIGURES = ("shown", "taken", "text_requested", "sent", "printed", "redeemed")


def _expected(made: Generated, store: str | None = None, offer: str | None = None) -> dict:
    keys = {
        (o, s)
        for (o, s, _) in made.expected
        if (store is None or s == store) and (offer is None or o == offer)
    }
    return {(o, s): {f: made.expected[(o, s, f)] for f in FIGURES} for o, s in keys}


def test_each_offers_results_per_store_are_what_the_kiosks_reported(database: Database) -> None:
    made = _generate(database)
    with database.read() as connection:
        found = offers.results(connection, begin=FIRST, end=END)
        one_store = offers.results(connection, begin=FIRST, end=END, stores=["bj-wangfujing"])
        one_offer = offers.results(connection, begin=FIRST, end=END, offer="birthday-gift")
        listed = offers.offered(connection, begin=FIRST, end=END, stores=None)
        listed_there = offers.offered(connection, begin=FIRST, end=END, stores=["bj-wangfujing"])
    assert {(row.offer, row.store_id): _figures(row) for row in found} == _expected(made)
    assert listed == sorted({offer for offer, _, _ in made.expected})
    assert listed_there == sorted({o for o, s, _ in made.expected if s == "bj-wangfujing"})
    assert {(row.offer, row.campaign) for row in found} <= set(OFFERS.items())
    # Some texts asked for were not sent (no number, consent withdrawn, still queued).
    assert 0 < sum(row.sent for row in found) < sum(row.text_requested for row in found)
    assert {(r.offer, r.store_id): _figures(r) for r in one_store} == _expected(
        made, store="bj-wangfujing"
    )
    assert {(r.offer, r.store_id): _figures(r) for r in one_offer} == _expected(
        made, offer="birthday-gift"
    )
    # The rates are the counts' own, and a message-only offer is never taken.
    for row in found:
        assert row.take_rate == (row.taken / row.shown if row.shown else None)
        assert row.redemption_rate == (row.redeemed / row.taken if row.taken else None)
        if row.campaign is None:
            assert row.taken == row.redeemed == 0
    totals = {row.offer: row for row in offers.by_offer(found)}
    for offer in OFFERS:
        assert totals[offer].shown == sum(made.expected[(offer, s, "shown")] for s in
                                          ("sh-nanjing-road", "bj-wangfujing"))  # fmt: skip
        assert totals[offer].store_id is None


def test_a_text_counts_as_sent_once_the_sms_provider_accepted_it(database: Database) -> None:
    kiosk = enrol(database, "sh-nanjing-road")
    member, unknown = str(uuid.uuid4()), str(uuid.uuid4())
    _sign_up(kiosk, database, member, "+8613812345678")
    for who in (member, unknown):
        code = kiosk.code()
        kiosk.send(
            database,
            ("coupon_issued", taken(code, "welcome-back", who), FIRST),
            ("offer_text_requested", text_requested(code, "welcome-back", who), FIRST),
        )

    def texts() -> tuple[int, int]:
        with database.read() as connection:
            [row] = offers.results(connection, begin=FIRST, end=END)
        return row.text_requested, row.sent

    assert texts() == (2, 0)  # queued
    assert send_texts(database) == {"sent": 1, "no_number": 1}
    assert texts() == (2, 1)


def test_coupons_taken_from_an_offer_are_stored_with_the_offer(database: Database) -> None:
    kiosk = enrol(database, "sh-nanjing-road")
    member = str(uuid.uuid4())
    code = kiosk.code()
    kiosk.send(database, ("coupon_issued", taken(code, "welcome-back", member), FIRST))
    kiosk.send(database, ("coupon_issued", coupon_issued_payload(kiosk.code()), FIRST))
    with database.read() as connection:
        stored = connection.execute(
            select(coupons_issued.c.reason, coupons_issued.c.offer).order_by(
                coupons_issued.c.serial
            )
        ).all()
    assert [tuple(row) for row in stored] == [("offer", "welcome-back"), ("survey", None)]


def test_an_offer_printed_with_a_made_up_code_is_rejected_naming_the_field(
    database: Database,
) -> None:
    kiosk = enrol(database, "sh-nanjing-road")
    payload = offer_printed_payload(kiosk.code(), "welcome-back", "phone-50", str(uuid.uuid4()))
    payload["code"] = "ABCD-EFGH"
    identity = KioskIdentity(kiosk.enrolment.kiosk_id, kiosk.store_id)
    batch = [event_json(kiosk.store_id, kiosk.enrolment.kiosk_id, 1, "offer_printed", payload)]
    plan = ingest.decide(identity, EventBatch.model_validate({"events": batch}))
    assert isinstance(plan, ingest.Plan)
    outcome = ingest.store(database, identity, plan, received_at=NOW)
    [result] = outcome.results
    assert result.status == "rejected"
    assert result.reason is not None
    assert "payload.code" in result.reason
    assert "ABCD" not in result.reason
    with database.read() as connection:
        assert connection.execute(select(func.count()).select_from(offer_events)).scalar() == 0


def test_offers_stats_prints_the_results_as_a_table_csv_and_json(
    database: Database, tmp_path: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    made = _generate(database, seed=7)
    url = database.url.render_as_string(hide_password=False)

    def stats(*argv: str) -> str:
        base = ["--data-dir", str(tmp_path / "hq"), "--database-url", url, "offers", "stats"]
        argv = ("--from", "2026-11-01", "--to", "2026-11-30", "--timezone", "UTC", *argv)
        assert main([*base, *argv]) == 0
        return capsys.readouterr().out

    report = json.loads(stats("--format", "json"))
    assert {(r["offer"], r["store_id"]): {f: r[f] for f in FIGURES} for r in report["offers"]} == (
        _expected(made)
    )
    assert (report["from"], report["to"], report["zone"]) == ("2026-11-01", "2026-11-30", "UTC")
    rows = list(csv.DictReader(io.StringIO(stats("--format", "csv", "--store", "sh-nanjing-road"))))
    assert {(r["offer"], r["store"]): {f: int(r[f]) for f in FIGURES} for r in rows} == _expected(
        made, store="sh-nanjing-road"
    )
    table = stats("--offer", "welcome-back")
    assert table.splitlines()[0] == "member offers 2026-11-01 to 2026-11-30 (UTC)"
    assert "TAKE RATE" in table.splitlines()[1]
    assert all("welcome-back" in line for line in table.splitlines()[2:])
    assert "(all)" in table.splitlines()[-1]  # the offer's total, last
    assert main(["--data-dir", str(tmp_path / "hq"), "--database-url", url, "offers", "stats",
                 "--from", "2026-12-01", "--to", "2026-11-01"]) == 1  # fmt: skip
    assert "--from/--to" in capsys.readouterr().err


def test_the_timeline_shows_a_members_offers_shown_taken_texted_and_printed(
    database: Database,
) -> None:
    kiosk = enrol(database, "sh-nanjing-road")
    member = str(uuid.uuid4())
    _sign_up(kiosk, database, member, "+8613812345678")
    code = kiosk.code()
    at = FIRST + timedelta(hours=3)
    kiosk.send(
        database,
        ("offer_shown", shown("welcome-back", member), at),
        ("coupon_issued", taken(code, "welcome-back", member), at + timedelta(seconds=10)),
        ("offer_text_requested", text_requested(code, "welcome-back", member),
         at + timedelta(seconds=20)),
        ("offer_printed", offer_printed_payload(code, "welcome-back", "phone-50", member),
         at + timedelta(seconds=30)),
    )  # fmt: skip
    customer = _customer_of(database, member)
    found = queries.timeline(database, customer)
    assert found is not None
    offered = [(e.kind, e.details["offer"], e.details.get("code")) for e in found.interactions]
    assert offered == [
        ("offer_printed", "welcome-back", code.text),
        ("offer_texted", "welcome-back", None),
        ("offer_taken", "welcome-back", code.text),
        ("offer_shown", "welcome-back", None),
    ]
    assert {e.store_id for e in found.interactions} == {"sh-nanjing-road"}


def test_a_merged_records_offers_join_the_survivors_timeline(database: Database) -> None:
    kiosk = enrol(database, "sh-nanjing-road")
    first, second = str(uuid.uuid4()), str(uuid.uuid4())
    _sign_up(kiosk, database, first, "+8613812345678")
    _sign_up(kiosk, database, second, "+8613912345678")
    kiosk.send(database, ("offer_shown", shown("welcome-back", second), FIRST))
    keep, other = _customer_of(database, first), _customer_of(database, second)
    found = queries.timeline(database, keep)
    assert found is not None
    assert not found.interactions
    merges.merge(database, keep, other, by="test", now=NOW)
    found = queries.timeline(database, keep)
    assert found is not None
    assert [(e.kind, e.member_id) for e in found.interactions] == [("offer_shown", second)]


def test_erasing_a_member_keeps_their_offers_counted_without_them(database: Database) -> None:
    kiosk = enrol(database, "sh-nanjing-road")
    member = str(uuid.uuid4())
    _sign_up(kiosk, database, member, "+8613812345678")
    code = kiosk.code()
    kiosk.send(
        database,
        ("offer_shown", shown("welcome-back", member), FIRST),
        ("coupon_issued", taken(code, "welcome-back", member), FIRST),
        ("offer_printed", offer_printed_payload(code, "welcome-back", "phone-50", member), FIRST),
    )
    with database.read() as connection:
        before = offers.results(connection, begin=FIRST, end=END)
    assert erase_member(database, member, now=NOW) is not None
    # A kiosk that was offline reports the member's offer after the erasure.
    kiosk.send(database, ("offer_shown", shown("welcome-back", member), FIRST))
    with database.read() as connection:
        after = offers.results(connection, begin=FIRST, end=END)
        members = connection.execute(select(offer_events.c.member_id)).scalars().all()
        payloads = (
            connection.execute(
                select(events.c.payload).where(events.c.kind.in_(["offer_shown", "offer_printed"]))
            )
            .scalars()
            .all()
        )
    assert [(r.shown, r.taken, r.printed) for r in before] == [(1, 1, 1)]
    assert [(r.shown, r.taken, r.printed) for r in after] == [(2, 1, 1)]
    assert members == [None, None, None]
    assert all(p.get("erased") is True and "member_id" not in p for p in payloads)
    assert len(payloads) == 3


def _sign_up(kiosk: Kiosk, database: Database, member: str, phone: str) -> None:
    kiosk.send(database, ("member_signup", signup_payload(member, phone), FIRST))


def _customer_of(database: Database, member: str) -> str:
    with database.read() as connection:
        return str(
            connection.execute(
                select(member_ids.c.customer_id).where(member_ids.c.member_id == member)
            ).scalar_one()
        )
