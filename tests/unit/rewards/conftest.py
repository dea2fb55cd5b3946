"""A ledger on a real outbox file; the store and its models are in helpers/rewards.py."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers.rewards import CIPHER, KEY, KIOSK_NO, TZ, autumn_spin, campaign_of, prize_campaigns

from content.model import CouponCampaign, PrizeDraw
from rewards.ledger import RewardLedger


@pytest.fixture
def campaign() -> CouponCampaign:
    return campaign_of("phone-50", 12)


@pytest.fixture
def prize_draw() -> PrizeDraw:
    return autumn_spin()


@pytest.fixture
def campaigns(campaign: CouponCampaign) -> tuple[CouponCampaign, ...]:
    return (campaign, *prize_campaigns())


@pytest.fixture
def outbox_path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "outbox.sqlite3"


@pytest.fixture
def ledger(outbox_path: Path) -> Iterator[RewardLedger]:
    with RewardLedger(outbox_path, cipher=CIPHER, key=KEY, kiosk_no=KIOSK_NO, tz=TZ) as opened:
        yield opened
