"""Nothing is lost by the reply stripper: ``text`` and ``trimmed`` together hold every line."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mailbridge.parse import parse
from mailbridge.quotes import strip_reply

CORPUS = Path(__file__).resolve().parents[1] / "corpus"
MARKER = "##- この行より上に返信してください / Please reply above this line -##"


def _lines(text: str) -> list[str]:
    """Non-blank lines without trailing blanks (blank-line normalisation is allowed)."""
    return [line.rstrip() for line in text.replace("\r\n", "\n").split("\n") if line.strip()]


def assert_nothing_lost(text: str) -> None:
    """Every line of ``text`` is shown or trimmed, and ``trimmed`` keeps the original order."""
    result = strip_reply(text)
    original = _lines(text)
    missing = Counter(original) - Counter(_lines(result.text) + _lines(result.trimmed))
    assert not missing, (text, result)
    # ``trimmed`` is the original's lines, in their order (a subsequence), nothing invented.
    rest = iter(original)
    assert all(line in rest for line in _lines(result.trimmed)), (text, result)


@pytest.mark.parametrize(
    ("text", "trimmed"),
    [
        pytest.param(
            "承知しました。\n\n2026年11月27日(金) 10:00 Hiroba <hiroba@hub.test>:\n"
            "> 管理者:\n> 案です",
            "2026年11月27日(金) 10:00 Hiroba <hiroba@hub.test>:\n> 管理者:\n> 案です",
            id="gmail-ja",
        ),
        pytest.param(
            "ok\n\nOn Mon, Nov 2, 2026 at 10:00 AM X <x@y.example> wrote:\n> x",
            "On Mon, Nov 2, 2026 at 10:00 AM X <x@y.example> wrote:\n> x",
            id="gmail-en",
        ),
        pytest.param(
            "了解\n\niPhoneから送信\n\n2026/11/27 10:00、山田 <t@x.jp>のメール:\n\n> 案",
            "iPhoneから送信\n\n2026/11/27 10:00、山田 <t@x.jp>のメール:\n\n> 案",
            id="apple-ja-mobile",
        ),
        pytest.param(
            "---------- Forwarded message ---------\nFrom: A <a@x.jp>\nDate: Mon\n"
            "Subject: 件\nTo: B <b@x.jp>\n\n本文です",
            "---------- Forwarded message ---------\nFrom: A <a@x.jp>\nDate: Mon\n"
            "Subject: 件\nTo: B <b@x.jp>",
            id="forward-headers",
        ),
    ],
)
def test_trimmed_holds_attribution_and_quote(text: str, trimmed: str) -> None:
    result = strip_reply(text)
    assert result.trimmed == trimmed
    assert_nothing_lost(text)


def test_inline_answers_keep_the_cut_part_of_long_quotes_in_trimmed() -> None:
    quote = "\n".join(f"> line {n}" for n in range(30))
    text = f"On Mon, Nov 2, 2026 at 10:00 AM X <x@y.example> wrote:\n{quote}\nyes\n> tail\nno"
    result = strip_reply(text)
    assert "> line 29\nyes" in result.text and "> line 0" in result.trimmed
    assert result.trimmed.index("wrote:") < result.trimmed.index("> line 0")
    assert_nothing_lost(text)


_WORDS = st.sampled_from(
    ["承知しました。", "確認します", "Thanks", "ok", "予算案", "Re: 件", "ｶﾅ", "①", "a.", "x"]
)
_TEXT = st.lists(_WORDS, min_size=1, max_size=4).map(" ".join)
_ATTRIBUTIONS = st.sampled_from(
    [
        "On Fri, Nov 27, 2026 at 10:00 AM Taro Yamada <taro@corp.example> wrote:",
        "On Fri, Nov 27, 2026 at 10:00 AM Taro Yamada <taro@corp.example>\nwrote:",
        "2026年11月27日(金) 10:00 山田太郎 <taro@corp.example>:",
        "2026/11/27 10:00、山田太郎 <taro@corp.example>のメール:",
        "2026/11/27 10:00 に 山田太郎 さんは書きました:",
        "Taro wrote:",
        "-----Original Message-----",
        "From: Taro\nSent: Friday\nTo: Hanako\nSubject: 予算",
        "差出人: 山田太郎\n送信日時: 2026年11月27日 10:00\n宛先: 花子\n件名: 予算",
        "---------- Forwarded message ---------",
    ]
)
_SIGNATURES = st.sampled_from(
    ["-- \n山田太郎", "Sent from my iPhone", "iPhoneから送信", "━━━━━\n株式会社\n━━━━━", "---"]
)
_QUOTE = st.lists(st.one_of(_TEXT, _ATTRIBUTIONS, st.just("")), min_size=1, max_size=5).map(
    lambda lines: "\n".join(f"> {x}" for x in "\n".join(lines).split("\n"))
)
_BLOCK = st.one_of(
    _TEXT, _TEXT, _ATTRIBUTIONS, _SIGNATURES, _QUOTE, _QUOTE, st.just(""), st.just(MARKER)
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_BLOCK, min_size=1, max_size=12), st.sampled_from(["\n", "\r\n"]))
def test_generated_replies_lose_nothing(blocks: list[str], newline: str) -> None:
    assert_nothing_lost("\n".join(blocks).replace("\n", newline))


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from("> -:\nOn wrote2026年@<>ax—"), max_size=200))
def test_arbitrary_text_loses_nothing(text: str) -> None:
    assert_nothing_lost(text)


MAIL_PARTS = ("flufl_bounce", "cpython_test_email")
CORPUS_FILES = sorted(
    p
    for p in CORPUS.rglob("*")
    if p.is_file() and p.name != "MANIFEST.txt" and p.suffix in (".eml", ".txt", "")
)


def test_corpus_is_there() -> None:
    assert len(CORPUS_FILES) > 250


@pytest.mark.parametrize("path", CORPUS_FILES, ids=lambda p: str(p.relative_to(CORPUS)))
def test_corpus_loses_nothing(path: Path) -> None:
    raw = path.read_bytes()
    is_mail = path.suffix == ".eml" or any(part in path.parts for part in MAIL_PARTS)
    text = parse(raw).text if is_mail else raw.decode("utf-8", "replace")
    assert_nothing_lost(text)
