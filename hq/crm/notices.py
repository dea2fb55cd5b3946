"""HQ's copy of the consent notices: what the phone sign-up page shows and records.

The file has the shape of a content bundle's notices.json (docs/bundle.md):

    {"notices": [{"purpose": "membership", "version": "2026-11",
                  "label": {"zh-CN": "...", "en": "..."},
                  "text": {"zh-CN": "...", "en": "..."}}, ...]}

one notice per purpose, all four. HQ does not import the kiosk's `content`
package, so this is its own small model of the same document. A consent
records the notice's version and the SHA-256 of the text exactly as shown, in
the language shown (`Notice.sha256`), as the kiosk does.

`NoticeFile` rereads the file when it changes, so HQ staff can publish a new
version without restarting HQ; a broken file keeps the last good one in use.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Final, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    model_validator,
)

from hq.errors import HqError

_log = logging.getLogger("hq.crm.notices")

Purpose = Literal["membership", "marketing", "recognition", "personalisation"]
Language = Literal["zh-CN", "en"]

PURPOSES: Final[tuple[Purpose, ...]] = ("membership", "marketing", "recognition", "personalisation")
# The order the sign-up page lists them in: the required one first.

TEXT_MAX: Final = 2000  # as the bundle allows: a notice longer than a screenful is not read
MAX_FILE_BYTES: Final = 1024 * 1024  # four notices of 2,000 characters are ~50 kB


class NoticesUnavailable(HqError):
    """There are no usable notices; the message says which file and what is wrong."""


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


NoticeText = Annotated[str, StringConstraints(min_length=1, max_length=TEXT_MAX)]


class LocalizedText(_Frozen):
    zh_cn: Annotated[NoticeText, Field(alias="zh-CN")]
    en: NoticeText

    def get(self, language: Language) -> str:
        return self.zh_cn if language == "zh-CN" else self.en


class Notice(_Frozen):
    purpose: Purpose
    version: Annotated[str, StringConstraints(min_length=1, max_length=50)]
    label: LocalizedText
    text: LocalizedText

    def sha256(self, language: Language) -> str:
        """The hash of the notice text as shown in `language` (UTF-8), lower-case hex."""
        return hashlib.sha256(self.text.get(language).encode("utf-8")).hexdigest()


class Notices(_Frozen):
    notices: tuple[Notice, ...]

    @model_validator(mode="after")
    def _each_purpose_once(self) -> Notices:
        seen = [notice.purpose for notice in self.notices]
        twice = sorted({purpose for purpose in seen if seen.count(purpose) > 1})
        if twice:
            raise ValueError(f"more than one notice for {', '.join(twice)}")
        missing = [purpose for purpose in PURPOSES if purpose not in seen]
        if missing:
            raise ValueError(f"no notice for {', '.join(missing)}")
        return self

    def notice(self, purpose: Purpose) -> Notice:
        for notice in self.notices:
            if notice.purpose == purpose:
                return notice
        raise KeyError(purpose)  # cannot happen: every purpose was checked at load

    def in_order(self) -> tuple[Notice, ...]:
        return tuple(self.notice(purpose) for purpose in PURPOSES)


NoticeSource = Callable[[], Notices]
"""The notices in force now; raises NoticesUnavailable when there are none."""


def parse_notices(document: bytes | str, *, source: str = "notices") -> Notices:
    """The notices in a notices.json document; NoticesUnavailable naming the problem."""
    try:
        return Notices.model_validate_json(document)
    except ValidationError as error:
        problems = error.errors(include_url=False, include_input=False, include_context=False)
        first = problems[0]
        where = ".".join(str(part) for part in first["loc"]) or "document"
        more = f" (and {len(problems) - 1} more problems)" if len(problems) > 1 else ""
        raise NoticesUnavailable(f"{source}: {where}: {first['msg']}{more}") from None


def load_notices(path: Path) -> Notices:
    try:
        with path.open("rb") as file:
            document = file.read(MAX_FILE_BYTES + 1)
    except OSError as error:
        raise NoticesUnavailable(f"cannot read {path}: {error.strerror or error}") from None
    if len(document) > MAX_FILE_BYTES:
        raise NoticesUnavailable(f"{path} is larger than {MAX_FILE_BYTES} bytes")
    return parse_notices(document, source=str(path))


class NoticeFile:
    """The notices in `path`, read again whenever the file changes (size or mtime).

    A file that goes missing or turns invalid is logged once; the last good notices
    stay in force meanwhile (a half-edited file must not stop sign-ups). With no
    good notices yet, calling it raises NoticesUnavailable.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._seen: tuple[int, int] | None = None  # (mtime_ns, size) last read
        self._notices: Notices | None = None
        self._problem: str | None = None

    def __call__(self) -> Notices:
        with self._lock:
            try:
                info = os.stat(self.path)
                stamp: tuple[int, int] | None = (info.st_mtime_ns, info.st_size)
            except OSError:
                stamp = None
            if stamp is None or stamp != self._seen:
                self._reload(stamp)
            if self._notices is None:
                raise NoticesUnavailable(self._problem or f"no notices in {self.path}")
            return self._notices

    def _reload(self, stamp: tuple[int, int] | None) -> None:
        try:
            notices = load_notices(self.path)
        except NoticesUnavailable as problem:
            if str(problem) != self._problem:
                kept = "; keeping the notices read before" if self._notices else ""
                _log.error("consent notices unusable: %s%s", problem, kept)
            self._problem = str(problem)
            self._seen = stamp
            return
        if self._problem is not None or self._notices is None:
            _log.info("consent notices read from %s", self.path)
        self._notices, self._seen, self._problem = notices, stamp, None


__all__ = [
    "PURPOSES",
    "Language",
    "LocalizedText",
    "Notice",
    "NoticeFile",
    "NoticeSource",
    "Notices",
    "NoticesUnavailable",
    "Purpose",
    "load_notices",
    "parse_notices",
]
