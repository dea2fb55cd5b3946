"""The relay process the kiosk starts (see backend_client.relay_process for the kiosk's side).

    python -m backend_client.relay_child DATA_DIR [--ca-bundle PEM] [--niceness N]
                                         [--store-key-interval SECONDS]
                                         [--content-interval SECONDS]

Drains the outbox to HQ, keeps the member directory from HQ's feed (kiosks only:
an attendant device recognises nobody), the store's channel key from HQ
(`backend_client.store_key_refresh`) and the kiosk's content releases from HQ
(`backend_client.updater`, kiosks only), at a lower CPU priority than the
screen. Reads wakes from stdin (end of file: stop), writes one status line per
change to stdout; everything else goes to stderr.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import signal
import sys
import threading
from pathlib import Path

from backend_client.client import HqClient
from backend_client.credentials import CredentialsError, load_credentials
from backend_client.crypto import KeyFileError, PayloadCipher
from backend_client.feed_sync import FeedSync
from backend_client.members import MEMBERS_FILE
from backend_client.relay_process import (
    DEFAULT_NICENESS,
    EXIT_CONFIG,
    KEY_FILE,
    OUTBOX_FILE,
    encode_content_status,
    encode_status,
)
from backend_client.status import ContentStatus, SyncStatus
from backend_client.store_key_refresh import DEFAULT_INTERVAL, StoreKeyRefresh
from backend_client.sync import SyncRelay
from backend_client.updater import DEFAULT_INTERVAL as DEFAULT_CONTENT_INTERVAL
from backend_client.updater import ContentUpdater

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
        os.nice(args.niceness)
    except OSError as exc:
        _log.warning("cannot lower the relay's priority: %s", exc)

    try:
        credentials = load_credentials(args.data_dir)
        cipher = PayloadCipher.from_key_file(args.data_dir / KEY_FILE)
    except (CredentialsError, KeyFileError, OSError) as exc:
        _log.error("cannot sync: %s", exc)
        return EXIT_CONFIG
    if credentials is None:
        _log.error("cannot sync: %s is not enrolled with HQ", args.data_dir)
        return EXIT_CONFIG

    pipe_lock = threading.Lock()  # the relay's and the updater's threads both write lines

    def write_line(line: str) -> None:
        # A broken pipe means the kiosk is gone: its closed stdin stops us.
        with pipe_lock, contextlib.suppress(BrokenPipeError, ValueError):
            status_pipe.write(line + "\n")

    def publish(status: SyncStatus) -> None:
        write_line(encode_status(status))

    def publish_content(status: ContentStatus) -> None:
        write_line(encode_content_status(status))

    relay = SyncRelay(
        args.data_dir / OUTBOX_FILE,
        HqClient(credentials, ca_bundle=args.ca_bundle),
        credentials,
        cipher=cipher,
        on_status=publish,
    )
    # The member directory is kept here too: the same credentials, and the same
    # distance from the screen. Each part has its own client (a client serves one
    # thread). Staff devices greet nobody: they never hold the member feed.
    members = (
        FeedSync(args.data_dir / MEMBERS_FILE, HqClient(credentials, ca_bundle=args.ca_bundle))
        if credentials.role == "kiosk"
        else None
    )
    store_key = StoreKeyRefresh(
        args.data_dir,
        credentials,
        HqClient(credentials, ca_bundle=args.ca_bundle),
        interval=args.store_key_interval,
    )
    # Content releases run here too, never in the kiosk's GUI process; only kiosks show content.
    updater = (
        ContentUpdater(
            args.data_dir,
            credentials,
            HqClient(credentials, ca_bundle=args.ca_bundle),
            interval=args.content_interval,
            on_status=publish_content,
        )
        if credentials.role == "kiosk"
        else None
    )
    _log.info(
        "relay for %s %s started%s",
        credentials.role,
        credentials.kiosk_id,
        "" if members is not None else " (no member feed)",
    )
    relay.start()
    if members is not None:
        members.start()
    store_key.start()
    if updater is not None:
        updater.start()
    try:
        while os.read(0, 4096):  # each wake is a byte; end of file is "stop"
            relay.wake()
    finally:
        relay.stop()
        # Within the kiosk's 8 s: the relay may take 5. A page cut off is fetched again.
        if members is not None:
            members.stop(timeout=2.0)
        store_key.stop(timeout=1.0)
        if updater is not None:
            updater.stop(timeout=1.0)  # a download cut off resumes from its partial file
    return 0


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m backend_client.relay_child",
        description="Drain a kiosk's outbox to HQ; stops at end of input. Started by the kiosk.",
    )
    parser.add_argument("data_dir", type=Path, help="the kiosk's data directory")
    parser.add_argument("--ca-bundle", type=Path, help="CA certificates to trust for HQ")
    parser.add_argument("--niceness", type=int, default=DEFAULT_NICENESS)
    parser.add_argument(
        "--store-key-interval",
        type=_seconds,
        default=DEFAULT_INTERVAL,
        help="seconds between asking HQ for the store's channel key (default 600)",
    )
    parser.add_argument(
        "--content-interval",
        type=_seconds,
        default=DEFAULT_CONTENT_INTERVAL,
        help="seconds between asking HQ for content releases, jittered ±20%% (default 60)",
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
