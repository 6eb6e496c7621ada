"""The answer to "unsubscribe" (配信停止) mailed to help@ says what it did, truly: no digests and
no mail about posts or mentions, while announcements still come (and a channel the member set
apart still sends as set); and how to undo it (mail "digest daily", or the preferences link),
which works. Through the real SMTP intake, the fan-out and the outbox drain to a real SMTP
sink; SQLite and PostgreSQL."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from hub import db
from hub.models import Delivery, User
from hub.services import announcements, channels
from tests.factories import make_channel, make_user
from tests.fixtures_mailout import deliver, text_of, to

BOSS = "buchou@corp.example"
HELP = "help@hub.test"


@pytest.fixture
def boss(app: Flask, smtp_sink: Any, intake: Any) -> Any:
    """部長, an email-only manager in 営業 and 雑談; he had 雑談 send him every post."""
    app.config["RELAY_URL"] = smtp_sink.url
    with db.transaction(app) as s:
        user = make_user(s, email=BOSS, name="部長", email_only=True)
        sales = make_channel(s, slug="sales", name="営業")
        chat = make_channel(s, slug="chat", name="雑談")
        for channel in (sales, chat):
            channels.join(s, user=user, channel=channel)
        channels.set_delivery(s, user=user, channel=chat, delivery=Delivery.EVERY_POST)
    deliver(app)
    smtp_sink.messages.clear()
    return smtp_sink


def command(app: Flask, intake: Any, sink: Any, line: str) -> str:
    """Mail ``line`` to help@ through the intake; the text of the answer that reaches him."""
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = f"部長 <{BOSS}>", HELP, line
    msg.set_content(line)
    with smtplib.SMTP(intake.hostname, intake.port, timeout=10) as smtp:
        smtp.send_message(msg)
    deliver(app)
    return text_of(to(sink, BOSS)[-1])


def delivery_of(app: Flask) -> str | None:
    with db.transaction(app) as s:
        return s.scalar(select(User.delivery).where(User.email == BOSS))


def test_the_answer_says_what_still_comes_and_how_to_undo_it(
    app: Flask, intake: Any, boss: Any
) -> None:
    answer = command(app, intake, boss, "unsubscribe")
    assert delivery_of(app) == Delivery.OFF
    assert "the hub sends you no more mail" not in answer
    assert "no more digests, and no mail about posts or mentions" in answer
    assert "Announcements from the admins still reach everyone" in answer
    # The channel he set apart still sends, and he is told how to stop it.
    assert "These channels still send mail as you set them: 雑談." in answer
    assert '"mute"' in answer
    # How to undo it: mail "digest daily" to help@, or the preferences page.
    assert f'write "digest daily" to {HELP}' in answer
    assert "http://hub.test/mail/prefs/" in answer
    html = to(boss, BOSS)[-1].get_body(("html",))
    assert html is not None
    assert '<a href="http://hub.test/mail/prefs/' in html.get_content()
    assert "&lt;a href" not in html.get_content() and "雑談" in html.get_content()

    # True: an announcement still reaches him.
    with db.transaction(app) as s:
        announcements.publish(s, author=None, title="健康診断", body="来週です。",
                              ack_required=False, urgent=False)  # fmt: skip
    deliver(app)
    assert any("健康診断" in str(m["Subject"]) for m in to(boss, BOSS))

    # The undo it names works.
    command(app, intake, boss, "digest daily")
    assert delivery_of(app) == Delivery.DAILY


def test_in_japanese_the_same_command_word(app: Flask, intake: Any, boss: Any) -> None:
    with db.transaction(app) as s:
        member = s.scalar(select(User).where(User.email == BOSS))
        assert member is not None
        member.locale = "ja"
    answer = command(app, intake, boss, "配信停止")
    assert delivery_of(app) == Delivery.OFF
    assert "広場からメールは届きません" not in answer
    assert "digest daily" in answer and "http://hub.test/mail/prefs/" in answer


def test_a_digest_command_says_when_it_comes_and_where_to_change_it(
    app: Flask, intake: Any, boss: Any
) -> None:
    answer = command(app, intake, boss, "digest weekly")
    assert delivery_of(app) == Delivery.WEEKLY
    assert "It comes on Monday at 09:00, your time" in answer
    assert "http://hub.test/mail/prefs/" in answer
    with db.transaction(app) as s:
        member = s.scalar(select(User).where(User.email == BOSS))
        assert member is not None
        member.locale, member.digest_weekday = "ja", 4
    answer = command(app, intake, boss, "ダイジェスト 毎週")
    assert "金曜日の 09:00（あなたの時間）に届きます" in answer
    assert "勤務日の 09:00" in command(app, intake, boss, "digest daily")
