"""The store channel end to end: two kiosks' channel servers as real processes on
loopback, two attendant clients, kill -9 and restarts, and strangers refused."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests
from helpers.channel import KEY, OTHER_KEY, OTHER_STORE, STORE, Feed, Kiosk, serve_all
from helpers.pickup import wait_until

from backend_client.channel.client import ChannelClient, KioskEndpoint, KioskState
from backend_client.channel.discovery import browse
from backend_client.channel.keys import StoreKeys, write_store_key
from backend_client.channel.protocol import PATH
from backend_client.channel.serve import MAX_CLIENTS

pytestmark = pytest.mark.slow

_FAST = {"backoff": (0.05, 0.5), "fault_backoff": 0.5}  # restarts are seen quickly
_WAIT = 30.0  # generous for a loaded machine; passing waits take well under a second


@pytest.fixture
def kiosks(tmp_path: Path) -> Iterator[tuple[Kiosk, Kiosk]]:
    first, second = Kiosk(tmp_path / "k1", f"{STORE}-k1"), Kiosk(tmp_path / "k2", f"{STORE}-k2")
    try:
        serve_all(first, second)
        yield first, second
    finally:
        first.close()
        second.close()


def _client(kiosks: tuple[Kiosk, Kiosk], feed: Feed, **options: object) -> ChannelClient:
    client = ChannelClient(
        [kiosk.endpoint for kiosk in kiosks],
        StoreKeys(STORE, KEY),
        feed.on_message,
        feed.on_status,
        **{**_FAST, **options},  # type: ignore[arg-type]
    )
    client.start()
    return client


def test_both_clients_get_both_kiosks_in_order_through_a_kill_9_and_restarts(
    kiosks: tuple[Kiosk, Kiosk],
) -> None:
    first, second = kiosks
    feeds = [Feed(), Feed()]
    clients = [_client(kiosks, feed) for feed in feeds]
    stop_writing = threading.Event()

    def write() -> None:  # the two kiosks' screens, appending while everything else happens
        n = 0
        while not stop_writing.is_set():
            n += 1
            first.append_heartbeat(n)
            second.append_heartbeat(n)
            time.sleep(0.002)

    def written(kiosk: Kiosk, more: int) -> Callable[[], bool]:
        mark = kiosk.window.last_seq()
        return lambda: kiosk.window.last_seq() >= mark + more

    writer = threading.Thread(target=write)
    writer.start()
    try:
        # Mid-stream: the first kiosk's channel server dies hard; messages are appended
        # while it is down; it comes back.
        wait_until(lambda: feeds[0].has(first.kiosk, 50), _WAIT, "the first messages")
        first.kill()
        wait_until(written(first, 50), _WAIT, "messages while the server is down")
        first.serve()
        # An attendant's device restarts too: a new client that resumes from what it showed;
        # messages are appended while it is away.
        wait_until(lambda: feeds[1].has(second.kiosk, 100), _WAIT, "more messages")
        clients[1].stop()
        shown = {kiosk.kiosk: clients[1].last_seq(kiosk.kiosk) for kiosk in kiosks}
        wait_until(written(second, 50), _WAIT, "messages while the client is away")
        clients[1] = _client(kiosks, feeds[1], resume=shown)
        wait_until(written(first, 50), _WAIT, "messages after the restarts")
        stop_writing.set()
        writer.join()
        total = first.window.last_seq()
        assert second.window.last_seq() == total
        for feed in feeds:
            for kiosk in kiosks:
                wait_until(lambda: feed.has(kiosk.kiosk, total), _WAIT, "every message")  # noqa: B023
    finally:
        stop_writing.set()
        writer.join()
        for client in clients:
            client.stop()
    expected = list(range(1, total + 1))
    for feed in feeds:
        for kiosk in kiosks:
            assert feed.of(kiosk.kiosk) == expected  # in order, no gap, no duplicate
        assert KioskState.FAULTY not in feed.states(first.kiosk)
    assert KioskState.DOWN in feeds[0].states(first.kiosk)  # the kill was noticed


def test_strangers_and_other_stores_and_replayed_requests_are_refused(
    kiosks: tuple[Kiosk, Kiosk],
) -> None:
    first, _ = kiosks
    url = first.endpoint.url + PATH
    first.append_heartbeat(1)

    # No key at all: no proof headers.
    assert requests.get(url, params={"after": "0"}, timeout=5).status_code == 401

    # Another store's key (and another store's name): refused, and the client says so.
    feed = Feed()
    stranger = ChannelClient(
        [first.endpoint], StoreKeys(OTHER_STORE, OTHER_KEY), feed.on_message, feed.on_status,
        **_FAST,  # type: ignore[arg-type]
    )  # fmt: skip
    stranger.start()
    try:
        feed.wait_state(first.kiosk, KioskState.REFUSED)
    finally:
        stranger.stop()
    assert feed.of(first.kiosk) == []
    # Our store's name with a key it does not hold.
    wrong = StoreKeys(STORE, OTHER_KEY).prove(PATH, 0, time.time())
    assert requests.get(url, params={"after": "0"}, headers=wrong, timeout=5).status_code == 401

    # A captured good request, replayed: the nonce was used.
    headers = StoreKeys(STORE, KEY).prove(PATH, 0, time.time())
    with requests.get(url, params={"after": "0"}, headers=headers, stream=True, timeout=5) as good:
        assert good.status_code == 200
    replayed = requests.get(url, params={"after": "0"}, headers=headers, timeout=5)
    assert replayed.status_code == 401
    # The same proof for another `after`: the proof covers it.
    fresh = StoreKeys(STORE, KEY).prove(PATH, 0, time.time())
    assert requests.get(url, params={"after": "5"}, headers=fresh, timeout=5).status_code == 401
    # A proof made long ago (a capture replayed once the nonce is forgotten).
    stale = StoreKeys(STORE, KEY).prove(PATH, 0, time.time() - 600)
    assert requests.get(url, params={"after": "0"}, headers=stale, timeout=5).status_code == 401


def test_a_rotated_key_is_taken_without_restart_and_the_previous_one_still_works(
    kiosks: tuple[Kiosk, Kiosk],
) -> None:
    first, _ = kiosks
    first.append_heartbeat(1)
    write_store_key(first.data_dir, OTHER_KEY)  # HQ rotates: new current, old kept as previous
    for keys in (StoreKeys(STORE, KEY), StoreKeys(STORE, OTHER_KEY, KEY)):
        feed = Feed()
        client = ChannelClient(
            [first.endpoint], keys, feed.on_message, feed.on_status,
            **_FAST,  # type: ignore[arg-type]
        )  # fmt: skip
        client.start()
        try:
            wait_until(lambda: feed.has(first.kiosk, 1), _WAIT, "the message")  # noqa: B023
        finally:
            client.stop()


def test_an_attendant_finds_its_store_s_kiosks_on_the_lan_and_no_other_store_s(
    tmp_path: Path,
) -> None:
    ours = Kiosk(tmp_path / "k5", f"{STORE}-k5")
    theirs = Kiosk(tmp_path / "o1", f"{OTHER_STORE}-k1", store=OTHER_STORE, key=OTHER_KEY)
    feed = Feed()
    client = ChannelClient([], StoreKeys(STORE, KEY), feed.on_message, feed.on_status, **_FAST)  # type: ignore[arg-type]
    found: list[str] = []

    def on_found(endpoint: KioskEndpoint) -> None:
        found.append(endpoint.kiosk)
        client.add(endpoint)

    stop_browsing = browse(STORE, on_found, ["127.0.0.1"])
    found_by_them: list[str] = []
    stop_their_browsing = browse(
        OTHER_STORE, lambda endpoint: found_by_them.append(endpoint.kiosk), ["127.0.0.1"]
    )
    try:
        ours.serve(advertise=True)
        theirs.serve(advertise=True)
        client.start()
        ours.append_heartbeat(1)
        wait_until(lambda: feed.has(ours.kiosk, 1), _WAIT, "the advertised kiosk's message")
        # The other store's kiosk was on the air too (its own store's attendants see it).
        wait_until(lambda: theirs.kiosk in found_by_them, _WAIT, "the other store's kiosk")
    finally:
        stop_their_browsing()
        stop_browsing()
        client.stop()
        ours.close()
        theirs.close()
    assert found.count(ours.kiosk) >= 1
    assert theirs.kiosk not in found


def test_an_attendant_process_killed_with_9_catches_up_from_its_feed_once_each(
    kiosks: tuple[Kiosk, Kiosk], tmp_path: Path
) -> None:
    feed_file = tmp_path / "attendant" / "feed.jsonl"
    feed_file.parent.mkdir()
    write_store_key(feed_file.parent, KEY)
    command = [
        sys.executable, "-m", "backend_client.channel.follow", "--data-dir", str(feed_file.parent),
        "--store", STORE, "--feed", str(feed_file),
        *[f"--kiosk={kiosk.kiosk}={kiosk.endpoint.url}" for kiosk in kiosks],
    ]  # fmt: skip

    def seqs() -> dict[str, list[int]]:
        found: dict[str, list[int]] = {kiosk.kiosk: [] for kiosk in kiosks}
        text = feed_file.read_text() if feed_file.exists() else ""
        for line in text.splitlines(keepends=True):
            if line.endswith("\n"):
                record = json.loads(line)
                found[record["kiosk"]].append(record["seq"])
        return found

    def written(count: int) -> bool:
        return all(len(got) >= count for got in seqs().values())

    follower = subprocess.Popen(command)
    try:
        for n in range(1, 201):
            for kiosk in kiosks:
                kiosk.append_heartbeat(n)
            if n == 100:
                wait_until(lambda: written(20), _WAIT, "the first messages")
                follower.kill()  # SIGKILL, mid-stream
                follower.wait()
                follower = subprocess.Popen(command)
        wait_until(lambda: written(200), _WAIT, "every message")
    finally:
        follower.terminate()
        follower.wait(10)
    assert seqs() == {kiosk.kiosk: list(range(1, 201)) for kiosk in kiosks}


def _open_stream(kiosk: Kiosk) -> socket.socket:
    """A client that asks for the stream and then never reads a byte."""
    headers = StoreKeys(STORE, KEY).prove(PATH, 0, time.time())
    request = f"GET {PATH}?after=0 HTTP/1.1\r\nHost: 127.0.0.1\r\n" + "".join(
        f"{name}: {value}\r\n" for name, value in headers.items()
    )
    sock = socket.create_connection(("127.0.0.1", kiosk.port))
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.sendall((request + "\r\n").encode())
    return sock


def test_a_client_that_never_reads_holds_up_no_one_and_the_clients_are_capped(
    kiosks: tuple[Kiosk, Kiosk],
) -> None:
    first, _ = kiosks
    stuck = [_open_stream(first) for _ in range(MAX_CLIENTS - 1)]
    try:
        total = 2_500  # about 600 KB of frames: far more than a stuck client's buffers hold
        for n in range(1, total + 1):
            first.append_heartbeat(n)
        feed = Feed()
        client = ChannelClient(
            [first.endpoint], StoreKeys(STORE, KEY), feed.on_message, feed.on_status,
            **_FAST,  # type: ignore[arg-type]
        )  # fmt: skip
        client.start()
        try:
            wait_until(lambda: feed.has(first.kiosk, total), _WAIT, "every message")
            # One more than MAX_CLIENTS streams: turned away.
            headers = StoreKeys(STORE, KEY).prove(PATH, 0, time.time())
            extra = requests.get(
                first.endpoint.url + PATH, params={"after": "0"}, headers=headers, timeout=5
            )
            assert extra.status_code == 503
        finally:
            client.stop()
        assert feed.of(first.kiosk) == list(range(1, total + 1))
    finally:
        for sock in stuck:
            sock.close()


# A kiosk as far as its channel server goes: the real supervisor, then nothing but waiting.
_KIOSK_PARENT = """
import signal, sys
from pathlib import Path
from backend_client.channel.server_process import ChannelServer, ServerOptions
options = ServerOptions(Path(sys.argv[1]), sys.argv[2], sys.argv[3], host="127.0.0.1",
                        port=int(sys.argv[4]))
