"""A kiosk's member directory kept by FeedSync from a real HQ over HTTP (SQLite and PostgreSQL),
and by the relay child process as the kiosk runs it."""

from __future__ import annotations

import stat
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from helpers.hq import Hq, KioskClient, consent_payload, issue_code, signup_payload
from helpers.hq_process import HqProcess
from helpers.kiosk_sync import enrolled_kiosk
from helpers.pickup import wait_until

from backend_client.client import HqClient, enroll
from backend_client.feed_sync import FeedSync
from backend_client.members import MEMBERS_FILE, Member, MemberDirectory
from backend_client.relay_process import RelayProcess
from devices.events import TagId, TagKind


def new_fob() -> str:
    return f"{uuid.uuid4().int % 2**32:010d}"


class Regular:
    """A member at HQ: signed up and consenting at `kiosk` (its seqs from `first_seq`),
    who lifted P-2, with a fob bound by staff."""

    def __init__(self, hq: Hq, kiosk: KioskClient, first_seq: int, **signup: Any) -> None:
        self.hq, self.kiosk, self.seq = hq, kiosk, first_seq
        self.at = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
        self.member = str(uuid.uuid4())
        self.fob = TagId(TagKind.RFID, new_fob())
        phone = f"139{uuid.uuid4().int % 10**8:08d}"
        self.send("member_signup", signup_payload(self.member, phone, **signup))
        self.consent(given=True)
        self.send("lift", {"session": "s1", "slot": 2, "sku": "P-2", "member_id": self.member})
        bound = hq.admin_post(
            f"/v1/admin/customers/{self.member}/tags", {"kind": "rfid", "value": self.fob.value}
        )
        assert bound.status_code == 201, bound.text

    def send(self, kind: str, payload: dict[str, Any]) -> None:
        self.at += timedelta(seconds=1)
        answer = self.kiosk.post(
            [self.kiosk.event(self.seq, kind, payload, occurred_at=self.at.isoformat())]
        )
        assert answer.json()["results"][0]["status"] == "accepted", answer.text
        self.seq += 1

    def consent(self, *, given: bool) -> None:
        self.send("consent", consent_payload(self.member, "recognition", given=given))


@pytest.fixture
def directory_path(tmp_path: Path) -> Path:
    return tmp_path / "kiosk" / MEMBERS_FILE


@pytest.fixture
def feed_sync(hq: Hq, directory_path: Path) -> Iterator[FeedSync]:
    """A FeedSync of a kiosk enrolled with the module's HQ, syncing every 0.2 s."""
    credentials = enroll(hq.base_url, issue_code(hq.database_url, f"store-{uuid.uuid4().hex[:8]}"))
    sync = FeedSync(directory_path, HqClient(credentials), interval=0.2, page_limit=50)
    yield sync
    sync.stop()


@pytest.fixture
def directory(directory_path: Path, feed_sync: FeedSync) -> Iterator[MemberDirectory]:
    feed_sync.sync_once()  # makes the file
    with MemberDirectory(directory_path) as opened:
        yield opened


@pytest.mark.parametrize("how", ["withdrawal", "withdrawal by phone", "erasure"])
def test_a_member_who_leaves_at_hq_leaves_the_kiosks_directory_on_its_next_sync(
    hq: Hq, feed_sync: FeedSync, directory: MemberDirectory, how: str
) -> None:
    till = hq.kiosk()
    member = Regular(hq, till, 1, name="王芳", greet_by_name=True)
    stays = Regular(hq, till, 10)
    feed_sync.start()
    found = wait_until(lambda: directory.find(member.fob), what="the member at the kiosk")
    assert found == Member(member.member, "王芳", ("P-2",), None, found.last_seen)
    assert found.last_seen is not None
    assert (found.last_seen.minute, found.last_seen.second) == (0, 0)  # to the hour
    assert wait_until(lambda: directory.find(stays.fob)).greeting_name is None

    if how == "withdrawal":
        member.consent(given=False)  # at another kiosk, in another store
    elif how == "withdrawal by phone":  # staff record it at HQ
        withdrawn = hq.admin_post(
            f"/v1/admin/customers/{member.member}/consents/withdraw",
            {"purpose": "recognition", "by": "hotline-7"},
        )
        assert withdrawn.status_code == 200, withdrawn.text
    else:
        erased = hq.admin_post(f"/v1/admin/customers/{member.member}/erase")
        assert erased.status_code == 200
    wait_until(lambda: directory.find(member.fob) is None, what="the member to be gone")
    assert directory.find(stays.fob) is not None


