"""`kiosk-sim`: play kiosk hardware from a terminal or a script.

    kiosk-sim pickup [--link PATH] [--port DEVICE] [--slots N] [--no-checksum]
                     [--state-interval S] [--script FILE [--stay]]
    kiosk-sim rfid   [--link PATH] [--port DEVICE] [--protocol rdm6300|line]
                     [--line-format decimal|hex] [--interval S] [--script FILE [--stay]]
    kiosk-sim ble    [--adapter hci0] [--interval S] [--no-monitor-api] [--script FILE [--stay]]
    kiosk-sim printer [--link PATH] [--port DEVICE] [--paper 58|80] [--out DIR]
                      [--script FILE [--stay]]

Without --port each device lives on a pseudo-terminal, and the port the kiosk
should open is printed first, as `port: PATH` (for the pickup board, give it
to `kiosk --pickup-port`). The rfid shell taps (`tap CARD`) and holds
(`hold CARD SECONDS`) member fobs by their ten-digit card number. The printer
shell runs out of paper, opens its cover, stalls or answers garbage; each ticket
it cuts is saved as a PNG in --out and its QR code printed (`ticket 1: QR ...`):
that is a coupon code on the simulator's own terminal, for the demo; the kiosk
itself never logs one.
"""

from __future__ import annotations

import argparse
import cmd
import contextlib
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Final, TextIO

import serial

from devices.printer import PAPER_DOTS
from devices.protocols.pickup import BAUDRATE, MAX_SLOT, Message, format_message
from devices.protocols.rfid import BAUDRATE as RFID_BAUDRATE
from devices.protocols.rfid import LineFormat, RfidProtocol, parse_card_number
from devices.sim.ble import DEFAULT_INTERVAL_S as BLE_INTERVAL_S
from devices.sim.ble import FAR_DBM, MockBluez, MockBluezError, missing_requirements
from devices.sim.pickup import PickupBoardSim
from devices.sim.printer import Answering, PrinterSim, Ticket
from devices.sim.rfid import HOLD_INTERVAL_S, RfidReaderSim

_log = logging.getLogger("devices.sim")

MAX_WAIT_S: Final = 3600.0  # a `wait` longer than an hour is a typo, not a plan
MAX_NOISE_BYTES: Final = 4096  # one pty buffer: more would only be dropped


class UsageError(Exception):
    """A command the shell cannot run; shown as one line, never as a traceback."""


class SimShell(cmd.Cmd):
    """What every simulator's shell shares: comments, one-line errors, wait and quit."""

    intro = "type 'help' for commands, 'quit' to leave"

    def __init__(self, *, stdout: TextIO, prompt: str) -> None:
        super().__init__(stdout=stdout)
        self.prompt = prompt
        self.strict = False  # scripts raise UsageError instead of printing it

    def cmdloop(self, intro: str | None = None) -> None:
        """At a terminal: a prompt_toolkit prompt, with what the device's own thread
        prints (`host: LED 3 ON`) shown above the prompt, never in the middle of the
        line being typed. Piped input: cmd.Cmd's plain loop."""
        if not self.prompt:
            super().cmdloop(intro)
            return
        # Only an interactive shell needs it: scripts and the tests' pipes start faster.
        from prompt_toolkit import PromptSession  # noqa: PLC0415
        from prompt_toolkit.patch_stdout import patch_stdout  # noqa: PLC0415

        # Cursor-position requests only size completion menus, which this prompt has
        # none of; a terminal that ignores them would get a warning and a pause.
        os.environ.setdefault("PROMPT_TOOLKIT_NO_CPR", "1")
        session: PromptSession[str] = PromptSession()
        own_stdout = self.stdout
        try:
            with patch_stdout():
                self.stdout = sys.stdout  # through the patch, like the device thread's lines
                intro = self.intro if intro is None else intro
                if intro:
                    self._say(str(intro))
                stop = False
                while not stop:
                    try:
                        line = session.prompt(self.prompt)
                    except EOFError:
                        line = "EOF"
                    line = self.precmd(line)
                    stop = self.postcmd(self.onecmd(line), line)
        finally:
            self.stdout = own_stdout

    # cmd.Cmd hooks

    def precmd(self, line: str) -> str:
        return line.split("#", 1)[0].strip()  # comments and blank lines are fine anywhere

    def emptyline(self) -> bool:
        return False  # cmd.Cmd would repeat the last command: not what `lift 3` wants

    def default(self, line: str) -> None:
        raise UsageError(f"unknown command {line.split(maxsplit=1)[0]!r} (try 'help')")

    def onecmd(self, line: str) -> bool:
        try:
            return super().onecmd(line)
        except UsageError as exc:
            if self.strict:
                raise
            self._say(f"error: {exc}")
            return False

    # commands every device has

    def do_wait(self, arg: str) -> None:
        """wait SECONDS: pause (useful in scripts)."""
        try:
            seconds = float(arg)
        except ValueError:
            raise UsageError("usage: wait SECONDS") from None
        if not 0 <= seconds <= MAX_WAIT_S:
            raise UsageError(f"wait takes 0 to {MAX_WAIT_S:.0f} seconds")
        time.sleep(seconds)

    def do_quit(self, arg: str) -> bool:
        """quit: stop the simulated device and exit."""
        return True

    do_exit = do_quit

    def do_EOF(self, arg: str) -> bool:
        """Ctrl-D: same as quit."""
        self._say("")
        return True

    # helpers

    def _no_args(self, arg: str, command: str) -> None:
        if arg.strip():
            raise UsageError(f"{command} takes no arguments")

    def _say(self, text: str) -> None:
        print(text, file=self.stdout, flush=True)


