"""The relay process the kiosk starts (see backend_client.relay_process for the kiosk's side).

    python -m backend_client.relay_child DATA_DIR [--ca-bundle PEM] [--niceness N]
                                         [--link-fd FD] [--timezone ZONE]
                                         [--store-key-interval SECONDS]
                                         [--content-interval SECONDS]
                                         [--heartbeat-interval SECONDS]

Writes the kiosk's outbox and runs its reward desk (with --link-fd, the kiosk's data
link: backend_client/data_link.py; also when the kiosk is not enrolled yet), drains
the outbox to HQ, keeps the member directory from HQ's feed (kiosks only:
an attendant device recognises nobody), the store's channel key from HQ
(`backend_client.store_key_refresh`) and the kiosk's content releases from HQ
(`backend_client.updater`, kiosks only) and sends the kiosk's heartbeat to HQ
(`backend_client.heartbeat`, kiosks only; the screen's report comes on the link), at
a lower CPU priority than the screen. Reads wakes from stdin (end of file: stop),
writes one status line per change to stdout; everything else goes to stderr.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from backend_client.credentials import Credentials, CredentialsError, load_credentials
from backend_client.crypto import KeyFileError, PayloadCipher
from backend_client.data_keeper import DataKeeper
from backend_client.kiosk_report import CrashNote, KioskReport, ReportBox, record_crash
from backend_client.outbox import OutboxWriter
from backend_client.relay_process import (
    DEFAULT_NICENESS,
    DEFAULT_TIMEZONE,
    EXIT_CONFIG,
    KEY_FILE,
    OUTBOX_FILE,
)
from rewards.desk import RewardDesk
from rewards.issuing import StoreShare

_log = logging.getLogger("backend_client.relay_child")


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)

    # The status pipe is fd 1; anything a library prints must not land in it.
    status_pipe = os.fdopen(os.dup(1), "w", encoding="utf-8", buffering=1)
    os.dup2(2, 1)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl+C is the kiosk's to handle
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(levelname)s sync-relay[%(process)d] %(name)s: %(message)s",
    )
    try:
        credentials = load_credentials(args.data_dir)
        cipher = PayloadCipher.from_key_file(args.data_dir / KEY_FILE)
    except (CredentialsError, KeyFileError, OSError) as exc:
        _log.error("cannot sync: %s", exc)
        return EXIT_CONFIG
    if credentials is None and args.link_fd is None:
        _log.error("cannot sync: %s is not enrolled with HQ", args.data_dir)
        return EXIT_CONFIG

    pipe_lock = threading.Lock()  # the relay's and the updater's threads both write lines

    def write_line(line: str) -> None:
        # A broken pipe means the kiosk is gone: its closed stdin stops us.
        with pipe_lock, contextlib.suppress(BrokenPipeError, ValueError):
            status_pipe.write(line + "\n")

    wakes: list[Callable[[], None]] = []  # the relay's, once it exists

    def wake(_seqs: list[int]) -> None:
        for each in wakes:
            each()

    reports = ReportBox()  # the kiosk's reports, from the keeper to the heartbeat
    keeper = None if args.link_fd is None else _Keeper(args, credentials, cipher, wake, reports)
    if keeper is not None:
        keeper.start()
    # Linux keeps a nice value per thread, and a thread starts with its creator's: the
    # keeper's threads (a shopper waits on the reward desk) keep the kiosk's priority;
    # everything that talks to HQ, started from here on, runs below the screen.
    try:
        os.nice(args.niceness)
    except OSError as exc:
        _log.warning("cannot lower the relay's priority: %s", exc)
    # Not enrolled: only the keeper runs (the kiosk has said so in its own log).
    parts = None
    if credentials is not None:
        from backend_client.hq_parts import HqParts  # noqa: PLC0415 - enrolled only

        screen = None if keeper is None else keeper.keeper
        parts = HqParts(args, credentials, cipher, write_line, reports, screen=screen)
    if parts is not None:
        wakes.append(parts.relay.wake)
        parts.start()
    try:
        while os.read(0, 4096):  # each wake is a byte; end of file is "stop"
            if parts is not None:
                parts.relay.wake()
    finally:
        if keeper is not None:
            keeper.stop()  # first: its last records wake the relay before it stops
        if parts is not None:
            parts.stop()
    return 0


class _Keeper:
    """The kiosk's records and reward desk, served on its link (backend_client/data_keeper.py);
    each commit wakes the relay, if this kiosk is enrolled."""

    def __init__(
        self,
        args: argparse.Namespace,
        credentials: Credentials | None,
        cipher: PayloadCipher,
        wake: Callable[[list[int]], None],
        reports: ReportBox,
    ) -> None:
        outbox = args.data_dir / OUTBOX_FILE
        data_dir: Path = args.data_dir

        def on_report(report: KioskReport) -> None:
            reports.put(report)
            if report.last_exception is not None:
                record_crash(data_dir, report.last_exception)

        def on_ended(clean: bool) -> None:
            if not clean:  # the link ended without a goodbye: the kiosk died
                _log.error("the kiosk ended without closing: noted as its last crash")
                record_crash(data_dir, CrashNote(datetime.now(UTC), "exited"))

        self.writer = OutboxWriter(outbox, cipher=cipher, on_written=wake)
        self.keeper = DataKeeper(
            Connection(args.link_fd), self.writer, on_report=on_report, on_ended=on_ended
        )
        self.desk = _desk(args, credentials, cipher, self.keeper, wake)
        if self.desk is not None:
            self.keeper.attach_desk(self.desk)

    def start(self) -> None:
        self.writer.start()
        if self.desk is not None:
            self.desk.start()
        self.keeper.start()

    def stop(self) -> None:
        # The kiosk flushed before it closed our stdin; a kiosk that died left its last
        # records in the link, which ends right after them.
        self.keeper.join(timeout=2.0)
        if self.desk is not None:
            self.desk.stop(timeout=2.0)
        self.writer.close(timeout=2.0)


def _desk(
    args: argparse.Namespace,
    credentials: Credentials | None,
    cipher: PayloadCipher,
    keeper: DataKeeper,
    wake: Callable[[list[int]], None],
) -> RewardDesk | None:
    """The reward desk, if this kiosk can issue codes: it needs its coupon key from HQ."""
    if credentials is None or credentials.coupon_key is None or credentials.kiosk_no is None:
        _log.warning("no coupon key from HQ (enrol again): surveys and draws give no coupons")
        return None
    try:
        tz = ZoneInfo(args.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        _log.error("unknown time zone %r: coupons and draws are off", args.timezone)
        return None
    return RewardDesk(
        args.data_dir / OUTBOX_FILE,
        cipher=cipher,
        key=credentials.coupon_key,
        kiosk_no=credentials.kiosk_no,
        tz=tz,
        on_done=keeper.on_answer,
        share=StoreShare(credentials.budget_seat, credentials.budget_seats),
        on_written=wake,
    )


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m backend_client.relay_child",
        description="Drain a kiosk's outbox to HQ; stops at end of input. Started by the kiosk.",
    )
    parser.add_argument("data_dir", type=Path, help="the kiosk's data directory")
    parser.add_argument("--ca-bundle", type=Path, help="CA certificates to trust for HQ")
    parser.add_argument("--niceness", type=int, default=DEFAULT_NICENESS)
    parser.add_argument(
        "--link-fd",
        type=int,
        help="the kiosk's data link (backend_client/supervisor.py): write its records here",
    )
    parser.add_argument(
        "--timezone",
        default=DEFAULT_TIMEZONE,
        help="the store's time zone, for the reward desk's days (default %(default)s)",
    )
    parser.add_argument(
        "--store-key-interval",
        type=_seconds,
        help="seconds between asking HQ for the store's channel key (default 600)",
    )
    parser.add_argument(
        "--content-interval",
        type=_seconds,
        help="seconds between asking HQ for content releases, jittered ±20%% (default 60)",
    )
    parser.add_argument(
        "--heartbeat-interval",
        type=_seconds,
        help="seconds between heartbeats to HQ (default: as HQ's answer says, 60)",
    )
    return parser.parse_args(argv)


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError("must be a number of seconds above 0")
    return value


if __name__ == "__main__":
    sys.exit(main())
