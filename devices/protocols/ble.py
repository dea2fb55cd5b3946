"""BLE member tag formats: advertisement data -> `TagId`, no I/O.

Input is what bleak hands over for each advertisement: manufacturer data keyed
by Bluetooth SIG company id (the bytes after the id) and service data keyed
by 128-bit service UUID. Three tag formats are read, first match wins:

- iBeacon: company 0x004C (Apple), an Apple TLV of type 0x02 and length 0x15:
  16-byte proximity UUID, major and minor (big-endian uint16), measured power
  (signed dBm at 1 m).
- Eddystone-UID: service data of UUID 0xFEAA, frame type 0x00, tx power at
  0 m (signed), 10-byte namespace, 6-byte instance, 2 reserved bytes (some
  beacons leave them out).
- Manufacturer tags: the manufacturer data of a company id the kiosk is
  configured for; the whole payload is the identity, so it must be stable
  (a payload with a counter or battery level in it is not a usable tag).

Parsers never raise: bytes that are not a tag give None. The canonical tag
values are defined by `devices.events.TagId`.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Final

from devices.events import TagId, TagKind

APPLE_COMPANY_ID: Final = 0x004C
IBEACON_TYPE: Final = 0x02
IBEACON_LENGTH: Final = 0x15  # 16 UUID + 2 major + 2 minor + 1 measured power
IBEACON_PREFIX: Final = bytes((IBEACON_TYPE, IBEACON_LENGTH))

EDDYSTONE_SERVICE_UUID: Final = "0000feaa-0000-1000-8000-00805f9b34fb"
EDDYSTONE_UUID16: Final = 0xFEAA
EDDYSTONE_UID_FRAME: Final = 0x00
_EDDYSTONE_UID_MIN: Final = 18  # frame type, tx power, 10 namespace, 6 instance
_EDDYSTONE_UID_MAX: Final = 20  # ... plus the 2 reserved bytes of the spec

AD_TYPE_SERVICE_DATA_UUID16: Final = 0x16
AD_TYPE_MANUFACTURER_DATA: Final = 0xFF
"""GAP advertising data types, as BlueZ advertisement monitor patterns name them."""

MAX_COMPANY_ID: Final = 0xFFFF


@dataclass(frozen=True, slots=True)
class IBeacon:
    """One iBeacon frame; `measured_power` is the expected RSSI at 1 m (dBm)."""

    uuid: uuid.UUID
    major: int
    minor: int
    measured_power: int

    @property
    def tag(self) -> TagId:
        return TagId(TagKind.IBEACON, f"{self.uuid}:{self.major}:{self.minor}")


@dataclass(frozen=True, slots=True)
class EddystoneUid:
    """One Eddystone-UID frame; `tx_power` is the calibrated power at 0 m (dBm)."""

    namespace: bytes
    instance: bytes
    tx_power: int

    @property
    def tag(self) -> TagId:
        return TagId(TagKind.EDDYSTONE, f"{self.namespace.hex()}:{self.instance.hex()}")


def parse_ibeacon(manufacturer_data: Mapping[int, bytes]) -> IBeacon | None:
    """The iBeacon in Apple's manufacturer data, if there is one.

    Apple's data is a sequence of type-length-value items; the iBeacon item
    is usually alone, but walking the items costs nothing and copes with
    devices that put another item first.
    """
    data = manufacturer_data.get(APPLE_COMPANY_ID)
    if not isinstance(data, bytes | bytearray):
        return None
    index = 0
    while index + 2 <= len(data):
        kind, length = data[index], data[index + 1]
        value = data[index + 2 : index + 2 + length]
        if len(value) < length:
            return None  # truncated item: nothing after it can be trusted
        if kind == IBEACON_TYPE and length == IBEACON_LENGTH:
            return IBeacon(
                uuid=uuid.UUID(bytes=bytes(value[:16])),
                major=int.from_bytes(value[16:18], "big"),
                minor=int.from_bytes(value[18:20], "big"),
                measured_power=int.from_bytes(value[20:21], "big", signed=True),
            )
        index += 2 + length
    return None


def parse_eddystone_uid(service_data: Mapping[str, bytes]) -> EddystoneUid | None:
    """The Eddystone-UID frame in the service data, if there is one."""
    data = _eddystone_service_data(service_data)
    if data is None or not _EDDYSTONE_UID_MIN <= len(data) <= _EDDYSTONE_UID_MAX:
        return None
    if data[0] != EDDYSTONE_UID_FRAME:
        return None  # URL, TLM and EID frames carry no stable identity
    return EddystoneUid(
        namespace=bytes(data[2:12]),
        instance=bytes(data[12:18]),
        tx_power=int.from_bytes(data[1:2], "big", signed=True),
    )


def parse_manufacturer_tag(
    manufacturer_data: Mapping[int, bytes], company_ids: Iterable[int]
) -> TagId | None:
    """A tag made of the manufacturer data of the first configured company id present."""
    for company_id in company_ids:
        payload = manufacturer_data.get(company_id)
        if isinstance(payload, bytes | bytearray) and payload and 0 <= company_id <= MAX_COMPANY_ID:
            return TagId(TagKind.MANUFACTURER, f"{company_id:04x}:{bytes(payload).hex()}")
    return None


def tag_from_advertisement(
    manufacturer_data: Mapping[int, bytes],
    service_data: Mapping[str, bytes],
    company_ids: Iterable[int] = (),
) -> TagId | None:
    """The member tag an advertisement carries: iBeacon, then Eddystone-UID, then
    manufacturer data of `company_ids`; None when it carries none of them."""
    beacon = parse_ibeacon(manufacturer_data)
    if beacon is not None:
        return beacon.tag
    eddystone = parse_eddystone_uid(service_data)
    if eddystone is not None:
        return eddystone.tag
    return parse_manufacturer_tag(manufacturer_data, company_ids)


def scan_patterns(company_ids: Iterable[int] = ()) -> list[tuple[int, int, bytes]]:
    """What an advertisement must start with to be worth a look, as BlueZ
    advertisement monitor "or patterns": (start position, AD type, bytes).

    Passive scanning on BlueZ only reports advertisements matching one of
    these. Company ids are little-endian on air, before the manufacturer data.
    Apple's data is matched on the company id alone: `parse_ibeacon` finds an
    iBeacon item after other Apple items too, and a pattern holding the iBeacon
    prefix at the start would hide such a tag from the passive scan while the
    active one reads it.
    """
    patterns = [
        (0, AD_TYPE_MANUFACTURER_DATA, APPLE_COMPANY_ID.to_bytes(2, "little")),
        (
            0,
            AD_TYPE_SERVICE_DATA_UUID16,
            EDDYSTONE_UUID16.to_bytes(2, "little") + bytes((EDDYSTONE_UID_FRAME,)),
        ),
    ]
    for company_id in dict.fromkeys(company_ids):  # de-duplicated, order kept
        if not 0 <= company_id <= MAX_COMPANY_ID:
            raise ValueError(f"company id must be 0..0xFFFF, not {company_id}")
        patterns.append((0, AD_TYPE_MANUFACTURER_DATA, company_id.to_bytes(2, "little")))
    return patterns


def encode_ibeacon(
    beacon_uuid: uuid.UUID | str, major: int, minor: int, measured_power: int = -59
) -> bytes:
    """Apple manufacturer data (without the company id) of an iBeacon frame.

    -59 dBm at 1 m is the usual factory calibration of a coin-cell tag.
    """
    value = beacon_uuid if isinstance(beacon_uuid, uuid.UUID) else uuid.UUID(beacon_uuid)
    _check_range("major", major, 0, 0xFFFF)
    _check_range("minor", minor, 0, 0xFFFF)
    _check_range("measured power", measured_power, -128, 127)
    return (
        IBEACON_PREFIX
        + value.bytes
        + major.to_bytes(2, "big")
        + minor.to_bytes(2, "big")
        + measured_power.to_bytes(1, "big", signed=True)
    )


def encode_eddystone_uid(namespace: bytes, instance: bytes, tx_power: int = -20) -> bytes:
    """Service data (for `EDDYSTONE_SERVICE_UUID`) of an Eddystone-UID frame.

    -20 dBm at 0 m is a typical calibration for a tag transmitting at -4 dBm
    (the spec's own example is -21)."""
    if len(namespace) != 10 or len(instance) != 6:
        raise ValueError("an Eddystone-UID namespace is 10 bytes and its instance 6")
    _check_range("tx power", tx_power, -128, 127)
    return (
        bytes((EDDYSTONE_UID_FRAME,))
        + tx_power.to_bytes(1, "big", signed=True)
        + namespace
        + instance
        + bytes(2)
    )


def _eddystone_service_data(service_data: Mapping[str, bytes]) -> bytes | None:
    data = service_data.get(EDDYSTONE_SERVICE_UUID)
    if data is None:
        # BlueZ writes UUIDs in lower case; other stacks may not.
        for key, value in service_data.items():
            if isinstance(key, str) and key.lower() == EDDYSTONE_SERVICE_UUID:
                data = value
                break
    return bytes(data) if isinstance(data, bytes | bytearray) else None


def _check_range(what: str, value: int, low: int, high: int) -> None:
    if not low <= value <= high:
        raise ValueError(f"{what} must be {low}..{high}, not {value}")
