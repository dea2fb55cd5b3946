"""The member directory: lookups by tag hash, feed pages applied whole, snapshots swapped in."""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import sqlite3
import stat
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from helpers.member_files import as_version

from backend_client.feed import FeedEntry, FeedPage
from backend_client.members import (
    MEMBERS_FILE,
    Applied,
    Member,
    MemberDirectory,
    MemberDirectoryError,
    tag_hash,
)
from devices.events import TagId, TagKind

# The contract's test vector (docs/hq-api.md); HQ's tests check the same one.
KEY = bytes(range(32))
FOB = TagId(TagKind.RFID, "0012345678")
FOB_HASH = "149d1f37a2a3353ffcd4900c1cf956c4e0547d1cfd29859b19fa50291c7b6222"
BEACON = TagId(TagKind.IBEACON, "f7826da6-4fa2-4e98-8024-bc5b71e0893e:100:7")
BEACON_HASH = "fa6b0e200a275f48691290048435a7b329be34fb303abeb192638c60898ef9e5"
NAME = "王芳"


def hashed(n: int) -> str:
    return f"{n:064x}"


def entry(n: int, *, name: str | None = None, skus: tuple[str, ...] = ()) -> FeedEntry:
    return FeedEntry(hashed(n), f"member-{n}", name, skus, None)


def page(
    version: int,
    upserts: list[FeedEntry] | None = None,
    removed: list[str] | None = None,
    *,
    reset: bool = False,
    more: bool = False,
    key: bytes = KEY,
) -> FeedPage:
    return FeedPage(version, more, reset, key, tuple(upserts or ()), tuple(removed or ()))


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "data" / MEMBERS_FILE


@pytest.fixture
def directory(path: Path) -> Iterator[MemberDirectory]:
    with MemberDirectory(path) as opened:
        yield opened


def test_the_tag_hash_follows_the_contract() -> None:
    assert tag_hash(KEY, FOB) == FOB_HASH
    assert tag_hash(KEY, BEACON) == BEACON_HASH
    assert tag_hash(bytes(32), FOB) != FOB_HASH


def test_a_new_directory_knows_nobody(directory: MemberDirectory) -> None:
    assert (directory.version, directory.key(), directory.count()) == (0, None, 0)
    assert directory.lookup(FOB_HASH) is None
    assert directory.find(FOB) is None


def test_members_of_an_applied_page_are_found_by_their_tag(directory: MemberDirectory) -> None:
    named = FeedEntry(FOB_HASH, "m-1", NAME, ("P-2", "P-1"), None)
    applied = directory.apply(page(3, [named, entry(7)], reset=True))
    assert applied == Applied(2, 0, loading=False, swapped=True, restart=False)
    assert directory.find(FOB) == Member("m-1", NAME, ("P-2", "P-1"), None)
    assert directory.lookup(FOB_HASH) == directory.find(FOB)
    assert directory.lookup(hashed(7)) == Member("member-7", None, (), None)
    assert (directory.version, directory.key(), directory.count()) == (3, KEY, 2)


@pytest.mark.parametrize("wrong", [hashed(8), "xyz", "", FOB_HASH[:62], FOB_HASH + "00"])
def test_a_tag_the_directory_does_not_hold_is_nobody(
    directory: MemberDirectory, wrong: str
) -> None:
    directory.apply(page(1, [entry(7)], reset=True))
    assert directory.lookup(wrong) is None


def test_a_delta_changes_and_removes_entries_and_moves_the_version(
    directory: MemberDirectory,
) -> None:
    directory.apply(page(5, [entry(1), entry(2), entry(3)], reset=True))
    applied = directory.apply(page(9, [entry(2, skus=("P-9",)), entry(4)], [hashed(1), hashed(8)]))
    assert applied == Applied(2, 2, loading=False, swapped=False, restart=False)
    assert directory.lookup(hashed(1)) is None
    found = directory.lookup(hashed(2))
    assert found is not None
    assert found.last_viewed == ("P-9",)
    assert directory.count() == 3
    assert directory.version == 9


