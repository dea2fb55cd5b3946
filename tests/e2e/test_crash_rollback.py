"""A release that crashes the real kiosk process at three starts gives way to the last good one.

The kiosk's store holds a release that ran well (marked good) and a newer one made
current by a switch. The kiosk process is killed with SIGKILL three times before it
has run a minute on the new release (a crash loop); at the fourth start it refuses
the new release as `crashed`, paints the good one, and keeps a report for HQ.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest
from helpers.bundles import sample_bundle
from helpers.kiosk_process import start_kiosk, stop, wait_for_trace

from content import reports
from content.store import MAX_UNPROVEN_BOOTS, STAGED, ContentStore

pytestmark = pytest.mark.slow

PAINTED_WITHIN = 60  # generous: a loaded 2-core CI machine


def painted_attract_on(data: Path) -> str:
    shown = wait_for_trace(data, lambda e: e.get("status") == "current", PAINTED_WITHIN)
    wait_for_trace(data, lambda e: e["kind"] == "paint" and e["view"] == "attract", PAINTED_WITHIN)
    return str(shown["release"])


def test_three_crashed_starts_bring_back_the_last_good_release(tmp_path: Path) -> None:
    data = tmp_path / "data"
    store = ContentStore(data / "content")
    store.install(sample_bundle(tmp_path / "good", release="good-1"))
    store.mark_good("good-1")
    store.install(sample_bundle(tmp_path / "new", release="hq-12"))
    (store.root / "releases" / "hq-12" / STAGED).write_text('{"number": 12, "not_before": null}')
    store.activate("good-1")
    store.activate("hq-12")  # the switch, as the running kiosk does it: its first run

    for _ in range(MAX_UNPROVEN_BOOTS - 1):  # two more starts, each killed within the minute
        (data / "trace.jsonl").unlink(missing_ok=True)
        kiosk = start_kiosk(None, data)
        try:
            assert painted_attract_on(data) == "hq-12"
        finally:
            os.kill(kiosk.pid, signal.SIGKILL)
            kiosk.communicate(timeout=15)

    (data / "trace.jsonl").unlink()
    kiosk = start_kiosk(None, data)
    try:
        crashed = wait_for_trace(data, lambda e: e.get("status") == "crashed", PAINTED_WITHIN)
        assert (crashed["release"], crashed["restored"]) == ("hq-12", "good-1")
        assert painted_attract_on(data) == "good-1"
    finally:
        log = stop(kiosk)
    assert "Traceback" not in log
    [report] = reports.pending(store.root)
    assert (report.release, report.reason) == (12, "crashed")
