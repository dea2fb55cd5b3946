"""Finding customer records that are likely one person, and households (pure: no I/O).

A customer is one phone number (`customers.phone_e164`, UNIQUE), so two records of
one person differ in something: a number imported or kept by an older HQ in
another form (national "13800138000", "0086 138..."), a new number with the same
e-mail, a new number and the person's old fob, or the same person entered twice at
one address. `find_duplicates` looks at every live record's `CandidateRow` and
answers the pairs, each with its reasons and a score:

- `phone`: the same number after normalisation (people.e164, region CN);
- `email`: the same address, ignoring case and surrounding spaces;
- `name_and_tag`: the same name (normalised) and a fob or tag that was bound to a
  member of each (tag bindings now, and `tag_bound` events: a fob re-bound to a
  second sign-up moves off the first);
- `name_at_address`: near-identical names (`near_identical_names`) at the same
  normalised address (`address_key`).

A reason's weight is how sure it makes us on its own; a pair's score is
1 - prod(1 - weight). A key shared by more than MAX_GROUP records is a
placeholder (a shop's own number typed at sign-up, "none@none.cn"), not a
person: it pairs nobody.

Households (`households`): live records linked by the same normalised address or
the same phone in another form, transitively; the household id is computed from
its members (the smallest customer id's hash), never kept by hand.
"""

from __future__ import annotations

import hashlib
import itertools
import re
import unicodedata
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final

import phonenumbers

from hq.crm import people

PHONE: Final = "phone"
EMAIL: Final = "email"
NAME_AND_TAG: Final = "name_and_tag"
NAME_AT_ADDRESS: Final = "name_at_address"

WEIGHTS: Final = {PHONE: 0.95, EMAIL: 0.85, NAME_AND_TAG: 0.9, NAME_AT_ADDRESS: 0.8}
# One number is one line: as sure as it gets short of a person saying so. An e-mail
# is shared by couples more often. A fob is personal, but a name alone is not.
# Names at one address: a family shares the address, so only near-identical names.

REASON_LABELS: Final = {
    PHONE: "same phone number",
    EMAIL: "same e-mail",
    NAME_AND_TAG: "same name, same fob or tag",
    NAME_AT_ADDRESS: "near-identical name at the same address",
}

MAX_GROUP: Final = 20
# More records than this on one key is a placeholder value, not one person's.

MIN_TYPO_LENGTH: Final = 6
# Latin names this long or longer may differ by one typo ("Wang Fnag"); shorter
# ones, and Chinese names (two or three characters: 张伟 and 张炜 are siblings), must
# be the same after normalising.

_WORD: Final = re.compile(r"\w+")
_E164: Final = re.compile(r"^\+[1-9][0-9]{6,14}$")
_LATIN: Final = re.compile(r"^[a-z ]+$")
_HOUSEHOLD_PREFIX: Final = "hh-"

# Spellings of the same thing in addresses, after NFKC and case-folding.
_ADDRESS_WORDS: Final = {
    "road": "rd",
    "street": "st",
    "avenue": "ave",
    "apartment": "apt",
    "building": "bldg",
    "room": "rm",
    "floor": "fl",
    "number": "no",
    "district": "dist",
}
_ADDRESS_CHARACTERS: Final = str.maketrans({"號": "号", "樓": "楼", "區": "区", "門": "门"})


# ---------------------------------------------------------------- normalising


def phone_key(phone: str | None) -> str | None:
    """The number as E.164 (the chain's region for one without a country code); None
    if it is not a valid number."""
    if not phone:
        return None
    if _E164.match(phone):
        # Sign-ups store numbers as people.e164 made them: parsing each again is most
        # of the finder's time. An E.164-shaped text equals only itself here.
        return phone
    try:
        return people.e164(phone)
    except people.InvalidPhone:
        return None


def email_key(email: str | None) -> str | None:
    if email is None:
        return None
    found = email.strip().lower()
    return found or None


def name_key(name: str | None) -> str | None:
    """The name with width, case and punctuation taken out: a Chinese name without
    spaces ("王 芳" is 王芳), a Latin one with its words in order ("Fang WANG" and
    "wang fang" are one key); None for no name."""
    if name is None:
        return None
    words = _WORD.findall(unicodedata.normalize("NFKC", name).casefold())
    if not any(_LATIN.match(word) for word in words):
        return "".join(words) or None
    return " ".join(sorted(words)) or None


def address_key(address: str | None) -> str | None:
    """The address normalised for matching: NFKC (full-width digits), case-folded,
    traditional forms of 号楼区 simplified, common English words shortened, spaces and
    punctuation gone. None for no address."""
    if address is None:
        return None
    text = unicodedata.normalize("NFKC", address).casefold().translate(_ADDRESS_CHARACTERS)
    words = [_ADDRESS_WORDS.get(word, word) for word in _WORD.findall(text)]
    return "".join(words) or None


def tidy_address(address: str | None) -> str | None:
    """How staff typed it, trimmed and with runs of spaces made one; None if blank."""
    if address is None:
        return None
    return " ".join(address.split()) or None


