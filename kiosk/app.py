"""The shopper kiosk: wiring only. Build every object, connect them, run."""

from __future__ import annotations

import argparse
import ctypes
import faulthandler
import gc
import logging
import os
import signal
import socket
import sys
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import TracebackType
from typing import Final, Protocol

from PySide6.QtCore import QSocketNotifier, Qt
from PySide6.QtWidgets import QApplication

from backend_client.credentials import CredentialsError, load_credentials
from backend_client.crypto import PayloadCipher
from backend_client.members import MEMBERS_FILE, MemberDirectory
from backend_client.outbox import OutboxWriter
from backend_client.relay_process import KEY_FILE, OUTBOX_FILE, RelayProcess
from backend_client.status import SyncStatus
from content.bundle import Bundle, BundleError
from content.store import ContentStore
from devices.events import DeviceEvent
from devices.pickup import PickupBoard
from devices.presence import PresenceConfig
from devices.protocols.pickup import LedMode
from devices.protocols.rfid import RfidProtocol
from devices.rfid import SerialRfidReader, WedgeRfidReader
from kiosk import theme
from kiosk.controller import SessionController
from kiosk.device_bridge import DeviceBridge
from kiosk.images import ImageCache
from kiosk.recognition import Recogniser
from kiosk.screens.window import KioskWindow
from kiosk.session import SessionConfig, SessionMachine, SessionState
from kiosk.trace import FileTrace, NullTrace, Trace

log = logging.getLogger("kiosk.app")

DEFAULT_DATA_DIR: Final = (
    Path(os.environ.get("XDG_DATA_HOME", Path.home() / ".local" / "share")) / "kiosk"
)


M_MMAP_THRESHOLD: Final = -3  # glibc's mallopt parameter number (malloc.h)

# The slide on screen, the one fading out and the next one, at 1920x1080 ARGB32.
SLIDE_BUDGET_BYTES: Final = 3 * 1920 * 1080 * 4


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


def parse_args(argv: Sequence[str] | None = None) -> KioskOptions:
    defaults = SessionConfig()
    parser = argparse.ArgumentParser(prog="kiosk", description="The shopper touchscreen.")
    parser.add_argument("--content", type=Path, help="content bundle directory to install")
    parser.add_argument("--pickup-port", help="serial port of the pickup sensor board")
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
    parser.add_argument("--trace", type=Path, help="write JSON-lines diagnostics here")
    parser.add_argument("--windowed", action="store_true", help="a 1920x1080 window")
    parser.add_argument(
        "--hq-ca", type=Path, help="CA bundle for HQ's TLS certificate (default: the system's)"
    )
    parser.add_argument("--rfid-port", help="serial port of a 125 kHz member-fob reader")
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
        rfid_port=args.rfid_port,
        rfid_protocol=args.rfid_protocol,
        rfid_wedge=args.rfid_wedge,
        ble=args.ble,
        ble_adapter=args.ble_adapter,
        ble_company_ids=tuple(args.ble_company_id),
        ble_presence=ble_presence,
        session=SessionConfig(
            drop_grace=args.drop_grace,
            idle_timeout=args.idle_timeout,
            bounce=args.bounce_ms / 1000,
        ),
    )


def load_content(store: ContentStore, source: Path | None, trace: Trace) -> Bundle | None:
    """Install `source` if it is good; otherwise keep serving the last good bundle."""
    if source is not None:
        try:
            installed = store.install(source)
        except BundleError as error:
            log.error("content bundle %s refused:\n%s", source, error)
            trace.emit("content", status="refused", problems=len(error.problems))
        else:
            trace.emit("content", status="installed", release=installed.release)
            return installed
    bundle = store.current()
    if bundle is None:
        log.error("no usable content bundle: showing the welcome screen only")
        trace.emit("content", status="none")
    else:
        trace.emit("content", status="current", release=bundle.release)
    return bundle


@dataclass
class Kiosk:
    """Everything `build` wired together, for `main` and for tests to drive and close."""

    window: KioskWindow
    controller: SessionController
    bridge: DeviceBridge
    board: PickupBoard | None
    readers: list[Reader]
    outbox: OutboxWriter
    relay: RelayProcess | None
    images: ImageCache
    slide_images: ImageCache
    trace: Trace
    bundle: Bundle | None

    def close(self) -> None:
        if self.board is not None:
            self.board.stop()
        for reader in self.readers:
            reader.stop()
        self.window.close()
        self.outbox.close()
        if self.relay is not None:
            self.relay.stop()
        self.images.close()
        self.slide_images.close()
        self.trace.emit("stop")
        self.trace.close()


