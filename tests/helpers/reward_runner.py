"""A kiosk giving out rewards as fast as it can, as a process of its own, for kill -9 tests.

    python -m helpers.reward_runner OUTBOX_FILE DAY

Runs prize draws (a new member each) and, every fifth turn, a survey reward,
all on local day DAY (YYYY-MM-DD), against a real RewardLedger on OUTBOX_FILE,
until it is killed. It prints a line after each committed draw, so the test can
kill it at a point in its progress rather than at a time (machines differ).
"""

from __future__ import annotations

import argparse
import sys
import uuid
from datetime import date, datetime, time, timedelta
from pathlib import Path

from helpers.rewards import CIPHER, KEY, KIOSK_NO, TZ, campaign_of, draw_of, prize_of
from rewards.ledger import RewardLedger

PRIZE_CAMPAIGNS = (
    campaign_of("grand-prize", 20, daily_budget=10_000, per_member_limit=10_000),
    campaign_of("small-prize", 21, daily_budget=10_000, per_member_limit=10_000),
    # A prize campaign with a budget below the prize's cap: its budget ends the wins.
    campaign_of("tight-prize", 22, daily_budget=6, per_member_limit=10_000),
)
DRAW = draw_of(
    "crash-spin",
    prize_of("grand", "grand-prize", "0.02", 3),
    prize_of("small", "small-prize", "0.3", 40),  # ~130 draws to the cap: a run or two
    prize_of("tight", "tight-prize", "0.1", 20),
)
SURVEY = campaign_of("survey-thanks", 23, daily_budget=25)
CAMPAIGNS = (*PRIZE_CAMPAIGNS, SURVEY)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("outbox", type=Path)
    parser.add_argument("day", type=date.fromisoformat)
    args = parser.parse_args(argv)
    morning = datetime.combine(args.day, time(10, 0), tzinfo=TZ)
    with RewardLedger(args.outbox, cipher=CIPHER, key=KEY, kiosk_no=KIOSK_NO, tz=TZ) as ledger:
        turn = 0
        while True:
            now = morning + timedelta(milliseconds=turn)
            member = str(uuid.uuid4())
            ledger.draw(DRAW, PRIZE_CAMPAIGNS, member_id=member, session="crash", now=now)
            if turn % 5 == 0:
                ledger.issue(SURVEY, member_id=member, session="crash", reason="survey", now=now)
            sys.stdout.write(f"drew {turn}\n")
            sys.stdout.flush()
            turn += 1


if __name__ == "__main__":
    sys.exit(main())
