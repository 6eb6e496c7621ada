"""A forwarded mail keeps what it forwards: the message passed on is posted as a quote under the
member's own words, with its From/Date/Subject lines, for a new thread and for a reply. Mail as
Outlook (ja, ISO-2022-JP), Gmail (ja) and the iPhone (ja) write it, over the real SMTP intake;
the post's page over HTTP."""

from __future__ import annotations

import base64
import smtplib
from email.header import Header
from email.message import EmailMessage
from email.policy import SMTP
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from hub.models import InboundMessage, Post, Thread, Via
from hub.services import channels
from tests.factories import make_channel, make_thread, make_user, signed_in
from tests.mailbridge.test_ingest import reply_address

YAMAMOTO = "yamamoto@corp.example"

INTRO = "営業部の皆さん\n\n以下の問い合わせが来ました。対応をお願いします。\n\n山本"
QUESTIONS = (
    "株式会社ヒロバ 営業部 御中\n\n"
    "いつもお世話になっております。△△工業の鈴木です。\n"
    "現在ご契約中の保守契約について、2点お伺いします。\n\n"
    "1. 現行の契約を来年4月以降も同じ条件で更新できますか。\n"
    "2. オンサイト対応を追加した場合の費用をお見積もりいただけますか。\n\n"
    "よろしくお願いいたします。\n\n"
    "━━━━━━━━━━━━━━━━━━\n△△工業株式会社 総務部\n鈴木 一郎\nTEL 03-1234-5678\n"
    "━━━━━━━━━━━━━━━━━━"
)
# Outlook (ja), plain text: the intro, then the forwarded message under its header block.
OUTLOOK_FW = (
    f"{INTRO}\n\n-----Original Message-----\n"
    "差出人: 鈴木 一郎 <suzuki@customer.example> \n"
    "送信日時: 2026年11月26日 14:03\n"
    "宛先: 山本 誠 <yamamoto@corp.example>\n"
    "件名: 保守契約の見積もりについて\n\n"
    f"{QUESTIONS}\n\n"
)


def quoted(text: str) -> str:
    return "\n".join(f"> {line}" if line else ">" for line in text.split("\n"))


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


def outlook_ja(to: str, subject: str, body: str, msgid: str) -> bytes:
    """What Outlook (ja) sends: ISO-2022-JP, 7bit, each line back in ASCII at its end."""
    head = [
        f"From: {Header('山本 誠', 'iso-2022-jp').encode()} <{YAMAMOTO}>",
        f"To: {to}",
        f"Subject: {Header(subject, 'iso-2022-jp').encode()}",
        "Thread-Topic: " + Header(subject[4:], "iso-2022-jp").encode(),
        "Thread-Index: AQHZm0abcdEFGhijKLmnOPqrSTuvWXyz",
        "Date: Fri, 27 Nov 2026 01:20:00 +0000",
        f"Message-ID: <{msgid}>",
        "Accept-Language: ja-JP, en-US",
        "Content-Language: ja-JP",
        "X-MS-Has-Attach:",
        'Content-Type: text/plain; charset="iso-2022-jp"',
        "Content-Transfer-Encoding: 7bit",
        "MIME-Version: 1.0",
    ]
    lines = [line.encode("iso-2022-jp") for line in body.split("\n")]
    return "\r\n".join(head).encode() + b"\r\n\r\n" + b"\r\n".join(lines)


def send(intake: Any, to: str, raw: bytes) -> None:
    with smtplib.SMTP(intake.hostname, intake.port, timeout=30) as s:
        assert s.sendmail(YAMAMOTO, [to], raw) == {}


def last_post(session: Any) -> Post:
    session.expire_all()
    post = session.scalars(select(Post).order_by(Post.id.desc())).first()
    assert post is not None and post.via == Via.EMAIL
    return post


def test_outlook_forward_to_a_channel_keeps_the_forwarded_message(
    app: Flask, session: Any, team: Any, intake: Any
) -> None:
    raw = outlook_ja("sales@hub.test", "FW: 保守契約の見積もりについて", OUTLOOK_FW, "fw-1@corp")
    send(intake, "sales@hub.test", raw)

    post = last_post(session)
    assert post.thread.title == "保守契約の見積もりについて"
    attribution = (
        "差出人: 鈴木 一郎 <suzuki@customer.example>\n"
        "送信日時: 2026年11月26日 14:03\n"
        "件名: 保守契約の見積もりについて"
    )
    assert post.body == f"{INTRO}\n\n{quoted(attribution)}\n>\n{quoted(QUESTIONS)}"
    assert not post.kept_whole
    # The separator and the To line are what was cut.
    assert post.trimmed == "-----Original Message-----\n宛先: 山本 誠 <yamamoto@corp.example>"
    row = session.scalar(select(InboundMessage))
    assert (row.status, row.text) == ("posted", post.body)
    thread_id = post.thread_id
    session.rollback()

    # On the web the forwarded message shows as a quote, the questions in it.
    page = signed_in(app, "sato@corp.example").get(f"/t/{thread_id}")
    assert page.status_code == 200
    quote = page.text.split("<blockquote>", 1)[1].split("</blockquote>", 1)[0]
    assert "差出人: 鈴木 一郎" in quote and "件名: 保守契約の見積もりについて" in quote
    assert "現行の契約を来年4月以降も同じ条件で更新できますか。" in quote
    assert "オンサイト対応を追加した場合の費用をお見積もりいただけますか。" in quote


