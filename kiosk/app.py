"""The shopper kiosk: wiring only. Build every object, connect them, run."""

from __future__ import annotations

import argparse
import ctypes
import gc
import logging
import os
import shutil
import sqlite3
import sys
import tempfile
import time
import uuid
import weakref
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Final, Literal, Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

# The kiosk's Qt-free half first, before PySide6: PySide6 reads the whole source of
# every module imported after it (shibokensupport's check for `from __feature__
# import`), ~0.5 ms each for the ~300 modules of SQLAlchemy, pydantic and ours.
from backend_client.channel import server_process
from backend_client.channel.files import KEY_FILE as STORE_KEY_FILE
from backend_client.channel.planogram import effective_slots, load_edits
from backend_client.channel.sender import ChannelSender
from backend_client.channel.server_process import ServerOptions
from backend_client.credentials import Credentials, CredentialsError, load_credentials
from backend_client.data_link import DataLink
from backend_client.handoff import handoff_link
from backend_client.member_reader import MEMBERS_FILE, MemberReader
from backend_client.private_files import private_dir
from backend_client.records import OutboxRecord
from backend_client.relay_process import DEFAULT_TIMEZONE, RelayProcess
from backend_client.status import ContentStatus, SyncState, SyncStatus
from content import reports
from content.bundle import (
    DOCUMENT_MAX_BYTES,
    PLAYLIST,
    Bundle,
    BundleError,
    BundleFiles,
    EntryError,
    parse_document,
)
from content.catalog import CatalogIndex
from content.model import Playlist
from content.schedule import playing_now, switch_due
from content.store import ContentStore
from devices.events import DeviceEvent, Lifted
from devices.pickup import PickupBoard
from devices.presence import PresenceConfig
from devices.protocols.pickup import LedMode
from devices.protocols.rfid import RfidProtocol
from devices.rfid import SerialRfidReader, WedgeRfidReader
from kiosk.maintenance_gesture import Touch  # noqa: F401 - for screens/window.py, before Qt
from kiosk.maintenance_parts import RESTART_EXIT, MaintenanceParts, MaintenanceTiming
from kiosk.play_counts import PlayItem  # noqa: F401 - its dataclasses made before Qt's import hook
from rewards.issuing import WHOLE_STORE, StoreShare
from rewards.offers import OfferBook, ProductFamily

# isort: split
# Then PySide6, its import hook made to keep no module's source (kiosk/pyside_sources).
from kiosk import pyside_sources  # noqa: F401

# isort: split
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QApplication

from kiosk import channel_feed, display, theme, watchdog
from kiosk.channel_feed import ContentUpdate, download_percent
from kiosk.channel_link import ChannelLink
from kiosk.collector import GuiThreadCollector
from kiosk.content_switch import ContentSwitch, ReadyContent, usable_staged
from kiosk.controller import SessionController
from kiosk.crash import install_crash_handlers, notify_exceptions
from kiosk.device_bridge import DeviceBridge
from kiosk.images import ImageCache
from kiosk.maintenance_door import MaintenanceDoor
from kiosk.play_log import PlayLog
from kiosk.qr import qr_image
from kiosk.recognition import Recogniser
from kiosk.reward_link import RewardLink
from kiosk.screens.attract import AttractScreen, store_clock
from kiosk.screens.text_entry import SharedKeyboard, input_method_environment
from kiosk.screens.window import KioskWindow
from kiosk.session import ATTRACT, HqLinkChanged, SessionConfig, SessionMachine, SessionState
from kiosk.signup import DEFAULT_REGION
from kiosk.trace import FileTrace, NullTrace, Trace
from kiosk.video_reports import VideoFailureReports

if TYPE_CHECKING:
    from kiosk.health_report import HealthReporter
    from kiosk.offer_printing import CouponPrinting

log = logging.getLogger("kiosk.app")

DEFAULT_DATA_DIR: Final = (
    Path(os.environ.get("XDG_DATA_HOME", Path.home() / ".local" / "share")) / "kiosk"
)


M_MMAP_THRESHOLD: Final = -3  # glibc's mallopt parameter number (malloc.h)

# The slide on screen, the one fading out and the next one, at 1920x1080 ARGB32.
SLIDE_BUDGET_BYTES: Final = 3 * 1920 * 1080 * 4
# The shown phone's other pictures (back, side...) at the product screen's 560 px.
VIEW_BUDGET_BYTES: Final = 4 * 560 * 560 * 4

HANDOFF_QR_PX: Final = 420
SERVER_START_LATEST_MS: Final = 5000  # the channel server starts at first paint, or then


class Reader(Protocol):
    """A member-tag reader: a thread of its own from start() to stop()."""

    def start(self) -> None: ...

    def stop(self, timeout: float = ...) -> None: ...


@dataclass(frozen=True, slots=True)
class KioskOptions:
    content: Path | None = None
    pickup_port: str | None = None
    data_dir: Path = DEFAULT_DATA_DIR
    trace: Path | None = None
    windowed: bool = False
    hq_ca: Path | None = None
    session: SessionConfig = field(default_factory=SessionConfig)
    rfid_port: str | None = None
    rfid_protocol: RfidProtocol = RfidProtocol.RDM6300
    rfid_wedge: Path | None = None
    ble: bool = False
    ble_adapter: str | None = None
    ble_company_ids: tuple[int, ...] = ()
    ble_presence: PresenceConfig = field(default_factory=PresenceConfig)
    channel: bool = True  # serve the store channel (when enrolled with a store key)
    channel_host: str = server_process.DEFAULT_HOST
    channel_port: int = server_process.DEFAULT_PORT
    join_url: str | None = None  # where phones reach HQ's sign-up page; None: HQ's URL
    timezone: str = DEFAULT_TIMEZONE
    screen: str | None = None  # the screen to cover, by name; None: the primary one
    maintenance: MaintenanceTiming = field(default_factory=MaintenanceTiming)
    heartbeat_interval: float | None = None  # None: HQ's pace (a test sets it)
    printer_port: str | None = None  # the receipt printer for member offers' coupons
    printer_paper: Literal[58, 80] = 80  # its roll's width, mm