def build(options: KioskOptions, app: QApplication) -> Kiosk:
    options.data_dir.mkdir(parents=True, exist_ok=True)
    trace: Trace = FileTrace(options.trace) if options.trace else NullTrace()
    trace.emit("start", pid=os.getpid())

    bundle = load_content(ContentStore(options.data_dir / "content"), options.content, trace)
    outbox_path = options.data_dir / OUTBOX_FILE
    cipher = PayloadCipher.from_key_file(options.data_dir / KEY_FILE)
    relay = build_relay(options, trace)
    outbox = OutboxWriter(
        outbox_path, cipher=cipher, on_written=None if relay is None else lambda _: relay.wake()
    )
    outbox.start()
    if relay is not None:
        relay.start()

    bridge = DeviceBridge()
    board = None
    if options.pickup_port:
        board = PickupBoard(options.pickup_port, bridge.post)
    recogniser = Recogniser(MemberDirectory(options.data_dir / MEMBERS_FILE), bridge.post, trace)
    readers = build_readers(options, recogniser.on_event)

    def set_led(slot: int, mode: LedMode) -> None:
        if board is not None:
            board.set_led(slot, mode)

    slot_skus = {} if bundle is None else {a.slot: a.sku for a in bundle.planogram.slots}
    controller = SessionController(
        SessionMachine(options.session, slot_skus),
        SessionState(boot=uuid.uuid4().hex[:8]),
        append_record=outbox.append,
        set_led=set_led,
        trace=trace,
    )
    images = ImageCache()
    slide_images = ImageCache(budget_bytes=SLIDE_BUDGET_BYTES)
    window = KioskWindow(images, slide_images)
    window.set_bundle(bundle)

    bridge.event_received.connect(controller.on_device_event, Qt.ConnectionType.QueuedConnection)
    window.touched.connect(controller.touched)
    window.recommendation_tapped.connect(controller.recommendation_tapped)
    window.language_chosen.connect(controller.language_chosen)
    window.watch_touches()
    controller.state_changed.connect(window.show_state)
    window.first_paint.connect(lambda view, mono: trace.emit("paint", mono=mono, view=view))
    images.loaded.connect(window.update)
    slide_images.loaded.connect(window.update)

    window.show_state(controller.state)
    if board is not None:
        board.start()
    for reader in readers:
        reader.start()
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
        bundle,
    )


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


def build_relay(options: KioskOptions, trace: Trace) -> RelayProcess | None:
    """The relay to HQ, if this kiosk is enrolled; without one, records wait in the outbox.

    It runs as a child process (see backend_client.relay_process): a relay thread
    here would share the interpreter lock with the GUI thread and stall the screen.
    """
    try:
        credentials = load_credentials(options.data_dir)
    except CredentialsError as error:
        log.error("HQ credentials unusable, not syncing (enrol again): %s", error)
        trace.emit("sync", state="not_enrolled")
        return None
    if credentials is None:
        log.warning("not enrolled with HQ: records stay in the outbox (see `kiosk enroll`)")
        trace.emit("sync", state="not_enrolled")
        return None

    def on_status(status: SyncStatus) -> None:  # on the supervisor thread; the trace is thread-safe
        trace.emit(
            "sync",
            state=status.state,
            pending=status.pending,
            dead_letters=status.dead_letters,
            sent=status.sent_total,
        )

    return RelayProcess(options.data_dir, ca_bundle=options.hq_ca, on_status=on_status)


def _install_crash_handlers(app: QApplication) -> tuple[socket.socket, socket.socket]:
    """Log and keep serving: an exception in a slot must never take the screen down."""
    faulthandler.enable()

    def excepthook(
        kind: type[BaseException], value: BaseException, tb: TracebackType | None
    ) -> None:
        log.critical("unhandled exception; the kiosk keeps running", exc_info=(kind, value, tb))

    sys.excepthook = excepthook

    # SIGTERM/SIGINT reach Python only when it runs; a socket pair wakes the Qt loop.
    reader, writer = socket.socketpair()
    writer.setblocking(False)
    signal.set_wakeup_fd(writer.fileno())
    notifier = QSocketNotifier(reader.fileno(), QSocketNotifier.Type.Read, app)

    def on_signal() -> None:
        reader.recv(64)
        app.quit()

    notifier.activated.connect(on_signal)
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: None)
    return reader, writer  # the caller keeps them open for the life of the app


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
    options = parse_args(argv)
    _return_freed_pictures_to_the_os()
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    app = QApplication(sys.argv[:1])
    app.setApplicationName("kiosk")
    app.setFont(theme.ui_font())
    app.setStyleSheet(theme.STYLE_SHEET)
    signal_sockets = _install_crash_handlers(app)

    kiosk = build(options, app)
    # Everything built so far lives as long as the process: keep the collector off it,
    # so a full collection during a lift does not walk the whole catalog.
    gc.freeze()
    offscreen = app.platformName() == "offscreen"
    if options.windowed or offscreen:
        kiosk.window.resize(*theme.SCREEN_SIZE)
        kiosk.window.show()
    else:
        app.setOverrideCursor(Qt.CursorShape.BlankCursor)  # a touchscreen has no pointer
        kiosk.window.showFullScreen()
    log.info("kiosk up in %.0f ms", (time.monotonic() - started) * 1000)
    try:
        return app.exec()
    finally:
        kiosk.close()
        for sock in signal_sockets:
            sock.close()


if __name__ == "__main__":
    sys.exit(main())
