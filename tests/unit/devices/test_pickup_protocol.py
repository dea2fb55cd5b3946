"""The pickup board line protocol: parsing, encoding, checksums, line splitting."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from devices.events import AlarmReason
from devices.protocols.pickup import (
    MAX_LINE_BYTES,
    AlarmLine,
    Drop,
    Hello,
    Led,
    LedMode,
    Lift,
    LineSplitter,
    Message,
    Rejected,
    RejectReason,
    State,
    StateQuery,
    checksum,
    encode,
    format_message,
    frame,
    parse_line,
)

# Lines as the board and host put them on the wire (checksums worked out by
# hand, see docs/protocols.md).
HELLO_LINE = b"HELLO SIM-0001 1.4.2 12*2D\r\n"
LIFT_3 = b"LIFT 3*04\n"
DROP_3 = b"DROP 3*1A\n"
ALARM_7_CABLE = b"ALARM 7 CABLE*2D\n"
STATE_1_AND_3 = b"STATE 5*42\n"
STATE_12 = b"STATE 800*4f\n"
LED_3_ON = b"LED 3 ON*7F\n"
LED_12_BLINK = b"LED 12 BLINK*0C\n"
STATE_QUERY = b"STATE?*68\n"


def rejected(line: bytes) -> RejectReason:
    result = parse_line(line)
    assert isinstance(result, Rejected), result
    return result.reason


# -- checksum ---------------------------------------------------------------


def test_checksum_matches_the_nmea_reference_sentence() -> None:
    # The classic NMEA 0183 example: $GPGGA,...*47 (the checksum excludes '$').
    sentence = b"GPGGA,123519,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,"
    assert checksum(sentence) == 0x47


def test_checksum_of_nothing_is_zero() -> None:
    assert checksum(b"") == 0


# -- board lines --------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (HELLO_LINE, Hello("SIM-0001", "1.4.2", 12)),
        (LIFT_3, Lift(3)),
        (DROP_3, Drop(3)),
        (ALARM_7_CABLE, AlarmLine(7, AlarmReason.CABLE_CUT)),
        (b"ALARM 2 PUCK\n", AlarmLine(2, AlarmReason.PUCK_REMOVED)),
        (STATE_1_AND_3, State(frozenset({1, 3}))),
        (STATE_12, State(frozenset({12}))),
        (b"STATE 0\n", State(frozenset())),
        (LED_3_ON, Led(3, LedMode.ON)),
        (LED_12_BLINK, Led(12, LedMode.BLINK)),
        (b"LED 1 OFF", Led(1, LedMode.OFF)),
        (STATE_QUERY, StateQuery()),
    ],
)
def test_wire_lines_parse_to_messages(line: bytes, message: Message) -> None:
    assert parse_line(line) == message


def test_unknown_alarm_reason_reads_as_other() -> None:
    assert parse_line(b"ALARM 4 TAMPER\n") == AlarmLine(4, AlarmReason.OTHER)


def test_line_without_checksum_is_accepted() -> None:
    assert parse_line(b"LIFT 3\n") == Lift(3)


def test_crlf_lf_and_no_terminator_all_read_the_same() -> None:
    assert parse_line(b"LIFT 3*04\r\n") == parse_line(b"LIFT 3*04\n") == parse_line(b"LIFT 3*04")


def test_lower_case_checksum_digits_are_accepted() -> None:
    assert parse_line(b"STATE 800*4f") == parse_line(b"STATE 800*4F") == State(frozenset({12}))


def test_extra_spaces_between_fields_are_tolerated() -> None:
    body = b" LIFT   3 "
    assert parse_line(body + b"*%02X\n" % checksum(body)) == Lift(3)


def test_slots_run_from_1_to_256() -> None:
    assert parse_line(b"LIFT 1") == Lift(1)
    assert parse_line(b"LIFT 256") == Lift(256)
    assert parse_line(b"LIFT 007") == Lift(7)


def test_full_state_mask_covers_all_256_slots() -> None:
    assert parse_line(b"STATE " + b"F" * 64) == State(frozenset(range(1, 257)))


def test_state_bit_n_minus_1_is_slot_n() -> None:
    assert parse_line(b"STATE 1") == State(frozenset({1}))
    assert parse_line(b"STATE 80") == State(frozenset({8}))
    assert parse_line(b"STATE 8" + b"0" * 63) == State(frozenset({256}))


# -- bad input --------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (b"", RejectReason.NOISE),
        (b"\r\n", RejectReason.NOISE),
        (b"   \n", RejectReason.NOISE),
        (b"\xfe\x13\x88\n", RejectReason.NOISE),
        (b"LIFT\t3\n", RejectReason.NOISE),
        (b"LIFT 3\x00\n", RejectReason.NOISE),
        ("LIFT 3 é".encode(), RejectReason.NOISE),
        (b"#$%&\n", RejectReason.NOISE),
        (b"12 LIFT\n", RejectReason.NOISE),
        (b"LIFT 3*05\n", RejectReason.BAD_CHECKSUM),
        (b"LIFT 3*\n", RejectReason.BAD_CHECKSUM),
        (b"LIFT 3*0G\n", RejectReason.BAD_CHECKSUM),
        (b"LIFT 3*004\n", RejectReason.BAD_CHECKSUM),
        (b"LIFT 4*04\n", RejectReason.BAD_CHECKSUM),
        (b"RESET\n", RejectReason.UNKNOWN_COMMAND),
        (b"lift 3\n", RejectReason.UNKNOWN_COMMAND),
        (b"STATUS?\n", RejectReason.UNKNOWN_COMMAND),
        (b"LIFT\n", RejectReason.MALFORMED),
        (b"LIFT 0\n", RejectReason.MALFORMED),
        (b"LIFT 257\n", RejectReason.MALFORMED),
        (b"LIFT 1000\n", RejectReason.MALFORMED),
        (b"LIFT -3\n", RejectReason.MALFORMED),
        (b"LIFT +3\n", RejectReason.MALFORMED),
        (b"LIFT 3 4\n", RejectReason.MALFORMED),
        (b"DROP x\n", RejectReason.MALFORMED),
        (b"ALARM 3\n", RejectReason.MALFORMED),
        (b"ALARM 300 CABLE\n", RejectReason.MALFORMED),
        (b"ALARM 3 CABLE CUT\n", RejectReason.MALFORMED),
        (b"STATE\n", RejectReason.MALFORMED),
        (b"STATE xyz\n", RejectReason.MALFORMED),
        (b"STATE 0x5\n", RejectReason.MALFORMED),
        (b"STATE 1" + b"0" * 64 + b"\n", RejectReason.MALFORMED),
        (b"STATE? 3\n", RejectReason.MALFORMED),
        (b"HELLO SIM-0001 1.4.2\n", RejectReason.MALFORMED),
        (b"HELLO SIM-0001 1.4.2 0\n", RejectReason.MALFORMED),
        (b"LED 3 DIM\n", RejectReason.MALFORMED),
        (b"LED 3 on\n", RejectReason.MALFORMED),
        (b"LED 0 ON\n", RejectReason.MALFORMED),
    ],
)
def test_bad_lines_are_rejected_with_their_reason(line: bytes, reason: RejectReason) -> None:
    assert rejected(line) is reason


def test_a_line_of_exactly_128_bytes_is_read() -> None:
    body = b"LIFT 3" + b" " * (MAX_LINE_BYTES - len(b"LIFT 3*HH"))
    line = body + b"*%02X" % checksum(body)
    assert len(line) == MAX_LINE_BYTES
    assert parse_line(line + b"\r\n") == Lift(3)


def test_a_line_of_129_bytes_is_overlong() -> None:
    assert rejected(b"LIFT 3" + b" " * (MAX_LINE_BYTES + 1 - 6) + b"\n") is RejectReason.OVERLONG


def test_bad_checksum_wins_over_a_body_that_would_parse() -> None:
    # A corrupted line must not be interpreted, whatever it seems to say.
    assert rejected(b"LIFT 3*FF\n") is RejectReason.BAD_CHECKSUM


@given(st.binary(max_size=300))
def test_arbitrary_bytes_never_raise(raw: bytes) -> None:
    result = parse_line(raw)
    assert isinstance(result, Rejected | Hello | Lift | Drop | AlarmLine | State | StateQuery | Led)


@given(st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=140))
def test_arbitrary_printable_lines_never_raise(text: str) -> None:
    parse_line(text.encode("ascii"))
    parse_line(text.encode("ascii") + b"*00\r\n")


_COMMAND_WORDS = ["HELLO", "LIFT", "DROP", "ALARM", "STATE", "STATE?", "LED"]
_ARGS = st.sampled_from(["0", "1", "256", "257", "ON", "BLINK", "CABLE", "F" * 65, "-1", "", "*"])


@given(st.sampled_from(_COMMAND_WORDS), st.lists(_ARGS, max_size=4), st.booleans())
def test_known_words_with_arbitrary_arguments_never_raise(
    word: str, args: list[str], with_checksum: bool
) -> None:
    body = " ".join([word, *args])
    line = body.encode() + (b"*%02X" % checksum(body.encode()) if with_checksum else b"")
    parse_line(line)


# -- encoding ---------------------------------------------------------------


def test_host_commands_encode_with_checksum_and_lf() -> None:
    assert encode(Led(3, LedMode.ON)) == LED_3_ON
    assert encode(Led(12, LedMode.BLINK)) == LED_12_BLINK
    assert encode(StateQuery()) == STATE_QUERY


def test_board_lines_encode_as_in_the_spec() -> None:
    assert encode(Hello("SIM-0001", "1.4.2", 12)) == HELLO_LINE.replace(b"\r", b"")
    assert encode(Lift(3)) == LIFT_3
    assert encode(AlarmLine(7, AlarmReason.CABLE_CUT)) == ALARM_7_CABLE
    assert encode(State(frozenset({1, 3}))) == STATE_1_AND_3
    assert encode(State(frozenset())) == b"STATE 0*47\n"


def test_encode_can_leave_out_the_checksum() -> None:
    assert encode(Drop(3), with_checksum=False) == b"DROP 3\n"


def test_a_framed_line_carries_its_checksum_unless_told_not_to() -> None:
    assert frame("DROP 3") == DROP_3
    assert frame("DROP 3", with_checksum=False) == b"DROP 3\n"


@pytest.mark.parametrize(
    "message",
    [
        Led(0, LedMode.ON),
        Led(257, LedMode.OFF),
        Lift(0),
        State(frozenset({257})),
        Hello("has space", "1.0", 4),
        Hello("id*", "1.0", 4),
        Hello("SIM", "1.0", 0),
        Hello("x" * 130, "1.0", 4),
        Hello("", "1.0", 4),
        Hello("SIM", "", 4),
        Hello("SIM-é", "1.0", 4),
        Hello("SIM\t1", "1.0", 4),
    ],
)
def test_encode_refuses_what_the_protocol_cannot_carry(message: Message) -> None:
    with pytest.raises(ValueError, match=r"."):
        encode(message)


@pytest.mark.parametrize("board_id", ["", "has space", "id*", "SIM-é", "SIM\t1"])
def test_a_board_id_that_is_not_one_printable_ascii_word_has_no_line(board_id: str) -> None:
    with pytest.raises(ValueError, match="single printable ASCII word"):
        format_message(Hello(board_id, "1.0", 4))


def test_the_longest_hello_the_protocol_allows_goes_on_the_wire_and_reads_back() -> None:
    # "HELLO " + id + " 1.0 8" + "*HH" is exactly 128 bytes with a 113-character id.
    longest = Hello("B" * 113, "1.0", 8)
    line = encode(longest)
    assert len(line) == MAX_LINE_BYTES + 1  # and the LF
    assert parse_line(line) == longest
    with pytest.raises(ValueError, match="longer than 128"):
        encode(Hello("B" * 114, "1.0", 8))


def test_frame_refuses_non_printable_bodies() -> None:
    with pytest.raises(ValueError, match="printable"):
        frame("LIFT 3\nDROP 3")


def test_format_message_is_the_body_for_logs() -> None:
    assert format_message(Led(3, LedMode.ON)) == "LED 3 ON"
    assert format_message(State(frozenset({12}))) == "STATE 800"


slots = st.integers(min_value=1, max_value=256)
words = st.text(alphabet="ABCXYZ0123456789-._", min_size=1, max_size=20)
messages: st.SearchStrategy[Message] = st.one_of(
    st.builds(Hello, words, words, slots),
    st.builds(Lift, slots),
    st.builds(Drop, slots),
    st.builds(AlarmLine, slots, st.sampled_from(AlarmReason)),
    st.builds(State, st.frozensets(slots)),
    st.just(StateQuery()),
    st.builds(Led, slots, st.sampled_from(LedMode)),
)


@given(messages, st.booleans())
def test_every_message_survives_encode_then_parse(message: Message, with_checksum: bool) -> None:
    assert parse_line(encode(message, with_checksum=with_checksum)) == message


# -- line splitting ---------------------------------------------------------


def test_splitter_joins_lines_across_chunks() -> None:
    splitter = LineSplitter()
    assert splitter.feed(b"LIF") == []
    assert splitter.feed(b"T 3*04\r\nDROP") == [b"LIFT 3*04\r"]
    assert splitter.feed(b" 3\n") == [b"DROP 3"]


def test_splitter_hands_out_an_overlong_line_once_then_resumes() -> None:
    splitter = LineSplitter()
    out = splitter.feed(b"x" * 200)
    out += splitter.feed(b"y" * 5000 + b"\nLIFT 3\n")
    assert [parse_line(line) for line in out] == [
        Rejected(RejectReason.OVERLONG, "130 bytes"),
        Lift(3),
    ]


def test_splitter_keeps_memory_bounded_on_a_flood_without_newlines() -> None:
    splitter = LineSplitter()
    for _ in range(100):
        splitter.feed(b"z" * 10_000)
    assert splitter.feed(b"\nLIFT 3\n") == [b"LIFT 3"]


def test_splitter_reports_a_flood_split_over_many_chunks_as_one_overlong_line() -> None:
    splitter = LineSplitter()
    out: list[bytes] = []
    for _ in range(5):
        out += splitter.feed(b"z" * 10_000)
    out += splitter.feed(b"\nLIFT 3\n")
    assert [parse_line(line) for line in out] == [
        Rejected(RejectReason.OVERLONG, "130 bytes"),
        Lift(3),
    ]


def test_splitter_waits_for_the_lf_of_a_longest_line_that_ends_a_chunk_with_cr() -> None:
    longest = encode(Hello("B" * 113, "1.0", 8)).replace(b"\n", b"\r\n")
    splitter = LineSplitter()
    assert splitter.feed(longest[:-1]) == []  # 128 bytes and the CR: the LF may still come
    (line,) = splitter.feed(b"\n")
    assert parse_line(line) == Hello("B" * 113, "1.0", 8)


def test_splitter_reports_a_line_that_cannot_fit_without_waiting_for_its_end() -> None:
    splitter = LineSplitter()
    assert splitter.feed(b"x" * (MAX_LINE_BYTES + 1)) == []
    (line,) = splitter.feed(b"x")  # 130 bytes: no CR/LF can make it fit any more
    assert parse_line(line) == Rejected(RejectReason.OVERLONG, "130 bytes")
    assert splitter.feed(b"x" * 50 + b"\nLIFT 3\n") == [b"LIFT 3"]


def test_splitter_reset_drops_a_partial_line() -> None:
    splitter = LineSplitter()
    splitter.feed(b"LIFT 1")
    splitter.reset()
    assert splitter.feed(b"DROP 2\n") == [b"DROP 2"]


@given(st.lists(messages, max_size=10), st.data())
def test_splitter_recovers_every_line_however_the_stream_is_chunked(
    sent: list[Message], data: st.DataObject
) -> None:
    stream = b"".join(encode(m) for m in sent)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=8)))
    splitter = LineSplitter()
    lines: list[bytes] = []
    for start, end in zip([0, *cuts], [*cuts, len(stream)], strict=True):
        lines += splitter.feed(stream[start:end])
    assert [parse_line(line) for line in lines] == sent


@given(st.lists(st.binary(max_size=400), max_size=6))
def test_splitter_never_hands_out_more_than_130_bytes(chunks: list[bytes]) -> None:
    splitter = LineSplitter()
    for chunk in chunks:
        for line in splitter.feed(chunk):
            assert len(line) <= MAX_LINE_BYTES + 2
            assert b"\n" not in line
