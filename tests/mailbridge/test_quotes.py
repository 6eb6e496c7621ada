"""The reply stripper: client shapes in several languages, inline answers, reactions, speed."""

from __future__ import annotations

import time

import pytest

from mailbridge.quotes import inline_answers, is_reaction, strip_reply

MARKER = "##- この行より上に返信してください / Please reply above this line -##"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            f"Approved.\n\n{MARKER}\n\nNew post in #general by Taro\n", "Approved.", id="marker"
        ),
        pytest.param(
            f"Approved.\n\nOn Fri, Nov 27, 2026 at 10:00 AM "
            f"Hiroba <r@hub.test> wrote:\n> {MARKER}\n> x",
            "Approved.",
            id="quoted-marker",
        ),
        pytest.param(
            "Sounds good.\n\nOn Fri, Nov 27, 2026 at 10:00 AM "
            "Taro Yamada <taro@corp.example>\nwrote:\n\n> old",
            "Sounds good.",
            id="gmail-en-wrapped",
        ),
        pytest.param(
            "Ja.\n\nAm Fr., 27. Nov. 2026 um 10:00 Uhr schrieb Taro <t@x.de>:\n> alt",
            "Ja.",
            id="de",
        ),
        pytest.param(
            "Oui.\n\nLe ven. 27 nov. 2026 à 10:00, Taro <t@x.fr> a écrit :\n> vieux",
            "Oui.",
            id="fr",
        ),
        pytest.param(
            "Sí.\n\nEl vie, 27 nov 2026 a las 10:00, Taro (<t@x.es>) escribió:\n> viejo",
            "Sí.",
            id="es",
        ),
        pytest.param(
            "Ja.\n\nOp vr 27 nov 2026 om 10:00 schreef Taro <t@x.nl>:\n> oud", "Ja.", id="nl"
        ),
        pytest.param(
            "Sim.\n\nEm sex., 27 de nov. de 2026 às 10:00, Taro <t@x.pt> escreveu:\n> x",
            "Sim.",
            id="pt",
        ),
        pytest.param(
            "Ja.\n\nDen fre 27 nov. 2026 kl 10:00 skrev Taro <t@x.se>:\n> gammal", "Ja.", id="sv"
        ),
        pytest.param(
            "Sì.\n\nIl giorno ven 27 nov 2026 alle ore 10:00 Taro <t@x.it> ha scritto:\n> x",
            "Sì.",
            id="it",
        ),
        pytest.param(
            "承知しました。\n\n2026年11月27日(金) 10:00 山田太郎 "
            "<taro@corp.example>:\n\n> 予算案です。",
            "承知しました。",
            id="gmail-ja",
        ),
        pytest.param(
            "承知しました。\n\n2026年11月27日(金) 10:00 山田太郎 "
            "<\ntaro@corp.example>:\n\n> 予算案です。",
            "承知しました。",
            id="gmail-ja-wrapped",
        ),
        pytest.param(
            "了解です。\n\n________________________________\n"
            "差出人: 山田 太郎 <taro@corp.example>\n"
            "送信日時: 2026年11月27日 10:00\n宛先: 佐藤\n件名: 予算\n\n本文",
            "了解です。",
            id="outlook-ja-separator",
        ),
        pytest.param(
            "了解です。\n\n差出人：山田 太郎\n送信日時：2026年11月27日 "
            "10:00\n宛先：佐藤\n件名：予算\n\n本文",
            "了解です。",
            id="outlook-ja-fullwidth-colon-no-separator",
        ),
        pytest.param(
            "OK.\n\n-----Original Message-----\nFrom: Taro\n"
            "Sent: Friday\nTo: Hanako\nSubject: x\n\nold",
            "OK.",
            id="outlook-original-message",
        ),
        pytest.param(
            "OK.\n\n________________________________\nFrom: "
            "Taro\nSent: Friday\nTo: Hanako\nSubject: x\n\nold",
            "OK.",
            id="outlook-underscore-block",
        ),
        pytest.param(
            "承知いたしました。\n\n━━━━━━━━━━━━\n株式会社サンプル\n"
            "佐藤 花子\nTEL: 03-1234-5678\n━━━━━━━━━━━━",
            "承知いたしました。",
            id="boxed-ja-signature",
        ),
        pytest.param(
            "参加します。\n\n2026/11/27 9:00、佐藤 花子 <hanako@corp.example>のメール:\n\n> 懇親会",
            "参加します。",
            id="apple-ja",
        ),
        pytest.param(
            "Yes.\n\nOn Nov 27, 2026, at 10:00, Taro <t@corp.example> wrote:\n\n> old",
            "Yes.",
            id="apple-en",
        ),
        pytest.param(
            "了解。\n\n2026/11/27 10:00 に 山田 太郎 さんは書きました:\n> 場所は?",
            "了解。",
            id="thunderbird-ja",
        ),
        pytest.param("了解。\n\n山田 太郎 wrote:\n> 場所は?", "了解。", id="thunderbird-wrote"),
        pytest.param("Sure\n\nSent from my iPhone", "Sure", id="iphone-en"),
        pytest.param("了解です\n\niPhoneから送信", "了解です", id="iphone-ja"),
        pytest.param("了解です\n\nAndroid から送信", "了解です", id="android-ja"),
        pytest.param("Thanks\n\n-- \nTaro Yamada\nCorp", "Thanks", id="dash-dash-signature"),
        pytest.param(
            "Agenda:\n-budget review\n-hiring\n-offsite\n\nThanks",
            "Agenda:\n-budget review\n-hiring\n-offsite\n\nThanks",
            id="dash-list-kept",
        ),
        pytest.param(
            "件名: の付け方について相談です。\n差出人の名前は本名にしてください。",
            "件名: の付け方について相談です。\n差出人の名前は本名にしてください。",
            id="ja-labels-in-body-kept",
        ),
        pytest.param(
            "On this day\n\nI wrote something\n\nwhich was very interesting.",
            "On this day\n\nI wrote something\n\nwhich was very interesting.",
            id="on-without-date-kept",
        ),
    ],
)
def test_strip_reply(text: str, expected: str) -> None:
    result = strip_reply(text)
    assert result.text == expected
    assert not result.kept_whole


