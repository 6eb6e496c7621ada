"""parse(): Japanese client mails, headers, auto-replies, bounces, attachments, garbage."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from mailbridge.parse import parse, strip_subject_prefixes
from mailbridge.quotes import strip_reply

JA = Path(__file__).resolve().parents[1] / "emails" / "ja"


@pytest.mark.parametrize(
    ("name", "subject", "sender", "new_text"),
    [
        (
            "gmail_ja.eml",
            "Re: 来期の予算について",
            "hanako.sato@gmail.com",
            "承知しました。金曜までに見積もりを送ります。",
        ),
        (
            "outlook_ja_sashidashinin.eml",
            "RE: 来期の予算について",
            "hanako@corp.example",
            "山田さん\n\nお疲れ様です。佐藤です。\n資料を確認しました。問題ありません。",
        ),
        (
            "outlook_ja_signature.eml",
            "RE: 明日の会議",
            "hanako@corp.example",
            "承知いたしました。\n明日の会議で説明します。",
        ),
        (
            "apple_mail_ja.eml",
            "Re: 懇親会のお知らせ",
            "taro@corp.example",
            "ありがとうございます。参加します。\n\n山田",
        ),
        (
            "thunderbird_ja.eml",
            "Re: 資料の置き場所",
            "ichiro@corp.example",
            "了解しました。資料は共有フォルダに置きます。",
        ),
        ("iphone_ja.eml", "Re: 受付", "hanako@corp.example", "了解です。向かいます。"),
        (
            "iso2022jp_ms.eml",
            "①㈱サンプル ｶﾀｶﾅ 見積もり",
            "ken@corp.example",
            "㈱サンプルの件、①見積もり ②納期 の順で確認します。ｶﾀｶﾅ表記はそのままです。\n髙橋",
        ),
        (
            "iso2022jp_nolabel.eml",
            "会議室の予約",
            "old@corp.example",
            "会議室を予約しました。\n第二会議室です。",
        ),
        (
            "shift_jis.eml",
            "予定の調整",
            "sjis@corp.example",
            "お疲れ様です。\n①の件は10時～11時で調整します。",
        ),
        ("euc_jp.eml", "議事録", "euc@corp.example", "議事録を共有します。\n次回は月曜日です。"),
        (
            "lying_ascii_is_utf8.eml",
            "日程確定",
            "liar@corp.example",
            "日程はこちらで確定です。よろしくお願いします。",
        ),
        (
            "lying_jis_is_sjis.eml",
            "見積書送付",
            "liar2@corp.example",
            "見積書を送付いたします。ご査収ください。",
        ),
        (
            "subject_split.eml",
            "【重要】来期の予算について①確認",
            "split@corp.example",
            "本文です。",
        ),
        (
            "outlook_ja_html_only.eml",
            "RE: 来期の予算について",
            "hanako@corp.example",
            "山田さん\n\n承知しました。予算案は**承認**します。",
        ),
    ],
)
def test_japanese_client_mail(name: str, subject: str, sender: str, new_text: str) -> None:
    incoming = parse((JA / name).read_bytes())
    assert incoming.subject == subject
    assert incoming.sender == sender
    assert strip_reply(incoming.text).text == new_text
    assert "\ufffd" not in incoming.text + incoming.subject + incoming.sender_name
    assert incoming.defects == ()


def test_gmail_ja_fields() -> None:
    incoming = parse((JA / "gmail_ja.eml").read_bytes())
    assert incoming.sender_name == "佐藤花子"
    assert incoming.to == ("taro@corp.example",)
    assert incoming.clean_subject == "来期の予算について"
    assert incoming.message_id == "CAGja0001+abc@mail.gmail.com"
    assert incoming.in_reply_to == ("budget-1@corp.example",)
    assert incoming.references == ("budget-1@corp.example",)
    assert incoming.date == datetime(2026, 11, 27, 1, 42, 13, tzinfo=UTC)
    assert incoming.html and "gmail_quote" in incoming.html
    assert incoming.auto_reply is None and incoming.bounce is None


def test_outlook_html_only_converts_html_and_keeps_it() -> None:
    incoming = parse((JA / "outlook_ja_html_only.eml").read_bytes())
    assert incoming.html and "WordSection1" in incoming.html
    assert "MsoNormal" not in incoming.text and "spidmax" not in incoming.text


@pytest.mark.parametrize(
    ("subject", "clean"),
    [
        ("Re: 予算", "予算"),
        ("RE: RE: Fwd: budget", "budget"),
        ("AW: WG: Termin", "Termin"),
        ("SV: VS: möte", "möte"),
        ("Re[2]: thread", "thread"),
        ("返信: 転送: 会議", "会議"),
        ("Re：全角コロン", "全角コロン"),
        ("Fw: FW: x", "x"),
        ("Regarding: budget", "Regarding: budget"),
        ("Re:", ""),
    ],
)
def test_strip_subject_prefixes(subject: str, clean: str) -> None:
    assert strip_subject_prefixes(subject) == clean


def _mail(headers: str, body: str = "hello") -> bytes:
    base = "From: Taro <taro@corp.example>\r\nTo: hub@hub.test\r\nMessage-ID: <m1@corp.example>\r\n"
    return (base + headers + "\r\n" + body + "\r\n").encode()


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ("Auto-Submitted: auto-replied\r\n", "auto-submitted: auto-replied"),
        ("Auto-Submitted: auto-generated; owner-email=x@y\r\n", "auto-submitted: auto-generated"),
        ("Auto-Submitted: no\r\n", None),
        ("Precedence: bulk\r\n", "precedence: bulk"),
        ("Precedence: junk\r\n", "precedence: junk"),
        ("Precedence: list\r\n", "precedence: list"),
        ("Precedence: auto_reply\r\n", "precedence: auto_reply"),
        ("X-Autoreply: yes\r\n", "x-autoreply"),
        ("X-Autorespond: yes\r\n", "x-autorespond"),
        ("X-Auto-Response-Suppress: All\r\n", None),
        ("Subject: Out of Office: away\r\n", "subject: Out of Office: away"),
        ("Subject: Automatic reply: budget\r\n", "subject: Automatic reply: budget"),
        ("Subject: Auto: budget\r\n", "subject: Auto: budget"),
        ("Subject: =?UTF-8?B?6Ieq5YuV5b+c562UOiDkuojnrpc=?=\r\n", "subject: 自動応答: 予算"),
        ("Subject: =?UTF-8?B?6Ieq5YuV6L+U5L+h?=\r\n", "subject: 自動返信"),
        ("Subject: =?UTF-8?B?5LiN5ZyoOiAxMS8yNw==?=\r\n", "subject: 不在: 11/27"),
        ("Subject: =?UTF-8?B?5LiN5Zyo5pmC44Gu5a++5b+c?=\r\n", None),
        (
            "Subject: =?UTF-8?B?44CQ5LiN5Zyo44CR5Ye65by15Lit44Gn44GZ?=\r\n",
            "subject: 【不在】出張中です",
        ),
        ("Subject: =?UTF-8?B?W+iHquWLlei/lOS/oV0g5LqI566X?=\r\n", "subject: [自動返信] 予算"),
        ("Subject: =?UTF-8?B?77y75LiN5Zyo6YCa55+l77y9?=\r\n", "subject: ［不在通知］"),
        ("Subject: =?UTF-8?B?44CQ5LiN5Zyo5pmC44Gu5a++5b+c44CR?=\r\n", None),
    ],
)
def test_auto_reply(headers: str, reason: str | None) -> None:
    assert parse(_mail(headers)).auto_reply == reason


@pytest.mark.parametrize(
    "sender", ["MAILER-DAEMON@mx.example", "noreply@x.example", "no-reply@x.example"]
)
def test_auto_reply_senders(sender: str) -> None:
    raw = f"From: {sender}\r\nSubject: hi\r\n\r\nbody\r\n".encode()
    assert parse(raw).auto_reply == f"sender: {sender.lower()}"


def test_kept_headers_join_authentication_results() -> None:
    raw = _mail(
        "List-Id: <general.hub.test>\r\nX-Loop: hub.test\r\n"
        "Authentication-Results: mx.hub.test; dkim=pass\r\n"
        "Authentication-Results: other.example; spf=fail\r\n"
    )
    headers = parse(raw).headers
    assert headers["list-id"] == "<general.hub.test>"
    assert headers["x-loop"] == "hub.test"
    assert headers["authentication-results"] == "mx.hub.test; dkim=pass\nother.example; spf=fail"


DSN = b"""From: MAILER-DAEMON@mx.hub.test (Mail Delivery System)
To: bounce+abc@hub.test
Subject: Undelivered Mail Returned to Sender
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="b1"