class PickupShell(SimShell):
    """The interactive (and script) command set for a simulated pickup board."""

    def __init__(
        self, sim: PickupBoardSim, slots: int, *, stdout: TextIO, interactive: bool
    ) -> None:
        super().__init__(stdout=stdout, prompt="pickup> " if interactive else "")
        self.sim = sim
        self.slots = slots

    # commands

    def do_lift(self, arg: str) -> None:
        """lift N: the phone on slot N is picked up."""
        slot = self._slot(arg, "lift")
        self.sim.lift(slot)
        self._say(f"sent: LIFT {slot}")

    def do_drop(self, arg: str) -> None:
        """drop N: the phone on slot N is put back."""
        slot = self._slot(arg, "drop")
        self.sim.drop(slot)
        self._say(f"sent: DROP {slot}")

    def do_alarm(self, arg: str) -> None:
        """alarm N [CABLE|PUCK]: slot N's security cable is cut (default) or its puck removed."""
        words = arg.split()
        if not 1 <= len(words) <= 2:
            raise UsageError("usage: alarm N [CABLE|PUCK]")
        slot = self._slot(words[0], "alarm")
        reason = words[1].upper() if len(words) == 2 else "CABLE"
        if not reason.isascii() or not reason.isalnum():
            raise UsageError("alarm reason must be a single word such as CABLE or PUCK")
        self.sim.alarm(slot, reason)
        self._say(f"sent: ALARM {slot} {reason}")

    def do_state(self, arg: str) -> None:
        """state: send a STATE line with every lifted slot."""
        self._no_args(arg, "state")
        self.sim.send_state()
        lifted = ", ".join(map(str, sorted(self.sim.lifted))) or "none"
        self._say(f"sent: STATE (lifted: {lifted})")

    def do_noise(self, arg: str) -> None:
        """noise: send a few lines of garbage bytes, like a loose connector."""
        self._no_args(arg, "noise")
        self.sim.send_noise()
        self._say("sent: noise")

    def do_badsum(self, arg: str) -> None:
        """badsum [N]: lift slot N (default 1) but send the LIFT with a wrong checksum."""
        slot = self._slot(arg, "badsum") if arg.strip() else 1
        self.sim.lift(slot, corrupt=True)
        self._say(f"sent: LIFT {slot} with a bad checksum (the next STATE corrects it)")

    def do_unplug(self, arg: str) -> None:
        """unplug: pull the USB cable (the kiosk's port vanishes)."""
        self._no_args(arg, "unplug")
        if not self.sim.plugged_in:
            raise UsageError("already unplugged")
        self.sim.unplug()
        self._say("unplugged")

    def do_replug(self, arg: str) -> None:
        """replug: plug the cable back in (same port path when --link is used)."""
        self._no_args(arg, "replug")
        if self.sim.plugged_in:
            raise UsageError("already plugged in")
        self.sim.replug()
        self._say(f"plugged in: {self.sim.port}")

    def do_leds(self, arg: str) -> None:
        """leds: show the LED state the kiosk has set on each slot."""
        self._no_args(arg, "leds")
        leds = self.sim.leds
        if not leds:
            self._say("leds: none set")
        else:
            self._say("leds: " + ", ".join(f"{slot} {mode}" for slot, mode in sorted(leds.items())))

    # helpers

    def _slot(self, arg: str, command: str) -> int:
        words = arg.split()
        if len(words) != 1:
            raise UsageError(f"usage: {command} N (a slot from 1 to {self.slots})")
        try:
            slot = int(words[0])
        except ValueError:
            raise UsageError(
                f"slot must be a number from 1 to {self.slots}, not {words[0]!r}"
            ) from None
        if not 1 <= slot <= self.slots:
            raise UsageError(f"slot must be from 1 to {self.slots}, not {slot}")
        return slot


