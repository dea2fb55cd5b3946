"""Prize draws: what a roll wins, and whether a member may draw now. Pure.

A roll is uniform in [0, ROLL_SPACE); the caller makes it with
`secrets.randbelow(ROLL_SPACE)` (the ledger does, unless a test passes one).
The prizes own consecutive intervals in their listed order, prize i
`floor(chance_i * ROLL_SPACE)` rolls wide; the rest of the space is no prize.
Landing on a prize whose daily cap is reached is a miss: the other prizes keep
their odds, and the capped prize's share does not flow to them.

The win counts and the member's draws today are the ledger's to read, inside
the transaction that records the draw (rewards/ledger.py).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Final

from content.model import Prize, PrizeDraw
from rewards.issuing import Refusal, window_refusal

ROLL_SPACE: Final = 10**9
"""Rolls per draw: chances are honoured to 1e-9 (a bundle chance has a Decimal; finer
digits round down, so the prizes together never own more than the whole space)."""


def prize_span(prize: Prize) -> int:
    """How many of the ROLL_SPACE rolls win `prize`."""
    return int(prize.chance * ROLL_SPACE)  # Decimal: exact, and int() rounds down


def draw(
    prize_draw: PrizeDraw,
    *,
    wins_today: Mapping[str, int],
    roll: int,
    part_of: Callable[[int], int] | None = None,
) -> Prize | None:
    """The prize `roll` wins, or None (no prize, or its daily cap is reached).

    `wins_today`: prize id -> wins on this kiosk on the current local day (missing: 0).
    `part_of`: this kiosk's part of a store's daily cap today (`StoreShare.of` for
    the day); None for the whole cap.
    """
    if not 0 <= roll < ROLL_SPACE:
        raise ValueError(f"roll must be from 0 to {ROLL_SPACE - 1}")
    start = 0
    for prize in prize_draw.prizes:
        end = start + prize_span(prize)
        if roll < end:
            cap = prize.daily_cap if part_of is None else part_of(prize.daily_cap)
            if wins_today.get(prize.id, 0) >= cap:
                return None
            return prize
        start = end
    return None


def may_draw(prize_draw: PrizeDraw, *, now: datetime, draws_today: int) -> Refusal | None:
    """None if a member who drew `draws_today` times today may draw at `now`, else why not:
    NOT_STARTED, ENDED (the draw's window) or MEMBER_LIMIT (draws_per_member_per_day)."""
    closed = window_refusal(prize_draw.starts_at, prize_draw.ends_at, now)
    if closed is not None:
        return closed
    if draws_today >= prize_draw.draws_per_member_per_day:
        return Refusal.MEMBER_LIMIT
    return None
