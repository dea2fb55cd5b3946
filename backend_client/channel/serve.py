"""The kiosk's channel server, a process of its own (the kiosk's screen never pays for it).

    python -m backend_client.channel.serve --data-dir D --store S --kiosk K [--host H] [--port P]

HTTP with server-sent events (Starlette under uvicorn, both already HQ's stack):
`GET /v1/channel?after=N` with a request proof (keys.StoreKeys.prove) answers an
event stream of sealed frames, every message after N from the window file and
then the live ones as the kiosk appends them. A refused request gets 401 and no
body; a server with MAX_CLIENTS streams open answers 503.

The kiosk hands messages over through the window file alone (see window.py): the
server polls its newest seq every POLL_S, which costs one indexed read and keeps
no channel between the processes that either side could block or lose.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import socket
import sys
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Final

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route
from zeroconf import InterfaceChoice

from backend_client.channel.keys import KEY_FILE, ReplayGuard, StoreKeys
from backend_client.channel.window import WINDOW_FILE, Window

_log = logging.getLogger("backend_client.channel.serve")

PATH: Final = "/v1/channel"
MAX_CLIENTS: Final = 32  # a store has a handful of attendant devices; more is a stranger's flood
POLL_S: Final = 0.1  # how soon a new message leaves: well under what staff notice
# A comment line this often lets clients tell a dead kiosk from a quiet one.
KEEPALIVE_S: Final = 5.0
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


def channel_app(window: Window, keys: _Keys, *, max_clients: int = MAX_CLIENTS) -> Starlette:
    guard = ReplayGuard()
    newest = asyncio.Event()
    state = {"clients": 0, "last": -1}

    async def watch() -> None:
        # One poller for all clients: each waits on `newest`, set when the window grows.
        nonlocal newest
        while True:
            last = await asyncio.to_thread(window.last_seq)
            if last != state["last"]:
                state["last"] = last
                newest.set()
                newest = asyncio.Event()
            await asyncio.sleep(POLL_S)

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
        headers = {name.lower(): value for name, value in request.headers.items()}
        store_keys = keys.get()
        refusal = store_keys.check_proof(headers, PATH, after) or guard.admit(
            headers.get("x-channel-time", ""), headers.get("x-channel-nonce", ""), time.time()
        )
        if refusal is not None or after < 0:
            client = request.client.host if request.client else "?"
            _log.warning("refused a channel request from %s: %s", client, refusal or "bad after")
            return Response(status_code=401)
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

    return Starlette(routes=[Route(PATH, channel)], lifespan=lifespan)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m backend_client.channel.serve")
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--store", required=True)
    parser.add_argument("--kiosk", required=True)
    parser.add_argument("--host", default="0.0.0.0", help="bind address (default: all)")  # noqa: S104
    parser.add_argument("--port", type=int, default=8765, help="0: any free port")
    parser.add_argument(
        "--advertise", action="store_true", help="announce this server on the LAN (mDNS)"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    window = Window(args.data_dir / WINDOW_FILE, store=args.store, kiosk=args.kiosk)
    keys = _Keys(args.store, args.data_dir / KEY_FILE)
    keys.get()  # no key, no server: say so at once
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((args.host, args.port))
    # The line tests and supervisors wait for; port 0 learns its port here.
    port = listener.getsockname()[1]
    print(f"channel serving on {args.host}:{port}", flush=True)
    config = uvicorn.Config(
        channel_app(window, keys), log_level="warning", access_log=False, lifespan="on"
    )
    withdraw = _advertise(args.store, args.kiosk, args.host, port) if args.advertise else None
    try:
        uvicorn.Server(config).run(sockets=[listener])
    finally:
        if withdraw is not None:
            withdraw()
    return 0


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
