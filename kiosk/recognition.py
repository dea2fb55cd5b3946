"""Tag sightings become members here, on the reader's thread, before anything reaches Qt.

Readers report `TagSeen` / `TagAway` with the raw tag id. The recogniser hashes
it at once with the chain's tag key (HMAC: the contract in docs/hq-api.md) and
looks the hash up in the member directory the relay child keeps from HQ's feed
(read here through `backend_client.member_reader.MemberReader`, which loads no
SQLAlchemy; until the relay child has made the file, nobody is recognised). Only
members who consented to recognition are in that feed, so a tag that is not
there, a non-member's or a member's who said no, ends here: nothing is stored,
and the trace gets an anonymous count. A fob's keyed hash goes on as `TagPresented`:
the screen answers it neutrally ("not recognised"), and the sign-up's last screen
links it to the new member. Raw ids
never leave this module; the directory lookup (SQLite) runs on the reader's
thread, never on the GUI thread.

Events that are not about tags pass through unchanged.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Protocol

from backend_client.member_file import Member, tag_hash
from devices.events import DeviceEvent, TagAway, TagKind, TagSeen
from kiosk.session import MemberArrived, MemberLeft, MemberVisit, TagPresented
from kiosk.trace import Trace

log = logging.getLogger("kiosk.recognition")

RecognitionEvent = DeviceEvent | MemberArrived | MemberLeft | TagPresented


class Directory(Protocol):
    """The part of backend_client.member_reader.MemberReader the recogniser uses."""

    def key(self) -> bytes | None: ...

    def lookup(self, hashed: str) -> Member | None: ...


class Recogniser:
    """The readers' `on_event`: passes device events on to `post`, tags as members."""

    def __init__(
        self, directory: Directory, post: Callable[[RecognitionEvent], None], trace: Trace
    ) -> None:
        self._directory = directory
        self._post = post
        self._trace = trace
        self._lock = threading.Lock()  # readers call from threads of their own
        self._present: dict[str, str] = {}  # tag hash -> member id, while the tag is near
        self._unknown = 0
        self._failing = False

    @property
    def unknown_count(self) -> int:
        """Sightings of tags that belong to no consenting member, since start."""
        return self._unknown

    def on_event(self, event: DeviceEvent) -> None:
        match event:
            case TagSeen():
                self._seen(event)
            case TagAway():
                self._away(event)
            case _:
                self._post(event)

    def _seen(self, seen: TagSeen) -> None:
        with self._lock:
            hashed, member = self._lookup(seen)
            if member is None:
                self._unknown += 1
                unknown = self._unknown
            elif hashed is not None:
                self._present[hashed] = member.member_id
        if member is None:
            self._trace.emit("tag", mono=seen.at, reader=seen.reader, unknown=unknown)
            if seen.tag.kind is TagKind.RFID:
                # Only a fob held to the reader: a BLE tag walking past binds nothing and
                # is not answered. The screen's answer is the same whether or not the fob
                # is anyone's, and whether or not the feed has arrived (hash None).
                self._post(TagPresented(hashed, seen.tag.kind.value))
            return
        self._trace.emit("tag", mono=seen.at, reader=seen.reader, member=True)
        visit = MemberVisit(
            member_id=member.member_id,
            greeting_name=member.greeting_name,
            last_viewed=tuple(member.last_viewed),
            last_seen=member.last_seen,
            personalised=member.personalised,
            # What member offers are decided on (rewards.offers): HQ's feed carries the
            # tier, tags and birth month only with marketing consent.
            marketing=member.marketing,
            tier=member.tier,
            tags=frozenset(member.tags),
            birth_month=member.birth_month,
        )
        # A fob has to be held to the reader; a BLE tag only has to come near.
        self._post(MemberArrived(visit, deliberate=seen.tag.kind is TagKind.RFID))

    def _away(self, away: TagAway) -> None:
        with self._lock:
            key = self._key()
            member_id = None if key is None else self._present.pop(tag_hash(key, away.tag), None)
        if member_id is not None:
            self._post(MemberLeft(member_id))

    def _lookup(self, seen: TagSeen) -> tuple[str | None, Member | None]:
        key = self._key()
        if key is None:
            return None, None  # no feed yet: nobody can be recognised
        hashed = tag_hash(key, seen.tag)
        try:
            member = self._directory.lookup(hashed)
        except Exception as exc:  # a damaged or locked file must not stop the reader
            self._report(exc)
            return hashed, None
        self._failing = False
        return hashed, member

    def _key(self) -> bytes | None:
        try:
            return self._directory.key()
        except Exception as exc:
            self._report(exc)
            return None

    def _report(self, exc: Exception) -> None:
        if not self._failing:
            self._failing = True
            log.warning("member directory unusable, recognising nobody: %s", type(exc).__name__)