def test_a_snapshot_answers_lookups_only_once_its_last_page_is_in(
    directory: MemberDirectory,
) -> None:
    directory.apply(page(5, [entry(1), entry(2)], reset=True))
    first = directory.apply(page(20, [entry(2, skus=("new",)), entry(3)], reset=True, more=True))
    assert first == Applied(2, 0, loading=True, swapped=False, restart=False)
    # Still the old directory, while the next page is fetched from the snapshot's version.
    assert directory.lookup(hashed(1)) is not None
    assert directory.lookup(hashed(3)) is None
    assert (directory.version, directory.count()) == (20, 2)
    middle = directory.apply(page(30, [entry(4)], more=True))
    assert middle.loading
    last = directory.apply(page(31, [entry(5)], [hashed(4)]))
    assert last == Applied(1, 1, loading=False, swapped=True, restart=False)
    assert directory.lookup(hashed(1)) is None  # not in the snapshot: gone
    found = directory.lookup(hashed(2))
    assert found is not None
    assert found.last_viewed == ("new",)
    assert {n for n in range(1, 6) if directory.lookup(hashed(n))} == {2, 3, 5}
    assert (directory.version, directory.count()) == (31, 3)


def test_a_reset_in_the_middle_of_a_snapshot_starts_it_again(directory: MemberDirectory) -> None:
    directory.apply(page(5, [entry(1)], reset=True))
    directory.apply(page(20, [entry(2)], reset=True, more=True))
    directory.apply(page(40, [entry(3)], reset=True))
    assert {n for n in range(1, 4) if directory.lookup(hashed(n))} == {3}


def test_a_snapshot_hands_its_disk_space_back(directory: MemberDirectory, path: Path) -> None:
    many = [entry(n, name=NAME, skus=("P-1", "P-2", "P-3")) for n in range(5000)]
    directory.apply(page(1, many, reset=True))
    directory.apply(page(2, [entry(1)], reset=True))
    with sqlite3.connect(path) as connection:
        assert connection.execute("PRAGMA freelist_count").fetchone() == (0,)
        assert connection.execute("PRAGMA auto_vacuum").fetchone() == (2,)  # incremental


def test_a_feed_hashed_with_another_key_is_fetched_again_from_nothing(
    directory: MemberDirectory,
) -> None:
    directory.apply(page(5, [entry(1)], reset=True))
    applied = directory.apply(page(6, [entry(2)], key=bytes(32)))
    assert applied.restart
    assert directory.version == 0  # the next request asks for a snapshot
    assert directory.lookup(hashed(2)) is None
    assert directory.lookup(hashed(1)) is not None  # served until the snapshot is in
    directory.apply(page(9, [entry(3)], reset=True, key=bytes(32)))
    assert (directory.key(), directory.count(), directory.version) == (bytes(32), 1, 9)


def test_the_file_and_its_companions_are_readable_by_their_owner_only(
    directory: MemberDirectory, path: Path
) -> None:
    directory.apply(page(1, [entry(1, name=NAME)], reset=True))
    for file in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        assert stat.S_IMODE(file.stat().st_mode) == 0o600, file


def test_a_directory_file_open_to_others_is_closed_up(path: Path) -> None:
    MemberDirectory(path).close()
    path.chmod(0o644)
    MemberDirectory(path).close()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_directory_of_another_schema_version_is_refused(path: Path) -> None:
    MemberDirectory(path).close()
    with sqlite3.connect(path) as connection:
        connection.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    with pytest.raises(MemberDirectoryError, match="schema version 99"):
        MemberDirectory(path)


def test_a_member_comes_back_with_when_they_last_lifted_a_phone(
    directory: MemberDirectory,
) -> None:
    seen = datetime(2026, 12, 3, 7, tzinfo=UTC)
    directory.apply(page(1, [dataclasses.replace(entry(1), last_seen=seen), entry(2)], reset=True))
    assert directory.lookup(hashed(1)) == Member("member-1", None, (), None, seen)
    assert directory.lookup(hashed(2)) == Member("member-2", None, (), None, None)


