"""`kiosk-attendant`: the store staff's app. Wiring only: build every object, connect, run.

    kiosk-attendant [--data-dir D] [--kiosk ID=URL ...] [--no-discover] [--lang zh|en]
                    [--windowed]        (kiosk/attendant/cli.py has the subcommands)

The data dir (0700) holds hq.json and store.key from enrolment, the outbox that the
relay child syncs to HQ, and attendant.sqlite (staff, action log, resume points).
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from PySide6.QtWidgets import QApplication

from backend_client.channel.client import ChannelClient, KioskEndpoint
from backend_client.channel.keys import KEY_FILE as STORE_KEY_FILE
from backend_client.channel.keys import StoreKeyError, StoreKeys
from backend_client.credentials import CredentialsError, load_credentials
from backend_client.crypto import PayloadCipher
from backend_client.outbox import Outbox, OutboxWriter
from backend_client.private_files import private_dir
from backend_client.relay_process import KEY_FILE, OUTBOX_FILE, RelayProcess
from content.model import Language
from kiosk import theme
from kiosk.attendant.cli import DEFAULT_DATA_DIR
from kiosk.attendant.console import AttendantConsole, Outboxes
from kiosk.attendant.desk import AttendantDesk
from kiosk.attendant.gate import StaffGate
from kiosk.attendant.links import KioskLinks
from kiosk.attendant.look import SCREEN_SIZE
from kiosk.attendant.model import AttendantState
from kiosk.attendant.sound import AlertPlayer, ChimePlayer
from kiosk.attendant.staff import PinHasher
from kiosk.attendant.store import AttendantStore, open_store
from kiosk.attendant.till import Claim, RedeemedCodes, Till, nobody_reachable
from kiosk.attendant.window import AttendantWindow
from kiosk.attendant.words import say
from kiosk.crash import install_crash_handlers

log = logging.getLogger("kiosk.attendant.app")

DEFAULT_TIMEZONE: Final = "Asia/Shanghai"


@dataclass(frozen=True, slots=True)
class AttendantOptions:
    data_dir: Path = DEFAULT_DATA_DIR
    kiosks: tuple[KioskEndpoint, ...] = ()
    discover: bool = True
    language: Language = Language.ZH_CN
    windowed: bool = False
    timezone: str = DEFAULT_TIMEZONE
    hq_ca: Path | None = None
    sync: bool = True  # start the relay child when enrolled


@dataclass(frozen=True, slots=True)
class StoreAccess:
    """What enrolment gave this device: its store, the channel's keys, the coupon key."""

    store: str
    keys: StoreKeys | None = None
    coupon_key: bytes | None = field(default=None, repr=False)


def _endpoint(text: str) -> KioskEndpoint:
    kiosk, _, url = text.partition("=")
    if not kiosk or not url.startswith(("http://", "https://")):
        raise argparse.ArgumentTypeError("expected ID=http://host:port")
    return KioskEndpoint(kiosk, url)


def parse_args(argv: Sequence[str] | None = None) -> AttendantOptions:
    parser = argparse.ArgumentParser(prog="kiosk-attendant", description="The store staff's app.")
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
    parser.add_argument("--kiosk", type=_endpoint, action="append", default=[], metavar="ID=URL")
    parser.add_argument("--no-discover", action="store_true", help="only the --kiosk ones")
    parser.add_argument("--lang", choices=("zh", "en"), default="zh")
    parser.add_argument("--windowed", action="store_true", help="a 1280x800 window")
    parser.add_argument("--timezone", default=DEFAULT_TIMEZONE, help="the store's, for coupons")
    parser.add_argument("--hq-ca", type=Path, help="CA bundle for HQ's TLS certificate")
    args = parser.parse_args(argv)
    return AttendantOptions(
        data_dir=args.data_dir,
        kiosks=tuple(args.kiosk),
        discover=not args.no_discover,
        language=Language.EN if args.lang == "en" else Language.ZH_CN,
        windowed=args.windowed,
        timezone=args.timezone,
        hq_ca=args.hq_ca,
    )


def store_access(data_dir: Path) -> StoreAccess | None:
    """From hq.json and store.key; None when the device is not enrolled (or the files are
    unusable: logged, and the app runs without the channel)."""
    try:
        credentials = load_credentials(data_dir)
    except CredentialsError as error:
        log.error("HQ credentials unusable (enrol again): %s", error)
        return None
    if credentials is None:
        return None
    keys = None
    try:
        keys = StoreKeys.from_file(credentials.store_id, data_dir / STORE_KEY_FILE)
    except (OSError, StoreKeyError) as error:
        log.error("no usable store key, the store channel is off: %s", error)
    return StoreAccess(credentials.store_id, keys, credentials.store_coupon_key)