ChannelServer(options, on_serving=lambda port: print(port, flush=True)).start()
signal.pause()  # runs until killed, as a kiosk does
"""


def _kiosk_parent(kiosk: Kiosk, port: int) -> tuple[subprocess.Popen[str], int]:
    parent = subprocess.Popen(
        [sys.executable, "-c", _KIOSK_PARENT, str(kiosk.data_dir), kiosk.store, kiosk.kiosk,
         str(port)],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert parent.stdout is not None
    return parent, int(parent.stdout.readline())


def _end(parent: subprocess.Popen[str]) -> None:
    parent.kill()
    parent.wait(10)
    assert parent.stdout is not None
    parent.stdout.close()


def _refuses(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except OSError:
        return True
    return False


def test_a_kiosk_killed_with_9_takes_its_server_with_it_and_the_next_one_gets_the_port(
    tmp_path: Path,
) -> None:
    kiosk = Kiosk(tmp_path / "k1", "k1")
    feed = Feed()
    parent, port = _kiosk_parent(kiosk, 0)
    client = ChannelClient(
        [KioskEndpoint("k1", f"http://127.0.0.1:{port}")],
        StoreKeys(STORE, KEY),
        feed.on_message,
        feed.on_status,
        backoff=(0.1, 0.5),
    )
    client.start()
    try:
        kiosk.append_heartbeat(1)
        wait_until(lambda: feed.seqs["k1"] == [1], what="the first message")
        parent.kill()  # the kiosk dies; its server child is not told
        parent.wait(10)
        # The orphan would hold the port and keep attendants' streams open for ever.
        wait_until(lambda: _refuses(port), timeout=15, what="the orphaned server gone")
        wait_until(
            lambda: KioskState.DOWN in [s.state for s in feed.statuses], what="the kiosk down"
        )
        kiosk.append_heartbeat(2)
        again, same_port = _kiosk_parent(kiosk, port)  # the restarted kiosk's server
        try:
            assert same_port == port
            wait_until(lambda: feed.seqs["k1"] == [1, 2], what="the follower caught up")
        finally:
            _end(again)
    finally:
        client.stop()
        _end(parent)
        kiosk.close()
