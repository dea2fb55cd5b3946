"""RFID reader formats: RDM6300 frames, line readers, repeat suppression, wedge key events."""

from __future__ import annotations

import evdev
import pytest
from evdev import ecodes
from hypothesis import given
from hypothesis import strategies as st

from devices.events import TagId, TagKind
from devices.protocols.rfid import (
    CARD_NUMBER_DIGITS,
    EV_KEY,
    FRAME_BODY_CHARS,
    KEY_ENTER,
    KEY_KPENTER,
    MAX_CARD_NUMBER,
    MAX_LINE_BYTES,
    LineFormat,
    LineParser,
    ParserStats,
    Rdm6300Parser,
    ReadResult,
    Rejected,
    RejectReason,
    RepeatFilter,
    WedgeDecoder,
    encode_rdm6300,
    parse_card_line,
    parse_card_number,
    rdm6300_checksum,
    rfid_tag,
)

# Frames as an RDM6300 puts them on the wire (checksums worked out by hand,
# see docs/protocols.md): version byte 0x3C, card 0x00BC614E = 12345678.
FRAME_12345678 = b"\x023C00BC614EAF\x03"
# Version 0x01, card 0xFFFFFFFF: the largest card number.
FRAME_MAX = b"\x0201FFFFFFFF01\x03"
# Version 0x00, card 0: a valid, if unlikely, fob.
FRAME_ZERO = b"\x020000000000" + b"00\x03"

CARD = TagId(TagKind.RFID, "0012345678")


def tag(value: str) -> TagId:
    return TagId(TagKind.RFID, value)


def reasons(results: list[ReadResult]) -> list[RejectReason]:
    return [r.reason for r in results if isinstance(r, Rejected)]


def tags(results: list[ReadResult]) -> list[TagId]:
    return [r for r in results if isinstance(r, TagId)]


# -- card numbers -------------------------------------------------------------


def test_card_number_is_the_low_32_bits_as_ten_digits() -> None:
    assert rfid_tag(12345678) == CARD
    assert rfid_tag(0x3C_00BC614E) == CARD  # a full 40-bit EM4100 id: the version byte goes
    assert rfid_tag(0) == tag("0000000000")
    assert rfid_tag(MAX_CARD_NUMBER) == tag("4294967295")


def test_a_negative_id_is_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        rfid_tag(-1)


@pytest.mark.parametrize("text", ["0012345678", "12345678", "0", "4294967295"])
def test_card_numbers_as_people_write_them(text: str) -> None:
    assert parse_card_number(text) == int(text)


@pytest.mark.parametrize("text", ["", "4294967296", "00123456789", "12a", "-1", "+1", "١٢"])
def test_bad_card_numbers_are_refused_without_repeating_them(text: str) -> None:
    with pytest.raises(ValueError, match="card number") as error:
        parse_card_number(text)
    assert not text or text not in str(error.value)


# -- RDM6300 frames -------------------------------------------------------------


def test_checksum_is_the_xor_of_the_five_data_bytes() -> None:
    assert rdm6300_checksum(bytes.fromhex("3C00BC614E")) == 0xAF
    assert rdm6300_checksum(bytes.fromhex("01FFFFFFFF")) == 0x01


@pytest.mark.parametrize(
    ("frame", "value"),
    [(FRAME_12345678, "0012345678"), (FRAME_MAX, "4294967295"), (FRAME_ZERO, "0000000000")],
)
def test_wire_frames_read_as_card_numbers(frame: bytes, value: str) -> None:
    parser = Rdm6300Parser()
    assert parser.feed(frame) == [tag(value)]
    assert parser.stats == ParserStats(frames=1)


def test_encode_gives_the_frames_of_the_spec() -> None:
    assert encode_rdm6300(12345678, version=0x3C) == FRAME_12345678
    assert encode_rdm6300(MAX_CARD_NUMBER, version=1) == FRAME_MAX
    assert len(FRAME_12345678) == FRAME_BODY_CHARS + 2