def test_the_kiosk_hashes_tags_as_hq_does(
    hq: Hq, feed_sync: FeedSync, directory: MemberDirectory
) -> None:
    member = Regular(hq, hq.kiosk(), 1)
    feed_sync.sync_once()
    (binding,) = hq.admin_get(f"/v1/admin/customers/{member.member}/tags").json()["tags"]
    assert directory.lookup(binding["tag_hash"]) == directory.find(member.fob)
    assert directory.find(TagId(TagKind.RFID, new_fob())) is None


def test_a_kiosk_builds_the_whole_feed_page_by_page_as_hq_holds_it(
    hq: Hq, feed_sync: FeedSync, directory: MemberDirectory
) -> None:
    till = hq.kiosk()
    members = [Regular(hq, till, 1 + 10 * n) for n in range(3)]
    synced = feed_sync.sync_once()
    assert synced.version >= directory.version
    snapshot = requests.get(
        f"{hq.base_url}/v1/members/feed",
        params={"since": 0, "limit": 20_000},
        headers={"Authorization": f"Bearer {till.token}"},
        timeout=30,
    ).json()
    assert not snapshot["more"]
    assert directory.count() == len(snapshot["upserts"])
    assert all(directory.find(member.fob) for member in members)


# ---------------------------------------------------------------- as the kiosk runs it


@pytest.fixture(scope="module")
def hq_process(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HqProcess]:
    process = HqProcess(tmp_path_factory.mktemp("hq-process"))
    process.start()
    yield process
    process.stop()


@pytest.mark.slow
def test_the_relay_process_keeps_the_member_directory_too_fetching_when_heartbeats_say(
    hq_process: HqProcess, tmp_path: Path
) -> None:
    """The feed is fetched at start, then when a heartbeat's answer says it moved: its
    own poll waits 15 minutes while hints come (backend_client/hints.py)."""
    data = enrolled_kiosk(hq_process, tmp_path / "kiosk")
    admin_token = (hq_process.data_dir / "admin-token").read_text().strip()
    other = KioskClient(
        hq_process.base_url,
        requests.post(
            f"{hq_process.base_url}/v1/enroll",
            json={"code": hq_process.enroll_code("store-b")},
            timeout=30,
        ).json(),
    )
    member = _member_at(hq_process, other, admin_token, first_seq=1)
    relay = RelayProcess(data, heartbeat_interval=0.3)
    relay.start()
    try:
        path = data / MEMBERS_FILE
        wait_until(path.exists, timeout=30, what="the member directory")
        with MemberDirectory(path) as directory:
            found = wait_until(lambda: directory.find(member), timeout=30, what="the member")
            assert found.last_viewed == ()
            newcomer = _member_at(hq_process, other, admin_token, first_seq=3)
            # Sooner than the relay's own next sync (60 s after the first):
            wait_until(lambda: directory.find(newcomer), timeout=40, what="the newcomer")
    finally:
        assert relay.stop()
        other.close()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def _member_at(hq: HqProcess, kiosk: KioskClient, admin_token: str, *, first_seq: int) -> TagId:
    member = str(uuid.uuid4())
    phone = f"139{uuid.uuid4().int % 10**8:08d}"
    answer = kiosk.post(
        [
            kiosk.event(first_seq, "member_signup", signup_payload(member, phone)),
            kiosk.event(
                first_seq + 1, "consent", consent_payload(member, "recognition", given=True)
            ),
        ]
    )
    assert {result["status"] for result in answer.json()["results"]} == {"accepted"}
    fob = TagId(TagKind.RFID, new_fob())
    bound = requests.post(
        f"{hq.base_url}/v1/admin/customers/{member}/tags",
        json={"kind": "rfid", "value": fob.value},
        headers={"Authorization": f"Bearer {admin_token}"},
        timeout=30,
    )
    assert bound.status_code == 201, bound.text
    return fob
