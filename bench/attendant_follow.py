"""One attendant following a busy store: 20 kiosks x 20 events/s, for 10 minutes.

    .venv/bin/python bench/attendant_follow.py [--kiosks 20] [--rate 20] [--minutes 10]
                                               [--feeders 4]

(`--minutes 1` for a quick look; BENCH_PROFILE=FILE dumps a cProfile of the attendant's
GUI thread.)

Every part is real, on loopback. Each kiosk is a `python -m backend_client.channel.serve`
process over its own window file. Feeder processes append to the windows as kiosks'
writer threads would (shopper sessions: lifts, drops, comparisons, member arrivals,
survey answers with now and then a low score, prizes, coupons; a heartbeat every
5 s; a device reconnecting now and then; another attendant's ack for most alerts),
each kiosk at `--rate` on a monotonic schedule. The attendant is a process of its
own running the attendant's stack offscreen: ChannelClient -> queued Qt signal ->
AttendantDesk -> AttendantScreen.

Lag, per message: from its `at` (the feeder's wall clock just before `append`; one
clock for the whole machine) to the end of the first repaint of the screen that
painted the feed after the desk took the message (a heartbeat changes no feed row:
it counts as painted with the next feed repaint). Printed each minute (by append
time): messages, lag median/p99/max, the GUI timer's worst lateness, attendant CPU
and RSS. Targets: p99 lag in the last minute under 500 ms; the attendant's RSS under
150 MB and flat from the first minute to the last.

The screen is redrawn as the app redraws it: once per pass of the GUI event loop that
changed the desk (its `settled` signal), however many messages that pass took.
"""

from __future__ import annotations

import argparse
import heapq
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from array import array
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT))

from harness import percentile  # noqa: E402

from backend_client.channel.client import (  # noqa: E402
    ChannelClient,
    KioskEndpoint,
    KioskState,
    KioskStatus,
)
from backend_client.channel.keys import StoreKeys, write_store_key  # noqa: E402
from backend_client.channel.messages import ChannelMessage  # noqa: E402

if TYPE_CHECKING:
    from backend_client.channel.window import Window

STORE: Final = "sh-nanjing-road"
KEY: Final = bytes(range(32))
FLUSH_S: Final = 3.0  # after a minute ends, its last messages still have to arrive
HEARTBEAT_S: Final = 5.0  # as a kiosk sends them
DEVICE_EVERY_S: Final = 120.0  # a reader reconnects every couple of minutes per kiosk
ACK_AFTER_S: Final = 30.0  # another attendant acknowledges most alerts after this
TICK_MS: Final = 100  # the attendant's GUI timer, to see the event loop stay responsive
SKUS: Final = ("XH-N1", "XH-N1P", "LY-A5", "LY-A5M", "OP-R9", "OP-R9S", "HW-P70", "HW-M60")


def kiosk_id(number: int) -> str:
    return f"{STORE}-k{number + 1:02d}"


# --- feeders: the kiosks' writer threads -----------------------------------------------------


