"""A question in words mailed to help@ (no command in it) reaches a person: the admins get it,
with the member as Reply-To so their answer goes straight to them, and the member's how-to says
so and names them. Commands still only run. Through the real SMTP intake and outbox drain to a
real SMTP sink; SQLite and PostgreSQL."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from hub import db
from hub.models import User
from tests.factories import make_user
from tests.fixtures_mailout import deliver, text_of, to

BOSS = "buchou@corp.example"
ADMIN = "sato@corp.example"
QUESTION = "週に一回だけメールを受け取るには、どうすればよいですか？"


@pytest.fixture
def office(app: Flask, smtp_sink: Any, intake: Any) -> Any:
    app.config["RELAY_URL"] = smtp_sink.url
    with db.transaction(app) as s:
        make_user(s, email=BOSS, name="山本 誠", email_only=True, locale="en")
        make_user(s, email=ADMIN, name="佐藤 美咲", admin=True, locale="en")
    deliver(app)
    smtp_sink.messages.clear()
    return smtp_sink


def ask(intake: Any, subject: str, body: str) -> None:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = f"山本 誠 <{BOSS}>", "help@hub.test", subject
    msg.set_content(body)
    with smtplib.SMTP(intake.hostname, intake.port, timeout=10) as smtp:
        smtp.send_message(msg)


def test_a_question_goes_to_the_admins_and_the_member_is_told(
    app: Flask, intake: Any, office: Any
) -> None:
    ask(intake, "メールの回数", f"{QUESTION}\n\n山本")
    deliver(app)
    (answer,) = to(office, BOSS)
    assert "your question went to the admins too" in text_of(answer)
    assert f"佐藤 美咲 <{ADMIN}>" in text_of(answer)
    assert "digest weekly" in text_of(answer)  # and the how-to, which answers this one
    (passed,) = to(office, ADMIN)
    assert str(passed["Reply-To"]) == BOSS
    assert "A question from 山本 誠: メールの回数" in str(passed["Subject"])
    assert f"> {QUESTION}" in text_of(passed)


def test_a_command_is_not_passed_on(app: Flask, intake: Any, office: Any) -> None:
    ask(intake, "digest weekly", "digest weekly")
    deliver(app)
    assert len(to(office, BOSS)) == 1 and not to(office, ADMIN)
    assert "went to the admins" not in text_of(to(office, BOSS)[0])


def test_in_japanese(app: Flask, intake: Any, office: Any) -> None:
    with db.transaction(app) as s:
        for user in s.scalars(select(User)):
            user.locale = "ja"
    ask(intake, "メールの回数", QUESTION)
    deliver(app)
    assert "ご質問は管理者にも届けました" in text_of(to(office, BOSS)[0])
    (passed,) = to(office, ADMIN)
    assert str(passed["Subject"]) == "[Hiroba] 山本 誠さんからの質問: メールの回数"
    assert "ご本人に直接届きます" in text_of(passed)
