"""A kiosk's prize draws and coupons on a real outbox file, over days and through
SIGKILLs: caps and budgets hold, serials are never reused, and every win is
reported to HQ (no win without its records, no record without its win)."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from datetime import date, timedelta
from pathlib import Path

import pytest
from helpers import reward_runner
from helpers.rewards import (
    CIPHER,
    KEY,
    KIOSK_NO,
    NOW,
    TZ,
    audit_ledger,
    campaign_of,
    draw_of,
    prize_of,
    read_ledger,
)

from rewards.answers import DrawOutcome, Issued
from rewards.ledger import RewardLedger

ROOT = Path(__file__).resolve().parents[2]
SIGKILLED = -signal.SIGKILL


def test_five_thousand_draws_over_five_days_keep_every_cap_and_budget(tmp_path: Path) -> None:
    campaigns = (
        campaign_of("grand-prize", 20, daily_budget=10_000, per_member_limit=10_000),
        campaign_of("small-prize", 21, daily_budget=10_000, per_member_limit=10_000),
        campaign_of("tight-prize", 22, daily_budget=8, per_member_limit=10_000),
    )
    table = draw_of(
        "five-days",
        prize_of("grand", "grand-prize", "0.005", 3),
        prize_of("small", "small-prize", "0.1", 60),  # ~100 landings a day: capped
        prize_of("tight", "tight-prize", "0.05", 30),  # its campaign's budget runs out first
        prize_of("open", "small-prize", "0.02", 1000),  # never capped
    )
    survey = campaign_of("survey-thanks", 23, daily_budget=50)
    path = tmp_path / "outbox.sqlite3"
    outcomes: Counter[str] = Counter()
    with RewardLedger(path, cipher=CIPHER, key=KEY, kiosk_no=KIOSK_NO, tz=TZ) as ledger:
        for turn in range(5000):
            now = NOW + timedelta(days=turn // 1000, seconds=turn)
            member = str(uuid.uuid4())
            outcome = ledger.draw(table, campaigns, member_id=member, session="day", now=now)
            assert isinstance(outcome, DrawOutcome)
            outcomes[outcome.prize.id if outcome.prize else "none"] += 1
            if turn % 10 == 0:
                ledger.issue(survey, member_id=member, session="day", reason="survey", now=now)

    wins = audit_ledger(path, table, (*campaigns, survey))
    days = [(NOW.date() + timedelta(days=n)).isoformat() for n in range(5)]
    assert [wins[day, "small"] for day in days] == [60] * 5  # reached, never passed
    assert [wins[day, "tight"] for day in days] == [8] * 5  # the campaign's budget
    assert sum(wins[day, "open"] for day in days) == outcomes["open"] > 0
    thanks = Counter(
        row["local_day"] for row in read_ledger(path).coupons if row["campaign"] == "survey-thanks"
    )
    assert [thanks[day] for day in days] == [50] * 5  # 100 asked each day, the budget given


def runner(path: Path, day: date) -> subprocess.Popen[bytes]:
    env = dict(os.environ, PYTHONPATH=f"{ROOT}{os.pathsep}{ROOT / 'tests'}")
    return subprocess.Popen(
        [sys.executable, "-m", "helpers.reward_runner", str(path), day.isoformat()],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


@pytest.mark.slow
def test_kiosk_killed_again_and_again_while_drawing_never_breaks_a_cap_or_loses_a_win(
    tmp_path: Path,
) -> None:
    path = tmp_path / "outbox.sqlite3"
    rng = random.Random()
    seed = rng.randrange(2**32)
    rng.seed(seed)
    days = [NOW.date() + timedelta(days=n) for n in range(3)]
    for day in days:
        for _kill in range(4):
            process = runner(path, day)
            assert process.stdout is not None
            # Killed after some 30-150 draws, a moment into the next ones.
            for _ in range(rng.randrange(30, 150)):
                line = process.stdout.readline()
                assert line.startswith(b"drew "), process.communicate(timeout=30)[1]
            time.sleep(rng.uniform(0, 0.02))
            process.send_signal(signal.SIGKILL)
            _, err = process.communicate(timeout=30)
            assert process.returncode == SIGKILLED, err.decode(errors="replace")

    wins = audit_ledger(path, reward_runner.DRAW, reward_runner.CAMPAIGNS)
    # Caps and budgets were reached, so the restarts after that had them to keep.
    assert any(wins[day.isoformat(), "small"] == 40 for day in days), f"seed {seed}: {wins}"
    assert any(wins[day.isoformat(), "tight"] == 6 for day in days), f"seed {seed}: {wins}"
    # The file still opens and the ledger carries on where it was.
    with RewardLedger(path, cipher=CIPHER, key=KEY, kiosk_no=KIOSK_NO, tz=TZ) as ledger:
        issued = ledger.issue(
            reward_runner.SURVEY,
            member_id=str(uuid.uuid4()),
            session="after",
            reason="survey",
            now=NOW + timedelta(days=10),
        )
        assert isinstance(issued, Issued)
    coupons = read_ledger(path).coupons
    assert issued.code.serial == max(row["serial"] for row in coupons)
    assert len({row["serial"] for row in coupons}) == len(coupons)