class RfidShell(SimShell):
    """The interactive (and script) command set for a simulated RFID reader."""

    def __init__(
        self, sim: RfidReaderSim, *, interval: float, stdout: TextIO, interactive: bool
    ) -> None:
        super().__init__(stdout=stdout, prompt="rfid> " if interactive else "")
        self.sim = sim
        self.interval = interval

    # commands

    def do_tap(self, arg: str) -> None:
        """tap CARD: a fob with this card number (up to 10 digits) is tapped on the reader."""
        card = self._card(arg, "tap")
        self.sim.present(card)
        self._say(f"sent: card {card:010d}")

    def do_hold(self, arg: str) -> None:
        """hold CARD SECONDS: a fob stays on the reader, its frame repeated (blocks meanwhile)."""
        words = arg.split()
        if len(words) != 2:
            raise UsageError("usage: hold CARD SECONDS")
        card = self._card(words[0], "hold")
        try:
            seconds = float(words[1])
        except ValueError:
            raise UsageError("usage: hold CARD SECONDS") from None
        if not 0 <= seconds <= MAX_WAIT_S:
            raise UsageError(f"hold takes 0 to {MAX_WAIT_S:.0f} seconds")
        frames = self.sim.hold(card, seconds, self.interval)
        self._say(f"sent: card {card:010d} held for {seconds:g} s ({frames} frames)")

    def do_noise(self, arg: str) -> None:
        """noise [N]: send N garbage bytes (default 8), like a loose connector."""
        count = 8
        if arg.strip():
            try:
                count = int(arg)
            except ValueError:
                raise UsageError("usage: noise [N]") from None
            if not 1 <= count <= MAX_NOISE_BYTES:
                raise UsageError(f"noise takes 1 to {MAX_NOISE_BYTES} bytes")
        self.sim.noise(count)
        self._say(f"sent: {count} noise bytes")

    def do_badsum(self, arg: str) -> None:
        """badsum CARD: send the card's frame with a wrong checksum (RDM6300 only)."""
        card = self._card(arg, "badsum")
        try:
            self.sim.bad_checksum(card)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
        self._say(f"sent: card {card:010d} with a bad checksum")

    def do_partial(self, arg: str) -> None:
        """partial: send the start of a frame only, as a fob swiped past too fast."""
        self._no_args(arg, "partial")
        self.sim.partial()
        self._say("sent: a partial frame")

    def do_unplug(self, arg: str) -> None:
        """unplug: pull the USB cable (the kiosk's port vanishes)."""
        self._no_args(arg, "unplug")
        if not self.sim.plugged_in:
            raise UsageError("already unplugged")
        self.sim.unplug()
        self._say("unplugged")

    def do_replug(self, arg: str) -> None:
        """replug: plug the cable back in (same port path when --link is used)."""
        self._no_args(arg, "replug")
        if self.sim.plugged_in:
            raise UsageError("already plugged in")
        self.sim.replug()
        self._say(f"plugged in: {self.sim.port}")

    # helpers

    def _card(self, arg: str, command: str) -> int:
        words = arg.split()
        if len(words) != 1:
            raise UsageError(f"usage: {command} CARD (a card number of up to 10 digits)")
        try:
            return parse_card_number(words[0])
        except ValueError as exc:
            raise UsageError(str(exc)) from None


