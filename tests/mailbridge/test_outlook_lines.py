"""Mail from Outlook desktop reads as its author wrote it: Word writes each line as a
<p class=MsoNormal> and a blank line as an empty one (<o:p>&nbsp;</o:p>), so the post has one
line per paragraph and a blank line only where the author left one, not a blank line between
every line. Outlook 2003, 2007 and 2010 replies from the talon corpus (English) and Outlook 2016
(ja, ISO-2022-JP) sent as HTML alone, over the real SMTP intake; the reply header and the history
below it are still cut; the thread page over HTTP."""

from __future__ import annotations

from html import escape
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from mailbridge import quotes
from mailbridge.htmltext import html_to_text
from mailbridge.parse import parse
from tests.factories import signed_in
from tests.mailbridge.test_forwarded_html import _WORD_HEAD, html_only, team  # noqa: F401
from tests.mailbridge.test_forwarded_mail import last_post, send

TALON = Path(__file__).resolve().parents[1] / "corpus/talon/tests/fixtures/html_replies"
JA = Path(__file__).resolve().parents[1] / "emails/ja"


def talon(name: str) -> str:
    return (TALON / name).read_text(encoding="utf-8", errors="replace")


@pytest.mark.parametrize(
    ("name", "top", "history"),
    [
        # 2003 and 2007 leave an empty paragraph under "Hi. I am fine."; 2010 none.
        ("ms_outlook_2003.html", "Hi. I am fine.\n\nThanks,\nAlex", "Hello! How are you?"),
        ("ms_outlook_2007.html", "Hi. I am fine.\n\nThanks,\nAlex", "Hello! How are you?"),
        ("ms_outlook_2010.html", "Hi. I am fine.\nThanks,\nAlex", "Hello! How are you?"),
    ],
)
def test_outlook_paragraphs_are_lines(name: str, top: str, history: str) -> None:
    text = html_to_text(talon(name))
    assert text.startswith(f"{top}\n")
    assert history in text


@pytest.mark.parametrize("name", ["ms_outlook_2003.html", "ms_outlook_2007.html"])
def test_the_quoted_gmail_lines_under_outlooks_header_are_lines_too(name: str) -> None:
    """Outlook wraps each line of the message it quotes in a <div> of its own."""
    assert html_to_text(talon(name)).endswith("Hello! How are you?\n\nThanks,\nSasha.")


@pytest.mark.parametrize("name", ["ms_outlook_2003.html", "ms_outlook_2007.html"])
def test_the_header_block_is_still_cut(name: str) -> None:
    stripped = quotes.strip_reply(html_to_text(talon(name)))
    assert stripped.text == "Hi. I am fine.\n\nThanks,\nAlex"
    assert "Test message" in stripped.trimmed and "Sasha." in stripped.trimmed


def test_empty_paragraphs_stay_blank_lines_ja() -> None:
    """tests/emails/ja/outlook_ja_html_only.eml: an empty paragraph after every line."""
    incoming = parse((JA / "outlook_ja_html_only.eml").read_bytes())
    stripped = quotes.strip_reply(incoming.text)
    assert stripped.text == "山田さん\n\n承知しました。予算案は**承認**します。"
    assert "山田 太郎 <taro@corp.example>" in stripped.trimmed


@pytest.mark.parametrize(
    ("html", "text"),
    [
        pytest.param(
            "<p class=MsoNormal>前の行<o:p></o:p></p><p class=MsoNormal>-----<o:p></o:p></p>",
            "前の行\n\n-----",
            id="a-rule-is-no-heading-underline",
        ),
        pytest.param(
            "<blockquote><p class=MsoNormal>a<o:p></o:p></p><p class=MsoNormal>b<o:p></o:p></p>"
            "<p class=MsoNormal><o:p>&nbsp;</o:p></p><p class=MsoNormal>c<o:p></o:p></p>"
            "</blockquote>",
            "> a\n> b\n>\n> c",
            id="in-a-quote",
        ),
        pytest.param(
            "<p class=MsoNormal>一行目<br><o:p></o:p></p>"
            "<p class=MsoNormal>　二行目<o:p></o:p></p>",
            "一行目\n　二行目",
            id="trailing-br-and-ideographic-indent",
        ),
        pytest.param("<p>one</p><p>two</p>", "one\n\ntwo", id="other-paragraphs-unchanged"),
        pytest.param("<p class=MsoNormal>a\x02b\x03c</p>", "abc", id="no-marker-from-the-mail"),
    ],
)
def test_word_lines_edges(html: str, text: str) -> None:
    assert html_to_text(html) == text


