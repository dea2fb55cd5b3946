"""The reward ledger: every coupon this kiosk issued and every prize draw, on disk.

Its tables live in the outbox file (backend_client/outbox.py), so a coupon row
and the `coupon_issued` record that reports it to HQ commit in one transaction
(`Outbox.write_with`): after a crash there is never a code without its record,
nor a record without its code. Counts (codes issued today, wins today, a
member's draws) are read from the tables inside the transaction that acts on
them, so caps and budgets hold across restarts and against a second writer.

Tables (schema version `LEDGER_VERSION`, kept in `reward_meta`):

- `coupon_serial`: the next serial per kiosk number. Serials are never reused;
  a code is (kiosk number, serial) and HQ sees each once. 24 bits: when they run
  out, issuing is refused with SERIALS_EXHAUSTED (HQ must give a new kiosk number).
- `issued_coupon`: serial, campaign, local day, expiry, and a keyed hash of the
  member id. Member ids link to people at HQ; the hash is enough to count.
- `prize_draw_entry`: each draw: draw id, prize won or null, local day, member hash.
- `coupon_redemption`: codes redeemed on this device (rewards/redemption.py).
- `offer_take`: each member offer taken (content/offers.py): offer id, member hash,
  local day and the coupon it gave, so an offer's limits (once a day, a week...; the
  store's daily budget) hold offline and across restarts (version 2).

A file of an older version is upgraded in place when the ledger opens it; one of
a newer version is refused (LedgerError), never guessed at.

`RewardLedger` is synchronous (one thread at a time). `RewardDesk`
(rewards/desk.py) puts it behind a queue and a thread for the GUI.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import uuid
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime
from pathlib import Path
from types import TracebackType
from typing import Final, Self, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import (
    Column,
    Connection,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    case,
    func,
    insert,
    select,
    update,
)

from backend_client.crypto import PayloadCipher
from backend_client.outbox import DEFAULT_BUSY_TIMEOUT, Outbox
from backend_client.records import OutboxRecord
from content.model import CouponCampaign, PrizeDraw
from content.offers import Offer
from rewards.answers import DrawOutcome, Issued, IssueReason, Refused
from rewards.codes import MAX_KIOSK_NO, MAX_SERIAL, CouponCode, issue_code
from rewards.draw import ROLL_SPACE, may_draw
from rewards.draw import draw as draw_prize
from rewards.issuing import (
    WHOLE_STORE,
    Refusal,
    StoreShare,
    expiry_day,
    local_day,
    may_issue,
    window_refusal,
)
from rewards.offers import OfferTakes, limit_refusal

_log = logging.getLogger("rewards.ledger")
_T = TypeVar("_T")

LEDGER_VERSION: Final = 2
"""Schema version of the reward tables; bump it (with an entry in `_UPGRADES`) when
one changes. 2: `offer_take`."""

_SCHEMA_VERSION_KEY: Final = "schema_version"
_MEMBER_HASH_LABEL: Final = b"reward-ledger-member-hash"
# The member-hash key is derived from the coupon key, so the ledger needs no key of its
# own; the label keeps it apart from the code MAC (the same key signs codes).

_ISSUE_REASONS: Final = ("survey", "draw", "signup")

_metadata = MetaData()

_reward_meta = Table(
    "reward_meta",
    _metadata,
    Column("key", String, primary_key=True),
    Column("value", String, nullable=False),
)

_serials = Table(
    "coupon_serial",
    _metadata,
    Column("kiosk_no", Integer, primary_key=True, autoincrement=False),
    Column("next_serial", Integer, nullable=False),
)

_coupons = Table(
    "issued_coupon",
    _metadata,
    Column("kiosk_no", Integer, primary_key=True, autoincrement=False),
    Column("serial", Integer, primary_key=True, autoincrement=False),
    Column("campaign", String, nullable=False),
    Column("campaign_no", Integer, nullable=False),
    Column("local_day", String(10), nullable=False),  # YYYY-MM-DD in the store's zone
    Column("expires_on", String(10), nullable=False),
    Column("member_hash", String(64)),  # null: a shopper without a member id
    Column("reason", String, nullable=False),
    Column("issued_at", String, nullable=False),
    Index("ix_issued_coupon_campaign_day", "campaign", "local_day"),
    Index("ix_issued_coupon_campaign_member", "campaign", "member_hash"),
)

_draws = Table(
    "prize_draw_entry",
    _metadata,
    Column("id", Integer, primary_key=True),
    Column("draw", String, nullable=False),
    Column("prize", String),  # null: no prize
    Column("local_day", String(10), nullable=False),
    Column("member_hash", String(64), nullable=False),
    Column("kiosk_no", Integer),  # the coupon won: (kiosk_no, serial) in issued_coupon
    Column("serial", Integer),
    Column("drawn_at", String, nullable=False),
    Index("ix_prize_draw_entry_member", "draw", "local_day", "member_hash"),
    Index("ix_prize_draw_entry_prize", "draw", "local_day", "prize"),
)

coupon_redemptions: Final = Table(
    "coupon_redemption",
    _metadata,
    # One row per code: the primary key is what makes a code single use on this device.
    Column("kiosk_no", Integer, primary_key=True, autoincrement=False),
    Column("serial", Integer, primary_key=True, autoincrement=False),
    Column("code", String(29), nullable=False),
    Column("redeemed_at", String, nullable=False),
    Column("by", String(64), nullable=False),
)
"""Codes redeemed on this device; written by rewards/redemption.py."""

_offer_takes = Table(
    "offer_take",
    _metadata,
    Column("id", Integer, primary_key=True),
    Column("offer", String, nullable=False),
    Column("member_hash", String(64), nullable=False),  # as issued_coupon's
    Column("local_day", String(10), nullable=False),
    Column("kiosk_no", Integer, nullable=False),  # the coupon: (kiosk_no, serial) in issued_coupon
    Column("serial", Integer, nullable=False),
    Column("taken_at", String, nullable=False),
    Index("ix_offer_take_member", "offer", "member_hash", "local_day"),
    Index("ix_offer_take_day", "offer", "local_day"),
)


class LedgerError(Exception):
    """The reward tables cannot be used (written by a newer version of the software)."""


def prepare_reward_tables(connection: Connection) -> None:
    """Create the reward tables if absent and check their version (inside a write
    transaction on the outbox file: `Outbox.write_with`)."""
    _metadata.create_all(connection)
    found = connection.execute(
        select(_reward_meta.c.value).where(_reward_meta.c.key == _SCHEMA_VERSION_KEY)
    ).scalar_one_or_none()
    if found is None:
        connection.execute(
            insert(_reward_meta).values(key=_SCHEMA_VERSION_KEY, value=str(LEDGER_VERSION))
        )
        return
    version = int(found)
    if version > LEDGER_VERSION:
        raise LedgerError(
            f"reward tables schema version {found}, this software reads version {LEDGER_VERSION}"
        )
    if version < LEDGER_VERSION:
        for step in range(version, LEDGER_VERSION):
            _UPGRADES[step](connection)
        connection.execute(
            update(_reward_meta)
            .where(_reward_meta.c.key == _SCHEMA_VERSION_KEY)
            .values(value=str(LEDGER_VERSION))
        )
        # In the same transaction as the steps: a crash leaves the old version whole.
        _log.info("reward tables upgraded from version %d to %d", version, LEDGER_VERSION)


def _add_offer_takes(connection: Connection) -> None:
    _offer_takes.create(connection, checkfirst=True)  # create_all made it already; say so


_UPGRADES: Final[dict[int, Callable[[Connection], None]]] = {1: _add_offer_takes}
"""Version n -> the step that makes it n + 1, run in order inside one transaction."""


# ---------------------------------------------------------------- outcomes


# ---------------------------------------------------------------- the ledger


class RewardLedger:
    """Issues coupons and runs draws against the ledger tables in the outbox file.

    Synchronous; use one instance from one thread at a time (`RewardDesk` does).
    `key` is this kiosk's coupon key, `kiosk_no` its number and `share` its part of
    the store's daily budgets and caps, all from enrolment; `tz` is the store's time
    zone, which decides what "today" is. `on_written` is
    called with the outbox seqs of each commit that queued records for HQ.
    """

    def __init__(
        self,
        outbox_path: Path,
        *,
        cipher: PayloadCipher | None,
        key: bytes,
        kiosk_no: int,
        tz: ZoneInfo,
        share: StoreShare = WHOLE_STORE,
        on_written: Callable[[list[int]], None] | None = None,
        busy_timeout: float = DEFAULT_BUSY_TIMEOUT,
    ) -> None:
        if not 0 <= kiosk_no <= MAX_KIOSK_NO:
            raise ValueError(f"kiosk_no must be from 0 to {MAX_KIOSK_NO}")
        if len(key) < 16:
            raise ValueError("a coupon key has at least 16 bytes")
        self._key = key
        self._member_key = hmac.digest(key, _MEMBER_HASH_LABEL, "sha256")
        self._kiosk_no = kiosk_no
        self._tz = tz
        self._share = share
        self._on_written = on_written
        self._exhaustion_logged = False
        self._outbox = Outbox(outbox_path, busy_timeout=busy_timeout, cipher=cipher)
        try:
            self._outbox.write_with(_prepare)
        except BaseException:
            self._outbox.close()
            raise

    def __repr__(self) -> str:
        return f"RewardLedger(kiosk_no={self._kiosk_no})"

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._outbox.close()

    # ------------------------------------------------------------ acting

    def issue(
        self,
        campaign: CouponCampaign,
        *,
        member_id: uuid.UUID | str | None,
        session: str,
        reason: IssueReason,
        now: datetime,
    ) -> Issued | Refused:
        """Issue a code of `campaign` if its window, budget and member limit allow.

        The row and its `coupon_issued` record commit together; a refusal writes nothing.
        """
        if reason not in _ISSUE_REASONS:
            raise ValueError(f"reason must be one of {_ISSUE_REASONS}")
        member = _member_text(member_id)
        day = local_day(now, self._tz)

        def work(connection: Connection) -> tuple[Issued | Refused, list[OutboxRecord]]:
            return self._issue_in(
                connection, campaign, member, session=session, reason=reason, now=now, day=day
            )

        return self._write(work)

    def draw(
        self,
        prize_draw: PrizeDraw,
        campaigns: Iterable[CouponCampaign],
        *,
        member_id: uuid.UUID | str,
        session: str,
        now: datetime,
        roll: int | None = None,
    ) -> DrawOutcome | Refused:
        """Let a member draw: Refused if they may not (window, draws per day), else the
        outcome, recorded (`prize_draw`, and `coupon_issued` for a win) in one transaction.

        `roll` is for tests; by default it comes from `secrets`. A prize whose daily cap
        is reached, or whose campaign cannot issue (ended, budget spent, the member holds
        its limit, unknown), is a miss and recorded as one.
        """
        member = _member_text(member_id)
        if member is None:
            raise ValueError("a prize draw needs a member id")
        by_id = {campaign.id: campaign for campaign in campaigns}
        if roll is None:
            roll = secrets.randbelow(ROLL_SPACE)
        day = local_day(now, self._tz)
        member_hash = self._member_hash(member)

        def work(connection: Connection) -> tuple[DrawOutcome | Refused, list[OutboxRecord]]:
            drawn_today = self._drawn(connection, prize_draw.id, day, member_hash)
            refusal = may_draw(prize_draw, now=now, draws_today=drawn_today)
            if refusal is not None:
                return Refused(refusal), []
            wins = self._wins(connection, prize_draw.id, day)
            prize = draw_prize(
                prize_draw, wins_today=wins, roll=roll, part_of=lambda cap: self._share.of(cap, day)
            )
            records: list[OutboxRecord] = []
            code: CouponCode | None = None
            if prize is not None:
                campaign = by_id.get(prize.campaign)
                if campaign is None:
                    # The bundle check makes this impossible; a miss beats a crash.
                    _log.warning(
                        "prize %s of draw %s names no known campaign", prize.id, prize_draw.id
                    )
                    prize = None
                else:
                    issued, records = self._issue_in(
                        connection,
                        campaign,
                        member,
                        session=session,
                        reason="draw",
                        now=now,
                        day=day,
                    )
                    if isinstance(issued, Issued):
                        code = issued.code
                    else:
                        prize = None
            connection.execute(
                insert(_draws).values(
                    draw=prize_draw.id,
                    prize=None if prize is None else prize.id,
                    local_day=day.isoformat(),
                    member_hash=member_hash,
                    kiosk_no=None if code is None else code.kiosk_no,
                    serial=None if code is None else code.serial,
                    drawn_at=_iso_utc(now),
                )
            )
            records.append(
                OutboxRecord.new(
                    "prize_draw",
                    {
                        "session": session,
                        "draw": prize_draw.id,
                        "member_id": member,
                        "prize": None if prize is None else prize.id,
                        "code": None if code is None else code.text,
                    },
                    occurred_at=now,
                )
            )
            return DrawOutcome(prize_draw.id, prize, code), records

        return self._write(work)

    def take_offer(
        self,
        offer: Offer,
        campaign: CouponCampaign,
        *,
        member_id: uuid.UUID | str,
        session: str,
        now: datetime,
    ) -> Issued | Refused:
        """The member took `offer`: issue a code of its `campaign` if the offer's dates and
        limits (rewards.offers.limit_refusal, with this kiosk's part of the store's budget)
        and the campaign's own window, budget and member limit all allow.

        The take, its coupon and the `coupon_issued` record (reason "offer") commit in one
        transaction; a refusal writes nothing. The offer's hours, weekdays and segment are
        the showing decision's (OfferBook.choose): a member shown it at 21:59 may still
        take it at 22:00.
        """
        member = _member_text(member_id)
        if member is None:
            raise ValueError("an offer is taken by a member")
        if offer.campaign != campaign.id:
            raise ValueError(f"offer {offer.id} gives no coupon of campaign {campaign.id}")
        day = local_day(now, self._tz)
        member_hash = self._member_hash(member)

        def work(connection: Connection) -> tuple[Issued | Refused, list[OutboxRecord]]:
            refusal = window_refusal(offer.starts_at, offer.ends_at, now) or limit_refusal(
                offer,
                self._offer_takes(connection, (offer.id,), day, member_hash)[offer.id],
                day,
                self._share,
            )
            if refusal is not None:
                return Refused(refusal), []
            outcome, records = self._issue_in(
                connection,
                campaign,
                member,
                session=session,
                reason="offer",
                now=now,
                day=day,
                offer=offer.id,
            )
            if isinstance(outcome, Issued):
                connection.execute(
                    insert(_offer_takes).values(
                        offer=offer.id,
                        member_hash=member_hash,
                        local_day=day.isoformat(),
                        kiosk_no=outcome.code.kiosk_no,
                        serial=outcome.code.serial,
                        taken_at=_iso_utc(now),
                    )
                )
            return outcome, records

        return self._write(work)

    # ------------------------------------------------------------ counting

    def offer_takes(
        self, offers: Iterable[str], *, member_id: uuid.UUID | str, now: datetime
    ) -> dict[str, OfferTakes]:
        """Offer id -> the counts its limits need at `now` (every id asked is there), for
        rewards.offers.OfferBook.choose; the same counts `take_offer` decides by."""
        member = _member_text(member_id)
        if member is None:
            raise ValueError("offers are counted for a member")
        day = local_day(now, self._tz)
        member_hash = self._member_hash(member)
        wanted = tuple(dict.fromkeys(offers))

        def work(connection: Connection) -> tuple[dict[str, OfferTakes], list[OutboxRecord]]:
            return self._offer_takes(connection, wanted, day, member_hash), []

        return self._write(work)

    def issued_on(self, campaign_id: str, day: date) -> int:
        """Codes of a campaign this kiosk issued on local day `day`."""

        def work(connection: Connection) -> tuple[int, list[OutboxRecord]]:
            return self._issued_today(connection, campaign_id, day), []

        return self._write(work)

    def wins_on(self, draw_id: str, day: date) -> dict[str, int]:
        """Prize id -> wins on local day `day` (prizes not won that day are left out)."""

        def work(connection: Connection) -> tuple[dict[str, int], list[OutboxRecord]]:
            return self._wins(connection, draw_id, day), []

        return self._write(work)

    def standing(
        self, prize_draws: Iterable[PrizeDraw], *, member_id: uuid.UUID | str, now: datetime
    ) -> dict[str, Refusal | None]:
        """Draw id -> why the member may not draw it at `now` (None: they may), read
        as `draw` would decide, so a screen can say so before the member taps."""
        member = _member_text(member_id)
        if member is None:
            raise ValueError("a prize draw needs a member id")
        day = local_day(now, self._tz)
        member_hash = self._member_hash(member)

        def work(connection: Connection) -> tuple[dict[str, Refusal | None], list[OutboxRecord]]:
            return {
                d.id: may_draw(
                    d, now=now, draws_today=self._drawn(connection, d.id, day, member_hash)
                )
                for d in prize_draws
            }, []

        return self._write(work)

    # ------------------------------------------------------------ inside a transaction

    @staticmethod
    def _offer_takes(
        connection: Connection, offers: tuple[str, ...], day: date, member_hash: str
    ) -> dict[str, OfferTakes]:
        takes = dict.fromkeys(offers, OfferTakes())
        if not offers:
            return takes
        today = day.isoformat()
        rows = connection.execute(
            select(
                _offer_takes.c.offer,
                # The newest day this member took it (ISO days sort as text), and today's
                # takes by anyone at this kiosk: one pass over the offer's rows.
                func.max(
                    case((_offer_takes.c.member_hash == member_hash, _offer_takes.c.local_day))
                ),
                func.sum(case((_offer_takes.c.local_day == today, 1), else_=0)),
            )
            .where(_offer_takes.c.offer.in_(offers))
            .group_by(_offer_takes.c.offer)
        )
        for offer, member_last, store_today in rows:
            takes[str(offer)] = OfferTakes(
                member_last=None if member_last is None else date.fromisoformat(member_last),
                store_today=int(store_today),
            )
        return takes

    @staticmethod
    def _drawn(connection: Connection, draw_id: str, day: date, member_hash: str) -> int:
        drawn = connection.execute(
            select(func.count())
            .select_from(_draws)
            .where(
                _draws.c.draw == draw_id,
                _draws.c.local_day == day.isoformat(),
                _draws.c.member_hash == member_hash,
            )
        ).scalar_one()
        return int(drawn)

    def _issue_in(
        self,
        connection: Connection,
        campaign: CouponCampaign,
        member: str | None,
        *,
        session: str,
        reason: IssueReason,
        now: datetime,
        day: date,
        offer: str | None = None,
    ) -> tuple[Issued | Refused, list[OutboxRecord]]:
        member_hash = None if member is None else self._member_hash(member)
        member_holds: int | None = None
        if member_hash is not None:
            member_holds = int(
                connection.execute(
                    select(func.count())
                    .select_from(_coupons)
                    .where(
                        _coupons.c.campaign == campaign.id, _coupons.c.member_hash == member_hash
                    )
                ).scalar_one()
            )
        refusal = may_issue(
            campaign,
            now=now,
            issued_today=self._issued_today(connection, campaign.id, day),
            member_holds=member_holds,
            budget=self._share.of(campaign.daily_budget, day),
        )
        if refusal is not None:
            return Refused(refusal), []
        serial = self._take_serial(connection)
        if serial is None:
            return Refused(Refusal.SERIALS_EXHAUSTED), []
        code = issue_code(
            self._key,
            campaign_no=campaign.number,
            kiosk_no=self._kiosk_no,
            serial=serial,
            expires_on=expiry_day(campaign, day),
        )
        connection.execute(
            insert(_coupons).values(
                kiosk_no=self._kiosk_no,
                serial=serial,
                campaign=campaign.id,
                campaign_no=campaign.number,
                local_day=day.isoformat(),
                expires_on=code.expires_on.isoformat(),
                member_hash=member_hash,
                reason=reason,
                issued_at=_iso_utc(now),
            )
        )
        payload: dict[str, object] = {
            "session": session,
            "code": code.text,
            "campaign": campaign.id,
            "campaign_no": campaign.number,
            "serial": serial,
            "expires_on": code.expires_on.isoformat(),
            "reason": reason,
            "member_id": member,
        }
        if offer is not None:  # hq/wire.py: present exactly when the reason is "offer"
            payload["offer"] = offer
        record = OutboxRecord.new("coupon_issued", payload, occurred_at=now)
        return Issued(code, campaign.id, reason, offer), [record]

    @staticmethod
    def _issued_today(connection: Connection, campaign_id: str, day: date) -> int:
        return int(
            connection.execute(
                select(func.count())
                .select_from(_coupons)
                .where(_coupons.c.campaign == campaign_id, _coupons.c.local_day == day.isoformat())
            ).scalar_one()
        )

    @staticmethod
    def _wins(connection: Connection, draw_id: str, day: date) -> dict[str, int]:
        rows = connection.execute(
            select(_draws.c.prize, func.count())
            .where(
                _draws.c.draw == draw_id,
                _draws.c.local_day == day.isoformat(),
                _draws.c.prize.is_not(None),
            )
            .group_by(_draws.c.prize)
        )
        return {str(prize): int(count) for prize, count in rows}

    def _take_serial(self, connection: Connection) -> int | None:
        """The next serial of this kiosk number, or None when all are used."""
        found = connection.execute(
            select(_serials.c.next_serial).where(_serials.c.kiosk_no == self._kiosk_no)
        ).scalar_one_or_none()
        serial = 0 if found is None else int(found)
        if serial > MAX_SERIAL:
            if not self._exhaustion_logged:
                self._exhaustion_logged = True
                _log.error(
                    "kiosk number %d has issued all %d coupon serials; no more codes "
                    "until HQ gives this kiosk a new number",
                    self._kiosk_no,
                    MAX_SERIAL + 1,
                )
            return None
        if found is None:
            connection.execute(insert(_serials).values(kiosk_no=self._kiosk_no, next_serial=1))
        else:
            connection.execute(
                update(_serials)
                .where(_serials.c.kiosk_no == self._kiosk_no)
                .values(next_serial=serial + 1)
            )
        return serial

    def _member_hash(self, member: str) -> str:
        return hmac.new(self._member_key, member.encode("ascii"), hashlib.sha256).hexdigest()

    def _write(self, work: Callable[[Connection], tuple[_T, list[OutboxRecord]]]) -> _T:
        result, seqs = self._outbox.write_with(work)
        if seqs and self._on_written is not None:
            try:
                self._on_written(seqs)
            except Exception:
                _log.exception("on_written listener failed")
        return result


def _prepare(connection: Connection) -> tuple[None, list[OutboxRecord]]:
    prepare_reward_tables(connection)
    return None, []


def _member_text(member_id: uuid.UUID | str | None) -> str | None:
    """The member id in one spelling (HQ's member ids are UUIDs), so its hash is stable."""
    if member_id is None:
        return None
    try:
        return str(member_id if isinstance(member_id, uuid.UUID) else uuid.UUID(member_id))
    except ValueError:
        raise ValueError("member_id must be a UUID") from None


def _iso_utc(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds")
