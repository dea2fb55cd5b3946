"""HQ web console pages for docs/screenshots/console-*.png (called by scripts/screenshots.py).

Builds a small chain in a throwaway HQ (SQLite): eight stores in three regions,
their kiosks, three releases made with HQ's own content service from the
generated sample bundle, and what kiosks report on a rollout afternoon (running,
downloading, a refused manifest); then serves HQ with uvicorn on loopback and
drives Debian's Chromium through the console at 1440x900, one picture per page.
Last, the store map: coordinates imported for the stores and seven more (Chengdu,
Chongqing, Xi'an, Wuhan, Nanjing, Shenyang; Kunming's without any), and 30 days
of lifts, sign-ups and smiley answers; a month of member offers (console-offers.png).

    .venv/bin/python scripts/screenshots.py --console-only [OUT_DIR]
"""

from __future__ import annotations

import random
import sys
import tempfile
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Final

from playwright.sync_api import Page, ViewportSize, sync_playwright
from sqlalchemy import insert

from content.sample import write_sample_bundle
from hq import fleet, plays
from hq.analytics import rollup
from hq.console.staff import PasswordHasher, Role, add_staff
from hq.content.assets import DirectoryAssetStore
from hq.content.releases import ProductEdit, publish_edit, publish_folder
from hq.content.signing import ContentKeys
from hq.crm import dismissals, merges
from hq.crm.facts import Origin, PlayCount, PlaysCounted
from hq.db import Database, content_failures, kiosk_content_status, kiosks
from hq.enrollment import KioskIdentity
from hq.fleet_health import commands
from hq.fleet_health.store import record_heartbeat, sweep
from hq.fleet_health.wire import Heartbeat
from hq.migrations import migrate
from hq.settings import Settings, sqlite_url
from hq.store_places import apply_import, read_import

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from helpers import analytics_data
from helpers.analytics_data import ZONE
from helpers.customers import add_demo_customers
from helpers.hq import running_hq
from helpers.offers import add_offer_moments, generate_offers, load_offers
from helpers.store_data import StoreData

CHROMIUM: Final = Path("/usr/bin/chromium")
VIEWPORT: Final[ViewportSize] = {"width": 1440, "height": 900}
PASSWORD: Final = "spring-launch-2026"  # noqa: S105 (a throwaway demo account)
TROUBLED_KIOSK: Final = "sh-nanjing-road-k2"
SILENT_KIOSK: Final = "bj-xidan-k1"

STORES: Final = {
    "sh-nanjing-road": ("上海南京东路旗舰店", "east", ("flagship",), 3),
    "sh-xujiahui": ("上海徐家汇店", "east", ("mall",), 2),
    "hz-hubin": ("杭州湖滨店", "east", ("mall",), 2),
    "bj-sanlitun": ("北京三里屯旗舰店", "north", ("flagship",), 3),
    "bj-xidan": ("北京西单店", "north", ("mall",), 2),
    "tj-binjiang": ("天津滨江道店", "north", (), 2),
    "gz-tianhe": ("广州天河店", "south", ("mall",), 2),
    "sz-coastal-city": ("深圳海岸城店", "south", ("flagship", "mall"), 2),
}


def shoot(out: Path) -> None:
    if not CHROMIUM.exists():
        print(f"no Chromium at {CHROMIUM}: console screenshots skipped", file=sys.stderr)
        return
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            data_dir=Path(tmp) / "hq", database_url=sqlite_url(Path(tmp) / "hq.sqlite3")
        )
        settings.data_dir.mkdir(mode=0o700)
        migrate(settings.database_url)
        database = Database(settings.database_url)
        try:
            release = _chain(database, settings, Path(tmp))
            # Made-up customers (tests/helpers/customers.py): a household and duplicates.
            customers = add_demo_customers(database, datetime.now(UTC))
            add_offer_moments(database, customers["chen"], datetime.now(UTC))
        finally:
            database.dispose()
        with running_hq(settings, migrate_first=False) as base_url, sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM))
            page = browser.new_page(viewport=VIEWPORT, device_scale_factor=1, locale="en-GB")
            _pages(page, base_url, out, release, customers, database_url=settings.database_url)
            browser.close()


