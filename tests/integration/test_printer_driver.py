"""The receipt printer driver against the simulated printer on a real pseudo-terminal:
a coupon code issued by the kiosk comes back off the paper (zxing-cpp) and verifies;
paper out, cover open and unplugged are reported and recovered; a stalled or garbled
printer never holds up the caller."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from helpers.pickup import EventRecorder, is_health

from devices.events import DeviceEvent, HealthStatus, Printed
from devices.printer import CouponTicket, ReceiptPrinter
from devices.sim.printer import Answering, PrinterSim
from rewards.codes import issue_code, kiosk_key, parse_code, store_key

POLL_S = 0.1  # the tests' status poll: fast, so each state change shows within a few polls
STATUS_TIMEOUT_S = 0.3
KEY = kiosk_key(store_key(b"test chain coupon secret", "store-7"), 42)
EXPIRES = date(2026, 12, 31)


def ticket(code: str = "7K2M-Q9TX-ABCD-EFGH-JKMN-PQRS", job: str = "job-1") -> CouponTicket:
    return CouponTicket(
        job=job,
        heading="星河百货 · 南京西路店",
        title="会员专享：咖啡机立减 200 元",
        terms="本券限本店使用，不与其他优惠同享。",
        code=code,
        expires_on=EXPIRES,
        language="zh-CN",
    )


@pytest.fixture
def sim(tmp_path: Path) -> Iterator[PrinterSim]:
    printer = PrinterSim(dots=384, out_dir=tmp_path / "paper", link=tmp_path / "printer")
    printer.start()
    yield printer
    printer.stop()


@contextmanager
def connected_printer(
    sim: PrinterSim, **options: Any
) -> Iterator[tuple[ReceiptPrinter, EventRecorder]]:
    """A started ReceiptPrinter on `sim`'s port that has reported itself ready."""
    events = EventRecorder()
    options = {
        "paper_mm": 58,
        "poll_interval": POLL_S,
        "status_timeout": STATUS_TIMEOUT_S,
        "write_timeout": 0.5,
        **options,
    }
    printer = ReceiptPrinter(sim.port, on_event=events, **options)
    printer.start()
    try:
        events.wait_for(is_health(HealthStatus.UP, ""))
        yield printer, events
    finally:
        printer.stop()


def printed(events: EventRecorder, job: str, since: int = 0) -> Printed:
    index = events.wait_for(lambda e: isinstance(e, Printed) and e.job == job, 10.0, since=since)
    result = events.events[index]
    assert isinstance(result, Printed)
    return result


def test_the_printed_qr_is_the_issued_code_and_it_verifies(
    sim: PrinterSim, caplog: pytest.LogCaptureFixture
) -> None:
    issued = issue_code(KEY, campaign_no=12, kiosk_no=42, serial=7, expires_on=EXPIRES)
    with caplog.at_level(logging.DEBUG), connected_printer(sim) as (printer, events):
        printer.print_ticket(ticket(issued.text, job="offer-1"))
        result = printed(events, "offer-1")
        assert (result.ok, result.reason) == (True, "")
        paper = sim.wait_for_ticket(1)
    assert paper.qr_codes == (issued.text,)
    checked = parse_code(paper.qr_codes[0], {42: KEY}.get, today=date(2026, 12, 7))
    assert checked == issued
    assert paper.path is not None and paper.path.is_file()  # the PNG the demo shows
    assert sim.unknown_commands == 0
    assert issued.text not in caplog.text  # a coupon code is never logged
    assert issued.text.replace("-", "") not in caplog.text


def test_the_chinese_title_is_printed_as_dark_dots(sim: PrinterSim) -> None:
    with connected_printer(sim) as (printer, events):
        printer.print_ticket(ticket())
        assert printed(events, "job-1").ok
        page = sim.wait_for_ticket(1).page
    # The heading and title are the top of the ticket, above the QR: their band of the
    # page holds ink (a printer without the glyphs would print nothing or boxes of '?').
    rows = [page.crop((0, y, page.width, y + 1)).getextrema()[0] for y in range(page.height)]
    inked = [y for y, darkest in enumerate(rows) if darkest < 128]
    assert inked, "nothing printed"
    top_band = page.crop((0, inked[0], page.width, inked[0] + 120))
    dark = sum(1 for value in top_band.tobytes() if value < 128)
    assert dark > 1500  # a line of Chinese at 24-32 dots is thousands of dots


def test_an_english_ticket_prints_on_80_mm_paper(tmp_path: Path) -> None:
    wide = PrinterSim(dots=576, link=tmp_path / "wide")
    wide.start()
    try:
        with connected_printer(wide, paper_mm=80) as (printer, events):
            english = CouponTicket(
                "en-1", "Galaxy Stores", "Members: 20% off coffee machines", "One per member.",
                "7K2M-Q9TX-ABCD-EFGH-JKMN-PQRS", EXPIRES, "en",
            )  # fmt: skip
            printer.print_ticket(english)
            assert printed(events, "en-1").ok
            paper = wide.wait_for_ticket(1)
    finally:
        wide.stop()
    assert paper.page.width == 576
    assert paper.qr_codes == ("7K2M-Q9TX-ABCD-EFGH-JKMN-PQRS",)


