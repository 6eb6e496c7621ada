"""Culture by mail through the real SMTP intake: acknowledge by replying, thanks@, welcome."""

from __future__ import annotations

import re
import smtplib
from email import message_from_bytes, policy
from email.header import Header
from email.mime.text import MIMEText
from email.utils import formataddr
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from hub import tokens
from hub.db import transaction
from hub.models import (
    Acknowledgement,
    InboundMessage,
    OutboxMessage,
    Post,
    Thanks,
    User,
    Via,
)
from hub.services import acknowledgements, announcements
from hub.services import thanks as thanks_service
from mailbridge import addresses
from tests import fixtures_culture
from tests.factories import make_channel, make_user
from tests.fixtures_culture import fan_out

db = fixtures_culture.db

OUTLOOK_QUOTE = (
    "\r\n\r\n________________________________\r\n"
    "差出人: Hiroba <hiroba@hub.test>\r\n"
    "送信日時: 2026年11月27日 10:00\r\n"
    "宛先: 山田 部長 <boss@corp.example>\r\n"
    "件名: [お知らせ] 社内SNSの目的と運用ルール\r\n\r\n"
    "社内SNSの目的\r\n情報をオープンに共有し、メールでも参加できます。\r\n"
)


def send(intake: Any, sender: str, rcpts: list[str], msg: Any) -> None:
    with smtplib.SMTP(intake.hostname, intake.port, timeout=10) as smtp:
        # CRLF line ends, as SMTP wants them (a long bare-LF message reads as one long line).
        smtp.sendmail(sender, rcpts, msg.as_bytes(policy=policy.compat32.clone(linesep="\r\n")))


def last_status(app: Flask) -> InboundMessage:
    with transaction(app) as s:
        row = s.scalars(select(InboundMessage).order_by(InboundMessage.id.desc())).first()
        assert row is not None
        s.expunge(row)
        return row


@pytest.fixture
def world(app: Flask, db: Any) -> dict[str, Any]:
    admin = make_user(db, email="admin@corp.example", name="管理者", admin=True)
    boss = make_user(db, email="boss@corp.example", name="山田 部長", email_only=True)
    web = make_user(db, email="web@corp.example", name="佐藤")
    make_channel(db, slug="general", name="全体")
    item = announcements.publish(
        db, author=admin, title="社内SNSの目的と運用ルール",
        body="# 社内SNSの目的\n\n情報をオープンに共有します。", ack_required=True, urgent=False,
    )  # fmt: skip
    db.commit()
    fan_out(app)
    return {"admin": admin.id, "boss": boss.id, "web": web.id, "item": item.id}


def ack_address(app: Flask, user_id: int, item_id: int) -> str:
    keys = tokens.keys_from_config(app.config)
    return addresses.encode("ack", user_id, item_id, "hub.test", keys)


def test_announcement_mail_reaches_every_member_with_ack_reply_to(app, db, world) -> None:
    rows = db.scalars(select(OutboxMessage).where(OutboxMessage.kind == "announcement")).all()
    assert {r.to_addr for r in rows} == {"admin@corp.example", "boss@corp.example",
                                          "web@corp.example"}  # fmt: skip
    boss_mail = next(r for r in rows if r.to_addr == "boss@corp.example")
    mail = message_from_bytes(boss_mail.raw, policy=policy.default)
    assert mail["Reply-To"].startswith("ack+")
    assert "/a/" in mail.get_body(("plain",)).get_content()
    assert "社内SNSの目的" in boss_mail.subject


def test_outlook_iso2022jp_reply_ryokai_acknowledges(app, db, intake, world) -> None:
    to = ack_address(app, world["boss"], world["item"])
    msg = MIMEText("了解しました。" + OUTLOOK_QUOTE, "plain", "iso-2022-jp")
    msg["From"] = formataddr((str(Header("山田 部長", "iso-2022-jp")), "boss@corp.example"))
    msg["To"] = to
    msg["Subject"] = Header("RE: [お知らせ] 社内SNSの目的と運用ルール", "iso-2022-jp")
    msg["Message-ID"] = "<outlook-ack-1@corp.example>"
    msg["X-Mailer"] = "Microsoft Outlook 16.0"
    send(intake, "boss@corp.example", [to], msg)

    assert last_status(app).status == "acknowledged"
    db.expire_all()
    ack = db.scalar(select(Acknowledgement))
    assert ack is not None and ack.via == Via.EMAIL and ack.words == "了解しました。"
    # A short acknowledgement is not posted as a comment.
    item = announcements.get(db, world["item"])
    assert len(db.scalars(select(Post).where(Post.thread_id == item.thread_id)).all()) == 1
    st = acknowledgements.status(db, item)
    assert [(r["email"], r["via"]) for r in st["acknowledged"]] == [("boss@corp.example", "mail")]