def test_a_frame_has_version_zero_unless_told() -> None:
    assert encode_rdm6300(12345678) == encode_rdm6300(12345678, version=0)
    assert encode_rdm6300(12345678, version=0xFF) != encode_rdm6300(12345678)


@pytest.mark.parametrize(
    ("card", "version", "field"),
    [(-1, 0, "card number"), (MAX_CARD_NUMBER + 1, 0, "card number"), (1, 256, "version")],
)
def test_encode_refuses_what_a_frame_cannot_carry(card: int, version: int, field: str) -> None:
    with pytest.raises(ValueError, match=f"^{field}.* out of range"):
        encode_rdm6300(card, version=version)


def test_lower_case_hex_is_read_too() -> None:
    assert Rdm6300Parser().feed(FRAME_12345678.lower()) == [CARD]


def test_a_frame_split_anywhere_is_read_once() -> None:
    parser = Rdm6300Parser()
    results: list[ReadResult] = []
    for byte in FRAME_12345678 * 2:
        results += parser.feed(bytes([byte]))
    assert results == [CARD, CARD]


def test_noise_between_frames_is_counted_and_skipped() -> None:
    parser = Rdm6300Parser()
    assert parser.feed(b"\xff\x00junk" + FRAME_12345678 + b"\x03\x80" + FRAME_MAX + b"x") == [
        CARD,
        tag("4294967295"),
    ]
    assert parser.stats == ParserStats(frames=2, noise_bytes=6 + 2 + 1)


def test_a_bad_checksum_is_dropped_and_counted() -> None:
    parser = Rdm6300Parser()
    results = parser.feed(b"\x023C00BC614EAE\x03" + FRAME_MAX)
    assert results[0] == Rejected(RejectReason.BAD_CHECKSUM, "checksum does not match")
    assert tags(results) == [tag("4294967295")]
    assert parser.stats == ParserStats(frames=1, bad_checksum=1)


def test_a_flipped_data_bit_is_a_bad_checksum_not_another_card() -> None:
    assert reasons(Rdm6300Parser().feed(b"\x023C00BC614FAF\x03")) == [RejectReason.BAD_CHECKSUM]


@pytest.mark.parametrize(
    "frame",
    [
        b"\x023C00BC614E\x03",  # no checksum
        b"\x023C00BC614EA\x03",  # 11 characters
        b"\x02\x03",  # empty
        b"\x023C00BC6 4EAF\x03",  # a space
        b"\x023C00BC614GAF\x03",  # not hex
        b"\x023C00BC614\xafAF\x03",  # a raw byte where a character belongs
        b"\x023C00BC614EAF0\x03",  # 13 characters: dropped before the ETX
    ],
)
def test_frames_of_the_wrong_shape_are_malformed(frame: bytes) -> None:
    parser = Rdm6300Parser()
    assert reasons(parser.feed(frame)) == [RejectReason.MALFORMED]
    assert parser.stats.malformed == 1


def test_rejects_never_carry_the_frame_characters() -> None:
    parser = Rdm6300Parser()
    bad = [b"\x023C00BC614EAE\x03", b"\x023C00BC614E\x03", b"\x023C00BC614EAF00\x03"]
    for result in parser.feed(b"".join(bad) + b"\x023C00BC61" + FRAME_MAX):
        assert isinstance(result, Rejected | TagId)
        assert "BC614E" not in repr(result)
        assert "12345678" not in repr(result)


def test_a_frame_cut_short_by_the_next_is_malformed_and_the_next_is_read() -> None:
    parser = Rdm6300Parser()
    results = parser.feed(FRAME_12345678[:7] + FRAME_MAX)
    assert results == [Rejected(RejectReason.MALFORMED, "frame cut short"), tag("4294967295")]


def test_an_endless_frame_is_dropped_at_once_and_the_rest_is_noise() -> None:
    parser = Rdm6300Parser()
    assert reasons(parser.feed(b"\x02" + b"A" * 13)) == [RejectReason.MALFORMED]
    assert parser.buffered == 0
    assert parser.feed(b"A" * 5 + b"\x03" + FRAME_12345678) == [CARD]
    assert parser.stats == ParserStats(frames=1, malformed=1, noise_bytes=6)


