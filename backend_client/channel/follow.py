"""Follow a store's kiosks from the command line: the attendant's feed as JSON lines.

    python -m backend_client.channel.follow --data-dir D --store S --feed FILE \\
        [--kiosk ID=http://host:port ...] [--discover]

Each message is appended to FILE as one line of JSON (and flushed) before the
next is taken; on start, the last complete line per kiosk says where to resume,
so a follower killed at any moment and started again shows every message once.
Kiosk states go to stderr.
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading
from pathlib import Path
from typing import IO

from backend_client.channel.client import ChannelClient, KioskEndpoint, KioskStatus
from backend_client.channel.keys import KEY_FILE, StoreKeys
from backend_client.channel.messages import ChannelMessage


def resume_points(feed: Path) -> dict[str, int]:
    """The last seq per kiosk in the feed file; a line cut short by a kill is dropped."""
    if not feed.exists():
        return {}
    text = feed.read_bytes()
    complete = text[: text.rfind(b"\n") + 1]
    if len(complete) != len(text):
        with feed.open("r+b") as file:
            file.truncate(len(complete))
    last: dict[str, int] = {}
    for line in complete.splitlines():
        record = json.loads(line)
        last[record["kiosk"]] = max(last.get(record["kiosk"], 0), record["seq"])
    return last


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m backend_client.channel.follow")
    parser.add_argument("--data-dir", type=Path, required=True, help="holds store.key")
    parser.add_argument("--store", required=True)
    parser.add_argument("--feed", type=Path, required=True)
    parser.add_argument("--kiosk", action="append", default=[], metavar="ID=URL")
    parser.add_argument("--discover", action="store_true", help="also find kiosks by mDNS")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    endpoints = [KioskEndpoint(*item.split("=", 1)) for item in args.kiosk]
    lock = threading.Lock()
    out: IO[str] = args.feed.open("a", encoding="utf-8")

    def on_message(message: ChannelMessage) -> None:
        with lock:
            out.write(message.model_dump_json() + "\n")
            out.flush()

    def on_status(status: KioskStatus) -> None:
        print(f"{status.kiosk} {status.state.value} {status.reason}", file=sys.stderr, flush=True)

    client = ChannelClient(
        endpoints,
        StoreKeys.from_file(args.store, args.data_dir / KEY_FILE),
        on_message,
        on_status,
        resume=resume_points(args.feed),
    )
    stop_browsing = None
    if args.discover:
        from zeroconf import InterfaceChoice  # noqa: PLC0415 (only when asked)

        from backend_client.channel.discovery import browse  # noqa: PLC0415

        stop_browsing = browse(args.store, client.add, InterfaceChoice.All)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    client.start()
    print("following", file=sys.stderr, flush=True)
    try:
        done.wait()
    except KeyboardInterrupt:
        pass
    finally:
        if stop_browsing is not None:
            stop_browsing()
        client.stop()
        out.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