@pytest.mark.parametrize(
    ("break_it", "detail"),
    [
        (lambda sim: sim.set_paper_out(True), "paper_out"),
        (lambda sim: sim.set_cover_open(True), "cover_open"),
        (lambda sim: sim.unplug(), "unplugged"),
        (lambda sim: sim.set_answering(Answering.SILENT), "not_answering"),
        (lambda sim: sim.set_answering(Answering.GARBAGE), "not_answering"),
    ],
    ids=["paper-out", "cover-open", "unplugged", "stalled", "garbage"],
)
def test_a_printer_that_cannot_print_is_down_with_why_then_up_when_fixed(
    sim: PrinterSim, break_it: Any, detail: str
) -> None:
    with connected_printer(sim) as (printer, events):
        assert printer.ready
        mark = events.mark()
        break_it(sim)
        events.wait_for(is_health(HealthStatus.DOWN, detail), since=mark)
        assert not printer.ready
        time.sleep(5 * POLL_S)  # several more polls in the same state...
        assert len(events.health(mark)) == 1  # ...are not reported again
        fixed = events.mark()
        if not sim.plugged_in:
            sim.replug()
        sim.fix()
        events.wait_for(is_health(HealthStatus.UP, ""), since=fixed)
        assert printer.ready
        printer.print_ticket(ticket(job="after"))
        assert printed(events, "after", since=fixed).ok
        sim.wait_for_ticket(1)
    assert len(sim.tickets) == 1


def test_a_port_that_is_not_there_at_start_is_unplugged_until_it_appears(tmp_path: Path) -> None:
    events = EventRecorder()
    link = tmp_path / "later"
    printer = ReceiptPrinter(str(link), on_event=events, poll_interval=POLL_S)
    printer.start()
    try:
        events.wait_for(is_health(HealthStatus.DOWN, "unplugged"))
        late = PrinterSim(dots=384, link=link)
        late.start()
        try:
            events.wait_for(is_health(HealthStatus.UP, ""))
        finally:
            late.stop()
    finally:
        printer.stop()


@pytest.mark.parametrize("answering", [Answering.SILENT, Answering.GARBAGE])
def test_a_stalled_or_garbled_printer_never_holds_up_the_caller(
    sim: PrinterSim, answering: Answering
) -> None:
    with connected_printer(sim) as (printer, events):
        mark = events.mark()
        sim.set_answering(answering)
        # Queued while the driver still thinks the printer is fine: the job's own status
        # check (or its write) runs into the stall on the job thread, never on ours.
        started = time.perf_counter()
        printer.print_ticket(ticket(job="racing"))
        returned = time.perf_counter() - started
        events.wait_for(is_health(HealthStatus.DOWN, "not_answering"), since=mark)
        started = time.perf_counter()
        printer.print_ticket(ticket(job="refused"))
        returned = max(returned, time.perf_counter() - started)
        assert printed(events, "racing", since=mark).ok is False
        refused = printed(events, "refused", since=mark)
    assert returned < STATUS_TIMEOUT_S / 10  # queued, never waiting on the port
    assert (refused.ok, refused.reason) == (False, "not_answering")
    assert sim.tickets == []


def test_a_printer_that_stalls_mid_ticket_fails_the_job_within_the_write_timeout(
    sim: PrinterSim,
) -> None:
    with connected_printer(sim, write_timeout=0.3) as (printer, events):
        mark = events.mark()
        # Stop reading between the job's status check and its ticket: the ticket (20+ kB)
        # overfills the pty's buffer and the write times out.
        sim.set_answering(Answering.SILENT)
        printer.print_ticket(ticket(job="stuck"))
        result = printed(events, "stuck", since=mark)
    assert (result.ok, result.reason) == (False, "not_answering")


def test_a_full_queue_refuses_at_once_and_stop_answers_every_job(sim: PrinterSim) -> None:
    with connected_printer(sim) as (printer, events):
        sim.set_answering(Answering.SILENT)
        for number in range(20):
            printer.print_ticket(ticket(job=f"many-{number}"))
    # After stop() every job has had its answer: printed, refused, busy or stopped.
    answers = {e.job: e for e in events.events if isinstance(e, Printed)}
    assert set(answers) == {f"many-{number}" for number in range(20)}
    assert {e.reason for e in answers.values() if not e.ok} <= {
        "busy", "stopped", "not_answering"
    }  # fmt: skip


def test_a_broken_listener_does_not_stop_the_printer(sim: PrinterSim) -> None:
    seen: list[DeviceEvent] = []

    def listener(event: DeviceEvent) -> None:
        seen.append(event)
        raise RuntimeError("listener bug")

    printer = ReceiptPrinter(sim.port, on_event=listener, paper_mm=58, poll_interval=POLL_S)
    printer.start()
    try:
        deadline = time.monotonic() + 3
        while not printer.ready and time.monotonic() < deadline:
            time.sleep(0.01)
        printer.print_ticket(ticket())
        sim.wait_for_ticket(1)
        deadline = time.monotonic() + 3
        while not any(isinstance(e, Printed) for e in seen) and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        printer.stop()
    assert any(isinstance(e, Printed) and e.ok for e in seen)