def test_memory_stays_bounded_on_a_flood_without_frame_marks() -> None:
    parser = Rdm6300Parser()
    for _ in range(100):
        assert parser.feed(b"z" * 10_000) == []
    assert parser.buffered == 0
    assert parser.feed(FRAME_12345678) == [CARD]
    assert parser.stats.noise_bytes == 1_000_000


def test_reset_forgets_a_partial_frame_but_keeps_the_counts() -> None:
    parser = Rdm6300Parser()
    parser.feed(b"x" + FRAME_12345678[:5])
    parser.reset()
    assert parser.feed(FRAME_12345678[5:]) == []  # the tail alone is noise, not a frame
    assert parser.stats == ParserStats(noise_bytes=1 + 9)


@given(st.lists(st.binary(max_size=64), max_size=20))
def test_arbitrary_bytes_never_raise_and_never_grow_the_frame_buffer(chunks: list[bytes]) -> None:
    parser = Rdm6300Parser()
    results: list[ReadResult] = []
    for chunk in chunks:
        results += parser.feed(chunk)
        assert parser.buffered <= FRAME_BODY_CHARS
    stats = parser.stats
    assert len(results) == stats.frames + stats.bad_checksum + stats.malformed
    for result in results:
        assert isinstance(result, TagId | Rejected)


cards = st.integers(min_value=0, max_value=MAX_CARD_NUMBER)
versions = st.integers(min_value=0, max_value=0xFF)


@given(cards, versions, st.binary(max_size=40), st.binary(max_size=40), st.data())
def test_a_valid_frame_in_noise_is_found_however_the_stream_is_chunked(
    card: int, version: int, before: bytes, after: bytes, data: st.DataObject
) -> None:
    stream = before + encode_rdm6300(card, version=version) + after
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=8)))
    parser = Rdm6300Parser()
    results: list[ReadResult] = []
    for start, end in zip([0, *cuts], [*cuts, len(stream)], strict=True):
        results += parser.feed(stream[start:end])
    assert rfid_tag(card) in results


@given(cards, versions)
def test_every_card_survives_encode_then_parse(card: int, version: int) -> None:
    assert Rdm6300Parser().feed(encode_rdm6300(card, version=version)) == [rfid_tag(card)]


# -- line readers ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "line_format", "value"),
    [
        (b"0012345678", LineFormat.DECIMAL, "0012345678"),
        (b"12345678", LineFormat.DECIMAL, "0012345678"),
        (b"42", LineFormat.DECIMAL, "0000000042"),
        (b"4294967295", LineFormat.DECIMAL, "4294967295"),
        (b"00BC614E", LineFormat.HEX, "0012345678"),
        (b"3C00BC614E", LineFormat.HEX, "0012345678"),  # 10 hex: the version byte goes
        (b"3c00bc614e", LineFormat.HEX, "0012345678"),
        (b"0012345678", LineFormat.HEX, "0305419896"),  # read as hex when told so
        (b"0012345678", LineFormat.AUTO, "0012345678"),  # ten digits: decimal
        (b"00BC614E", LineFormat.AUTO, "0012345678"),
        (b"12345678", LineFormat.AUTO, "0305419896"),  # eight digits: hex
        (b"3C00BC614E", LineFormat.AUTO, "0012345678"),
        (b"9900BC614E", LineFormat.AUTO, "0012345678"),
        (b"9900000000", LineFormat.AUTO, "0000000000"),  # too big for decimal: hex
    ],
)
def test_lines_read_as_card_numbers(line: bytes, line_format: LineFormat, value: str) -> None:
    parser = LineParser(line_format)
    assert parser.feed(line + b"\r\n") == [tag(value)]
    assert parser.stats == ParserStats(frames=1)


