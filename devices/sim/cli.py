"""`kiosk-sim`: play kiosk hardware from a terminal or a script.

    kiosk-sim pickup [--link PATH] [--port DEVICE] [--slots N] [--no-checksum]
                     [--state-interval S] [--script FILE [--stay]]

Without --port the pickup board lives on a pseudo-terminal and the port to
give `kiosk --pickup-port` is printed first, as `port: PATH`. Later issues add
`rfid` and `ble` subcommands next to `pickup`.
"""

from __future__ import annotations

import argparse
import cmd
import contextlib
import logging
import signal
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Final, TextIO

import serial

from devices.protocols.pickup import BAUDRATE, MAX_SLOT, Message, format_message
from devices.sim.pickup import PickupBoardSim

_log = logging.getLogger("devices.sim")

MAX_WAIT_S: Final = 3600.0  # a `wait` longer than an hour is a typo, not a plan


class UsageError(Exception):
    """A command the shell cannot run; shown as one line, never as a traceback."""


class PickupShell(cmd.Cmd):
    """The interactive (and script) command set for a simulated pickup board."""

    intro = "type 'help' for commands, 'quit' to leave"

    def __init__(
        self, sim: PickupBoardSim, slots: int, *, stdout: TextIO, interactive: bool
    ) -> None:
        super().__init__(stdout=stdout)
        self.sim = sim
        self.slots = slots
        self.prompt = "pickup> " if interactive else ""
        self.strict = False  # scripts raise UsageError instead of printing it

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

    def do_wait(self, arg: str) -> None:
        """wait SECONDS: pause (useful in scripts)."""
        try:
            seconds = float(arg)
        except ValueError:
            raise UsageError("usage: wait SECONDS") from None
        if not 0 <= seconds <= MAX_WAIT_S:
            raise UsageError(f"wait takes 0 to {MAX_WAIT_S:.0f} seconds")
        time.sleep(seconds)

    def do_leds(self, arg: str) -> None:
        """leds: show the LED state the kiosk has set on each slot."""
        self._no_args(arg, "leds")
        leds = self.sim.leds
        if not leds:
            self._say("leds: none set")
        else:
            self._say("leds: " + ", ".join(f"{slot} {mode}" for slot, mode in sorted(leds.items())))

    def do_quit(self, arg: str) -> bool:
        """quit: stop the simulated board and exit."""
        return True

    do_exit = do_quit

    def do_EOF(self, arg: str) -> bool:
        """Ctrl-D: same as quit."""
        self._say("")
        return True

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

    def _no_args(self, arg: str, command: str) -> None:
        if arg.strip():
            raise UsageError(f"{command} takes no arguments")

    def _say(self, text: str) -> None:
        print(text, file=self.stdout, flush=True)


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
    pickup.add_argument("--script", type=Path, metavar="FILE", help="run these commands, then exit")
    pickup.add_argument("--stay", action="store_true", help="after --script, keep the prompt open")
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


def _run_pickup(args: argparse.Namespace) -> int:
    script: list[str] | None = None
    if args.script is not None:
        try:
            script = args.script.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            print(f"kiosk-sim: cannot read script: {exc}", file=sys.stderr)
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
            if args.port is None:
                print(f"run the kiosk with: kiosk --pickup-port {sim.port}", flush=True)
            shell = PickupShell(sim, args.slots, stdout=sys.stdout, interactive=sys.stdin.isatty())
            if script is not None:
                error = _run_script(shell, args.script, script)
                if error is not None:
                    print(f"kiosk-sim: {error}", file=sys.stderr)
                    return 1
                if not args.stay:
                    return 0
                shell.intro = ""
            shell.cmdloop()
        except KeyboardInterrupt:
            print(flush=True)
        finally:
            sim.stop()
    return 0


def _run_script(shell: PickupShell, path: Path, lines: list[str]) -> str | None:
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


# One runner per subcommand; later issues add rfid and ble.
_RUNNERS: Final = {"pickup": _run_pickup}


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
