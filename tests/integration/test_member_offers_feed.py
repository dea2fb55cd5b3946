"""Member offers need marketing consent on record at HQ, and a withdrawal at HQ reaches
the kiosk: a real HQ on loopback (SQLite and PostgreSQL), `kiosk-hq customers segment`
as staff run it, the kiosk's FeedSync and member directory, the recogniser reading the
directory as the kiosk's GUI process does, and the offer decision (rewards.offers)."""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from helpers.hq import KIOSK_HQ, Hq, consent_payload, issue_code, signup_payload
from helpers.pickup import wait_until

from backend_client.client import HqClient, enroll
from backend_client.feed_sync import FeedSync
from backend_client.member_reader import MemberReader
from backend_client.members import MEMBERS_FILE, MemberDirectory
from content.offers import Offers
from devices.events import TagId, TagKind, TagSeen
from kiosk.recognition import Recogniser, RecognitionEvent
from kiosk.session import MemberArrived, MemberVisit
from kiosk.trace import NullTrace
from rewards.offers import OfferBook, OfferMember

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 12, 7, 11, 0, tzinfo=SHANGHAI)

OFFERS = Offers.model_validate(
    {
        "offers": [
            {
                "id": "gold-welcome",
                "title": {"zh-CN": "金卡会员专享", "en": "For gold members"},
                "campaign": "gold-100",
                "segment": {"tiers": ["gold"]},
                "starts_at": "2026-12-01T00:00:00+08:00",
                "ends_at": "2027-01-01T00:00:00+08:00",
                "priority": 10,
            },
            {  # no segment rule: every member with marketing consent
                "id": "members-week",
                "title": {"zh-CN": "会员周", "en": "Members' week"},
                "message": {"zh-CN": "全场九折", "en": "10% off everything"},
                "starts_at": "2026-12-01T00:00:00+08:00",
                "ends_at": "2027-01-01T00:00:00+08:00",
            },
        ]
    }
)


@pytest.fixture
def directory_path(tmp_path: Path) -> Path:
    return tmp_path / "kiosk" / MEMBERS_FILE


@pytest.fixture
def feed_sync(hq: Hq, directory_path: Path) -> Iterator[FeedSync]:
    credentials = enroll(hq.base_url, issue_code(hq.database_url, f"store-{uuid.uuid4().hex[:8]}"))
    sync = FeedSync(directory_path, HqClient(credentials), interval=0.2, page_limit=50)
    yield sync
    sync.stop()


def staff_cli(hq: Hq, *args: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KIOSK_HQ_")}
    done = subprocess.run(
        [
            str(KIOSK_HQ),
            "--data-dir",
            str(hq.settings.data_dir),
            "--database-url",
            hq.database_url,
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def visit_of(path: Path, fob: TagId) -> MemberVisit:
    """The member the kiosk recognises by `fob`, as its recogniser hands it on."""
    posted: list[RecognitionEvent] = []
    with MemberReader(path) as reader:
        Recogniser(reader, posted.append, NullTrace()).on_event(TagSeen(fob, "rfid", 1.0))
    (arrived,) = posted
    assert isinstance(arrived, MemberArrived)
    return arrived.visit


def offer_member(visit: MemberVisit) -> OfferMember:
    return OfferMember(
        member_id=visit.member_id,
        marketing=visit.marketing,
        personalised=visit.personalised,
        tier=visit.tier,
        tags=visit.tags,
        birth_month=visit.birth_month,
        last_seen=visit.last_seen,
        last_viewed=visit.last_viewed,
    )


def test_a_marketing_withdrawal_at_hq_stops_offers_at_the_kiosk_at_its_next_sync(
    hq: Hq, feed_sync: FeedSync, directory_path: Path
) -> None:
    till = hq.kiosk()
    member, phone = str(uuid.uuid4()), f"139{uuid.uuid4().int % 10**8:08d}"
    fob = TagId(TagKind.RFID, f"{uuid.uuid4().int % 2**32:010d}")
    at = datetime(2026, 12, 1, 9, 0, tzinfo=UTC).isoformat()
    answer = till.post(
        [
            till.event(1, "member_signup", signup_payload(member, phone), occurred_at=at),
            till.event(2, "consent", consent_payload(member, "recognition", given=True)),
            till.event(3, "consent", consent_payload(member, "marketing", given=True)),
        ]
    )
    assert {r["status"] for r in answer.json()["results"]} == {"accepted"}, answer.text
    bound = hq.admin_post(
        f"/v1/admin/customers/{member}/tags", {"kind": "rfid", "value": fob.value}
    )
    assert bound.status_code == 201, bound.text
    said = staff_cli(
        hq, "customers", "segment", "--phone", phone, "--tier", "gold", "--tag", "vip",
        "--birth-month", "5", "--by", "loyalty-desk",
    )  # fmt: skip
    assert "birth_month, tags, tier changed; 1 member feed entry changed" in said
    assert "gold" not in said

    book = OfferBook.of(OFFERS.offers, {}, SHANGHAI)
    feed_sync.sync_once()
    with MemberDirectory(directory_path) as directory:
        found = directory.find(fob)
        assert found is not None
        assert (found.marketing, found.tier, found.tags, found.birth_month) == (
            True,
            "gold",
            ("vip",),
            5,
        )
        visit = visit_of(directory_path, fob)
        assert (visit.marketing, visit.tier) == (True, "gold")
        offer = book.choose(offer_member(visit), {}, NOW)
        assert offer is not None
        assert offer.id == "gold-welcome"

        withdrawn = hq.admin_post(
            f"/v1/admin/customers/{member}/consents/withdraw",
            {"purpose": "marketing", "by": "hotline-7"},
        )
        assert withdrawn.status_code == 200, withdrawn.text
        feed_sync.start()  # the kiosk's next sync
        wait_until(
            lambda: not directory.find(fob).marketing,  # type: ignore[union-attr]
            what="the withdrawal at the kiosk",
        )
        found = directory.find(fob)
        assert found is not None  # still recognised: only offers stop
        assert (found.marketing, found.tier, found.tags, found.birth_month) == (
            False,
            None,
            (),
            None,
        )
    visit = visit_of(directory_path, fob)
    assert (visit.marketing, visit.tier, visit.tags, visit.birth_month) == (
        False,
        None,
        frozenset(),
        None,
    )
    assert book.choose(offer_member(visit), {}, NOW) is None
    assert book.candidates(offer_member(visit), NOW) == ()  # not even the one for everyone
