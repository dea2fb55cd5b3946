"""What an erasure, an unbinding or a withdrawal leaves in HQ's and a kiosk's files.

Staff run `kiosk-hq members ...` as a real process beside a running HQ (SQLite in
its data directory); the kiosk's FeedSync applies the change to its member
directory. Then every file of both data directories (database, -wal, -shm) is
read as raw bytes and searched for the person.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from helpers.hq import (
    Hq,
    MigratedDatabases,
    consent_payload,
    hq_of_its_own,
    issue_code,
    members_cli,
    signup_payload,
)
from helpers.pickup import wait_until
from sqlalchemy import text

from backend_client.client import HqClient, enroll
from backend_client.feed_sync import FeedSync
from backend_client.members import MEMBERS_FILE, MemberDirectory
from devices.events import TagId, TagKind
from hq.crm.erasure import ERASED_FROM
from hq.db import Database

NAME = "王芳"


@dataclass(frozen=True, slots=True)
class Person:
    member_id: str
    phone: str  # national digits: HQ's E.164 form holds them too
    email: str
    fob: TagId
    tag_hash: str


@pytest.fixture
def hq(tmp_path: Path) -> Iterator[Hq]:
    with hq_of_its_own(tmp_path / "hq") as running:
        yield running


@pytest.fixture
def feed_sync(hq: Hq, tmp_path: Path) -> Iterator[FeedSync]:
    credentials = enroll(hq.base_url, issue_code(hq.database_url, "store-residue"))
    sync = FeedSync(tmp_path / "kiosk" / MEMBERS_FILE, HqClient(credentials), interval=60)
    yield sync
    sync.stop()


def member_at_hq(hq: Hq) -> Person:
    """A member who said yes to recognition and to being greeted by name, lifted a
    phone, and has a fob bound by staff."""
    kiosk = hq.kiosk()
    member = str(uuid.uuid4())
    phone = f"139{uuid.uuid4().int % 10**8:08d}"
    email = f"wang.{uuid.uuid4().hex[:8]}@example.cn"
    signup = signup_payload(member, phone, name=NAME, email=email, greet_by_name=True)
    answer = kiosk.post(
        [
            kiosk.event(1, "member_signup", signup),
            kiosk.event(2, "consent", consent_payload(member, "recognition", given=True)),
            kiosk.event(3, "lift", {"session": "s1", "slot": 2, "sku": "P-2", "member_id": member}),
        ]
    )
    assert {result["status"] for result in answer.json()["results"]} == {"accepted"}
    fob = TagId(TagKind.RFID, f"{uuid.uuid4().int % 2**32:010d}")
    bound = members_cli(hq, "bind", member, "--kind", "rfid", "--value", fob.value)
    assert bound.returncode == 0, bound.stderr
    return Person(member, phone, email, fob, bound.stdout.split()[1])


def recognised_member(hq: Hq, feed_sync: FeedSync, directory: Path) -> Person:
    """`member_at_hq`, in the kiosk's member directory."""
    person = member_at_hq(hq)
    feed_sync.sync_once()
    with MemberDirectory(directory / MEMBERS_FILE) as opened:
        found = opened.find(person.fob)
    assert found is not None
    assert (found.member_id, found.greeting_name) == (person.member_id, NAME)
    return person


@contextmanager
def held_open(database: Path) -> Iterator[None]:
    """The database open in another connection: SQLite checkpoints and deletes the WAL
    when the last connection closes, which would hide what an HQ serving all day keeps."""
    connection = sqlite3.connect(database)
    try:
        connection.execute("SELECT count(*) FROM customers").fetchall()
        yield
    finally:
        connection.close()


def hits(directory: Path, needles: dict[str, bytes]) -> list[str]:
    """`file: what` for each needle found in the raw bytes of each file under `directory`."""
    found = []
    for path in sorted(p for p in directory.rglob("*") if p.is_file()):
        content = path.read_bytes()
        found += [f"{path.name}: {what}" for what, needle in needles.items() if needle in content]
    return found


def about(person: Person) -> dict[str, bytes]:
    """The person as their data may lie in a file: text, JSON-escaped text, raw hash."""
    return {
        "phone": person.phone.encode(),
        "name": NAME.encode(),
        "name (JSON)": json.dumps(NAME).strip('"').encode(),
        "email": person.email.encode(),
        "member id": person.member_id.encode(),
        "tag hash": person.tag_hash.encode(),
        "tag hash (bytes)": bytes.fromhex(person.tag_hash),
    }


