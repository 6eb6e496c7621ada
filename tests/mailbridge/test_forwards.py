"""mailbridge.forwards on the shapes clients give a forward (table-driven), and what is no
forward: replies, and a forward that quotes as a reply does."""

from __future__ import annotations

import time

import pytest

from mailbridge.forwards import forwarded
from mailbridge.htmltext import html_to_text
from mailbridge.quotes import strip_reply

BODY = "山本様\n\n見積もりをお願いします。\n\n鈴木"
QUOTED_BODY = "> 山本様\n>\n> 見積もりをお願いします。\n>\n> 鈴木"


@pytest.mark.parametrize(
    ("subject", "text", "post", "trimmed"),
    [
        pytest.param(
            "Fwd: 見積もり",
            "確認お願いします。\n\n---------- 転送メッセージ ---------\n"
            "差出人: 鈴木 <s@c.example>\nDate: 2026年11月26日(木) 14:03\nSubject: 見積もり\n"
            f"To: <y@corp.example>\n\n\n{BODY}\n",
            "確認お願いします。\n\n> 差出人: 鈴木 <s@c.example>\n> Date: 2026年11月26日(木) 14:03\n"
            f"> Subject: 見積もり\n>\n{QUOTED_BODY}",
            "---------- 転送メッセージ ---------\nTo: <y@corp.example>",
            id="gmail-ja-separator",
        ),
        pytest.param(
            "Fwd: 見積もり",
            "確認お願いします。\n\n-------- 転送メッセージ --------\n件名: \t見積もり\n"
            "日付: \tThu, 26 Nov 2026 14:03:00 +0900\n差出人: \t鈴木 <s@c.example>\n"
            f"宛先: \t山本 <y@corp.example>\n\n\n\n{BODY}\n",
            "確認お願いします。\n\n> 件名: 見積もり\n> 日付: Thu, 26 Nov 2026 14:03:00 +0900\n"
            f"> 差出人: 鈴木 <s@c.example>\n>\n{QUOTED_BODY}",
            "-------- 転送メッセージ --------\n宛先: \t山本 <y@corp.example>",
            id="thunderbird-ja",
        ),
        pytest.param(
            "Fwd: Quote",
            "FYI\n\n-------- Forwarded Message --------\nSubject: \tQuote\n"
            "Date: \tThu, 26 Nov 2026 14:03:00 +0900\nFrom: \tSuzuki <s@c.example>\n"
            "To: \tYamamoto <y@corp.example>\n\n\nPlease quote 40 units.\n",
            "FYI\n\n> Subject: Quote\n> Date: Thu, 26 Nov 2026 14:03:00 +0900\n"
            "> From: Suzuki <s@c.example>\n>\n> Please quote 40 units.",
            "-------- Forwarded Message --------\nTo: \tYamamoto <y@corp.example>",
            id="thunderbird-en",
        ),
        pytest.param(
            "Fwd: 見積もり",
            "見てください\n\n> 転送されたメッセージ:\n>\n> 差出人: 鈴木 <s@c.example>\n"
            "> 件名: 見積もり\n> 日付: 2026年11月26日 14:03:12 JST\n> 宛先: y@corp.example\n>\n"
            f"{QUOTED_BODY}\n",
            "見てください\n\n> 差出人: 鈴木 <s@c.example>\n> 件名: 見積もり\n"
            f"> 日付: 2026年11月26日 14:03:12 JST\n>\n{QUOTED_BODY}",
            "> 転送されたメッセージ:\n宛先: y@corp.example",
            id="apple-mail-ja-quoted-whole",
        ),
        pytest.param(
            "FW: 見積もり",
            "対応願います。\n\n________________________________\n差出人: 鈴木 <s@c.example>\n"
            "送信日時: 2026年11月26日 (木曜日) 14:03\n宛先: 山本 <y@corp.example>\n"
            f"CC: 営業 <sales@corp.example>\n件名: 見積もり\n\n{BODY}\n",
            "対応願います。\n\n> 差出人: 鈴木 <s@c.example>\n"
            f"> 送信日時: 2026年11月26日 (木曜日) 14:03\n> 件名: 見積もり\n>\n{QUOTED_BODY}",
            "________________________________\n宛先: 山本 <y@corp.example>\n"
            "CC: 営業 <sales@corp.example>",
            id="new-outlook-ja-underscores",
        ),
        pytest.param(
            "FW: Discoursing much?",
            "@team, can you have a look at this email below?\n\nFrom: Some One <some@one.com>\n"
            "To: Ba Bar <ba@bar.com>\nDate: Mon, 1 Dec 2016 00:13:37 +0100\n"
            "Subject: Discoursing much?\n\nHello Ba Bar,\n",
            "@team, can you have a look at this email below?\n\n> From: Some One <some@one.com>\n"
            "> Date: Mon, 1 Dec 2016 00:13:37 +0100\n> Subject: Discoursing much?\n>\n"
            "> Hello Ba Bar,",
            "To: Ba Bar <ba@bar.com>",
            id="outlook-header-block-without-separator",
        ),
        pytest.param(
            "見積もりの件",
            "---------- Forwarded message ----------\nFrom: Some One <foo@bar.com>\n"
            "Date: Thu, Jan 28, 2016 at 4:00 PM\nSubject: Some subject that\nspans over 2 lines\n"
            "To: infod@discourse.org\n\n\nThis is a forwarded email. And just that.\n",
            "> From: Some One <foo@bar.com>\n> Date: Thu, Jan 28, 2016 at 4:00 PM\n"
            "> Subject: Some subject that spans over 2 lines\n>\n"
            "> This is a forwarded email. And just that.",
            "---------- Forwarded message ----------\nTo: infod@discourse.org",
            id="no-prefix-nothing-above-wrapped-subject",
        ),
        pytest.param(
            "Fwd: 件",
            "よろしく\n\n----- Forwarded message from 鈴木 <s@c.example> -----\n\n"
            "Date: Thu, 26 Nov 2026 14:03:00 +0900\nFrom: 鈴木 <s@c.example>\n"
            "To: y@corp.example\nSubject: 件\n\n本文です。\n\n"
            "----- End forwarded message -----\n",
            "よろしく\n\n> Date: Thu, 26 Nov 2026 14:03:00 +0900\n> From: 鈴木 <s@c.example>\n"
            "> Subject: 件\n>\n> 本文です。\n>\n> ----- End forwarded message -----",
            "----- Forwarded message from 鈴木 <s@c.example> -----\nTo: y@corp.example",
            id="mutt",
        ),
    ],
)
def test_forward_shapes(subject: str, text: str, post: str, trimmed: str) -> None:
    result = forwarded(text, subject)
    assert result is not None
    assert (result.text, result.trimmed, result.kept_whole) == (post, trimmed, False)


