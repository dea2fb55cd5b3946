"""Shared parts of the benchmarks: a kiosk process on a pty we play the board on.

The benchmark process is the pickup board: it owns the pseudo-terminal, writes
protocol lines, and reads the kiosk's `--trace` file to see when each screen
was first painted. Both sides stamp with time.monotonic(), which is one clock
for every process on the machine.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import tty
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / "var" / "bench"


CACHE.mkdir(parents=True, exist_ok=True)


def sample_bundle(products: int) -> Path:
    """A generated bundle with `products` phones, made once and reused."""
    out = CACHE / f"bundle-{products}"
    if not (out / "manifest.json").exists():
        subprocess.run(
            [sys.executable, "-m", "content.sample", str(out), "--products", str(products)],
            check=True,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
        )
    return out


BENCH_STORE = "bench-store"
BENCH_KIOSK = "bench-store-k1"
BENCH_STORE_KEY = bytes(range(32))


def enrol(data_dir: Path) -> None:
    """What enrolment leaves: credentials (an HQ nobody answers at: the relay child backs
    off) and the store key, so the kiosk writes its store channel and serves it."""
    from backend_client.channel.keys import write_store_key  # noqa: PLC0415
    from backend_client.credentials import Credentials, save_credentials  # noqa: PLC0415

    credentials = Credentials("http://127.0.0.1:9", BENCH_STORE, BENCH_KIOSK, "token")
    save_credentials(data_dir, credentials)
    write_store_key(data_dir, BENCH_STORE_KEY)


def channel_args(port: int = 0) -> list[str]:
    """The kiosk's channel on loopback, if this checkout's kiosk has a channel server
    (so the same bench also runs on a commit from before it, for a baseline)."""
    if "--channel-port" not in (ROOT / "kiosk" / "app.py").read_text():
        return []
    return ["--channel-host", "127.0.0.1", "--channel-port", str(port)]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def summary(name: str, values_ms: list[float]) -> str:
    return (
        f"{name}: n={len(values_ms)} median={statistics.median(values_ms):.1f} ms "
        f"p95={percentile(values_ms, 95):.1f} ms p99={percentile(values_ms, 99):.1f} ms "
        f"max={max(values_ms):.1f} ms"
    )


class TraceReader:
    """Follows a growing JSON-lines trace file."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._offset = 0
        self._partial = b""

    def lines(self) -> Iterator[dict[str, Any]]:
        if not self._path.exists():
            return
        with self._path.open("rb") as handle:
            handle.seek(self._offset)
            data = handle.read()
        self._offset += len(data)
        data = self._partial + data
        *complete, self._partial = data.split(b"\n")
        for line in complete:
            yield json.loads(line)

    def wait_for(
        self, match: Callable[[dict[str, Any]], bool], timeout: float = 10.0
    ) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in self.lines():
                if match(line):
                    return line
            time.sleep(0.005)  # the stamps are the kiosk's own; polling only costs CPU
        raise TimeoutError(
            f"the kiosk did not write the expected trace line in time; see {CACHE}/kiosk-stderr.log"
        )


class KioskUnderTest:
    def __init__(
        self,
        bundle: Path,
        data_dir: Path,
        extra: list[str] | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        self.master, self._slave = os.openpty()
        # Another thread may write board lines too (bench/lift_latency.py --noisy).
        self.write_lock: AbstractContextManager[Any] = threading.Lock()
        tty.setraw(self._slave)
        self.port = os.ttyname(self._slave)
        self.trace_path = data_dir / "trace.jsonl"
        self.trace = TraceReader(self.trace_path)
        env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": str(ROOT), **(env or {})}
        self._stderr = (CACHE / "kiosk-stderr.log").open("wb")
        self.started = time.monotonic()
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "kiosk.app",
                "--content",
                str(bundle),
                "--pickup-port",
                self.port,
                "--data-dir",
                str(data_dir),
                "--trace",
                str(self.trace_path),
                *(extra or []),
            ],
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=self._stderr,
        )

    def write(self, line: str) -> float:
        """Send a board line; returns the monotonic time just before the write."""
        with self.write_lock:
            stamp = time.monotonic()
            os.write(self.master, line.encode() + b"\n")
        return stamp

    def lift(self, slot: int, sku: str) -> float:
        """Lift a phone; returns ms from the write to the first paint of its screen."""
        return self.painted_after(f"product:{sku}", self.write(f"LIFT {slot}"))

    def painted_after(self, view: str, sent: float) -> float:
        """ms from `sent` to the first paint of `view` after it."""
        paint = self.trace.wait_for(
            lambda line: line["kind"] == "paint" and line["view"] == view and line["mono"] >= sent
        )
        return float(paint["mono"] - sent) * 1000

    def drop(self, slot: int) -> None:
        self.write(f"DROP {slot}")
        self.drain()

    def drain(self) -> None:
        """Read whatever the kiosk sent to the board (LED, STATE?) so its writes never block."""
        os.set_blocking(self.master, False)
        try:
            while os.read(self.master, 4096):
                pass
        except BlockingIOError:
            pass
        finally:
            os.set_blocking(self.master, True)

    def rss_bytes(self) -> int:
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        raise RuntimeError("no VmRSS")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
        os.close(self.master)
        os.close(self._slave)
        self._stderr.close()


@contextmanager
def running_kiosk(
    bundle: Path,
    extra: list[str] | None = None,
    prepare: Callable[[Path], None] | None = None,
    env: dict[str, str] | None = None,
) -> Iterator[KioskUnderTest]:
    """The kiosk process on a fresh data directory (`prepare` fills it first), once it
    shows the attract loop and its pickup board is up."""
    with tempfile.TemporaryDirectory(prefix="kiosk-bench-") as tmp:
        if prepare is not None:
            prepare(Path(tmp))
        kiosk = KioskUnderTest(bundle, Path(tmp), extra, env)
        try:
            # The attract loop painted and the board's port open, in either order (a
            # device's health is traced when it changes: once up, not again at HELLO).
            seen: set[str] = set()

            def up(line: dict[str, Any]) -> bool:
                if line["kind"] == "paint" and line["view"] == "attract":
                    seen.add("attract")
                if line["kind"] == "health" and line["device"] == "pickup":
                    if line["status"] == "up":
                        seen.add("pickup")
                    else:
                        seen.discard("pickup")
                return seen == {"attract", "pickup"}

            kiosk.trace.wait_for(up, 30)
            kiosk.write("HELLO BENCH-1 1.0 12")  # lines after it are read after it
            yield kiosk
        finally:
            kiosk.stop()
