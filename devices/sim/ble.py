"""A mocked BlueZ with BLE member tags, for the demo and the tests.

`MockBluez` starts a private D-Bus daemon and python-dbusmock's `bluez5`
template on it as bluetoothd, adds an adapter, and plays tags: each tag is an
org.bluez.Device1 object whose advertisements are property changes, the way
bluetoothd reports them and bleak reads them (InterfacesAdded when first
heard, then PropertiesChanged with a new RSSI per advertisement).

The stock `AddDevice` of the template types ManufacturerData and ServiceData
wrongly for bleak (arrays instead of a{qv} / a{sv} of byte arrays), so tags
are made here with the mock's generic AddObject and InterfacesAdded calls,
typed as BlueZ types them: ManufacturerData a{qv} and ServiceData a{sv} with
`ay` values, RSSI int16.

Anything that should talk to the mock finds it through
DBUS_SYSTEM_BUS_ADDRESS=`bus_address` (bleak reads it when it connects).
Tags keep advertising every `interval` seconds at their current RSSI until
`away()`, like a tag in a pocket; `walk()` ramps the RSSI as a shopper
approaches or leaves. While a scanner scans passively (an advertisement monitor
registered, no discovery running), only advertisements that match one of its
"or patterns" are reported, as bluetoothd does. The mock's D-Bus log (-l) and the
daemons' output go to files in `workdir`; every process started here is stopped by
`stop()`.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import json
import logging
import math
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Final

from devices.protocols.ble import (
    AD_TYPE_MANUFACTURER_DATA,
    AD_TYPE_SERVICE_DATA_UUID16,
    APPLE_COMPANY_ID,
    EDDYSTONE_SERVICE_UUID,
    encode_eddystone_uid,
    encode_ibeacon,
)

_log = logging.getLogger("devices.sim")

BLUEZ: Final = "org.bluez"
MOCK_IFACE: Final = "org.freedesktop.DBus.Mock"
BLUEZ_MOCK_IFACE: Final = "org.bluez.Mock"
ADAPTER_IFACE: Final = "org.bluez.Adapter1"
DEVICE_IFACE: Final = "org.bluez.Device1"
OBJECT_MANAGER_IFACE: Final = "org.freedesktop.DBus.ObjectManager"

DEFAULT_INTERVAL_S: Final = 0.2
"""Member tags advertise every 100 ms to 1 s; 200 ms is a common factory
setting and keeps the mock's D-Bus log small over a long demo."""

FAR_DBM: Final = -90.0
"""Where a new tag starts unless told otherwise: heard, but across the shop."""

_ADV_JITTER_S: Final = 0.01  # BLE adds 0-10 ms to every advertising interval
_START_TIMEOUT_S: Final = 10.0  # dbus-daemon and the mock start in ~0.2 s
_IDLE_WAIT_S: Final = 1.0  # nothing to advertise: only bounds a missed wake-up
_SCANNERS_CHECK_S: Final = 0.05  # how often the mock looks again at who scans, and how
MONITOR_IFACE: Final = "org.bluez.AdvertisementMonitor1"
_BASE_UUID_TAIL: Final = "-0000-1000-8000-00805f9b34fb"  # 16-bit UUIDs in 128-bit form
AD_TYPE_SERVICE_DATA_UUID128: Final = 0x21

_BUS_CONFIG: Final = """<!DOCTYPE busconfig PUBLIC
 "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <!-- A session-like private bus that plays the system bus: anyone may own
       any name (the mock is org.bluez) and talk to anyone. -->
  <type>session</type>
  <listen>unix:path={socket}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"""


def missing_requirements() -> str | None:
    """Why a mocked BlueZ cannot run here, or None if it can."""
    if shutil.which("dbus-daemon") is None:
        return "dbus-daemon is not installed (Debian/Ubuntu: apt-get install dbus-daemon)"
    for module, package in (("dbus", "dbus-python"), ("dbusmock", "python-dbusmock")):
        if importlib.util.find_spec(module) is None:
            return f"{package} is not installed (pip install python-dbusmock; needs libdbus-1-dev)"
    return None


