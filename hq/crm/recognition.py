"""Member recognition at HQ: tag bindings and the member feed kiosks recognise members by.

A kiosk recognises a member by a fob or tag only if the member said yes to
recognition. HQ decides who is in the feed and hands every enrolled kiosk the
same list, as deltas:

- A feed entry is a bound tag (by its keyed hash) of a member whose newest
  recognition decision is "given": `member_id`, `greeting_name` (the name only
  if their newest sign-up allowed greeting by name), `last_viewed` (the last six
  distinct SKUs the person lifted), `last_seen` (their newest lift, to the hour:
  a kiosk's welcome says "3 days ago"; coarse, so lifts do not each change the
  entry), `personalised` (their newest personalisation decision is "given").
- `marketing`: their newest marketing decision, on any channel, is "given": a
  kiosk may make them member offers (rewards.offers). Only then does the entry
  carry what offers are decided on: the customer's loyalty `tier`, `tags` and
  `birth_month` (hq/crm/segments.py); without it, none of them (data
  minimisation), so a withdrawal takes them off every kiosk at its next sync.
- A person is a customer (all their member ids: consents, lifts and tags count
  across stores) or, before their sign-up reached HQ, a bare member id.
- Every change of an entry, including its removal, gives its row the next feed
  version. Removals stay as tombstones (the tag hash only) so deltas carry them,
  until `compact` deletes old ones; a kiosk asking from before that gets a reset.

Decisions are pure functions (`feed_content`, `last_viewed`, `changes`,
`needs_reset`, `members_touched`); the rest reads and writes in the caller's
transaction or its own.

Versions are handed out under a lock on the single `recognition_state` row, held
until commit, so feed versions become visible in the order they were handed
out: a kiosk that read up to version v never misses a change numbered below v.
The lock is taken before anything the decision depends on is read, so two
batches about one member cannot both decide from what the other had not yet
committed. Everything that writes feed rows takes it last, after its own row
locks, so it is never held while waiting for another row.

The chain's tag key (32 random bytes) is made on first use and kept in this
database, in `recognition_state`: every HQ process sharing the database uses the
same key, and backups keep it with the hashes it made. It is never rotated: HQ
keeps no raw tag ids to hash again under a new key.
"""

from __future__ import annotations

import base64
import logging
import secrets
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from sqlalchemy import Connection, Row, delete, false, func, select, true, update

from hq.crm import tags
from hq.crm.facts import ConsentDecision, Fact, Interaction, Signup, TagBound
from hq.db import (
    AnyInsert,
    Database,
    consents,
    customers,
    interactions,
    member_feed,
    member_ids,
    recognition_state,
    tag_bindings,
)
from hq.errors import HqError

_log = logging.getLogger("hq.recognition")

LAST_VIEWED_LENGTH: Final = 6
# What a greeting can show beside the name: a row of recent phones, not a history.

RECOGNITION: Final = "recognition"
"""The consent purpose that puts a member's tags in the feed."""
PERSONALISATION: Final = "personalisation"
"""The consent purpose that lets a kiosk recommend from a member's history (`personalised`)."""
MARKETING: Final = "marketing"
"""The consent purpose that lets a kiosk make member offers (`marketing`, and the segment)."""
FEED_PURPOSES: Final = (RECOGNITION, PERSONALISATION, MARKETING)
"""The consent purposes whose decisions change feed entries."""

TOMBSTONE_RETENTION: Final = timedelta(days=30)
# Kiosks sync every minute; one that was away for a month gets a full snapshot
# instead of the removals it missed. Longer would keep erased members' tag
# hashes around for no kiosk's sake.

_STATE_ID: Final = 1
FEED_STATE_ID: Final = _STATE_ID  # the row a heartbeat reads the feed's version from

UNBOUND_FROM: Final = (tag_bindings.name, member_feed.name)
"""Tables an unbinding deletes or overwrites rows of (for hq.crm.residue)."""


class UnknownMember(HqError, LookupError):
    def __init__(self) -> None:
        super().__init__("no such member: HQ has no sign-up for this member id")


class TagTaken(HqError):
    def __init__(self) -> None:
        super().__init__("this tag is bound to another member; unbind it there first")


