"""BLE member tag formats: iBeacon, Eddystone-UID and manufacturer-data tags."""

from __future__ import annotations

import re
import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from devices.events import TagId, TagKind
from devices.protocols.ble import (
    APPLE_COMPANY_ID,
    EDDYSTONE_SERVICE_UUID,
    EddystoneUid,
    IBeacon,
    encode_eddystone_uid,
    encode_ibeacon,
    parse_eddystone_uid,
    parse_ibeacon,
    parse_manufacturer_tag,
    scan_patterns,
    tag_from_advertisement,
)
from devices.sim.ble import ad_structures, matches_or_patterns

# Advertisement data as bleak reports it (manufacturer data without the
# company id): Estimote's default proximity UUID with major 1, minor 2,
# calibrated -59 dBm; and an Eddystone-UID frame laid out as the spec does:
# type 0x00, -21 dBm at 0 m, 10-byte namespace, 6-byte instance, 2 reserved.
ESTIMOTE_IBEACON = bytes.fromhex("0215b9407f30f5f8466eaff925556b57fe6d00010002c5")
EDDYSTONE_UID_FRAME = bytes.fromhex("00eb" + "8b0cd5ea7ee8a2e74b1f" + "000000000001" + "0000")
NORDIC_COMPANY_ID = 0x0059
# An iPhone nearby-info item (type 0x10): Apple data that is not an iBeacon.
IPHONE_NEARBY = bytes.fromhex("1005011c1e4f6d")

CANONICAL = {
    TagKind.IBEACON: re.compile(
        r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}:\d+:\d+"
    ),
    TagKind.EDDYSTONE: re.compile(r"[0-9a-f]{20}:[0-9a-f]{12}"),
    TagKind.MANUFACTURER: re.compile(r"[0-9a-f]{4}:(?:[0-9a-f]{2})+"),
}


# -- iBeacon --------------------------------------------------------------------


def test_ibeacon_is_read_from_apple_manufacturer_data() -> None:
    beacon = parse_ibeacon({APPLE_COMPANY_ID: ESTIMOTE_IBEACON})
    assert beacon == IBeacon(uuid.UUID("b9407f30-f5f8-466e-aff9-25556b57fe6d"), 1, 2, -59)
    assert beacon.tag == TagId(TagKind.IBEACON, "b9407f30-f5f8-466e-aff9-25556b57fe6d:1:2")


def test_ibeacon_major_and_minor_are_big_endian_and_decimal() -> None:
    data = encode_ibeacon("B9407F30-F5F8-466E-AFF9-25556B57FE6D", 0x1234, 65535)
    tag = tag_from_advertisement({APPLE_COMPANY_ID: data}, {})
    assert tag == TagId(TagKind.IBEACON, "b9407f30-f5f8-466e-aff9-25556b57fe6d:4660:65535")


def test_ibeacon_after_another_apple_item_is_found() -> None:
    beacon = parse_ibeacon({APPLE_COMPANY_ID: IPHONE_NEARBY + ESTIMOTE_IBEACON})
    assert beacon is not None
    assert (beacon.major, beacon.minor) == (1, 2)


@pytest.mark.parametrize(
    "data",
    [
        IPHONE_NEARBY,  # Apple, but not an iBeacon
        ESTIMOTE_IBEACON[:-1],  # one byte short
        b"\x02\x14" + ESTIMOTE_IBEACON[2:],  # wrong length byte
        b"\x02",
        b"",
    ],
    ids=["other-apple-item", "truncated", "wrong-length", "one-byte", "empty"],
)
def test_apple_data_that_is_not_an_ibeacon_gives_nothing(data: bytes) -> None:
    assert parse_ibeacon({APPLE_COMPANY_ID: data}) is None
    assert tag_from_advertisement({APPLE_COMPANY_ID: data}, {}) is None


def test_ibeacon_under_another_company_id_is_not_an_ibeacon() -> None:
    assert parse_ibeacon({NORDIC_COMPANY_ID: ESTIMOTE_IBEACON}) is None