# Gmail (ja): the attribution block in div.gmail_attr, the sender's name in <strong>, addresses
# as mailto links; the message forwarded in the gmail_quote container.
GMAIL_JA_HTML = (
    '<div dir="ltr"><div>佐藤さん</div><div><br></div><div>お客様から追加のご依頼です。'
    "見積もりに含めてください。</div><br>"
    '<div class="gmail_quote gmail_quote_container"><div dir="ltr" class="gmail_attr">'
    "---------- 転送メッセージ ---------<br>送信者: "
    '<strong class="gmail_sendername" dir="auto">鈴木 一郎</strong> <span dir="auto">&lt;'
    '<a href="mailto:suzuki@customer.example">suzuki@customer.example</a>&gt;</span><br>'
    "Date: 2026年11月27日(金) 9:15<br>Subject: Re: 保守契約の見積もりについて<br>"
    'To: 山本 誠 &lt;<a href="mailto:yamamoto@corp.example">yamamoto@corp.example</a>&gt;<br>'
    '</div><br><br><div dir="ltr"><div>山本様</div><div><br></div><div>見積もりをお願いします。'
    "</div><div><br></div><div>鈴木</div></div>\n</div></div>\n"
)
# The iPhone (ja): the separator and the header each in a blockquote type=cite, bold labels
# and a bold subject, "iPhoneから送信" above.
IPHONE_JA_HTML = (
    '<html><head><meta http-equiv="content-type" content="text/html; charset=utf-8"></head>'
    '<body dir="auto"><div dir="ltr">見てください</div><div dir="ltr">'
    '<br id="lineBreakAtBeginningOfSignature"><div dir="ltr">iPhoneから送信</div>'
    '<div dir="ltr"><br><blockquote type="cite">転送されたメッセージ:<br><br></blockquote></div>'
    '<blockquote type="cite"><div dir="ltr"><b>差出人:</b> 鈴木 &lt;s@c.example&gt;<br>'
    "<b>日付:</b> 2026年11月26日 14:03:12 JST<br><b>宛先:</b> y@corp.example<br>"
    "<b>件名:</b> <b>【至急】見積もり</b><br><br></div></blockquote></div>"
    '<blockquote type="cite"><div dir="ltr"><div>山本様</div><div><br></div>'
    "<div>見積もりをお願いします。</div><div><br></div><div>鈴木</div></div></blockquote>"
    "</body></html>"
)