class UnknownTag(HqError, LookupError):
    def __init__(self) -> None:
        super().__init__("this member has no tag with that hash")


# ---------------------------------------------------------------- decisions (pure)


@dataclass(frozen=True, slots=True)
class FeedContent:
    """What a kiosk learns about the member behind one tag."""

    member_id: str
    greeting_name: str | None
    last_viewed: tuple[str, ...]
    tier: str | None = field(default=None, repr=False)  # only with marketing consent
    last_seen: datetime | None = None
    personalised: bool = False  # may recommend from last_viewed (their consent)
    marketing: bool = field(default=False, repr=False)  # may make them offers (their consent)
    tags: tuple[str, ...] = field(default=(), repr=False)  # sorted; only with marketing
    birth_month: int | None = field(default=None, repr=False)  # only with marketing


@dataclass(frozen=True, slots=True)
class Person:
    """What the feed needs to know about one person."""

    recognition: bool  # their newest recognition decision is "given"
    name: str | None
    greet_by_name: bool  # as their newest sign-up said
    tier: str | None
    last_viewed: tuple[str, ...]
    last_seen: datetime | None = None  # their newest lift
    personalisation: bool = False  # their newest personalisation decision is "given"
    marketing: bool = False  # their newest marketing decision is "given"
    tags: tuple[str, ...] = ()
    birth_month: int | None = None


def feed_content(person: Person, member_id: str) -> FeedContent | None:
    """The entry for a tag bound to `member_id`; None: the tag is not in the feed."""
    if not person.recognition:
        return None
    offers = person.marketing  # the segment travels only with marketing consent
    return FeedContent(
        member_id=member_id,
        greeting_name=person.name if person.greet_by_name else None,
        last_viewed=person.last_viewed,
        tier=person.tier if offers else None,
        last_seen=to_the_hour(person.last_seen),
        personalised=person.personalisation,
        marketing=offers,
        tags=tuple(sorted(set(person.tags))) if offers else (),
        birth_month=person.birth_month if offers else None,
    )


def to_the_hour(moment: datetime | None) -> datetime | None:
    """`moment` in UTC, minutes and seconds dropped."""
    if moment is None:
        return None
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def last_viewed(skus_newest_first: Iterable[str]) -> tuple[str, ...]:
    """The first LAST_VIEWED_LENGTH distinct SKUs."""
    seen: dict[str, None] = {}
    for sku in skus_newest_first:
        seen.setdefault(sku, None)
        if len(seen) == LAST_VIEWED_LENGTH:
            break
    return tuple(seen)


_ABSENT: Final = object()


def changes(
    desired: Mapping[str, FeedContent | None], current: Mapping[str, FeedContent | None]
) -> list[tuple[str, FeedContent | None]]:
    """What to write, by tag hash (sorted): entries that differ from the current row.

    `current` maps a tag hash to its live entry, or to None for a tombstone; a tag
    with no row is absent. Removing a tag that is not live is no change.
    """
    found: list[tuple[str, FeedContent | None]] = []
    for tag_hash in sorted(desired):
        want = desired[tag_hash]
        have = current.get(tag_hash, _ABSENT)
        if want is None and (have is _ABSENT or have is None):
            continue
        if have != want:
            found.append((tag_hash, want))
    return found


def needs_reset(since: int, feed_version: int, compacted_through: int) -> bool:
    """Whether a kiosk that holds the feed up to `since` must start again from nothing.

    since 0: it holds nothing. Below `compacted_through`: removals it has not seen
    were deleted. Above `feed_version`: it holds another HQ's (or a restored
    database's) history.
    """
    return since == 0 or since < compacted_through or since > feed_version


def members_touched(facts: Iterable[Fact]) -> set[str]:
    """Member ids whose feed entries the facts may change."""
    touched: set[str] = set()
    for fact in facts:
        match fact:
            case Signup() | TagBound():
                touched.add(fact.member_id)
            case ConsentDecision() if fact.purpose in FEED_PURPOSES:
                touched.add(fact.member_id)
            case Interaction() if fact.kind == "lift" and fact.sku is not None:
                touched.add(fact.member_id)
    return touched