def test_utf8_reply_with_question_acknowledges_and_posts_comment(app, db, intake, world):
    to = ack_address(app, world["boss"], world["item"])
    msg = MIMEText("確認しました。\r\n私用の連絡は雑談チャンネルでよいですか？" + OUTLOOK_QUOTE,
                   "plain", "utf-8")  # fmt: skip
    msg["From"] = "boss@corp.example"
    msg["To"] = to
    msg["Subject"] = "RE: 社内SNSの目的と運用ルール"
    msg["Message-ID"] = "<outlook-q-1@corp.example>"
    send(intake, "boss@corp.example", [to], msg)

    assert last_status(app).status == "acknowledged"
    db.expire_all()
    item = announcements.get(db, world["item"])
    posts = db.scalars(select(Post).where(Post.thread_id == item.thread_id)).all()
    assert len(posts) == 2
    assert "雑談チャンネルでよいですか？" in posts[1].body and "差出人" not in posts[1].body
    assert posts[1].via == Via.EMAIL


def test_thanks_by_mail_to_two_colleagues(app, db, intake, world) -> None:
    thanks_service.save_value(db, actor=None, tag="teamwork", name="チームワーク")
    make_user(db, email="tanaka@corp.example", name="田中")
    db.commit()
    msg = MIMEText("資料の準備ありがとうございました！ #teamwork", "plain", "utf-8")
    msg["From"] = "boss@corp.example"
    msg["To"] = "thanks@hub.test, web@corp.example"
    msg["Cc"] = "tanaka@corp.example"
    msg["Subject"] = "ありがとう"
    msg["Message-ID"] = "<thanks-1@corp.example>"
    send(intake, "boss@corp.example", ["thanks@hub.test"], msg)

    assert last_status(app).status == "thanked"
    db.expire_all()
    card = db.scalar(select(Thanks))
    assert card is not None and card.via == Via.EMAIL and card.value.name == "チームワーク"
    assert sorted(r.user.email for r in card.recipients) == ["tanaka@corp.example",
                                                             "web@corp.example"]  # fmt: skip
    fan_out(app, db)
    told = db.scalars(select(OutboxMessage).where(OutboxMessage.kind == "thanks")).all()
    assert sorted(r.to_addr for r in told) == ["tanaka@corp.example", "web@corp.example"]


def test_get_on_ack_link_records_nothing_post_does(app, db, client, world) -> None:
    keys = tokens.keys_from_config(app.config)
    link = "/a/" + tokens.make("ack_link", world["boss"], world["item"], keys)
    page = client.get(link)
    assert page.status_code == 200 and "社内SNSの目的" in page.get_data(as_text=True)
    client.head(link)
    assert db.scalar(select(Acknowledgement)) is None
    db.rollback()
    assert client.post(link).status_code == 200
    db.expire_all()
    ack = db.scalar(select(Acknowledgement))
    assert ack is not None and ack.via == Via.LINK
    assert client.get("/a/forged-token").status_code == 404


def test_welcome_mail_and_reply_accepts_rules(app, db, intake, world) -> None:
    welcome = db.scalar(
        select(OutboxMessage).where(OutboxMessage.kind == "welcome",
                                    OutboxMessage.to_addr == "boss@corp.example")
    )  # fmt: skip
    assert welcome is not None, "email-only members get a welcome mail"
    mail = message_from_bytes(welcome.raw, policy=policy.default)
    assert mail["Reply-To"].startswith("welcome+")
    assert "general@hub.test" in mail.get_body(("plain",)).get_content()
    assert "thanks@hub.test" in mail.get_body(("plain",)).get_content()
    # The "change delivery" link opens the member's preferences page without sign-in.
    text = mail.get_body(("plain",)).get_content()
    link = re.search(r"http://hub\.test(/mail/prefs/[a-z0-9]+)", text)
    assert link
    assert db.scalar(select(OutboxMessage).where(OutboxMessage.kind == "welcome",
                          OutboxMessage.to_addr == "web@corp.example")) is None  # fmt: skip
    to = mail["Reply-To"]
    db.rollback()
    assert app.test_client().get(link.group(1)).status_code == 200
    msg = MIMEText("了解しました", "plain", "utf-8")
    msg["From"], msg["To"], msg["Subject"] = "boss@corp.example", to, "Re: ようこそ"
    msg["Message-ID"] = "<welcome-1@corp.example>"
    send(intake, "boss@corp.example", [to], msg)
    assert last_status(app).status == "acknowledged"
    db.expire_all()
    assert db.get(User, world["boss"]).rules_accepted_at is not None