@pytest.mark.parametrize("how", ["cli", "api"])
def test_an_erased_person_is_in_no_file_at_hq_nor_at_the_kiosk(
    hq: Hq, feed_sync: FeedSync, tmp_path: Path, how: str
) -> None:
    person = recognised_member(hq, feed_sync, tmp_path / "kiosk")
    assert hits(tmp_path / "hq", about(person))  # the search finds what is there

    if how == "cli":
        with held_open(tmp_path / "hq" / "hq.sqlite3"):  # as `kiosk-hq serve` holds it
            erased = members_cli(hq, "erase", person.member_id)
        assert erased.returncode == 0, erased.stderr
    else:
        assert hq.admin_post(f"/v1/admin/customers/{person.member_id}/erase").status_code == 200
    feed_sync.sync_once()

    assert hits(tmp_path / "kiosk", about(person)) == []
    # HQ keeps the fob's hash alone, without any member data, as the feed's tombstone
    # until compaction (docs/privacy.md): kiosks that were offline drop it from it.
    at_hq = hits(tmp_path / "hq", about(person))
    assert at_hq == ["hq.sqlite3: tag hash"]


@pytest.mark.parametrize("how", ["unbind", "withdraw", "withdraw at a kiosk"])
def test_a_member_unbound_or_withdrawn_leaves_no_trace_at_the_kiosk_nor_in_hqs_wal(
    hq: Hq, feed_sync: FeedSync, tmp_path: Path, how: str
) -> None:
    person = recognised_member(hq, feed_sync, tmp_path / "kiosk")

    if how == "withdraw at a kiosk":
        kiosk = hq.kiosk()
        withdrawal = consent_payload(person.member_id, "recognition", given=False)
        answer = kiosk.post([kiosk.event(1, "consent", withdrawal)]).json()
        assert answer["results"][0]["status"] == "accepted"
    else:
        if how == "unbind":
            done = members_cli(hq, "unbind", person.member_id, person.tag_hash)
        else:
            done = members_cli(hq, "withdraw", person.member_id, "--purpose", "recognition")
        assert done.returncode == 0, done.stderr
    feed_sync.sync_once()

    assert hits(tmp_path / "kiosk", about(person)) == []
    # HQ still serves the member (only a tag or a consent went): their record stays
    # in the database file; the WAL holds nothing of what was there before.
    assert hits(tmp_path / "hq", about(person)) != []
    wal = tmp_path / "hq" / "hq.sqlite3-wal"
    assert not wal.exists() or wal.stat().st_size == 0


def test_the_kiosk_empties_its_directorys_wal_while_lookups_go_on(
    hq: Hq, feed_sync: FeedSync, tmp_path: Path
) -> None:
    kiosk = tmp_path / "kiosk"
    person = recognised_member(hq, feed_sync, kiosk)
    with MemberDirectory(kiosk / MEMBERS_FILE) as looking:  # as the kiosk process holds it
        assert looking.find(person.fob) is not None
        assert members_cli(hq, "erase", person.member_id).returncode == 0
        feed_sync.sync_once()
        assert looking.find(person.fob) is None
        assert hits(kiosk, about(person)) == []


# ---------------------------------------------------------------- PostgreSQL


@pytest.fixture
def postgres_hq(tmp_path: Path, migrated_databases: MigratedDatabases) -> Iterator[Hq]:
    """HQ on a PostgreSQL database of its own: no other test's erasure has started
    its VACUUM interval."""
    with (
        migrated_databases.fresh("postgresql", tmp_path) as url,
        hq_of_its_own(tmp_path / "hq", url) as running,
    ):
        yield running


def vacuums(database_url: str) -> dict[str, int]:
    """How many times each table was VACUUMed (not counting autovacuum)."""
    database = Database(database_url)
    try:
        with database.read() as connection:
            rows = connection.execute(
                text("SELECT relname, vacuum_count FROM pg_stat_user_tables")
            ).all()
    finally:
        database.dispose()
    return {str(name): int(count) for name, count in rows}


@pytest.mark.parametrize("how", ["cli", "api"])
def test_on_postgresql_hq_vacuums_the_tables_an_erasure_touched(postgres_hq: Hq, how: str) -> None:
    person = member_at_hq(postgres_hq)
    before = vacuums(postgres_hq.database_url)

    if how == "cli":  # the command VACUUMs before it exits
        erased = members_cli(postgres_hq, "erase", person.member_id)
        assert erased.returncode == 0, erased.stderr
        after = vacuums(postgres_hq.database_url)
    else:  # HQ VACUUMs on a thread of its own, the first time at once
        answer = postgres_hq.admin_post(f"/v1/admin/customers/{person.member_id}/erase")
        assert answer.status_code == 200, answer.text

        def vacuumed() -> dict[str, int] | None:
            found = vacuums(postgres_hq.database_url)
            done = all(found[table] > before[table] for table in ERASED_FROM)
            return found if done else None

        after = wait_until(vacuumed, timeout=60, what="the VACUUM after the erasure")
    assert {table for table in ERASED_FROM if after[table] > before[table]} == set(ERASED_FROM)