# ---------------------------------------------------------------- the state row


@dataclass(frozen=True, slots=True)
class _State:
    tag_key: bytes
    feed_version: int
    compacted_through: int


_STATE_ROW: Final = select(
    recognition_state.c.tag_key,
    recognition_state.c.feed_version,
    recognition_state.c.compacted_through,
).where(recognition_state.c.id == _STATE_ID)


def _read_state(connection: Connection, *, lock: bool = False) -> _State | None:
    row = connection.execute(_STATE_ROW.with_for_update() if lock else _STATE_ROW).one_or_none()
    if row is None:
        return None
    return _State(bytes(row.tag_key), int(row.feed_version), int(row.compacted_through))


def _state(database: Database, connection: Connection, *, lock: bool) -> _State:
    """The state row, made (with a fresh tag key) if there is none yet."""
    found = _read_state(connection, lock=lock)
    if found is None:
        connection.execute(
            database.insert(recognition_state)
            .values(
                id=_STATE_ID,
                tag_key=secrets.token_bytes(tags.TAG_KEY_BYTES),
                feed_version=0,
                compacted_through=0,
                created_at=datetime.now(UTC),
            )
            .on_conflict_do_nothing()
        )
        found = _read_state(connection, lock=lock)
        assert found is not None
    return found


def tag_key(database: Database) -> bytes:
    """The chain's tag key (made on first use)."""
    with database.read() as connection:
        row = connection.execute(
            select(recognition_state.c.tag_key).where(recognition_state.c.id == _STATE_ID)
        ).one_or_none()
    if row is not None:
        return bytes(row.tag_key)
    with database.write() as connection:
        return _state(database, connection, lock=False).tag_key


# ---------------------------------------------------------------- writing the feed


def refresh(
    database: Database, connection: Connection, touched: Iterable[str], *, now: datetime
) -> int:
    """Bring the feed entries of the people behind the `touched` member ids up to date,
    in the caller's transaction; how many entries changed (each got a new version).
    """
    wanted = sorted(set(touched))
    if not wanted:
        return 0
    state = _state(database, connection, lock=True)
    people = _people(connection, wanted)
    everyone = sorted({member for members in people.values() for member in members})
    bound = _bindings(connection, everyone)
    if not bound:
        return 0
    person_of = {member: key for key, members in people.items() for member in members}
    with_tags = {person_of[member] for member in bound.values()}
    known = _load_people(connection, {key: people[key] for key in with_tags})
    desired = {
        tag_hash: feed_content(known[person_of[member]], member)
        for tag_hash, member in bound.items()
    }
    return _write(database, connection, state, desired, now=now)


def remove_entries(
    database: Database,
    connection: Connection,
    *,
    tag_hashes: Iterable[str] = (),
    members: Iterable[str] = (),
    now: datetime,
) -> int:
    """Tombstone the live entries of these tags and of these members' tags, in the
    caller's transaction; how many were removed."""
    state = _state(database, connection, lock=True)
    hashes = set(tag_hashes)
    if wanted := sorted(set(members)):
        hashes.update(
            connection.execute(
                select(member_feed.c.tag_hash).where(
                    member_feed.c.member_id.in_(wanted), member_feed.c.removed == false()
                )
            ).scalars()
        )
    return _write(database, connection, state, dict.fromkeys(hashes), now=now)


def _write(
    database: Database,
    connection: Connection,
    state: _State,
    desired: Mapping[str, FeedContent | None],
    *,
    now: datetime,
) -> int:
    if not desired:
        return 0
    found = changes(desired, _current(connection, sorted(desired)))
    if not found:
        return 0
    first = state.feed_version + 1
    rows = [
        _feed_row(tag_hash, content, version, now)
        for version, (tag_hash, content) in enumerate(found, start=first)
    ]
    last = first + len(found) - 1

    def replace_row(insert: AnyInsert) -> AnyInsert:
        return insert.on_conflict_do_update(
            index_elements=[member_feed.c.tag_hash],
            set_={name: insert.excluded[name] for name in rows[0] if name != "tag_hash"},
        )

    database.insert_rows(connection, member_feed, rows, on_conflict=replace_row)
    connection.execute(
        update(recognition_state)
        .where(recognition_state.c.id == _STATE_ID)
        .values(feed_version=last)
    )
    removed = sum(content is None for _, content in found)
    _log.debug(
        "member feed: %d entries changed, %d removed; version %d",
        len(found) - removed,
        removed,
        last,
    )
    return len(found)


