"""The kiosk's shelves from HQ's model: what one lookup costs (content.recommend).

    .venv/bin/python bench/recommend_lookup.py [--products 300] [--lookups 20000]

Builds a sample bundle of `--products` phones, trains HQ's model on a year of
made-up visits over its SKUs (hq.analytics.model.synthetic), adds the shipped
recommender.json, installs it in a content store and loads it as a kiosk does
(load_release: the catalog read product by product, when asked). Then times,
for random phones, what a product page asks (related beside the phone in hand,
then best sellers, with this store's lift shares mixed in) and what a consenting
member's welcome asks (related with their history). The first lookup of a
phone builds its products (done for the cabinet while the attract loop plays);
"warm" is every lookup after.

Target: p99 under 1 ms. Figures: median, p99 and max in microseconds, wall time and
(for the product page) the thread's CPU time, which leaves out waiting for a core.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))

from harness import percentile, sample_bundle  # noqa: E402
from helpers.bundles import write_json  # noqa: E402

from content.bundle import RECOMMENDER  # noqa: E402
from content.recommend import LiftTally, Shopper, best_sellers, lift_shares, related, tally_lift  # noqa: E402
from content.store import ContentStore  # noqa: E402
from hq.analytics.model import synthetic, train  # noqa: E402
from hq.analytics.model.events import SessionEvents  # noqa: E402
from hq.analytics.model.ship import for_catalog  # noqa: E402

END = datetime(2026, 12, 1, tzinfo=UTC)


def _line(name: str, values_us: list[float]) -> str:
    return (
        f"{name}: n={len(values_us)} median={statistics.median(values_us):.1f} us"
        f" p99={percentile(values_us, 99):.1f} us max={max(values_us):.1f} us"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--products", type=int, default=300)
    parser.add_argument("--lookups", type=int, default=20_000)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench-recommend-"))
    try:
        folder = work / "bundle"
        shutil.copytree(sample_bundle(args.products), folder)
        catalog = [p["sku"] for p in json.loads((folder / "catalog.json").read_text())["products"]]
        made = synthetic.generate(1_000_000, skus=len(catalog), end=END)
        events = SessionEvents(tuple(catalog), made.session, made.item, made.at, made.weight)
        model = train.train(events, now=END)
        write_json(folder, RECOMMENDER, for_catalog(model.document("hq-model-1"), set(catalog)))
        store = ContentStore(work / "content")
        store.install(folder)
        bundle = store.current()
        assert bundle is not None
        assert bundle.recommender is not None

        gc.collect()
        gc.freeze()  # as the kiosk does once started (kiosk/collector.py)
        rng = random.Random(7)
        tally = LiftTally()
        for n in range(2_000):  # a busy week of this store's lifts
            tally = tally_lift(tally, rng.choice(catalog[:40]), n * 300.0)
        shares = lift_shares(tally)
        cold: list[float] = []
        warm: list[float] = []
        cpu: list[float] = []
        welcome: list[float] = []
        seen: set[str] = set()
        for _ in range(args.lookups):
            sku = rng.choice(catalog)
            began, began_cpu = time.perf_counter(), time.thread_time()
            alike = related(bundle, sku, limit=3, exclude=(sku,), store=shares)
            shown = (sku, *(p.sku for p in alike))
            best_sellers(bundle, limit=3, exclude=shown, store=shares)
            took = (time.perf_counter() - began) * 1e6
            cpu.append((time.thread_time() - began_cpu) * 1e6)
            (warm if sku in seen else cold).append(took)
            seen.add(sku)
            history = tuple(rng.sample(catalog, 6))
            shopper = Shopper(history, personalised=True)
            began = time.perf_counter()
            related(bundle, history[0], limit=4, exclude=history, store=shares, shopper=shopper)
            welcome.append((time.perf_counter() - began) * 1e6)
        print(
            f"{len(catalog)} products, model of {len(model.rows):,} neighbour entries;"
            f" a product page's two shelves per lookup"
        )
        print(_line("product page, first of a phone", cold))
        print(_line("product page, warm", warm))
        print(_line("product page, all", cold + warm))
        # Wall time includes waiting for a core: on a shared 2-core machine that, not
        # the lookup, makes the tail. The thread's own CPU time shows the lookup alone.
        print(_line("product page, all, CPU time of the thread", cpu))
        print(f"load average over the last minute: {os.getloadavg()[0]:.1f}")
        print(_line("welcome row (consented history)", welcome))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
