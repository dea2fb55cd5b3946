"""The relay child's parts that talk to HQ, for an enrolled device (backend_client/relay_child.py).

A module of its own so that a kiosk not yet enrolled, whose relay child only writes its
outbox, never imports an HTTP client: its child is up sooner and holds less.
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Callable

from backend_client.client import HqClient, HqHints
from backend_client.command_runner import CommandRunner, Screen
from backend_client.credentials import Credentials
from backend_client.crypto import PayloadCipher
from backend_client.feed_sync import FeedSync
from backend_client.heartbeat import HeartbeatSender
from backend_client.kiosk_report import ReportBox
from backend_client.members import MEMBERS_FILE
from backend_client.relay_process import OUTBOX_FILE, encode_content_status, encode_status
from backend_client.status import SyncStatus
from backend_client.store_key_refresh import DEFAULT_INTERVAL as STORE_KEY_INTERVAL
from backend_client.store_key_refresh import StoreKeyRefresh
from backend_client.sync import SyncRelay
from backend_client.updater import DEFAULT_INTERVAL as CONTENT_INTERVAL
from backend_client.updater import ContentUpdater

_log = logging.getLogger("backend_client.relay_child")


class HqParts:
    """Everything that talks to HQ, each with its own client (a client serves one thread)."""

    def __init__(
        self,
        args: argparse.Namespace,
        credentials: Credentials,
        cipher: PayloadCipher,
        write_line: Callable[[str], None],
        reports: ReportBox,
        *,
        screen: Screen | None = None,
    ) -> None:
        """`screen`: the screen's process over the data link, for HQ's commands."""
        # Content releases run here too, never in the kiosk's GUI process; only kiosks show
        # content.
        self.updater = (
            ContentUpdater(
                args.data_dir,
                credentials,
                HqClient(credentials, ca_bundle=args.ca_bundle),
                interval=_given(args.content_interval, CONTENT_INTERVAL),
                # An interval given on the command line (a test, the demo) is kept.
                follow_hints=args.content_interval is None,
                on_status=lambda status: write_line(encode_content_status(status)),
            )
            if credentials.role == "kiosk"
            else None
        )
        # HQ's commands come in the heartbeat's answer; kiosks only, as heartbeats.
        self.commands = (
            CommandRunner(
                args.data_dir,
                credentials,
                HqClient(credentials, ca_bundle=args.ca_bundle),
                screen=screen,
                fetch_now=None if self.updater is None else self.updater.poll_now,
            )
            if credentials.role == "kiosk"
            else None
        )
        # Heartbeats: kiosks only (the fleet page is about shopper screens).
        self.heartbeat = (
            HeartbeatSender(
                args.data_dir,
                HqClient(credentials, ca_bundle=args.ca_bundle),
                reports,
                interval=args.heartbeat_interval,
                on_commands=None if self.commands is None else self.commands.take,
                on_hints=self._take_hints,
            )
            if credentials.role == "kiosk"
            else None
        )

        def on_status(status: SyncStatus) -> None:
            write_line(encode_status(status))
            if self.heartbeat is not None:
                self.heartbeat.on_sync(status)

        self.relay = SyncRelay(
            args.data_dir / OUTBOX_FILE,
            HqClient(credentials, ca_bundle=args.ca_bundle),
            credentials,
            cipher=cipher,
            on_status=on_status,
        )
        # The member directory is kept here too: the same credentials, and the same
        # distance from the screen. Staff devices greet nobody: they never hold the feed.
        self.members = (
            FeedSync(
                args.data_dir / MEMBERS_FILE,
                HqClient(credentials, ca_bundle=args.ca_bundle),
                follow_hints=True,
            )
            if credentials.role == "kiosk"
            else None
        )
        self.store_key = StoreKeyRefresh(
            args.data_dir,
            credentials,
            HqClient(credentials, ca_bundle=args.ca_bundle),
            interval=_given(args.store_key_interval, STORE_KEY_INTERVAL),
        )
        _log.info(
            "relay for %s %s started%s",
            credentials.role,
            credentials.kiosk_id,
            "" if self.members is not None else " (no member feed)",
        )

    def _take_hints(self, hints: HqHints) -> None:
        """A heartbeat's answer (its thread): fetch what moved at HQ now, and poll the
        rest only as a backstop (backend_client/hints.py)."""
        if self.updater is not None:
            self.updater.hint(hints.content_etag)
        if self.members is not None:
            self.members.hint(hints.feed_version)

    def start(self) -> None:
        self.relay.start()
        if self.members is not None:
            self.members.start()
        self.store_key.start()
        if self.updater is not None:
            self.updater.start()
        if self.commands is not None:
            self.commands.start()
        if self.heartbeat is not None:
            self.heartbeat.start()

    def stop(self) -> None:
        self.relay.stop()
        # Within the kiosk's 8 s: the relay may take 5. A page cut off is fetched again.
        if self.members is not None:
            self.members.stop(timeout=2.0)
        self.store_key.stop(timeout=1.0)
        if self.updater is not None:
            self.updater.stop(timeout=1.0)  # a download cut off resumes from its partial file
        if self.heartbeat is not None:
            self.heartbeat.stop(timeout=1.0)  # never kept: the next child sends a fresh one
        if self.commands is not None:
            self.commands.stop(timeout=1.0)  # one under way is claimed: never run twice


def _given(seconds: float | None, default: float) -> float:
    """The command line's interval, else the part's own default."""
    return default if seconds is None else seconds
