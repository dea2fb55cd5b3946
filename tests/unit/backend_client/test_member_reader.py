"""The kiosk's read-only member directory: answers once the relay child has made the
file, never writes it, and loads no SQLAlchemy."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import sqlite3
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from helpers.member_files import as_version

from backend_client.feed import FeedEntry, FeedPage
from backend_client.member_reader import MEMBERS_FILE, Member, MemberReader, tag_hash
from backend_client.members import MemberDirectory
from devices.events import TagId, TagKind

ROOT = Path(__file__).resolve().parents[3]
KEY = bytes(range(32))
FOB = TagId(TagKind.RFID, "0012345678")
FOB_HASH = tag_hash(KEY, FOB)
NAME = "王芳"
WANG = FeedEntry(FOB_HASH, "m-1", NAME, ("P-2", "P-1"), None)


def hashed(n: int) -> str:
    return f"{n:064x}"


def entry(n: int, *, skus: tuple[str, ...] = ()) -> FeedEntry:
    return FeedEntry(hashed(n), f"member-{n}", None, skus, None)


def page(version: int, upserts: list[FeedEntry], *, reset: bool = False) -> FeedPage:
    return FeedPage(version, False, reset, KEY, tuple(upserts), ())


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "data" / MEMBERS_FILE


@pytest.fixture
def reader(path: Path) -> Iterator[MemberReader]:
    with MemberReader(path) as opened:
        yield opened


def companions(path: Path) -> list[str]:
    return sorted(p.name for p in path.parent.iterdir() if p.name != path.name)


def fingerprint(path: Path) -> tuple[int, str]:
    return path.stat().st_mtime_ns, hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_reader_without_a_file_knows_nobody_and_makes_no_file(
    reader: MemberReader, path: Path
) -> None:
    assert reader.key() is None
    assert reader.find(FOB) is None
    assert reader.lookup(FOB_HASH) is None
    assert not path.parent.exists()


def test_a_reader_answers_once_the_relay_child_has_made_the_file_while_it_writes_on(
    reader: MemberReader, path: Path
) -> None:
    assert reader.find(FOB) is None
    with MemberDirectory(path) as directory:
        assert reader.find(FOB) is None  # made, but no feed page yet
        directory.apply(page(3, [WANG, entry(7)], reset=True))
        assert reader.key() == KEY
        assert reader.find(FOB) == Member("m-1", NAME, ("P-2", "P-1"), None)
        assert reader.lookup(hashed(7)) == Member("member-7", None, (), None)
        directory.apply(page(4, [entry(7, skus=("P-9",))]))
        assert reader.lookup(hashed(7)) == Member("member-7", None, ("P-9",), None)


def test_a_reader_answers_from_a_file_nobody_writes_and_follows_the_writer_when_it_comes(
    path: Path,
) -> None:
    with MemberDirectory(path) as directory:
        directory.apply(page(3, [WANG], reset=True))
    with MemberReader(path) as reader:
        assert reader.find(FOB) == Member("m-1", NAME, ("P-2", "P-1"), None)
        with MemberDirectory(path) as directory:  # the relay child starts again
            directory.apply(page(4, [entry(7)]))
            assert reader.lookup(hashed(7)) == Member("member-7", None, (), None)
            directory.apply(FeedPage(5, False, False, KEY, (), (FOB_HASH,)))
            assert reader.find(FOB) is None
        directory = MemberDirectory(path)  # and again, after a clean exit
        directory.apply(page(6, [WANG]))
        assert reader.find(FOB) is not None
        directory.close()


def test_a_reader_that_starts_with_no_writer_leaves_the_files_as_they_were(
    path: Path, reader: MemberReader
) -> None:
    with MemberDirectory(path) as directory:
        directory.apply(page(3, [WANG, entry(7)], reset=True))
    before = fingerprint(path)
    assert companions(path) == []
    for _ in range(3):
        assert reader.find(FOB) is not None
        assert reader.lookup(hashed(8)) is None
    reader.close()
    assert companions(path) == []  # no -wal, no -shm: the reader made none
    assert fingerprint(path) == before


def test_a_reader_beside_the_writer_changes_none_of_its_files(
    path: Path, reader: MemberReader
) -> None:
    with MemberDirectory(path) as directory:
        directory.apply(page(3, [WANG, entry(7)], reset=True))
        files = [path, path.with_name(f"{path.name}-wal")]
        before = [fingerprint(file) for file in files]
        for _ in range(3):
            assert reader.find(FOB) is not None
        assert [fingerprint(file) for file in files] == before


def test_an_empty_file_or_one_without_tables_is_nobody_yet(path: Path) -> None:
    path.parent.mkdir()
    path.touch()  # what private_sqlite leaves before SQLite writes its header
    with MemberReader(path) as reader:
        assert reader.find(FOB) is None
        with sqlite3.connect(path) as connection:
            connection.execute("CREATE TABLE other (x)")
        assert reader.find(FOB) is None
        assert path.read_bytes()[:16] == b"SQLite format 3\x00"


def test_a_schema_version_it_does_not_read_is_nobody_logged_once_until_it_changes(
    path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with MemberDirectory(path) as directory:
        directory.apply(page(3, [WANG], reset=True))
    with sqlite3.connect(path) as connection:  # a newer kiosk software's file
        connection.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    caplog.set_level(logging.INFO, logger="backend_client.members")
    with MemberReader(path) as reader:
        for _ in range(5):
            assert reader.key() is None
            assert reader.find(FOB) is None
            assert reader.lookup(FOB_HASH) is None
        (warning,) = caplog.records
        assert warning.levelno == logging.WARNING
        assert "schema version 99" in warning.getMessage()
        with sqlite3.connect(path) as connection:
            connection.execute("UPDATE meta SET value = '2' WHERE key = 'schema_version'")
        for _ in range(3):
            assert reader.find(FOB) is not None
        assert [r.getMessage().endswith("recognising members") for r in caplog.records] == [
            False,
            True,
        ]
    assert NAME not in caplog.text
    assert FOB_HASH not in caplog.text


def test_a_missing_file_is_logged_once_and_its_arrival_once(
    path: Path, reader: MemberReader, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="backend_client.members")
    for _ in range(5):
        assert reader.find(FOB) is None
    with MemberDirectory(path) as directory:
        directory.apply(page(3, [WANG], reset=True))
        for _ in range(5):
            assert reader.find(FOB) is not None
    messages = [r.getMessage() for r in caplog.records if r.name == "backend_client.members"]
    assert len(messages) == 2
    assert "not there" in messages[0]
    assert "recognising members" in messages[1]


def test_a_version_1_file_is_read_until_the_relay_child_upgrades_it(path: Path) -> None:
    with MemberDirectory(path) as directory:
        directory.apply(page(7, [WANG], reset=True))
    as_version(path, 1, segment="gold")  # no last_seen; a segment sent without consent
    with MemberReader(path) as reader:
        # Recognised; the old segment is not taken for a tier (no marketing consent known).
        assert reader.find(FOB) == Member("m-1", NAME, ("P-2", "P-1"), None, None)
        seen = datetime(2026, 12, 3, 7, tzinfo=UTC)
        with MemberDirectory(path) as directory:  # upgrades, then the feed brings last_seen
            directory.apply(page(8, [FeedEntry(FOB_HASH, "m-1", NAME, (), None, seen)], reset=True))
        assert reader.find(FOB) == Member("m-1", NAME, (), None, seen)


@pytest.mark.parametrize("wrong", [hashed(8), "xyz", "", FOB_HASH[:62], FOB_HASH + "00"])
def test_a_tag_the_directory_does_not_hold_is_nobody(path: Path, wrong: str) -> None:
    with MemberDirectory(path) as directory:
        directory.apply(page(1, [WANG], reset=True))
    with MemberReader(path) as reader:
        assert reader.lookup(wrong) is None


def test_a_closed_reader_says_so(reader: MemberReader) -> None:
    reader.close()
    with pytest.raises(RuntimeError, match="closed"):
        reader.key()


def test_threads_share_one_reader(path: Path, reader: MemberReader) -> None:
    with MemberDirectory(path) as directory:
        directory.apply(page(1, [entry(n) for n in range(50)], reset=True))
    found: list[int] = []

    def look() -> None:
        found.append(sum(reader.lookup(hashed(n)) is not None for n in range(50)))

    threads = [threading.Thread(target=look) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert found == [50] * 4


def test_importing_the_reader_loads_neither_sqlalchemy_nor_cryptography() -> None:
    loaded = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, backend_client.member_reader, kiosk.recognition;"
            " print(sorted({m.split('.')[0] for m in sys.modules}))",
        ],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    ).stdout
    assert "backend_client" in loaded  # it did import them
    assert "sqlalchemy" not in loaded
    assert "cryptography" not in loaded


# ---------------------------------------------------------------- the relay child writing

WRITER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from backend_client.feed import FeedEntry, FeedPage
    from backend_client.members import MemberDirectory

    path, tags, key = Path(sys.argv[1]), int(sys.argv[2]), bytes(range(32))

    def generation(number, version, reset=False, more=False, tags_=range(tags)):
        entries = tuple(FeedEntry(f"{n:064x}", f"member-{n}", None, (str(number),), None)
                        for n in tags_)
        return FeedPage(version, more, reset, key, entries, ())

    for start in (1, 20):  # two runs of the relay child: a clean exit between them
        with MemberDirectory(path) as directory:
            for number in range(start, start + 19):
                directory.apply(generation(number, 10 * number))
    with MemberDirectory(path) as directory:  # and a snapshot in two pages
        directory.apply(generation(100, 1000, reset=True, more=True, tags_=range(tags // 2)))
        directory.apply(generation(100, 1001, tags_=range(tags // 2, tags)))
    """
)