def near_identical_names(a: str | None, b: str | None) -> bool:
    """The same name after normalising, or (Latin names of MIN_TYPO_LENGTH letters or
    more) one letter added, dropped, changed or two swapped."""
    first, second = name_key(a), name_key(b)
    if first is None or second is None:
        return False
    if first == second:
        return True
    if not (_LATIN.match(first) and _LATIN.match(second)):
        return False
    if min(len(first), len(second)) < MIN_TYPO_LENGTH:
        return False
    return _edits(first, second) <= 1


def _edits(a: str, b: str) -> int:
    """Optimal string alignment distance: insertions, deletions, substitutions and
    swaps of neighbours."""
    before: list[int] = []
    previous = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        current = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                current[j] = min(current[j], before[j - 2] + 1)
        before, previous = previous, current
    return previous[len(b)]


def phone_forms(e164: str) -> list[str]:
    """Ways a record may hold this E.164 number (national, with 00 or without +,
    with the trunk 0): for looking up the same phone in another form."""
    try:
        parsed = phonenumbers.parse(e164)
    except phonenumbers.NumberParseException:
        return [e164]
    national = phonenumbers.national_significant_number(parsed)
    code = str(parsed.country_code)
    return sorted({e164, national, f"0{national}", f"00{code}{national}", f"{code}{national}"})


# ---------------------------------------------------------------- masking for pages


def mask_phone(phone: str) -> str:
    """ "+86 138****5678": the country, the first three digits and the last four."""
    try:
        parsed = phonenumbers.parse(phone, people.DEFAULT_REGION)
    except phonenumbers.NumberParseException:
        return "*" * max(len(phone) - 4, 0) + phone[-4:]
    national = phonenumbers.national_significant_number(parsed)
    if len(national) <= 7:
        return f"+{parsed.country_code} {'*' * max(len(national) - 2, 0)}{national[-2:]}"
    return f"+{parsed.country_code} {national[:3]}{'*' * (len(national) - 7)}{national[-4:]}"


def mask_email(email: str | None) -> str | None:
    """ "w***@example.cn": the first letter and the domain."""
    if not email or not email.strip():
        return None
    local, _, domain = email.strip().partition("@")
    return f"{local[:1]}***@{domain}" if domain else "***"


# ---------------------------------------------------------------- duplicates


@dataclass(frozen=True, slots=True)
class CandidateRow:
    """What the finder needs of one live customer record."""

    customer_id: str
    phone: str  # as the record holds it: E.164, or another form in older rows
    email: str | None
    name: str | None
    address: str | None
    created_at: datetime
    tag_hashes: frozenset[str] = field(default_factory=frozenset)  # ever bound to them


@dataclass(frozen=True, slots=True)
class CandidatePair:
    """Two records that are likely one person; `first` is the one to keep by default
    (its phone in E.164 already, then the older)."""

    first: str
    second: str
    reasons: tuple[str, ...]  # rule names, in WEIGHTS order
    score: float

    def as_json(self) -> dict[str, object]:
        return {
            "first": self.first,
            "second": self.second,
            "reasons": list(self.reasons),
            "score": round(self.score, 3),
        }


def find_duplicates(rows: Iterable[CandidateRow]) -> list[CandidatePair]:
    """Likely duplicate pairs among `rows`, the surest first."""
    records = {row.customer_id: row for row in rows}
    found: dict[tuple[str, str], set[str]] = defaultdict(set)

    def pair_up(
        reason: str,
        groups: Mapping[str, Sequence[str]],
        same_person: Callable[[CandidateRow, CandidateRow], bool] | None,
    ) -> None:
        for members in groups.values():
            if len(members) > MAX_GROUP:
                continue
            for a, b in itertools.combinations(sorted(set(members)), 2):
                if same_person is None or same_person(records[a], records[b]):
                    found[(a, b)].add(reason)

    pair_up(PHONE, _groups(records.values(), lambda row: [phone_key(row.phone)]), None)
    pair_up(EMAIL, _groups(records.values(), lambda row: [email_key(row.email)]), None)
    pair_up(
        NAME_AND_TAG,
        _groups(records.values(), lambda row: sorted(row.tag_hashes)),
        lambda a, b: name_key(a.name) is not None and name_key(a.name) == name_key(b.name),
    )
    pair_up(
        NAME_AT_ADDRESS,
        _groups(records.values(), lambda row: [address_key(row.address)]),
        lambda a, b: near_identical_names(a.name, b.name),
    )
    pairs = [
        _pair(records[a], records[b], tuple(rule for rule in WEIGHTS if rule in reasons))
        for (a, b), reasons in found.items()
    ]
    return sorted(pairs, key=lambda pair: (-pair.score, pair.first, pair.second))


def _groups(
    rows: Iterable[CandidateRow], keys: Callable[[CandidateRow], Iterable[str | None]]
) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = defaultdict(list)
    for row in rows:
        for key in keys(row):
            if key is not None:
                grouped[key].append(row.customer_id)
    return grouped