@dataclass
class Attendant:
    app: QApplication
    window: AttendantWindow
    console: AttendantConsole
    store: AttendantStore
    client: ChannelClient | None
    outbox: OutboxWriter | None
    relay: RelayProcess | None
    stop_browsing: Callable[[], None] | None = None

    def close(self) -> None:
        if self.stop_browsing is not None:
            self.stop_browsing()
        if self.client is not None:
            self.client.stop()
        self.app.removeEventFilter(self.console)
        self.console.stop()
        if self.outbox is not None:
            self.outbox.close()
        if self.relay is not None:
            self.relay.stop()
        self.store.close()


def build(
    options: AttendantOptions,
    app: QApplication,
    access: StoreAccess | None,
    *,
    player: AlertPlayer | None = None,
    clock: Callable[[], float] = time.monotonic,
    wall_clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    hasher: PinHasher | None = None,
    claim: Claim | None = None,
) -> Attendant:
    private_dir(options.data_dir)
    store = open_store(options.data_dir)
    try:
        tz = ZoneInfo(options.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        log.error("unknown time zone %r: %s is used", options.timezone, DEFAULT_TIMEZONE)
        tz = ZoneInfo(DEFAULT_TIMEZONE)
    relay = None
    outbox = None
    if access is not None:
        if options.sync:
            relay = RelayProcess(options.data_dir, ca_bundle=options.hq_ca)
        wake = None if relay is None else (lambda _seqs: relay.wake())
        cipher = PayloadCipher.from_key_file(options.data_dir / KEY_FILE)
        outbox = OutboxWriter(options.data_dir / OUTBOX_FILE, cipher=cipher, on_written=wake)
    links = KioskLinks(access.keys if access is not None else None)
    till = None
    if access is not None:
        till = Till(
            Outbox(options.data_dir / OUTBOX_FILE, cipher=cipher),
            access.coupon_key,
            tz,
            RedeemedCodes(),
            claim or (links.claim if access.keys is not None else nobody_reachable),
        )
    state = AttendantState(
        access.store if access is not None else "", thresholds=store.thresholds()
    )
    desk = AttendantDesk(state, clock)
    window = AttendantWindow(access.store if access is not None else "—")
    hasher = hasher or PinHasher()
    console = AttendantConsole(
        window=window,
        desk=desk,
        store=store,
        gate=StaffGate(hasher, clock),
        hasher=hasher,
        player=player or ChimePlayer(options.data_dir),
        links=links,
        outboxes=Outboxes(
            outbox.append if outbox is not None else None,
            None if relay is None else relay.wake,
        ),
        till=till,
        tz=tz,
        wall_clock=wall_clock,
        clock=clock,
    )
    app.installEventFilter(console)
    console.set_language(options.language)
    client = None
    stop_browsing = None
    if access is None:
        window.show_notice(say(options.language, "not_enrolled"))
    elif access.keys is not None:
        for endpoint in options.kiosks:
            links.found(endpoint)
        client = ChannelClient(
            list(options.kiosks),
            access.keys,
            console.on_message,
            console.on_status,
            resume=store.resume_points(),
        )
        if options.discover:
            stop_browsing = _discover(access.store, links, client)
    if outbox is not None:
        outbox.start()
    if relay is not None:
        relay.start()
    console.start()
    if client is not None:
        client.start()
    return Attendant(app, window, console, store, client, outbox, relay, stop_browsing)


def _discover(store: str, links: KioskLinks, client: ChannelClient) -> Callable[[], None] | None:
    # Imported here: zeroconf is only needed when browsing.
    from zeroconf import InterfaceChoice  # noqa: PLC0415

    from backend_client.channel.discovery import browse  # noqa: PLC0415

    def found(endpoint: KioskEndpoint) -> None:
        links.found(endpoint)
        client.add(endpoint)

    try:
        return browse(store, found, InterfaceChoice.All)
    except OSError as error:  # no multicast on this network: configured kiosks only
        log.warning("kiosk discovery is off: %s", error)
        return None


def run(argv: Sequence[str]) -> int:
    """The app itself (cli.py hands over everything but its subcommands)."""
    options = parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    app = QApplication(sys.argv[:1])
    app.setApplicationName("kiosk-attendant")
    app.setFont(theme.ui_font())
    signal_sockets = install_crash_handlers(app, log, "the app")
    attendant = build(options, app, store_access(options.data_dir))
    if options.windowed or app.platformName() == "offscreen":
        attendant.window.resize(*SCREEN_SIZE)
        attendant.window.show()
    else:
        attendant.window.showFullScreen()
    log.info("attendant up")
    try:
        return app.exec()
    finally:
        attendant.close()
        for sock in signal_sockets:
            sock.close()
