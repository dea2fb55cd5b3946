"""Where a restarted follower resumes: the last complete line of its feed, per kiosk."""

from __future__ import annotations

from pathlib import Path

from backend_client.channel.follow import resume_points


def test_a_line_cut_short_by_a_kill_is_dropped_and_fetched_again(tmp_path: Path) -> None:
    feed = tmp_path / "feed.jsonl"
    feed.write_bytes(
        b'{"kiosk": "k1", "seq": 1}\n{"kiosk": "k2", "seq": 7}\n{"kiosk": "k1", "seq": 2}\n'
        b'{"kiosk": "k1", "se'
    )
    assert resume_points(feed) == {"k1": 2, "k2": 7}
    assert feed.read_bytes().endswith(b'"seq": 2}\n')  # the next line starts clean


def test_no_feed_yet_means_from_the_start(tmp_path: Path) -> None:
    assert resume_points(tmp_path / "feed.jsonl") == {}
