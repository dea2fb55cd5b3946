"""Playlist entries: a picture or an H.264 MP4 video, and dayparting fields, strictly checked."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from helpers.bundles import edit_json, only_problem, problems_of, sample_bundle, write_file
from helpers.videos import BAD_FRAMES, GARBAGE, HEVC, ORANGE, add_video

from content import video
from content.bundle import BundleProblem, load_bundle, parse_document
from content.model import PlaylistItem


def item(**fields: Any) -> PlaylistItem:
    return parse_document(PlaylistItem, json.dumps(fields).encode())


@pytest.fixture
def bundle_dir(tmp_path: Path) -> Path:
    return sample_bundle(tmp_path / "bundle")


def test_a_video_entry_loads_and_is_not_taken_for_a_picture(bundle_dir: Path) -> None:
    add_video(bundle_dir, "attract/spring.mp4", ORANGE.read_bytes(), hours="09:00-12:00")

    bundle = load_bundle(bundle_dir)

    entry = bundle.playlist.items[-1]
    assert (entry.video, entry.image, entry.hours) == ("attract/spring.mp4", None, "09:00-12:00")
    assert entry.plays_to_end
    assert bundle.videos() == ["attract/spring.mp4"]
    assert "attract/spring.mp4" not in bundle.pictures()  # the store decodes every picture


def test_a_video_with_seconds_shows_that_long() -> None:
    assert not item(video="attract/a.mp4", seconds=20).plays_to_end
    assert not item(image="attract/a.jpg").plays_to_end


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({}, "items[4]", "give either image or video, one of the two"),
        (
            {"image": "attract/a.jpg", "video": "attract/a.mp4"},
            "items[4].video",
            "give either image or video, not both",
        ),
        (
            {"image": "attract/a.jpg", "hours": "09:00-09:00"},
            "items[4].hours",
            "starts and ends at 09:00: leave hours out to play all day",
        ),
        (
            {"image": "attract/a.jpg", "weekdays": [1, 3, 1]},
            "items[4].weekdays[2]",
            "a day given twice (first at weekdays[0])",
        ),
    ],
)
def test_an_entry_must_show_one_thing_at_some_hours(
    bundle_dir: Path, fields: dict[str, Any], field: str, message: str
) -> None:
    edit_json(bundle_dir, "playlist.json", lambda doc: doc["items"].append(fields))

    assert only_problem(bundle_dir) == BundleProblem("playlist.json", field, message)


@pytest.mark.parametrize("hours", ["9:00-12:00", "09:00-24:00", "09:60-10:00", "09:00–12:00", ""])
def test_hours_must_be_two_24_hour_times(bundle_dir: Path, hours: str) -> None:
    edit_json(bundle_dir, "playlist.json", lambda doc: doc["items"][0].update(hours=hours))

    assert only_problem(bundle_dir) == BundleProblem(
        "playlist.json",
        "items[0].hours",
        'must be "HH:MM-HH:MM" in 24-hour local time, e.g. "09:00-12:00"',
    )


@pytest.mark.parametrize("weekdays", [[0], [8], ["1"], [1.0], [], [1, 2, 3, 4, 5, 6, 7, 1]])
def test_weekdays_are_iso_day_numbers(bundle_dir: Path, weekdays: list[object]) -> None:
    edit_json(bundle_dir, "playlist.json", lambda doc: doc["items"][0].update(weekdays=weekdays))

    problem = only_problem(bundle_dir)

    assert problem.file == "playlist.json"
    assert problem.field.startswith("items[0].weekdays")


def test_an_entry_is_counted_by_its_id_or_else_its_asset_and_in_its_campaign() -> None:
    poster = item(image="attract/a.jpg", id="x1-poster", campaign="x1-launch")
    assert (poster.play_id, poster.campaign) == ("x1-poster", "x1-launch")
    house = item(video="attract/a.mp4")
    assert (house.play_id, house.campaign) == ("attract/a.mp4", None)
    # Written back as given: no id or campaign where none was given.
    assert "campaign" not in house.model_dump()
    assert poster.model_dump()["campaign"] == "x1-launch"


@pytest.mark.parametrize("field", ["id", "campaign"])
def test_an_entrys_id_and_campaign_are_ids(bundle_dir: Path, field: str) -> None:
    edit_json(bundle_dir, "playlist.json", lambda doc: doc["items"][0].update({field: "X1 Launch"}))

    problem = only_problem(bundle_dir)

    assert (problem.file, problem.field) == ("playlist.json", f"items[0].{field}")


def test_a_picture_named_as_video_is_refused_with_the_reason(bundle_dir: Path) -> None:
    picture = next(p for p in (bundle_dir / "attract").iterdir())
    add_video(bundle_dir, "attract/poster.mp4", picture.read_bytes())

    assert only_problem(bundle_dir) == BundleProblem(
        "attract/poster.mp4", "", "is not an MP4 video (it does not start with an ftyp box)"
    )


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (HEVC.read_bytes(), "is 'hvc1' video; a kiosk plays H.264 (avc1) MP4 only"),
        (GARBAGE.read_bytes(), "is not a valid MP4 video (a box runs past the end of the file)"),
        (
            ORANGE.read_bytes()[:500],
            "is not a valid MP4 video (a box runs past the end of the file)",
        ),
        (ORANGE.read_bytes()[:32], "is not a complete MP4 video (it has no moov box)"),
        (
            ORANGE.read_bytes()[:8]
            + b"qt  "
            + ORANGE.read_bytes()[12:16]
            + b"qt  " * 4
            + ORANGE.read_bytes()[32:],
            "is not an MP4 video (brand 'qt  '; an MP4 is isom, mp41 or mp42)",
        ),
    ],
    ids=["h265", "garbage-after-ftyp", "truncated", "no-moov", "quicktime"],
)
def test_a_video_that_is_not_an_h264_mp4_is_refused(
    bundle_dir: Path, data: bytes, message: str
) -> None:
    add_video(bundle_dir, "attract/clip.mp4", data)

    assert only_problem(bundle_dir) == BundleProblem("attract/clip.mp4", "", message)


def test_a_video_whose_frames_do_not_decode_passes_the_container_check(bundle_dir: Path) -> None:
    # Only a kiosk can tell: it skips such a video and reports it (tests/qt/test_attract_video).
    add_video(bundle_dir, "attract/clip.mp4", BAD_FRAMES.read_bytes())

    load_bundle(bundle_dir)


def test_a_video_larger_than_the_limit_is_refused_unread(
    bundle_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(video, "MAX_BYTES", ORANGE.stat().st_size - 1)
    add_video(bundle_dir, "attract/clip.mp4", ORANGE.read_bytes())

    problem = only_problem(bundle_dir)

    assert problem.file == "attract/clip.mp4"
    assert problem.problem == f"is 2,054 bytes; a video may have at most {2053:,}"


def test_a_video_not_in_the_manifest_is_named_at_its_entry(bundle_dir: Path) -> None:
    edit_json(bundle_dir, "playlist.json", lambda doc: doc["items"].append({"video": "a.mp4"}))

    assert only_problem(bundle_dir) == BundleProblem(
        "playlist.json", "items[4].video", "a.mp4 is not listed in manifest.json"
    )


def test_every_bad_video_is_named_in_one_go(bundle_dir: Path) -> None:
    add_video(bundle_dir, "attract/a.mp4", HEVC.read_bytes())
    add_video(bundle_dir, "attract/b.mp4", b"")
    write_file(bundle_dir, "attract/c.mp4", ORANGE.read_bytes())
    edit_json(
        bundle_dir, "playlist.json", lambda doc: doc["items"].append({"video": "attract/c.mp4"})
    )

    assert [p.file for p in problems_of(bundle_dir)] == ["attract/a.mp4", "attract/b.mp4"]


def test_an_mp4_with_a_64_bit_box_size_is_read(tmp_path: Path) -> None:
    data = ORANGE.read_bytes()
    # The same file with its moov box written in the 16-byte header form (size 1 + 64-bit size).
    moov_size = int.from_bytes(data[32:36], "big")
    large = (
        data[:32]
        + (1).to_bytes(4, "big")
        + b"moov"
        + (moov_size + 8).to_bytes(8, "big")
        + data[40 : 32 + moov_size]
        + data[32 + moov_size :]
    )
    video.check(io.BytesIO(large), len(large))