class KioskScript:
    """What one kiosk tells its window, a message at a time: shopper sessions between
    timed reports (heartbeats, a device reconnecting, acks of earlier alerts)."""

    def __init__(self, number: int, start: float) -> None:
        self.kiosk = kiosk_id(number)
        self._random = random.Random(number)
        self._shopper = self._sessions()
        self._started = start
        self._next_heartbeat = start
        self._next_device = start + self._random.uniform(10, DEVICE_EVERY_S)
        self._device_up_at: float | None = None
        self._acks: list[tuple[float, str]] = []  # (due, alert id)
        self._low: bool = False

    def next(self, now: float) -> tuple[str, dict[str, Any], bool]:
        if now >= self._next_heartbeat:
            self._next_heartbeat += HEARTBEAT_S
            return "heartbeat", {"uptime_s": int(now - self._started)}, False
        if self._device_up_at is not None and now >= self._device_up_at:
            self._device_up_at = None
            return "device", {"device": "pickup", "status": "up", "detail": ""}, False
        if now >= self._next_device:
            self._next_device += DEVICE_EVERY_S
            self._device_up_at = now + 3.0
            detail = "serial port closed, reopening"
            return "device", {"device": "pickup", "status": "reconnecting", "detail": detail}, False
        if self._acks and now >= self._acks[0][0]:
            _, alert = self._acks.pop(0)
            by = f"staff-{self._random.randint(1, 6):02d}"
            return "ack", {"alert": alert, "by": by, "after_s": ACK_AFTER_S}, False
        kind, data = next(self._shopper)
        self._low = kind == "survey_answer" and bool(data["low"])
        return kind, data, self._low

    def appended(self, message: ChannelMessage, now: float) -> None:
        """A low score raises an alert; four in five get acknowledged later."""
        if self._low and message.seq % 5:
            self._acks.append((now + ACK_AFTER_S, f"{message.kiosk}:{message.seq}"))

    def _sessions(self) -> Iterator[tuple[str, dict[str, Any]]]:
        pick = self._random
        for number in range(10**9):
            session = f"{self.kiosk[-3:]}-{number:07d}"
            if pick.random() < 0.3:
                greeting = "Chen" if pick.random() < 0.3 else None
                viewed = pick.sample(SKUS, 2)
                via = pick.choice(["rfid", "ble"])
                yield "member_arrived", {"session": session, "greeting": greeting,
                                         "last_viewed": viewed, "via": via}  # fmt: skip
            for _ in range(pick.randint(2, 8)):
                slot = pick.randrange(12)
                sku = SKUS[slot % len(SKUS)]
                yield "lift", {"session": session, "slot": slot, "sku": sku}
                dwell = pick.randint(800, 40_000)
                yield "drop", {"session": session, "slot": slot, "sku": sku, "dwell_ms": dwell}
            if pick.random() < 0.3:
                yield "comparison", {"session": session, "skus": pick.sample(SKUS, 2)}
            if pick.random() < 0.06:
                score = pick.choice([1, 2, 3, 4, 4, 5, 5, 5])
                yield "survey_answer", {"session": session, "survey": "visit",
                                        "question": "experience", "kind": "smiley",
                                        "score": score, "low": score <= 2}  # fmt: skip
            if pick.random() < 0.05:
                yield "prize_won", {"session": session, "draw": "dec-wheel", "prize": "case"}
            if pick.random() < 0.1:
                yield "coupon_issued", {"session": session, "campaign": "dec-trade-in"}
            if pick.random() < 0.02:
                yield "signup", {"session": session}
            yield "member_left", {"session": session}


def feed(
    root: Path, numbers: list[int], *, kiosks: int, rate: float, t0: float, minutes: int
) -> None:
    """Append to the windows of kiosks `numbers`, each at `rate` from wall time t0, then
    print what was appended (one JSON line)."""
    # Here, not at the top: the attendant process must not pay for SQLAlchemy.
    from backend_client.channel.window import open_window  # noqa: PLC0415

    start = time.monotonic() + (t0 - time.time())
    end = start + minutes * 60
    windows: dict[int, Window] = {
        n: open_window(root / f"k{n}", store=STORE, kiosk=kiosk_id(n)) for n in numbers
    }
    scripts = {n: KioskScript(n, start) for n in numbers}
    # Kiosks staggered across one period, so the store's appends are spread evenly.
    due = [(start + n / (kiosks * rate), n) for n in numbers]
    heapq.heapify(due)
    appended = {kiosk_id(n): 0 for n in numbers}
    behind: list[float] = []
    while due:
        when, n = heapq.heappop(due)
        if when >= end:
            continue
        now = time.monotonic()
        if when > now:
            time.sleep(when - now)
        else:
            behind.append(now - when)
        now = time.monotonic()
        kind, data, alert = scripts[n].next(now)
        message = windows[n].append(kind, data, at=datetime.now(UTC), alert=alert)
        scripts[n].appended(message, now)
        appended[message.kiosk] += 1
        heapq.heappush(due, (when + 1 / rate, n))
    for window in windows.values():
        window.close()
    late = sorted(behind)
    result = {"appended": appended, "late_50ms": sum(1 for s in late if s > 0.05),
              "late_max_ms": round(1000 * late[-1], 1) if late else 0.0}  # fmt: skip
    print(json.dumps(result), flush=True)