def ad_structures(
    manufacturer_data: dict[int, bytes], service_data: dict[str, bytes]
) -> list[tuple[int, bytes]]:
    """The advertisement's data as on air: (AD type, data) per structure."""
    structures = [
        (AD_TYPE_MANUFACTURER_DATA, company.to_bytes(2, "little") + payload)
        for company, payload in manufacturer_data.items()
    ]
    for service, data in service_data.items():
        if service.startswith("0000") and service.endswith(_BASE_UUID_TAIL):
            short = int(service[4:8], 16).to_bytes(2, "little")
            structures.append((AD_TYPE_SERVICE_DATA_UUID16, short + data))
        else:
            structures.append((AD_TYPE_SERVICE_DATA_UUID128, uuid.UUID(service).bytes[::-1] + data))
    return structures


def matches_or_patterns(
    patterns: list[tuple[int, int, bytes]], structures: list[tuple[int, bytes]]
) -> bool:
    """bluetoothd's "or_patterns" monitor: some structure of the pattern's AD type
    holds the pattern's content at its start position."""
    return any(
        ad_type == kind and data[start : start + len(content)] == content
        for start, ad_type, content in patterns
        for kind, data in structures
    )


class MockBluezError(RuntimeError):
    """The mock could not start, or a command made no sense (unknown tag, no adapter)."""


@dataclass(slots=True)
class _Ramp:
    began: float
    start: float
    end: float
    seconds: float

    def at(self, now: float) -> tuple[float, bool]:
        """The RSSI at `now` and whether the ramp is over."""
        if self.seconds <= 0:
            return self.end, True
        progress = min(1.0, (now - self.began) / self.seconds)
        return self.start + (self.end - self.start) * progress, progress >= 1.0


@dataclass(slots=True)
class _Tag:
    name: str
    address: str
    manufacturer_data: dict[int, bytes]
    service_data: dict[str, bytes]
    rssi: float
    interval: float | None
    advertising: bool = True
    path: str | None = None  # None until BlueZ has a device object for it
    next_at: float = 0.0
    ramp: _Ramp | None = None
    advertisements: int = field(default=0)


