"""The receipt printer: a coupon ticket from print_ticket() to the simulator's cut.

    .venv/bin/python bench/printer.py [--runs 50] [--paper 58|80]

A `ReceiptPrinter` (real pyserial) prints member-offer tickets, one at a time,
to `kiosk-sim printer`'s PrinterSim on a pseudo-terminal. Per ticket:

- print_ticket: how long the caller (the kiosk's GUI thread) is held; it only
  queues, so this should be microseconds;
- draw: the ticket as ESC/POS bytes (Pillow text in the CJK font, the QR,
  python-escpos), measured on its own;
- to printed: print_ticket() to Printed(ok) (draw, status check, write);
- to paper: print_ticket() to the simulator's cut page (its decoding included).

The first ticket (python-escpos and the font loaded) is shown apart and left out of
the figures. Median, p99 and max in milliseconds.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from harness import summary

from devices.events import DeviceEvent, DeviceHealth, HealthStatus, Printed
from devices.printer import PAPER_DOTS, CouponTicket, ReceiptPrinter
from devices.sim.printer import PrinterSim
from devices.ticket import find_cjk_font, ticket_bytes


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--paper", type=int, choices=sorted(PAPER_DOTS), default=80)
    args = parser.parse_args()

    printed: dict[str, float] = {}
    ready = threading.Event()
    done = threading.Condition()

    def on_event(event: DeviceEvent) -> None:
        if isinstance(event, DeviceHealth) and event.status is HealthStatus.UP:
            ready.set()
        if isinstance(event, Printed):
            if not event.ok:
                print(f"job {event.job} failed: {event.reason}", file=sys.stderr)
            with done:
                printed[event.job] = time.perf_counter()
                done.notify_all()

    def ticket(number: int) -> CouponTicket:
        return CouponTicket(
            job=f"bench-{number}",
            heading="星河百货 · 南京西路店",
            title="会员专享：咖啡机立减 200 元，限时优惠",
            terms="本券限本店使用，不与其他优惠同享。每位会员限用一次。",
            code="7K2M-Q9TX-ABCD-EFGH-JKMN-PQRS",
            expires_on=date(2026, 12, 31),
            language="zh-CN",
        )

    dots = PAPER_DOTS[args.paper]
    with tempfile.TemporaryDirectory() as directory:
        sim = PrinterSim(dots=dots, link=Path(directory) / "printer")
        sim.start()
        printer = ReceiptPrinter(sim.port, on_event=on_event, paper_mm=args.paper)
        printer.start()
        try:
            if not ready.wait(5):
                print("the simulated printer never became ready", file=sys.stderr)
                return 1
            held, to_printed, to_paper = [], [], []
            for number in range(args.runs + 1):
                started = time.perf_counter()
                printer.print_ticket(ticket(number))
                held.append((time.perf_counter() - started) * 1000)
                with done:
                    done.wait_for(lambda n=number: f"bench-{n}" in printed, 30)
                sim.wait_for_ticket(number + 1, 30)
                to_paper.append((time.perf_counter() - started) * 1000)
                to_printed.append((printed[f"bench-{number}"] - started) * 1000)
                if number == 0:
                    print(
                        f"first ticket (libraries and font loaded): printed in "
                        f"{to_printed[0]:.0f} ms, on paper in {to_paper[0]:.0f} ms"
                    )
        finally:
            printer.stop()
            sim.stop()

    font = find_cjk_font()
    assert font is not None
    draw = []
    for number in range(args.runs):
        started = time.perf_counter()
        data = ticket_bytes(ticket(number), dots=dots, font=font)
        draw.append((time.perf_counter() - started) * 1000)
    print(f"{args.paper} mm paper ({dots} dots), a ticket is {len(data):,} bytes")
    print(summary("print_ticket (caller held)", held[1:]))
    print(summary("draw (ESC/POS bytes)", draw))
    print(summary("to Printed(ok)", to_printed[1:]))
    print(summary("to the simulator's cut page", to_paper[1:]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