def test_gmail_forward_as_a_reply_keeps_the_forwarded_message(
    app: Flask, session: Any, team: Any, intake: Any
) -> None:
    """Gmail (ja) writes the separator and the header names in English, the date in Japanese;
    multipart/alternative, the text part in base64."""
    forwarded = (
        "山本様\n\n追加で1点、夜間・休日の緊急対応も見積もりに含めていただけますでしょうか。\n\n"
        "よろしくお願いいたします。\n鈴木"
    )
    text = (
        "佐藤さん\n\nお客様から追加のご依頼です。見積もりに含めてください。\n\n"
        "---------- Forwarded message ---------\n"
        "From: 鈴木 一郎 <suzuki@customer.example>\n"
        "Date: 2026年11月27日(金) 9:15\n"
        "Subject: Re: 保守契約の見積もりについて\n"
        "To: 山本 誠 <yamamoto@corp.example>\n\n\n"
        f"{forwarded}\n"
    )
    msg = EmailMessage()
    msg["From"] = f"山本 誠 <{YAMAMOTO}>"
    msg["To"], msg["Subject"] = team["to"], "Fwd: 保守契約の見積もりについて"
    msg["Message-ID"] = "<CAGja0002+fwd@mail.gmail.com>"
    msg.set_content(text, cte="base64")
    html = "<div dir='ltr'>" + text.replace("\n", "<br>") + "</div>"
    msg.add_alternative(html, subtype="html", cte="base64")
    send(intake, team["to"], msg.as_bytes(policy=SMTP))

    post = last_post(session)
    assert post.thread_id == team["thread_id"]
    attribution = (
        "From: 鈴木 一郎 <suzuki@customer.example>\n"
        "Date: 2026年11月27日(金) 9:15\n"
        "Subject: Re: 保守契約の見積もりについて"
    )
    intro = "佐藤さん\n\nお客様から追加のご依頼です。見積もりに含めてください。"
    assert post.body == f"{intro}\n\n{quoted(attribution)}\n>\n{quoted(forwarded)}"
    assert post.trimmed == (
        "---------- Forwarded message ---------\nTo: 山本 誠 <yamamoto@corp.example>"
    )
    assert session.scalar(select(InboundMessage.status)) == "replied"


def test_iphone_forward_keeps_the_forwarded_message(
    app: Flask, session: Any, team: Any, intake: Any
) -> None:
    """The iPhone (ja) quotes the forwarded message with "> " and signs "iPhoneから送信"."""
    forwarded = (
        "山本様\n\n本日朝からサーバーにアクセスできません。\n"
        "至急ご確認いただけますでしょうか。\n\n鈴木"
    )
    text = (
        "営業部の皆さん\n外出先から転送します。至急対応をお願いします。\n\n"
        "iPhoneから送信\n\n転送されたメッセージ:\n\n"
        "> 差出人: 鈴木 一郎 <suzuki@customer.example>\n"
        "> 日付: 2026年11月27日 9:15:42 JST\n"
        "> 宛先: 山本 誠 <yamamoto@corp.example>\n"
        "> 件名: 【至急】サーバー停止について\n"
        "> \n" + "\n".join(f"> {line}" for line in forwarded.split("\n")) + "\n"
    )
    head = (
        "Content-Type: text/plain;\r\n\tcharset=utf-8\r\n"
        "Content-Transfer-Encoding: base64\r\n"
        f"From: =?UTF-8?B?5bGx5pysIOiqoA==?= <{YAMAMOTO}>\r\n"
        "Mime-Version: 1.0 (1.0)\r\n"
        "Date: Fri, 27 Nov 2026 09:30:00 +0900\r\n"
        f"Subject: {Header('Fwd: 【至急】サーバー停止について', 'utf-8').encode()}\r\n"
        "Message-Id: <B2C3D4E5-F6A7-4B5C-9D0E-1F2A3B4C5D6E@corp.example>\r\n"
        "To: sales@hub.test\r\n"
        "X-Mailer: iPhone Mail (22A3354)\r\n\r\n"
    )
    body = base64.encodebytes(text.replace("\n", "\r\n").encode()).replace(b"\n", b"\r\n")
    send(intake, "sales@hub.test", head.encode() + body)

    post = last_post(session)
    assert post.thread.title == "【至急】サーバー停止について"
    attribution = (
        "差出人: 鈴木 一郎 <suzuki@customer.example>\n"
        "日付: 2026年11月27日 9:15:42 JST\n"
        "件名: 【至急】サーバー停止について"
    )
    intro = "営業部の皆さん\n外出先から転送します。至急対応をお願いします。"
    assert post.body == f"{intro}\n\n{quoted(attribution)}\n>\n{quoted(forwarded)}"
    assert post.trimmed == (
        "iPhoneから送信\n転送されたメッセージ:\n宛先: 山本 誠 <yamamoto@corp.example>"
    )


def test_a_reply_quoting_a_forward_is_trimmed_as_before(
    app: Flask, session: Any, team: Any, intake: Any
) -> None:
    """RE: of a forward: Outlook's history (holding the forward) is history, trimmed."""
    body = (
        "承知しました。見積もりは私が作成します。\n\n山本\n\n-----Original Message-----\n"
        "差出人: 佐藤 <sato@corp.example>\n送信日時: 2026年11月27日 11:00\n"
        "宛先: 山本 誠 <yamamoto@corp.example>\n件名: RE: FW: 保守契約の見積もりについて\n\n"
        f"山本さん、見積もりをお願いできますか。\n\n{OUTLOOK_FW}"
    )
    raw = outlook_ja(team["to"], "RE: FW: 保守契約の見積もりについて", body, "re-1@corp")
    send(intake, team["to"], raw)

    post = last_post(session)
    assert post.body == "承知しました。見積もりは私が作成します。\n\n山本"
    assert "現行の契約を来年4月以降も" in (post.trimmed or "")
    session.expire_all()
    assert session.get(Thread, team["thread_id"]).posts[-1].id == post.id
