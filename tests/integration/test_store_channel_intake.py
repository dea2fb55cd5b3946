"""The server child is the window's only writer: what the kiosk hands it arrives once, in order.

The kiosk's side as the kiosk wires it (ChannelSender into a ChannelServer, the real
`serve` child on loopback, its real window file), an attendant following it with the
real client, and kill -9 of the child while messages are being published.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

from helpers.kiosk_channel import KIOSK, STORE, Follower, enrol
from helpers.pickup import wait_until

from backend_client.channel.sender import ChannelSender
from backend_client.channel.server_process import ChannelServer, ServerOptions
from backend_client.channel.window import open_window

ROOT = Path(__file__).resolve().parents[2]


@contextmanager
def kiosk_side(
    data: Path, sender: ChannelSender, deaf: threading.Event | None = None
) -> Iterator[ChannelServer]:
    """The channel server child wired to `sender` as kiosk.channel_link does (not started).
    While `deaf` is set, the kiosk does not hear what the child says it wrote."""

    def written(last: int) -> None:
        if deaf is None or not deaf.is_set():
            sender.written(last)

    server = ChannelServer(
        ServerOptions(data, STORE, KIOSK, host="127.0.0.1", port=0),
        on_ready=sender.ready,
        on_written=written,
        on_gone=sender.gone,
        restart_delay=0.05,
        max_restart_delay=0.2,
    )
    sender.connect(server.write)
    try:
        yield server
    finally:
        server.stop()
        sender.stop()


def newest_seq(data: Path) -> int:
    with closing(sqlite3.connect(data / "channel.sqlite")) as db:
        return int(db.execute("SELECT coalesce(max(seq), 0) FROM channel_messages").fetchone()[0])


def sessions_in_window(data: Path) -> list[str]:
    window = open_window(data, store=STORE, kiosk=KIOSK)
    try:
        return [
            str(m.data.model_dump()["session"])
            for m in window.after(0, limit=1_000_000)
            if m.kind == "member_left"
        ]
    finally:
        window.close()


def test_what_the_kiosk_publishes_before_its_server_starts_reaches_the_attendant(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    enrol(data)
    sender = ChannelSender()
    sender.start()  # as the kiosk does: messages and heartbeats before the first paint
    with kiosk_side(data, sender) as server:
        sender.put("alarm", {"slot": 3, "reason": "CABLE", "sku": "LY-A5"}, alert=True)
        sender.put("member_left", {"session": "b-1"})
        assert not (data / "channel.sqlite").exists()  # nothing wrote it: no child yet
        server.start()
        wait_until(lambda: server.port is not None, 20, "the server")
        assert server.port is not None
        with Follower(data, server.port) as attendant:
            alarm = attendant.wait_for("alarm")
            attendant.wait_for("member_left")
            beat = attendant.wait_for("heartbeat")
    assert alarm.alert
    assert beat.seq < alarm.seq  # the kiosk's heartbeat, put when it started


def test_a_server_killed_with_9_while_the_kiosk_publishes_loses_and_repeats_nothing(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    enrol(data)
    sender = ChannelSender(heartbeat_s=0.2)
    total = 3000
    published = threading.Event()

    def publish() -> None:  # a busy kiosk: messages all along, none waits for the child
        for number in range(total):
            sender.put("member_left", {"session": f"b-{number}"})
            if number % 20 == 0:
                threading.Event().wait(0.02)  # 3,000 over some 3 s: the kills land meanwhile
        published.set()

    deaf = threading.Event()
    with kiosk_side(data, sender, deaf) as server:
        sender.start()
        server.start()
        publisher = threading.Thread(target=publish)
        publisher.start()
        for kills in range(3):
            wait_until(lambda: server.pid, 20, "a child")
            heard = sender.written_count
            wait_until(lambda h=heard: sender.written_count > h, 20, "a child writing")
            # Killed after writing messages it could not tell the kiosk about: the next
            # child is sent them again and must not append them twice.
            deaf.set()
            before = newest_seq(data)
            wait_until(lambda b=before: newest_seq(data) > b, 20, "an unheard write")
            pid = server.pid
            assert pid is not None
            os.kill(pid, signal.SIGKILL)
            # Everything the killed child said is read before its successor is spawned.
            wait_until(lambda k=kills: server.spawned == k + 2, 20, "the next child")
            deaf.clear()
            if kills == 0:
                assert not published.is_set()
        publisher.join()
        assert published.is_set()
        assert sender.flush(30)
        assert server.spawned >= 4
    assert sessions_in_window(data) == [f"b-{number}" for number in range(total)]


def test_the_kiosk_side_of_the_channel_loads_neither_sqlalchemy_nor_cryptography() -> None:
    probe = (
        "import sys\n"
        "import kiosk.channel_link, kiosk.channel_feed\n"
        "from backend_client.channel.files import KEY_FILE, WINDOW_FILE\n"
        "from backend_client.channel.planogram import effective_slots, load_edits\n"
        "from backend_client.channel.server_process import ServerOptions\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('sqlalchemy', 'cryptography')))\n"
    )
    found = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=ROOT,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert found.stdout.strip() == "[]"