class BleShell(SimShell):
    """The interactive (and script) command set for simulated BLE member tags."""

    def __init__(self, mock: MockBluez, *, stdout: TextIO, interactive: bool) -> None:
        super().__init__(stdout=stdout, prompt="ble> " if interactive else "")
        self.mock = mock

    # commands

    def do_tag(self, arg: str) -> None:
        """tag NAME KIND VALUES... [DBM]: a tag starts advertising, at -90 dBm (far) unless DBM.

        tag NAME ibeacon UUID MAJOR MINOR [DBM]
        tag NAME eddystone NAMESPACE INSTANCE [DBM]   (20 and 12 hex digits)
        tag NAME mfr COMPANY PAYLOAD [DBM]            (company id such as 0x0059, payload hex)
        """
        words = arg.split()
        usage = "usage: tag NAME ibeacon UUID MAJOR MINOR [DBM] (or eddystone, mfr: see help tag)"
        if len(words) < 2:
            raise UsageError(usage)
        name, kind, rest = words[0], words[1].lower(), words[2:]
        if name in self.mock.tags:
            raise UsageError(f"there is already a tag called {name!r}")
        needed = {"ibeacon": 3, "eddystone": 2, "mfr": 2}.get(kind)
        if needed is None or len(rest) not in (needed, needed + 1):
            raise UsageError(usage)
        rssi = self._dbm(rest[needed]) if len(rest) > needed else FAR_DBM
        try:
            if kind == "ibeacon":
                self.mock.add_ibeacon(
                    name, rest[0], self._number(rest[1]), self._number(rest[2]), rssi=rssi
                )
            elif kind == "eddystone":
                self.mock.add_eddystone(name, rest[0], rest[1], rssi=rssi)
            else:
                self.mock.add_manufacturer_tag(
                    name, self._number(rest[0]), rest[1].replace(":", ""), rssi=rssi
                )
        except (MockBluezError, ValueError) as exc:
            raise UsageError(f"cannot make that {kind} tag: {exc}") from None
        self._say(f"tag {name} ({kind}) advertising at {rssi:g} dBm")

    def do_rssi(self, arg: str) -> None:
        """rssi NAME DBM: the tag is now heard at DBM (-65 or more is near, below -75 far)."""
        words = arg.split()
        if len(words) != 2:
            raise UsageError("usage: rssi NAME DBM")
        dbm = self._dbm(words[1])
        self._mock_call(self.mock.set_rssi, self._name(words[0]), dbm)
        self._say(f"{words[0]} at {dbm:g} dBm")

    def do_walk(self, arg: str) -> None:
        """walk NAME FROM TO SECONDS: the tag's RSSI ramps from FROM to TO dBm (returns at once)."""
        words = arg.split()
        if len(words) != 4:
            raise UsageError("usage: walk NAME FROM TO SECONDS")
        start, end = self._dbm(words[1]), self._dbm(words[2])
        try:
            seconds = float(words[3])
        except ValueError:
            raise UsageError("usage: walk NAME FROM TO SECONDS") from None
        if not 0 <= seconds <= MAX_WAIT_S:
            raise UsageError(f"a walk takes 0 to {MAX_WAIT_S:.0f} seconds")
        self._mock_call(self.mock.walk, self._name(words[0]), start, end, seconds)
        self._say(f"{words[0]} walking from {start:g} to {end:g} dBm over {seconds:g} s")

    def do_away(self, arg: str) -> None:
        """away NAME: the tag falls silent (the kiosk notices after its away timeout)."""
        name = self._name(arg)
        self.mock.away(name)
        self._say(f"{name} silent")

    def do_remove(self, arg: str) -> None:
        """remove NAME: BlueZ forgets the tag's device, and the tag is gone."""
        name = self._name(arg)
        self._mock_call(self.mock.remove_device, name)
        self._say(f"{name} removed")

    def do_tags(self, arg: str) -> None:
        """tags: list the tags, their RSSI and whether they advertise."""
        self._no_args(arg, "tags")
        names = self.mock.tags
        if not names:
            self._say("tags: none")
        for name in names:
            state = "advertising" if self.mock.is_advertising(name) else "silent"
            self._say(f"{name}: {self.mock.rssi(name):.0f} dBm, {state}")

    def do_unplug(self, arg: str) -> None:
        """unplug: pull the Bluetooth dongle (the adapter and its devices vanish)."""
        self._no_args(arg, "unplug")
        self._mock_call(self.mock.remove_adapter)
        self._say(f"{self.mock.adapter} removed")

    def do_replug(self, arg: str) -> None:
        """replug: plug the dongle back in (tags still advertising are found again)."""
        self._no_args(arg, "replug")
        self._mock_call(self.mock.add_adapter)
        self._say(f"{self.mock.adapter} added")

    def do_power(self, arg: str) -> None:
        """power on|off: switch the adapter's radio, like `bluetoothctl power off`."""
        word = arg.strip().lower()
        if word not in ("on", "off"):
            raise UsageError("usage: power on|off")
        self._mock_call(self.mock.set_powered, word == "on")
        self._say(f"{self.mock.adapter} powered {word}")

    # helpers

    def _name(self, word: str) -> str:
        name = word.strip()
        if name not in self.mock.tags:
            known = ", ".join(self.mock.tags) or "none yet"
            raise UsageError(f"no tag called {name!r} (tags: {known})")
        return name

    def _dbm(self, word: str) -> float:
        try:
            dbm = float(word)
        except ValueError:
            raise UsageError(f"RSSI must be a number of dBm such as -60, not {word!r}") from None
        if not -126 <= dbm <= 20:
            raise UsageError(f"RSSI must be -126..20 dBm, not {word}")
        return dbm

    def _number(self, word: str) -> int:
        try:
            return int(word, 0)  # 0x004C and 76 both work
        except ValueError:
            raise UsageError(f"not a number: {word!r}") from None

    def _mock_call(self, action: Callable[..., object], *args: object) -> None:
        try:
            action(*args)
        except (MockBluezError, ValueError) as exc:
            raise UsageError(str(exc)) from None