@pytest.mark.parametrize(
    ("line", "line_format"),
    [
        (b"4294967296", LineFormat.DECIMAL),
        (b"00123456789", LineFormat.DECIMAL),
        (b"00BC614E", LineFormat.DECIMAL),
        (b"-12345678", LineFormat.DECIMAL),
        (b"BC614E", LineFormat.HEX),  # 6 hex digits
        (b"000BC614E", LineFormat.HEX),  # 9
        (b"00003C00BC614E", LineFormat.HEX),  # 14
        (b"0x00BC614E", LineFormat.HEX),
        (b"1234567", LineFormat.AUTO),  # 7 digits: neither
        (b"12 34 56 78", LineFormat.AUTO),
        (b"00BC614G", LineFormat.AUTO),
        ("١٢٣٤٥٦٧٨٩٠".encode(), LineFormat.AUTO),  # digits, but not ASCII ones
        (b"\xff\xfe\x13", LineFormat.AUTO),
        (b"0012X45678", LineFormat.AUTO),  # one spoilt line, not two short ones
        (b"\x0c0012345678", LineFormat.AUTO),  # blanks are spaces and tabs only
    ],
)
def test_lines_that_are_no_card_are_malformed(line: bytes, line_format: LineFormat) -> None:
    parser = LineParser(line_format)
    results = parser.feed(line + b"\n")
    assert reasons(results) == [RejectReason.MALFORMED]
    assert line.decode(errors="replace") not in repr(results)
    assert parser.stats == ParserStats(malformed=1)


def test_parse_card_line_is_the_same_rule_without_a_parser() -> None:
    assert parse_card_line(b"0012345678", LineFormat.AUTO) == 12345678
    assert parse_card_line(b"0012345678 ", LineFormat.AUTO) is None  # blanks are the parser's


def test_cr_lf_and_crlf_all_end_a_line_and_empty_lines_are_skipped() -> None:
    parser = LineParser(LineFormat.DECIMAL)
    results = parser.feed(b"0000000001\r0000000002\n0000000003\r\n\r\n\n  \r\n0000000004\n")
    assert results == [tag(f"000000000{n}") for n in range(1, 5)]
    assert parser.stats == ParserStats(frames=4)


def test_blanks_around_the_id_are_tolerated() -> None:
    assert LineParser().feed(b"  0012345678\t\r\n") == [CARD]


def test_a_line_split_anywhere_is_read_once() -> None:
    parser = LineParser()
    results: list[ReadResult] = []
    for byte in b"0012345678\r\n" * 2:
        results += parser.feed(bytes([byte]))
    assert results == [CARD, CARD]


def test_an_overlong_line_is_rejected_once_and_the_next_line_is_read() -> None:
    parser = LineParser()
    results = parser.feed(b"1" * (MAX_LINE_BYTES + 1))
    assert results == [Rejected(RejectReason.OVERLONG, f"over {MAX_LINE_BYTES} bytes")]
    assert parser.buffered == 0
    assert parser.feed(b"2" * 5000 + b"\r\n0012345678\n") == [CARD]
    assert parser.stats == ParserStats(frames=1, overlong=1)


def test_a_line_of_exactly_the_limit_is_read() -> None:
    line = b"0012345678".center(MAX_LINE_BYTES)
    assert len(line) == MAX_LINE_BYTES
    assert LineParser().feed(line + b"\n") == [CARD]


def test_line_reset_forgets_a_partial_line() -> None:
    parser = LineParser()
    parser.feed(b"00123")
    parser.reset()
    assert parser.feed(b"0012345678\n") == [CARD]


def test_an_unknown_line_format_is_refused() -> None:
    with pytest.raises(ValueError, match="octal"):
        LineParser("octal")


@given(st.lists(st.binary(max_size=80), max_size=20), st.sampled_from(LineFormat))
def test_arbitrary_bytes_never_raise_and_never_grow_the_line_buffer(
    chunks: list[bytes], line_format: LineFormat
) -> None:
    parser = LineParser(line_format)
    results: list[ReadResult] = []
    for chunk in chunks:
        results += parser.feed(chunk)
        assert parser.buffered <= MAX_LINE_BYTES
    stats = parser.stats
    assert len(results) == stats.frames + stats.malformed + stats.overlong


