"""Outlook's reply header is cut in every form it reaches the stripper: plain text, read from
HTML with **bold** labels, fields a blank line apart or all on one line, English or Japanese."""

from __future__ import annotations

import pytest

from mailbridge import quotes

TOP = "インラインで回答します。"
JA = [
    ("差出人", "Hiroba <hiroba@hub.test>"),
    ("送信日時", "2026年12月1日 8:00"),
    ("宛先", "山本 太郎 <yamamoto@corp.example>"),
    ("件名", "[Hiroba] ダイジェスト"),
]
EN = [
    ("From", "Hiroba <hiroba@hub.test>"),
    ("Sent", "Tuesday, December 1, 2026 8:00 AM"),
    ("To", "Yamamoto <yamamoto@corp.example>"),
    ("Subject", "[Hiroba] Digest"),
]
MOBILE = [JA[0], ("日付", "2026年12月1日火曜日 8:00"), *JA[2:]]


def _header(fields: list[tuple[str, str]], bold: bool, joint: str) -> str:
    label = "**{}:**" if bold else "{}:"
    return joint.join(f"{label.format(k)} {v}" for k, v in fields)


@pytest.mark.parametrize("fields", [JA, EN, MOBILE], ids=["ja", "en", "mobile"])
@pytest.mark.parametrize("bold", [False, True], ids=["plain", "bold"])
@pytest.mark.parametrize("joint", ["\n", "\n\n", " "], ids=["lines", "paragraphs", "one-line"])
def test_the_header_block_is_cut(fields, bold, joint):
    body = "ダイジェストの本文\n\n[#3] 緊急連絡網の更新\n\n連絡網の件、了解です。"
    text = f"{TOP}\n\n{_header(fields, bold, joint)}\n\n{body}"
    stripped = quotes.strip_reply(text)
    assert stripped.text == TOP
    assert fields[0][1] in stripped.trimmed
    assert quotes.inline_answers(text) == [("", TOP)]


@pytest.mark.parametrize(
    "text",
    [
        "From: 経理部の田中さん\n\n来週の件、了解です。",
        "From: 田中\n\nTo: 山本\n\n請求書の件です。",
        "To: all\nSubject: lunch on Friday",
    ],
)
def test_text_that_only_starts_like_a_header_stays(text):
    assert quotes.strip_reply(text).text == text