class PrinterShell(SimShell):
    """The interactive (and script) command set for a simulated receipt printer."""

    def __init__(self, sim: PrinterSim, *, stdout: TextIO, interactive: bool) -> None:
        super().__init__(stdout=stdout, prompt="printer> " if interactive else "")
        self.sim = sim

    # commands

    def do_paper(self, arg: str) -> None:
        """paper out|in: the roll runs out, or is reloaded."""
        word = self._choice(arg, "paper", ("out", "in"))
        self.sim.set_paper_out(word == "out")
        self._say(f"paper {word}")

    def do_cover(self, arg: str) -> None:
        """cover open|close: the paper cover is opened, or closed."""
        word = self._choice(arg, "cover", ("open", "close"))
        self.sim.set_cover_open(word == "open")
        self._say(f"cover {word}")

    def do_stall(self, arg: str) -> None:
        """stall: the printer stops reading and answering (the host's writes back up)."""
        self._no_args(arg, "stall")
        self.sim.set_answering(Answering.SILENT)
        self._say("stalled: no answers")

    def do_garbage(self, arg: str) -> None:
        """garbage: the printer answers status requests with noise."""
        self._no_args(arg, "garbage")
        self.sim.set_answering(Answering.GARBAGE)
        self._say("answering garbage")

    def do_ok(self, arg: str) -> None:
        """ok: paper in, cover closed, answering normally."""
        self._no_args(arg, "ok")
        self.sim.fix()
        self._say("ready")

    def do_status(self, arg: str) -> None:
        """status: what the printer would answer, and what it has printed."""
        self._no_args(arg, "status")
        self._say(
            f"status: {self.sim.state}; {len(self.sim.tickets)} tickets, "
            f"{self.sim.bytes_received} bytes received"
        )

    def do_unplug(self, arg: str) -> None:
        """unplug: pull the USB cable (the kiosk's port vanishes)."""
        self._no_args(arg, "unplug")
        if not self.sim.plugged_in:
            raise UsageError("already unplugged")
        self.sim.unplug()
        self._say("unplugged")

    def do_replug(self, arg: str) -> None:
        """replug: plug the cable back in (same port path when --link is used)."""
        self._no_args(arg, "replug")
        if self.sim.plugged_in:
            raise UsageError("already plugged in")
        self.sim.replug()
        self._say(f"plugged in: {self.sim.port}")

    # helpers

    def _choice(self, arg: str, command: str, words: tuple[str, str]) -> str:
        word = arg.strip().lower()
        if word not in words:
            raise UsageError(f"usage: {command} {'|'.join(words)}")
        return word


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of `kiosk-sim`; returns the process exit code."""
    parser = _build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    return _RUNNERS[args.command](args)


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kiosk-sim", description="Simulate kiosk hardware.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    devices = parser.add_subparsers(dest="command", required=True, metavar="DEVICE")

    pickup = devices.add_parser(
        "pickup",
        help="a pickup sensor board (phone cabinet)",
        description="Play a pickup sensor board on a pseudo-terminal or a serial device.",
    )
    where = pickup.add_mutually_exclusive_group()
    where.add_argument(
        "--link", type=Path, metavar="PATH", help="symlink to the pty, stable across unplug/replug"
    )
    where.add_argument("--port", metavar="DEVICE", help="play the board on this real serial device")
    pickup.add_argument(
        "--baudrate",
        type=int,
        default=BAUDRATE,
        metavar="BAUD",
        help="with --port (default %(default)s)",
    )
    pickup.add_argument(
        "--slots", type=_slot_count, default=12, metavar="N", help="slots on the board (default 12)"
    )
    pickup.add_argument("--board-id", default="SIM-0001", metavar="ID", help="id sent in HELLO")
    pickup.add_argument("--no-checksum", action="store_true", help="send lines without *HH")
    pickup.add_argument(
        "--state-interval",
        type=_seconds,
        default=2.0,
        metavar="S",
        help="seconds between periodic STATE lines, 0 for none (default 2)",
    )
    pickup.add_argument(
        "--kiosk-started",
        action="store_true",
        help="the kiosk is already started on this port (as ./run demo does): no hint",
    )
    pickup.add_argument("--script", type=Path, metavar="FILE", help="run these commands, then exit")
    pickup.add_argument("--stay", action="store_true", help="after --script, keep the prompt open")

    reader = devices.add_parser(
        "rfid",
        help="an RFID member-fob reader (RDM6300 or line reader)",
        description="Play a serial RFID reader on a pseudo-terminal or a serial device.",
    )
    where = reader.add_mutually_exclusive_group()
    where.add_argument(
        "--link", type=Path, metavar="PATH", help="symlink to the pty, stable across unplug/replug"
    )
    where.add_argument(
        "--port", metavar="DEVICE", help="play the reader on this real serial device"
    )
    reader.add_argument(
        "--baudrate",
        type=int,
        default=RFID_BAUDRATE,
        metavar="BAUD",
        help="with --port (default %(default)s)",
    )
    reader.add_argument(
        "--protocol",
        choices=[p.value for p in RfidProtocol],
        default=RfidProtocol.RDM6300.value,
        help="RDM6300 frames or one id per line (default %(default)s)",
    )
    reader.add_argument(
        "--line-format",
        choices=[LineFormat.DECIMAL.value, LineFormat.HEX.value],
        default=LineFormat.DECIMAL.value,
        help="with --protocol line: the card number, or the 10-digit hex id (default %(default)s)",
    )
    reader.add_argument(
        "--interval",
        type=_positive_seconds,
        default=HOLD_INTERVAL_S,
        metavar="S",
        help="seconds between the frames of a held fob (default %(default)s)",
    )
    reader.add_argument("--script", type=Path, metavar="FILE", help="run these commands, then exit")
    reader.add_argument("--stay", action="store_true", help="after --script, keep the prompt open")

    tags = devices.add_parser(
        "ble",
        help="BLE member tags on a mocked BlueZ",
        description="Play BlueZ with BLE member tags on a private D-Bus system bus.",
    )
    tags.add_argument("--adapter", default="hci0", metavar="NAME", help="default %(default)s")
    tags.add_argument(
        "--interval",
        type=_positive_seconds,
        default=BLE_INTERVAL_S,
        metavar="S",
        help="seconds between a tag's advertisements (default %(default)s)",
    )
    tags.add_argument(
        "--no-monitor-api",
        action="store_true",
        help="a bluetoothd without --experimental: the kiosk must scan actively",
    )
    tags.add_argument("--script", type=Path, metavar="FILE", help="run these commands, then exit")
    tags.add_argument("--stay", action="store_true", help="after --script, keep the prompt open")

    printer = devices.add_parser(
        "printer",
        help="an ESC/POS thermal receipt printer",
        description="Play a receipt printer on a pseudo-terminal or a serial device: it "
        "answers status requests and keeps each ticket it prints as a PNG.",
    )
    where = printer.add_mutually_exclusive_group()
    where.add_argument(
        "--link", type=Path, metavar="PATH", help="symlink to the pty, stable across unplug/replug"
    )
    where.add_argument(
        "--port", metavar="DEVICE", help="play the printer on this real serial device"
    )
    printer.add_argument(
        "--baudrate",
        type=int,
        default=115200,
        metavar="BAUD",
        help="with --port (default %(default)s)",
    )
    printer.add_argument(
        "--paper",
        type=int,
        choices=sorted(PAPER_DOTS),
        default=80,
        help="roll width in mm (default %(default)s)",
    )
    printer.add_argument(
        "--out", type=Path, metavar="DIR", help="save each ticket as DIR/ticket-N.png"
    )
    printer.add_argument(
        "--script", type=Path, metavar="FILE", help="run these commands, then exit"
    )
    printer.add_argument("--stay", action="store_true", help="after --script, keep the prompt open")
    return parser


def _slot_count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 1 <= value <= MAX_SLOT:
        raise argparse.ArgumentTypeError(f"must be 1..{MAX_SLOT}")
    return value


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0 <= value <= MAX_WAIT_S:
        raise argparse.ArgumentTypeError(f"must be 0..{MAX_WAIT_S:.0f}")
    return value


def _positive_seconds(text: str) -> float:
    value = _seconds(text)
    if value <= 0:
        raise argparse.ArgumentTypeError("must be more than 0")
    return value


def _read_script(args: argparse.Namespace) -> list[str] | None:
    """The --script lines ([] without --script); None (and a message) if unreadable."""
    if args.script is None:
        return []
    try:
        lines: list[str] = args.script.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        print(f"kiosk-sim: cannot read script: {exc}", file=sys.stderr)
        return None
    return lines


def _run_pickup(args: argparse.Namespace) -> int:
    script = _read_script(args)
    if script is None:
        return 2

    def show_host_command(msg: Message) -> None:
        print(f"host: {format_message(msg)}", flush=True)

    sim = PickupBoardSim(
        slots=args.slots,
        board_id=args.board_id,
        link=args.link,
        device=args.port,
        baudrate=args.baudrate,
        state_interval=args.state_interval or None,
        checksum=not args.no_checksum,
        on_host_message=show_host_command,
    )
    try:
        sim.start()
    except (OSError, serial.SerialException, ValueError) as exc:
        print(f"kiosk-sim: cannot start the pickup board: {exc}", file=sys.stderr)
        return 2

    with _stop_on_sigterm():
        try:
            print(f"port: {sim.port}", flush=True)
            if args.port is None and not args.kiosk_started:
                print(f"run the kiosk with: kiosk --pickup-port {sim.port}", flush=True)
            shell = PickupShell(sim, args.slots, stdout=sys.stdout, interactive=sys.stdin.isatty())
            return _serve(shell, args, script)
        except KeyboardInterrupt:
            print(flush=True)
        finally:
            sim.stop()
    return 0


def _run_rfid(args: argparse.Namespace) -> int:
    script = _read_script(args)
    if script is None:
        return 2
    sim = RfidReaderSim(
        protocol=args.protocol,
        line_format=args.line_format,
        link=args.link,
        device=args.port,
        baudrate=args.baudrate,
    )
    try:
        sim.start()
    except (OSError, serial.SerialException, ValueError) as exc:
        print(f"kiosk-sim: cannot start the RFID reader: {exc}", file=sys.stderr)
        return 2

    with _stop_on_sigterm():
        try:
            print(f"port: {sim.port}", flush=True)
            shell = RfidShell(
                sim, interval=args.interval, stdout=sys.stdout, interactive=sys.stdin.isatty()
            )
            return _serve(shell, args, script)
        except KeyboardInterrupt:
            print(flush=True)
        finally:
            sim.stop()
    return 0


def _run_ble(args: argparse.Namespace) -> int:
    script = _read_script(args)
    if script is None:
        return 2
    problem = missing_requirements()
    if problem is not None:
        print(f"kiosk-sim: cannot mock BlueZ: {problem}", file=sys.stderr)
        return 2
    mock = MockBluez(
        adapter=args.adapter, interval=args.interval, monitor_api=not args.no_monitor_api
    )
    try:
        mock.start()
    except (OSError, MockBluezError, ValueError) as exc:
        print(f"kiosk-sim: cannot start the BlueZ mock: {exc}", file=sys.stderr)
        return 2

    with _stop_on_sigterm():
        try:
            print(f"bus: {mock.bus_address}", flush=True)
            print(
                f"run the kiosk with: DBUS_SYSTEM_BUS_ADDRESS='{mock.bus_address}' kiosk ...",
                flush=True,
            )
            shell = BleShell(mock, stdout=sys.stdout, interactive=sys.stdin.isatty())
            return _serve(shell, args, script)
        except KeyboardInterrupt:
            print(flush=True)
        finally:
            mock.stop()
    return 0


def _run_printer(args: argparse.Namespace) -> int:
    script = _read_script(args)
    if script is None:
        return 2

    def show_ticket(ticket: Ticket) -> None:
        # The simulator's own terminal, for the demo: the kiosk never logs a code.
        if ticket.qr_codes is None:
            qr = "QR not read (install zxing-cpp)"
        else:
            qr = "QR " + (", ".join(ticket.qr_codes) or "none found")
        saved = f" (saved {ticket.path})" if ticket.path is not None else ""
        print(f"ticket {ticket.number}: {qr}{saved}", flush=True)

    sim = PrinterSim(
        dots=PAPER_DOTS[args.paper],
        out_dir=args.out,
        link=args.link,
        device=args.port,
        baudrate=args.baudrate,
        on_ticket=show_ticket,
    )
    try:
        sim.start()
    except (OSError, serial.SerialException, ValueError) as exc:
        print(f"kiosk-sim: cannot start the printer: {exc}", file=sys.stderr)
        return 2

    with _stop_on_sigterm():
        try:
            print(f"port: {sim.port}", flush=True)
            shell = PrinterShell(sim, stdout=sys.stdout, interactive=sys.stdin.isatty())
            return _serve(shell, args, script)
        except KeyboardInterrupt:
            print(flush=True)
        finally:
            sim.stop()
    return 0


def _serve(shell: SimShell, args: argparse.Namespace, script: list[str]) -> int:
    """Run --script (if any), then the prompt unless the script should end it; the exit code."""
    if args.script is not None:
        error = _run_script(shell, args.script, script)
        if error is not None:
            print(f"kiosk-sim: {error}", file=sys.stderr)
            return 1
        if not args.stay:
            return 0
        shell.intro = ""
    shell.cmdloop()
    return 0


def _run_script(shell: SimShell, path: Path, lines: list[str]) -> str | None:
    """Run script lines in order; return "FILE:LINE: problem" for the first bad one."""
    shell.strict = True
    try:
        for number, line in enumerate(lines, start=1):
            try:
                if shell.onecmd(shell.precmd(line)):
                    break  # `quit` ends the script early
            except UsageError as exc:
                return f"{path}:{number}: {exc}"
    finally:
        shell.strict = False
    return None


# One runner per subcommand.
_RUNNERS: Final = {
    "pickup": _run_pickup,
    "rfid": _run_rfid,
    "ble": _run_ble,
    "printer": _run_printer,
}


@contextlib.contextmanager
def _stop_on_sigterm() -> Iterator[None]:
    """Turn SIGTERM into KeyboardInterrupt so the pty link is cleaned up on `kill`."""
    if threading.current_thread() is not threading.main_thread():
        yield  # signal handlers can only be set from the main thread (e.g. under tests)
        return

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":
    sys.exit(main())