def parse_args(argv: Sequence[str] | None = None) -> KioskOptions:
    defaults = SessionConfig()
    parser = argparse.ArgumentParser(prog="kiosk", description="The shopper touchscreen.")
    parser.add_argument("--content", type=Path, help="content bundle directory to install")
    parser.add_argument("--pickup-port", help="serial port of the pickup sensor board")
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
    parser.add_argument("--trace", type=Path, help="write JSON-lines diagnostics here")
    parser.add_argument("--windowed", action="store_true", help="a 1920x1080 window")
    parser.add_argument(
        "--screen",
        metavar="NAME",
        help="the screen to cover when there are several (as the log's 'screen' line"
        " names them; default: the primary one)",
    )
    parser.add_argument(
        "--hq-ca", type=Path, help="CA bundle for HQ's TLS certificate (default: the system's)"
    )
    parser.add_argument(
        "--heartbeat-interval",
        type=float,
        metavar="S",
        help=argparse.SUPPRESS,  # tests and demos: heartbeats (and HQ's commands) this often
    )
    parser.add_argument("--rfid-port", help="serial port of a 125 kHz member-fob reader")
    parser.add_argument(
        "--printer",
        metavar="PORT",
        help="serial port (or USB device) of an ESC/POS receipt printer for member offers",
    )
    parser.add_argument(
        "--printer-paper",
        type=int,
        choices=(58, 80),
        default=80,
        metavar="MM",
        help="the receipt printer's paper width: 58 or 80 (default)",
    )
    parser.add_argument(
        "--rfid-protocol",
        type=RfidProtocol,
        choices=list(RfidProtocol),
        default=RfidProtocol.RDM6300,
        help="RDM6300 frames, or one card number per line",
    )
    parser.add_argument(
        "--rfid-wedge", type=Path, help="input device of a USB keyboard-wedge fob reader"
    )
    presence = PresenceConfig()
    parser.add_argument("--ble", action="store_true", help="recognise members' BLE tags")
    parser.add_argument("--ble-adapter", help="Bluetooth adapter (default: BlueZ's first)")
    parser.add_argument(
        "--ble-company-id",
        type=lambda text: int(text, 0),
        action="append",
        default=[],
        metavar="ID",
        help="also take manufacturer-data tags of this company id (e.g. 0x0059)",
    )
    parser.add_argument(
        "--ble-enter",
        type=float,
        default=presence.enter_dbm,
        metavar="DBM",
        help="smoothed RSSI at which a tag counts as at the kiosk",
    )
    parser.add_argument(
        "--ble-exit",
        type=float,
        default=presence.exit_dbm,
        metavar="DBM",
        help="smoothed RSSI under which it has left (keep it ~10 dB below --ble-enter)",
    )
    parser.add_argument(
        "--phone-region",
        default=DEFAULT_REGION,
        metavar="CC",
        help="country of numbers typed without +country code (ISO 3166, default CN)",
    )
    parser.add_argument(
        "--timezone",
        default=DEFAULT_TIMEZONE,
        help="the store's time zone: campaign days and daily caps follow it",
    )
    parser.add_argument(
        "--channel-port",
        type=int,
        default=server_process.DEFAULT_PORT,
        metavar="PORT",
        help="port of the store channel for attendant devices (0: any free port)",
    )
    parser.add_argument(
        "--channel-host",
        default=server_process.DEFAULT_HOST,
        metavar="ADDRESS",
        help="address the store channel listens on (default: all; announced on the LAN"
        " unless loopback)",
    )
    parser.add_argument(
        "--no-channel", action="store_true", help="no live messages for store staff"
    )
    parser.add_argument(
        "--join-url",
        metavar="URL",
        help="HQ's address as shoppers' phones reach it, for 'continue on your phone'"
        " (default: the HQ URL this kiosk enrolled with)",
    )
    parser.add_argument(
        "--form-timeout",
        type=float,
        default=defaults.form_timeout,
        metavar="S",
        help="an untouched sign-up or survey starts its walk-away countdown after this",
    )
    parser.add_argument("--drop-grace", type=float, default=defaults.drop_grace, metavar="S")
    parser.add_argument("--idle-timeout", type=float, default=defaults.idle_timeout, metavar="S")
    parser.add_argument("--bounce-ms", type=float, default=defaults.bounce * 1000, metavar="MS")
    args = parser.parse_args(argv)
    try:
        ble_presence = replace(presence, enter_dbm=args.ble_enter, exit_dbm=args.ble_exit)
    except ValueError as error:
        parser.error(f"--ble-enter/--ble-exit: {error}")
    return KioskOptions(
        content=args.content,
        pickup_port=args.pickup_port,
        data_dir=args.data_dir,
        trace=args.trace,
        windowed=args.windowed,
        hq_ca=args.hq_ca,
        heartbeat_interval=args.heartbeat_interval,
        rfid_port=args.rfid_port,
        printer_port=args.printer,
        printer_paper=80 if args.printer_paper == 80 else 58,
        rfid_protocol=args.rfid_protocol,
        rfid_wedge=args.rfid_wedge,
        ble=args.ble,
        ble_adapter=args.ble_adapter,
        ble_company_ids=tuple(args.ble_company_id),
        ble_presence=ble_presence,
        channel=not args.no_channel,
        channel_host=args.channel_host,
        channel_port=args.channel_port,
        join_url=args.join_url,
        timezone=args.timezone,
        screen=args.screen,
        session=SessionConfig(
            drop_grace=args.drop_grace,
            idle_timeout=args.idle_timeout,
            bounce=args.bounce_ms / 1000,
            form_timeout=args.form_timeout,
            phone_region=args.phone_region.upper(),
        ),
    )