@given(
    st.lists(cards, max_size=6),
    st.sampled_from([b"\r", b"\n", b"\r\n"]),
    st.data(),
)
def test_every_decimal_line_is_read_however_the_stream_is_chunked(
    sent: list[int], end: bytes, data: st.DataObject
) -> None:
    stream = b"".join(b"%010d" % card + end for card in sent)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=8)))
    parser = LineParser(LineFormat.AUTO)
    results: list[ReadResult] = []
    for start, stop in zip([0, *cuts], [*cuts, len(stream)], strict=True):
        results += parser.feed(stream[start:stop])
    assert results == [rfid_tag(card) for card in sent]


@given(cards, versions)
def test_a_hex_id_and_its_card_number_agree(card: int, version: int) -> None:
    hex_line = b"%02X%08X\n" % (version, card)
    decimal_line = b"%010d\n" % card
    assert LineParser(LineFormat.HEX).feed(hex_line) == LineParser().feed(decimal_line)
    assert LineParser().feed(decimal_line) == [rfid_tag(card)]
    assert len(rfid_tag(card).value) == CARD_NUMBER_DIGITS


# -- repeat suppression -----------------------------------------------------------


def test_a_fob_held_on_the_reader_is_one_read() -> None:
    repeats = RepeatFilter(1.5)
    reads = [repeats.accept("0012345678", 100.0 + i * 0.1) for i in range(50)]  # 5 s held
    assert reads == [True] + [False] * 49


def test_the_same_fob_after_the_window_of_silence_is_a_new_read() -> None:
    repeats = RepeatFilter(1.5)
    assert repeats.accept("0012345678", 10.0)
    assert not repeats.accept("0012345678", 11.0)
    assert not repeats.accept("0012345678", 12.4)  # 1.4 s after the last frame: still held
    assert repeats.accept("0012345678", 13.9)  # 1.5 s of silence
    assert not repeats.accept("0012345678", 14.0)


def test_different_fobs_are_independent() -> None:
    repeats = RepeatFilter(1.5)
    assert repeats.accept("0000000001", 0.0)
    assert repeats.accept("0000000002", 0.1)
    assert not repeats.accept("0000000001", 0.2)
    assert not repeats.accept("0000000002", 0.3)


def test_a_zero_window_accepts_every_read() -> None:
    repeats = RepeatFilter(0.0)
    assert all(repeats.accept("0000000001", 1.0) for _ in range(3))


def test_only_fobs_seen_within_the_window_are_remembered() -> None:
    repeats = RepeatFilter(1.5)
    for i in range(1000):
        repeats.accept(f"{i:010d}", i * 1.0)
    assert len(repeats) <= 2


def test_tag_ids_work_as_repeat_keys() -> None:
    repeats = RepeatFilter()
    assert repeats.accept(CARD, 0.0)
    assert not repeats.accept(rfid_tag(12345678), 0.5)


def test_a_negative_window_is_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        RepeatFilter(-1.0)


@given(
    st.lists(st.floats(min_value=0, max_value=20, allow_nan=False), min_size=1, max_size=30),
    st.floats(min_value=0.05, max_value=5),
)
def test_a_read_is_new_exactly_when_the_gap_since_the_last_one_is_the_window(
    gaps: list[float], window: float
) -> None:
    repeats = RepeatFilter(window)
    last = 0.0
    assert repeats.accept("x", last)
    for gap in gaps:
        now = last + gap
        assert repeats.accept("x", now) is (now - last >= window)
        last = now


# -- keyboard wedges ---------------------------------------------------------------


def test_key_codes_are_the_kernels() -> None:
    assert EV_KEY == ecodes.EV_KEY
    assert KEY_ENTER == ecodes.KEY_ENTER
    assert KEY_KPENTER == ecodes.KEY_KPENTER
    decoder = WedgeDecoder()
    for char in "0123456789ABCDEF":
        assert decoder.feed(ecodes.EV_KEY, ecodes.ecodes[f"KEY_{char}"], 1) == char
    for digit in "0123456789":
        assert decoder.feed(ecodes.EV_KEY, ecodes.ecodes[f"KEY_KP{digit}"], 1) == digit


