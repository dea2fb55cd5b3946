"""HQ's log lines: one record is one line, whatever a client put in a request.

Paths, store ids and kiosk names reach HQ's logs from requests. Logged raw, a
`%0A` in a URL would forge whole log lines and a `%1b` would send escape
sequences to the terminal of whoever reads the log. So:

- `path_for_log` gives a request path as it is percent-encoded on the wire (never
  the decoded text), with what identifies a person (tag hashes, sign-up links)
  replaced by placeholders;
- `OneLineFormatter`, which `kiosk-hq serve` logs through, writes every control
  character of a message as a backslash escape, and indents each line of a
  traceback, so that only a record's own first line starts at column 0.
"""

from __future__ import annotations

import logging
import re
from typing import Any, Final
from urllib.parse import quote

LOG_FORMAT: Final = "%(asctime)s %(levelname)s %(name)s: %(message)s"

_PATH_SAFE: Final = "/-._~!$&'()*+,;=:@"
# RFC 3986's pchar set without "%": a literal "%" is encoded too, so what is logged
# reads back to exactly the path HQ saw.

_TAG_HASH_SEGMENT: Final = re.compile(r"(?<=/)[0-9a-fA-F]{64}(?=/|$)")
# `DELETE /v1/admin/customers/{member_id}/tags/{tag_hash}`: a tag hash stands for a
# person's fob, and is no more logged than the fob's number.
_JOIN_TOKEN: Final = re.compile(r"(?<=/join/)[^/]+")
# `/join/{token}`: a one-time sign-up link, as good as a password until it is used.

_CONTROL: Final = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
# C0 and C1 controls (newline, ESC, CSI...) and the Unicode line separators that
# some log viewers break lines on.
_TRACEBACK_INDENT: Final = "    "


def path_for_log(path: str) -> str:
    """The decoded request path `path` fit for a log line: percent-encoded, no tag
    hash nor sign-up token in it."""
    encoded = quote(path, safe=_PATH_SAFE)
    return _JOIN_TOKEN.sub("<token>", _TAG_HASH_SEGMENT.sub("<tag_hash>", encoded))


def escape_controls(text: str) -> str:
    """`text` with each control character written as `\\xNN` (or `\\uNNNN`)."""
    return _CONTROL.sub(_escape, text)


def _escape(found: re.Match[str]) -> str:
    code = ord(found.group())
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


class OneLineFormatter(logging.Formatter):
    """A record's message on one line; its traceback, if any, indented below it."""

    def formatMessage(self, record: logging.LogRecord) -> str:
        return escape_controls(super().formatMessage(record))

    def formatException(self, ei: logging._SysExcInfoType) -> str:
        return _indented(super().formatException(ei))

    def formatStack(self, stack_info: str) -> str:
        return _indented(super().formatStack(stack_info))


def _indented(text: str) -> str:
    return "\n".join(_TRACEBACK_INDENT + escape_controls(line) for line in text.splitlines())


def configure_logging(level: int) -> None:
    """Log to stderr at `level`, each record through `OneLineFormatter` (`kiosk-hq`).

    A no-op where logging is set up already (pytest's capture, say)."""
    handler = logging.StreamHandler()
    handler.setFormatter(OneLineFormatter(LOG_FORMAT))
    logging.basicConfig(level=level, handlers=[handler])


def dict_config(level: str = "INFO", fmt: str = LOG_FORMAT) -> dict[str, Any]:
    """The same set-up for `logging.config.dictConfig`: for a server that configures
    logging itself, e.g. gunicorn's `logconfig_dict` with uvicorn workers."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"one_line": {"()": OneLineFormatter, "fmt": fmt}},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "one_line"}},
        "root": {"level": level, "handlers": ["stderr"]},
        "loggers": {
            # gunicorn's and uvicorn's own loggers write through the same handler; uvicorn's
            # gunicorn worker gives uvicorn.error gunicorn.error's handlers, so it has its own.
            "gunicorn.error": {"level": level, "handlers": ["stderr"], "propagate": False},
            **{
                name: {"level": level, "handlers": [], "propagate": True}
                for name in ("uvicorn", "uvicorn.error")
            },
            # ...but not their access logs, which print query strings (hq.access does not).
            **{
                name: {"level": "WARNING", "handlers": [], "propagate": False}
                for name in ("gunicorn.access", "uvicorn.access")
            },
        },
    }
