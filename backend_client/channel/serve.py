"""The kiosk's channel server, a process of its own (the kiosk's screen never pays for it).

    python -m backend_client.channel.serve --data-dir D --store S --kiosk K [--content C]
        [--host H] [--port P] [--advertise]

HTTP with server-sent events (Starlette under uvicorn, both already HQ's stack):
`GET /v1/channel?after=N` with a request proof (keys.StoreKeys.prove) answers an
event stream of sealed frames, every message after N from the window file and
then the live ones as the kiosk appends them. A refused request gets 401 and no
body; a server with MAX_CLIENTS streams open answers 503.

The server is the window file's only writer. The kiosk hands it each message as a
line on its stdin (intake.py; with --exit-with-stdin, which the kiosk always passes):
a thread here appends what comes, a batch per transaction, says on stdout what it
wrote, and wakes the streams at once. They also look at the window's newest seq every
POLL_S (one indexed read), for what other processes append (tests, tools).

`POST /v1/command` and `GET /v1/catalog` (commands.py, carried out by execute.py) take
the same proof; their bodies and answers are sealed. A command that does not open or
is not a command gets 400, one over MAX_COMMAND_BYTES 413 before it is read. A
planogram edit prints `planogram changed` on stdout for the kiosk.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import socket
import sys
import threading
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

import uvicorn
from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route
from zeroconf import InterfaceChoice

from backend_client.channel import intake
from backend_client.channel.commands import (
    CATALOG_PATH,
    COMMAND_PATH,
    MAX_COMMAND_BYTES,
    answer_associated,
    catalog_json,
    parse_command,
    reply_json,
    request_associated,
)
from backend_client.channel.execute import PLANOGRAM_CHANGED, ActiveContent, Executor
from backend_client.channel.keys import KEY_FILE, FrameError, ReplayGuard, StoreKeys
from backend_client.channel.protocol import KEEPALIVE_S, PATH
from backend_client.channel.window import WINDOW_FILE, Window

_log = logging.getLogger("backend_client.channel.serve")

MAX_CLIENTS: Final = 32  # a store has a handful of attendant devices; more is a stranger's flood
POLL_S: Final = 0.1  # how soon a new message leaves: well under what staff notice
BATCH: Final = 200  # messages read per window query while catching a client up


class _Keys:
    """The store key file, read again when it changes (a rotation needs no restart)."""

    def __init__(self, store: str, path: Path) -> None:
        self._store, self._path = store, path
        self._stamp = (-1, -1)
        self._keys: StoreKeys | None = None

    def get(self) -> StoreKeys:
        status = self._path.stat()
        stamp = (status.st_mtime_ns, status.st_ino)
        if self._keys is None or stamp != self._stamp:
            self._keys, self._stamp = StoreKeys.from_file(self._store, self._path), stamp
        return self._keys


class Wake:
    """Tells the streams, from any thread, that the window has grown."""

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._event: asyncio.Event | None = None

    def attach(self) -> asyncio.Event:
        """On the server's loop, once: the event `__call__` sets."""
        self._loop, self._event = asyncio.get_running_loop(), asyncio.Event()
        return self._event

    def __call__(self) -> None:
        loop, event = self._loop, self._event
        if loop is not None and event is not None:
            with contextlib.suppress(RuntimeError):  # the loop has closed: nobody to wake
                loop.call_soon_threadsafe(event.set)


def channel_app(
    window: Window,
    keys: _Keys,
    executor: Executor,
    *,
    wake: Wake,
    max_clients: int = MAX_CLIENTS,
) -> Starlette:
    gate = _Gate(keys)
    newest = asyncio.Event()
    state = {"clients": 0, "last": -1}

    async def watch() -> None:
        # One watcher for all clients: each waits on `newest`, set when the window grows.
        nonlocal newest
        woken = wake.attach()
        while True:
            woken.clear()
            last = await asyncio.to_thread(window.last_seq)
            if last != state["last"]:
                state["last"] = last
                newest.set()
                newest = asyncio.Event()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(woken.wait(), POLL_S)

    async def stream(after: int, kid: str) -> AsyncIterator[bytes]:
        state["clients"] += 1
        try:
            sent = after
            while True:
                batch = await asyncio.to_thread(window.after, sent, BATCH)
                if batch:
                    store_keys = keys.get()
                    for message in batch:
                        frame = store_keys.seal(message, kid)
                        yield b"id: %d\ndata: %s\n\n" % (message.seq, frame)
                        sent = message.seq
                    continue
                waiting = newest
                try:
                    await asyncio.wait_for(waiting.wait(), KEEPALIVE_S)
                except TimeoutError:
                    yield b": keepalive\n\n"
        finally:
            state["clients"] -= 1

    async def channel(request: Request) -> Response:
        try:
            after = int(request.query_params.get("after", "0"))
        except ValueError:
            return PlainTextResponse("bad after", status_code=400)
        if gate.refusal(request, PATH, after) is not None or after < 0:
            return Response(status_code=401)
        headers = {name.lower(): value for name, value in request.headers.items()}
        if state["clients"] >= max_clients:
            return Response(status_code=503, headers={"Retry-After": "5"})
        return StreamingResponse(
            stream(after, headers["x-channel-kid"]),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        )

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        task = asyncio.create_task(watch())
        try:
            yield
        finally:
            task.cancel()

    routes = [Route(PATH, channel), *_command_routes(gate, executor, window.kiosk)]
    return Starlette(routes=routes, lifespan=lifespan)