def load_content(
    store: ContentStore, source: Path | None, trace: Trace, now: datetime | None = None
) -> Bundle | None:
    """Install `source` if it is new and good; otherwise keep serving the last good bundle.

    A release staged while the kiosk was off and due now is switched to before the
    first paint; otherwise this start counts on the current release, which is given
    up for the last good one if it crashed the kiosk at its last starts.
    """
    now = datetime.now(UTC) if now is None else now
    if source is not None and store.holds(source):
        # The unit starts the kiosk with the same --content every time: once installed,
        # it no longer takes over from a release switched to since (from HQ, or back
        # to a good one after a crash). A bundle never installed here still does.
        log.info("content bundle %s is installed already; starting on the current one", source)
        source = None
    if source is not None:
        try:
            installed = store.install(source)
        except BundleError as error:
            log.error("content bundle %s refused:\n%s", source, error)
            trace.emit(
                "content",
                status="refused",
                problems=len(error.problems),
                first_problem=str(error.problems[0]),
            )
        else:
            trace.emit("content", status="installed", release=installed.release)
            return installed
    try:
        if not _switch_at_start(store, trace, now):
            crash = store.note_start(now)
            if crash is not None:
                trace.emit(
                    "content", status="crashed", release=crash.crashed, restored=crash.restored
                )
    except OSError:  # a read-only or full disk: show what is there all the same
        log.exception("content store not writable: no switch or crash count at this start")
    choice = store.choose()
    for skipped in choice.passed_over:  # installed, but cannot be shown: say which and why
        log.error(
            "content release %s passed over: %d problem(s); first: %s",
            skipped.release,
            skipped.problems,
            skipped.first_problem,
        )
        trace.emit(
            "content",
            status="passed-over",
            release=skipped.release,
            problems=skipped.problems,
            first_problem=skipped.first_problem,
        )
    bundle = choice.bundle
    if bundle is None:
        log.error("no usable content bundle: showing the welcome screen only")
        trace.emit("content", status="none")
    else:
        trace.emit("content", status="current", release=bundle.release)
    return bundle


def _switch_at_start(store: ContentStore, trace: Trace, now: datetime) -> bool:
    """Activate a staged release that is due (the screen is on the attract loop at start)."""
    current = store.current_release()
    active = None if current is None else store.number(current)
    due = switch_due(usable_staged(store), active, now, on_attract=True)
    if due is None:
        return False
    try:
        store.activate(due)
    except BundleError as error:
        log.error("staged release %s does not load:\n%s", due, error)
        store.refuse(due, "load_failed")
        reports.record(
            store.root,
            release=store.number(due),
            reason="load_failed",
            detail=str(error.problems[0])[:300],
            now=now,
        )
        trace.emit("content", status="load_failed", release=due)
        return False
    trace.emit("content", status="switched", release=due)
    return True


@dataclass
class Kiosk:
    """Everything `build` wired together, for `main` and for tests to drive and close."""

    window: KioskWindow
    controller: SessionController
    bridge: DeviceBridge
    board: PickupBoard | None
    readers: list[Reader]
    outbox: DataLink  # the relay child writes the outbox: records wait here until it has
    relay: RelayProcess
    images: ImageCache
    slide_images: ImageCache
    trace: Trace
    channel: ChannelLink | None = None
    keyboard_data: Path | None = None
    view_images: ImageCache | None = None
    collector: GuiThreadCollector | None = None
    content_switch: ContentSwitch[SwapContent] | None = None
    maintenance: MaintenanceDoor | None = None
    play_log: PlayLog | None = None
    health: HealthReporter | None = None  # for HQ's heartbeat (kiosk/health_report.py)
    printing: CouponPrinting | None = None  # the receipt printer, with --printer

    @property
    def bundle(self) -> Bundle | None:
        """The release on screen (a switch may replace the one started with)."""
        return None if self.content_switch is None else self.content_switch.bundle

    def close(self) -> None:
        if self.content_switch is not None:
            self.content_switch.close()
        self.controller.stop()
        if self.maintenance is not None:
            self.maintenance.close()
        if self.board is not None:
            self.board.stop()
        for reader in self.readers:
            reader.stop()
        if self.printing is not None:
            self.printing.stop()
        self.window.shut_down()
        if self.play_log is not None:
            self.play_log.close()  # its last counts, before the outbox closes
        self.outbox.close()
        self.relay.stop()
        if self.channel is not None:
            self.channel.close()  # after the relay: its last status may still arrive
        if self.keyboard_data is not None:
            shutil.rmtree(self.keyboard_data, ignore_errors=True)
        self.images.close()
        self.slide_images.close()
        if self.view_images is not None:
            self.view_images.close()
        self.trace.emit("stop")
        self.trace.close()
        if self.collector is not None:
            self.collector.stop()  # every thread has stopped: cycles go here, not there