def key_presses(text: str, *, keypad: bool = False) -> list[evdev.InputEvent]:
    """The input events a wedge sends to type `text` ("\\n" is Enter), with scan codes and SYNs."""
    events = []
    for char in text:
        if char == "\n":
            code = ecodes.KEY_KPENTER if keypad else ecodes.KEY_ENTER
        elif char.isdigit() and keypad:
            code = ecodes.ecodes[f"KEY_KP{char}"]
        else:
            code = ecodes.ecodes[f"KEY_{char.upper()}"]
        shifted = char.isalpha()
        if shifted:
            events.append(evdev.InputEvent(0, 0, ecodes.EV_KEY, ecodes.KEY_LEFTSHIFT, 1))
        for value in (1, 0):
            events.append(evdev.InputEvent(0, 0, ecodes.EV_MSC, ecodes.MSC_SCAN, 0x70027))
            events.append(evdev.InputEvent(0, 0, ecodes.EV_KEY, code, value))
            events.append(evdev.InputEvent(0, 0, ecodes.EV_SYN, ecodes.SYN_REPORT, 0))
        if shifted:
            events.append(evdev.InputEvent(0, 0, ecodes.EV_KEY, ecodes.KEY_LEFTSHIFT, 0))
    return events


def typed(events: list[evdev.InputEvent]) -> str:
    decoder = WedgeDecoder()
    return "".join(c for e in events if (c := decoder.feed(e.type, e.code, e.value)) is not None)


def test_a_wedge_typing_a_card_number_and_enter_gives_the_line() -> None:
    assert typed(key_presses("0012345678\n")) == "0012345678\n"


def test_keypad_digits_and_keypad_enter_type_the_same() -> None:
    assert typed(key_presses("0012345678\n", keypad=True)) == "0012345678\n"


def test_shifted_hex_letters_type_upper_case_and_shift_types_nothing() -> None:
    assert typed(key_presses("3c00bc614e\n")) == "3C00BC614E\n"


def test_releases_autorepeats_and_other_events_type_nothing() -> None:
    decoder = WedgeDecoder()
    assert decoder.feed(ecodes.EV_KEY, ecodes.KEY_1, 0) is None
    assert decoder.feed(ecodes.EV_KEY, ecodes.KEY_1, 2) is None
    assert decoder.feed(ecodes.EV_SYN, ecodes.SYN_REPORT, 0) is None
    assert decoder.feed(ecodes.EV_MSC, ecodes.MSC_SCAN, 2) is None
    for modifier in ("KEY_LEFTSHIFT", "KEY_RIGHTSHIFT", "KEY_CAPSLOCK", "KEY_NUMLOCK"):
        assert decoder.feed(ecodes.EV_KEY, ecodes.ecodes[modifier], 1) is None


def test_an_unexpected_key_spoils_its_line_instead_of_shortening_it() -> None:
    events = key_presses("00123")
    events.append(evdev.InputEvent(0, 0, ecodes.EV_KEY, ecodes.KEY_G, 1))
    events += key_presses("45678\n")
    parser = LineParser()
    assert reasons(parser.feed(typed(events).encode("ascii"))) == [RejectReason.MALFORMED]


@pytest.mark.parametrize(
    ("text", "line_format", "value"),
    [
        ("0012345678\n", LineFormat.AUTO, "0012345678"),
        ("3C00BC614E\n", LineFormat.AUTO, "0012345678"),
        ("00BC614E\n", LineFormat.HEX, "0012345678"),
    ],
)
def test_wedge_lines_read_as_card_numbers(text: str, line_format: LineFormat, value: str) -> None:
    parser = LineParser(line_format)
    assert parser.feed(typed(key_presses(text)).encode("ascii")) == [tag(value)]


@given(st.lists(st.tuples(st.integers(0, 0x1F), st.integers(0, 0x2FF), st.integers(-1, 3))))
def test_arbitrary_input_events_never_raise(events: list[tuple[int, int, int]]) -> None:
    decoder = WedgeDecoder()
    parser = LineParser()
    for event in events:
        char = decoder.feed(*event)
        assert char is None or len(char) == 1
        if char is not None:
            parser.feed(char.encode("ascii"))