def test_a_version_1_directory_keeps_answering_and_fetches_the_feed_again(path: Path) -> None:
    with MemberDirectory(path) as directory:
        directory.apply(page(7, [entry(1, name=NAME, skus=("P-1",))], reset=True))
    as_version(path, 1)  # no last_seen
    with MemberDirectory(path) as directory:
        assert directory.lookup(hashed(1)) == Member("member-1", NAME, ("P-1",), None)
        assert directory.version == 0  # the whole feed again, which brings last_seen
        assert directory.key() == KEY
        seen = datetime(2026, 12, 3, 7, tzinfo=UTC)
        directory.apply(page(8, [dataclasses.replace(entry(1), last_seen=seen)], reset=True))
        assert directory.lookup(hashed(1)) == Member("member-1", None, (), None, seen)
    with MemberDirectory(path) as directory:  # and opens as the newest version from then on
        assert directory.version == 8


def test_members_names_and_tags_stay_out_of_reprs_and_logs(
    directory: MemberDirectory, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    named = FeedEntry(FOB_HASH, "m-1", NAME, (), None)
    fed = page(1, [named], reset=True)
    directory.apply(fed)
    member = directory.find(FOB)
    assert NAME not in repr(member)
    assert NAME not in repr(named)
    assert FOB_HASH not in repr(named) + repr(fed)
    assert "0012345678" not in repr(FOB)
    assert NAME not in caplog.text
    assert FOB_HASH not in caplog.text


def test_a_closed_directory_says_so(path: Path) -> None:
    directory = MemberDirectory(path)
    directory.close()
    with pytest.raises(RuntimeError, match="closed"):
        directory.lookup(FOB_HASH)


# ---------------------------------------------------------------- readers in another process

READER = textwrap.dedent(
    """
    import json, sys
    from pathlib import Path
    from backend_client.members import MemberDirectory

    path, tags = Path(sys.argv[1]), int(sys.argv[2])
    directory = MemberDirectory(path)
    counts, misses, reads, backwards = set(), 0, 0, 0
    last = {}
    print("ready", flush=True)
    while True:
        finishing = Path(sys.argv[3]).exists()  # then one more pass, seeing the last page
        for n in range(tags):
            member = directory.lookup(f"{n:064x}")
            reads += 1
            if member is None:
                misses += 1
                continue
            generation = int(member.last_viewed[0])
            backwards += generation < last.get(n, 0)
            last[n] = generation
        counts.add(directory.count())
        if finishing:
            break
    print(json.dumps({"counts": sorted(counts), "misses": misses, "reads": reads,
                      "backwards": backwards, "last": sorted(set(last.values()))}))
    """
)


def test_another_process_reads_the_directory_while_pages_are_applied(
    directory: MemberDirectory, path: Path, tmp_path: Path
) -> None:
    tags = 300

    def generation(number: int, version: int, **flags: bool) -> FeedPage:
        return page(version, [entry(n, skus=(str(number),)) for n in range(tags)], **flags)

    directory.apply(generation(0, 1, reset=True))
    done = tmp_path / "done"
    reader = subprocess.Popen(
        [sys.executable, "-c", READER, str(path), str(tags), str(done)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[3])},
    )
    assert reader.stdout is not None
    assert reader.stdout.readline().strip() == "ready"
    for number in range(1, 40):
        directory.apply(generation(number, 10 * number))
    # A snapshot in two pages: the second half of the tags is missing from the first.
    half = [entry(n, skus=("100",)) for n in range(tags // 2)]
    directory.apply(page(1000, half, reset=True, more=True))
    rest = [entry(n, skus=("100",)) for n in range(tags // 2, tags)]
    directory.apply(page(1001, rest))
    done.touch()
    out, _ = reader.communicate(timeout=60)
    assert reader.returncode == 0
    seen = json.loads(out)
    assert seen["reads"] > tags
    assert seen["misses"] == 0  # never half a snapshot
    assert seen["backwards"] == 0  # never an older page after a newer one
    assert seen["counts"] == [tags]
    assert seen["last"] == [100]


def test_a_version_2_directory_learns_who_consented_to_personalisation(path: Path) -> None:
    consented = dataclasses.replace(entry(1, skus=("P-1",)), personalised=True)
    with MemberDirectory(path) as directory:
        directory.apply(page(7, [consented], reset=True))
        assert directory.lookup(hashed(1)) == Member("member-1", None, ("P-1",), None, None, True)
    as_version(path, 2)  # no personalised
    with MemberDirectory(path) as directory:
        assert directory.lookup(hashed(1)) == Member("member-1", None, ("P-1",), None)
        assert directory.version == 0  # the whole feed again, which brings `personalised`
        directory.apply(page(8, [consented], reset=True))
        assert directory.lookup(hashed(1)).personalised  # type: ignore[union-attr]


# ---------------------------------------------------------------- member offers


def offered(n: int, **facts: object) -> FeedEntry:
    """Member n with marketing consent and these facts (tier, tags, birth_month)."""
    return dataclasses.replace(entry(n), marketing=True, **facts)  # type: ignore[arg-type]


def stored_offer_facts(path: Path) -> list[tuple[object, ...]]:
    with sqlite3.connect(path) as connection:
        return connection.execute(
            "SELECT marketing, tier, tags, birth_month FROM members ORDER BY tag_hash"
        ).fetchall()


def test_a_member_with_marketing_consent_comes_back_with_tier_tags_and_birth_month(
    directory: MemberDirectory,
) -> None:
    vip = offered(1, tier="gold", tags=("vip", "student"), birth_month=5)
    directory.apply(page(1, [vip, entry(2)], reset=True))
    found = directory.lookup(hashed(1))
    assert found == Member("member-1", None, (), "gold", None, False, True, ("student", "vip"), 5)
    assert directory.lookup(hashed(2)) == Member("member-2", None, (), None)
    assert not directory.lookup(hashed(2)).marketing  # type: ignore[union-attr]
    for private in ("gold", "vip", "student", "birth_month=5", "marketing"):
        assert private not in repr(found)
        assert private not in repr(vip)


def test_without_marketing_consent_the_directory_keeps_no_tier_tags_or_birth_month(
    directory: MemberDirectory, path: Path
) -> None:
    # HQ sends none of them without consent; an entry that has them anyway is not kept so.
    careless = dataclasses.replace(entry(1), tier="gold", tags=("vip",), birth_month=5)
    directory.apply(page(1, [careless], reset=True))
    assert directory.lookup(hashed(1)) == Member("member-1", None, (), None)
    assert stored_offer_facts(path) == [(0, None, "[]", None)]


def test_a_marketing_withdrawal_takes_the_facts_out_of_the_directory_files(
    directory: MemberDirectory, path: Path
) -> None:
    directory.apply(
        page(1, [offered(1, tier="platinum-x", tags=("vip-x",), birth_month=5)], reset=True)
    )
    directory.apply(page(2, [offered(2, tier="gold")]))  # a delta: in the WAL
    directory.apply(page(3, [entry(1)]))  # HQ: member 1 withdrew marketing consent
    found = directory.lookup(hashed(1))
    assert found is not None
    assert (found.marketing, found.tier, found.tags, found.birth_month) == (False, None, (), None)
    assert directory.lookup(hashed(2)).tier == "gold"  # type: ignore[union-attr]
    for name in (path.name, path.name + "-wal"):
        held = (path.parent / name).read_bytes() if (path.parent / name).exists() else b""
        assert b"platinum-x" not in held, name
        assert b"vip-x" not in held, name


def test_a_version_3_directory_learns_marketing_consent_and_forgets_the_old_segment(
    path: Path,
) -> None:
    with MemberDirectory(path) as directory:
        directory.apply(page(7, [dataclasses.replace(entry(1), personalised=True)], reset=True))
    as_version(path, 3, segment="family")  # an older HQ's segment, sent without consent
    with MemberDirectory(path) as directory:
        # Until the feed comes again: recognised as before, no offers, no old segment.
        assert directory.lookup(hashed(1)) == Member("member-1", None, (), None, None, True)
        assert directory.version == 0  # the whole feed again, which brings `marketing`
        assert stored_offer_facts(path) == [(0, None, "[]", None)]
        directory.apply(
            page(8, [offered(1, tier="gold", tags=("vip",), birth_month=12)], reset=True)
        )
        found = directory.lookup(hashed(1))
        assert found is not None
        assert (found.marketing, found.tier, found.tags, found.birth_month) == (
            True,
            "gold",
            ("vip",),
            12,
        )
    with MemberDirectory(path) as directory:  # and opens as the newest version from then on
        assert directory.version == 8