@pytest.mark.parametrize(
    ("subject", "html", "post", "trimmed"),
    [
        pytest.param(
            "Fwd: 保守契約の見積もりについて",
            GMAIL_JA_HTML,
            "佐藤さん\n\nお客様から追加のご依頼です。見積もりに含めてください。\n\n"
            "> 送信者: 鈴木 一郎 <suzuki@customer.example>\n> Date: 2026年11月27日(金) 9:15\n"
            f"> Subject: Re: 保守契約の見積もりについて\n>\n{QUOTED_BODY}",
            "---------- 転送メッセージ ---------\n"
            "To: 山本 誠 <[yamamoto@corp.example](mailto:yamamoto@corp.example)>",
            id="gmail-ja",
        ),
        pytest.param(
            "Fwd: 【至急】見積もり",
            IPHONE_JA_HTML,
            "見てください\n\n> 差出人: 鈴木 <s@c.example>\n"
            "> 日付: 2026年11月26日 14:03:12 JST\n> 件名: 【至急】見積もり\n>\n"
            f"{QUOTED_BODY}",
            "iPhoneから送信\n> 転送されたメッセージ:\n**宛先:** y@corp.example",
            id="iphone-ja",
        ),
        pytest.param(
            "FW: 見積もり",
            "<p>対応願います。</p><p><b>差出人:</b> 鈴木 &lt;s@c.example&gt; <b>送信日時:</b> "
            "2026年11月26日 14:03 <b>宛先:</b> 山本 <b>件名:</b> 見積もり</p>"
            "<p>山本様</p><p>見積もりをお願いします。</p><p>鈴木</p>",
            "対応願います。\n\n> 差出人: 鈴木 <s@c.example>\n"
            f"> 送信日時: 2026年11月26日 14:03\n> 件名: 見積もり\n>\n{QUOTED_BODY}",
            "**宛先:** 山本",
            id="outlook-header-on-one-line",
        ),
    ],
)
def test_html_forward_shapes(subject: str, html: str, post: str, trimmed: str) -> None:
    """Read from HTML as the intake reads an HTML-only mail, the attribution is plain text."""
    result = forwarded(html_to_text(html), subject)
    assert result is not None
    assert (result.text, result.trimmed) == (post, trimmed)


@pytest.mark.parametrize(
    ("subject", "text"),
    [
        pytest.param(
            "RE: 見積もり",
            "承知しました。\n\n-----Original Message-----\n差出人: 鈴木 <s@c.example>\n"
            "送信日時: 2026年11月26日 14:03\n宛先: 山本\n件名: 見積もり\n\n本文",
            id="outlook-reply",
        ),
        pytest.param(
            "Re: Fwd: 見積もり",
            "了解\n\n2026年11月27日(金) 10:00 山本 <y@corp.example>:\n> 見てください\n>\n"
            "> ---------- Forwarded message ---------\n> From: 鈴木 <s@c.example>\n",
            id="reply-to-a-forward",
        ),
        pytest.param(
            "承認",
            "承知しました。\n\n-----Original Message-----\nFrom: a\nSent: b\nTo: c\n"
            "Subject: d\n\nx",
            id="original-message-without-fw-subject",
        ),
        pytest.param(
            "FW: Quote request",
            "On Fri, Nov 27, 2026 at 9:12 AM Customer <buyer@client.example> wrote:\n"
            "> Could you send us a quote for 40 units by Monday?\n",
            id="forward-quoted-as-a-reply",
        ),
        pytest.param("FW: 件", "見てください。\n\n山本\n", id="forward-subject-nothing-forwarded"),
        pytest.param("Fwd: 件", "", id="empty"),
    ],
)
def test_not_forwards(subject: str, text: str) -> None:
    assert forwarded(text, subject) is None


def test_the_members_signature_above_the_forward_is_trimmed() -> None:
    text = f"見てください\n\n-- \n山本 誠\n営業部\n\n---------- Forwarded message ---------\n{BODY}"
    result = forwarded(text, "Fwd: 件")
    assert result is not None
    assert result.text == f"見てください\n\n{QUOTED_BODY}"
    assert result.trimmed.startswith("-- \n山本 誠\n営業部")
    assert strip_reply(text).text == "見てください"  # a reply stripper alone loses the forward


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("From: a\n" * 200_000, id="header-lookalikes"),
        pytest.param(("> " + "x" * 60 + "\n") * 50_000, id="50k-quote-lines"),
        pytest.param("-" * 1_000_000, id="one-huge-line"),
    ],
)
def test_pathological_input_is_linear(text: str) -> None:
    start = time.perf_counter()
    forwarded(text, "FW: 件")
    elapsed = time.perf_counter() - start
    print(f"forwarded on {len(text):,} chars: {elapsed:.3f}s")
    assert elapsed < 5  # A hang guard only; the target is well under 1 s.