def build(options: KioskOptions, app: QApplication) -> Kiosk:
    # Before any thread starts: from here on only the GUI thread frees Qt objects.
    collector = GuiThreadCollector(app)
    # Personal data, keys and HQ's token: the kiosk's user's eyes only, enrolled or not.
    private_dir(options.data_dir)
    trace: Trace = FileTrace(options.trace) if options.trace else NullTrace()
    trace.emit("start", pid=os.getpid())

    switch = start_content(options, trace)  # its bundle: the release shown at start
    credentials = _credentials(options, trace)
    channel = build_channel(options, credentials, switch, trace)
    bridge = DeviceBridge()
    # Staff's maintenance screen: it hears the relay's reports and, while open, the readers.
    door = MaintenanceDoor(hq_link_listener(bridge, channel), switch.on_content)
    rewards = RewardLink(switch.bundle, bridge.post)
    # Records and reward requests go to the relay child, which writes the outbox (and
    # runs the reward desk) also before this kiosk is enrolled: backend_client/data_link.py.
    outbox = DataLink(on_answer=rewards.on_answer)
    rewards.attach(outbox)
    relay = build_relay(options, trace, outbox, door.on_sync, door.on_content)
    relay.start()

    board = None
    if options.pickup_port:
        board = PickupBoard(options.pickup_port, bridge.post)
    directory = MemberReader(options.data_dir / MEMBERS_FILE)
    recogniser = Recogniser(directory, bridge.post, trace)
    readers = build_readers(options, door.divert(recogniser.on_event))
    printing = build_printing(options, bridge, switch.bundle)
    share = offer_share(credentials)

    def set_led(slot: int, mode: LedMode) -> None:
        if board is not None:
            board.set_led(slot, mode)

    def can_bind() -> bool:  # a fob reader, and the chain's key to hash its fobs with
        return bool(options.rfid_port or options.rfid_wedge) and directory.key() is not None

    controller = SessionController(
        # Member offers join after the first frame (decide_offers_after_first_paint).
        build_machine(options, switch.bundle, share=share, offers=False),
        SessionState(boot=uuid.uuid4().hex[:8]),
        append_record=outbox.append,
        set_led=set_led,
        trace=trace,
        request_reward=rewards.request,
        publish=None if channel is None else channel.publish,
        can_bind=can_bind,
        print_coupon=None if printing is None else printing.print_coupon,
    )
    images, slide_images, view_images = picture_caches(options, app)
    keyboard_data = private_keyboard_dir()
    window = KioskWindow(
        images,
        slide_images,
        view_images,
        SharedKeyboard(keyboard_data),
        store_clock=store_clock(options.timezone),
    )
    play_log = count_plays(window.attract, bridge, outbox.append)
    window.set_bundle(switch.bundle)
    door.attach(
        window,
        MaintenanceParts(
            options.data_dir,
            set_led,
            slots=lambda: controller.slot_skus,
            has_board=board is not None,
            shown_release=lambda: switch.shown,
            tag_key=directory.key,
            credentials=credentials,
            timing=options.maintenance,
        ),
    )

    bridge.event_received.connect(controller.on_device_event, Qt.ConnectionType.QueuedConnection)
    connect_window(window, controller)
    window.set_handoff_source(lambda: handoff_qr(credentials, options.join_url, trace))
    window.watch_touches()
    controller.state_changed.connect(window.show_state)
    trace_window(window, trace)
    report_failed_videos(window, options, trace)
    for cache in (images, slide_images, view_images):
        cache.loaded.connect(window.update)

    window.show_state(controller.state)
    decide_offers_after_first_paint(options, window, controller, switch, share)
    if channel is not None:
        start_channel(channel, controller, window, switch.bundle)

    connect_switch(
        switch,
        options,
        controller=controller,
        window=window,
        rewards=rewards,
        channel=channel,
        caches=(slide_images, images, view_images),
        share=share,
        printing=printing,
    )
    health = report_health(options, outbox, controller, switch)
    for worker in (board, *readers, printing):
        if worker is not None:
            worker.start()
    return Kiosk(
        window,
        controller,
        bridge,
        board,
        readers,
        outbox,
        relay,
        images,
        slide_images,
        trace,
        channel,
        keyboard_data,
        view_images,
        collector,
        switch,
        door,
        play_log,
        health,
        printing,
    )


def decide_offers_after_first_paint(
    options: KioskOptions,
    window: KioskWindow,
    controller: SessionController,
    switch: ContentSwitch[SwapContent],
    share: StoreShare,
) -> None:
    """The start's bundle's member offers, made ready once the attract loop is on screen
    (or SERVER_START_LATEST_MS after start): nobody is recognised before it, and the
    book (a catalog's brands for `viewed` rules) is not on the way to the first frame.
    A release switched to meanwhile came with its own (build_machine)."""
    # Weakly: a release switched away from meanwhile is freed on the switch's worker
    # (its last reference), never by this closure on the GUI thread.
    started_with = None if switch.bundle is None else weakref.ref(switch.bundle)
    done: list[bool] = []

    def decide(*_: object) -> None:
        bundle = None if started_with is None else started_with()
        if done or bundle is None or switch.bundle is not bundle:
            return
        done.append(True)
        controller.set_offers(offer_book(bundle, options.timezone, share))

    window.first_paint.connect(decide)
    QTimer.singleShot(SERVER_START_LATEST_MS, decide)