# 山本's Outlook 2016 (ja): his lines one after the other, an empty paragraph between blocks.
REPLY_JA = (
    "佐藤さん\n\nお疲れ様です。山本です。\n見積もりの件、承知しました。\n"
    "金曜日までに先方へ回答します。\n\nよろしくお願いいたします。\n山本"
)
HISTORY_JA = (
    "山本さん\n\n保守契約の見積もりをお願いできますか。\n先方は今週中の回答を希望しています。"
)


def _word(text: str) -> str:
    """Word's paragraphs as Outlook 2016 (ja) writes them: one a line, an empty one (with
    ``&nbsp;``) for a blank line."""
    return "\n".join(
        f'<p class="MsoNormal">{escape(line) if line else "<o:p>&nbsp;</o:p>"}'
        '<span lang="EN-US"><o:p></o:p></span></p>'
        for line in text.split("\n")
    )


def outlook_2016_reply(own: str, history: str) -> str:
    """Outlook 2016 (ja) replying as HTML: the member's lines, the header in a border-top box
    (each field's bold label, the fields a <br> apart), the message answered below."""
    fields = "<br>\n".join(
        f'<b>{label}<span lang="EN-US">:</span></b> {escape(value)}'
        for label, value in (
            ("差出人", "佐藤 <sato@corp.example>"),
            ("送信日時", "2026年11月26日 14:03"),
            ("宛先", "山本 誠 <yamamoto@corp.example>"),
            ("件名", "保守契約の更新"),
        )
    )
    return (
        f"{_WORD_HEAD}{_word(own)}\n"
        '<p class="MsoNormal"><o:p>&nbsp;</o:p></p>\n<div>\n'
        '<div style="border:none;border-top:solid #E1E1E1 1.0pt;padding:3.0pt 0mm 0mm 0mm">\n'
        f'<p class="MsoNormal">{fields}<o:p></o:p></p>\n</div>\n</div>\n'
        f'<p class="MsoNormal"><o:p>&nbsp;</o:p></p>\n{_word(history)}\n</div>\n</body>\n</html>\n'
    )


def _shown(app: Flask, session: Any, thread_id: int, post_id: int) -> str:
    """The post as the thread page shows it to 佐藤 (the test's read transaction ended first)."""
    session.rollback()
    page = signed_in(app, "sato@corp.example").get(f"/t/{thread_id}")
    assert page.status_code == 200
    post = page.text.split(f'id="post-{post_id}"', 1)[1]
    return post.split('<div class="body">', 1)[1].split("</div>", 1)[0]


def test_an_outlook_2016_ja_reply_reads_as_written(
    app: Flask,
    session: Any,
    team: Any,  # noqa: F811
    intake: Any,
) -> None:
    html = outlook_2016_reply(REPLY_JA, HISTORY_JA)
    send(intake, team["to"], html_only(team["to"], "RE: 保守契約の更新", html, "l1@corp",
                                       "iso-2022-jp"))  # fmt: skip

    post = last_post(session)
    assert post.body == REPLY_JA
    assert "差出人: 佐藤" in (post.trimmed or "").replace("*", "")
    assert "先方は今週中の回答を希望しています。" in (post.trimmed or "")
    # A line each, as in his Outlook; a new paragraph where he left a blank line.
    assert _shown(app, session, post.thread_id, post.id) == (
        "<p>佐藤さん</p>\n<p>お疲れ様です。山本です。<br>\n見積もりの件、承知しました。<br>\n"
        "金曜日までに先方へ回答します。</p>\n<p>よろしくお願いいたします。<br>\n山本</p>\n"
    )


def test_an_outlook_2007_reply_reads_as_written(
    app: Flask,
    session: Any,
    team: Any,  # noqa: F811
    intake: Any,
) -> None:
    html = talon("ms_outlook_2007.html")
    send(intake, team["to"], html_only(team["to"], "RE: Test message", html, "l2@corp", "utf-8"))

    post = last_post(session)
    assert post.body == "Hi. I am fine.\n\nThanks,\nAlex"
    assert _shown(app, session, post.thread_id, post.id) == (
        "<p>Hi. I am fine.</p>\n<p>Thanks,<br>\nAlex</p>\n"
    )