def test_encode_ibeacon_round_trips() -> None:
    beacon_uuid = uuid.UUID("e2c56db5-dffb-48d2-b060-d0f5a71096e0")
    data = encode_ibeacon(beacon_uuid, 7, 8, measured_power=-70)
    assert parse_ibeacon({APPLE_COMPANY_ID: data}) == IBeacon(beacon_uuid, 7, 8, -70)


@pytest.mark.parametrize(
    ("major", "minor", "power", "field"),
    [
        (-1, 0, -59, "major"),
        (65536, 0, -59, "major"),
        (0, -1, -59, "minor"),
        (0, 65536, -59, "minor"),
        (0, 0, -129, "measured power"),
        (0, 0, 128, "measured power"),
    ],
)
def test_encode_ibeacon_refuses_values_that_do_not_fit(
    major: int, minor: int, power: int, field: str
) -> None:
    with pytest.raises(ValueError, match=f"^{field} must be"):
        encode_ibeacon(uuid.uuid4(), major, minor, power)


def test_encode_ibeacon_takes_every_value_that_fits() -> None:
    beacon_uuid = uuid.uuid4()
    for major, minor, power in [(0, 0, -128), (65535, 65535, 127)]:
        data = encode_ibeacon(beacon_uuid, major, minor, power)
        assert parse_ibeacon({APPLE_COMPANY_ID: data}) == IBeacon(beacon_uuid, major, minor, power)


def test_ibeacon_after_two_other_apple_items_of_different_lengths_is_found() -> None:
    others = bytes.fromhex("1005 0b1c0a1b2c") + bytes.fromhex("0c02 0a0b")
    beacon = parse_ibeacon({APPLE_COMPANY_ID: others + ESTIMOTE_IBEACON})
    assert beacon is not None
    assert (beacon.major, beacon.minor) == (1, 2)


# -- Eddystone-UID ----------------------------------------------------------------


def test_eddystone_uid_is_read_from_feaa_service_data() -> None:
    frame = parse_eddystone_uid({EDDYSTONE_SERVICE_UUID: EDDYSTONE_UID_FRAME})
    assert frame == EddystoneUid(
        namespace=bytes.fromhex("8b0cd5ea7ee8a2e74b1f"),
        instance=bytes.fromhex("000000000001"),
        tx_power=-21,
    )
    assert frame.tag == TagId(TagKind.EDDYSTONE, "8b0cd5ea7ee8a2e74b1f:000000000001")


def test_eddystone_uid_without_the_reserved_bytes_is_accepted() -> None:
    frame = encode_eddystone_uid(bytes(range(10)), bytes(range(10, 16)))
    assert tag_from_advertisement({}, {EDDYSTONE_SERVICE_UUID: frame[:18]}) == TagId(
        TagKind.EDDYSTONE, "00010203040506070809:0a0b0c0d0e0f"
    )


def test_eddystone_service_uuid_in_upper_case_is_accepted() -> None:
    frame = encode_eddystone_uid(b"\xab" * 10, b"\xcd" * 6)
    tag = tag_from_advertisement({}, {EDDYSTONE_SERVICE_UUID.upper(): frame})
    assert tag == TagId(TagKind.EDDYSTONE, "ab" * 10 + ":" + "cd" * 6)


@pytest.mark.parametrize(
    "data",
    [
        bytes.fromhex("10ee0367656f726765") + b"\x00" * 9,  # a URL frame
        bytes.fromhex("2000") + b"\x00" * 12,  # a TLM frame
        EDDYSTONE_UID_FRAME[:17],  # instance cut short
        EDDYSTONE_UID_FRAME + b"\x00",  # longer than the spec allows
        b"",
    ],
    ids=["url", "tlm", "truncated", "overlong", "empty"],
)
def test_eddystone_data_that_is_not_a_uid_frame_gives_nothing(data: bytes) -> None:
    assert parse_eddystone_uid({EDDYSTONE_SERVICE_UUID: data}) is None


def test_uid_frame_under_another_service_uuid_gives_nothing() -> None:
    other = "0000fe9a-0000-1000-8000-00805f9b34fb"
    assert tag_from_advertisement({}, {other: EDDYSTONE_UID_FRAME}) is None