def hq_link_listener(
    bridge: DeviceBridge, channel: ChannelLink | None
) -> Callable[[SyncStatus], None]:
    """The relay's reports (its supervisor thread): to the store channel, and whether
    HQ is reachable to the session, which tells a member when their text will go."""
    online: list[bool] = []  # the last state posted: a change is news, a report is not

    def on_sync(status: SyncStatus) -> None:
        if channel is not None:
            channel.on_sync(status)
        now_online = status.state in (SyncState.IDLE, SyncState.SYNCING)
        if online != [now_online]:
            online[:] = [now_online]
            bridge.post(HqLinkChanged(now_online))

    return on_sync


def offer_share(credentials: Credentials | None) -> StoreShare:
    """This kiosk's part of its store's offer budgets, as the reward desk counts them."""
    if credentials is None:
        return WHOLE_STORE
    return StoreShare(credentials.budget_seat, credentials.budget_seats)


def build_printing(
    options: KioskOptions, bridge: DeviceBridge, bundle: Bundle | None
) -> CouponPrinting | None:
    """The receipt printer, when given (`--printer`): its driver and python-escpos are
    loaded only then."""
    if not options.printer_port:
        return None
    from kiosk.offer_printing import CouponPrinting  # noqa: PLC0415 - only with a printer

    return CouponPrinting(options.printer_port, bridge.post, bundle, paper_mm=options.printer_paper)


def count_plays(
    attract: AttractScreen,
    bridge: DeviceBridge,
    append: Callable[[OutboxRecord], None],
    clock: Callable[[], datetime] | None = None,
) -> PlayLog:
    """Proof of play: the attract loop's entries and the lifts that follow them
    (`clock`: the wall clock, timezone-aware; default: the system's)."""
    play_log = PlayLog(append) if clock is None else PlayLog(append, clock)
    attract.item_shown.connect(play_log.shown)
    attract.loop_stopped.connect(play_log.stopped)

    def on_event(event: object) -> None:
        if isinstance(event, Lifted) and not event.resync:  # a resync is no shopper's hand
            play_log.lifted()

    bridge.event_received.connect(on_event, Qt.ConnectionType.QueuedConnection)
    return play_log


def report_health(
    options: KioskOptions,
    link: DataLink,
    controller: SessionController,
    switch: ContentSwitch[SwapContent],
) -> HealthReporter:
    """Devices' states, the release on screen and exceptions survived, to the relay child
    for HQ's heartbeat (before the drivers start: their first reports count)."""
    from kiosk.health_report import HealthReporter, configured_devices  # noqa: PLC0415

    bundle = switch.bundle
    health = HealthReporter(
        link.report,
        devices=configured_devices(
            pickup=bool(options.pickup_port),
            rfid_serial=bool(options.rfid_port),
            rfid_wedge=bool(options.rfid_wedge),
            ble=options.ble,
            printer=bool(options.printer_port),
        ),
        release=None if bundle is None else bundle.release,
        started_mono=time.monotonic(),
    )
    controller.health_changed.connect(health.device_changed)
    switch.switched.connect(lambda ready: health.release_changed(ready.bundle.release))
    health.start()
    return health


def picture_caches(
    options: KioskOptions, app: QApplication
) -> tuple[ImageCache, ImageCache, ImageCache]:
    """Product pictures, attract slides, product views: decoded for the pixels of the
    screen the window covers (crisp at 4K, kiosk/display.py)."""
    ratio = display.screen_named(app, options.screen).devicePixelRatio()
    return (
        ImageCache(pixel_ratio=ratio, compact=True),
        ImageCache(budget_bytes=SLIDE_BUDGET_BYTES, pixel_ratio=ratio),
        ImageCache(budget_bytes=VIEW_BUDGET_BYTES, pixel_ratio=ratio, compact=True),
    )


def trace_window(window: KioskWindow, trace: Trace) -> None:
    """Each view's first paint, and when the cabinet's product panels are ready."""
    window.first_paint.connect(lambda view, mono: trace.emit("paint", mono=mono, view=view))
    window.cabinet_prepared.connect(lambda panels: trace.emit("prepared", panels=panels))


def report_failed_videos(window: KioskWindow, options: KioskOptions, trace: Trace) -> None:
    """An attract video that cannot play is skipped; HQ hears of it (content/reports.py)."""
    video_reports = VideoFailureReports(options.data_dir / "content", trace)
    # A lambda keeps the reporter alive: PySide holds a plain object's bound method weakly.
    window.video_failed.connect(lambda *failure: video_reports.report(*failure))  # noqa: PLW0108


def start_content(options: KioskOptions, trace: Trace) -> ContentSwitch[SwapContent]:
    """The release to show at start, and the switch that will replace it when due."""
    store = ContentStore(options.data_dir / "content")
    return ContentSwitch(store, load_content(store, options.content, trace), trace=trace)


