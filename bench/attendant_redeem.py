"""Coupon redemption at the attendant's till: from Enter to the answer, with the claim round.

Each redemption runs the till's steps (kiosk/attendant/till.py): the offline check, a
`Redeem` claim at every kiosk of the store (real channel server processes on loopback,
each recording the hash in its own SQLite window) and the local outbox transaction for
HQ. Timed for fresh codes (redeemed) and for codes another attendant already used
(refused at the first kiosk). The issue asks for single use across the store's
attendants within a second.

    .venv/bin/python bench/attendant_redeem.py [--kiosks 3] [--codes 200]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from harness import summary  # noqa: E402

from backend_client.channel.client import KioskEndpoint, KioskState, KioskStatus  # noqa: E402
from backend_client.channel.keys import StoreKeys, write_store_key  # noqa: E402
from backend_client.channel.window import open_window  # noqa: E402
from backend_client.outbox import Outbox  # noqa: E402
from kiosk.attendant.links import KioskLinks  # noqa: E402
from kiosk.attendant.till import RedeemedCodes, TillOutcome, redeem_at_till  # noqa: E402
from rewards.codes import issue_code, kiosk_key, store_key  # noqa: E402

STORE, KEY = "bench-store", bytes(range(32))
COUPON_KEY = store_key(b"bench chain coupon secret.......", STORE)
TZ = ZoneInfo("Asia/Shanghai")


def serve(data: Path, kiosk: str) -> tuple[subprocess.Popen[str], KioskEndpoint]:
    write_store_key(data, KEY)
    open_window(data, store=STORE, kiosk=kiosk).close()
    process = subprocess.Popen(
        [sys.executable, "-m", "backend_client.channel.serve", "--data-dir", str(data),
         "--store", STORE, "--kiosk", kiosk, "--host", "127.0.0.1", "--port", "0"],
        stdout=subprocess.PIPE, text=True, cwd=ROOT,
    )  # fmt: skip
    assert process.stdout is not None
    line = process.stdout.readline()
    return process, KioskEndpoint(kiosk, f"http://127.0.0.1:{int(line.rsplit(':', 1)[1])}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--kiosks", type=int, default=3)
    parser.add_argument("--codes", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        servers = [serve(Path(tmp) / f"k{n}", f"{STORE}-k{n}") for n in range(1, args.kiosks + 1)]
        try:
            links = [KioskLinks(StoreKeys(STORE, KEY)) for _ in range(2)]  # two attendants
            for link in links:
                for _, endpoint in servers:
                    link.found(endpoint)
                    link.status(KioskStatus(endpoint.kiosk, KioskState.LIVE))
            outboxes = [Outbox(Path(tmp) / f"a{n}" / "outbox.sqlite3") for n in range(2)]
            codes = [
                issue_code(
                    kiosk_key(COUPON_KEY, 1),
                    campaign_no=1,
                    kiosk_no=1,
                    serial=n,
                    expires_on=date(2099, 1, 1),
                ).text
                for n in range(args.codes)
            ]
            timings: dict[TillOutcome, list[float]] = {}
            for code in codes:
                for n in range(2):  # the first attendant redeems, the second is refused
                    started = time.perf_counter()
                    result = redeem_at_till(
                        code,
                        seen=RedeemedCodes(),  # no feed: the kiosks' claims alone decide
                        kiosks=links[n].live(),
                        claim=links[n].claim,
                        outbox=outboxes[n],
                        store_coupon_key=COUPON_KEY,
                        by=f"st-{n}",
                        now=datetime.now(UTC),
                        tz=TZ,
                    )
                    elapsed = (time.perf_counter() - started) * 1000
                    timings.setdefault(result.outcome, []).append(elapsed)
            for outcome, values in timings.items():
                print(summary(f"{outcome.value} with {args.kiosks} kiosks", values))
            assert set(timings) == {TillOutcome.REDEEMED, TillOutcome.ALREADY}
            assert len(timings[TillOutcome.REDEEMED]) == args.codes
            for outbox in outboxes:
                outbox.close()
        finally:
            for process, _ in servers:
                process.terminate()
                process.wait(10)


if __name__ == "__main__":
    main()