def test_thanks_value_typed_full_width_by_outlook(app, db, intake, world) -> None:
    """Outlook with a Japanese IME: "＃お客様第一" in an ISO-2022-JP body still names the value."""
    thanks_service.save_value(db, actor=None, tag="お客様第一", name="お客様第一")
    thanks_service.save_value(db, actor=None, tag="teamwork", name="チームワーク")
    db.commit()
    # Japanese writes no space after the tag: "＃お客様第一の姿勢" still names お客様第一.
    for n, tag in enumerate(("＃お客様第一の", "＃ｔｅａｍｗｏｒｋ ", "#teamworking ")):
        msg = MIMEText(
            f"見積書の件、ありがとう。{tag}姿勢です。\r\n\r\n山田", "plain", "iso-2022-jp"
        )
        msg["From"] = formataddr((str(Header("山田 部長", "iso-2022-jp")), "boss@corp.example"))
        msg["To"] = "thanks@hub.test"
        msg["Cc"] = "web@corp.example"
        msg["Subject"] = Header("ありがとう", "iso-2022-jp")
        msg["Message-ID"] = f"<thanks-wide-{n}@corp.example>"
        send(intake, "boss@corp.example", ["thanks@hub.test"], msg)
        assert last_status(app).status == "thanked"
    db.expire_all()
    cards = db.scalars(select(Thanks).order_by(Thanks.id)).all()
    assert [c.value.name if c.value else None for c in cards] == [
        "お客様第一",
        "チームワーク",
        None,
    ]


def test_groupware_out_of_office_does_not_acknowledge(app, db, intake, world) -> None:
    """An out-of-office rule with no RFC 3834 header and a bracketed subject ("【不在】…") is an
    auto-reply: it neither acknowledges the announcement nor posts its text."""
    to = ack_address(app, world["boss"], world["item"])
    for n, subject in enumerate(("【不在】出張中です", "[自動返信] 社内SNSの目的と運用ルール")):
        msg = MIMEText(
            "12月1日まで出張のため不在です。急ぎの件は佐藤まで。", "plain", "iso-2022-jp"
        )
        msg["From"] = formataddr((str(Header("山田 部長", "iso-2022-jp")), "boss@corp.example"))
        msg["To"] = to
        msg["Subject"] = Header(subject, "iso-2022-jp")
        msg["Message-ID"] = f"<ooo-{n}@corp.example>"
        send(intake, "boss@corp.example", [to], msg)
        row = last_status(app)
        assert (row.status, row.reason) == ("ignored", "auto_reply")
    db.expire_all()
    assert db.scalar(select(Acknowledgement)) is None


def test_out_of_office_text_without_header_neither_acknowledges_nor_posts(
    app, db, intake, world
) -> None:
    """An out-of-office rule answering "Re: <title>" with no auto-reply header: a short text
    that begins with the absence sentence is an auto-reply; real answers that mention being
    away (after the answer, without a return date, or at length) acknowledge and post."""
    import doctest

    from mailbridge import absence

    assert doctest.testmod(absence).failed == 0
    to = ack_address(app, world["boss"], world["item"])
    notices = (
        "お世話になっております。\r\n誠に勝手ながら、12月1日まで出張のため不在にしております。\r\n"
        "急ぎの件は佐藤（sato@corp.example）までご連絡ください。\r\n\r\n山田",
        "出張のため12月1日（月）まで不在です。戻り次第ご連絡いたします。",
        "I am out of the office until December 1 with limited access to email.\r\n"
        "For urgent matters, please contact Sato.",
        "Thank you for your email. I'm currently out of office and will reply when I return."
        + OUTLOOK_QUOTE,
    )
    for n, body in enumerate(notices):
        msg = MIMEText(body, "plain", "iso-2022-jp" if n < 2 else "utf-8")
        msg["From"], msg["To"] = "boss@corp.example", to
        msg["Subject"] = Header("Re: 社内SNSの目的と運用ルール", "utf-8")
        msg["Message-ID"] = f"<ooo-body-{n}@corp.example>"
        send(intake, "boss@corp.example", [to], msg)
        row = last_status(app)
        assert (row.status, row.reason) == ("ignored", "auto_reply"), body
    assert db.scalar(select(Acknowledgement)) is None
    db.rollback()
    answers = (
        "了解しました。来週は出張のため不在にしておりますので、何かあれば佐藤さんへお願いします。",
        "I'm out of office tomorrow, so please send me the slides today.",
        "12月1日まで出張のため不在にしております。\r\n\r\n"
        + "ルールの件、営業部では次の三点を確認してから周知します。\r\n" * 25,
    )
    item = announcements.get(db, world["item"])
    thread_id = item.thread_id
    db.rollback()
    for n, body in enumerate(answers):
        msg = MIMEText(body, "plain", "utf-8")
        msg["From"], msg["To"] = "boss@corp.example", to
        msg["Subject"] = "Re: 社内SNSの目的と運用ルール"
        msg["Message-ID"] = f"<real-{n}@corp.example>"
        send(intake, "boss@corp.example", [to], msg)
        assert last_status(app).status == "acknowledged", body
    posts = db.scalars(select(Post.body).where(Post.thread_id == thread_id)).all()
    kept = [p for p in posts if "不在" in p or "out of office" in p]
    assert kept == [a.replace("\r\n", "\n").strip() for a in answers]