def test_strip_reply_reports_what_it_cut() -> None:
    result = strip_reply("Thanks\n\n-- \nTaro Yamada")
    assert result.trimmed == "-- \nTaro Yamada"


@pytest.mark.parametrize(
    "text",
    [
        "> only a quote\n> more",
        "On Fri, Nov 27, 2026 at 10:00 AM Taro <t@x.jp> wrote:\n> hi",
        "   ",
    ],
    ids=["quote-only", "attribution-only", "blank"],
)
def test_never_strips_everything(text: str) -> None:
    result = strip_reply(text)
    assert result.text.strip() or not text.strip()
    assert result.kept_whole


DIGEST_REPLY = """2026年11月27日(金) 8:00 Hiroba <digest@hub.test>:
> Hiroba daily digest
>
> [#12] 来期の予算について
> 田中: 予算案です

予算は承認します。

> [#13] 懇親会の日程
> 12月18日でいかがでしょうか

懇親会は参加します。

> --
> Hiroba
"""


def test_inline_answers_pair_each_answer_with_the_quote_above() -> None:
    assert inline_answers(DIGEST_REPLY) == [
        ("Hiroba daily digest\n\n[#12] 来期の予算について\n田中: 予算案です", "予算は承認します。"),
        ("[#13] 懇親会の日程\n12月18日でいかがでしょうか", "懇親会は参加します。"),
    ]


def test_strip_reply_keeps_inline_answers_with_their_context() -> None:
    text = strip_reply(DIGEST_REPLY).text
    assert "予算は承認します。" in text and "懇親会は参加します。" in text
    assert "> [#12] 来期の予算について" in text and "> [#13] 懇親会の日程" in text
    assert "Hiroba\n" not in text and not text.endswith("> Hiroba")


def test_inline_context_is_trimmed_to_the_last_lines() -> None:
    quote = "\n".join(f"> line {n}" for n in range(40))
    text = strip_reply(f"First.\n\n{quote}\n\nAnswer.\n\n> more\n\nAnother.").text
    assert "> line 39" in text and "> line 0\n" not in text and "> …" in text


def test_inline_answers_top_posted() -> None:
    text = "Top answer\n\nOn Mon, Jan 5, 2026 at 10:00 AM Bob <b@x.com> wrote:\n> hi\n"
    assert inline_answers(text) == [("", "Top answer")]


@pytest.mark.parametrize(
    ("text", "emoji"),
    [
        ("+1", "👍"),
        ("👍", "👍"),
        ("👍🏻", "👍"),
        ("いいね", "👍"),
        ("いいね！", "👍"),
        ("+1\n\nOn Mon, Jan 5, 2026 at 10:00 AM Bob <b@x.com> wrote:\n> ship it?", "👍"),
        ("🎉", "🎉"),
        ("I like it", None),
        ("+1 but fix the typo", None),
        ("", None),
    ],
)
def test_is_reaction(text: str, emoji: str | None) -> None:
    assert is_reaction(text) == emoji


@pytest.mark.parametrize(
    "text",
    [
        pytest.param(("> " + "x" * 60 + "\n") * 50_000 + "answer\n", id="50k-quote-lines"),
        pytest.param("a" * 1_000_000, id="one-huge-line"),
        pytest.param("On 3 May 2026 Bob <b@x.com> said hi\n" * 28_000, id="attribution-lookalikes"),
        pytest.param(("On 1 2 3 wrote " * 70_000), id="one-line-of-wrote"),
        pytest.param("\n" * 300_000 + "x", id="blank-lines"),
    ],
)
def test_pathological_input_is_linear(text: str) -> None:
    start = time.perf_counter()
    result = strip_reply(text)
    elapsed = time.perf_counter() - start
    print(f"strip_reply on {len(text):,} chars: {elapsed:.3f}s")
    assert result.text
    assert elapsed < 5  # A hang guard only; the target is well under 1 s.