def test_a_reader_follows_another_process_writing_never_half_a_snapshot_nor_backwards(
    path: Path,
) -> None:
    tags = 300
    with MemberDirectory(path) as directory:
        entries = [entry(n, skus=("0",)) for n in range(tags)]
        directory.apply(page(1, entries, reset=True))
    # The reader starts while no writer has the file open, as at a kiosk's start.
    with MemberReader(path) as reader:
        assert reader.lookup(hashed(0)) is not None
        writer = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(path), str(tags)],
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        reads, misses, backwards, last = 0, 0, 0, dict.fromkeys(range(tags), 0)
        finishing = False
        while True:
            for n in range(tags):
                member = reader.lookup(hashed(n))
                reads += 1
                if member is None:
                    misses += 1
                    continue
                generation = int(member.last_viewed[0])
                backwards += generation < last[n]
                last[n] = generation
            if finishing:
                break
            finishing = writer.poll() is not None  # then one more pass, seeing the last page
        assert writer.wait(timeout=60) == 0
    assert reads > tags
    assert misses == 0  # never half a snapshot
    assert backwards == 0  # never an older page after a newer one
    assert set(last.values()) == {100}
    print(json.dumps({"reads": reads}))


def test_the_reader_brings_marketing_consent_tier_tags_and_birth_month(path: Path) -> None:
    offered = dataclasses.replace(
        WANG, marketing=True, tier="gold", tags=("student", "vip"), birth_month=5
    )
    with MemberDirectory(path) as directory:
        directory.apply(page(3, [offered, entry(2)], reset=True))
    with MemberReader(path) as reader:
        found = reader.find(FOB)
        assert found is not None
        assert (found.marketing, found.tier, found.tags, found.birth_month) == (
            True,
            "gold",
            ("student", "vip"),
            5,
        )
        plain = reader.lookup(hashed(2))
        assert plain is not None
        assert (plain.marketing, plain.tier, plain.tags, plain.birth_month) == (
            False,
            None,
            (),
            None,
        )


def test_a_version_3_file_is_read_without_offers_until_the_relay_child_upgrades_it(
    path: Path,
) -> None:
    with MemberDirectory(path) as directory:
        directory.apply(page(7, [dataclasses.replace(WANG, personalised=True)], reset=True))
    as_version(path, 3, segment="gold")
    with MemberReader(path) as reader:
        found = reader.find(FOB)
        assert found == Member("m-1", NAME, ("P-2", "P-1"), None, None, True)
        with MemberDirectory(path) as directory:  # upgrades; the feed brings marketing
            directory.apply(
                page(8, [dataclasses.replace(WANG, marketing=True, tier="silver")], reset=True)
            )
        found = reader.find(FOB)
        assert found is not None
        assert (found.marketing, found.tier) == (True, "silver")