def _feed_row(
    tag_hash: str, content: FeedContent | None, version: int, now: datetime
) -> dict[str, Any]:
    if content is None:  # a tombstone keeps nothing about the member
        return {
            "tag_hash": tag_hash,
            "version": version,
            "removed": True,
            "member_id": None,
            "greeting_name": None,
            "last_viewed": None,
            "tier": None,
            "changed_at": now,
            "last_seen": None,
            "personalised": False,
            "marketing": False,
            "tags": None,
            "birth_month": None,
        }
    return {
        "tag_hash": tag_hash,
        "version": version,
        "removed": False,
        "member_id": content.member_id,
        "greeting_name": content.greeting_name,
        "last_viewed": list(content.last_viewed),
        "tier": content.tier,
        "changed_at": now,
        "last_seen": content.last_seen,
        "personalised": content.personalised,
        "marketing": content.marketing,
        "tags": list(content.tags),
        "birth_month": content.birth_month,
    }


_ENTRY: Final = (
    member_feed.c.tag_hash,
    member_feed.c.removed,
    member_feed.c.member_id,
    member_feed.c.greeting_name,
    member_feed.c.last_viewed,
    member_feed.c.tier,
    member_feed.c.last_seen,
    member_feed.c.personalised,
    member_feed.c.marketing,
    member_feed.c.tags,
    member_feed.c.birth_month,
)
"""The columns `_content` reads."""


def _current(connection: Connection, hashes: Sequence[str]) -> dict[str, FeedContent | None]:
    rows = connection.execute(select(*_ENTRY).where(member_feed.c.tag_hash.in_(hashes)))
    return {row.tag_hash: None if row.removed else _content(row) for row in rows}


def _content(row: Any) -> FeedContent:
    return FeedContent(
        member_id=row.member_id,
        greeting_name=row.greeting_name,
        last_viewed=tuple(row.last_viewed or ()),
        tier=row.tier,
        last_seen=row.last_seen,
        personalised=bool(row.personalised),
        marketing=bool(row.marketing),
        tags=tuple(row.tags or ()),
        birth_month=row.birth_month,
    )


def _people(connection: Connection, touched: Sequence[str]) -> dict[str, list[str]]:
    """Person key -> member ids: a customer's are all of theirs; a member id HQ has
    no sign-up for is a person of its own."""
    customer_of = {
        member: customer
        for member, customer in connection.execute(
            select(member_ids.c.member_id, member_ids.c.customer_id).where(
                member_ids.c.member_id.in_(touched)
            )
        )
    }
    people: dict[str, list[str]] = defaultdict(list)
    if customer_of:
        for member, customer in connection.execute(
            select(member_ids.c.member_id, member_ids.c.customer_id)
            .where(member_ids.c.customer_id.in_(sorted(set(customer_of.values()))))
            .order_by(member_ids.c.member_id)
        ):
            people[f"customer:{customer}"].append(member)
    for member in touched:
        if member not in customer_of:
            people[f"member:{member}"].append(member)
    return dict(people)


def _bindings(connection: Connection, members: Sequence[str]) -> dict[str, str]:
    """Tag hash -> member id, for the tags bound to `members`."""
    return {
        tag_hash: member
        for tag_hash, member in connection.execute(
            select(tag_bindings.c.tag_hash, tag_bindings.c.member_id).where(
                tag_bindings.c.member_id.in_(members)
            )
        )
    }


