"""HQ's tables (SQLAlchemy Core) and the one way to open its database.

The same tables run on SQLite (a single shop's demo, a small chain) and on
PostgreSQL (the chain's HQ); `hq/migrations/` creates them, this module is the
reference that the migrations must match (a test compares them).

- Fleet: `stores`, `kiosks` (token hash, revocation, how far each kiosk's event
  stream is complete; `role` "kiosk" or "attendant": store staff devices are rows
  here too), `enrolment_codes` (hashes of one-time codes, with the role they enrol).
- Ingest: `events` (every accepted event once: event_id UNIQUE, (kiosk_id, seq)
  UNIQUE, `id` in arrival order), `rejections` (one row per rejected event, no
  payload), `access_denials` (batches refused for naming another store or kiosk).
- Dedupe (hq/crm/merges.py): `customer_merges` (every merge of two customer
  records, its undo and what undoing needs); `customers.merged_into` marks a
  record merged into another, `customers.address` is set by HQ staff;
  `customer_dismissals` (pairs a reviewer said are two people, hq/crm/dismissals.py).
- CRM projections: `customers` (one per E.164 phone number), `member_ids` (the
  kiosks' member ids, several per customer), `consents` (every decision),
  `interactions` (members' lifts, drops, comparisons, recommendation taps), `alarms`.
- Recognition: `tag_bindings` (a member's fobs and tags, by keyed hash only),
  `member_feed` (the kiosks' member feed: one row per tag hash, live or a
  tombstone, each with the feed version of its last change), `recognition_state`
  (one row: the chain's tag key, the feed's version counter, how far tombstones
  were compacted), `erased_members` (hashes of member ids whose personal data was
  erased).
- Surveys and coupons: `survey_answers`, `survey_completions`, `prize_draws` (what
  kiosks report), `coupons_issued` (one row per code a kiosk issued),
  `coupon_redemptions` (every redemption HQ learned of: at HQ, or reported by a
  store afterwards), `redeemed_coupons` (one row per redeemed code: the claim that
  makes a code single-use, and how many redemptions it has), `coupon_state` (one
  row: the chain's coupon secret). Kiosks get a chain-wide `kiosk_no` for codes.
- Store staff: `alert_acks` and `planogram_edits` (what attendant devices report).
- Content (hq/content/): `content_releases` (one chain-wide number per publish or
  revocation, its target and schedule), `content_release_files` and
  `content_planograms` (by SHA-256; the bytes are in the asset store),
  `kiosk_content_status` and `content_failures` (what kiosks report); stores'
  `region` and `store_tags` for targeting; `audit_log` (every content change).
- HQ staff: `console_staff` (web console accounts, roles, lockout state) and
  `console_staff_stores` (a store manager's stores).
- Fleet health (hq/fleet_health/): `kiosk_heartbeats` (each kiosk's last heartbeat),
  `heartbeat_history` (bounded), `fleet_alerts` (raised and cleared, one open per
  kiosk, kind and subject).

`Database` wraps the engine: `read()` for queries, `write()` for a transaction
that changes data. On SQLite, writers queue on a lock in this process and take
the file's write lock up front (BEGIN IMMEDIATE) instead of failing with
SQLITE_BUSY half way; PostgreSQL takes concurrent writers as they come.
"""

from __future__ import annotations

import json
import logging
import re
import select as select_module  # sqlalchemy's select is the one meant by `select`
import threading
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager, nullcontext
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Connection,
    Date,
    DateTime,
    Dialect,
    Engine,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Row,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    bindparam,
    cast,
    column,
    create_engine,
    event,
    false,
    func,
    make_url,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.pool import ConnectionPoolEntry
from sqlalchemy.sql.elements import ColumnElement

from hq.errors import SettingsError
from hq.private_files import private_dir, private_sqlite

_log = logging.getLogger("hq.db")

SQLITE_BUSY_TIMEOUT_MS: Final = 10_000
# Another process (the CLI beside a running HQ) may hold the write lock for a
# batch's transaction, tens of milliseconds; 10 s also rides out a WAL checkpoint.

POSTGRES_POOL_SIZE: Final = 40
# One connection per worker thread: Starlette runs sync endpoints on AnyIO's
# default pool of 40 threads, so a request never waits for a connection.

AnyInsert = sqlite.Insert | postgresql.Insert

_WRITE: Final = "hq_write_transaction"  # execution option, see _configure_sqlite

# Column sizes: the wire format's limits (docs/hq-api.md) and the data's own.
STORE_ID_LENGTH: Final = 40
KIOSK_ID_LENGTH: Final = 64
UUID_LENGTH: Final = 36
KIND_LENGTH: Final = 40
SHA256_HEX_LENGTH: Final = 64
REASON_LENGTH: Final = 500
NAME_LENGTH: Final = 100
TIER_LENGTH: Final = 40  # a loyalty tier: a slug, as offers.json names it
TAG_KIND_LENGTH: Final = 10
SLUG_LENGTH: Final = 40
COUPON_CODE_LENGTH: Final = 29
SURVEY_TEXT_LENGTH: Final = 500
REDEEMED_BY_LENGTH: Final = 64
ROLE_LENGTH: Final = 10
STAFF_ID_LENGTH: Final = 64
LABEL_LENGTH: Final = 40  # a store's region or tag: a slug, like store ids
ASSET_PATH_LENGTH: Final = 200  # content.model's AssetPath limit
ACTOR_LENGTH: Final = 64
ADDRESS_LENGTH: Final = 300

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