# --- the attendant ---------------------------------------------------------------------------


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def attend(endpoints: list[KioskEndpoint], minutes: int) -> None:
    """The attendant's stack, measured. Prints `ready` once every kiosk is live, reads the
    start time (wall clock) from stdin, reports each minute and at the end, then quits."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QEvent, QObject, QTimer, Signal, Slot  # noqa: PLC0415
    from PySide6.QtWidgets import QApplication  # noqa: PLC0415

    from content.model import Language  # noqa: PLC0415
    from kiosk.attendant.desk import AttendantDesk  # noqa: PLC0415
    from kiosk.attendant.model import AttendantState, PlainMessage  # noqa: PLC0415
    from kiosk.attendant.screen import SCREEN_SIZE, AttendantScreen  # noqa: PLC0415

    app = QApplication([])
    desk = AttendantDesk(AttendantState(STORE))
    screen = AttendantScreen()
    screen.resize(*SCREEN_SIZE)
    screen.show()
    t0: float | None = None
    lags: dict[int, array[float]] = {}  # minute (by append time) -> lags in ms
    taken: list[float] = []  # `at` of messages the desk took, not yet on the screen
    pending: list[float] = []  # `at` of messages the screen was shown, not yet painted
    received = [0]

    def redraw() -> None:
        screen.show_state(desk.state, Language.ZH_CN, time.monotonic())
        pending.extend(taken)
        taken.clear()

    desk.settled.connect(redraw)  # as the app redraws: once per pass of the event loop

    class PaintProbe(QObject):
        """Sees the screen's repaints: Qt paints every dirty widget of a window while it
        handles the window's UpdateRequest, so the moment that returns is when what the
        screen was told is on it."""

        def __init__(self) -> None:
            super().__init__()
            self.viewport = screen.feed.viewport()
            self.feed_painted = False
            screen.installEventFilter(self)
            self.viewport.installEventFilter(self)

        def eventFilter(self, watched: QObject, event: QEvent) -> bool:
            nonlocal pending
            if event.type() == QEvent.Type.Paint and watched is self.viewport:
                self.feed_painted = True
            elif event.type() == QEvent.Type.UpdateRequest and watched is screen:
                shown, pending = pending, []
                self.feed_painted = False
                screen.event(event)  # the repaint itself
                if not self.feed_painted:  # the feed's rows were not laid out yet
                    pending = shown + pending
                    return True
                painted = time.time()
                for at in shown:
                    if t0 is not None:
                        minute = max(0, min(int((at - t0) // 60), minutes - 1))
                        lags.setdefault(minute, array("d")).append(1000 * (painted - at))
                return True
            return False

    probe = PaintProbe()

    class Relay(QObject):
        """Client threads -> the GUI thread, by a queued signal."""

        arrived = Signal(object)
        started = Signal(float)

        @Slot(object)
        def take(self, message: PlainMessage) -> None:
            received[0] += 1
            taken.append(message.at.timestamp())
            desk.receive(message)

    relay = Relay()
    relay.arrived.connect(relay.take)
    live: set[str] = set()
    ready: list[bool] = []

    def on_status(status: KioskStatus) -> None:
        if status.state is KioskState.LIVE:
            live.add(status.kiosk)
        if status.state is KioskState.LIVE and len(live) == len(endpoints) and not ready:
            ready.append(True)
            print(f"all kiosks live; RSS {rss_mb():.0f} MB before the first message", flush=True)
            print("ready", flush=True)
        elif status.state in (KioskState.FAULTY, KioskState.REFUSED, KioskState.DOWN):
            print(f"kiosk {status.kiosk} {status.state.value}: {status.reason}", flush=True)

    def on_message(message: ChannelMessage) -> None:
        # Made plain on the client's thread: the GUI thread gets a value it can use as is.
        relay.arrived.emit(
            PlainMessage(message.v, message.store, message.kiosk, message.seq, message.moment,
                         message.kind, message.alert, message.data.model_dump())
        )  # fmt: skip

    client = ChannelClient(endpoints, StoreKeys(STORE, KEY), on_message, on_status)

    ticks = {"last": time.monotonic(), "worst": 0.0}

    def tick() -> None:
        now = time.monotonic()
        ticks["worst"] = max(ticks["worst"], now - ticks["last"] - TICK_MS / 1000)
        ticks["last"] = now

    ticker = QTimer()
    ticker.timeout.connect(tick)
    ticker.start(TICK_MS)
    rss: dict[int, float] = {}
    reported = [0]
    cpu = [time.process_time()]

    def report() -> None:
        if t0 is None:
            return
        minute = reported[0]
        if time.time() < t0 + 60 * (minute + 1) + FLUSH_S:
            return
        reported[0] += 1
        values = list(lags.pop(minute, array("d")))
        rss[minute] = rss_mb()
        used = time.process_time() - cpu[0]
        cpu[0] += used
        line = f"minute {minute + 1}: {len(values)} messages"
        if values:
            line += (
                f", lag median {statistics.median(values):.0f} ms,"
                f" p99 {percentile(values, 99):.0f} ms, max {max(values):.0f} ms"
            )
        line += (
            f", GUI timer late by at most {1000 * ticks['worst']:.0f} ms,"
            f" CPU {100 * used / 60:.0f}%, RSS {rss[minute]:.0f} MB"
            f" (machine load {os.getloadavg()[0]:.1f})"
        )
        ticks["worst"] = 0.0
        print(line, flush=True)
        if minute == minutes - 1:
            p99_last[0] = percentile(values, 99) if values else float("nan")
            finish()

    p99_last = [float("nan")]

    def finish() -> None:
        state = desk.state
        missed = sum(health.missed for health in state.kiosks.values())
        dropped = sum(health.dropped for health in state.kiosks.values())
        faulty = sorted(k for k, health in state.kiosks.items() if health.faulty(time.monotonic()))
        print(
            json.dumps({
                "received": received[0], "missed": missed, "dropped": dropped,
                "faulty": faulty, "not_painted": len(pending) + len(taken),
                "alerts_open": len(state.open_alerts()), "alerts": len(state.alerts),
                "p99_last_minute_ms": round(p99_last[0], 1),
                "rss_first_mb": round(rss[0], 1), "rss_last_mb": round(rss[max(rss)], 1),
            }),
            flush=True,
        )  # fmt: skip
        client.stop()
        app.quit()

    minute_timer = QTimer()
    minute_timer.timeout.connect(report)
    minute_timer.start(1000)

    def started(at: float) -> None:
        nonlocal t0
        t0 = at

    relay.started.connect(started)

    def read_start() -> None:
        line = sys.stdin.readline()
        if line:
            relay.started.emit(float(line))

    threading.Thread(target=read_start, daemon=True).start()
    desk.start()
    client.start()
    if os.environ.get("BENCH_PROFILE"):
        import cProfile  # noqa: PLC0415

        cProfile.runctx("app.exec()", globals(), {"app": app}, os.environ["BENCH_PROFILE"])
    else:
        app.exec()
    del probe


# --- the whole bench -------------------------------------------------------------------------


def _start(command: list[str], children: list[subprocess.Popen[str]], **options: Any) -> Any:
    child = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, cwd=ROOT, **options)
    children.append(child)
    return child


def _start_servers(
    root: Path, kiosks: int, children: list[subprocess.Popen[str]]
) -> list[list[str]]:
    """The kiosks' channel servers, all started before waiting for the first: [kiosk, url]."""
    servers = []
    for n in range(kiosks):
        write_store_key(root / f"k{n}", KEY)
        command = [sys.executable, "-m", "backend_client.channel.serve",
                   "--data-dir", str(root / f"k{n}"), "--store", STORE, "--kiosk", kiosk_id(n),
                   "--host", "127.0.0.1", "--port", "0"]  # fmt: skip
        with (root / f"serve-{n}.log").open("w") as log:
            servers.append(_start(command, children, stderr=log))
    return [
        [kiosk_id(n), f"http://127.0.0.1:{server.stdout.readline().rsplit(':', 1)[1].strip()}"]
        for n, server in enumerate(servers)
    ]


