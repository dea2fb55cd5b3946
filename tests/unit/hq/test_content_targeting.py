"""Which release a kiosk gets: targets, the newest covering its store, revocations."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hq.content.rollout import kiosk_state
from hq.content.targeting import (
    InvalidTarget,
    ReleaseHead,
    StoreLabels,
    Target,
    content_of,
    resolve,
    served,
)

EAST_FLAGSHIP = StoreLabels("s001", "east", frozenset({"flagship", "mall"}))
EAST_SMALL = StoreLabels("s002", "east")
WEST = StoreLabels("s003", "west", frozenset({"flagship"}))


@pytest.mark.parametrize(
    ("text", "target"),
    [
        ("all", Target("all")),
        ("region:east", Target("region", "east")),
        ("tag:flagship", Target("tag", "flagship")),
        ("store:s001", Target("store", "s001")),
        (" store:s001 ", Target("store", "s001")),
    ],
)
def test_targets_read_as_staff_type_them(text: str, target: Target) -> None:
    assert Target.parse(text) == target
    assert Target.parse(str(target)) == target


@pytest.mark.parametrize(
    "text", ["", "everyone", "region:", "region:East", "shelf:3", "all:x", "store:../etc"]
)
def test_a_target_that_is_not_one_is_refused_saying_what_targets_are(text: str) -> None:
    with pytest.raises(InvalidTarget, match="give all, region:REGION, tag:TAG or store:STORE_ID"):
        Target.parse(text)


@pytest.mark.parametrize(
    ("target", "covered"),
    [
        ("all", {"s001", "s002", "s003"}),
        ("region:east", {"s001", "s002"}),
        ("tag:flagship", {"s001", "s003"}),
        ("tag:mall", {"s001"}),
        ("store:s002", {"s002"}),
        ("region:north", set()),
    ],
)
def test_a_target_covers_exactly_its_stores(target: str, covered: set[str]) -> None:
    stores = (EAST_FLAGSHIP, EAST_SMALL, WEST)
    assert {s.store_id for s in stores if Target.parse(target).covers(s)} == covered


def head(
    number: int, target: str, *, reverts: int | None = None, revoked: bool = False
) -> ReleaseHead:
    return ReleaseHead(number, Target.parse(target), reverts, revoked)


def test_each_store_gets_the_newest_release_that_covers_it() -> None:
    releases = [
        head(1, "all"),
        head(2, "region:east"),
        head(3, "store:s003"),
        head(4, "tag:mall"),
    ]
    assert served(releases, EAST_FLAGSHIP) == releases[3]
    assert served(releases, EAST_SMALL) == releases[1]
    assert served(releases, WEST) == releases[2]
    assert served(releases, StoreLabels("s009")) == releases[0]
    assert served([head(5, "region:west")], EAST_SMALL) is None


def test_a_revoked_release_is_served_to_nobody() -> None:
    releases = [head(1, "all"), head(2, "all", revoked=True)]
    assert served(releases, EAST_SMALL) == releases[0]


def test_a_revocation_is_a_newer_number_carrying_the_files_of_what_ran_before() -> None:
    releases = [
        head(1, "all"),
        head(2, "store:s001"),
        head(3, "all", revoked=True),
        head(4, "all", reverts=3),
    ]
    # Every kiosk moves forward to 4; each gets the content it had before 3.
    assert served(releases, EAST_FLAGSHIP) == releases[3]
    assert content_of(releases, releases[3], EAST_FLAGSHIP) == releases[1]
    assert content_of(releases, releases[3], EAST_SMALL) == releases[0]


def test_revoking_a_release_already_followed_by_another_keeps_the_newer_content() -> None:
    releases = [
        head(1, "all"),
        head(2, "all", revoked=True),
        head(3, "all"),
        head(4, "all", reverts=2),
    ]
    assert content_of(releases, served(releases, WEST) or releases[0], WEST) == releases[2]


def test_revocations_of_revocations_resolve_to_real_content() -> None:
    releases = [
        head(1, "all"),
        head(2, "store:s001", revoked=True),
        head(3, "store:s001", reverts=2),
        head(4, "all", revoked=True),
        head(5, "all", reverts=4),
    ]
    assert content_of(releases, releases[4], EAST_FLAGSHIP) == releases[0]


def test_a_revocation_with_nothing_to_go_back_to_has_no_content() -> None:
    releases = [head(1, "store:s001", revoked=True), head(2, "store:s001", reverts=1)]
    assert served(releases, EAST_FLAGSHIP) == releases[1]
    assert content_of(releases, releases[1], EAST_FLAGSHIP) is None


@pytest.mark.parametrize(
    ("kwargs", "state"),
    [
        ({"active": 7, "ready": (), "downloading": None, "failed": True, "serving": 8}, "running"),
        ({"active": 6, "ready": (7,), "downloading": None, "failed": False, "serving": 7}, "ready"),
        (
            {"active": 6, "ready": (), "downloading": 7, "failed": False, "serving": 7},
            "downloading",
        ),
        ({"active": 6, "ready": (), "downloading": None, "failed": True, "serving": 7}, "failed"),
        (
            {"active": 6, "ready": (), "downloading": None, "failed": False, "serving": 8},
            "superseded",
        ),
        (
            {"active": None, "ready": (), "downloading": None, "failed": False, "serving": 7},
            "waiting",
        ),
    ],
)
def test_a_kiosks_state_in_a_rollout(kwargs: dict[str, object], state: str) -> None:
    assert kiosk_state(7, **kwargs) == state  # type: ignore[arg-type]


TARGETS = ["all", "region:east", "region:west", "tag:flagship", "tag:mall", "store:s001"]


@given(
    st.lists(
        st.tuples(st.sampled_from(TARGETS), st.booleans(), st.integers(0, 30)),
        max_size=30,
    )
)
def test_resolving_among_covering_releases_agrees_with_choosing_among_all(
    drawn: list[tuple[str, bool, int]],
) -> None:
    releases = []
    for number, (target, revoked, back) in enumerate(drawn, start=1):
        reverts = number - back if 0 < back < number else None
        releases.append(head(number, target, reverts=reverts, revoked=revoked))
    for store in (EAST_FLAGSHIP, EAST_SMALL, WEST):
        covering = sorted(
            (r for r in releases if not r.revoked and r.target.covers(store)),
            key=lambda r: -r.release_id,
        )
        chosen = served(releases, store)
        expected = None if chosen is None else (chosen, content_of(releases, chosen, store))
        assert resolve(covering) == expected
