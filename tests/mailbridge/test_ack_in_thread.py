"""「了解しました」 sent through the reply address of an announcement's thread (a digest's reply
link, a comment's notification) rather than the announcement mail's own ack+ address: the
member meant to acknowledge it, so it is acknowledged, not posted as a comment. More than that
is a comment as before. Real SMTP intake; SQLite and PostgreSQL."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from hub import db, tokens
from hub.models import Acknowledgement, InboundMessage, Post
from hub.services import announcements
from mailbridge import addresses
from tests.factories import make_user

BOSS = "boss@corp.example"


@pytest.fixture
def notice(app: Flask, intake: Any) -> dict[str, Any]:
    with db.transaction(app) as s:
        admin = make_user(s, email="soumu@corp.example", name="総務", admin=True)
        boss = make_user(s, email=BOSS, name="部長", email_only=True)
        ann = announcements.publish(s, author=admin, title="研修", body="全員出てください",
                                    ack_required=True, urgent=False)  # fmt: skip
        keys = tokens.keys_from_config(app.config)
        to = addresses.encode("reply", boss.id, ann.thread_id, "hub.test", keys)
        return {"to": to, "thread_id": ann.thread_id, "id": ann.id}


def send(intake: Any, to: str, body: str) -> None:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = f"部長 <{BOSS}>", to, "Re: [お知らせ] 研修"
    msg.set_content(body)
    with smtplib.SMTP(intake.hostname, intake.port, timeout=10) as smtp:
        smtp.send_message(msg)


def state(app: Flask, thread_id: int) -> tuple[str, int, list[tuple[str, str | None]]]:
    with db.transaction(app) as s:
        status = s.scalar(select(InboundMessage.status).order_by(InboundMessage.id.desc()))
        posts = s.scalar(select(func.count()).where(Post.thread_id == thread_id))
        acks = [(str(a.via), a.words) for a in s.scalars(select(Acknowledgement))]
        return status, posts, acks


def test_a_bare_acknowledgement_acknowledges(app, intake, notice):
    send(intake, notice["to"], "了解しました。\n\n部長")  # signed with his name
    assert state(app, notice["thread_id"]) == ("acknowledged", 1, [("email", "了解しました。")])
    # Said again, it is a comment like any other: nothing is left to acknowledge.
    send(intake, notice["to"], "了解しました。")
    assert state(app, notice["thread_id"])[:2] == ("replied", 2)


def test_a_question_is_a_comment_and_acknowledges_nothing(app, intake, notice):
    send(intake, notice["to"], "了解しました。午後からの参加でもいいですか？")
    assert state(app, notice["thread_id"]) == ("replied", 2, [])
