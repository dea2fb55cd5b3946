"""The till's steps (kiosk/attendant/till.py) with a real outbox file and claims answered
by the test: the kiosks' side is tested on real servers in tests/qt."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from backend_client.channel.commands import coupon_hash
from backend_client.outbox import Outbox
from kiosk.attendant.till import (
    HERE,
    ClaimAnswer,
    Claimed,
    ClaimRefused,
    RedeemedCodes,
    SeenRedemption,
    Till,
    TillOutcome,
    TillResult,
    Unreachable,
    nobody_reachable,
    redeem_at_till,
)
from rewards.codes import CouponCode, issue_code, kiosk_key, store_key

STORE = "sh-nanjing-road"
KEY = store_key(b"chain coupon secret, HQ only....", STORE)
NOW = datetime(2026, 12, 6, 2, 0, tzinfo=UTC)
TZ = ZoneInfo("Asia/Shanghai")
EARLIER = datetime(2026, 12, 6, 1, 0, tzinfo=UTC)


def coupon(serial: int = 1, kiosk_no: int = 17) -> CouponCode:
    return issue_code(
        kiosk_key(KEY, kiosk_no),
        campaign_no=3,
        kiosk_no=kiosk_no,
        serial=serial,
        expires_on=date(2026, 12, 31),
    )


def code(serial: int = 1, kiosk_no: int = 17) -> str:
    return coupon(serial, kiosk_no).text


class Kiosks:
    """Claims answered per kiosk: "ok", "taken" or "away"; every call recorded."""

    def __init__(self, **answers: str) -> None:
        self.answers = answers
        self.asked: list[tuple[str, str, str]] = []

    def claim(self, kiosk: str, code_hash: str, by: str) -> ClaimAnswer:
        self.asked.append((kiosk, code_hash, by))
        match self.answers[kiosk]:
            case "ok":
                return Claimed(kiosk)
            case "taken":
                return ClaimRefused(kiosk, EARLIER, "st-other")
            case _:
                return Unreachable(kiosk)


@pytest.fixture
def outbox(tmp_path: Path) -> Iterator[Outbox]:
    with Outbox(tmp_path / "outbox.sqlite3") as opened:
        yield opened


def till(
    outbox: Outbox, kiosks: Kiosks, text: str, seen: RedeemedCodes | None = None
) -> TillResult:
    return redeem_at_till(
        text,
        seen=seen or RedeemedCodes(),
        kiosks=list(kiosks.answers),
        claim=kiosks.claim,
        outbox=outbox,
        store_coupon_key=KEY,
        by="st-1",
        now=NOW,
        tz=TZ,
    )


def reports(outbox: Outbox) -> list[str]:
    return [r.kind for r in outbox.pending()]


def test_a_good_code_is_claimed_at_every_kiosk_in_id_order_then_reported_once(
    outbox: Outbox,
) -> None:
    kiosks = Kiosks(k3="ok", k1="ok", k2="ok")
    result = till(outbox, kiosks, code().lower())
    assert result == TillResult(
        TillOutcome.REDEEMED, coupon(), NOW, None, None, False, ("k1", "k2", "k3")
    )
    assert [kiosk for kiosk, _, _ in kiosks.asked] == ["k1", "k2", "k3"]
    assert {(h, by) for _, h, by in kiosks.asked} == {(coupon_hash(code()), "st-1")}
    assert reports(outbox) == ["coupon_redeemed"]


def test_the_first_kiosk_that_had_it_stops_the_round_and_nothing_is_reported(
    outbox: Outbox,
) -> None:
    kiosks = Kiosks(k1="ok", k2="taken", k3="ok")
    result = till(outbox, kiosks, code())
    assert result == TillResult(
        TillOutcome.ALREADY, coupon(), EARLIER, "st-other", "k2", False, ("k1",)
    )
    assert [kiosk for kiosk, _, _ in kiosks.asked] == ["k1", "k2"]
    assert reports(outbox) == []


def test_with_no_kiosk_reachable_the_code_is_redeemed_here_and_said_to_be(
    outbox: Outbox,
) -> None:
    result = till(outbox, Kiosks(k1="away", k2="away"), code())
    assert result == TillResult(TillOutcome.REDEEMED, coupon(), NOW, offline=True)
    assert reports(outbox) == ["coupon_redeemed"]
    again = till(outbox, Kiosks(k1="ok"), code())
    assert again == TillResult(TillOutcome.ALREADY, coupon(), NOW, "st-1", HERE, False, ("k1",))
    assert reports(outbox) == ["coupon_redeemed"]


def test_a_code_the_feed_showed_redeemed_is_refused_without_asking_any_kiosk(
    outbox: Outbox,
) -> None:
    seen = RedeemedCodes()
    seen.note(coupon_hash(code()), SeenRedemption("k2", EARLIER, "st-other"))
    kiosks = Kiosks(k1="ok")
    result = till(outbox, kiosks, code(), seen)
    assert result == TillResult(TillOutcome.ALREADY, coupon(), EARLIER, "st-other", "k2")
    assert kiosks.asked == []


@pytest.mark.parametrize(
    ("text", "outcome"),
    [
        (code()[:-1] + ("0" if code()[-1] != "0" else "1"), TillOutcome.FORGED),
        ("not a code", TillOutcome.MALFORMED),
    ],
)
def test_a_bad_code_asks_no_kiosk_and_reports_nothing(
    outbox: Outbox, text: str, outcome: TillOutcome
) -> None:
    kiosks = Kiosks(k1="ok")
    assert till(outbox, kiosks, text).outcome is outcome
    assert kiosks.asked == []
    assert reports(outbox) == []


def test_without_the_stores_coupon_key_nothing_can_be_checked(outbox: Outbox) -> None:
    result = redeem_at_till(
        code(),
        seen=RedeemedCodes(),
        kiosks=["k1"],
        claim=Kiosks(k1="ok").claim,
        outbox=outbox,
        store_coupon_key=None,
        by="st-1",
        now=NOW,
        tz=TZ,
    )
    assert result.outcome is TillOutcome.NO_KEY


def test_remembered_codes_keep_the_first_sighting_and_forget_beyond_their_limit() -> None:
    seen = RedeemedCodes(limit=2)
    first, later = SeenRedemption("k1", EARLIER, "st-1"), SeenRedemption("k2", NOW, "st-2")
    seen.note("h0", first)
    seen.note("h0", later)
    seen.note("h1", later)
    assert seen.get("h0") == first
    assert seen.get("h1") == later
    seen.note("h2", later)
    assert seen.get("h0") is None
    assert seen.get("h2") == later


def test_the_till_worker_redeems_on_its_thread_and_closes_its_outbox(tmp_path: Path) -> None:
    kiosks = Kiosks(k1="ok")
    worker = Till(Outbox(tmp_path / "outbox.sqlite3"), KEY, TZ, RedeemedCodes(), kiosks.claim)
    try:
        done = worker.submit(code(), kiosks=["k1"], by="st-9", now=NOW)
        assert done.result(timeout=30) == TillResult(
            TillOutcome.REDEEMED, coupon(), NOW, None, None, False, ("k1",)
        )
        assert kiosks.asked == [("k1", coupon_hash(code()), "st-9")]
    finally:
        worker.close()
    with Outbox(tmp_path / "outbox.sqlite3") as outbox:
        (record,) = outbox.pending()
    assert record.payload["by"] == "st-9"


def test_nobody_reachable_claims_nothing() -> None:
    assert nobody_reachable("k1", "0" * 32, "st-1") == Unreachable("k1")