class UtcDateTime(TypeDecorator[datetime]):
    """A timezone-aware datetime, stored in UTC; SQLite keeps it without an offset."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.utcoffset() is None:
            raise ValueError("HQ stores timezone-aware datetimes only")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


# SQLite only gives INTEGER PRIMARY KEY (not BIGINT) the rowid's autoincrement.
_BigId = BigInteger().with_variant(Integer(), "sqlite")
_Json = JSON().with_variant(postgresql.JSONB(), "postgresql")
# PostgreSQL's own uuid type (16 bytes, not 36 characters): the event_id index takes
# every insert at a random place, so its size decides how much each batch writes.
# Python sees the canonical text form either way.
_EventId = String(UUID_LENGTH).with_variant(postgresql.UUID(as_uuid=False), "postgresql")

stores = Table(
    "stores",
    metadata,
    Column("store_id", String(STORE_ID_LENGTH), primary_key=True),
    Column("name", String(200), nullable=True),
    Column("created_at", UtcDateTime(), nullable=False),
    # How many kiosks this store has enrolled: the next kiosk id's number.
    Column("kiosks_enrolled", Integer, nullable=False),
    # How many kiosks share the store's daily coupon budgets and prize caps: each
    # active kiosk holds one seat and keeps to its part (rewards.issuing.StoreShare).
    # NULL: not said, and every kiosk of the store keeps to the whole of each budget.
    Column("kiosk_seats", Integer, nullable=True),
    # The version of the store's live-channel key (hq.channel_keys): bumped to rotate.
    Column("channel_key_id", Integer, nullable=False, server_default="1"),
    # How many attendant devices this store has enrolled: the next attendant id's number.
    Column("attendants_enrolled", Integer, nullable=False, server_default="0"),
    # Where the store is, for content targeting (`region:R`); NULL: none said.
    Column("region", String(LABEL_LENGTH), nullable=True, index=True),
    # Where the store stands (degrees, WGS 84), for the console's store map
    # (hq/store_places.py); NULL until HQ staff set them.
    Column("latitude", Float, nullable=True),
    Column("longitude", Float, nullable=True),
)

# Labels HQ staff give stores for content targeting (`tag:T`): "flagship", "mall".
store_tags = Table(
    "store_tags",
    metadata,
    Column("store_id", ForeignKey("stores.store_id"), primary_key=True),
    Column("tag", String(LABEL_LENGTH), primary_key=True),
    Index(None, "tag"),
)

kiosks = Table(
    "kiosks",
    metadata,
    Column("kiosk_id", String(KIOSK_ID_LENGTH), primary_key=True),
    Column("store_id", ForeignKey("stores.store_id"), nullable=False, index=True),
    Column("name", String(100), nullable=True),
    Column("token_sha256", String(SHA256_HEX_LENGTH), nullable=False, unique=True),
    Column("enrolled_at", UtcDateTime(), nullable=False),
    Column("revoked_at", UtcDateTime(), nullable=True),
    Column("last_seen_at", UtcDateTime(), nullable=True),
    # HQ holds (stored or rejected) every seq from 1 to contiguous_seq.
    Column("contiguous_seq", BigInteger, nullable=False),
    Column("highest_seq", BigInteger, nullable=False),
    # The kiosk's number inside coupon codes, chain-wide, never reused. Every kiosk has
    # one (migration 0003 numbered the kiosks enrolled before); NULL is allowed only
    # because SQLite cannot add a NOT NULL column without rebuilding the table.
    Column("kiosk_no", Integer, nullable=True),
    Index(None, "kiosk_no", unique=True),
    # Its seat among the store's `kiosk_seats` (NULL: enrolled before seats, or
    # revoked, which frees the seat for the kiosk that replaces it).
    Column("budget_seat", Integer, nullable=True),
    # "kiosk" or "attendant" (a staff device: no kiosk number, no seat, no member feed).
    Column("role", String(ROLE_LENGTH), nullable=False, server_default="kiosk"),
)

enrolment_codes = Table(
    "enrolment_codes",
    metadata,
    Column("code_sha256", String(SHA256_HEX_LENGTH), primary_key=True),
    Column("store_id", ForeignKey("stores.store_id"), nullable=False, index=True),
    Column("issued_at", UtcDateTime(), nullable=False),
    Column("expires_at", UtcDateTime(), nullable=False),
    Column("used_at", UtcDateTime(), nullable=True),
    Column("kiosk_id", ForeignKey("kiosks.kiosk_id"), nullable=True),
    # What the code enrols: "kiosk" or "attendant".
    Column("role", String(ROLE_LENGTH), nullable=False, server_default="kiosk"),
)

events = Table(
    "events",
    metadata,
    # Arrival order at HQ.
    Column("id", _BigId, primary_key=True, autoincrement=True),
    Column("event_id", _EventId, nullable=False, unique=True),
    # No foreign key: every row's kiosk comes from the authenticated kiosk, whose row
    # the inserting transaction locks; PostgreSQL's per-row check cost a fifth of
    # the insert.
    Column("kiosk_id", String(KIOSK_ID_LENGTH), nullable=False),
    Column("store_id", String(STORE_ID_LENGTH), nullable=False),
    Column("seq", BigInteger, nullable=False),
    Column("kind", String(KIND_LENGTH), nullable=False),
    Column("schema_version", Integer, nullable=False),
    Column("occurred_at", UtcDateTime(), nullable=False),
    Column("received_at", UtcDateTime(), nullable=False),
    Column("payload", _Json, nullable=False),
    UniqueConstraint("kiosk_id", "seq"),
)

rejections = Table(
    "rejections",
    metadata,
    Column("id", _BigId, primary_key=True, autoincrement=True),
    Column("kiosk_id", ForeignKey("kiosks.kiosk_id"), nullable=False),
    Column("store_id", String(STORE_ID_LENGTH), nullable=False),
    Column("event_id", String(UUID_LENGTH), nullable=False),
    Column("seq", BigInteger, nullable=False),
    Column("kind", String(KIND_LENGTH), nullable=False),
    Column("schema_version", Integer, nullable=False),
    Column("reason", String(REASON_LENGTH), nullable=False),
    Column("rejected_at", UtcDateTime(), nullable=False),
    # A kiosk that retries a rejected event (its answer was lost) adds no second row.
    UniqueConstraint("kiosk_id", "event_id", "seq"),
    Index(None, "kiosk_id", "seq"),
)

access_denials = Table(
    "access_denials",
    metadata,
    Column("id", _BigId, primary_key=True, autoincrement=True),
    Column("kiosk_id", ForeignKey("kiosks.kiosk_id"), nullable=False, index=True),
    Column("store_id", String(STORE_ID_LENGTH), nullable=False),
    Column("events_refused", Integer, nullable=False),
    Column("detail", String(200), nullable=False),
    Column("denied_at", UtcDateTime(), nullable=False),
)

customers = Table(
    "customers",
    metadata,
    Column("customer_id", String(UUID_LENGTH), primary_key=True),
    Column("phone_e164", String(16), nullable=False, unique=True),
    Column("email", String(254), nullable=True, index=True),
    Column("name", String(NAME_LENGTH), nullable=True),
    Column("language", String(35), nullable=True),
    # When and where the first sign-up HQ received for this number happened.
    Column("created_at", UtcDateTime(), nullable=False),
    Column("first_store_id", String(STORE_ID_LENGTH), nullable=False),
    # What member offers are decided on (hq/crm/segments.py), set by HQ staff or the
    # chain's loyalty system: the loyalty tier and tags (slugs: "gold"; ["vip"], NULL
    # for none; not fobs, which are tag_bindings) and the birth month (1-12: HQ keeps
    # no birth date). Kiosks get them only with marketing consent (hq/crm/recognition.py).
    Column("tier", String(TIER_LENGTH), nullable=True),
    Column("tags", _Json, nullable=True),
    Column("birth_month", Integer, nullable=True),
    # Dedupe and households (hq/crm/dedupe.py, hq/crm/merges.py): a postal address HQ
    # staff may set (kiosks never ask for one), its normalised form for matching, and
    # the customer this record was merged into (NULL: a live record). No foreign key:
    # SQLite cannot add one to an existing table without rebuilding it.
    Column("address", String(ADDRESS_LENGTH), nullable=True),
    Column("address_key", String(ADDRESS_LENGTH), nullable=True, index=True),
    Column("merged_into", String(UUID_LENGTH), nullable=True, index=True),
)

member_ids = Table(
    "member_ids",
    metadata,
    Column("member_id", String(UUID_LENGTH), primary_key=True),
    Column("customer_id", ForeignKey("customers.customer_id"), nullable=False, index=True),
    Column("store_id", String(STORE_ID_LENGTH), nullable=False),
    Column("kiosk_id", String(KIOSK_ID_LENGTH), nullable=False),
    Column("signed_up_at", UtcDateTime(), nullable=False),
    # What this sign-up said about greeting the member by name; a customer's newest
    # sign-up decides.
    Column("greet_by_name", Boolean, nullable=False, server_default=false()),
)

# Consents and interactions name the kiosk's member id, not the customer: a
# member's events may reach HQ before their sign-up does. Queries join member_ids.
consents = Table(
    "consents",
    metadata,
    Column("id", _BigId, primary_key=True, autoincrement=True),
    Column("event_id", String(UUID_LENGTH), nullable=False, unique=True),
    Column("member_id", String(UUID_LENGTH), nullable=False, index=True),
    Column("purpose", String(20), nullable=False),
    Column("channel", String(10), nullable=True),
    Column("notice_version", String(50), nullable=False),
    Column("notice_sha256", String(SHA256_HEX_LENGTH), nullable=False),
    Column("given", Boolean, nullable=False),
    # Where the decision was made: "kiosk" (a consent event, or a phone sign-up
    # through a kiosk's link: store and kiosk say which) or "hq" (staff recorded
    # it, say a withdrawal by phone: no store or kiosk, `recorded_by` says who).
    Column("source", String(10), nullable=False, server_default="kiosk"),
    Column("recorded_by", String(REDEEMED_BY_LENGTH), nullable=True),
    Column("store_id", String(STORE_ID_LENGTH), nullable=True),
    Column("kiosk_id", String(KIOSK_ID_LENGTH), nullable=True),
    Column("occurred_at", UtcDateTime(), nullable=False),
)

interactions = Table(
    "interactions",
    metadata,
    Column("id", _BigId, primary_key=True, autoincrement=True),
    Column("event_id", String(UUID_LENGTH), nullable=False, unique=True),
    Column("member_id", String(UUID_LENGTH), nullable=False, index=True),
    Column("kind", String(KIND_LENGTH), nullable=False),
    Column("store_id", String(STORE_ID_LENGTH), nullable=False),
    Column("kiosk_id", String(KIOSK_ID_LENGTH), nullable=False),
    Column("occurred_at", UtcDateTime(), nullable=False),
    Column("session", String(100), nullable=False),
    Column("sku", String(100), nullable=True),
    Column("slot", Integer, nullable=True),
    # What the kind adds: dwell_ms for a drop, skus for a comparison, shelf and from
    # for a recommendation tap.
    Column("details", _Json, nullable=False),
)

alarms = Table(
    "alarms",
    metadata,
    Column("id", _BigId, primary_key=True, autoincrement=True),
    Column("event_id", String(UUID_LENGTH), nullable=False, unique=True),
    Column("store_id", String(STORE_ID_LENGTH), nullable=False),
    Column("kiosk_id", String(KIOSK_ID_LENGTH), nullable=False),
    Column("slot", Integer, nullable=False),
    Column("sku", String(100), nullable=True),
    Column("reason", String(100), nullable=False),
    Column("occurred_at", UtcDateTime(), nullable=False),
    Index(None, "store_id", "occurred_at"),
)

# ---------------------------------------------------------------- recognition

# Raw tag ids are never stored: only their keyed hash (hq/crm/tags.py).
tag_bindings = Table(
    "tag_bindings",
    metadata,
    Column("tag_hash", String(SHA256_HEX_LENGTH), primary_key=True),
    Column("member_id", String(UUID_LENGTH), nullable=False, index=True),
    Column("kind", String(TAG_KIND_LENGTH), nullable=True),  # a tag_bound event may omit it
    Column("bound_at", UtcDateTime(), nullable=False),
    # "kiosk" (a tag_bound event: store, kiosk and event below) or "admin".
    Column("source", String(10), nullable=False),
    Column("store_id", String(STORE_ID_LENGTH), nullable=True),
    Column("kiosk_id", String(KIOSK_ID_LENGTH), nullable=True),
    Column("event_id", String(UUID_LENGTH), nullable=True),
)

# One row per tag hash the feed ever carried. A change gives the row the next feed
# version; a removal keeps the row as a tombstone (no member data) so that deltas
# can carry it, until `compact` deletes it.
member_feed = Table(
    "member_feed",
    metadata,
    Column("tag_hash", String(SHA256_HEX_LENGTH), primary_key=True),
    Column("version", BigInteger, nullable=False, unique=True),
    Column("removed", Boolean, nullable=False),
    Column("member_id", String(UUID_LENGTH), nullable=True),
    Column("greeting_name", String(NAME_LENGTH), nullable=True),
    Column("last_viewed", _Json, nullable=True),
    Column("tier", String(TIER_LENGTH), nullable=True),
    Column("changed_at", UtcDateTime(), nullable=False),
    Column("last_seen", UtcDateTime(), nullable=True),  # the newest lift, to the hour
    # The member consented to personalised recommendations (hq.analytics.model's shelves).
    Column("personalised", Boolean, nullable=False, server_default=false()),
    # The member's newest marketing decision is "given": kiosks may make them offers
    # (rewards.offers). tier, tags and birth_month are set only then (NULL otherwise).
    Column("marketing", Boolean, nullable=False, server_default=false()),
    Column("tags", _Json, nullable=True),
    Column("birth_month", Integer, nullable=True),
)

recognition_state = Table(
    "recognition_state",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),  # always 1
    Column("tag_key", LargeBinary(), nullable=False),
    Column("feed_version", BigInteger, nullable=False),  # the last version handed out
    # Tombstones up to this version were deleted: an older `since` gets a reset.
    Column("compacted_through", BigInteger, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
)

# An erased member's later events (from a kiosk that was offline) are stored
# without their personal data and projected nowhere. By the member id's SHA-256:
# the id itself would be what is left of the person (hq/crm/erasure.py).
erased_members = Table(
    "erased_members",
    metadata,
    Column("member_sha256", String(SHA256_HEX_LENGTH), primary_key=True),
    Column("erased_at", UtcDateTime(), nullable=False),
)


# ---------------------------------------------------------------- surveys and coupons

# Kiosks' reports. member_id is NULL for an anonymous shopper, and after an erasure.
survey_answers = Table(
    "survey_answers",
    metadata,
    Column("id", _BigId, primary_key=True, autoincrement=True),
    Column("event_id", String(UUID_LENGTH), nullable=False, unique=True),
    Column("member_id", String(UUID_LENGTH), nullable=True, index=True),
    Column("store_id", String(STORE_ID_LENGTH), nullable=False),
    Column("kiosk_id", String(KIOSK_ID_LENGTH), nullable=False),
    Column("occurred_at", UtcDateTime(), nullable=False),
    Column("session", String(100), nullable=False),
    Column("survey", String(SLUG_LENGTH), nullable=False),
    Column("question", String(SLUG_LENGTH), nullable=False),
    Column("kind", String(10), nullable=False),
    # By kind: score (smiley 1-4, nps 0-10), choices (single, multiple), text. All
    # NULL: an optional question skipped.
    Column("score", Integer, nullable=True),
    Column("choices", _Json, nullable=True),
    Column("text", String(SURVEY_TEXT_LENGTH), nullable=True),
    Column("low", Boolean, nullable=False),  # at or below the survey's alert score
    Index(None, "survey", "occurred_at"),
)

survey_completions = Table(
    "survey_completions",
    metadata,
    Column("id", _BigId, primary_key=True, autoincrement=True),
    Column("event_id", String(UUID_LENGTH), nullable=False, unique=True),
    Column("member_id", String(UUID_LENGTH), nullable=True, index=True),
    Column("store_id", String(STORE_ID_LENGTH), nullable=False),
    Column("kiosk_id", String(KIOSK_ID_LENGTH), nullable=False),
    Column("occurred_at", UtcDateTime(), nullable=False),
    Column("session", String(100), nullable=False),
    Column("survey", String(SLUG_LENGTH), nullable=False),
    Column("answers", Integer, nullable=False),
    Column("reward_code", String(COUPON_CODE_LENGTH), nullable=True),
    Index(None, "survey", "occurred_at"),
)

prize_draws = Table(
    "prize_draws",
    metadata,
    Column("id", _BigId, primary_key=True, autoincrement=True),
    Column("event_id", String(UUID_LENGTH), nullable=False, unique=True),
    Column("member_id", String(UUID_LENGTH), nullable=True, index=True),
    Column("store_id", String(STORE_ID_LENGTH), nullable=False),
    Column("kiosk_id", String(KIOSK_ID_LENGTH), nullable=False),
    Column("occurred_at", UtcDateTime(), nullable=False),
    Column("session", String(100), nullable=False),
    Column("draw", String(SLUG_LENGTH), nullable=False),
    Column("prize", String(SLUG_LENGTH), nullable=True),  # NULL: no win
    Column("code", String(COUPON_CODE_LENGTH), nullable=True),
    Index(None, "draw", "occurred_at"),
)

# Codes are kept in their formatted form (XXXX-...-XXXX, upper case), as HQ prints them.
coupons_issued = Table(
    "coupons_issued",
    metadata,
    Column("code", String(COUPON_CODE_LENGTH), primary_key=True),
    Column("kiosk_no", Integer, nullable=False),
    Column("serial", Integer, nullable=False),
    Column("campaign_no", Integer, nullable=False),
    Column("campaign", String(SLUG_LENGTH), nullable=False),
    Column("expires_on", Date, nullable=False),
    Column("reason", String(10), nullable=False),  # "survey", "draw" or "signup"
    Column("member_id", String(UUID_LENGTH), nullable=True, index=True),
    Column("session", String(100), nullable=False),
    Column("store_id", String(STORE_ID_LENGTH), nullable=False),
    Column("kiosk_id", String(KIOSK_ID_LENGTH), nullable=False),
    Column("event_id", String(UUID_LENGTH), nullable=False, unique=True),
    Column("issued_at", UtcDateTime(), nullable=False),
    Column("received_at", UtcDateTime(), nullable=False),
)

# Every redemption HQ learned of: "hq" (redeemed through HQ, which refuses a second
# one) or "store" (a coupon_redeemed event: a store redeemed it offline and reported
# it later; always kept, even as a second redemption of its code).
coupon_redemptions = Table(
    "coupon_redemptions",
    metadata,
    Column("id", _BigId, primary_key=True, autoincrement=True),
    Column("code", String(COUPON_CODE_LENGTH), nullable=False, index=True),
    Column("kiosk_no", Integer, nullable=False),
    Column("serial", Integer, nullable=False),
    Column("campaign_no", Integer, nullable=False),
    Column("store_id", String(STORE_ID_LENGTH), nullable=False),
    Column("redeemed_by", String(REDEEMED_BY_LENGTH), nullable=False),
    Column("redeemed_at", UtcDateTime(), nullable=False),
    Column("source", String(10), nullable=False),
    Column("kiosk_id", String(KIOSK_ID_LENGTH), nullable=True),  # the reporting kiosk
    Column("event_id", String(UUID_LENGTH), nullable=True, unique=True),
    Column("recorded_at", UtcDateTime(), nullable=False),
)

# One row per redeemed code. Its primary key makes a code single-use at HQ: two
# redemptions racing through HQ cannot both insert it. Reported redemptions add to
# `redemptions`; two or more is a double redemption.
redeemed_coupons = Table(
    "redeemed_coupons",
    metadata,
    Column("code", String(COUPON_CODE_LENGTH), primary_key=True),
    Column("kiosk_no", Integer, nullable=False),
    Column("serial", Integer, nullable=False),
    Column("redemptions", Integer, nullable=False),
    Index(None, "redemptions"),
)

coupon_state = Table(
    "coupon_state",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),  # always 1
    Column("secret", LargeBinary(), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
)

# ---------------------------------------------------------------- store staff

# What attendant devices report (hq.store_actions): who acknowledged a kiosk's alert
# and how long after it, and who changed a kiosk's planogram slot. `attendant_id` is
# the reporting device (a `kiosks` row of role "attendant"), `kiosk_id` the kiosk
# of the alert or planogram, of the same store; `*_by` is a staff id, not a name.
alert_acks = Table(
    "alert_acks",
    metadata,
    Column("id", _BigId, primary_key=True, autoincrement=True),
    Column("event_id", String(UUID_LENGTH), nullable=False, unique=True),
    Column("store_id", String(STORE_ID_LENGTH), nullable=False),
    Column("attendant_id", String(KIOSK_ID_LENGTH), nullable=False),
    Column("kiosk_id", String(KIOSK_ID_LENGTH), nullable=False),
    Column("alert_seq", BigInteger, nullable=False),
    Column("alert_kind", String(KIND_LENGTH), nullable=False),
    Column("acked_by", String(STAFF_ID_LENGTH), nullable=False),
    Column("after_s", Float, nullable=False),
    Column("occurred_at", UtcDateTime(), nullable=False),
    Index(None, "store_id", "occurred_at"),
)

planogram_edits = Table(
    "planogram_edits",
    metadata,
    Column("id", _BigId, primary_key=True, autoincrement=True),
    Column("event_id", String(UUID_LENGTH), nullable=False, unique=True),
    Column("store_id", String(STORE_ID_LENGTH), nullable=False),
    Column("attendant_id", String(KIOSK_ID_LENGTH), nullable=False),
    Column("kiosk_id", String(KIOSK_ID_LENGTH), nullable=False),
    Column("slot", Integer, nullable=False),
    Column("sku_before", String(100), nullable=True),  # NULL: the slot was empty
    Column("sku_after", String(100), nullable=False),
    Column("edited_by", String(STAFF_ID_LENGTH), nullable=False),
    Column("occurred_at", UtcDateTime(), nullable=False),
    Index(None, "store_id", "occurred_at"),
)

# One row per "continue on your phone" link used: the key makes a link single-use.
handoff_uses = Table(
    "handoff_uses",
    metadata,
    Column("kiosk_no", Integer, primary_key=True, autoincrement=False),
    Column("nonce", String(16), primary_key=True),
    Column("kiosk_id", String(KIOSK_ID_LENGTH), nullable=False),
    Column("expires_at", UtcDateTime(), nullable=False),  # the link's; for forget_spent
    Column("used_at", UtcDateTime(), nullable=False),
)

# HQ staff who sign in to the web console (hq.console.staff). `email` is kept
# lowercased (the sign-in name); `password_hash` is Argon2id (argon2-cffi's
# encoded form). `failed_sign_ins` and `last_failed_at` decide the lockout;
# `session_epoch` is in every session cookie, and moving it on (disable, new
# password) ends that member's sessions at once. Store managers have their
# stores in `console_staff_stores`.
console_staff = Table(
    "console_staff",
    metadata,
    Column("staff_id", Integer, primary_key=True, autoincrement=True),
    Column("email", String(254), nullable=False, unique=True),
    Column("name", String(NAME_LENGTH), nullable=False),
    Column("role", String(20), nullable=False),
    Column("password_hash", String(200), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("disabled_at", UtcDateTime(), nullable=True),
    Column("failed_sign_ins", Integer, nullable=False, server_default="0"),
    Column("last_failed_at", UtcDateTime(), nullable=True),
    Column("last_sign_in_at", UtcDateTime(), nullable=True),
    Column("session_epoch", Integer, nullable=False, server_default="1"),
)

console_staff_stores = Table(
    "console_staff_stores",
    metadata,
    Column("staff_id", ForeignKey("console_staff.staff_id"), primary_key=True),
    Column("store_id", ForeignKey("stores.store_id"), primary_key=True),
)


# ---------------------------------------------------------------- content (hq/content/)

# One chain-wide sequence: every publish and every revocation takes the next number,
# so a kiosk can refuse any number below the highest it accepted (rollback attack).
# `target_kind` "all", "region", "tag" or "store", `target_value` the region, tag or
# store (NULL for "all"). `reverts`: this release was made by revoking that one;
# its kiosks get the files of what they ran before it (hq.content.manifest).
content_releases = Table(
    "content_releases",
    metadata,
    Column("release_id", _BigId, primary_key=True, autoincrement=True),
    Column("name", String(200), nullable=False),
    Column("target_kind", String(10), nullable=False),
    Column("target_value", String(LABEL_LENGTH), nullable=True),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("created_by", String(ACTOR_LENGTH), nullable=False),
    Column("not_before", UtcDateTime(), nullable=True),  # NULL: at once
    Column("expires", UtcDateTime(), nullable=True),  # NULL: rolling, 30 days ahead
    # The bundle's own manifest `release` (informative: kiosks install it as hq-<N>).
    Column("bundle_release", String(64), nullable=False),
    # "folder" (a bundle directory or upload), "edit" (of `base_release`), "revert",
    # "model" (`base_release` with a recommendation model: hq.analytics.model.ship).
    Column("source", String(10), nullable=False),
    Column("base_release", BigInteger, nullable=True),
    Column("reverts", BigInteger, nullable=True),
    Column("revoked_at", UtcDateTime(), nullable=True),
    Column("revoked_by", String(ACTOR_LENGTH), nullable=True),
    Index(None, "target_kind", "target_value"),
)

# Every file of a release but manifest.json (the kiosk writes its own), by hash.
content_release_files = Table(
    "content_release_files",
    metadata,
    Column("release_id", ForeignKey("content_releases.release_id"), primary_key=True),
    Column("path", String(ASSET_PATH_LENGTH), primary_key=True),
    Column("sha256", String(SHA256_HEX_LENGTH), nullable=False),
    Column("size", BigInteger, nullable=False),
)

# A kiosk's own planogram in a release (`planograms/<kiosk_id>.json` of the bundle):
# its manifest names this file as planogram.json.
content_planograms = Table(
    "content_planograms",
    metadata,
    Column("release_id", ForeignKey("content_releases.release_id"), primary_key=True),
    Column("kiosk_id", String(KIOSK_ID_LENGTH), primary_key=True),
    Column("sha256", String(SHA256_HEX_LENGTH), nullable=False),
    Column("size", BigInteger, nullable=False),
)

# What each kiosk last reported of its content (POST /v1/content/status).
kiosk_content_status = Table(
    "kiosk_content_status",
    metadata,
    Column("kiosk_id", String(KIOSK_ID_LENGTH), primary_key=True),
    Column("store_id", String(STORE_ID_LENGTH), nullable=False, index=True),
    Column("active", BigInteger, nullable=True),
    Column("ready", _Json, nullable=False),  # release numbers downloaded, not yet switched to
    Column("downloading", BigInteger, nullable=True),
    Column("bytes_done", BigInteger, nullable=True),
    Column("bytes_total", BigInteger, nullable=True),
    Column("reported_at", UtcDateTime(), nullable=False),
)

# What kiosks refused or failed, once per id (the kiosk's uuid4): a resent report adds
# nothing. Of `download` failures only each kiosk's latest is kept.
content_failures = Table(
    "content_failures",
    metadata,
    Column("id", _BigId, primary_key=True, autoincrement=True),
    Column("failure_id", String(UUID_LENGTH), nullable=False, unique=True),
    Column("kiosk_id", String(KIOSK_ID_LENGTH), nullable=False, index=True),
    Column("store_id", String(STORE_ID_LENGTH), nullable=False),
    Column("release_id", BigInteger, nullable=True, index=True),
    Column("reason", String(20), nullable=False),
    Column("detail", String(300), nullable=False),
    Column("occurred_at", UtcDateTime(), nullable=False),
    Column("received_at", UtcDateTime(), nullable=False),
)

# ---------------------------------------------------------------- fleet health (hq/fleet_health/)


def _heartbeat_columns() -> list[Column[Any]]:
    """What a kiosk's heartbeat says (POST /v1/heartbeat): the same in both tables below."""
    return [
        Column("store_id", String(STORE_ID_LENGTH), nullable=False),
        Column("received_at", UtcDateTime(), nullable=False),
        Column("app_version", String(40), nullable=False),
        Column("content_release", String(64), nullable=True),
        Column("devices", _Json, nullable=False),  # [{"name", "state", "detail"}]
        Column("sync_state", String(20), nullable=True),
        Column("backlog", BigInteger, nullable=False),
        Column("dead_letters", BigInteger, nullable=False),
        Column("disk_free", BigInteger, nullable=True),
        Column("disk_total", BigInteger, nullable=True),
        Column("uptime_s", BigInteger, nullable=False),
        Column("last_crash_at", UtcDateTime(), nullable=True),
        Column("last_crash_kind", String(20), nullable=True),
        Column("last_crash_what", String(100), nullable=True),
        Column("screen", String(10), nullable=False),  # on, off, unknown
    ]


