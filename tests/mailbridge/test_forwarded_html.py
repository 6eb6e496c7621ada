"""An HTML-only forward keeps what it forwards, as a plain-text one does: the member's words, then
the forwarded message as a quote under its From/Date/Subject lines written as plain text. Mail
as Outlook 2016 (ja, Word's HTML, ISO-2022-JP) and Outlook 365 (ja, #divRplyFwdMsg, UTF-8) send
it with no text part, over the real SMTP intake; a multipart/alternative forward is read from its
text part; an HTML reply is still trimmed. The post's page over HTTP. (Gmail's and the iPhone's
HTML are in test_forwards.py, read as the intake reads an HTML-only mail.)"""

from __future__ import annotations

from email.header import Header
from email.message import EmailMessage
from email.policy import SMTP
from html import escape
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from hub.models import InboundMessage
from hub.services import channels
from tests.factories import make_channel, make_thread, make_user, signed_in
from tests.mailbridge.test_forwarded_mail import (
    INTRO,
    OUTLOOK_FW,
    QUESTIONS,
    YAMAMOTO,
    last_post,
    outlook_ja,
    quoted,
    send,
)
from tests.mailbridge.test_ingest import reply_address

HEADER = [
    ("差出人", "鈴木 一郎 <suzuki@customer.example>"),
    ("送信日時", "2026年11月26日 14:03"),
    ("宛先", "山本 誠 <yamamoto@corp.example>"),
    ("件名", "保守契約の見積もりについて"),
]
ATTRIBUTION = (
    "差出人: 鈴木 一郎 <suzuki@customer.example>\n"
    "送信日時: 2026年11月26日 14:03\n"
    "件名: 保守契約の見積もりについて"
)


@pytest.fixture
def team(app: Flask, session: Any) -> dict[str, Any]:
    """山本 (email only) and 佐藤 (web) in sales, which has a thread 「保守契約の更新」."""
    yamamoto = make_user(session, email=YAMAMOTO, name="山本 誠", email_only=True)
    sato = make_user(session, email="sato@corp.example", name="佐藤")
    sales = make_channel(session, slug="sales", name="営業")
    for user in (yamamoto, sato):
        channels.join(session, user=user, channel=sales)
    first = make_thread(
        session, channel=sales, author=sato, title="保守契約の更新", body="進めます"
    )
    session.commit()
    return {"thread_id": first.thread_id, "to": reply_address(app, yamamoto, first.thread_id)}


_WORD_HEAD = """<html xmlns:v="urn:schemas-microsoft-com:vml" \
xmlns:o="urn:schemas-microsoft-com:office:office" \
xmlns:w="urn:schemas-microsoft-com:office:word" \
xmlns:m="http://schemas.microsoft.com/office/2004/12/omml" xmlns="http://www.w3.org/TR/REC-html40">
<head>
<meta http-equiv="Content-Type" content="text/html; charset=iso-2022-jp">
<meta name="Generator" content="Microsoft Word 15 (filtered medium)">
<style><!--
/* Font Definitions */
@font-face
\t{font-family:"ＭＳ Ｐゴシック";
\tpanose-1:2 11 6 0 7 2 5 8 2 4;}
p.MsoNormal, li.MsoNormal, div.MsoNormal
\t{margin:0mm;
\ttext-align:justify;
\ttext-justify:inter-ideograph;
\tfont-size:10.5pt;
\tfont-family:"游ゴシック";}
span.EmailStyle17
\t{mso-style-type:personal-compose;}
@page WordSection1
\t{size:612.0pt 792.0pt;
\tmargin:99.25pt 30.0mm 30.0mm 30.0mm;}
div.WordSection1
\t{page:WordSection1;}
--></style><!--[if gte mso 9]><xml>
<o:shapedefaults v:ext="edit" spidmax="1026" />
</xml><![endif]--><!--[if gte mso 9]><xml>
<o:shapelayout v:ext="edit">
<o:idmap v:ext="edit" data="1" />
</o:shapelayout></xml><![endif]-->
</head>
<body lang="JA" link="#0563C1" vlink="#954F72" style="text-justify-trim:punctuation">
<div class="WordSection1">
"""


def _word_paragraphs(text: str) -> str:
    """Word's paragraphs: one a line, an empty one (``&nbsp;``) for a blank line."""
    out = []
    for line in text.split("\n"):
        inner = escape(line, quote=False) if line else "&nbsp;"
        out.append(f'<p class="MsoNormal">{inner}<span lang="EN-US"><o:p></o:p></span></p>')
    return "\n".join(out)