@pytest.mark.parametrize("power", [-129, 128])
def test_encode_eddystone_uid_refuses_a_tx_power_that_does_not_fit(power: int) -> None:
    with pytest.raises(ValueError, match=r"^tx power must be"):
        encode_eddystone_uid(bytes(10), bytes(6), power)


def test_encode_eddystone_uid_takes_every_tx_power_that_fits() -> None:
    for power in (-128, 127):
        data = encode_eddystone_uid(bytes(10), bytes(6), power)
        found = parse_eddystone_uid({EDDYSTONE_SERVICE_UUID: data})
        assert found is not None
        assert found.tx_power == power


def test_encode_eddystone_uid_refuses_wrong_sizes() -> None:
    with pytest.raises(ValueError, match="10 bytes"):
        encode_eddystone_uid(bytes(9), bytes(6))


# -- manufacturer tags ------------------------------------------------------------------


def test_manufacturer_tag_of_a_configured_company() -> None:
    data = {NORDIC_COMPANY_ID: bytes.fromhex("C0FFEE01")}
    assert tag_from_advertisement(data, {}, company_ids=[NORDIC_COMPANY_ID]) == TagId(
        TagKind.MANUFACTURER, "0059:c0ffee01"
    )


def test_manufacturer_data_of_an_unconfigured_company_gives_nothing() -> None:
    data = {NORDIC_COMPANY_ID: bytes.fromhex("c0ffee01")}
    assert tag_from_advertisement(data, {}) is None
    assert tag_from_advertisement(data, {}, company_ids=[0x0006]) is None


def test_empty_manufacturer_payload_is_not_a_tag() -> None:
    assert parse_manufacturer_tag({NORDIC_COMPANY_ID: b""}, [NORDIC_COMPANY_ID]) is None


def test_first_configured_company_wins() -> None:
    data = {0x0006: b"\x01", NORDIC_COMPANY_ID: b"\x02"}
    tag = parse_manufacturer_tag(data, [NORDIC_COMPANY_ID, 0x0006])
    assert tag == TagId(TagKind.MANUFACTURER, "0059:02")


def test_ibeacon_wins_over_eddystone_and_manufacturer_data() -> None:
    manufacturer = {APPLE_COMPANY_ID: ESTIMOTE_IBEACON, NORDIC_COMPANY_ID: b"\x01"}
    service = {EDDYSTONE_SERVICE_UUID: EDDYSTONE_UID_FRAME}
    tag = tag_from_advertisement(manufacturer, service, company_ids=[NORDIC_COMPANY_ID])
    assert tag is not None
    assert tag.kind is TagKind.IBEACON
    tag = tag_from_advertisement({NORDIC_COMPANY_ID: b"\x01"}, service, [NORDIC_COMPANY_ID])
    assert tag is not None
    assert tag.kind is TagKind.EDDYSTONE


def test_apple_company_id_configured_still_reads_ibeacons_as_ibeacons() -> None:
    data = {APPLE_COMPANY_ID: ESTIMOTE_IBEACON}
    tag = tag_from_advertisement(data, {}, company_ids=[APPLE_COMPANY_ID])
    assert tag is not None
    assert tag.kind is TagKind.IBEACON


# -- what passive scanning looks for --------------------------------------------------------


def test_scan_patterns_cover_each_format_with_little_endian_ids() -> None:
    assert scan_patterns([NORDIC_COMPANY_ID, NORDIC_COMPANY_ID]) == [
        (0, 0xFF, bytes.fromhex("4c00")),
        (0, 0x16, bytes.fromhex("aafe00")),
        (0, 0xFF, bytes.fromhex("5900")),
    ]


apple_items = st.lists(
    st.tuples(st.integers(0, 0xFF).filter(lambda t: t != 0x02), st.binary(max_size=12)),
    max_size=3,
).map(lambda items: b"".join(bytes((kind, len(value))) + value for kind, value in items))