def _feeder_results(feeders: list[subprocess.Popen[str]]) -> tuple[int, int, float]:
    """Messages appended, appends over 50 ms behind schedule, the worst lateness (ms)."""
    total, late, late_max = 0, 0, 0.0
    for feeder in feeders:
        out, _ = feeder.communicate(timeout=60)
        result = json.loads(out.strip().splitlines()[-1])
        total += sum(result["appended"].values())
        late += result["late_50ms"]
        late_max = max(late_max, result["late_max_ms"])
    return total, late, late_max


def run(args: argparse.Namespace) -> None:
    here = [sys.executable, __file__, "--kiosks", str(args.kiosks), "--minutes", str(args.minutes)]
    with tempfile.TemporaryDirectory(prefix="attendant-follow-") as temporary:
        root = Path(temporary)
        children: list[subprocess.Popen[str]] = []
        try:
            endpoints = _start_servers(root, args.kiosks, children)
            print(f"{args.kiosks} channel servers up", flush=True)
            attendant = _start(
                [*here, "--role", "attendant", "--endpoints", json.dumps(endpoints)],
                children,
                stdin=subprocess.PIPE,
            )
            for line in attendant.stdout:
                if line.strip() == "ready":
                    break
                print("attendant:", line.rstrip(), flush=True)
            t0 = time.time() + 1.0  # the attendant and every feeder count minutes from here
            attendant.stdin.write(f"{t0}\n")
            attendant.stdin.flush()
            feeder = [*here, "--role", "feeder", "--root", str(root), "--rate", str(args.rate),
                      "--t0", str(t0), "--numbers"]  # fmt: skip
            feeders = [
                _start(
                    [*feeder, ",".join(map(str, range(part, args.kiosks, args.feeders)))], children
                )
                for part in range(args.feeders)
            ]
            print(
                f"{args.kiosks} kiosks x {args.rate:g} events/s for {args.minutes} min, "
                f"{args.feeders} feeder processes; one attendant (ChannelClient -> desk -> "
                f"screen, redrawn once per event loop pass)",
                flush=True,
            )
            summary: dict[str, Any] = {}
            for line in attendant.stdout:
                if line.startswith("{"):
                    summary = json.loads(line)
                else:
                    print(line.rstrip(), flush=True)
            total, late, late_max = _feeder_results(feeders)
        finally:
            for child in reversed(children):
                if child.poll() is None:
                    child.terminate()
            for child in children:
                try:
                    child.wait(10)
                except subprocess.TimeoutExpired:
                    child.kill()
                    child.wait()
    print(
        f"appended {total} messages ({total / (args.minutes * 60):.0f}/s; "
        f"{late} appends more than 50 ms behind schedule, at worst {late_max:.0f} ms)"
    )
    print(
        f"attendant received {summary['received']} (missed {summary['missed']}, "
        f"repeated {summary['dropped']}, faulty kiosks {summary['faulty'] or 'none'}), "
        f"{summary['not_painted']} not painted at the end"
    )
    print(f"p99 lag in the last minute: {summary['p99_last_minute_ms']:.0f} ms (goal < 500 ms)")
    print(
        f"attendant RSS: first minute {summary['rss_first_mb']:.0f} MB, last minute "
        f"{summary['rss_last_mb']:.0f} MB (goal < 150 MB and flat)"
    )
    print(f"alerts open at the end: {summary['alerts_open']} (of {summary['alerts']} kept)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kiosks", type=int, default=20)
    parser.add_argument("--rate", type=float, default=20.0, help="events per second per kiosk")
    parser.add_argument("--minutes", type=int, default=10)
    parser.add_argument("--feeders", type=int, default=4, help="feeder processes")
    # The bench starts itself again as its parts:
    parser.add_argument("--role", choices=["bench", "feeder", "attendant"], default="bench",
                        help=argparse.SUPPRESS)  # fmt: skip
    parser.add_argument("--endpoints", help=argparse.SUPPRESS)
    parser.add_argument("--root", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--numbers", help=argparse.SUPPRESS)
    parser.add_argument("--t0", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.role == "feeder":
        numbers = [int(n) for n in args.numbers.split(",")]
        feed(
            args.root, numbers, kiosks=args.kiosks, rate=args.rate, t0=args.t0,
            minutes=args.minutes,
        )  # fmt: skip
    elif args.role == "attendant":
        endpoints = [KioskEndpoint(kiosk, url) for kiosk, url in json.loads(args.endpoints)]
        attend(endpoints, args.minutes)
    else:
        run(args)


if __name__ == "__main__":
    main()