def _load_people(connection: Connection, people: Mapping[str, list[str]]) -> dict[str, Person]:
    """What the feed needs about each person, in four queries whatever their number."""
    members = sorted({member for group in people.values() for member in group})
    person_of = {member: key for key, group in people.items() for member in group}

    # (person, purpose) -> (when, row id, given) of the newest decision
    newest_decision: dict[tuple[str, str], tuple[datetime, int, bool]] = {}
    for member, purpose, given, occurred_at, row_id in connection.execute(
        select(
            consents.c.member_id,
            consents.c.purpose,
            consents.c.given,
            consents.c.occurred_at,
            consents.c.id,
        ).where(
            consents.c.member_id.in_(members),
            consents.c.purpose.in_(FEED_PURPOSES),
        )
    ):
        decided = (person_of[member], purpose)
        made = (occurred_at, int(row_id), bool(given))
        if decided not in newest_decision or made[:2] > newest_decision[decided][:2]:
            newest_decision[decided] = made

    newest_signup: dict[str, tuple[datetime, str, bool]] = {}  # (when, member id, greet)
    customer_ids: set[str] = set()
    for member, customer, signed_up_at, greet in connection.execute(
        select(
            member_ids.c.member_id,
            member_ids.c.customer_id,
            member_ids.c.signed_up_at,
            member_ids.c.greet_by_name,
        ).where(member_ids.c.member_id.in_(members))
    ):
        customer_ids.add(customer)
        key = person_of[member]
        signed = (signed_up_at, member, bool(greet))
        if key not in newest_signup or signed[:2] > newest_signup[key][:2]:
            newest_signup[key] = signed
    details = {
        f"customer:{row.customer_id}": row
        for row in connection.execute(
            select(
                customers.c.customer_id,
                customers.c.name,
                customers.c.tier,
                customers.c.tags,
                customers.c.birth_month,
            ).where(customers.c.customer_id.in_(sorted(customer_ids)))
        )
    }

    lifted: dict[str, dict[str, datetime]] = defaultdict(dict)
    for member, sku, last in connection.execute(
        select(interactions.c.member_id, interactions.c.sku, func.max(interactions.c.occurred_at))
        .where(
            interactions.c.member_id.in_(members),
            interactions.c.kind == "lift",
            interactions.c.sku.is_not(None),
        )
        .group_by(interactions.c.member_id, interactions.c.sku)
    ):
        skus = lifted[person_of[member]]
        if sku not in skus or last > skus[sku]:
            skus[sku] = last

    found: dict[str, Person] = {}
    for key in people:
        decision = newest_decision.get((key, RECOGNITION))
        personalisation = newest_decision.get((key, PERSONALISATION))
        marketing = newest_decision.get((key, MARKETING))
        signup = newest_signup.get(key)
        customer = details.get(key)  # None: a bare member id, no sign-up yet
        # Newest first; SKUs lifted at the same moment in name order (the sort is stable).
        newest_first = sorted(sorted(lifted.get(key, {}).items()), key=lambda i: i[1], reverse=True)
        found[key] = Person(
            recognition=decision is not None and decision[2],
            name=None if customer is None else customer.name,
            greet_by_name=signup is not None and signup[2],
            tier=None if customer is None else customer.tier,
            last_viewed=last_viewed(sku for sku, _ in newest_first),
            last_seen=newest_first[0][1] if newest_first else None,
            personalisation=personalisation is not None and personalisation[2],
            marketing=marketing is not None and marketing[2],
            tags=() if customer is None else tuple(customer.tags or ()),
            birth_month=None if customer is None else customer.birth_month,
        )
    return found


# ---------------------------------------------------------------- binding tags


@dataclass(frozen=True, slots=True)
class Binding:
    tag_hash: str
    member_id: str
    kind: str | None
    bound_at: datetime
    source: str
    store_id: str | None
    kiosk_id: str | None