@given(before=apple_items, company_ids=st.lists(st.integers(0, 0xFFFF), max_size=2))
def test_every_tag_the_parser_reads_gets_past_the_passive_scans_patterns(
    before: bytes, company_ids: list[int]
) -> None:
    # Whatever Apple items precede it, an iBeacon read by an active scan must also
    # pass the passive scan's patterns (bluetoothd's filter, as the BlueZ mock plays it).
    manufacturer = {APPLE_COMPANY_ID: before + ESTIMOTE_IBEACON}
    for company_id in company_ids:
        manufacturer.setdefault(company_id, b"\x01")
    assert tag_from_advertisement(manufacturer, {}, company_ids) is not None
    structures = ad_structures(manufacturer, {EDDYSTONE_SERVICE_UUID: EDDYSTONE_UID_FRAME})
    assert matches_or_patterns(scan_patterns(company_ids), structures)
    eddystone_only = ad_structures({}, {EDDYSTONE_SERVICE_UUID: EDDYSTONE_UID_FRAME})
    assert matches_or_patterns(scan_patterns(), eddystone_only)
    assert not matches_or_patterns(scan_patterns(), ad_structures({NORDIC_COMPANY_ID: b"1"}, {}))


def test_scan_patterns_refuse_a_company_id_out_of_range() -> None:
    for company_id in (0x10000, -1):
        with pytest.raises(ValueError, match="company id"):
            scan_patterns([company_id])


def test_the_first_and_last_company_ids_are_company_ids() -> None:
    assert scan_patterns([0x0000, 0xFFFF])[2:] == [
        (0, 0xFF, bytes.fromhex("0000")),
        (0, 0xFF, bytes.fromhex("ffff")),
    ]
    data = {0x0000: b"\x01", 0xFFFF: b"\x02"}
    assert parse_manufacturer_tag(data, [0x0000]) == TagId(TagKind.MANUFACTURER, "0000:01")
    assert parse_manufacturer_tag(data, [0xFFFF]) == TagId(TagKind.MANUFACTURER, "ffff:02")


# -- never raises, never leaks ---------------------------------------------------------------

_company_ids = st.integers(0, 0xFFFF)
_manufacturer_data = st.dictionaries(
    st.one_of(st.just(APPLE_COMPANY_ID), _company_ids), st.binary(max_size=40), max_size=4
)
_service_data = st.dictionaries(
    st.one_of(st.just(EDDYSTONE_SERVICE_UUID), st.text(max_size=40)),
    st.binary(max_size=30),
    max_size=4,
)


@given(
    manufacturer=_manufacturer_data,
    service=_service_data,
    companies=st.lists(_company_ids, max_size=3),
)
def test_arbitrary_advertisements_never_raise_and_give_canonical_values(
    manufacturer: dict[int, bytes], service: dict[str, bytes], companies: list[int]
) -> None:
    tag = tag_from_advertisement(manufacturer, service, companies)
    if tag is not None:
        assert CANONICAL[tag.kind].fullmatch(tag.value), tag.kind
        assert tag.value not in repr(tag)
        assert tag.value not in str(tag)


@given(prefix=st.binary(max_size=30), suffix=st.binary(max_size=30))
def test_apple_data_with_an_ibeacon_prefix_never_raises(prefix: bytes, suffix: bytes) -> None:
    parse_ibeacon({APPLE_COMPANY_ID: b"\x02\x15" + prefix + suffix})
    parse_ibeacon({APPLE_COMPANY_ID: prefix + b"\x02\x15" + suffix})


@given(
    beacon_uuid=st.uuids(),
    major=st.integers(0, 0xFFFF),
    minor=st.integers(0, 0xFFFF),
    power=st.integers(-128, 127),
)
def test_every_ibeacon_round_trips(
    beacon_uuid: uuid.UUID, major: int, minor: int, power: int
) -> None:
    data = encode_ibeacon(beacon_uuid, major, minor, power)
    assert parse_ibeacon({APPLE_COMPANY_ID: data}) == IBeacon(beacon_uuid, major, minor, power)


@given(
    namespace=st.binary(min_size=10, max_size=10),
    instance=st.binary(min_size=6, max_size=6),
    power=st.integers(-128, 127),
)
def test_every_eddystone_uid_round_trips(namespace: bytes, instance: bytes, power: int) -> None:
    frame = encode_eddystone_uid(namespace, instance, power)
    assert parse_eddystone_uid({EDDYSTONE_SERVICE_UUID: frame}) == EddystoneUid(
        namespace, instance, power
    )