def outlook_2016_html(intro: str, body: str) -> str:
    """Outlook 2016 (ja) forwarding as HTML: Word's markup, the header in a border-top box, each
    field's bold label, the lines Word breaks beside each <br>."""
    fields = "".join(
        f'<b>{name}<span lang="EN-US">:</span></b><span lang="EN-US"> </span>'
        f'{escape(value, quote=False)}<span lang="EN-US">\n<br>\n</span>'
        for name, value in HEADER
    ).removesuffix('<span lang="EN-US">\n<br>\n</span>')
    return (
        f"{_WORD_HEAD}{_word_paragraphs(intro)}\n"
        '<p class="MsoNormal"><span lang="EN-US"><o:p>&nbsp;</o:p></span></p>\n<div>\n'
        '<div style="border:none;border-top:solid #E1E1E1 1.0pt;padding:3.0pt 0mm 0mm 0mm">\n'
        f'<p class="MsoNormal">{fields}<span lang="EN-US"><o:p></o:p></span></p>\n'
        "</div>\n</div>\n"
        '<p class="MsoNormal"><span lang="EN-US"><o:p>&nbsp;</o:p></span></p>\n'
        f"{_word_paragraphs(body)}\n</div>\n</body>\n</html>\n"
    )


def outlook_365_html(intro: str, body: str) -> str:
    """Outlook 365 / the web (ja): elementToProof divs, then #appendonsend, an <hr> and
    #divRplyFwdMsg with the bold labels, the forwarded message's HTML below."""
    style = 'style="font-family: 游ゴシック, Aptos, sans-serif; font-size: 11pt;"'
    own = "\n".join(
        f'<div class="elementToProof" {style}>{escape(line, quote=False) if line else "<br>"}</div>'
        for line in intro.split("\n")
    )
    fields = "<br>\n".join(f"<b>{name}:</b> {escape(value, quote=False)}" for name, value in HEADER)
    return (
        '<html><head>\n<meta http-equiv="Content-Type" content="text/html; charset=utf-8">\n'
        '<style type="text/css" style="display:none;"> P {margin-top:0;margin-bottom:0;} '
        '</style>\n</head>\n<body dir="ltr">\n'
        f'{own}\n<div id="appendonsend"></div>\n'
        '<hr style="display:inline-block;width:98%" tabindex="-1">\n'
        '<div id="divRplyFwdMsg" dir="ltr"><font face="Calibri, sans-serif" '
        f'style="font-size:11pt" color="#000000">{fields}</font>\n'
        "<div>&nbsp;</div>\n</div>\n"
        f'<div class="WordSection1">\n{_word_paragraphs(body)}\n</div>\n</body>\n</html>\n'
    )


def html_only(to: str, subject: str, html: str, msgid: str, charset: str) -> bytes:
    """An HTML-only mail from 山本, as Outlook sends it when set to send HTML alone."""
    head = [
        f"From: {Header('山本 誠', charset).encode()} <{YAMAMOTO}>",
        f"To: {to}",
        f"Subject: {Header(subject, charset).encode()}",
        "Thread-Topic: " + Header(subject[4:], charset).encode(),
        "Thread-Index: AQHZm0abcdEFGhijKLmnOPqrSTuvWXyz",
        "Date: Fri, 27 Nov 2026 01:20:00 +0000",
        f"Message-ID: <{msgid}>",
        "Accept-Language: ja-JP, en-US",
        "Content-Language: ja-JP",
        "X-MS-Has-Attach:",
        f'Content-Type: text/html; charset="{charset}"',
        "MIME-Version: 1.0",
    ]
    if charset == "iso-2022-jp":
        lines = [line.encode(charset) for line in html.split("\n")]
        return (
            "\r\n".join([*head, "Content-Transfer-Encoding: 7bit"]).encode()
            + b"\r\n\r\n"
            + b"\r\n".join(lines)
        )
    msg = EmailMessage()
    msg.set_content(html, subtype="html", cte="quoted-printable")
    body = msg.as_bytes(policy=SMTP).split(b"\r\n\r\n", 1)[1]
    head.append("Content-Transfer-Encoding: quoted-printable")
    return "\r\n".join(head).encode() + b"\r\n\r\n" + body