def bind_tag(
    database: Database, member_id: str, kind: str, value: str, *, now: datetime
) -> tuple[Binding, bool]:
    """Bind a tag, given by its raw value, to a member; the binding and whether it is new.

    InvalidTag for a value that is not a tag of `kind`, UnknownMember for a member
    id without a sign-up, TagTaken if another member holds the tag. The raw value
    goes no further than the hash.
    """
    canonical = tags.canonical(kind, value)
    with database.write() as connection:
        key = _state(database, connection, lock=False).tag_key
        tag_hash = tags.tag_hash(key, canonical)
        if (
            connection.execute(
                select(member_ids.c.member_id).where(member_ids.c.member_id == member_id)
            ).first()
            is None
        ):
            raise UnknownMember()
        existing = connection.execute(
            select(tag_bindings).where(tag_bindings.c.tag_hash == tag_hash)
        ).one_or_none()
        if existing is not None:
            if existing.member_id != member_id:
                raise TagTaken()
            return _binding(existing), False
        connection.execute(
            tag_bindings.insert().values(
                tag_hash=tag_hash, member_id=member_id, kind=kind, bound_at=now, source="admin"
            )
        )
        refresh(database, connection, [member_id], now=now)
    _log.info("a tag was bound to a member by staff")
    return Binding(tag_hash, member_id, kind, now, "admin", None, None), True


def unbind_tag(database: Database, member_id: str, tag_hash: str, *, now: datetime) -> None:
    """Remove a member's tag (UnknownTag if they have none with that hash); kiosks drop
    it on their next delta."""
    with database.write() as connection:
        deleted = connection.execute(
            delete(tag_bindings).where(
                tag_bindings.c.tag_hash == tag_hash.lower(),
                tag_bindings.c.member_id == member_id,
            )
        ).rowcount
        if not deleted:
            raise UnknownTag()
        remove_entries(database, connection, tag_hashes=[tag_hash.lower()], now=now)
    _log.info("a tag was unbound from a member by staff")


def bindings_of(database: Database, member_id: str) -> list[Binding]:
    with database.read() as connection:
        rows = connection.execute(
            select(tag_bindings)
            .where(tag_bindings.c.member_id == member_id)
            .order_by(tag_bindings.c.bound_at, tag_bindings.c.tag_hash)
        ).all()
    return [_binding(row) for row in rows]


def binding_json(binding: Binding) -> dict[str, Any]:
    return {
        "tag_hash": binding.tag_hash,
        "member_id": binding.member_id,
        "kind": binding.kind,
        "bound_at": binding.bound_at.isoformat(),
        "source": binding.source,
        "store_id": binding.store_id,
        "kiosk_id": binding.kiosk_id,
    }


def _binding(row: Row[Any]) -> Binding:
    return Binding(
        tag_hash=row.tag_hash,
        member_id=row.member_id,
        kind=row.kind,
        bound_at=row.bound_at,
        source=row.source,
        store_id=row.store_id,
        kiosk_id=row.kiosk_id,
    )


def project_bindings(database: Database, connection: Connection, bound: Sequence[TagBound]) -> None:
    """Kiosks' tag_bound facts into `tag_bindings`: per tag, the newest binding wins
    (a fob handed to someone else at another kiosk moves to them)."""
    newest: dict[str, TagBound] = {}
    for fact in bound:
        held = newest.get(fact.tag_hash)
        if held is None or fact.origin.occurred_at >= held.origin.occurred_at:
            newest[fact.tag_hash] = fact
    rows = [
        {
            "tag_hash": fact.tag_hash,
            "member_id": fact.member_id,
            "kind": fact.tag_kind,
            "bound_at": fact.origin.occurred_at,
            "source": "kiosk",
            "store_id": fact.origin.store_id,
            "kiosk_id": fact.origin.kiosk_id,
            "event_id": fact.origin.event_id,
        }
        # In hash order: two batches binding the same tags lock them in the same order.
        for _, fact in sorted(newest.items())
    ]

    def newest_wins(insert: AnyInsert) -> AnyInsert:
        return insert.on_conflict_do_update(
            index_elements=[tag_bindings.c.tag_hash],
            set_={
                name: insert.excluded[name]
                for name in (
                    "member_id",
                    "kind",
                    "bound_at",
                    "source",
                    "store_id",
                    "kiosk_id",
                    "event_id",
                )
            },
            where=insert.excluded.bound_at >= tag_bindings.c.bound_at,
        )

    database.insert_rows(connection, tag_bindings, rows, on_conflict=newest_wins)


# ---------------------------------------------------------------- reading the feed


@dataclass(frozen=True, slots=True)
class FeedPage:
    version: int
    more: bool
    reset: bool
    tag_key: bytes
    upserts: tuple[tuple[str, FeedContent], ...]  # (tag hash, entry), in version order
    removed: tuple[str, ...]


