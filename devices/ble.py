"""BLE member tag scanner: BlueZ advertisements in, TagSeen / TagAway out.

One thread runs an asyncio loop for bleak. Each advertisement is read by
`devices.protocols.ble` (iBeacon, Eddystone-UID, manufacturer data of the
configured companies), its RSSI goes through `devices.presence.Presence`,
and what changes is handed to `on_event`; a sweep every `tick_interval`
seconds sends TagAway for tags that fell silent.

Scanning is passive where BlueZ offers the advertisement monitor API (no
scan requests on air, less battery drawn from the tags' neighbours), with
patterns for the three tag formats; if bluetoothd lacks that API (it needs
`--experimental`) or refuses the monitor, the scanner says so once and scans
actively for the rest of its life.

A small D-Bus watch of our own follows the adapter: removed, powered off,
bluetoothd gone or the bus lost are DOWN, then RECONNECTING with jittered
backoff, woken early when an adapter appears; UP when scanning runs again.

Tag values are personal data: nothing here logs them, and bleak's own DEBUG
logging (which prints every advertisement's bytes) is capped at INFO.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, fields
from typing import Any, Final, Literal

from bleak import BleakScanner
from bleak.args.bluez import BlueZScannerArgs, OrPattern
from bleak.assigned_numbers import AdvertisementDataType
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData
from bleak.exc import BleakError
from dbus_fast import BusType, Message, MessageType
from dbus_fast.aio import MessageBus

from devices.events import DeviceEvent, DeviceHealth, HealthStatus, TagId
from devices.presence import Presence, PresenceConfig
from devices.protocols.ble import MAX_COMPANY_ID, scan_patterns, tag_from_advertisement

_log = logging.getLogger("devices.ble")

TICK_INTERVAL_S: Final = 0.25
"""How often silent tags are swept; an away screen a quarter second late is
unnoticeable, and the sweep is a few dict lookups."""

DBUS_CALL_TIMEOUT_S: Final = 10.0
"""Longest a scanner start/stop or a BlueZ query may take. bluetoothd answers
in milliseconds; one that takes seconds is hung, and waiting longer only
delays the retry that might find it restarted."""

NO_RSSI: Final = -127
"""What bleak reports when BlueZ has no RSSI for a device: not an advertisement."""

BLUEZ: Final = "org.bluez"
ADAPTER_IFACE: Final = "org.bluez.Adapter1"
MONITOR_MANAGER_IFACE: Final = "org.bluez.AdvertisementMonitorManager1"
OBJECT_MANAGER_IFACE: Final = "org.freedesktop.DBus.ObjectManager"
PROPERTIES_IFACE: Final = "org.freedesktop.DBus.Properties"

_MATCH_RULES: Final = (
    f"type='signal',sender='{BLUEZ}',interface='{OBJECT_MANAGER_IFACE}',member='InterfacesAdded'",
    f"type='signal',sender='{BLUEZ}',interface='{OBJECT_MANAGER_IFACE}',member='InterfacesRemoved'",
    f"type='signal',sender='{BLUEZ}',interface='{PROPERTIES_IFACE}',member='PropertiesChanged',"
    f"path_namespace='/org/bluez',arg0='{ADAPTER_IFACE}'",
    "type='signal',sender='org.freedesktop.DBus',interface='org.freedesktop.DBus',"
    f"member='NameOwnerChanged',arg0='{BLUEZ}'",
)

ScanningMode = Literal["passive", "active"]


@dataclass(frozen=True, slots=True)
class BleStats:
    """Counters since start(). Advertisements are counted, never recorded: no tag
    value, address or payload is kept for the unknown ones."""

    advertisements: int = 0  # every advertisement with an RSSI
    tags: int = 0  # ... that carried a member tag
    unknown: int = 0  # ... that carried nothing we read
    restarts: int = 0  # scanning started again after an outage


class _Unavailable(Exception):
    """Bluetooth cannot scan right now; the message says why and is safe to log."""


@dataclass(slots=True)
class _Adapter:
    powered: bool
    central: bool
    monitor_api: bool


class _BluezWatch:
    """BlueZ's adapters as seen on the system bus, kept current from its signals.

    bleak does not tell a scanner that its adapter went away, so this follows
    adapters (added, removed, powered) and bluetoothd itself (NameOwnerChanged)
    on a connection of its own, and calls `on_change` whenever any of it moves.
    """

    def __init__(self, on_change: Callable[[], None]) -> None:
        self._on_change = on_change
        self._bus: MessageBus | None = None
        self._adapters: dict[str, _Adapter] = {}
        self._bluez_left = False
        self._disconnect_watch: asyncio.Task[None] | None = None

    @property
    def connected(self) -> bool:
        return self._bus is not None and self._bus.connected

    async def connect(self) -> None:
        bus = MessageBus(bus_type=BusType.SYSTEM)
        await asyncio.wait_for(bus.connect(), DBUS_CALL_TIMEOUT_S)
        try:
            bus.add_message_handler(self._on_message)
            for rule in _MATCH_RULES:
                await self._call(
                    bus,
                    Message(
                        destination="org.freedesktop.DBus",
                        path="/org/freedesktop/DBus",
                        interface="org.freedesktop.DBus",
                        member="AddMatch",
                        signature="s",
                        body=[rule],
                    ),
                )
        except BaseException:
            await _disconnect(bus)
            raise
        self._bus = bus
        self._disconnect_watch = asyncio.create_task(self._watch_disconnect(bus))

    async def close(self) -> None:
        bus, self._bus = self._bus, None
        if bus is not None:
            await _disconnect(bus)
        if self._disconnect_watch is not None:
            self._disconnect_watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._disconnect_watch
            self._disconnect_watch = None

    async def refresh(self) -> None:
        """Read every adapter afresh (signals keep it current afterwards)."""
        assert self._bus is not None
        reply = await self._call(
            self._bus,
            Message(
                destination=BLUEZ,
                path="/",
                interface=OBJECT_MANAGER_IFACE,
                member="GetManagedObjects",
            ),
        )
        self._adapters = {
            path: _adapter_from(interfaces)
            for path, interfaces in reply.body[0].items()
            if ADAPTER_IFACE in interfaces
        }
        self._bluez_left = False

    def pick(self, name: str | None) -> str:
        """The object path of the adapter to scan with; raise _Unavailable if none can."""
        if name is not None:
            path = f"/org/bluez/{name}"
            adapter = self._adapters.get(path)
            if adapter is None:
                raise _Unavailable(f"adapter {name} not found")
            if not adapter.powered:
                raise _Unavailable(f"adapter {name} powered off")
            return path
        candidates = sorted(path for path, adapter in self._adapters.items() if adapter.central)
        if not candidates:
            raise _Unavailable("no Bluetooth LE adapter")
        for path in candidates:
            if self._adapters[path].powered:
                return path
        raise _Unavailable("Bluetooth adapter powered off")

    def has_monitor_api(self, path: str) -> bool:
        adapter = self._adapters.get(path)
        return adapter is not None and adapter.monitor_api

    def problem(self, path: str) -> str | None:
        """Why the adapter at `path` cannot scan any more, or None while it can."""
        name = _adapter_name(path)
        if not self.connected:
            return "D-Bus connection lost"
        if self._bluez_left:
            return "bluetoothd left the bus"
        adapter = self._adapters.get(path)
        if adapter is None:
            return f"adapter {name} removed"
        if not adapter.powered:
            return f"adapter {name} powered off"
        return None

    async def _call(self, bus: MessageBus, message: Message) -> Message:
        reply = await asyncio.wait_for(bus.call(message), DBUS_CALL_TIMEOUT_S)
        if reply.message_type is MessageType.ERROR:
            detail = reply.body[0] if reply.body else ""
            raise _Unavailable(f"{message.member}: {reply.error_name} {detail}".strip())
        return reply

    async def _watch_disconnect(self, bus: MessageBus) -> None:
        with contextlib.suppress(Exception):  # how it ended does not matter, only that it did
            await bus.wait_for_disconnect()  # type: ignore[no-untyped-call]
        self._on_change()

    def _on_message(self, message: Message) -> None:
        if message.message_type is not MessageType.SIGNAL:
            return
        try:
            changed = self._apply(message)
        except (ValueError, TypeError, KeyError, AttributeError):
            # A signal shaped unlike BlueZ's: ignore it rather than break the connection.
            _log.debug("ignored a malformed %s signal", message.member, exc_info=True)
            return
        if changed:
            self._on_change()

    def _apply(self, message: Message) -> bool:
        """Update the adapters from one signal; whether anything that matters changed."""
        match message.member:
            case "InterfacesAdded":
                path, interfaces = message.body
                if ADAPTER_IFACE in interfaces:
                    self._adapters[path] = _adapter_from(interfaces)
                    return True
                if MONITOR_MANAGER_IFACE in interfaces and path in self._adapters:
                    self._adapters[path].monitor_api = True
            case "InterfacesRemoved":
                path, names = message.body
                if ADAPTER_IFACE in names:
                    return self._adapters.pop(path, None) is not None
            case "PropertiesChanged":
                interface, values, _ = message.body
                adapter = self._adapters.get(message.path or "")
                if interface == ADAPTER_IFACE and adapter is not None and "Powered" in values:
                    adapter.powered = bool(values["Powered"].value)
                    return True
            case "NameOwnerChanged":
                name, _, new_owner = message.body
                if name == BLUEZ:
                    # A restarted bluetoothd announces its adapters afresh; until
                    # then, and if it crashed, none of the old ones exist.
                    self._adapters.clear()
                    self._bluez_left = not new_owner
                    return True
        return False


class BleTagScanner:
    """Scans for BLE member tags on one adapter; see the module docstring."""

    def __init__(
        self,
        on_event: Callable[[DeviceEvent], None],
        *,
        company_ids: Iterable[int] = (),
        presence_config: PresenceConfig | None = None,
        adapter: str | None = None,
        clock: Callable[[], float] = time.monotonic,
        name: str = "ble",
        restart_backoff: tuple[float, float] = (1.0, 30.0),
        passive: bool = True,
        tick_interval: float = TICK_INTERVAL_S,
    ) -> None:
        backoff_initial, backoff_max = restart_backoff
        if not 0 < backoff_initial <= backoff_max:
            raise ValueError("restart_backoff needs 0 < initial <= max")
        if tick_interval <= 0:
            raise ValueError("tick_interval must be positive")
        self._company_ids = tuple(dict.fromkeys(company_ids))
        for company_id in self._company_ids:
            if not 0 <= company_id <= MAX_COMPANY_ID:
                raise ValueError(f"company id must be 0..0xFFFF, not {company_id}")
        self._patterns = [
            OrPattern(start, AdvertisementDataType(ad_type), content)
            for start, ad_type, content in scan_patterns(self._company_ids)
        ]
        self._on_event = on_event
        self._presence = Presence(
            presence_config if presence_config is not None else PresenceConfig(reader=name)
        )
        self._adapter = adapter
        self._clock = clock
        self._name = name
        self._backoff_initial = backoff_initial
        self._backoff_max = backoff_max
        self._want_passive = passive
        self._tick_interval = tick_interval
        self._random = random.Random()

        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        # Set by the loop thread once it runs; stop() wakes it through them.
        self._loop: asyncio.AbstractEventLoop | None = None
        self._changed: asyncio.Event | None = None

        self._stats_lock = threading.Lock()
        self._counts = dict.fromkeys((f.name for f in fields(BleStats)), 0)
        # Loop-thread state; the two read from other threads are swapped whole.
        self._present: frozenset[TagId] = frozenset()
        self._mode: ScanningMode | None = None
        self._passive_refused = False
        self._failed_attempts = 0
        self._down_since: float | None = None
        self._started_once = False

    # -- public API -------------------------------------------------------------

    def start(self) -> None:
        """Start the scanner thread; returns at once (UP arrives as a DeviceHealth)."""
        if self._thread is not None:
            raise RuntimeError("BleTagScanner.start() called twice")
        bleak_log = logging.getLogger("bleak")
        if bleak_log.getEffectiveLevel() < logging.INFO:
            # bleak logs each D-Bus signal's body at DEBUG: advertisement bytes,
            # so tag ids. Those never belong in a log.
            bleak_log.setLevel(logging.INFO)
        self._thread = threading.Thread(target=self._run, name=f"{self._name}-scanner", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 3.0) -> None:
        """Stop scanning and the thread (waits at most `timeout` seconds)."""
        self._stopping.set()
        loop = self._loop
        if loop is not None:
            with contextlib.suppress(RuntimeError):  # the loop already closed
                loop.call_soon_threadsafe(self._wake)
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                _log.warning("%s thread did not stop within %.1f s", self._thread.name, timeout)

    @property
    def stats(self) -> BleStats:
        """A snapshot of the advertisement and restart counters."""
        with self._stats_lock:
            return BleStats(**self._counts)

    @property
    def present(self) -> frozenset[TagId]:
        """Tags in range now, as far as the scanner knows."""
        return self._present

    @property
    def scanning_mode(self) -> ScanningMode | None:
        """How it scans now: "passive" or "active"; None while down."""
        return self._mode

    # -- loop thread: supervision ------------------------------------------------------

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except Exception:  # a bug must not pass silently; the kiosk keeps serving without BLE
            _log.exception("%s scanner thread failed", self._name)

    async def _main(self) -> None:
        self._changed = asyncio.Event()
        self._loop = asyncio.get_running_loop()
        watch = _BluezWatch(self._wake)
        sweeper = asyncio.create_task(self._sweep())
        try:
            await self._supervise(watch)
        finally:
            sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sweeper
            await watch.close()
            self._mode = None

    def _wake(self) -> None:
        if self._changed is not None:
            self._changed.set()

    async def _supervise(self, watch: _BluezWatch) -> None:
        while not self._stopping.is_set():
            try:
                detail = await self._scan_until_lost(watch)
            except _Unavailable as exc:
                detail = str(exc)
            except Exception as exc:  # bleak, dbus_fast and sockets raise many kinds: all outages
                _log.debug("%s scanner: scanning failed", self._name, exc_info=True)
                detail = f"{type(exc).__name__}: {exc}".rstrip(": ")
            if self._stopping.is_set():
                return
            if self._down_since is None:
                self._report_down(detail)
            await self._wait_before_retry()

    async def _scan_until_lost(self, watch: _BluezWatch) -> str:
        """Scan until the adapter is lost; return why. Raises if scanning cannot start."""
        assert self._changed is not None
        # Cleared before looking, so a change from here on cuts the next backoff short.
        self._changed.clear()
        if not watch.connected:
            await watch.close()
            await watch.connect()
        await watch.refresh()
        path = watch.pick(self._adapter)
        scanner, mode = await self._start_scanner(watch, path)
        try:
            self._report_up(path, mode)
            while True:
                self._changed.clear()
                problem = watch.problem(path)
                if self._stopping.is_set() or problem is not None:
                    return problem or "stopped"
                await self._changed.wait()
        finally:
            self._mode = None
            with contextlib.suppress(Exception):  # the adapter may be gone: nothing to stop
                await asyncio.wait_for(scanner.stop(), DBUS_CALL_TIMEOUT_S)

    async def _start_scanner(
        self, watch: _BluezWatch, path: str
    ) -> tuple[BleakScanner, ScanningMode]:
        adapter = _adapter_name(path)
        if self._want_passive and not self._passive_refused:
            if not watch.has_monitor_api(path):
                self._refuse_passive(
                    f"BlueZ offers no advertisement monitor on {adapter} "
                    "(bluetoothd runs without --experimental?)"
                )
            else:
                passive = BleakScanner(
                    self._on_advertisement,
                    scanning_mode="passive",
                    bluez=BlueZScannerArgs(adapter=adapter, or_patterns=list(self._patterns)),
                )
                try:
                    await asyncio.wait_for(passive.start(), DBUS_CALL_TIMEOUT_S)
                    return passive, "passive"
                except BleakError as exc:
                    if watch.problem(path) is not None:
                        raise  # the adapter went away meanwhile: not passive scanning's fault
                    self._refuse_passive(f"BlueZ refused passive scanning on {adapter}: {exc}")
        active = BleakScanner(
            self._on_advertisement,
            scanning_mode="active",
            bluez=BlueZScannerArgs(adapter=adapter),
        )
        await asyncio.wait_for(active.start(), DBUS_CALL_TIMEOUT_S)
        return active, "active"

    def _refuse_passive(self, reason: str) -> None:
        self._passive_refused = True
        _log.info("%s: %s; scanning actively from now on", self._name, reason)

    def _report_up(self, path: str, mode: ScanningMode) -> None:
        adapter = _adapter_name(path)
        self._mode = mode
        if self._down_since is not None:
            _log.info(
                "%s scanner back on %s after %.1f s (%d attempts)",
                self._name,
                adapter,
                self._clock() - self._down_since,
                self._failed_attempts,
            )
        else:
            _log.info("%s scanning %s on %s", self._name, mode, adapter)
        if self._started_once:
            self._count("restarts")
        self._started_once = True
        self._down_since = None
        self._failed_attempts = 0
        self._emit(DeviceHealth(self._name, HealthStatus.UP, self._clock(), f"{mode} on {adapter}"))

    def _report_down(self, detail: str) -> None:
        """Report DOWN and log it, once per outage."""
        self._down_since = self._clock()
        _log.warning("%s scanner down (%s); retrying", self._name, detail)
        self._emit(DeviceHealth(self._name, HealthStatus.DOWN, self._down_since, detail))

    async def _wait_before_retry(self) -> None:
        """Full-jitter exponential backoff, cut short when an adapter appears or stop()."""
        assert self._changed is not None
        self._failed_attempts += 1
        ceiling = self._backoff_initial * 2 ** min(self._failed_attempts - 1, 30)
        delay = self._random.uniform(0, min(self._backoff_max, ceiling))
        detail = f"attempt {self._failed_attempts} in {delay:.2f} s"
        _log.debug("%s scanner: restart %s", self._name, detail)
        self._emit(DeviceHealth(self._name, HealthStatus.RECONNECTING, self._clock(), detail))
        if self._stopping.is_set():
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._changed.wait(), delay)

    # -- loop thread: advertisements ----------------------------------------------------

    def _on_advertisement(self, device: BLEDevice, advertisement: AdvertisementData) -> None:
        now = self._clock()
        try:
            if advertisement.rssi == NO_RSSI:
                return
            self._count("advertisements")
            tag = tag_from_advertisement(
                advertisement.manufacturer_data, advertisement.service_data, self._company_ids
            )
            if tag is None:
                self._count("unknown")
                return
            self._count("tags")
            events = self._presence.observe(tag, advertisement.rssi, now)
            if events:
                self._present = frozenset(self._presence.present())
            for event in events:
                self._emit(event)
        except Exception:  # a bug here must not stop bleak's callbacks; no data in the message
            _log.exception("%s scanner: failed to handle an advertisement", self._name)

    async def _sweep(self) -> None:
        while True:
            await asyncio.sleep(self._tick_interval)
            try:
                events = self._presence.tick(self._clock())
                if events:
                    self._present = frozenset(self._presence.present())
                for event in events:
                    self._emit(event)
            except Exception:
                _log.exception("%s scanner: away sweep failed", self._name)

    def _count(self, counter: str) -> None:
        with self._stats_lock:
            self._counts[counter] += 1

    def _emit(self, event: DeviceEvent) -> None:
        try:
            self._on_event(event)
        except Exception:  # one broken listener must not stop the scanner
            # The event's repr hides tag values (TagId), so it is safe to log.
            _log.exception("%s scanner: listener failed on %r", self._name, event)


def _adapter_name(path: str) -> str:
    return path.rsplit("/", 1)[-1]


def _adapter_from(interfaces: dict[str, dict[str, Any]]) -> _Adapter:
    props = interfaces[ADAPTER_IFACE]
    powered = props.get("Powered")
    roles = props.get("Roles")
    return _Adapter(
        powered=bool(powered.value) if powered is not None else False,
        # BlueZ before 5.59 has no Roles; every adapter it drives can scan LE.
        central=roles is None or "central" in roles.value,
        monitor_api=MONITOR_MANAGER_IFACE in interfaces,
    )


async def _disconnect(bus: MessageBus) -> None:
    bus.disconnect()
    with contextlib.suppress(Exception):
        await asyncio.wait_for(
            bus.wait_for_disconnect(),  # type: ignore[no-untyped-call]
            DBUS_CALL_TIMEOUT_S,
        )
