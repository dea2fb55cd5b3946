"""`kiosk-hq members ...` as staff run it: a real process beside a running HQ (SQLite)."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers.hq import (
    Hq,
    consent_payload,
    hq_cli,
    hq_of_its_own,
    members_cli,
    signup_payload,
)


@pytest.fixture
def hq(tmp_path: Path) -> Iterator[Hq]:
    with hq_of_its_own(tmp_path / "hq") as running:
        yield running


def members(hq: Hq, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return members_cli(hq, *args, stdin=stdin)


def signed_up(hq: Hq, *, consenting: bool = True) -> str:
    kiosk = hq.kiosk()
    member = str(uuid.uuid4())
    sent = [kiosk.event(1, "member_signup", signup_payload(member, "13912345678"))]
    if consenting:
        sent.append(kiosk.event(2, "consent", consent_payload(member, "recognition", given=True)))
    assert kiosk.post(sent).status_code == 200
    return member


def stats(hq: Hq) -> dict[str, int]:
    done = members(hq, "feed-stats", "--json")
    assert done.returncode == 0, done.stderr
    figures: dict[str, int] = json.loads(done.stdout)
    return figures


def test_staff_bind_a_fob_from_the_shell_and_see_it_in_the_feed(hq: Hq) -> None:
    member = signed_up(hq)
    done = members(hq, "bind", member, "--kind", "rfid", "--value", "12345678")
    assert done.returncode == 0, done.stderr
    (word, tag_hash, state) = done.stdout.split(maxsplit=2)
    assert (word, len(tag_hash), state.strip()) == ("tag", 64, "bound")
    # Typed on stdin, out of the shell's history: the same fob, the same hash.
    again = members(hq, "bind", member, "--kind", "rfid", stdin="0012345678\n")
    assert again.stdout == f"tag {tag_hash} was bound already\n"
    assert stats(hq) == {
        "entries": 1,
        "tombstones": 0,
        "version": 1,
        "compacted_through": 0,
        "bindings": 1,
    }
    readable = members(hq, "feed-stats")
    assert "entries: 1" in readable.stdout
    assert "12345678" not in done.stderr + readable.stdout


def test_unbinding_and_compacting_from_the_shell(hq: Hq) -> None:
    member = signed_up(hq)
    tag_hash = members(hq, "bind", member, "--kind", "rfid", "--value", "7").stdout.split()[1]
    assert members(hq, "unbind", member, tag_hash).stdout == f"tag {tag_hash} unbound\n"
    assert (stats(hq)["entries"], stats(hq)["tombstones"]) == (0, 1)
    assert members(hq, "compact-feed").stdout == "0 removals compacted\n"
    compacted = members(hq, "compact-feed", "--older-than-days", "0")
    assert compacted.stdout == "1 removals compacted\n"
    assert (stats(hq)["tombstones"], stats(hq)["compacted_through"]) == (0, 2)


def test_erasing_from_the_shell(hq: Hq) -> None:
    member = signed_up(hq)
    erased = members(hq, "erase", member)
    assert erased.returncode == 0, erased.stderr
    assert erased.stdout.startswith("erased 1 member ids: 2 events scrubbed")
    unknown = members(hq, "erase", str(uuid.uuid4()))
    assert unknown.returncode == 1


def test_staff_record_a_withdrawal_from_the_shell_with_who_and_when(hq: Hq) -> None:
    member = signed_up(hq)
    done = members(hq, "withdraw", member, "--purpose", "recognition", "--by", "hotline-7")
    assert done.returncode == 0, done.stderr
    assert "recognition consent withdrawn" in done.stdout
    assert "recorded by hotline-7" in done.stdout
    assert "0 feed entries removed" in done.stdout  # no fob bound: nothing in the feed
    assert members(hq, "withdraw", member, "--purpose", "newsletter").returncode == 2
    (customer,) = hq.admin_get("/v1/admin/customers", phone="13912345678").json()["customers"]
    timeline = hq.admin_get(f"/v1/admin/customers/{customer['customer_id']}/timeline").json()
    (current,) = [c for c in timeline["consents"] if c["purpose"] == "recognition"]
    assert (current["state"], current["source"], current["recorded_by"]) == (
        "withdrawn",
        "hq",
        "hotline-7",
    )


def test_the_csv_export_tells_a_consent_never_given_from_one_withdrawn(hq: Hq) -> None:
    kiosk = hq.kiosk()
    member = str(uuid.uuid4())
    sent = [
        kiosk.event(1, "member_signup", signup_payload(member, "13912345678")),
        kiosk.event(2, "consent", consent_payload(member, "recognition", given=True)),
        # Left unticked at sign-up: declined, not withdrawn.
        kiosk.event(3, "consent", consent_payload(member, "marketing", given=False)),
        kiosk.event(4, "consent", consent_payload(member, "marketing", given=False, channel="sms")),
    ]
    assert kiosk.post(sent).status_code == 200
    assert members(hq, "withdraw", member, "--purpose", "recognition").returncode == 0
    done = hq_cli(hq, "customers", "export", "--csv")
    assert done.returncode == 0, done.stderr
    (row,) = csv.DictReader(io.StringIO(done.stdout))
    assert row["consent_recognition"] == "withdrawn"  # given at the kiosk, then taken back
    assert row["consent_marketing"] == "not_given"
    assert row["consent_marketing_sms"] == "not_given"
    assert row["consent_personalisation"] == "not_given"  # never asked


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("bind", "MEMBER", "--kind", "rfid", "--value", "98765432101"), "rfid card number"),
        (("bind", str(uuid.UUID(int=1)), "--kind", "rfid", "--value", "1"), "no such member"),
        (("unbind", "MEMBER", "0" * 64), "no tag with that hash"),
        (("compact-feed", "--older-than-days", "-1"), "0 or more"),
        (("withdraw", str(uuid.UUID(int=1)), "--purpose", "marketing"), "no such member"),
        (("withdraw", "MEMBER", "--purpose", "marketing", "--by", "x" * 65), "1 to 64"),
    ],
)
def test_a_wrong_member_command_fails_in_one_line_without_quoting_the_tag(
    hq: Hq, args: tuple[str, ...], message: str
) -> None:
    member = signed_up(hq)
    done = members(hq, *(member if arg == "MEMBER" else arg for arg in args))
    assert done.returncode == 1, done.stdout
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert message in lines[0]
    assert "98765432101" not in done.stderr