--b1
Content-Type: text/plain

Delivery failed.

--b1
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.hub.test

Final-Recipient: rfc822; Nobody@corp.example
Action: failed
Status: 5.1.1

Final-Recipient: rfc822; slow@corp.example
Action: delayed
Status: 4.4.1

--b1--
"""


def test_delivery_status_bounce() -> None:
    bounce = parse(DSN).bounce
    assert bounce is not None
    assert bounce.permanent == frozenset({"nobody@corp.example"})
    assert bounce.temporary == frozenset({"slow@corp.example"})


def test_daemon_failure_subject_is_a_bounce_even_unparsed() -> None:
    raw = b"From: MAILER-DAEMON@mx.example\r\nSubject: Undeliverable: budget\r\n\r\nsorry\r\n"
    bounce = parse(raw).bounce
    assert bounce is not None and not bounce.permanent


def test_normal_reply_mentioning_mail_system_is_not_a_bounce() -> None:
    assert parse(_mail("Subject: Re: x\r\n", "The mail system is slow today.")).bounce is None


ATTACHMENTS = """From: taro@corp.example
Subject: files
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="b"

--b
Content-Type: text/plain; charset=utf-8

see files
--b
Content-Type: application/pdf
Content-Disposition: attachment; filename*=UTF-8''%E8%A6%8B%E7%A9%8D%E6%9B%B8.pdf
Content-Transfer-Encoding: base64