def _pair(a: CandidateRow, b: CandidateRow, reasons: tuple[str, ...]) -> CandidatePair:
    keep, other = sorted((a, b), key=_keep_order)
    return CandidatePair(keep.customer_id, other.customer_id, reasons, score(reasons))


def _keep_order(row: CandidateRow) -> tuple[bool, datetime, str]:
    """Records whose phone is E.164 already first (new sign-ups with that number find
    it), then the older, then by id."""
    return (phone_key(row.phone) != row.phone, row.created_at, row.customer_id)


def score(reasons: Iterable[str]) -> float:
    unlikely = 1.0
    for reason in reasons:
        unlikely *= 1 - WEIGHTS[reason]
    return 1 - unlikely


def pair_key(a: str, b: str) -> tuple[str, str]:
    """A pair of records in one order, whichever way round it was named."""
    return (a, b) if a <= b else (b, a)


def undismissed(
    pairs: Iterable[CandidatePair], dismissed: Mapping[tuple[str, str], Iterable[str]]
) -> list[CandidatePair]:
    """`pairs` without those a reviewer dismissed (by `pair_key`: the reasons the pair
    met then). A dismissed pair comes back only when it meets a rule it did not meet
    then (a fob bound to both later, the same e-mail typed in): a new reason to
    believe they are one person is worth a second look; the same reasons are not."""
    found = []
    for pair in pairs:
        then = dismissed.get(pair_key(pair.first, pair.second))
        if then is None or not set(pair.reasons) <= set(then):
            found.append(pair)
    return found


# ---------------------------------------------------------------- households


@dataclass(frozen=True, slots=True)
class HouseholdRow:
    customer_id: str
    phone: str
    address_key: str | None


def households(rows: Iterable[HouseholdRow]) -> dict[str, str]:
    """Customer id -> household id, for records linked to at least one other by the
    same normalised address or the same phone in another form (transitively)."""
    rows = list(rows)
    parent = {row.customer_id: row.customer_id for row in rows}

    def root(customer: str) -> str:
        while parent[customer] != customer:
            parent[customer] = parent[parent[customer]]
            customer = parent[customer]
        return customer

    for keys in (
        _groups_of(rows, lambda row: row.address_key),
        _groups_of(rows, lambda row: phone_key(row.phone)),
    ):
        for members in keys.values():
            if len(members) > MAX_GROUP:
                continue
            for other in members[1:]:
                a, b = root(members[0]), root(other)
                if a != b:
                    parent[max(a, b)] = min(a, b)
    groups: dict[str, list[str]] = defaultdict(list)
    for customer in parent:
        groups[root(customer)].append(customer)
    return {
        customer: household_id(members)
        for members in groups.values()
        if len(members) > 1
        for customer in members
    }


def _groups_of(
    rows: Sequence[HouseholdRow], key: Callable[[HouseholdRow], str | None]
) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = defaultdict(list)
    for row in rows:
        found = key(row)
        if found is not None:
            grouped[found].append(row.customer_id)
    return grouped


def household_id(members: Iterable[str]) -> str:
    """A short id for a household: from its smallest customer id, so the same members
    always get the same id (and a member's uuid is not shown as it)."""
    return _HOUSEHOLD_PREFIX + hashlib.sha256(min(members).encode()).hexdigest()[:10]


# ---------------------------------------------------------------- merging consents


@dataclass(frozen=True, slots=True)
class Decision:
    """One consents row, as the merge rule reads it."""

    purpose: str
    channel: str | None
    given: bool
    occurred_at: datetime
    row_id: int
    notice_version: str
    notice_sha256: str


def stricter_consents(sources: Sequence[Sequence[Decision]]) -> list[Decision]:
    """The withdrawals a merge must add so that the merged record's consents follow
    the stricter rule; each as the refusal it repeats (its purpose, channel and notice).

    Per purpose and channel, each source record's latest decision counts (by when it
    was made, then HQ's row order, as everywhere). The merged record has it given only
    if every source that decided it says given at its latest; a source that never
    decided it does not count (no decision is not a refusal). A refusal (a withdrawal,
    or a no at sign-up) in any source therefore wins, even over a newer yes in
    another. The joined history already says so when a refusal is the newest of all;
    only where a yes is newer does the merge add a withdrawal, repeating the newest
    source refusal's notice.
    """
    latest: list[dict[tuple[str, str | None], Decision]] = []
    for decisions in sources:
        newest: dict[tuple[str, str | None], Decision] = {}
        for decision in decisions:
            key = (decision.purpose, decision.channel)
            held = newest.get(key)
            if held is None or _order(decision) > _order(held):
                newest[key] = decision
        latest.append(newest)
    needed: list[Decision] = []
    for key in sorted({key for newest in latest for key in newest}, key=_key_order):
        decided = [newest[key] for newest in latest if key in newest]
        refusals = [decision for decision in decided if not decision.given]
        if refusals and max(decided, key=_order).given:
            needed.append(max(refusals, key=_order))
    return needed


def _order(decision: Decision) -> tuple[datetime, int]:
    return (decision.occurred_at, decision.row_id)


def _key_order(key: tuple[str, str | None]) -> tuple[str, str]:
    return (key[0], key[1] or "")