def connect_switch(
    switch: ContentSwitch[SwapContent],
    options: KioskOptions,
    *,
    controller: SessionController,
    window: KioskWindow,
    rewards: RewardLink,
    channel: ChannelLink | None,
    caches: tuple[ImageCache, ImageCache, ImageCache],
    share: StoreShare = WHOLE_STORE,
    printing: CouponPrinting | None = None,
) -> None:
    """What a switch swaps on the GUI thread, and when it may (the attract loop).

    `caches`: the slides' (the first new one is decoded ahead), then the products'.
    """
    slide_images, *product_caches = caches
    local_now = store_clock(options.timezone)

    def swap(ready: ReadyContent[SwapContent]) -> None:  # GUI thread, on the attract loop
        new = ready.bundle
        controller.set_machine(build_machine(options, new, ready.prepared.slots, share=share))
        rewards.set_bundle(new)
        if printing is not None:
            printing.set_bundle(new)
        for cache in product_caches:
            cache.clear()  # the old release's pictures (the slides go with set_bundle)
        window.set_bundle(new)
        window.show_state(controller.state)
        if channel is not None and (note := channel_feed.content(new.release)) is not None:
            channel.publish(note)

    def show_update(update: ContentUpdate | None) -> None:  # a release on its way from HQ
        window.attract.show_download(download_percent(update))
        if channel is not None:
            shown = switch.bundle
            channel.tell_update(None if shown is None else shown.release, update)

    warmed: list[Path] = []  # the first slide, decoded beside the load

    def ahead(folder: Path) -> None:
        warmed[:] = [] if (first := first_slide(folder, local_now())) is None else [first]
        if first is not None:
            slide_images.warm(first, AttractScreen.BOX)

    switch.connect_kiosk(
        on_attract=lambda: on_attract_loop(controller.state),
        prepare=lambda new: prepare_swap(
            options.data_dir, new, slide_images, local_now(), warmed=warmed
        ),
        apply=swap,
        ahead=ahead,
    )
    controller.state_changed.connect(switch.session_changed)
    switch.progress.connect(show_update)
    switch.start()


@dataclass(frozen=True, slots=True)
class SwapContent:
    """What a switch prepares off the GUI thread besides the bundle."""

    slots: dict[int, str]  # the new planogram with the store's edits that still apply


def on_attract_loop(state: SessionState) -> bool:
    """No shopper: the attract loop, and no phone off its slot (not even a bounce)."""
    return state.view == ATTRACT and not state.picks


def prepare_swap(
    data_dir: Path,
    bundle: Bundle,
    slide_images: ImageCache,
    local_now: datetime,
    *,
    warmed: Collection[Path] = (),
) -> SwapContent:
    """On the switch's worker: the planogram edits (SQLite) and the decode of the first
    slide the new attract loop shows (the first entry playing now, if a picture), unless
    it is in `warmed` (decoded beside the load: `first_slide`)."""
    slots = planogram_slots(data_dir, bundle)
    first = next(iter(playing_now(bundle.playlist, local_now)), None)
    if first is not None and first.image is not None:
        path = bundle.asset(first.image)
        if path not in warmed:
            slide_images.warm(path, AttractScreen.BOX)
    # The release lives until the next switch: keep the collector (on the GUI thread)
    # off its objects, as main() does for the one loaded at start. With 10,000
    # products the first full collection after a switch walked them for ~200 ms.
    gc.freeze()
    return SwapContent(slots)


def first_slide(folder: Path, local_now: datetime) -> Path | None:
    """The picture the attract loop of the staged release in `folder` shows first, from
    its playlist alone (validated when it was staged), so that it decodes while the rest
    of the release loads; None for a video, or a playlist that does not read."""
    try:
        with BundleFiles(folder) as files:
            playlist = parse_document(Playlist, files.read(PLAYLIST, DOCUMENT_MAX_BYTES))
    except (OSError, EntryError, ValueError):
        return None  # decoded after the load instead, if the release loads at all
    first = next(iter(playing_now(playlist, local_now)), None)
    return None if first is None or first.image is None else folder / first.image


def private_keyboard_dir() -> Path:
    """Where the keyboard's input methods keep what they learn from typing.

    Emptied at every wipe and removed at exit. Pinyin keeps its user dictionary under
    the XDG config directory whatever the keyboard's settings say, so that points here
    too (the kiosk itself keeps no configuration there).
    """
    path = Path(tempfile.mkdtemp(prefix="kiosk-keyboard-"))
    os.environ["XDG_CONFIG_HOME"] = str(path)
    return path


def build_machine(
    options: KioskOptions,
    bundle: Bundle | None,
    slots: dict[int, str] | None = None,
    *,
    share: StoreShare = WHOLE_STORE,
    offers: bool = True,
) -> SessionMachine:
    """The session's rules for `bundle`; `slots` if already read (else read here).
    `share`: this kiosk's part of the store's offer budgets; `offers` False: member
    offers later (SessionController.set_offers)."""
    if bundle is None:
        return SessionMachine(options.session, {})
    return SessionMachine(
        options.session,
        planogram_slots(options.data_dir, bundle) if slots is None else slots,
        notices=bundle.notices,
        surveys=bundle.surveys,
        draws=bundle.prize_draws,
        welcome=next((c.id for c in bundle.campaigns if c.welcome), None),
        offers=offer_book(bundle, options.timezone, share) if offers else None,
    )


def offer_book(bundle: Bundle, timezone: str, share: StoreShare) -> OfferBook | None:
    """The bundle's member offers, ready to decide with (built once per bundle); None
    without offers, or without a known store time zone (offers follow its days)."""
    if not bundle.offers:
        return None
    try:
        tz = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        log.error("unknown time zone %r: no member offers", timezone)
        return None
    return OfferBook.of(bundle.offers, offer_families(bundle), tz, share)