class MockBluez:
    """A private system bus with a mocked bluetoothd and simulated tags (see the module)."""

    def __init__(
        self,
        *,
        adapter: str = "hci0",
        interval: float | None = DEFAULT_INTERVAL_S,
        monitor_api: bool = True,
        workdir: Path | None = None,
    ) -> None:
        """`interval` is every new tag's advertising interval (None: tags only
        advertise when told to). `monitor_api=False` plays a bluetoothd started
        without --experimental: no passive scanning."""
        if not adapter.startswith("hci") or not adapter[3:].isdigit():
            raise ValueError(f"adapter must be named like hci0, not {adapter!r}")
        if interval is not None and interval <= 0:
            raise ValueError("interval must be positive (or None)")
        self._adapter = adapter
        self._interval = interval
        self._monitor_api = monitor_api
        self._given_workdir = workdir
        self.workdir: Path | None = None
        self._address: str | None = None
        self._daemon: subprocess.Popen[bytes] | None = None
        self._mock: subprocess.Popen[bytes] | None = None
        self._bus: Any = None  # a dbus-python connection to the private bus

        # `_lock` guards the tags, the adapter state and the bus connection
        # (dbus-python calls from two threads must not interleave).
        self._lock = threading.RLock()
        self._tags: dict[str, _Tag] = {}
        self._adapter_present = False
        self._powered = False
        self._wakeup = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._failing = False
        self._random = random.Random()
        # Who scans and how, looked at again every _SCANNERS_CHECK_S: None while a
        # scanner discovers actively (or none scans: BlueZ keeps what it heard);
        # else the registered monitors' patterns (passive scanning).
        self._passive_patterns: list[tuple[int, int, bytes]] | None = None
        self._scanners_checked_at = -math.inf
        self._monitor_patterns: dict[str, list[tuple[int, int, bytes]]] = {}

    # -- lifecycle --------------------------------------------------------------

    def __enter__(self) -> MockBluez:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> None:
        """Start the bus and the mock, add the adapter, and start advertising."""
        if self._daemon is not None:
            raise RuntimeError("MockBluez.start() called twice")
        problem = missing_requirements()
        if problem is not None:
            raise MockBluezError(problem)
        try:
            self._start_bus()
            self._start_mock()
            self.add_adapter()
        except BaseException:
            self.stop()
            raise
        self._thread = threading.Thread(target=self._run, name="ble-sim", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop advertising, the mock and the bus; remove the work directory we made."""
        self._stopping.set()
        self._wakeup.set()
        if self._thread is not None:
            self._thread.join(2.0)
        with self._lock:
            if self._bus is not None:
                with contextlib.suppress(Exception):
                    self._bus.close()
                self._bus = None
        for process in (self._mock, self._daemon):
            if process is not None and process.poll() is None:
                process.terminate()
                try:
                    process.wait(2.0)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
        self._mock = self._daemon = None
        if self.workdir is not None and self._given_workdir is None:
            shutil.rmtree(self.workdir, ignore_errors=True)

    @property
    def bus_address(self) -> str:
        """The private bus; export it as DBUS_SYSTEM_BUS_ADDRESS for the scanner."""
        if self._address is None:
            raise RuntimeError("MockBluez is not started")
        return self._address

    @property
    def adapter(self) -> str:
        return self._adapter

    # -- tags -------------------------------------------------------------------

    def add_ibeacon(
        self,
        name: str,
        beacon_uuid: uuid.UUID | str,
        major: int,
        minor: int,
        *,
        rssi: float = FAR_DBM,
        measured_power: int = -59,
        interval: float | None = None,
    ) -> None:
        """A tag sending iBeacon frames (Apple manufacturer data)."""
        data = encode_ibeacon(beacon_uuid, major, minor, measured_power)
        self.add_device(
            name, manufacturer_data={APPLE_COMPANY_ID: data}, rssi=rssi, interval=interval
        )

    def add_eddystone(
        self,
        name: str,
        namespace: bytes | str,
        instance: bytes | str,
        *,
        rssi: float = FAR_DBM,
        interval: float | None = None,
    ) -> None:
        """A tag sending Eddystone-UID frames; namespace and instance as bytes or hex."""
        frame = encode_eddystone_uid(_as_bytes(namespace), _as_bytes(instance))
        self.add_device(
            name, service_data={EDDYSTONE_SERVICE_UUID: frame}, rssi=rssi, interval=interval
        )

    def add_manufacturer_tag(
        self,
        name: str,
        company_id: int,
        payload: bytes | str,
        *,
        rssi: float = FAR_DBM,
        interval: float | None = None,
    ) -> None:
        """A tag identified by its manufacturer data under `company_id`."""
        if not 0 <= company_id <= 0xFFFF:
            raise ValueError(f"company id must be 0..0xFFFF, not {company_id}")
        self.add_device(
            name, manufacturer_data={company_id: _as_bytes(payload)}, rssi=rssi, interval=interval
        )

    def add_device(
        self,
        name: str,
        *,
        manufacturer_data: dict[int, bytes] | None = None,
        service_data: dict[str, bytes] | None = None,
        rssi: float = FAR_DBM,
        interval: float | None = None,
    ) -> None:
        """Any advertiser (a phone, a watch, a tag of a format we do not read).

        It is heard at once (BlueZ creates its device object) and then every
        `interval` seconds (default: the mock's), until away() or remove_device().
        """
        if not name or not name.isprintable() or " " in name:
            raise ValueError(f"a device name is one printable word, not {name!r}")
        _check_rssi(rssi)
        every = self._interval if interval is None else interval
        if every is not None and every <= 0:
            raise ValueError("interval must be positive")
        with self._lock:
            if name in self._tags:
                raise MockBluezError(f"there is already a device called {name!r}")
            tag = _Tag(
                name=name,
                address=_address_for(name),
                manufacturer_data=dict(manufacturer_data or {}),
                service_data=dict(service_data or {}),
                rssi=rssi,
                interval=every,
            )
            self._tags[name] = tag
            self._advertise(tag, time.monotonic())
        self._wakeup.set()

    def advertise(self, name: str, rssi: float | None = None) -> None:
        """One advertisement now, at `rssi` if given (which becomes its level)."""
        with self._lock:
            tag = self._tag(name)
            if rssi is not None:
                _check_rssi(rssi)
                tag.rssi, tag.ramp = rssi, None
            tag.advertising = True
            self._advertise(tag, time.monotonic())
        self._wakeup.set()

    def set_rssi(self, name: str, rssi: float) -> None:
        """The tag is now heard at `rssi` dBm: one advertisement at once, then at its interval."""
        self.advertise(name, rssi)

    def walk(self, name: str, start: float, end: float, seconds: float) -> None:
        """Ramp the tag's RSSI from `start` to `end` dBm over `seconds`; returns at once."""
        _check_rssi(start)
        _check_rssi(end)
        if not 0 <= seconds <= 3600 or math.isnan(seconds):
            raise ValueError("a walk takes 0 to 3600 seconds")
        with self._lock:
            tag = self._tag(name)
            now = time.monotonic()
            tag.ramp = _Ramp(now, start, end, seconds)
            tag.advertising = True
            self._advertise(tag, now)
        self._wakeup.set()

    def away(self, name: str) -> None:
        """The tag falls silent (out of range, or its battery died). BlueZ keeps
        its device object for a while, as it does for real."""
        with self._lock:
            self._tag(name).advertising = False

    def remove_device(self, name: str) -> None:
        """BlueZ forgets the device (InterfacesRemoved) and the tag is gone for good."""
        with self._lock:
            tag = self._tags.pop(name, None)
            if tag is None:
                raise MockBluezError(f"no device called {name!r}")
            if tag.path is not None and self._adapter_present:
                adapter = self._bus.get_object(BLUEZ, self._adapter_path)
                adapter.RemoveDevice(tag.path, dbus_interface=ADAPTER_IFACE)

    def rssi(self, name: str) -> float:
        """The tag's current level (dBm)."""
        with self._lock:
            tag = self._tag(name)
            if tag.ramp is not None:
                return tag.ramp.at(time.monotonic())[0]
            return tag.rssi

    def advertisements(self, name: str) -> int:
        """How many advertisements of the tag reached BlueZ."""
        with self._lock:
            return self._tag(name).advertisements

    @property
    def tags(self) -> list[str]:
        with self._lock:
            return sorted(self._tags)

    def is_advertising(self, name: str) -> bool:
        with self._lock:
            return self._tag(name).advertising

    # -- the adapter --------------------------------------------------------------

    def remove_adapter(self) -> None:
        """Unplug the USB dongle: the adapter and its devices vanish from BlueZ."""
        with self._lock:
            if not self._adapter_present:
                raise MockBluezError("the adapter is already removed")
            self._root().RemoveAdapterWithDevices(self._adapter, dbus_interface=BLUEZ_MOCK_IFACE)
            self._adapter_present = self._powered = False
            for tag in self._tags.values():
                tag.path = None  # found again, as a new device, when it is plugged back

    def add_adapter(self) -> None:
        """Plug the adapter (back) in, powered; tags still advertising are found again."""
        with self._lock:
            if self._adapter_present:
                raise MockBluezError("the adapter is already there")
            self._root().AddAdapter(self._adapter, "kiosk-sim", dbus_interface=BLUEZ_MOCK_IFACE)
            self._adapter_present = self._powered = True
        self._wakeup.set()

    def set_powered(self, powered: bool) -> None:
        """Power the adapter off (rfkill, `bluetoothctl power off`) or on again."""
        dbus = _dbus()
        with self._lock:
            if not self._adapter_present:
                raise MockBluezError("there is no adapter to power")
            changes = {"Powered": dbus.Boolean(powered)}
            if not powered:
                changes["Discovering"] = dbus.Boolean(False)  # BlueZ ends discovery with power
            adapter = self._bus.get_object(BLUEZ, self._adapter_path)
            adapter.UpdateProperties(ADAPTER_IFACE, changes, dbus_interface=MOCK_IFACE)
            self._powered = powered
        self._wakeup.set()

    @property
    def adapter_present(self) -> bool:
        with self._lock:
            return self._adapter_present

    def adapter_calls(self, method: str) -> int:
        """How often a scanner called `method` (StartDiscovery, RegisterMonitor, ...)
        on the current adapter."""
        with self._lock:
            adapter = self._bus.get_object(BLUEZ, self._adapter_path)
            return len(adapter.GetMethodCalls(method, dbus_interface=MOCK_IFACE))

    # -- internals ----------------------------------------------------------------

    @property
    def _adapter_path(self) -> str:
        return f"/org/bluez/{self._adapter}"

    def _root(self) -> Any:
        return self._bus.get_object(BLUEZ, "/")

    def _tag(self, name: str) -> _Tag:
        tag = self._tags.get(name)
        if tag is None:
            raise MockBluezError(f"no device called {name!r}")
        return tag

    def _start_bus(self) -> None:
        if self._given_workdir is not None:
            self._given_workdir.mkdir(parents=True, exist_ok=True)
            self.workdir = self._given_workdir
        else:
            # Short, under /tmp: a unix socket path must fit in 108 bytes.
            self.workdir = Path(tempfile.mkdtemp(prefix="kiosk-ble-"))
        socket = self.workdir / "system_bus_socket"
        config = self.workdir / "bus.conf"
        config.write_text(_BUS_CONFIG.format(socket=socket), encoding="utf-8")
        with (self.workdir / "dbus-daemon.log").open("wb") as errors:
            self._daemon = subprocess.Popen(  # noqa: S603 (fixed argv, our own config)
                ["dbus-daemon", f"--config-file={config}", "--nofork", "--print-address=1"],  # noqa: S607
                stdout=subprocess.PIPE,
                stderr=errors,
            )
        assert self._daemon.stdout is not None
        # The daemon prints its address once it listens (or exits: an empty line).
        line = self._daemon.stdout.readline().decode("utf-8", "replace").strip()
        self._daemon.stdout.close()
        if not line:
            raise MockBluezError(f"dbus-daemon did not start; see {self.workdir}/dbus-daemon.log")
        self._address = line

    def _start_mock(self) -> None:
        assert self.workdir is not None
        env = dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=self.bus_address)
        parameters = json.dumps({"enable_monitor_api": self._monitor_api})
        argv = [
            sys.executable,
            "-m",
            "dbusmock",
            "--system",
            "-t",
            "bluez5",
            "-p",
            parameters,
            # Without a log file the mock writes every call to stdout, which
            # would fill an unread pipe and hang it.
            "-l",
            str(self.workdir / "bluez-mock.log"),
        ]
        with (self.workdir / "bluez-mock.out").open("wb") as output:
            self._mock = subprocess.Popen(argv, env=env, stdout=output, stderr=output)  # noqa: S603
        dbus = _dbus()
        self._bus = dbus.bus.BusConnection(self.bus_address)
        deadline = time.monotonic() + _START_TIMEOUT_S
        while not self._bus.name_has_owner(BLUEZ):
            if self._mock.poll() is not None or time.monotonic() > deadline:
                raise MockBluezError(
                    f"the BlueZ mock did not start; see {self.workdir}/bluez-mock.out"
                )
            time.sleep(0.01)

    def _run(self) -> None:
        """Advertise every tag at its interval until stop()."""
        while not self._stopping.is_set():
            with self._lock:
                now = time.monotonic()
                for tag in self._tags.values():
                    if tag.advertising and tag.interval is not None and tag.next_at <= now:
                        self._advertise(tag, now)
                due = [
                    tag.next_at
                    for tag in self._tags.values()
                    if tag.advertising and tag.interval is not None
                ]
            wait = min(due, default=now + _IDLE_WAIT_S) - time.monotonic()
            self._wakeup.wait(max(0.0, wait))
            self._wakeup.clear()

    def _advertise(self, tag: _Tag, now: float) -> None:
        """Deliver one advertisement to BlueZ (caller holds the lock)."""
        if tag.ramp is not None:
            tag.rssi, over = tag.ramp.at(now)
            if over:
                tag.ramp = None
        if tag.interval is not None:
            tag.next_at = now + tag.interval + self._random.uniform(0, _ADV_JITTER_S)
        if not (self._adapter_present and self._powered):
            return  # nothing on air reaches a missing or powered-off radio
        try:
            if not self._reported(tag, now):
                return  # a passive scan's monitors filter it out
            if tag.path is None:
                self._add_device_object(tag)
            else:
                device = self._bus.get_object(BLUEZ, tag.path)
                device.UpdateProperties(
                    DEVICE_IFACE,
                    {"RSSI": _dbus().Int16(round(tag.rssi))},
                    dbus_interface=MOCK_IFACE,
                )
        except Exception as exc:  # dbus.DBusException mostly; the demo must keep going
            if not self._failing:
                _log.warning("ble sim: advertisement of %s not delivered: %s", tag.name, exc)
            self._failing = True
            return
        self._failing = False
        tag.advertisements += 1

    def _reported(self, tag: _Tag, now: float) -> bool:
        """Whether bluetoothd reports this advertisement to the scanners."""
        if now - self._scanners_checked_at >= _SCANNERS_CHECK_S:
            self._scanners_checked_at = now
            self._passive_patterns = self._passive_scan_patterns()
        if self._passive_patterns is None:
            return True
        return matches_or_patterns(
            self._passive_patterns, ad_structures(tag.manufacturer_data, tag.service_data)
        )

    def _passive_scan_patterns(self) -> list[tuple[int, int, bytes]] | None:
        """The registered monitors' patterns while nobody discovers actively; else None."""
        adapter = self._bus.get_object(BLUEZ, self._adapter_path)

        def calls(method: str) -> list[Any]:
            return list(adapter.GetMethodCalls(method, dbus_interface=MOCK_IFACE))

        if len(calls("StartDiscovery")) > len(calls("StopDiscovery")):
            return None
        monitors = [str(args[0]) for _, args in calls("RegisterMonitor")]
        for _, args in calls("UnregisterMonitor"):
            with contextlib.suppress(ValueError):
                monitors.remove(str(args[0]))
        if not monitors:
            return None
        patterns: list[tuple[int, int, bytes]] = []
        for path in monitors:
            if path not in self._monitor_patterns:
                found = self._read_monitor(path)
                if found is None:
                    continue  # not exported yet: bluetoothd has no patterns from it either
                self._monitor_patterns[path] = found
            patterns.extend(self._monitor_patterns[path])
        return patterns

    def _read_monitor(self, path: str) -> list[tuple[int, int, bytes]] | None:
        """The patterns of the monitor object at `path`, from whichever client exports it
        (bluetoothd knows the sender; the mock only logs the path)."""
        dbus = _dbus()
        for name in self._bus.list_names():
            if not name.startswith(":") or name == self._bus.get_unique_name():
                continue
            try:
                found = self._bus.get_object(name, path, introspect=False).Get(
                    MONITOR_IFACE,
                    "Patterns",
                    dbus_interface="org.freedesktop.DBus.Properties",
                    timeout=1.0,
                )
            except dbus.DBusException:
                continue
            return [(int(start), int(kind), bytes(content)) for start, kind, content in found]
        return None

    def _add_device_object(self, tag: _Tag) -> None:
        """Create the tag's org.bluez.Device1 as bluetoothd does when it first hears it."""
        dbus = _dbus()
        path = f"{self._adapter_path}/dev_{tag.address.replace(':', '_')}"
        props = dbus.Dictionary(
            {
                "Address": dbus.String(tag.address),
                "AddressType": dbus.String("random"),
                # bluetoothd's alias for a device without a name is its address.
                "Alias": dbus.String(tag.address.replace(":", "-")),
                "Adapter": dbus.ObjectPath(self._adapter_path),
                "Paired": dbus.Boolean(False),
                "Bonded": dbus.Boolean(False),
                "Trusted": dbus.Boolean(False),
                "Blocked": dbus.Boolean(False),
                "Connected": dbus.Boolean(False),
                "LegacyPairing": dbus.Boolean(False),
                "ServicesResolved": dbus.Boolean(False),
                "UUIDs": dbus.Array(sorted(tag.service_data), signature="s"),
                "RSSI": dbus.Int16(round(tag.rssi)),
            },
            signature="sv",
        )
        if tag.manufacturer_data:
            props["ManufacturerData"] = dbus.Dictionary(
                {dbus.UInt16(k): dbus.ByteArray(v) for k, v in tag.manufacturer_data.items()},
                signature="qv",
            )
        if tag.service_data:
            props["ServiceData"] = dbus.Dictionary(
                {dbus.String(k): dbus.ByteArray(v) for k, v in tag.service_data.items()},
                signature="sv",
            )
        root = self._root()
        root.AddObject(path, DEVICE_IFACE, props, [], dbus_interface=MOCK_IFACE)
        root.EmitSignal(
            OBJECT_MANAGER_IFACE,
            "InterfacesAdded",
            "oa{sa{sv}}",
            [dbus.ObjectPath(path), dbus.Dictionary({DEVICE_IFACE: props}, signature="sa{sv}")],
            dbus_interface=MOCK_IFACE,
        )
        tag.path = path


def _dbus() -> Any:
    """dbus-python, imported when a mock is used so the module loads without it."""
    import dbus  # type: ignore[import-untyped]  # noqa: PLC0415

    return dbus


def _address_for(name: str) -> str:
    """A stable random static address per tag name (top two bits set, as the spec wants)."""
    digest = bytearray(hashlib.sha256(name.encode("utf-8")).digest()[:6])
    digest[0] |= 0xC0
    return ":".join(f"{byte:02X}" for byte in digest)


def _as_bytes(value: bytes | str) -> bytes:
    return value if isinstance(value, bytes) else bytes.fromhex(value.replace("-", ""))


def _check_rssi(rssi: float) -> None:
    # int16 on D-Bus; real readings lie between -127 (nothing) and +20 dBm.
    if not -126 <= rssi <= 20:
        raise ValueError(f"RSSI must be -126..20 dBm, not {rssi}")
