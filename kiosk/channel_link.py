"""The kiosk's end of the store channel: its message sender and its supervised server child.

The GUI thread hands messages (kiosk.channel_feed) to `publish`, which passes them to
the sender (backend_client.channel.sender): a line written to the server child's
stdin, kept until the child says it is in the window. The child is the window's only
writer; this process opens no SQLite file for the channel and loads neither
SQLAlchemy nor cryptography. The relay's status arrives on the relay supervisor's
thread and is handed on the same way. The server child
(backend_client.channel.server_process) also reports a
planogram edited by staff; the new slot -> sku map is read on the child's reader
thread and handed to the GUI thread by a queued signal, so the next lift shows the
new phone.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Final

from PySide6.QtCore import QObject, Signal

from backend_client.channel.sender import ChannelSender
from backend_client.channel.server_process import ChannelServer, ServerOptions
from backend_client.status import SyncStatus
from kiosk import channel_feed
from kiosk.channel_feed import ChannelNote, ContentUpdate, progress_worth_telling
from kiosk.trace import Trace

log = logging.getLogger("kiosk.channel")

CLOSE_FLUSH_S: Final = 2.0  # a running child writes a batch in milliseconds; a dead one never


class ChannelLink(QObject):
    slots_changed = Signal(object)  # Mapping[int, str], the planogram after a staff edit

    def __init__(
        self,
        sender: ChannelSender,
        server: ServerOptions | None,
        trace: Trace,
        *,
        slots: Callable[[], Mapping[int, str] | None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """`server`: how to run the server child (None: messages wait in the sender, within
        its bound); `slots` reads the effective planogram (bundle plus staff edits) from
        disk (None: no content shown)."""
        super().__init__()
        self.outgoing = sender
        self.server = None
        if server is not None:
            self.server = ChannelServer(
                server,
                on_serving=self.on_serving,
                on_planogram_changed=self.on_planogram_changed,
                on_ready=sender.ready,
                on_written=sender.written,
                on_gone=sender.gone,
            )
            sender.connect(self.server.write)
        self._trace = trace
        self._slots = slots
        self._sync_lock = threading.Lock()
        self._last_sync: ChannelNote | None = None
        self._server_started = False
        self._closed = False
        self._clock = clock
        self._last_update: tuple[ContentUpdate | None, float] | None = None

    def start(self) -> None:
        """Start the sender's heartbeats; the server child comes with `start_server`."""
        self.outgoing.start()

    def start_server(self) -> None:
        """Start the server child (once; later calls, and calls after close, do nothing)."""
        if self.server is not None and not self._server_started and not self._closed:
            self._server_started = True
            self.server.start()

    def publish(self, note: ChannelNote, at: datetime | None = None) -> None:
        """Hand one message on for the window (any thread; never blocks, no file)."""
        self.outgoing.put(note.kind, note.data, at=at, alert=note.alert)

    def on_sync(self, status: SyncStatus) -> None:
        """The relay's status (its supervisor thread): sent when backlog or dead letters change."""
        note = channel_feed.sync(status)
        with self._sync_lock:
            if note == self._last_sync:
                return
            self._last_sync = note
        self.publish(note)

    def tell_update(self, release: str | None, update: ContentUpdate | None) -> None:
        """A release on its way from HQ (GUI thread): staff see its progress, every few
        percent (each message stays in the window) and each change of state at once."""
        now = self._clock()
        if not progress_worth_telling(self._last_update, update, now):
            return
        self._last_update = (update, now)
        note = channel_feed.content(release, update)
        if note is not None:
            self.publish(note)

    def on_serving(self, port: int) -> None:
        self._trace.emit("channel", state="serving", port=port)

    def on_planogram_changed(self) -> None:
        """On the server child's reader thread: read the edits here, rebind on the GUI thread."""
        if self._slots is None:
            return
        try:
            read = self._slots()
        except Exception:
            log.exception("the edited planogram cannot be read; keeping the current one")
            return
        if read is None:  # no content shown: nothing to rebind
            return
        slots = dict(read)
        self.slots_changed.emit(slots)
        self._trace.emit("channel", state="planogram_changed", slots=len(slots))

    def close(self) -> None:
        self._closed = True
        if self.server is not None and self._server_started:
            # What was just published (the last sync status) goes in before the child stops.
            self.outgoing.flush(CLOSE_FLUSH_S)
            self.server.stop()
        self.outgoing.stop()