def offer_families(bundle: Bundle) -> dict[str, ProductFamily]:
    """SKU -> brand and tags, for offers that ask what a member looked at by brand or
    tag; none otherwise. A release's catalog index names brands without building its
    products (`summaries`): a 10,000-phone catalog is built whole only for tag rules."""
    viewed = [o.segment.viewed for o in bundle.offers if o.segment.viewed is not None]
    if not any(family.brands or family.tags for family in viewed):
        return {}
    catalog = bundle.catalog
    if isinstance(catalog, CatalogIndex) and not any(family.tags for family in viewed):
        return {s.sku: ProductFamily(s.brand, frozenset()) for s in catalog.summaries()}
    return {p.sku: ProductFamily(p.brand, frozenset(p.tags)) for p in catalog.products}


def planogram_slots(data_dir: Path, bundle: Bundle) -> dict[int, str]:
    """slot -> sku: the bundle's planogram with the store staff's edits that still apply."""
    try:
        edits = load_edits(data_dir)
    except sqlite3.Error:
        log.exception("store planogram edits unreadable; showing the bundle's planogram")
        edits = ()
    return effective_slots(bundle, edits)


def connect_window(window: KioskWindow, controller: SessionController) -> None:
    """The shopper's taps become the session machine's inputs."""
    window.touched.connect(controller.touched)
    window.recommendation_tapped.connect(controller.recommendation_tapped)
    window.language_chosen.connect(controller.language_chosen)
    window.signup_opened.connect(controller.signup_opened)
    window.age_answered.connect(controller.age_answered)
    window.signup_submitted.connect(controller.signup_submitted)
    window.survey_opened.connect(controller.survey_opened)
    window.survey_answered.connect(controller.survey_answered)
    window.smiley_pressed.connect(controller.smiley_pressed)
    window.draw_opened.connect(controller.draw_opened)
    window.draw_requested.connect(controller.draw_requested)
    window.draw_skipped.connect(controller.draw_skipped)
    window.flow_closed.connect(controller.flow_closed)
    window.offer_taken.connect(controller.offer_taken)
    window.offer_text_asked.connect(controller.offer_text_asked)
    window.offer_print_asked.connect(controller.offer_print_asked)


def build_channel(
    options: KioskOptions,
    credentials: Credentials | None,
    switch: ContentSwitch[SwapContent],
    trace: Trace,
) -> ChannelLink | None:
    """The store channel, for a kiosk enrolled with its store's key: the message sender
    and the server child that writes and serves the window. Without the key nobody
    could read it: none, and no error."""
    if not options.channel or credentials is None:
        return None
    if not (options.data_dir / STORE_KEY_FILE).exists():
        log.info("no store key (enrol again for it): no store channel")
        trace.emit("channel", state="off")
        return None
    server_options = ServerOptions(
        data_dir=options.data_dir,
        store=credentials.store_id,
        kiosk=credentials.kiosk_id,
        content=options.data_dir / "content",
        host=options.channel_host,
        port=options.channel_port,
    )

    def slots() -> dict[int, str] | None:  # the server child's reader thread
        bundle = switch.bundle  # the release on screen (read between two switches)
        return None if bundle is None else planogram_slots(options.data_dir, bundle)

    return ChannelLink(ChannelSender(), server_options, trace, slots=slots)


def start_channel(
    channel: ChannelLink, controller: SessionController, window: KioskWindow, bundle: Bundle | None
) -> None:
    # Queued: the new planogram is read on the server child's reader thread.
    channel.slots_changed.connect(controller.set_slots, Qt.ConnectionType.QueuedConnection)
    channel.start()
    # The server child's start (a Python with uvicorn and zeroconf to import) waits for
    # the first paint, so the screen does not share the cores with it while it starts.
    window.first_paint.connect(lambda *_: channel.start_server())
    QTimer.singleShot(SERVER_START_LATEST_MS, channel.start_server)  # never painted: anyway
    release = None if bundle is None else channel_feed.content(bundle.release)
    if release is not None:
        channel.publish(release)


def handoff_qr(
    credentials: Credentials | None, join_url: str | None, trace: Trace
) -> QImage | None:
    """A one-time "continue on your phone" link as a QR code; None if HQ gave no key."""
    if credentials is None or credentials.coupon_key is None or credentials.kiosk_no is None:
        trace.emit("handoff", status="unavailable")
        return None
    link = handoff_link(
        join_url or credentials.hq_url,
        kiosk_no=credentials.kiosk_no,
        coupon_key=credentials.coupon_key,
        now=datetime.now(UTC),
    )
    trace.emit("handoff", status="shown")
    return qr_image(link.url, size=HANDOFF_QR_PX)


def build_readers(options: KioskOptions, on_event: Callable[[DeviceEvent], None]) -> list[Reader]:
    """The member readers this kiosk has: fob readers on a serial port or as a keyboard."""
    readers: list[Reader] = []
    if options.rfid_port:
        readers.append(
            SerialRfidReader(options.rfid_port, on_event, protocol=options.rfid_protocol)
        )
    if options.rfid_wedge:
        readers.append(WedgeRfidReader(str(options.rfid_wedge), on_event))
    if options.ble:
        # Imported only where BLE is on: bleak and its D-Bus stack cost ~4 MB.
        from devices.ble import BleTagScanner  # noqa: PLC0415

        readers.append(
            BleTagScanner(
                on_event,
                company_ids=options.ble_company_ids,
                presence_config=options.ble_presence,
                adapter=options.ble_adapter,
            )
        )
    return readers