def read_feed(database: Database, since: int, limit: int) -> FeedPage:
    """The feed's changes after version `since`, at most `limit` of them, oldest first.

    `version` is the last version the page covers: the newest row's when `more`,
    else the feed's own version. A reset page carries only live entries: the kiosk
    replaces everything it holds with the pages that follow.
    """
    if since < 0 or limit < 1:
        raise ValueError("since must be >= 0 and limit >= 1")
    with database.snapshot() as connection:
        state = _read_state(connection)
        if state is None:  # the first use: the tag key is made, committed, then read
            tag_key(database)
            return read_feed(database, since, limit)
        reset = needs_reset(since, state.feed_version, state.compacted_through)
        statement = select(member_feed.c.version, *_ENTRY).where(
            member_feed.c.version > (0 if reset else since)
        )
        if reset:
            statement = statement.where(member_feed.c.removed == false())
        rows = connection.execute(statement.order_by(member_feed.c.version).limit(limit + 1)).all()
    more = len(rows) > limit
    rows = rows[:limit]
    version = int(rows[-1].version) if more else state.feed_version
    return FeedPage(
        version=version,
        more=more,
        reset=reset,
        tag_key=state.tag_key,
        upserts=tuple((row.tag_hash, _content(row)) for row in rows if not row.removed),
        removed=tuple(row.tag_hash for row in rows if row.removed),
    )


def feed_page_json(page: FeedPage) -> dict[str, Any]:
    return {
        "version": page.version,
        "more": page.more,
        "reset": page.reset,
        "tag_key": base64.b64encode(page.tag_key).decode("ascii"),
        "upserts": [
            {
                "tag_hash": tag_hash,
                "member_id": content.member_id,
                "greeting_name": content.greeting_name,
                "last_viewed": list(content.last_viewed),
                "tier": content.tier,
                "last_seen": None if content.last_seen is None else content.last_seen.isoformat(),
                "personalised": content.personalised,
                "marketing": content.marketing,
                "tags": list(content.tags),
                "birth_month": content.birth_month,
            }
            for tag_hash, content in page.upserts
        ],
        "removed": list(page.removed),
    }


# ---------------------------------------------------------------- upkeep


def compact(database: Database, *, now: datetime, keep: timedelta = TOMBSTONE_RETENTION) -> int:
    """Delete tombstones older than `keep`; how many. Kiosks that had not seen them
    get a reset on their next request."""
    with database.write() as connection:
        state = _state(database, connection, lock=True)
        through = connection.execute(
            select(func.max(member_feed.c.version)).where(
                member_feed.c.removed == true(), member_feed.c.changed_at < now - keep
            )
        ).scalar_one_or_none()
        if through is None:
            return 0
        deleted = connection.execute(
            delete(member_feed).where(
                member_feed.c.removed == true(), member_feed.c.version <= through
            )
        ).rowcount
        connection.execute(
            update(recognition_state)
            .where(recognition_state.c.id == _STATE_ID)
            .values(compacted_through=max(state.compacted_through, int(through)))
        )
    _log.info("member feed: %d tombstones up to version %d compacted", deleted, through)
    return int(deleted)


@dataclass(frozen=True, slots=True)
class FeedStats:
    entries: int  # live: what a full snapshot holds
    tombstones: int
    version: int
    compacted_through: int
    bindings: int


def feed_stats(database: Database) -> FeedStats:
    with database.snapshot() as connection:
        state = connection.execute(
            select(recognition_state.c.feed_version, recognition_state.c.compacted_through)
        ).one_or_none()
        by_state = {
            bool(removed): int(count)
            for removed, count in connection.execute(
                select(member_feed.c.removed, func.count()).group_by(member_feed.c.removed)
            )
        }
        bindings = connection.execute(select(func.count()).select_from(tag_bindings)).scalar_one()
    return FeedStats(
        entries=int(by_state.get(False, 0)),
        tombstones=int(by_state.get(True, 0)),
        version=int(state.feed_version) if state else 0,
        compacted_through=int(state.compacted_through) if state else 0,
        bindings=int(bindings),
    )