class _Gate:
    """Request proofs checked (one replay guard for every path), answers sealed."""

    def __init__(self, keys: _Keys) -> None:
        self.keys = keys
        self._guard = ReplayGuard()

    def refusal(self, request: Request, path: str, after: int) -> str | None:
        """Why the request's proof is no good (logged), or None."""
        headers = {name.lower(): value for name, value in request.headers.items()}
        why = self.keys.get().check_proof(headers, path, after) or self._guard.admit(
            headers.get("x-channel-time", ""), headers.get("x-channel-nonce", ""), time.time()
        )
        if why is not None:
            client = request.client.host if request.client else "?"
            _log.warning("refused a %s request from %s: %s", path, client, why)
        return why

    def sealed_answer(self, request: Request, path: str, plain: bytes) -> Response:
        # Under the key the client proved it holds, bound to its request's nonce.
        nonce, kid = request.headers["x-channel-nonce"], request.headers["x-channel-kid"]
        store_keys = self.keys.get()
        body = store_keys.seal_body(plain, answer_associated(store_keys.store, path, nonce), kid)
        return Response(
            body, media_type="application/octet-stream", headers={"Cache-Control": "no-store"}
        )


def _command_routes(gate: _Gate, executor: Executor, kiosk: str) -> list[Route]:
    async def command(request: Request) -> Response:
        if gate.refusal(request, COMMAND_PATH, 0) is not None:
            return Response(status_code=401)
        declared = request.headers.get("content-length", "")
        if declared and (not declared.isdigit() or int(declared) > MAX_COMMAND_BYTES):
            return Response(status_code=413)  # before reading a byte of it
        body = bytearray()
        async for chunk in request.stream():  # chunked: counted as it comes
            body += chunk
            if len(body) > MAX_COMMAND_BYTES:
                return Response(status_code=413)
        nonce, kid = request.headers["x-channel-nonce"], request.headers["x-channel-kid"]
        store_keys = gate.keys.get()
        try:
            plain = store_keys.open_body(
                bytes(body), request_associated(store_keys.store, COMMAND_PATH, nonce), kid
            )
            order = parse_command(plain)
        except FrameError:
            _log.warning("refused a command that does not open")
            return Response(status_code=400)
        except ValidationError:
            _log.warning("refused a body that is no command")
            return Response(status_code=400)
        reply = await asyncio.to_thread(executor.carry_out, order, datetime.now(UTC))
        return gate.sealed_answer(request, COMMAND_PATH, reply_json(reply))

    async def catalog(request: Request) -> Response:
        if gate.refusal(request, CATALOG_PATH, 0) is not None:
            return Response(status_code=401)
        found = await asyncio.to_thread(executor.catalog, kiosk)
        return gate.sealed_answer(request, CATALOG_PATH, catalog_json(found))

    return [Route(COMMAND_PATH, command, methods=["POST"]), Route(CATALOG_PATH, catalog)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m backend_client.channel.serve")
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--store", required=True)
    parser.add_argument("--kiosk", required=True)
    parser.add_argument(
        "--content", type=Path, help="the kiosk's content store root (catalog, planogram)"
    )
    parser.add_argument("--host", default="0.0.0.0", help="bind address (default: all)")  # noqa: S104
    parser.add_argument("--port", type=int, default=8765, help="0: any free port")
    parser.add_argument(
        "--advertise", action="store_true", help="announce this server on the LAN (mDNS)"
    )
    parser.add_argument(
        "--exit-with-stdin",
        action="store_true",
        help="append the kiosk's messages read from stdin (intake.py); exit when stdin"
        " reaches end of file (the kiosk that started it is gone)",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    window = Window(args.data_dir / WINDOW_FILE, store=args.store, kiosk=args.kiosk)
    keys = _Keys(args.store, args.data_dir / KEY_FILE)
    keys.get()  # no key, no server: say so at once
    wake = Wake()
    withdrawn: list[Callable[[], None]] = []  # the mDNS withdrawal, once advertised
    if args.exit_with_stdin:
        # Its own Window: one instance per thread. Taking messages does not wait for the
        # listener: the kiosk's first messages land while uvicorn starts.
        intake_window = Window(args.data_dir / WINDOW_FILE, store=args.store, kiosk=args.kiosk)
        threading.Thread(
            target=_take_stdin, args=(intake_window, wake, withdrawn), name="intake", daemon=True
        ).start()
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((args.host, args.port))
    # Listening before the line below: whoever reads it may connect at once (uvicorn's own
    # listen() later only sets the backlog again).
    listener.listen(128)
    # The line tests and supervisors wait for; port 0 learns its port here.
    port = listener.getsockname()[1]
    _say(f"channel serving on {args.host}:{port}".encode())
    executor = Executor(window, args.data_dir, ActiveContent(args.content), _planogram_changed)
    config = uvicorn.Config(
        channel_app(window, keys, executor, wake=wake),
        log_level="warning",
        access_log=False,
        lifespan="on",
    )
    withdraw = _advertise(args.store, args.kiosk, args.host, port) if args.advertise else None
    if withdraw is not None:
        withdrawn.append(withdraw)
    try:
        uvicorn.Server(config).run(sockets=[listener])
    finally:
        if withdraw is not None:
            withdraw()
    return 0


def _take_stdin(
    window: Window, wake: Callable[[], None], withdrawn: list[Callable[[], None]]
) -> None:
    """Append the kiosk's message lines (intake.py) as they come, then exit at end of file.

    A kiosk killed with -9 cannot stop its server; its pipe closing says it is gone. An
    orphan would hold the port, keep advertising and keep attendants' streams open."""
    try:
        window.prune(now=datetime.now(UTC))  # a kiosk restarted often never reaches 1,000
    except Exception:
        _log.exception("cannot prune the channel window")
    intake_lines = _Intake(window, wake)
    _say(intake.READY)
    buffered = b""
    while chunk := os.read(sys.stdin.fileno(), 65_536):
        *complete, buffered = (buffered + chunk).split(b"\n")
        intake_lines.take(complete)
        if len(buffered) > intake.MAX_LINE_BYTES:  # no line is this long: skip to the next
            intake_lines.take([buffered])  # (logged as garbled)
            buffered = b""
    _log.info("the kiosk is gone: stopping")
    for withdraw in withdrawn:
        withdraw()
    # Nothing here is worth a graceful stop: the window and its tables are the kiosk's
    # files, written in transactions, and attendants' streams would never end by themselves.
    logging.shutdown()
    os._exit(0)


class _Intake:
    """What the intake thread does with each read's complete lines: one transaction per
    sender, then `channel wrote <id>`. Failures are logged once (and their recovery once);
    the kiosk sends again what was not acknowledged."""

    def __init__(self, window: Window, wake: Callable[[], None]) -> None:
        self._window, self._wake = window, wake
        self._failing = False
        self._garbled = 0

    def take(self, raw_lines: list[bytes]) -> None:
        batches: list[tuple[str, list[intake.Incoming]]] = []
        for raw in raw_lines:
            try:
                item = intake.parse(raw)
            except intake.IntakeError:
                self._garbled += 1
                if self._garbled == 1:
                    _log.warning("a line from the kiosk is no message; skipped (it resends)")
                continue
            if not batches or batches[-1][0] != item.sender:
                batches.append((item.sender, []))
            batches[-1][1].append(item)
        for sender, items in batches:
            try:
                taken = self._window.take(sender, items)
            except Exception as exc:  # a full disk, a locked file: the kiosk sends again
                if not self._failing:
                    self._failing = True
                    _log.warning("channel window not writable (%s)", type(exc).__name__)
                continue
            if self._failing:
                self._failing = False
                _log.info("channel window writable again")
            for kind in taken.refused:  # by kind only: the data may be personal
                _log.warning("a %s message was refused by the window; not sent", kind)
            _say(intake.wrote(taken.last))
            if taken.appended:
                self._wake()


_stdout_lock = threading.Lock()


def _say(line: bytes) -> None:
    """One line to the kiosk, whole (the intake, the executor and main all speak)."""
    with _stdout_lock:
        sys.stdout.buffer.write(line + b"\n")
        sys.stdout.buffer.flush()


def _planogram_changed() -> None:
    _say(PLANOGRAM_CHANGED.encode())  # the kiosk re-reads its slots at once


def _advertise(store: str, kiosk: str, host: str, port: int) -> Callable[[], None]:
    # Imported here: discovery imports the client, which imports this module.
    from backend_client.channel.discovery import advertise  # noqa: PLC0415

    if host != "0.0.0.0":  # noqa: S104
        return advertise(store, kiosk, port, [host], [host])
    # Bound to every interface: announce every IPv4 address of this host but loopback.
    addresses = [
        address
        for address in socket.gethostbyname_ex(socket.gethostname())[2]
        if not address.startswith("127.")
    ]
    return advertise(store, kiosk, port, addresses, InterfaceChoice.All)


if __name__ == "__main__":
    sys.exit(main())