# Each kiosk's last heartbeat: one row per kiosk, replaced by the next.
kiosk_heartbeats = Table(
    "kiosk_heartbeats",
    metadata,
    Column("kiosk_id", String(KIOSK_ID_LENGTH), primary_key=True),
    *_heartbeat_columns(),
    Index(None, "store_id"),
)

# A bounded history (hq.fleet_health.store: every change and one row per 10 minutes,
# kept 7 days) for a kiosk's detail page.
heartbeat_history = Table(
    "heartbeat_history",
    metadata,
    Column("id", _BigId, primary_key=True, autoincrement=True),
    Column("kiosk_id", String(KIOSK_ID_LENGTH), nullable=False),
    *_heartbeat_columns(),
    Index(None, "kiosk_id", "received_at"),
)

# Alerts raised on heartbeats (hq.fleet_health.alerts), each with when it was raised and
# cleared. `subject`: the device of a `device` alert, else "". At most one open alert per
# (kiosk, kind, subject): the partial unique index makes raising idempotent, whichever
# HQ worker sweeps.
fleet_alerts = Table(
    "fleet_alerts",
    metadata,
    Column("id", _BigId, primary_key=True, autoincrement=True),
    Column("kiosk_id", String(KIOSK_ID_LENGTH), nullable=False),
    Column("store_id", String(STORE_ID_LENGTH), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("subject", String(40), nullable=False, server_default=""),
    Column("detail", String(200), nullable=False, server_default=""),
    Column("raised_at", UtcDateTime(), nullable=False),
    Column("cleared_at", UtcDateTime(), nullable=True),
    Index(
        "uq_fleet_alerts_open",
        "kiosk_id",
        "kind",
        "subject",
        unique=True,
        sqlite_where=column("cleared_at").is_(None),
        postgresql_where=column("cleared_at").is_(None),
    ),
    Index(None, "raised_at"),
)

# Remote commands from HQ staff to one kiosk (hq.fleet_health.commands): signed at
# issue (`envelope`, the exact JSON delivered), handed out once in a heartbeat's
# answer (`delivered_at`), finished by the kiosk's result (`status`, `detail`, and a
# screenshot's PNG or the logs' text in `file`, bounded). No status after
# `expires_at`: expired.
kiosk_commands = Table(
    "kiosk_commands",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("kiosk_id", String(KIOSK_ID_LENGTH), nullable=False),
    Column("store_id", String(STORE_ID_LENGTH), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("issued_by", String(ACTOR_LENGTH), nullable=False),
    Column("issued_at", UtcDateTime(), nullable=False),
    Column("expires_at", UtcDateTime(), nullable=False),
    Column("envelope", Text(), nullable=False),
    Column("delivered_at", UtcDateTime(), nullable=True),
    Column("status", String(10), nullable=True),
    Column("detail", String(200), nullable=False, server_default=""),
    Column("finished_at", UtcDateTime(), nullable=True),
    Column("file_type", String(40), nullable=True),
    Column("file", LargeBinary(), nullable=True),
    Index(None, "kiosk_id", "issued_at"),
)

# ---------------------------------------------------------------- audit

# Every change HQ staff make to content (CLI, admin API, console): who, what, when.
audit_log = Table(
    "audit_log",
    metadata,
    Column("id", _BigId, primary_key=True, autoincrement=True),
    Column("at", UtcDateTime(), nullable=False, index=True),
    Column("actor", String(ACTOR_LENGTH), nullable=False),
    Column("action", String(40), nullable=False),
    Column("target", String(200), nullable=False),
    Column("detail", _Json, nullable=False),
)

# Proof of play (hq.plays): what each kiosk's attract loop showed, summed per UTC
# hour, item and campaign ("" for none: a key column cannot be NULL) from the
# kiosks' `play_counts` events, each added once (it is projected when stored).
play_hours = Table(
    "play_hours",
    metadata,
    Column("kiosk_id", String(KIOSK_ID_LENGTH), primary_key=True),
    Column("hour", UtcDateTime(), primary_key=True),
    Column("item", String(ASSET_PATH_LENGTH), primary_key=True),
    Column("campaign", String(SLUG_LENGTH), primary_key=True),
    Column("store_id", String(STORE_ID_LENGTH), nullable=False),
    Column("shows", BigInteger, nullable=False),
    Column("ms", BigInteger, nullable=False),
    Column("lifted", BigInteger, nullable=False),
    Index(None, "hour"),
)

# ---------------------------------------------------------------- dedupe (hq/crm/merges.py)

# One row per merge of two customer records: `merged_id` was merged into
# `survivor_id`. `snapshot` holds what undoing it needs (both records as they were,
# the member ids moved, the consent rows the merge added); it is personal data, so
# an undo clears it and an erasure deletes the row.
customer_merges = Table(
    "customer_merges",
    metadata,
    Column("merge_id", _BigId, primary_key=True, autoincrement=True),
    Column("survivor_id", String(UUID_LENGTH), nullable=False, index=True),
    Column("merged_id", String(UUID_LENGTH), nullable=False, index=True),
    Column("reasons", _Json, nullable=False),  # the finder's rules, or [] for by hand
    Column("merged_by", String(ACTOR_LENGTH), nullable=False),
    Column("merged_at", UtcDateTime(), nullable=False),
    Column("undone_by", String(ACTOR_LENGTH), nullable=True),
    Column("undone_at", UtcDateTime(), nullable=True),
    Column("snapshot", _Json, nullable=True),
)

# One row per pair of customer records a reviewer said are two people (hq.crm.
# dismissals): `first_id` < `second_id`. `reasons` are the finder's rules the pair
# met then; the pair is shown again only if it meets another. Undoing deletes the
# row; an erasure of either record deletes it too.
customer_dismissals = Table(
    "customer_dismissals",
    metadata,
    Column("first_id", String(UUID_LENGTH), primary_key=True),
    Column("second_id", String(UUID_LENGTH), primary_key=True, index=True),
    Column("reasons", _Json, nullable=False),
    Column("dismissed_by", String(ACTOR_LENGTH), nullable=False),
    Column("dismissed_at", UtcDateTime(), nullable=False),
)


# ---------------------------------------------------------------- CRM connectors (hq/analytics/crm)

# One row per external CRM connector ("hubspot", "salesforce"): how far HQ's changes
# were queued (`consents_cursor`: consents.id; `signups_cursor`: events.id of
# sign-ups; `events_cursor`/`events_horizon`: interactions.id), how far the CRM's
# changes were read (`pull_cursor`, the CRM's own time text), the last round, and
# the lease that lets one HQ worker at a time run a round.
crm_sync_state = Table(
    "crm_sync_state",
    metadata,
    Column("connector", String(20), primary_key=True),
    Column("consents_cursor", BigInteger, nullable=False, server_default="0"),
    Column("signups_cursor", BigInteger, nullable=False, server_default="0"),
    Column("events_cursor", BigInteger, nullable=False, server_default="0"),
    Column("events_horizon", BigInteger, nullable=False, server_default="0"),
    Column("pull_cursor", String(40), nullable=True),
    Column("last_round_at", UtcDateTime(), nullable=True),
    Column("last_success_at", UtcDateTime(), nullable=True),
    Column("last_error", String(200), nullable=True),  # never personal data
    Column("rate_limit", String(100), nullable=True),  # the CRM's last usage header
    Column("customers_sent", BigInteger, nullable=False, server_default="0"),
    Column("customers_deleted", BigInteger, nullable=False, server_default="0"),
    Column("events_sent", BigInteger, nullable=False, server_default="0"),
    Column("opt_outs", BigInteger, nullable=False, server_default="0"),
    # The CRM's other changes (migration 0020): contact fields applied, and phone
    # numbers changed at the CRM (reported, never applied: the phone is the identity).
    Column("changes_applied", BigInteger, nullable=False, server_default="0"),
    Column("phone_conflicts", BigInteger, nullable=False, server_default="0"),
    Column("lease_holder", String(64), nullable=True),
    Column("lease_until", UtcDateTime(), nullable=True),
)

# Customers whose record must be (re)sent to a connector's CRM: one row each, until
# the CRM accepted or refused it.
crm_queue = Table(
    "crm_queue",
    metadata,
    Column("connector", String(20), primary_key=True),
    Column("customer_id", String(UUID_LENGTH), primary_key=True),
    Column("queued_at", UtcDateTime(), nullable=False),
)

# What each CRM holds of each customer, as HQ last sent it: the CRM's own id, a hash
# of the whole record (an unchanged record is not sent again) and the consent flags
# sent (only flags HQ changed are sent, so an opt-out made at the CRM meanwhile is
# not overwritten). A row whose customer is gone (erased) is deleted at the CRM.
crm_records = Table(
    "crm_records",
    metadata,
    Column("connector", String(20), primary_key=True),
    Column("customer_id", String(UUID_LENGTH), primary_key=True),
    Column("external_id", String(64), nullable=True),
    Column("sent_sha256", String(SHA256_HEX_LENGTH), nullable=False),
    Column("sent_consents", String(100), nullable=False),
    Column("sent_at", UtcDateTime(), nullable=False),
    # Short hashes of the contact fields sent (CustomerRecord.fields_text, migration
    # 0020): a CRM value that differs is a change the CRM made. NULL: sent before.
    Column("sent_fields", String(400), nullable=True),
)

# What a CRM refused, with its reason (an error code and field names: never values).
# `kind` "customer", "delete", "event" or "change" (a CRM's value HQ refused);
# `subject` a customer id or an event id.
crm_dead_letters = Table(
    "crm_dead_letters",
    metadata,
    Column("id", _BigId, primary_key=True, autoincrement=True),
    Column("connector", String(20), nullable=False),
    Column("kind", String(10), nullable=False),
    Column("subject", String(UUID_LENGTH), nullable=False),
    Column("reason", String(REASON_LENGTH), nullable=False),
    Column("refused_at", UtcDateTime(), nullable=False),
    Index(None, "connector", "refused_at"),
)


# ---------------------------------------------------------------- recommendation model

# Till receipts imported from a sales export (`kiosk-hq model import-sales`,
# hq.analytics.model.sales): one row per SKU of a receipt, anonymous. A line
# imported again (same store, receipt and SKU) is skipped, not counted twice.
sales_lines = Table(
    "sales_lines",
    metadata,
    Column("id", _BigId, primary_key=True, autoincrement=True),
    Column("store_id", String(STORE_ID_LENGTH), nullable=False),
    Column("receipt", String(64), nullable=False),
    Column("sku", String(100), nullable=False),
    Column("sold_at", UtcDateTime(), nullable=False, index=True),
    Column("quantity", Integer, nullable=False),
    Column("imported_at", UtcDateTime(), nullable=False),
    UniqueConstraint("store_id", "receipt", "sku"),
)

# Every trained model version (`kiosk-hq model train`, hq.analytics.model.versions):
# its tables as shipped to kiosks (recommender.json's content) and its held-out
# week's figures, which decide whether it may ship.
recommendation_models = Table(
    "recommendation_models",
    metadata,
    Column("model_id", Integer, primary_key=True, autoincrement=True),
    Column("trained_at", UtcDateTime(), nullable=False),  # the `now` it was trained at
    Column("created_at", UtcDateTime(), nullable=False),
    Column("created_by", String(ACTOR_LENGTH), nullable=False),
    Column("half_life_days", Float, nullable=False),
    Column("events", BigInteger, nullable=False),
    Column("visits", BigInteger, nullable=False),
    Column("evaluation", _Json, nullable=True),  # None: too little data for a held-out week
    Column("document", _Json, nullable=False),
    Column("shipped_release", Integer, nullable=True),
)


# ---------------------------------------------------------------- analytics (hq/analytics/)

# Each rollup of hq.analytics.rollup in six tables: per store or chain-wide, per UTC
# hour, day or month, with the same dimensions and summed measures. Pages read the
# smallest ones that answer (a year is read from months, with the days and hours at
# the range's two edges). `rollup_marks` says how far each source was rolled.
ROLLUP_VARIANTS: Final = tuple(
    f"{scope}_{unit}" for scope in ("store", "chain") for unit in ("hours", "days", "months")
)


def _rollup_tables(
    name: str, dimensions: Sequence[tuple[str, Any]], measures: Sequence[str]
) -> dict[str, Table]:
    tables = {}
    for variant in ROLLUP_VARIANTS:
        per_store = variant.startswith("store")
        keys = [
            Column("at", UtcDateTime(), primary_key=True),
            *([Column("store_id", String(STORE_ID_LENGTH), primary_key=True)] if per_store else []),
            *(Column(dimension, kind, primary_key=True) for dimension, kind in dimensions),
        ]
        tables[variant] = Table(
            f"rollup_{name}_{variant}",
            metadata,
            *keys,
            *(Column(measure, BigInteger, nullable=False) for measure in measures),
            *([Index(None, "store_id", "at")] if per_store else []),
        )
    return tables


_SKU = ("sku", String(100))  # "" for a lift of an empty or unknown slot
_SLUG = String(SLUG_LENGTH)

rollup_products = _rollup_tables(
    "products",
    [_SKU, ("slot", Integer)],  # slot 0: a comparison (no slot)
    # returned_lifts: a member's lifts in a visit after which they came back (a later
    # visit, any store), counted at that visit's start and store, in no slot (0).
    ["lifts", "putbacks", "dwell_ms", "compared", "member_lifts", "returned_lifts"],
)
rollup_dwell = _rollup_tables("dwell", [_SKU, ("seconds", Integer)], ["drops"])
# Per store without products: a chain's year of stores in ~365 rows per store.
rollup_stores = _rollup_tables(
    "stores",
    [],
    [
        *("lifts", "putbacks", "dwell_ms", "lift_sessions", "signups"),
        *("visits", "repeat_visits", "gap_s", "gaps"),
        *("smiley_answers", "smiley_top", "nps_answers", "promoters", "detractors"),
        *("coupons_issued", "coupons_redeemed"),
    ],
)
rollup_surveys = _rollup_tables(
    "surveys",
    [("survey", _SLUG), ("question", _SLUG), ("kind", String(10)), ("score", Integer)],
    ["answers"],  # score -1: a choice or text answer, or a skipped question
)
rollup_reasons = _rollup_tables(
    "reasons", [("survey", _SLUG), ("question", _SLUG), ("choice", _SLUG)], ["answers"]
)
rollup_coupons = _rollup_tables("coupons", [("campaign", _SLUG)], ["issued", "redeemed"])
rollup_draws = _rollup_tables("draws", [("draw", _SLUG), ("prize", _SLUG)], ["draws"])

# How far each source was rolled: events up to `through` (their ids, arrival order).
rollup_marks = Table(
    "rollup_marks",
    metadata,
    Column("source", String(40), primary_key=True),
    Column("through", BigInteger, nullable=False),
    Column("rolled_at", UtcDateTime(), nullable=True),
    # The newest hour (occurred_at) of what was rolled: the pages' "up to HH:MM".
    Column("newest", UtcDateTime(), nullable=True),
)

# Facts that span several events, kept so that each is counted once: a kiosk session
# with a lift, a member's session (a visit), a member's visits so far, a survey
# session's low answer and its reasons not yet counted.
rollup_lift_sessions = Table(
    "rollup_lift_sessions",
    metadata,
    Column("kiosk_id", String(KIOSK_ID_LENGTH), primary_key=True),
    Column("session", String(100), primary_key=True),
    Column("store_id", String(STORE_ID_LENGTH), nullable=False),
    Column("at", UtcDateTime(), nullable=False),
    Column("through", BigInteger, nullable=False, index=True),
)

rollup_member_sessions = Table(
    "rollup_member_sessions",
    metadata,
    Column("kiosk_id", String(KIOSK_ID_LENGTH), primary_key=True),
    Column("session", String(100), primary_key=True),
    Column("member_id", String(UUID_LENGTH), nullable=False),
    Column("store_id", String(STORE_ID_LENGTH), nullable=False),
    Column("at", UtcDateTime(), nullable=False),
    Column("through", BigInteger, nullable=False, index=True),
    Column("is_repeat", Integer, nullable=True),  # set by the members step: 0 or 1
    Column("gap_s", BigInteger, nullable=True),  # since the member's previous visit
    # The member's lifts in this visit not yet counted as "came back" ({sku: lifts}),
    # and whether they came back since (then later lifts count at once).
    Column("lifts", _Json, nullable=True),
    Column("returned", Boolean, nullable=False, server_default=false()),
)

rollup_members = Table(
    "rollup_members",
    metadata,
    Column("member_id", String(UUID_LENGTH), primary_key=True),
    Column("visits", Integer, nullable=False),
    Column("last_at", UtcDateTime(), nullable=False),
    Column("last_kiosk", String(KIOSK_ID_LENGTH), nullable=True),  # their latest visit
    Column("last_session", String(100), nullable=True),
)

rollup_survey_sessions = Table(
    "rollup_survey_sessions",
    metadata,
    Column("kiosk_id", String(KIOSK_ID_LENGTH), primary_key=True),
    Column("session", String(100), primary_key=True),
    Column("survey", _SLUG, primary_key=True),
    Column("low", Boolean, nullable=False),
    Column("pending", _Json, nullable=False),  # [[question, choice, at]] until a low answer
)


class CopyConflict(Exception):
    """A row of a COPY broke a unique constraint: nothing of it was written, and the
    transaction must be rolled back (COPY has no ON CONFLICT)."""


def normalise_url(url: str) -> URL:
    """`url` as SQLAlchemy opens it: plain postgresql:// URLs use psycopg 3."""
    try:
        parsed = make_url(url)
    except Exception as exc:  # ArgumentError, ValueError: both mean "not a URL"
        raise SettingsError("the database URL cannot be parsed") from exc
    backend = parsed.get_backend_name()
    if backend in {"postgresql", "postgres"}:
        if parsed.drivername in {"postgresql", "postgres"}:
            parsed = parsed.set(drivername="postgresql+psycopg")
        return parsed
    if backend == "sqlite":
        if parsed.database in {None, "", ":memory:"}:
            # Each pooled connection would see its own empty database.
            raise SettingsError("HQ needs an SQLite file, not an in-memory database")
        return parsed
    raise SettingsError(f"unsupported database {backend!r}: use sqlite:/// or postgresql://")


def describe_url(url: str | URL) -> str:
    """The URL for logs and messages, without its password."""
    parsed = url if isinstance(url, URL) else make_url(url)
    return parsed.render_as_string(hide_password=True)


class Database:
    """HQ's engine, and how its code reads and writes."""

    def __init__(self, url: str | URL) -> None:
        self.url = normalise_url(url) if isinstance(url, str) else url
        self.is_sqlite = self.url.get_backend_name() == "sqlite"
        # hide_parameters: error messages would otherwise quote phone numbers and names.
        if self.is_sqlite:
            assert self.url.database is not None
            path = Path(self.url.database)
            if not path.parent.exists():
                private_dir(path.parent)
            # Every customer, the tag key and the coupon secret: HQ's user's eyes only.
            private_sqlite(path)
            self.engine = create_engine(self.url, hide_parameters=True)
            _configure_sqlite(self.engine)
        else:
            self.engine = create_engine(
                self.url,
                hide_parameters=True,
                pool_size=POSTGRES_POOL_SIZE,
                max_overflow=10,
            )
            _drop_closed_connections(self.engine)
        self._writes = self.engine.execution_options(**{_WRITE: True})
        # PostgreSQL: reads in autocommit. READ COMMITTED takes a snapshot per statement
        # anyway, so a read sees the same without the BEGIN and ROLLBACK round trips
        # around it (a token check is one statement: three round trips become one).
        self._reads = (
            self.engine
            if self.is_sqlite
            else self.engine.execution_options(isolation_level="AUTOCOMMIT")
        )
        # On SQLite, one writer at a time: waiting on a lock beats retrying SQLITE_BUSY.
        self._write_lock: threading.Lock | None = threading.Lock() if self.is_sqlite else None

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A connection to read on (no writes: on PostgreSQL each statement commits)."""
        with self._reads.connect() as connection:
            yield connection

    @contextmanager
    def snapshot(self) -> Iterator[Connection]:
        """Like `read()`, but every query in the block sees the same committed state.

        SQLite's read transaction is a snapshot already (WAL); PostgreSQL's default
        READ COMMITTED takes a new one per statement, so this asks for REPEATABLE
        READ (which never fails a transaction that only reads).
        """
        with self.engine.connect() as connection:
            if self.is_sqlite:
                yield connection
            else:
                yield connection.execution_options(isolation_level="REPEATABLE READ")

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A transaction that commits when the block ends and rolls back on an exception."""
        with self._write_lock or nullcontext(), self._writes.begin() as connection:
            yield connection

    def insert(self, table: Table) -> sqlite.Insert | postgresql.Insert:
        """The dialect's INSERT, which has ON CONFLICT."""
        if self.is_sqlite:
            return sqlite.insert(table)
        return postgresql.insert(table)

    def insert_rows(
        self,
        connection: Connection,
        table: Table,
        rows: Sequence[Mapping[str, Any]],
        *,
        on_conflict: Callable[[AnyInsert], AnyInsert] | None = None,
        returning: Sequence[ColumnElement[Any]] = (),
    ) -> Sequence[Row[Any]]:
        """Insert `rows` (all with the same keys) in ONE statement; the RETURNING rows.

        `on_conflict` adds the dialect's ON CONFLICT clause to the insert it is given.
        SQLite gets `INSERT ... VALUES (...), (...)` (SQLAlchemy's insertmanyvalues).
        PostgreSQL gets `INSERT ... SELECT ... FROM json_to_recordset(:rows)`, all
        rows in one JSON parameter: a statement with thousands of placeholders would
        be parsed again by psycopg on every batch (it caches only short queries),
        and arrays per column are adapted element by element in Python; either
        costs more than PostgreSQL's own work.
        """
        if not rows:
            return []
        if self.is_sqlite:
            statement: AnyInsert = sqlite.insert(table)
        else:
            statement = _recordset_insert(table, rows)
        if on_conflict is not None:
            statement = on_conflict(statement)
        if returning:
            returned = statement.returning(*returning)
            if self.is_sqlite:
                return connection.execute(returned, list(rows)).all()
            return connection.execute(returned).all()
        if self.is_sqlite:
            connection.execute(statement, list(rows))
        else:
            connection.execute(statement)
        return []

    def append_rows(
        self, connection: Connection, table: Table, rows: Sequence[Mapping[str, Any]]
    ) -> None:
        """Insert `rows` (all with the same keys) that no constraint can refuse, such as
        the projections of events just accepted: COPY on PostgreSQL, else `insert_rows`.
        A row that is refused all the same fails the statement, as an INSERT would."""
        if self.is_sqlite or not rows:
            self.insert_rows(connection, table, rows)
            return
        names = list(rows[0])
        self.copy_rows(connection, table, names, [[row[name] for name in names] for row in rows])

    def copy_rows(
        self,
        connection: Connection,
        table: Table,
        names: Sequence[str],
        rows: Iterable[Sequence[Any]],
        *,
        same: Mapping[str, Any] | None = None,
        json_text: Collection[str] = (),
    ) -> None:
        """PostgreSQL: COPY `rows` (tuples of the `names` columns) into `table`, each
        with the columns in `same` (the same in every row) after its own. The JSON
        columns named in `json_text` hold JSON text already (pydantic's, say).

        Several times faster than any INSERT for PostgreSQL, but it has no ON CONFLICT:
        a row breaking a unique constraint fails the whole COPY (CopyConflict), so
        callers use it where they expect none (see hq.ingest). Times must be
        timezone-aware, as UtcDateTime wants; JSON columns take what json.dumps takes.
        The rows go as one block of COPY's text format made here: psycopg's row writer
        took twice as long.
        """
        columns = list(zip(*rows, strict=True)) or [() for _ in names]
        self.copy_columns(
            connection,
            table,
            dict(zip(names, columns, strict=True)),
            same=same,
            json_text=json_text,
        )

    def copy_columns(
        self,
        connection: Connection,
        table: Table,
        columns: Mapping[str, Sequence[Any]],
        *,
        same: Mapping[str, Any] | None = None,
        json_text: Collection[str] = (),
    ) -> None:
        """`copy_rows` for rows given column by column (each the same length), which
        a caller holding objects makes in C: `list(map(attrgetter(name), objects))`."""
        assert not self.is_sqlite, "COPY is PostgreSQL's"
        # Here, not at the top: a single store's HQ on SQLite never loads psycopg (0.2 s).
        import psycopg  # noqa: PLC0415
        from psycopg import sql  # noqa: PLC0415

        same = same or {}
        names = list(columns)
        if len({len(values) for values in columns.values()}) > 1:
            raise ValueError("every column needs a value for each row")
        # Column by column: each column's values go through its encoder in one map(),
        # most of them in C.
        texts = [
            _copy_escaped(values) if name in json_text else _copy_column(table.c[name].type, values)
            for name, values in columns.items()
        ]
        tail = "".join(
            f"\t{_copy_column(table.c[name].type, [value])[0]}" for name, value in same.items()
        )
        text = "".join([f"{line}{tail}\n" for line in map("\t".join, zip(*texts, strict=True))])
        statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
            sql.Identifier(table.name), sql.SQL(", ").join(map(sql.Identifier, [*names, *same]))
        )
        driver = connection.connection.driver_connection
        assert isinstance(driver, psycopg.Connection)
        try:
            with driver.cursor() as cursor, cursor.copy(statement) as copy:
                copy.write(text)
        except psycopg.errors.UniqueViolation:
            raise CopyConflict(table.name) from None

    def checkpoint(self) -> bool:
        """SQLite: copy the WAL into the database file and empty the WAL (TRUNCATE);
        False if a reader that stayed past the busy timeout kept it from completing.

        On a DB-API connection of its own (no BEGIN: a checkpoint cannot run inside
        a transaction), under this process's write lock, so no writer here is
        half way through a transaction the checkpoint would wait for."""
        assert self.is_sqlite, "PostgreSQL has no WAL file of HQ's to checkpoint"
        with self._write_lock or nullcontext():
            raw = self.engine.raw_connection()
            try:
                cursor = raw.cursor()
                try:
                    (busy, _frames, _copied) = cursor.execute(
                        "PRAGMA wal_checkpoint(TRUNCATE)"
                    ).fetchone()
                finally:
                    cursor.close()
            finally:
                raw.close()
        return not busy

    def vacuum(self, tables: Sequence[str]) -> None:
        """PostgreSQL: VACUUM these tables (outside any transaction, as it must run)."""
        assert not self.is_sqlite, "SQLite's deleted rows are zeroed as they go (secure_delete)"
        quote = self.engine.dialect.identifier_preparer.quote_identifier
        with self.engine.connect() as connection:
            autocommit = connection.execution_options(isolation_level="AUTOCOMMIT")
            for table in tables:
                autocommit.exec_driver_sql(f"VACUUM {quote(table)}")

    def dispose(self) -> None:
        self.engine.dispose()


def _recordset_insert(table: Table, rows: Sequence[Mapping[str, Any]]) -> postgresql.Insert:
    names = list(rows[0])
    times = [name for name in names if isinstance(table.c[name].type, UtcDateTime)]
    if times:
        rows = _times_as_text(rows, times)
    # json.dumps knows no dates either; ISO text is what json_to_recordset reads as one.
    if days := [name for name in names if isinstance(table.c[name].type, Date)]:
        rows = [
            {**row, **{name: None if row[name] is None else row[name].isoformat() for name in days}}
            for row in rows
        ]
    # One JSON array parameter: encoded by the json module's C encoder here, decoded
    # by PostgreSQL's C parser there, whatever the number of rows.
    document = json.dumps(rows, ensure_ascii=False, separators=(",", ":"))
    source = (
        func.json_to_recordset(cast(bindparam("rows", document, type_=Text), postgresql.JSON))
        .table_valued(*(column(name, table.c[name].type) for name in names))
        .render_derived(with_types=True)
    )
    return postgresql.insert(table).from_select(names, select(*(source.c[n] for n in names)))


_COPY_SPECIAL: Final = re.compile(r"[\\\t\n\r]")
_COPY_ESCAPES: Final = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
_COPY_NULL: Final = "\\N"
_NAIVE_TIME: Final = re.compile(r"^.{19}[^+\-\n]*$", re.MULTILINE)  # no offset after the time
_json_text: Final = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def _copy_escaped(texts: Sequence[str]) -> Sequence[str]:
    if _COPY_SPECIAL.search("".join(texts)) is None:
        return texts
    return [text.translate(_COPY_ESCAPES) for text in texts]


def _copy_column(column_type: Any, values: Sequence[Any]) -> Sequence[str]:
    """A column's values as COPY's text format writes them."""
    if isinstance(column_type, JSON):  # where None is JSON's null, as SQLAlchemy has it
        return _copy_escaped(list(map(_json_text, values)))  # no raw control characters
    if None in values:
        present = [value for value in values if value is not None]
        written = iter(_copy_column(column_type, present))
        return [_COPY_NULL if value is None else next(written) for value in values]
    if isinstance(column_type, UtcDateTime):
        texts = list(map(datetime.isoformat, values))
        # An aware time's text ends in its offset (PostgreSQL stores the instant); only
        # the date before the time has a "-". One search of them all, in C.
        if _NAIVE_TIME.search("\n".join(texts)):
            raise ValueError("HQ stores timezone-aware datetimes only")
        return texts
    if isinstance(column_type, Integer):  # BigInteger is one too
        return list(map(str, map(int, values)))
    if isinstance(column_type, String):  # Text is one too; event ids are uuid text
        return _copy_escaped(list(map(str, values)))
    raise TypeError(f"no COPY text format for {column_type!r} here")


def _times_as_text(rows: Sequence[Mapping[str, Any]], names: list[str]) -> list[dict[str, Any]]:
    # Memoised: a batch's rows share received_at, and often occurred_at values.
    texts: dict[datetime, str] = {}

    def text(moment: datetime) -> str:
        found = texts.get(moment)
        if found is None:
            if moment.utcoffset() is None:
                raise ValueError("HQ stores timezone-aware datetimes only")
            found = texts[moment] = moment.isoformat()
        return found

    return [
        {**row, **{name: None if row[name] is None else text(row[name]) for name in names}}
        for row in rows
    ]


def _drop_closed_connections(engine: Engine) -> None:
    """A restarted PostgreSQL leaves dead pooled connections: each is dropped on
    checkout, so no request fails on one.

    Instead of pool_pre_ping's `SELECT 1`, a round trip on every checkout (a fifth of
    a heartbeat's), the socket is polled: an idle connection has nothing to read
    unless the server ended it (a restart or a killed backend sends its FATAL
    notice and closes), so a readable socket means dead; the pool then connects
    afresh (DisconnectionError on checkout)."""

    @event.listens_for(engine, "checkout")
    def _check(dbapi_connection: Any, record: ConnectionPoolEntry, proxy: Any) -> None:
        if dbapi_connection.closed or _readable(dbapi_connection.fileno()):
            raise DisconnectionError("PostgreSQL closed this pooled connection")


def _readable(fd: int) -> bool:
    poller = select_module.poll()
    poller.register(fd, select_module.POLLIN | select_module.POLLERR | select_module.POLLHUP)
    return bool(poller.poll(0))


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _entry: ConnectionPoolEntry) -> None:
        # Transaction control moves from the sqlite3 module to _begin (the recipe in
        # SQLAlchemy's pysqlite docs), so writes can start with BEGIN IMMEDIATE.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS:d}")
            (mode,) = cursor.execute("PRAGMA journal_mode = WAL").fetchone()
            if str(mode).lower() != "wal":
                raise SettingsError(f"the file system of {engine.url.database} has no WAL support")
            cursor.execute("PRAGMA synchronous = FULL")
            cursor.execute("PRAGMA foreign_keys = ON")
            # Deleted rows (an erased person) are overwritten with zeros, not left in
            # free space: whatever the SQLite library was built with.
            cursor.execute("PRAGMA secure_delete = ON")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection: Connection) -> None:
        if connection.get_execution_options().get(_WRITE, False):
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            connection.exec_driver_sql("BEGIN")
