"""HQ's log formatting: a record is one line whatever text it carries."""

from __future__ import annotations

import logging
import sys

from hq.logs import LOG_FORMAT, OneLineFormatter, dict_config, path_for_log


def _record(message: str, *args: object, exc_info: bool = False) -> logging.LogRecord:
    return logging.LogRecord(
        "hq.test", logging.WARNING, __file__, 1, message, args,
        sys.exc_info() if exc_info else None,
    )  # fmt: skip


def test_control_characters_in_a_message_are_escaped_on_its_one_line() -> None:
    formatted = OneLineFormatter(LOG_FORMAT).format(
        _record("kiosk %s enrolled", "k1\n2026-12-06 09:00:00,000 INFO forged\x1b[2J\u2028x")
    )
    assert "\n" not in formatted
    assert formatted.endswith(
        r"kiosk k1\x0a2026-12-06 09:00:00,000 INFO forged\x1b[2J\u2028x enrolled"
    )


def test_a_traceback_is_indented_below_its_record_even_if_its_message_has_lines() -> None:
    try:
        raise ValueError("bad value\n2026-12-06 09:00:00,000 INFO forged\x1b[2J")
    except ValueError:
        formatted = OneLineFormatter(LOG_FORMAT).format(_record("failed", exc_info=True))
    first, *rest = formatted.split("\n")
    assert first.endswith("WARNING hq.test: failed")
    assert rest
    assert all(line.startswith("    ") for line in rest), rest
    assert "\x1b" not in formatted


def test_a_path_is_logged_as_it_is_sent_without_what_identifies_a_person() -> None:
    tag_hash = "ab" * 32
    assert path_for_log("/v1/health\n\x1b") == "/v1/health%0A%1B"
    assert path_for_log("/v1/100%") == "/v1/100%25"  # reads back to the very path
    assert path_for_log(f"/v1/admin/customers/m/tags/{tag_hash}") == (
        "/v1/admin/customers/m/tags/<tag_hash>"
    )
    assert path_for_log("/join/SECRETTOKEN") == "/join/<token>"
    assert path_for_log("/v1/café") == "/v1/caf%C3%A9"


def test_the_dict_config_logs_through_the_one_line_formatter() -> None:
    config = dict_config("WARNING")
    # What dictConfig builds from it, without touching this process's logging.
    formatter_spec = dict(config["formatters"]["one_line"])
    factory = formatter_spec.pop("()")
    formatter = factory(**formatter_spec)
    assert isinstance(formatter, OneLineFormatter)
    assert "\n" not in formatter.format(_record("a\nb"))
    assert config["root"]["handlers"] == ["stderr"]
    assert config["handlers"]["stderr"]["formatter"] == "one_line"
