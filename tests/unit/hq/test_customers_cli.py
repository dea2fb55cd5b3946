"""`kiosk-hq customers duplicates | merge | merges | unmerge | address`, in this process
(the same `hq.cli.main` the console script runs) on an SQLite HQ."""

from __future__ import annotations

import getpass
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from helpers.customers import add_demo_customers

from hq import audit
from hq.cli import main
from hq.db import Database
from hq.migrations import migrate
from hq.settings import sqlite_url


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    try:
        code = main(list(args))
    except SystemExit as exit_:
        code = int(exit_.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def test_find_merge_and_undo_from_the_shell(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = sqlite_url(tmp_path / "hq.sqlite3")
    migrate(url)
    database = Database(url)
    ids = add_demo_customers(database, datetime.now(UTC))
    where = ("--data-dir", str(tmp_path / "data"), "--database-url", url)

    code, out, err = run(capsys, *where, "customers", "duplicates", "--json")
    assert code == 0, err
    pairs = {(p["first"], p["second"]): p["reasons"] for p in json.loads(out)}
    assert pairs[(ids["wang"], ids["wang-old"])] == ["phone"]
    code, out, _ = run(capsys, *where, "customers", "duplicates")
    assert "+86 138****5678" in out
    assert "13812345678" not in out

    code, out, _ = run(
        capsys, *where, "customers", "merge", ids["wang"], ids["wang-old"], "--by", "li.na"
    )
    assert (code, out.split()[:2]) == (0, ["merge", "1:"])
    code, _, err = run(capsys, *where, "customers", "merge", ids["wang"], ids["wang-old"])
    assert code == 1
    assert "merged already" in err
    code, out, _ = run(capsys, *where, "customers", "unmerge", "1", "--by", "li.na")
    assert (code, out) == (0, "merge 1 undone: both records are as they were\n")
    code, _, err = run(capsys, *where, "customers", "unmerge", "7")
    assert (code, err) == (1, "kiosk-hq: no such merge\n")
    code, _, _ = run(
        capsys, *where, "customers", "address", ids["sun"], "--set", "上海市黄浦区南京东路 1 号"
    )
    assert code == 0
    assert [(e.action, e.actor) for e in audit.recent(database)][:3] == [
        ("customers.address", "cli:" + getpass.getuser()),
        ("customers.unmerge", "li.na"),
        ("customers.merge", "li.na"),
    ]
    database.dispose()


def test_dismiss_and_undismiss_a_pair_from_the_shell(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = sqlite_url(tmp_path / "hq.sqlite3")
    migrate(url)
    database = Database(url)
    ids = add_demo_customers(database, datetime.now(UTC))
    where = ("--data-dir", str(tmp_path / "data"), "--database-url", url)
    first, second = sorted((ids["li"], ids["li-new"]))

    code, out, err = run(
        capsys, *where, "customers", "dismiss", ids["li-new"], ids["li"], "--by", "li.na"
    )
    assert (code, out) == (0, f"{first} and {second}: not the same person (reasons then: email)\n")
    code, out, _ = run(capsys, *where, "customers", "duplicates", "--json")
    assert ids["li-new"] not in out
    code, out, _ = run(capsys, *where, "customers", "dismissals", "--json")
    [listed] = json.loads(out)
    assert (listed["first"], listed["second"], listed["dismissed_by"]) == (first, second, "li.na")
    code, out, _ = run(capsys, *where, "customers", "undismiss", ids["li"], ids["li-new"])
    assert (code, out) == (0, f"{first} and {second}: dismissal undone\n")
    code, _, err = run(capsys, *where, "customers", "undismiss", ids["li"], ids["li-new"])
    assert (code, err) == (1, "kiosk-hq: this pair was not dismissed\n")
    code, _, err = run(capsys, *where, "customers", "dismiss", ids["li"], ids["li"])
    assert code == 1
    code, out, _ = run(capsys, *where, "customers", "duplicates", "--json")
    assert ids["li-new"] in out
    assert [(e.action, e.actor) for e in audit.recent(database)][:2] == [
        ("customers.undismiss", "cli:" + getpass.getuser()),
        ("customers.dismiss", "li.na"),
    ]
    database.dispose()


def test_set_and_import_tiers_tags_and_birth_months_from_the_shell(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from hq.crm import segments  # noqa: PLC0415

    url = sqlite_url(tmp_path / "hq.sqlite3")
    migrate(url)
    database = Database(url)
    ids = add_demo_customers(database, datetime.now(UTC))
    where = ("--data-dir", str(tmp_path / "data"), "--database-url", url)

    code, out, err = run(
        capsys, *where, "customers", "segment", "--customer", ids["wang"],
        "--tier", "gold", "--tag", "vip", "--tag", "student", "--birth-month", "5",
    )  # fmt: skip
    assert code == 0, err
    assert out == (
        f"customer {ids['wang']}: birth_month, tags, tier changed; 1 member feed entry changed\n"
    )
    code, out, err = run(
        capsys, *where, "customers", "segment", "--phone", "13812345678", "--clear-tags"
    )
    assert (code, out.split(": ", 1)[1]) == (0, "tags changed; 1 member feed entry changed\n")
    assert segments.segment_of(database, ids["wang"]) == segments.Segment("gold", (), 5)
    code, _, err = run(capsys, *where, "customers", "segment", "--customer", ids["wang"])
    assert (code, err) == (1, "kiosk-hq: nothing to change: give a tier, tags or a birth "
                              "month, or clear one\n")  # fmt: skip
    code, _, err = run(
        capsys, *where, "customers", "segment", "--customer", ids["wang"], "--birth-month", "13"
    )
    assert code == 1
    assert "birth month: '13' is not a month number from 1 to 12" in err
    code, _, err = run(
        capsys, *where, "customers", "segment", "--phone", "13900009999", "--tier", "gold"
    )
    assert (code, err) == (1, "kiosk-hq: no such customer\n")
    code, _, err = run(
        capsys, *where, "customers", "segment", "--customer", ids["wang"], "--tier", "a",
        "--clear-tier",
    )  # fmt: skip
    assert code == 2
    assert "not allowed with argument" in err

    bad = tmp_path / "bad.csv"
    bad.write_text(f"customer_id,tier\n{ids['li']},gold\n{ids['zhao']},Gold\n", encoding="utf-8")
    code, out, err = run(capsys, *where, "customers", "import-segments", str(bad))
    assert (code, out) == (1, "")
    assert err == (
        f"kiosk-hq: {bad}: 1 problem, nothing imported:\n"
        f"{bad}:3: tier: 'Gold' is not a lowercase slug [a-z0-9_-], 1 to 40 characters\n"
    )
    assert segments.segment_of(database, ids["li"]) == segments.Segment()
    good = tmp_path / "good.csv"
    good.write_text(
        "phone,tier,tags\n+8613900001111,silver,vip student\n+8618600007777,gold,\n",
        encoding="utf-8",
    )
    code, out, err = run(
        capsys, *where, "customers", "import-segments", str(good), "--by", "loyalty-sync"
    )
    assert code == 0, err
    assert out == (
        f"2 row(s) from {good}: 2 customer(s) changed, 1 member feed entry changed\n"
    )  # sun (+8618600007777) has no fob
    assert segments.segment_of(database, ids["li"]) == segments.Segment(
        "silver", ("student", "vip"), None
    )
    assert [(e.action, e.actor) for e in audit.recent(database)][:2] == [
        ("customers.segment", "loyalty-sync"),
        ("customers.segment", "loyalty-sync"),
    ]
    database.dispose()