def test_outlook_2016_html_forward_to_a_channel_keeps_the_forwarded_message(
    app: Flask, session: Any, team: Any, intake: Any
) -> None:
    html = outlook_2016_html(INTRO, QUESTIONS)
    raw = html_only(
        "sales@hub.test", "FW: 保守契約の見積もりについて", html, "h1@corp", "iso-2022-jp"
    )
    send(intake, "sales@hub.test", raw)

    post = last_post(session)
    assert post.thread.title == "保守契約の見積もりについて"
    # Word writes a paragraph a line, and an empty paragraph for a blank line: read as written.
    assert post.body == f"{INTRO}\n\n{quoted(ATTRIBUTION)}\n>\n{quoted(QUESTIONS)}"
    assert post.trimmed == "**宛先:** 山本 誠 <yamamoto@corp.example>"
    row = session.scalar(select(InboundMessage))
    assert (row.status, row.text) == ("posted", post.body)
    thread_id = post.thread_id
    session.rollback()

    # On the web: the forwarded message is a quote under plain From/Date/Subject lines.
    page = signed_in(app, "sato@corp.example").get(f"/t/{thread_id}")
    assert page.status_code == 200
    quote = page.text.split("<blockquote>", 1)[1].split("</blockquote>", 1)[0]
    assert "差出人: 鈴木 一郎" in quote and "件名: 保守契約の見積もりについて" in quote
    assert "**" not in quote and "<strong>" not in quote
    assert "オンサイト対応を追加した場合の費用をお見積もりいただけますか。" in quote


def test_outlook_365_html_forward_as_a_reply_keeps_the_forwarded_message(
    app: Flask, session: Any, team: Any, intake: Any
) -> None:
    intro = "佐藤さん\n\nお客様からの問い合わせです。見積もりをお願いします。\n\n山本"
    html = outlook_365_html(intro, QUESTIONS)
    send(intake, team["to"], html_only(team["to"], "FW: 保守契約の見積もりについて", html,
                                       "h2@corp", "utf-8"))  # fmt: skip

    post = last_post(session)
    assert post.thread_id == team["thread_id"]
    assert post.body == f"{intro}\n\n{quoted(ATTRIBUTION)}\n>\n{quoted(QUESTIONS)}"
    # The <hr> above the header and the To line are what was cut.
    assert post.trimmed == "---\n**宛先:** 山本 誠 <yamamoto@corp.example>"
    assert session.scalar(select(InboundMessage.status)) == "replied"


def test_an_html_reply_is_still_trimmed(app: Flask, session: Any, team: Any, intake: Any) -> None:
    html = outlook_365_html("承知しました。見積もりは私が作成します。", QUESTIONS)
    send(intake, team["to"], html_only(team["to"], "RE: 保守契約の見積もりについて", html,
                                       "h3@corp", "utf-8"))  # fmt: skip

    post = last_post(session)
    assert post.body == "承知しました。見積もりは私が作成します。"
    assert "オンサイト対応を追加した場合" in (post.trimmed or "")


def test_a_forward_with_a_text_part_is_read_from_it(
    app: Flask, session: Any, team: Any, intake: Any
) -> None:
    """Outlook's usual multipart/alternative: the text part is the one read (the HTML part is
    only for mail without one)."""
    plain = outlook_ja(team["to"], "FW: 保守契約の見積もりについて", OUTLOOK_FW, "h4@corp")
    head, text = plain.split(b"\r\n\r\n", 1)
    boundary = "_000_TYCPR01MB1234ABCD_"
    html = outlook_2016_html(INTRO, QUESTIONS).replace("\n", "\r\n").encode("iso-2022-jp")
    head = head.replace(
        b'Content-Type: text/plain; charset="iso-2022-jp"\r\nContent-Transfer-Encoding: 7bit',
        f'Content-Type: multipart/alternative; boundary="{boundary}"'.encode(),
    )
    part = 'Content-Type: text/{}; charset="iso-2022-jp"\r\nContent-Transfer-Encoding: 7bit'
    raw = b"\r\n".join(
        [
            head + b"\r\n",
            f"--{boundary}\r\n{part.format('plain')}\r\n".encode(),
            text,
            f"--{boundary}\r\n{part.format('html')}\r\n".encode(),
            html,
            f"--{boundary}--\r\n".encode(),
        ]
    )
    send(intake, team["to"], raw)

    post = last_post(session)
    assert post.thread_id == team["thread_id"]
    assert post.body == f"{INTRO}\n\n{quoted(ATTRIBUTION)}\n>\n{quoted(QUESTIONS)}"