def _pages(
    page: Page,
    base_url: str,
    out: Path,
    release: int,
    customers: dict[str, str],
    *,
    database_url: str,
) -> None:
    console = f"{base_url}/console"
    page.goto(f"{console}/sign-in")
    page.screenshot(path=str(out / "console-signin.png"))
    page.fill("#email", "wang.min@hq.example")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/console/releases")
    shots = {
        "console-releases": "/releases",
        "console-release": f"/releases/{release}",
        "console-rollout": f"/releases/{release}/rollout",
        "console-fleet": "/rollout",
        "console-publish": "/publish",
        "console-edit": "/publish/edit",
        "console-preview": f"/releases/{release}/preview",
        "console-revoke": f"/releases/{release}/revoke",
        "console-audit": "/audit",
        "console-staff": "/staff",
        "console-plays": "/plays",
        "console-fleet-health": "/fleet?show=trouble",
        "console-fleet-kiosk": f"/fleet/{TROUBLED_KIOSK}",
        "console-customer": f"/customers/{customers['chen']}",
        "console-duplicates": "/customers/duplicates",
    }
    for name, path in shots.items():
        page.goto(console + path)
        page.wait_for_load_state("networkidle")
        page.screenshot(path=str(out / f"{name}.png"))
        print(f"wrote {out / name}.png")
    # A member's offers on their timeline (below the fold of console-customer.png).
    page.goto(f"{console}/customers/{customers['chen']}")
    page.wait_for_load_state("networkidle")
    timeline = page.get_by_test_id("timeline")
    timeline.screenshot(path=str(out / "console-customer-timeline.png"))
    print(f"wrote {out / 'console-customer-timeline.png'}")
    # The merge history after a merge and a "not the same person" (after the
    # duplicates page above, which shows both pairs still to review).
    database = Database(database_url)
    try:
        now = datetime.now(UTC)
        merges.merge(database, customers["wang"], customers["wang-old"], by="cli:demo", now=now)
        dismissals.dismiss(database, customers["chen"], customers["chen-2"], by="cli:demo", now=now)
    finally:
        database.dispose()
    page.goto(f"{console}/customers/merges")
    page.wait_for_load_state("networkidle")
    page.screenshot(path=str(out / "console-merges.png"))
    print(f"wrote {out / 'console-merges.png'}")
    # The analytics pages, whole: their charts run below the fold.
    for name in ("products", "conversion", "surveys", "coupons", "visits"):
        page.goto(f"{console}/analytics/{name}")
        page.wait_for_load_state("networkidle")
        page.screenshot(path=str(out / f"console-analytics-{name}.png"), full_page=True)
        print(f"wrote {out / f'console-analytics-{name}.png'}")
    # Member offers, whole, with each offer's figures open (docs/console.md).
    page.goto(f"{console}/analytics/offers")
    page.wait_for_load_state("networkidle")
    page.get_by_test_id("chart-offers").locator("summary").click()
    page.screenshot(path=str(out / "console-offers.png"), full_page=True)
    print(f"wrote {out / 'console-offers.png'}")
    # The kiosk page's remote commands, below the fold of the page above.
    page.goto(f"{console}/fleet/{TROUBLED_KIOSK}")
    page.wait_for_load_state("networkidle")
    page.locator("[data-testid=commands]").screenshot(path=str(out / "console-commands.png"))
    print(f"wrote {out / 'console-commands.png'}")
    # The store map last: its seven extra stores (no kiosks) stay off the pages above.
    database = Database(database_url)
    try:
        _store_map(database, datetime.now(UTC).replace(second=0, microsecond=0))
    finally:
        database.dispose()
    # The store map and a store's page whole: both run below the fold at 1440x900.
    for name, path in (
        ("console-map", "/map?metric=conversion"),
        ("console-store", "/stores/sh-nanjing-road"),
    ):
        page.goto(console + path)
        page.wait_for_load_state("networkidle")
        page.screenshot(path=str(out / f"{name}.png"), full_page=True)
        print(f"wrote {out / name}.png")