JVBERi0=
--b
Content-Type: application/vnd.ms-excel; name="=?ISO-2022-JP?B?GyRCO3FOQRsoQi54bHM=?="
Content-Disposition: attachment; filename="=?ISO-2022-JP?B?GyRCO3FOQRsoQi54bHM=?="
Content-Transfer-Encoding: base64

AAEC
--b
Content-Type: image/png
Content-ID: <logo@corp>
Content-Disposition: inline; filename="logo.png"
Content-Transfer-Encoding: base64

iVBORw==
--b--
""".replace("\n", "\r\n").encode()


def test_attachments_with_japanese_names() -> None:
    incoming = parse(ATTACHMENTS)
    assert incoming.text == "see files"
    got = [
        (a.filename, a.content_type, a.data[:4], a.content_id, a.inline)
        for a in incoming.attachments
    ]
    assert got == [
        ("見積書.pdf", "application/pdf", b"%PDF", None, False),
        ("資料.xls", "application/vnd.ms-excel", b"\x00\x01\x02", None, False),
        ("logo.png", "image/png", b"\x89PNG", "logo@corp", True),
    ]


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"\x00\xff\xfe",
        b"not an email at all",
        b"From: \r\n\r\n",
        b"Content-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\nbroken",
        b"Subject: =?utf-8?B?####?=\r\nDate: yesterday\r\nFrom: <<<@@>>>\r\n\r\nbody",
        b"Content-Transfer-Encoding: base64\r\n\r\n!!!not base64!!!",
        b'Content-Type: text/plain; charset="\xff"\r\n\r\n\xe3\x81\x82',
    ],
)
def test_parse_never_raises(raw: bytes) -> None:
    incoming = parse(raw)
    assert isinstance(incoming.text, str)
    assert incoming.sender == "" or "@" in incoming.sender


def test_missing_sender_is_noted() -> None:
    incoming = parse(b"Subject: x\r\n\r\nbody")
    assert incoming.sender == ""
    assert "no usable From address" in incoming.defects
