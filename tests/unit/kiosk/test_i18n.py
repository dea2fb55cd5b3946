"""The screens' own words: Chinese text is written with Chinese (full-width) punctuation."""

from __future__ import annotations

import re

import pytest

from content.model import Language
from kiosk.attendant.words import WORDS
from kiosk.i18n import STRINGS, half_width_punctuation

CJK = re.compile(r"[\u3400-\u9fff]")


def chinese_strings() -> list[tuple[str, str]]:
    found = [(key, texts[Language.ZH_CN]) for key, texts in STRINGS.items()]
    found += [(f"attendant:{key}", texts[Language.ZH_CN]) for key, texts in WORDS.items()]
    # A few zh-CN entries are English on purpose (the other language's invitation).
    return [(key, text) for key, text in found if CJK.search(text)]


def test_no_chinese_string_uses_half_width_punctuation() -> None:
    offending = {
        key: marks for key, text in chinese_strings() if (marks := half_width_punctuation(text))
    }
    assert offending == {}


@pytest.mark.parametrize(
    ("text", "marks"),
    [
        ("还在吗?", ["?"]),
        ("很遗憾, 这次没有中奖!", [",", "!"]),
        ("提示: 请联系店员 (可跳过);", [":", "(", ")", ";"]),
        ("还在吗？", []),
        ("{seconds} 秒后清除", []),  # placeholders are not text
        ("有效期至 {date}：", []),
        ("¥5,999 起", []),  # a thousands separator between digits is part of the number
        ("10:30 开门", []),  # so is a clock time
        ("1/3", []),
    ],
)
def test_the_check_finds_half_width_marks_and_only_those(text: str, marks: list[str]) -> None:
    assert half_width_punctuation(text) == marks