def _chain(database: Database, settings: Settings, tmp: Path) -> int:
    """The chain, its staff, releases and reports; the number of the release shown."""
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    assets = DirectoryAssetStore(settings.data_dir / "assets")
    keys = ContentKeys(settings.data_dir / "keys")
    kiosk_ids: dict[str, list[str]] = {}
    for store_id, (name, region, tags, count) in STORES.items():
        fleet.add_store(database, store_id, name, now=now, region=region, tags=tags, by="setup")
        kiosk_ids[store_id] = [f"{store_id}-k{n}" for n in range(1, count + 1)]
    with database.write() as connection:
        for store_id, ids in kiosk_ids.items():
            for kiosk_id in ids:
                connection.execute(
                    insert(kiosks).values(
                        kiosk_id=kiosk_id,
                        store_id=store_id,
                        token_sha256=uuid.uuid4().hex * 2,
                        enrolled_at=now - timedelta(days=40),
                        contiguous_seq=0,
                        highest_seq=0,
                    )
                )
    hasher = PasswordHasher()
    for email, name, role, stores, days in (
        ("wang.min@hq.example", "王敏", Role.CHAIN_ADMIN, (), 30),
        ("li.na@hq.example", "李娜", Role.CONTENT_EDITOR, (), 30),
        ("zhao.lei@hq.example", "赵磊", Role.STORE_MANAGER, ("bj-sanlitun",), 20),
    ):
        add_staff(
            database,
            hasher,
            email=email,
            name=name,
            role=role,
            stores_managed=stores,
            password=PASSWORD,
            now=now - timedelta(days=days),
            by="setup",
        )
    bundle = tmp / "bundle"
    write_sample_bundle(bundle, products=16, release="autumn-2026")
    autumn = publish_folder(
        database,
        assets,
        keys,
        bundle,
        target="all",
        name="Autumn catalogue",
        by="staff:2",
        now=now - timedelta(days=12),
    ).release.release_id
    prices = publish_edit(
        database,
        assets,
        keys,
        autumn,
        [
            ProductEdit("XH-X60-256-PU", price="4299.00"),
            ProductEdit("XH-S12-256-MT", in_stock=False),
        ],
        target="region:east",
        name="Double 12 prices, east",
        by="staff:2",
        now=now - timedelta(days=2),
    ).release.release_id
    spring_bundle = tmp / "spring"
    write_sample_bundle(spring_bundle, products=16, seed=2, release="spring-2027")
    spring = publish_folder(
        database,
        assets,
        keys,
        spring_bundle,
        target="all",
        name="Spring launch",
        by="staff:2",
        now=now - timedelta(minutes=40),
        expires=now + timedelta(days=45),
    ).release.release_id
    del prices
    total = spring_bundle_size = sum(
        p.stat().st_size for p in spring_bundle.rglob("*") if p.is_file()
    )
    del total
    reports: list[tuple[str, str, int, list[int], int | None, int | None]] = []
    for index, kiosk_id in enumerate(k for ids in kiosk_ids.values() for k in ids):
        store_id = kiosk_id.rsplit("-k", 1)[0]
        if index % 9 == 4:
            reports.append(
                (kiosk_id, store_id, autumn, [], spring, spring_bundle_size * (3 + index % 5) // 8)
            )
        elif index % 11 == 7:
            reports.append((kiosk_id, store_id, autumn, [], None, None))
        elif index % 6 == 5:
            reports.append((kiosk_id, store_id, autumn, [spring], None, None))
        else:
            reports.append((kiosk_id, store_id, spring, [], None, None))
    with database.write() as connection:
        for kiosk_id, store_id, active, ready, downloading, done in reports:
            connection.execute(
                insert(kiosk_content_status).values(
                    kiosk_id=kiosk_id,
                    store_id=store_id,
                    active=active,
                    ready=ready,
                    downloading=downloading,
                    bytes_done=done,
                    bytes_total=spring_bundle_size if downloading else None,
                    reported_at=now - timedelta(seconds=20 + len(kiosk_id)),
                )
            )
            if active == autumn and not ready and downloading is None:
                connection.execute(
                    insert(content_failures).values(
                        failure_id=str(uuid.uuid4()),
                        kiosk_id=kiosk_id,
                        store_id=store_id,
                        release_id=spring,
                        reason="asset_hash",
                        detail="pictures/xh-x60-2.jpg: the bytes do not match the manifest's hash",
                        occurred_at=now - timedelta(minutes=12),
                        received_at=now - timedelta(minutes=11),
                    )
                )
    _plays(database, kiosk_ids, now)
    _heartbeats(database, [k for ids in kiosk_ids.values() for k in ids], now)
    _commands(database, settings, now)
    _analytics(database, now)
    return spring


CAMPAIGNS: Final = (
    # (item, campaign, seconds a show, shows an hour, share of shows a lift followed)
    ("x60-launch-film", "xh-x60-launch", 20, 30, 0.11),
    ("x60-poster", "xh-x60-launch", 8, 30, 0.08),
    ("s12-trade-in", "trade-in-autumn", 8, 30, 0.05),
    ("accessories-double12", "double-12-cases", 8, 20, 0.04),
    ("slides/welcome.jpg", None, 8, 30, 0.02),
)


def _plays(database: Database, kiosk_ids: dict[str, list[str]], now: datetime) -> None:
    """A week of attract loops in every store, as kiosks' play_counts records store it."""
    rng = random.Random(12)
    hour = now.replace(minute=0)
    facts = []
    for store_id, ids in kiosk_ids.items():
        busy = rng.uniform(0.6, 1.4)  # a flagship sees more shoppers than a mall corner
        for kiosk_id in ids:
            rows = []
            for back in range(1, 7 * 24):
                at = hour - timedelta(hours=back)
                if not 2 <= at.hour <= 13:  # 10:00-22:00 in Shanghai: the store is open
                    continue
                for item, campaign, seconds, shows, lifts in CAMPAIGNS:
                    shown = max(0, round(shows * rng.uniform(0.85, 1.0)))
                    lifted = sum(rng.random() < lifts * busy for _ in range(shown))
                    rows.append(
                        PlayCount(at, item, campaign, shown, shown * seconds * 1000, lifted)
                    )
            origin = Origin(str(uuid.uuid4()), store_id, kiosk_id, now)
            facts.append(PlaysCounted(origin, tuple(rows)))
    with database.write() as connection:
        plays.project(database, connection, facts)


def _analytics(database: Database, now: datetime) -> None:
    """A month of shoppers at every store's first kiosk, rolled up for the analytics pages."""
    names = {store_id: name for store_id, (name, *_) in STORES.items()}
    start = now.astimezone(ZONE).date() - timedelta(days=30)
    data = analytics_data.generate(stores=names, days=30, sessions=8, start=start)
    analytics_data.load_events(database, data)
    analytics_data.load_coupons(database, data)
    rollup.roll(database, now)
    # A month of member offers at each store's first kiosk (tests/helpers/offers.py).
    kiosks = {store_id: f"{store_id}-k1" for store_id in STORES}
    midnight = datetime.combine(start, datetime.min.time(), ZONE).astimezone(UTC)
    load_offers(database, generate_offers(kiosks, start=midnight, days=30, shown_a_day=9))


def _heartbeats(database: Database, kiosk_ids: list[str], now: datetime) -> None:
    """An afternoon of heartbeats: most kiosks well, a fob reader unplugged and back and
    unplugged again, one kiosk silent since lunch, one with a backlog, one short of disk."""
    for index, kiosk_id in enumerate(kiosk_ids):
        kiosk = KioskIdentity(kiosk_id, kiosk_id.rsplit("-k", 1)[0])
        last = 150 if kiosk_id == SILENT_KIOSK else 0
        for minutes in range(180, last - 1, -10):
            failed = kiosk_id == TROUBLED_KIOSK and (minutes <= 20 or 90 <= minutes <= 120)
            backlog = 6_400 + 40 * (180 - minutes) if index == 5 else (index * 7) % 23
            body = {
                "app_version": "0.1.0",
                "content_release": "hq-3" if index % 6 != 5 else "hq-1",
                "devices": [
                    {"name": "pickup", "state": "up", "detail": "open"},
                    {
                        "name": "rfid",
                        "state": "reconnecting" if failed else "up",
                        "detail": "[Errno 2] could not open port /dev/kiosk-rfid"
                        if failed
                        else "open",
                    },
                    *(
                        [{"name": "ble", "state": "up", "detail": "active on hci0"}]
                        if index % 3 == 0
                        else []
                    ),
                ],
                "outbox": {"backlog": backlog, "dead_letters": 0, "state": "idle"},
                "disk": {
                    "free_bytes": (700 << 20) if index == 9 else (18 + index) << 30,
                    "total_bytes": 58 << 30,
                },
                "uptime_s": 3600 * (20 + index) + 60 * (180 - minutes),
                "screen": "on",
            }
            record_heartbeat(
                database,
                kiosk,
                Heartbeat.model_validate(body),
                now=now - timedelta(minutes=minutes, seconds=5 + index),
            )
    sweep(database, now=now)


def _commands(database: Database, settings: Settings, now: datetime) -> None:
    """Staff's remote commands to the troubled kiosk: an identify, a screenshot (the attract
    loop, as the kiosk's own grab of it), logs that could not come, one still pending."""
    keys = ContentKeys(settings.data_dir / "keys")
    shot = Path(__file__).resolve().parent.parent / "docs" / "screenshots" / "attract.png"
    for minutes, kind, status, detail, file in (
        (14, "identify", "done", "shown for 10 s", None),
        (12, "screenshot", "done", "1920x1080 PNG", shot.read_bytes()),
        (9, "upload-logs", "failed", "journalctl failed (1)", None),
        (1, "fetch-content", None, "", None),
    ):
        at = now - timedelta(minutes=minutes)
        command = commands.issue(
            database, keys, kiosk_id=TROUBLED_KIOSK, kind=kind, actor="wang.min@hq.example", now=at
        )
        if status is None:
            continue
        commands.deliver(database, TROUBLED_KIOSK, at + timedelta(seconds=20))
        commands.record_result(
            database,
            kiosk_id=TROUBLED_KIOSK,
            command_id=command.id,
            status=status,  # type: ignore[arg-type]
            detail=detail,
            file=file,
            now=at + timedelta(seconds=22),
        )


if __name__ == "__main__":
    shoot(
        Path(sys.argv[1])
        if len(sys.argv) > 1
        else Path(__file__).resolve().parent.parent / "docs" / "screenshots"
    )


# ---------------------------------------------------------------- the store map

# Where the stores stand, as HQ staff would import them (hq.store_places): the
# chain's eight stores above and seven more in the west, centre and north-east;
# Kunming's new store has no coordinates yet, so the map lists it beside it.
STORE_PLACES_CSV: Final = """store_id,name,region,latitude,longitude
sh-nanjing-road,,,31.2353,121.4747
sh-xujiahui,,,31.1955,121.4368
hz-hubin,,,30.2578,120.1634
bj-sanlitun,,,39.9365,116.4551
bj-xidan,,,39.9107,116.3740
tj-binjiang,,,39.1217,117.1945
gz-tianhe,,,23.1322,113.3273
sz-coastal-city,,,22.5170,113.9360
nj-xinjiekou,南京新街口店,east,32.0410,118.7840
cd-taikoo-li,成都远洋太古里店,west,30.6530,104.0830
cq-jiefangbei,重庆解放碑店,west,29.5580,106.5770
xa-bell-tower,西安钟楼店,west,34.2600,108.9470
wh-jianghan-road,武汉江汉路店,central,30.5800,114.2800
sy-taiyuan-street,沈阳太原街店,north,41.7960,123.4080
km-nanping-street,昆明南屏街店,west,,
"""
# (lifts a day, sign-ups per shopper session, share of happy smileys): flagships
# busy, the new western stores converting well, one mall store with unhappy shoppers.
STORE_PROFILES: Final = {
    "sh-nanjing-road": (150, 0.045, 0.88),
    "sh-xujiahui": (90, 0.035, 0.79),
    "hz-hubin": (70, 0.052, 0.91),
    "bj-sanlitun": (140, 0.041, 0.84),
    "bj-xidan": (80, 0.022, 0.61),
    "tj-binjiang": (45, 0.030, 0.76),
    "gz-tianhe": (95, 0.038, 0.82),
    "sz-coastal-city": (110, 0.061, 0.9),
    "nj-xinjiekou": (60, 0.034, 0.8),
    "cd-taikoo-li": (85, 0.072, 0.93),
    "cq-jiefangbei": (65, 0.066, 0.87),
    "xa-bell-tower": (40, 0.028, 0.72),
    "wh-jianghan-road": (55, 0.047, 0.83),
    "sy-taiyuan-street": (30, 0.019, 0.68),
    "km-nanping-street": (25, 0.05, 0.85),
}


def _store_map(database: Database, now: datetime) -> None:
    """Coordinates for every store but one, and 30 days of lifts, sign-ups and smileys."""
    rows = read_import(STORE_PLACES_CSV.encode(), "stores.csv")
    apply_import(database, rows, by="setup", now=now)
    rng = random.Random(19)
    data = StoreData(database)
    for store_id, (per_day, conversion, happy) in STORE_PROFILES.items():
        moments, sessions, signups, smileys, answered = [], [], [], [], []
        for day in range(30):
            start = now - timedelta(days=day + 1)
            visitors = max(1, round(rng.gauss(per_day / 2.5, per_day / 12)))
            for visitor in range(visitors):
                at = start + timedelta(seconds=rng.uniform(0, 86_400))
                for _ in range(rng.choice((1, 2, 2, 3, 4))):
                    moments.append(at)
                    sessions.append(f"d{day}-v{visitor}")
                if rng.random() < conversion:
                    signups.append(at)
                if rng.random() < 0.15:
                    answered.append(at)
                    smileys.append(
                        rng.choice((3, 4)) if rng.random() < happy else rng.choice((1, 2))
                    )
        data.lifts(store_id, "k1", moments, sessions)
        data.signups(store_id, signups)
        data.answers(store_id, "smiley", smileys, answered)
    data.roll()  # the map reads the analytics rollups