def _credentials(options: KioskOptions, trace: Trace) -> Credentials | None:
    """What enrolment gave this kiosk; without it records wait in the outbox."""
    try:
        credentials = load_credentials(options.data_dir)
    except CredentialsError as error:
        log.error("HQ credentials unusable, not syncing (enrol again): %s", error)
        trace.emit("sync", state="not_enrolled")
        return None
    if credentials is None:
        log.warning("not enrolled with HQ: records stay in the outbox (see `kiosk enroll`)")
        trace.emit("sync", state="not_enrolled")
    return credentials


def build_relay(
    options: KioskOptions,
    trace: Trace,
    link: DataLink,
    on_sync: Callable[[SyncStatus], None] | None = None,
    on_content: Callable[[ContentStatus], None] | None = None,
) -> RelayProcess:
    """The relay child: it writes the outbox (records come through `link`) and, for an
    enrolled kiosk, relays it to HQ.

    A child process (see backend_client.relay_process): its work here would share the
    interpreter lock with the GUI thread and stall the screen.
    """

    def on_status(status: SyncStatus) -> None:  # on the supervisor thread; the trace is thread-safe
        trace.emit(
            "sync",
            state=status.state,
            pending=status.pending,
            dead_letters=status.dead_letters,
            sent=status.sent_total,
        )
        if on_sync is not None:
            on_sync(status)

    return RelayProcess(
        options.data_dir,
        ca_bundle=options.hq_ca,
        heartbeat_interval=options.heartbeat_interval,
        on_status=on_status,
        on_content=on_content,
        link=link,
        timezone=options.timezone,
    )


def serve_remote_commands(kiosk: Kiosk, options: KioskOptions, app: QApplication) -> None:
    """HQ's commands for the screen (screenshot, identify, restart), verified by the relay
    child, carried out here (kiosk/remote_commands.py)."""
    from kiosk.remote_commands import RemoteCommands  # noqa: PLC0415 - after first paint

    def identity() -> tuple[str, str] | None:
        try:
            credentials = load_credentials(options.data_dir)
        except CredentialsError:
            return None
        return None if credentials is None else (credentials.kiosk_id, credentials.store_id)

    commands = RemoteCommands(
        kiosk.window,
        kiosk.outbox,
        restart=lambda: app.exit(RESTART_EXIT),
        identity=identity,
        free=lambda: on_attract_loop(kiosk.controller.state),
    )
    kiosk.controller.state_changed.connect(commands.session_changed)


def _return_freed_pictures_to_the_os() -> None:
    """Keep picture-sized buffers (0.1-8 MB) in mappings of their own, so freeing them
    shrinks the process. glibc otherwise raises its mmap threshold each time such a
    block is freed, and later pictures land on the heap, which it rarely gives back
    (measured: ~15 MB more RSS after showing each phone once).
    """
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return  # not glibc: its allocator has its own policy
    libc.mallopt(M_MMAP_THRESHOLD, 128 * 1024)


def main(argv: Sequence[str] | None = None) -> int:
    started = time.monotonic()
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["enroll"]:  # `kiosk enroll --hq URL --code CODE`: no screen needed
        # Imported here: the screen's process never talks HTTP (requests costs ~9 MB).
        from backend_client import enroll  # noqa: PLC0415

        return enroll.main(argv[1:])
    if argv[:1] == ["set-maintenance-pin"]:  # staff's PIN for the maintenance screen
        from kiosk.maintenance import set_pin_main  # noqa: PLC0415

        return set_pin_main(argv[1:], DEFAULT_DATA_DIR)
    options = parse_args(argv)
    _return_freed_pictures_to_the_os()
    # The on-screen keyboard is Qt's input method: chosen before QApplication exists.
    for name, value in input_method_environment().items():
        os.environ.setdefault(name, value)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    if not options.windowed:
        os.environ.update(display.early_scale_environment(os.environ))  # 4K: start once
    app = QApplication(sys.argv[:1])
    offscreen = app.platformName() == "offscreen"
    screen = display.kiosk_screen(app, options.screen)
    if not (options.windowed or offscreen):
        display.restart_at_pixel_ratio(screen)  # returns when its ratio is the layout's
    app.setApplicationName("kiosk")
    app.setFont(theme.ui_font())
    app.setStyleSheet(theme.STYLE_SHEET)
    signal_sockets = install_crash_handlers(app, log, "the kiosk")

    kiosk = build(options, app)
    if kiosk.maintenance is not None:  # staff's "restart": the supervisor starts us again
        kiosk.maintenance.restart = lambda: app.exit(RESTART_EXIT)
    serve_remote_commands(kiosk, options, app)
    if kiosk.health is not None:
        notify_exceptions(kiosk.health.exception_raised)
    # Everything built so far lives as long as the process: keep the collector off it,
    # so a full collection during a lift does not walk the whole catalog.
    gc.freeze()
    if options.windowed or offscreen:
        kiosk.window.setFixedSize(*theme.SCREEN_SIZE)  # as on a screen: no view grows it
        kiosk.window.show()
    else:
        app.setOverrideCursor(Qt.CursorShape.BlankCursor)  # a touchscreen has no pointer
        display.cover(kiosk.window, screen)
    log.info("kiosk up in %.0f ms", (time.monotonic() - started) * 1000)
    # Under systemd: ready once the attract screen is painted, then pinged from this thread.
    stop_watchdog = watchdog.start(app, kiosk.window.first_paint)
    try:
        return app.exec()
    finally:
        if stop_watchdog is not None:
            stop_watchdog()
        kiosk.close()
        for sock in signal_sockets:
            sock.close()


if __name__ == "__main__":
    sys.exit(main())
